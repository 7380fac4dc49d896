#!/usr/bin/env python3
"""Compares what k6 clients were told with what the database holds.

    check.py load --scenario NAME --records FILE --summary FILE --db-url URL
                  --verify BIN --result OUT.json [options]
    check.py schemathesis --scenario NAME --output FILE --exit-status N
                  --alive 0|1 --service-log FILE --result OUT.json
    check.py summary RESULT.json...

`load` reads the "FB {json}" lines of faults/k6/*.js (one per HTTP request,
see booking_load.js for the fields), reads the event's bookings with psql,
runs the `verify` binary on the event (the sale's own invariants), prints
the scenario's figures and every violated invariant, writes them to
--result and exits 1 when an invariant is violated (2 on a usage or input
error). `summary` prints one table row per result file and exits 1 when any
scenario failed.

Invariants of every booking load:
  - every booking id a client got in a 201 exists, confirmed, for that user
    (lost acknowledged bookings: 0), and no id was given to two users;
  - verify: confirmed bookings <= capacity (oversold: 0), the event's counter
    == confirmed rows, no user holds two confirmed bookings;
  - no booking for a user who never asked; no booking for a user who was
    given a final refusal (409 sold_out...) or a 503 and never a 201;
  - only the allowed statuses; every 503 carries Retry-After;
  - every request was recorded (records == k6's http_reqs).
Bookings no client saw a 201 for are "lost in flight": counted, allowed.

With --failover (faults/scenarios/primary_failover.sh, ./run_tests.sh
--compose --ha), never a hang: every request, answered or not, ends within
FAILOVER_WAIT_BOUND_MS of being sent, and a request without an answer was in
flight during a kill window (a db_kill_N mark to the first 201 after it).
With --expect-loss (primary_failover_async.sh), lost acknowledged bookings
are the expected outcome: they must be found, and any other violation still
fails the check.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys

MARKER = "FB "

# The longest a booking request may wait during a database failover. The
# service answers 503 within its pool wait (2 s) while no primary takes
# writes; one connection attempt to a dead node may add the connect timeout
# (1 s in the compose stack; refused at once on loopback); 2 s more for a
# loaded 2-core machine (k6, two services and the database pair share it).
# Runs on the host stayed under 2 s. Below the service's own whole-request
# bound (10 s, 503 request_timeout), so a request that ran into that fails too.
FAILOVER_WAIT_BOUND_MS = 5000
# A request answered by a process a moment before the kill was recorded.
KILL_MARK_SLACK_MS = 100


def load_records(path):
    records = []
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.startswith(MARKER):
                continue
            try:
                records.append(json.loads(line[len(MARKER):]))
            except json.JSONDecodeError as error:
                sys.exit(f"check.py: {path}:{number}: unreadable record: {error}")
    return records


def psql(db_url, sql):
    done = subprocess.run(
        ["psql", "-X", "-qAt", "-F", "\t", "-v", "ON_ERROR_STOP=1", db_url, "-c", sql],
        capture_output=True, text=True, timeout=60,
    )
    if done.returncode != 0:
        sys.exit(f"check.py: psql failed: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def verify(args):
    """The sale's own invariants, from `verify --json` (verify/src/oneshot.rs)."""
    command = [args.verify, "--event-id", str(args.event_id), "--json"]
    if args.expect_sold_out:
        command.append("--sold-out")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DATABASE_URL": args.db_url})
    if done.returncode not in (0, 1):
        sys.exit(f"check.py: {' '.join(command)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def status_label(record):
    if record["s"] == 0:
        return "no response"
    if record["s"] >= 400 and record.get("c"):
        return f"{record['s']} {record['c']}"
    return str(record["s"])


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Report:
    def __init__(self, scenario):
        self.scenario = scenario
        self.figures = {}
        self.violations = []

    def figure(self, name, value):
        self.figures[name] = value

    def violate(self, message, examples=(), kind="other"):
        """kind "lost": an acknowledged booking missing from the database,
        the one violation --expect-loss expects."""
        examples = list(examples)[:5]
        self.violations.append((kind, message + (f" (e.g. {examples})" if examples else "")))

    def expect_loss(self):
        """--expect-loss: the lost acknowledged bookings become the expected
        outcome (a figure); finding none is the violation; every other
        violation stays one."""
        lost = [message for kind, message in self.violations if kind == "lost"]
        self.violations = [(kind, message) for kind, message in self.violations if kind != "lost"]
        self.figure("expected violations (loss)", lost or "none")
        if not lost:
            self.violate("no acknowledged booking was lost: the check could not tell a lossy failover")


def check_load(args):
    report = Report(args.scenario)
    marks = dict(parse_mark(mark) for mark in args.mark)
    records = load_records(args.records)
    bad = [r for r in records if "x" in r]      # deliberately malformed requests
    good = [r for r in records if "x" not in r]  # booking attempts

    with open(args.summary, encoding="utf-8") as summary_file:
        summary = json.load(summary_file)
    report.figure("requests sent", len(records))
    if summary.get("http_reqs") != len(records):
        report.violate(f"k6 sent {summary.get('http_reqs')} requests but recorded {len(records)}")
    report.figure("load duration s", round(summary.get("duration_ms", 0) / 1000, 1))
    users = collections.defaultdict(list)
    for record in good:
        users[record["u"]].append(record)
    report.figure("booking requests", len(good))
    report.figure("clients (users)", len(users))
    report.figure("statuses", dict(sorted(collections.Counter(map(status_label, good)).items())))

    # ---- statuses, Retry-After, durations
    allowed = {int(s) for s in args.allow_status.split(",")}
    unexpected = [r for r in good if r["s"] != 0 and r["s"] not in allowed]
    if unexpected:
        report.violate(f"{len(unexpected)} answers with a status outside {sorted(allowed)}",
                       [(r["u"], r["s"], r.get("c")) for r in unexpected])
    no_retry_after = [r for r in records if r["s"] == 503 and not r.get("ra")]
    report.figure("503 without Retry-After", len(no_retry_after))
    if no_retry_after:
        report.violate(f"{len(no_retry_after)} 503 answers without Retry-After")
    no_response = [r for r in good if r["s"] == 0]
    if args.failover:
        never_a_hang(report, marks, good)
    elif args.no_response == "never" and no_response:
        report.violate(f"{len(no_response)} requests got no response (k6 error codes "
                       f"{sorted({r.get('e') for r in no_response})})")
    elif args.no_response == "killed-url":
        kill_at = marks["kill_at"]
        # A request in flight on the killed process may fail a moment before
        # the kill is recorded; anything earlier, or on the survivor, is a bug.
        stray = [r for r in no_response
                 if r["n"] != args.killed_url or r["t1"] < kill_at - KILL_MARK_SLACK_MS]
        if stray:
            report.violate(f"{len(stray)} requests got no response outside the killed process",
                           [(r["u"], r["n"], r["e"]) for r in stray])
    durations = [r["d"] for r in good if r["s"] != 0]
    report.figure("max duration ms", max(durations, default=None))
    report.figure("p99 duration ms", percentile(durations, 0.99))
    if any(r["s"] == 503 for r in good):
        report.figure("max 503 duration ms", max(r["d"] for r in good if r["s"] == 503))
    if args.max_duration_ms is not None:
        slow = [r for r in good if r["s"] != 0 and r["d"] > args.max_duration_ms]
        if slow:
            report.violate(f"{len(slow)} requests took longer than {args.max_duration_ms} ms",
                           [(r["u"], r["s"], r["d"]) for r in slow])
    if args.require_status:
        for status in (int(s) for s in args.require_status.split(",")):
            if not any(r["s"] == status for r in good):
                report.violate(f"no request got {status}: the scenario did not do what it is for")

    # ---- what clients were told
    acked = collections.defaultdict(set)  # booking id -> users told it
    for record in good:
        if record["s"] == 201:
            acked[record["b"]].add(record["u"])
    report.figure("201 responses", sum(1 for r in good if r["s"] == 201))
    report.figure("acknowledged bookings", len(acked))
    shared = {b: u for b, u in acked.items() if len(u) > 1 or b in (None, -1)}
    if shared:
        # After a failover to a standby that missed commits the new primary
        # hands the lost ids out again: one user told each is a lost booking.
        report.violate(f"{len(shared)} booking ids missing or told to several users", shared.items(),
                       kind="lost" if None not in shared and -1 not in shared else "other")

    # ---- what the database holds
    rows = psql(args.db_url, f"SELECT id, user_id, status FROM bookings WHERE event_id = {args.event_id}")
    sale = verify(args)
    capacity = sale["capacity"]
    bookings = {int(i): (int(u), s) for i, u, s in rows}
    confirmed = {i: u for i, (u, s) in bookings.items() if s == "confirmed"}
    rows_per_user = collections.Counter(u for u, _ in bookings.values())
    report.figure("capacity", capacity)
    report.figure("bookings in DB", sale["confirmed"])
    report.figure("event counter", sale["counter"])

    # Per (booking id, user) told: after a failover to a standby that missed
    # commits, the new primary hands the lost ids out again, to other users.
    lost = sorted(((b, u) for b, told in acked.items() for u in told if confirmed.get(b) != u), key=str)
    report.figure("lost acknowledged", len(lost))
    if lost:
        report.violate(f"{len(lost)} acknowledged bookings are not confirmed in the database", lost,
                       kind="lost")
    report.figure("oversold", max(0, sale["confirmed"] - capacity))
    report.figure("users over max_per_user", sale["users_over_limit"])
    for failure in sale["failures"]:
        report.violate(f"verify: {failure}")
    if args.expect_sold_out and len(acked) != capacity:
        report.violate(f"the sale did not sell exactly its capacity: {len(acked)} acknowledged, "
                       f"capacity {capacity}")
    if args.idempotent:
        twice = [u for u, n in rows_per_user.items() if n > 1]
        if twice:
            report.violate(f"{len(twice)} idempotent clients have several booking rows", twice)
    phantom = sorted({u for u in rows_per_user if u not in users})
    if phantom:
        report.violate(f"{len(phantom)} bookings for users who never asked", phantom)

    told_ids = set(acked)
    in_flight = sorted(b for b in confirmed if b not in told_ids)
    report.figure("lost in flight", len(in_flight))
    # Among them: clients answered 503, which the README promises means
    # "nothing was booked", although the booking committed.
    final_refusals = []
    gave_up = 0
    for user, attempts in users.items():
        final = [r for r in attempts if is_final(r)]
        if not final:
            gave_up += 1
            continue
        if any(r["s"] == 201 for r in attempts):
            continue
        if rows_per_user.get(user, 0):
            final_refusals.append((user, status_label(final[-1])))
    in_flight_503 = sum(1 for b in in_flight
                        if all(r["s"] == 503 for r in users.get(confirmed[b], [])))
    report.figure("  of which answered 503", in_flight_503)
    if in_flight_503 and not args.idempotent:
        told_503 = [(b, confirmed[b]) for b in in_flight
                    if all(r["s"] == 503 for r in users.get(confirmed[b], []))]
        report.violate(f"{in_flight_503} clients were answered 503 (nothing booked, says the README) "
                       "but their booking committed (booking id, user)", told_503)
    if final_refusals:
        report.violate(f"{len(final_refusals)} users were refused but hold a booking", final_refusals)
    if args.idempotent:
        report.figure("retries", len(good) - len(users))
        report.figure("replayed answers", sum(r.get("r", 0) for r in good))
        # Replayed by another process than the client first asked: the key
        # lives in the database, not in a process.
        report.figure("  of which by the other process",
                      sum(1 for attempts in users.values() for r in attempts
                          if r.get("r") and r["n"] != attempts[0]["n"]))
        # With a key, a client that kept retrying got the truth (a 201 with
        # its one booking, or a refusal and no booking: checked above); only
        # one that gave up can have a booking it never heard of.
        report.figure("clients that gave up", gave_up)

    recovery(report, args, marks, good)
    check_malformed(report, bad)
    for log in args.service_log:
        check_service_log(report, log)
    if args.expect_loss:
        report.expect_loss()
    return finish(report, args.result)


def kill_windows(marks, good):
    """(kill, end) of each database kill (db_kill_N marks): from the kill to
    the end of the first 201 of a request sent after it, the moment the sale
    was going again."""
    windows, number = [], 1
    while f"db_kill_{number}" in marks:
        kill_at = marks[f"db_kill_{number}"]
        back = min((r["t1"] for r in good if r["s"] == 201 and r["t0"] >= kill_at), default=None)
        windows.append((kill_at, back))
        number += 1
    return windows


def never_a_hang(report, marks, good):
    """A failover proof's promise: every request gets an answer within
    FAILOVER_WAIT_BOUND_MS (k6's own timeout is longer, so a request that
    hangs shows here as a long wait, answered or not), and a request gets no
    answer only when it was in flight during a kill window."""
    report.figure("wait bound ms", FAILOVER_WAIT_BOUND_MS)
    waits = [r["t1"] - r["t0"] for r in good]
    report.figure("max wait ms", max(waits, default=None))
    slow = [r for r in good if r["t1"] - r["t0"] > FAILOVER_WAIT_BOUND_MS]
    if slow:
        report.violate(f"{len(slow)} requests waited longer than the bound of {FAILOVER_WAIT_BOUND_MS} ms "
                       "(user, status, waited ms)", [(r["u"], r["s"], r["t1"] - r["t0"]) for r in slow])
    windows = kill_windows(marks, good)
    if not windows:
        report.violate("--failover without a db_kill_1 mark: no kill window to judge answers by")
    # A window with no 201 after it is a violation of its own (failovers()).
    in_window = [(kill - KILL_MARK_SLACK_MS, back) for kill, back in windows if back is not None]
    unanswered = [r for r in good if r["s"] == 0]
    report.figure("no response (allowed in kill windows)", len(unanswered))
    stray = [r for r in unanswered
             if not any(r["t1"] >= start and r["t0"] <= end for start, end in in_window)]
    if stray:
        report.violate(f"{len(stray)} requests got no answer outside the kill windows {in_window} "
                       "(user, k6 error, sent, ended)", [(r["u"], r["e"], r["t0"], r["t1"]) for r in stray])


def is_final(record):
    """An answer a client acts on, rather than retries."""
    return not (record["s"] in (0, 503) or record.get("c") == "request_in_progress")


def recovery(report, args, marks, good):
    if "restart_start" in marks:
        start, done = marks["restart_start"], marks["restart_done"]
        report.figure("PostgreSQL down ms", done - start)
        if "ready_at" in marks:
            report.figure("/ready 200 after restart ms", marks["ready_at"] - start)
        else:
            report.violate("/ready did not answer 200 after the restart")
        after = sorted((r["t1"] for r in good if r["s"] == 201 and r["t0"] >= done))
        failed = sum(1 for r in good if r["s"] in (0, 503) and r["t1"] >= start)
        report.figure("503/no response from restart on", failed)
        if not after:
            report.violate("no booking succeeded after the restart")
        else:
            report.figure("first 201 after restart ms", after[0] - start)
            heal = after[0] - done
            report.figure("recovery ms (PG up -> first 201)", heal)
            if heal > args.recovery_bound_ms:
                report.violate(f"the service took {heal} ms after PostgreSQL was back to book again "
                               f"(bound {args.recovery_bound_ms} ms)")
    failovers(report, marks, good)
    if "kill_at" in marks:
        kill_at = marks["kill_at"]
        survivor = sorted(r["t1"] for r in good
                          if r["s"] == 201 and r["n"] != args.killed_url and r["t0"] >= kill_at)
        report.figure("no response (killed process's URL)",
                      sum(1 for r in good if r["s"] == 0 and r["n"] == args.killed_url))
        if not survivor:
            report.violate("the surviving process booked nothing after the kill")
        else:
            report.figure("recovery ms (kill -> first 201 on survivor)", survivor[0] - kill_at)


def failovers(report, marks, good):
    """Database failovers (faults/scenarios/primary_failover*.sh): for each
    db_kill_N mark, the failover time is the kill to the first 201 of a
    request sent after it, which only the new primary can have served."""
    number = 1
    while f"db_kill_{number}" in marks:
        kill_at = marks[f"db_kill_{number}"]
        if f"db_promoted_{number}" in marks:
            report.figure(f"kill {number} -> promotion seen ms", marks[f"db_promoted_{number}"] - kill_at)
        if f"db_ready_{number}" in marks:
            report.figure(f"kill {number} -> /ready 200 ms", marks[f"db_ready_{number}"] - kill_at)
        if f"db_not_ready_{number}" in marks:
            report.figure(f"kill {number}: /ready 503 answers seen", marks[f"db_not_ready_{number}"])
            if marks[f"db_not_ready_{number}"] == 0:
                report.violate(f"/ready never said not ready between database kill {number} and the promotion")
        after = sorted(r["t1"] for r in good if r["s"] == 201 and r["t0"] >= kill_at)
        if not after:
            report.violate(f"no booking succeeded after database kill {number}")
        else:
            report.figure(f"failover {number} ms", after[0] - kill_at)
        number += 1


def check_malformed(report, bad):
    if not bad:
        return
    report.figure("malformed requests", len(bad))
    report.figure("malformed statuses",
                  dict(sorted(collections.Counter(status_label(r) for r in bad).items())))
    wrong = collections.defaultdict(collections.Counter)
    for record in bad:
        if not record.get("ok"):
            wrong[record["x"]][status_label(record)] += 1
    report.figure("malformed answered wrong", sum(sum(c.values()) for c in wrong.values()))
    for case, statuses in sorted(wrong.items()):
        report.violate(f"malformed case {case!r} answered {dict(statuses)}")


LOG_LINE = re.compile(r"^\[\S+ (\w+)\s+(\S+)\]")
ACCESS_LINE = re.compile(r'actix_web::middleware::logger\] \S+ "(.*)" (\d{3}) \S+ [\d.]+ms$')


def check_service_log(report, path):
    """A panic, or an error the service logged itself (an internal error is
    a 500), is a bug whatever the clients saw. actix's own ERROR lines about
    unparseable requests are the client's fault and are not counted."""
    panics, errors, statuses = [], [], collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if "panicked" in line:
                panics.append(line)
            else:
                level = LOG_LINE.match(line)
                if level and level.group(1) == "ERROR" and not level.group(2).startswith("actix_http"):
                    errors.append(line)
            match = ACCESS_LINE.search(line)
            if match:
                statuses[match.group(2)] += 1
    name = os.path.basename(path)
    if statuses:
        report.figure("statuses served (access log)", dict(sorted(statuses.items())))
        server_errors = sum(n for status, n in statuses.items() if status.startswith("5") and status != "503")
        if server_errors:
            report.violate(f"{name}: {server_errors} answers 5xx other than 503")
    report.figure("panics/errors logged", report.figures.get("panics/errors logged", 0)
                  + len(panics) + len(errors))
    if panics:
        report.violate(f"{name}: the service panicked", panics)
    if errors:
        report.violate(f"{name}: the service logged {len(errors)} errors", errors)


def check_schemathesis(args):
    """Figures and verdict of a Schemathesis run, from its console output."""
    report = Report(args.scenario)
    with open(args.output, encoding="utf-8", errors="replace") as output_file:
        output = output_file.read()
    cases = re.search(r"^\s*(\d+) generated, (.*)$", output, re.MULTILINE)
    operations = re.search(r"Tested: (\d+)", output)
    failures = re.findall(r"^\s*❌ (.+?): (\d+)$", output, re.MULTILINE)
    report.figure("operations tested", int(operations.group(1)) if operations else None)
    report.figure("requests sent", int(cases.group(1)) if cases else None)
    report.figure("test cases", cases.group(0).strip() if cases else None)
    report.figure("failures", {name: int(n) for name, n in failures})
    report.figure("schemathesis exit status", args.exit_status)
    if args.exit_status != 0:
        report.violate(f"schemathesis exited with status {args.exit_status}: "
                       + (", ".join(f"{n} x {name}" for name, n in failures) or "see its output"))
    if not cases:
        report.violate("schemathesis reported no test cases")
    if not args.alive:
        report.violate("the service is no longer alive after the run (crash)")
    check_service_log(report, args.service_log)
    return finish(report, args.result)


def parse_mark(text):
    name, _, value = text.partition("=")
    if not value.strip().isdigit():
        sys.exit(f"check.py: --mark {text!r}: expected NAME=EPOCH_MS")
    return name, int(value)


def finish(report, result_path):
    print(f"\n  {report.scenario}: figures")
    for name, value in report.figures.items():
        print(f"    {name + ' ':.<44} {value}")
    violations = [message for _, message in report.violations]
    for violation in violations:
        print(f"  VIOLATION: {violation}")
    print(f"  {report.scenario}: {'PASS' if not violations else 'FAIL'}")
    if result_path:
        with open(result_path, "w", encoding="utf-8") as out:
            json.dump({"scenario": report.scenario, "ok": not violations,
                       "figures": report.figures, "violations": violations}, out, indent=1)
    return 0 if not report.violations else 1


# --------------------------------------------------------------------- summary
COLUMNS = [
    ("requests", "requests sent"),
    ("201", "201 responses"),
    ("in DB", "bookings in DB"),
    ("acked", "acknowledged bookings"),
    ("lost acked", "lost acknowledged"),
    ("oversold", "oversold"),
    ("in flight", "lost in flight"),
    ("max ms", "max duration ms"),
]


# Figures shown as text in the last column of the summary table.
NOTES = ["statuses", "test cases", "cases told apart", "malformed answered wrong",
         "failover 1 ms", "failover 2 ms", "max wait ms"]


def summary(args):
    results = []
    for path in args.results:
        try:
            with open(path, encoding="utf-8") as result:
                results.append(json.load(result))
        except (OSError, json.JSONDecodeError) as error:
            name = os.path.basename(path).removesuffix(".result.json")
            results.append({"scenario": name, "ok": False, "figures": {},
                            "violations": [f"no result: {error}"]})
    header = ["scenario"] + [c for c, _ in COLUMNS] + ["recovery ms", "verdict", "notes"]
    rows = []
    for result in results:
        figures = result.get("figures", {})
        row = [result["scenario"]]
        row += [fmt(figures.get(key)) for _, key in COLUMNS]
        row.append(fmt(next((v for k, v in figures.items()
                             if k.startswith("recovery ms") or k == "failover 1 ms"), None)))
        row.append("PASS" if result.get("ok") else "FAIL")
        row.append("; ".join(f"{name} {figures[name]}" for name in NOTES if name in figures))
        rows.append(row)
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    last = len(header) - 1

    def line(cells):
        return "  ".join(str(c).ljust(w) if i in (0, last) else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    for result in results:
        for violation in result.get("violations", []):
            print(f"{result['scenario']}: VIOLATION: {violation}")
    return 0 if all(r.get("ok") for r in results) else 1


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="check one scenario's records against the database")
    load.add_argument("--scenario", required=True)
    load.add_argument("--records", required=True)
    load.add_argument("--summary", required=True, help="the k6 summary written by handleSummary")
    load.add_argument("--db-url", required=True)
    load.add_argument("--verify", required=True, help="the verify binary (target/release/verify)")
    load.add_argument("--event-id", type=int, default=1)
    load.add_argument("--result", help="write figures and violations here (JSON)")
    load.add_argument("--allow-status", default="201,409",
                      help="comma-separated statuses booking requests may get (default 201,409)")
    load.add_argument("--require-status", default="",
                      help="statuses that must occur at least once")
    load.add_argument("--no-response", choices=["never", "killed-url", "allowed"], default="never",
                      help="when a request may end without a response (default never)")
    load.add_argument("--failover", action="store_true",
                      help="a database failover proof (db_kill_N marks): every request ends within "
                           f"{FAILOVER_WAIT_BOUND_MS} ms, and without an answer only in a kill window "
                           "(instead of --no-response)")
    load.add_argument("--expect-loss", action="store_true",
                      help="lost acknowledged bookings must be found, and are the only violation allowed")
    load.add_argument("--killed-url", type=int, default=1, help="index of the killed base URL")
    load.add_argument("--max-duration-ms", type=float)
    load.add_argument("--expect-sold-out", action="store_true",
                      help="exactly the capacity must be acknowledged and confirmed (verify --sold-out)")
    load.add_argument("--idempotent", action="store_true",
                      help="clients retried with an Idempotency-Key: exactly one booking each")
    load.add_argument("--recovery-bound-ms", type=int, default=5000)
    load.add_argument("--mark", action="append", default=[],
                      help="NAME=EPOCH_MS: restart_start, restart_done, ready_at, kill_at")
    load.add_argument("--service-log", action="append", default=[],
                      help="a service log to search for panics and errors (repeatable)")
    fuzz = commands.add_parser("schemathesis", help="figures and verdict of a Schemathesis run")
    fuzz.add_argument("--scenario", required=True)
    fuzz.add_argument("--output", required=True, help="schemathesis console output (--no-color)")
    fuzz.add_argument("--exit-status", type=int, required=True)
    fuzz.add_argument("--alive", type=int, choices=[0, 1], required=True,
                      help="1 when the service still answered /health afterwards")
    fuzz.add_argument("--service-log", required=True)
    fuzz.add_argument("--result")
    table = commands.add_parser("summary", help="one table row per scenario result")
    table.add_argument("results", nargs="+")
    args = parser.parse_args()
    return {"load": check_load, "schemathesis": check_schemathesis, "summary": summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
