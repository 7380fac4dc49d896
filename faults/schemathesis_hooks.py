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
    """POST /events: an event's capacity no larger than its venue's.

    `capacity` may not exceed the venue's capacity (422
    capacity_exceeds_venue): a rule about stored data that no schema can
    state. A client knows its venue; here the venue is read first and a
    larger capacity lowered to it. Unknown venues stay as they are (404).
    """
    if case.method.upper() != "POST" or case.path != "/events":
        return
    body = case.body
    if not isinstance(body, dict):
        return
    venue_id, capacity = body.get("venue_id"), body.get("capacity")
    # Only schema-valid values: a negative case stays as invalid as it was.
    if not _positive_int(venue_id, 2**63 - 1) or not _positive_int(capacity, 2**31 - 1):
        return
    try:
        with urllib.request.urlopen(f"{BASE_URL}/venues/{int(venue_id)}", timeout=5) as response:
            venue_capacity = json.load(response)["capacity"]
    except Exception:  # unknown venue, or the service is down: leave it
        return
    if capacity > venue_capacity:
        body["capacity"] = venue_capacity


def _positive_int(value, maximum):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and value == int(value) and 0 < value <= maximum)
