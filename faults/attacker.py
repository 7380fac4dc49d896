#!/usr/bin/env python3
"""faults/attacker.py: the attacks of issue 21 against a running flashbook,
black box (README, "Threat model"; faults/README.md).

  attacker.py attack --base-url URL --psql CMD [--only TEXT]... [--flood-from
      ADDR --bystander-from ADDR] [--compose CMD --secret NAME...] [--result FILE]
  attacker.py stand-in MODE --upstream URL --port N --psql CMD

`attack` signs up three buyers (POST /users, POST /sessions), gives buyer A
a booking, a hold, a waiting-list entry and an admitted waiting-room ticket
on events of its own, then tries each attack and prints one line per check:
PASS, FAIL or SKIP, with what it saw; at the end the buyers cancel their own
bookings. Exit status 0: no check failed; 1: a check failed; 2: the attacks
could not be set up, or the bookings not cancelled. --psql is a command that
reads SQL on its standard input and prints the rows (psql -XAtq -d URL, or
psql in the compose stack's db container): the database is compared before
and after each request of another buyer. --only runs the checks whose name
contains one of the texts. Environment: FLASHBOOK_ADMIN_TOKEN (creates the
events), FLASHBOOK_TOKEN_KEYS (optional: the signing key, kid:secret, for an
expired but correctly signed token), FLASHBOOK_TOKEN_ISSUER/AUDIENCE.

`stand-in` is for the self-test (faults/scenarios/attacker_self_test.sh)
only: a proxy on 127.0.0.1:N in front of the service that puts back one hole
written in Rust, which could not be removed without a rebuild. MODE:
any-token (any bearer token is taken at its word: its claims unverified,
user 1 when it has none), any-owner (a by-id read and an admission pass act
as the row's owner), buyer-is-admin (a buyer token opens the admin routes),
everyones-lists (GET /me/bookings lists every booking), reveal-emails
(sign-up answers 409 email_taken for a known email), global-keys (an
Idempotency-Key acts for the buyer who sent it first).
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.parse
import uuid

TIMEOUT_S = 10
FLOOD_MAX = 3000  # requests one flood sends at most before giving up on a 429
FLOOD_BOUND_S = 20
PASSWORD = "attacker-password-1"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key():
    """The first kid:secret of FLASHBOOK_TOKEN_KEYS, or None."""
    keys = os.environ.get("FLASHBOOK_TOKEN_KEYS", "")
    if ":" not in keys:
        return None
    kid, secret = keys.split(",")[0].strip().split(":", 1)
    return kid, secret.encode()


def claims(user, lifetime_s=600):
    now = int(time.time())
    return {"iss": os.environ.get("FLASHBOOK_TOKEN_ISSUER", "flashbook"),
            "aud": os.environ.get("FLASHBOOK_TOKEN_AUDIENCE", "flashbook"),
            "iat": now, "exp": now + lifetime_s, "sub": str(user), "flashbook_user_id": user}


def mint(kid, secret, body, alg="HS256"):
    """A JWT; alg none has no signature, else HMAC-SHA256 with secret."""
    head = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
    signed = head + "." + b64(json.dumps(body).encode())
    mac = "" if alg == "none" else b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest())
    return signed + "." + mac


def template(path):
    """The route of a path: its ids and tickets as {id}."""
    return re.sub(r"/([0-9]+|[0-9a-f]{32})(?=/|$)", "/{id}", path)


def sql(psql, text):
    done = subprocess.run(psql, input=text, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(psql)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


class Answer:
    def __init__(self, status, headers, text):
        self.status, self.headers, self.text = status, headers, text
        try:
            self.json = json.loads(text)
        except ValueError:
            self.json = None

    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    def __str__(self):
        return f"{self.status} {self.code() or self.text[:80]}"


class Client:
    """HTTP/1.1 to the service from one source address, kept alive."""

    def __init__(self, base_url, source=None):
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname, url.port or 80
        self.source = (source, 0) if source else None
        self.connection = None

    def call(self, method, path, token=None, body=None, headers=None):
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body)
        if data is not None:
            sent["Content-Type"] = "application/json"
        try:
            return self.send(method, path, data, sent)
        except (http.client.HTTPException, ConnectionError):
            # A kept-alive connection that the peer had closed: once more on a new one.
            return self.send(method, path, data, sent)

    def send(self, method, path, data, headers):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                self.host, self.port, timeout=TIMEOUT_S, source_address=self.source)
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode(errors="replace")
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = None
            raise
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, text)


class Attack:
    def __init__(self, args):
        self.args = args
        self.http = Client(args.base_url)
        self.psql = shlex.split(args.psql)
        self.admin = os.environ.get("FLASHBOOK_ADMIN_TOKEN", "")
        self.results = []  # (verdict, name, detail)
        self.events = []
        self.sold = []  # (token, booking id): the attacker's own bookings, cancelled at the end

    def wanted(self, name):
        return not self.args.only or any(text in name for text in self.args.only)

    def record(self, name, ok, detail):
        verdict = "PASS" if ok else "FAIL"
        self.results.append((verdict, name, detail))
        print(f"{verdict}  {name}: {detail}", flush=True)

    def skip(self, name, why):
        if self.wanted(name):
            self.results.append(("SKIP", name, why))
            print(f"SKIP  {name}: {why}", flush=True)

    def must(self, answer, status, what):
        if answer.status != status:
            raise RuntimeError(f"{what}: expected {status}, got {answer.status} {answer.text[:200]}")
        return answer.json

    # ---------------------------------------------------------------- setup
    def buyer(self, label):
        email = f"attacker-{label}-{uuid.uuid4().hex[:12]}@example.com"
        self.must(self.http.call("POST", "/users", body={"email": email, "name": f"Buyer {label}", "password": PASSWORD}),
                  202, f"sign-up of buyer {label}")
        session = self.must(self.http.call("POST", "/sessions", body={"email": email, "password": PASSWORD}),
                            200, f"sign-in of buyer {label}")
        return {"email": email, "token": session["token"], "id": session["user_id"]}

    def event(self, venue, capacity, max_per_user):
        event = self.must(self.http.call("POST", "/events", self.admin, {
            "venue_id": venue, "name": f"attacker {uuid.uuid4().hex[:8]}", "starts_at": "2030-06-01T20:00:00Z",
            "capacity": capacity, "max_per_user": max_per_user}), 201, "POST /events (admin)")
        self.events.append(event["id"])
        return event["id"]

    def set_up(self):
        if not self.admin:
            raise RuntimeError("FLASHBOOK_ADMIN_TOKEN is not set: the attacks need events of their own")
        self.a, self.b, self.c = self.buyer("a"), self.buyer("b"), self.buyer("c")
        venue = self.must(self.http.call("POST", "/venues", self.admin, {"name": "attacker venue", "capacity": 100}),
                          201, "POST /venues (admin)")["id"]
        # Sold out by A (a booking and a hold), so A's waiting-list entry waits.
        sale = self.event(venue, 2, 3)
        self.room = self.event(venue, 10, 1)
        self.open_sale = self.event(venue, 10, 2)
        a = self.a["token"]
        self.booking = self.must(self.http.call("POST", "/bookings", a, {"event_id": sale}), 201, "A books")["id"]
        self.sold.append((a, self.booking))
        self.hold = self.must(self.http.call("POST", "/holds", a, {"event_id": sale}), 201, "A holds")["id"]
        self.entry = self.must(self.http.call("POST", f"/events/{sale}/waitlist", a, {}), 201, "A waits")["id"]
        self.sale = sale
        opens = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        self.must(self.http.call("PUT", f"/events/{self.room}/waiting-room", self.admin, {
            "admission_per_second": 1000, "pass_seconds": 600, "opens_at": opens}), 200, "PUT waiting-room (admin)")
        self.ticket = self.must(self.http.call("POST", f"/events/{self.room}/queue", a), 201, "A queues")["ticket"]
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            standing = self.must(self.http.call("GET", f"/queue/{self.ticket}", a), 200, "A reads the ticket")
            if standing.get("pass"):
                self.pass_ = standing["pass"]
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"A's ticket was not admitted within {TIMEOUT_S} s: {standing}")
            time.sleep(0.2)

    def snapshot(self):
        ids = ",".join(str(event) for event in self.events)
        rows = [f"SELECT '{label} ' || t::text AS r FROM {table} t WHERE t.{column} IN ({ids})"
                for label, table, column in [("event", "events", "id"), ("booking", "bookings", "event_id"),
                                             ("hold", "holds", "event_id"), ("entry", "waitlist_entries", "event_id"),
                                             ("ticket", "queue_tickets", "event_id")]]
        return sql(self.psql, f"SELECT string_agg(r, E'\\n' ORDER BY r) FROM ({' UNION ALL '.join(rows)}) AS rows")

    # ---------------------------------------------------------------- checks
    def as_other_buyer(self):
        """B's token on each of A's by-id routes: 404, nothing changed."""
        routes = [("owner", "GET", f"/bookings/{self.booking}"), ("owner", "DELETE", f"/bookings/{self.booking}"),
                  ("owner", "GET", f"/holds/{self.hold}"), ("owner", "POST", f"/holds/{self.hold}/confirm"),
                  ("owner", "DELETE", f"/holds/{self.hold}"), ("owner", "GET", f"/waitlist/{self.entry}"),
                  ("owner", "DELETE", f"/waitlist/{self.entry}"), ("stolen ticket", "GET", f"/queue/{self.ticket}")]
        before = self.snapshot()
        for kind, method, path in routes:
            name = f"{kind}: {method} {template(path)}"
            if not self.wanted(name):
                continue
            answer = self.http.call(method, path, self.b["token"])
            changed = self.snapshot() != before
            leaked = self.pass_ in answer.text
            self.record(name, answer.status == 404 and not changed and not leaked,
                        f"{answer}; database {'CHANGED' if changed else 'unchanged'}"
                        + ("; the answer holds A's pass" if leaked else ""))
            before = self.snapshot() if changed else before
        name = "stolen ticket: POST /bookings with another buyer's pass"
        if self.wanted(name):
            answer = self.http.call("POST", "/bookings", self.b["token"], {"event_id": self.room},
                                    {"Admission-Pass": self.pass_})
            changed = self.snapshot() != before
            self.record(name, answer.status == 403 and not changed,
                        f"{answer}; database {'CHANGED' if changed else 'unchanged'}")

    def lists(self):
        name = "lists: GET /me/bookings holds only the buyer's own"
        if self.wanted(name):
            answer = self.http.call("GET", "/me/bookings?limit=1000", self.b["token"])
            ids = [item.get("id") for item in (answer.json or {}).get("items", [])] if answer.status == 200 else None
            self.record(name, ids is not None and self.booking not in ids,
                        f"{answer.status}, {len(ids or [])} items" + (", A's booking among them" if ids and self.booking in ids else ""))
        for path in [f"/users/{self.a['id']}", f"/users/{self.a['id']}/bookings", f"/events/{self.sale}/bookings"]:
            name = f"admin only: GET {template(path)} with a buyer token"
            if self.wanted(name):
                answer = self.http.call("GET", path, self.b["token"])
                self.record(name, answer.status == 403 and self.a["email"] not in answer.text, str(answer))

    def tokens(self):
        head, body, _ = self.a["token"].split(".")
        kid = json.loads(unb64(head)).get("kid", "")
        key = signing_key()
        random_secret = os.urandom(32)
        forged = {
            "token: forged (another key, same kid)": f"{head}.{body}.{b64(hmac.new(random_secret, f'{head}.{body}'.encode(), hashlib.sha256).digest())}",
            "token: alg none": mint(kid, None, json.loads(unb64(body)), "none"),
            "token: garbage": "not-a-token",
        }
        if key:
            forged["token: expired, correctly signed"] = mint(key[0], key[1], claims(self.a["id"], -3600))
            forged["token: unknown kid, the key's secret"] = mint(key[0] + "-unknown", key[1], claims(self.a["id"]))
            control = "token: control (a fresh token signed with the key is accepted)"
            if self.wanted(control):
                answer = self.http.call("GET", "/me", mint(key[0], key[1], claims(self.a["id"])))
                self.record(control, answer.status == 200 and (answer.json or {}).get("id") == self.a["id"], str(answer))
        else:
            for name in ("token: expired, correctly signed", "token: unknown kid, the key's secret"):
                self.skip(name, "FLASHBOOK_TOKEN_KEYS not given")
        for name, token in forged.items():
            if self.wanted(name):
                answer = self.http.call("GET", "/me", token)
                self.record(name, answer.status == 401, str(answer))

    def idempotency_keys(self):
        name = "idempotency key: another buyer's key books for the buyer, no replay of theirs"
        if not self.wanted(name):
            return
        key = {"Idempotency-Key": f"order-{uuid.uuid4().hex[:8]}"}
        first = self.must(self.http.call("POST", "/bookings", self.a["token"], {"event_id": self.open_sale}, key),
                          201, "A books with a key")
        self.sold.append((self.a["token"], first["id"]))
        d = self.buyer("d")
        second = self.http.call("POST", "/bookings", d["token"], {"event_id": self.open_sale}, key)
        own = second.status == 201 and second.json.get("user_id") == d["id"] and second.json["id"] != first["id"]
        if own:
            self.sold.append((d["token"], second.json["id"]))
        self.record(name, own, f"A's booking {first['id']}; D with A's key: {second}")

    def book_open_sale(self, client):
        booked = client.call("POST", "/bookings", self.b["token"], {"event_id": self.open_sale})
        if booked.status == 201:
            self.sold.append((self.b["token"], booked.json["id"]))
        return booked

    def clean_up(self):
        """Cancels the attacker's own bookings: the seats the replicas count as
        sold then net to none (the compose proofs compare that with the database)."""
        for token, booking in self.sold:
            self.must(self.http.call("DELETE", f"/bookings/{booking}", token), 200, f"cancelling booking {booking}")

    def flood(self, client, token, path):
        """Requests until a 429; returns (requests sent, the 429 or None)."""
        started = time.monotonic()
        for sent in range(1, FLOOD_MAX + 1):
            answer = client.call("GET", path, token)
            if answer.status == 429:
                return sent, answer
            if time.monotonic() - started > FLOOD_BOUND_S:
                break
        return sent, None

    def floods(self):
        name = "flood: one token gets 429 + Retry-After, another buyer still books"
        if self.wanted(name):
            sent, limited = self.flood(self.http, self.c["token"], "/me")
            booked = self.book_open_sale(self.http)
            ok = limited is not None and "retry-after" in limited.headers and booked.status == 201
            self.record(name, ok, (f"429 after {sent} requests, Retry-After {limited.headers.get('retry-after')}"
                                   if limited else f"no 429 in {sent} requests") + f"; the other buyer's booking: {booked}")
        name = "flood: one address gets 429 + Retry-After, another address still books"
        if not (self.args.flood_from and self.args.bystander_from):
            self.skip(name, "needs --flood-from and --bystander-from (distinct client addresses)")
        elif self.wanted(name):
            sent, limited = self.flood(Client(self.args.base_url, self.args.flood_from), None, "/events?limit=1")
            bystander = Client(self.args.base_url, self.args.bystander_from)
            booked = self.book_open_sale(bystander)
            ok = limited is not None and "retry-after" in limited.headers and booked.status == 201
            self.record(name, ok, (f"429 after {sent} requests from {self.args.flood_from}, Retry-After "
                                   f"{limited.headers.get('retry-after')}" if limited else f"no 429 in {sent} requests")
                        + f"; a booking from {self.args.bystander_from}: {booked}")

    def sign_up(self):
        name = "sign-up: a taken email answers as a new one"
        if self.wanted(name):
            taken = self.http.call("POST", "/users", body={"email": self.a["email"], "name": "Mallory", "password": PASSWORD})
            fresh_email = f"attacker-new-{uuid.uuid4().hex[:12]}@example.com"
            fresh = self.http.call("POST", "/users", body={"email": fresh_email, "name": "Mallory", "password": PASSWORD})
            self.record(name, (taken.status, taken.text.replace(self.a["email"], "E"))
                        == (fresh.status, fresh.text.replace(fresh_email, "E")), f"taken: {taken}; new: {fresh}")

    def compose_secrets(self):
        names = [f"compose: refuses to start without {secret}" for secret in self.args.secret]
        if not self.args.compose:
            for name in names:
                self.skip(name, "needs --compose")
            return
        compose = shlex.split(self.args.compose) + ["config", "-q"]
        if not any(self.wanted(name) for name in names):
            return
        control = subprocess.run(compose, capture_output=True, text=True, timeout=60, check=False)
        for secret, name in zip(self.args.secret, names):
            if not self.wanted(name):
                continue
            if control.returncode != 0:
                self.record(name, False, f"with every secret set, config failed too: {control.stderr.strip()[:200]}")
                continue
            environment = {key: value for key, value in os.environ.items() if key != secret}
            done = subprocess.run(compose, env=environment, capture_output=True, text=True, timeout=60, check=False)
            # The file's own message for the variable (${NAME:?set NAME ...}) ends compose's error.
            message = (done.stderr.strip().splitlines() or [""])[-1].rsplit(": ", 1)[-1]
            self.record(name, done.returncode != 0 and message.startswith(f"set {secret}"),
                        f"exit status {done.returncode}: {message[:160]}")

    def run(self):
        try:
            self.set_up()
        except (RuntimeError, OSError, http.client.HTTPException) as error:
            print(f"attacker: could not set the attacks up: {error}", file=sys.stderr)
            return 2
        print(f"attacker: buyers A={self.a['id']} B={self.b['id']} C={self.c['id']}, events {self.events}, "
              f"A's booking {self.booking}, hold {self.hold}, entry {self.entry}, ticket {self.ticket}", flush=True)
        for check in (self.as_other_buyer, self.lists, self.tokens, self.sign_up, self.idempotency_keys,
                      self.compose_secrets, self.floods):
            try:
                check()
            except (RuntimeError, OSError, http.client.HTTPException) as error:
                self.record(f"{check.__name__} (could not run)", False, str(error))
        try:
            self.clean_up()
        except (RuntimeError, OSError, http.client.HTTPException) as error:
            print(f"attacker: could not cancel its own bookings: {error}", file=sys.stderr)
            return 2
        counts = {verdict: sum(1 for result in self.results if result[0] == verdict) for verdict in ("PASS", "FAIL", "SKIP")}
        print(f"attacker: {counts['PASS']} checks passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
        if self.args.result:
            with open(self.args.result, "w") as out:
                json.dump({"scenario": self.args.scenario, "ok": counts["FAIL"] == 0 and counts["PASS"] > 0,
                           "figures": {"attacks tried": counts["PASS"] + counts["FAIL"], "attacks that got through": counts["FAIL"],
                                       "checks skipped": counts["SKIP"]},
                           "violations": [f"{name}: {detail}" for verdict, name, detail in self.results if verdict == "FAIL"]}, out)
        return 1 if counts["FAIL"] or not counts["PASS"] else 0


# -------------------------------------------------------------------- stand-in
ADMIN_READS = re.compile(r"^/(users/[0-9]+(/bookings)?|events/[0-9]+/bookings)/?(\?.*)?$")
OWNED = re.compile(r"^/(bookings|holds|waitlist)/([0-9]+)(/confirm)?/?$")
OWNER_TABLE = {"bookings": "bookings", "holds": "holds", "waitlist": "waitlist_entries"}


def stand_in(args):
    upstream = urllib.parse.urlsplit(args.upstream)
    psql = shlex.split(args.psql)
    admin = os.environ["FLASHBOOK_ADMIN_TOKEN"]
    kid, secret = signing_key()

    first_keyholder = {}  # global-keys: each key acts for the buyer who sent it first

    def as_user(user):
        return f"Bearer {mint(kid, secret, claims(int(user)))}"

    class Hole(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def relay(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            token = headers.get("Authorization", "").removeprefix("Bearer ")
            path = self.path.split("?")[0]
            buyer = token and token != admin
            if args.mode == "any-token" and buyer:
                try:
                    user = json.loads(unb64(token.split(".")[1]))["flashbook_user_id"]
                except (ValueError, IndexError, KeyError):
                    user = 1
                headers["Authorization"] = as_user(user)
            elif args.mode == "any-owner" and buyer and (owned := OWNED.match(path)):
                owner = sql(psql, f"SELECT user_id FROM {OWNER_TABLE[owned[1]]} WHERE id = {owned[2]}")
                if owner:
                    headers["Authorization"] = as_user(owner)
            elif args.mode == "any-owner" and buyer and "Admission-Pass" in headers:
                headers["Authorization"] = as_user(headers["Admission-Pass"].split(".")[3])
            elif args.mode == "buyer-is-admin" and buyer and ADMIN_READS.match(self.path):
                headers["Authorization"] = f"Bearer {admin}"
            elif args.mode == "everyones-lists" and buyer and path == "/me/bookings":
                rows = sql(psql, "SELECT coalesce(json_agg(json_build_object('id', id, 'user_id', user_id)), '[]') FROM bookings")
                return self.answer(200, {"items": json.loads(rows), "next_after_id": None})
            elif args.mode == "global-keys" and buyer and (key := headers.get("Idempotency-Key")):
                headers["Authorization"] = first_keyholder.setdefault(key, headers["Authorization"])
            elif args.mode == "reveal-emails" and path == "/users" and self.command == "POST":
                email = str(json.loads(body or b"{}").get("email", "")).replace("'", "''")
                if sql(psql, f"SELECT 1 FROM users WHERE email = '{email}'"):
                    return self.answer(409, {"status": 409, "code": "email_taken"})
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=TIMEOUT_S)
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            connection.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = relay

        def log_message(self, *_):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Hole).serve_forever()


def main():
    parser = argparse.ArgumentParser(description="the attacks of issue 21 against a running flashbook")
    commands = parser.add_subparsers(dest="command", required=True)
    attack = commands.add_parser("attack")
    attack.add_argument("--base-url", required=True)
    attack.add_argument("--psql", required=True)
    attack.add_argument("--only", action="append", default=[])
    attack.add_argument("--flood-from")
    attack.add_argument("--bystander-from")
    attack.add_argument("--compose")
    attack.add_argument("--secret", action="append", default=[])
    attack.add_argument("--result")
    attack.add_argument("--scenario", default="attacker")
    hole = commands.add_parser("stand-in")
    hole.add_argument("mode", choices=["any-token", "any-owner", "buyer-is-admin", "everyones-lists", "reveal-emails",
                                       "global-keys"])
    hole.add_argument("--upstream", required=True)
    hole.add_argument("--port", type=int, required=True)
    hole.add_argument("--psql", required=True)
    args = parser.parse_args()
    if args.command == "stand-in":
        stand_in(args)
        return 0
    return Attack(args).run()


if __name__ == "__main__":
    sys.exit(main())
