"""Schemathesis hooks of faults/scenarios/schemathesis.sh: realistic inputs
where a schema cannot say what a correct client does. Each hook changes only
requests that a real client would never send that way; none changes what the
server answers or what a check expects.

Loaded through SCHEMATHESIS_HOOKS; FLASHBOOK_BASE_URL is the service's URL.
"""

import hashlib
import json
import os
import re
import urllib.request

import schemathesis

BASE_URL = os.environ["FLASHBOOK_BASE_URL"].rstrip("/")
# What the server takes as a key (src/idempotency/key.rs); anything else is
# an invalid key and stays as generated (422 invalid_idempotency_key).
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _header(headers, name):
    for key in headers or {}:
        if key.lower() == name.lower():
            return key
    return None


@schemathesis.hook
def before_call(context, case, kwargs):
    _one_key_per_request(case)
    _event_fits_its_venue(case)


def _one_key_per_request(case):
    """Idempotency-Key: one key per distinct request, as clients use it.

    The generator draws keys from a small alphabet, so two different bookings
    soon share a key, and the server answers 422 idempotency_key_reused, as
    the IETF Idempotency-Key draft asks (a key names one request). That is
    correct and tested in tests/api/idempotency.rs. Here a valid key is
    derived from the request itself: a repeat of the same request carries
    the same key (and gets the replay), a different one a different key.
    """
    name = _header(case.headers, "Idempotency-Key")
    if name is None or not VALID_KEY.fullmatch(str(case.headers[name])):
        return
    request = json.dumps([case.method, case.formatted_path, case.query, case.body],
                         sort_keys=True, default=repr)
    case.headers[name] = "st-" + hashlib.sha256(request.encode()).hexdigest()[:40]


def _event_fits_its_venue(case):
    """POST /events, PATCH /events/{id}: a capacity no larger than the venue's.

    `capacity` may not exceed the venue's capacity (422
    capacity_exceeds_venue): a rule about stored data that no schema can
    state. A client knows its venue; here the venue is read first (through
    the event for a PATCH) and a larger capacity lowered to it. Unknown
    venues and events stay as they are (404).
    """
    method, body = case.method.upper(), case.body
    if not isinstance(body, dict) or not _positive_int(body.get("capacity"), 2**31 - 1):
        return
    if method == "POST" and case.path == "/events":
        venue_id = body.get("venue_id")
    elif method == "PATCH" and case.path == "/events/{id}":
        event_id = (case.path_parameters or {}).get("id")
        if isinstance(event_id, str) and event_id.isdigit():
            event_id = int(event_id)
        if not _positive_int(event_id, 2**63 - 1):
            return
        venue_id = _read(f"/events/{int(event_id)}", "venue_id")
    else:
        return
    # Only schema-valid values: a negative case stays as invalid as it was.
    if not _positive_int(venue_id, 2**63 - 1):
        return
    venue_capacity = _read(f"/venues/{int(venue_id)}", "capacity")
    if venue_capacity is not None and body["capacity"] > venue_capacity:
        body["capacity"] = venue_capacity


def _read(path, field):
    """A field of GET path, or None (unknown id, or the service is down)."""
    try:
        with urllib.request.urlopen(f"{BASE_URL}{path}", timeout=5) as response:
            return json.load(response)[field]
    except Exception:
        return None


def _positive_int(value, maximum):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and value == int(value) and 0 < value <= maximum)
