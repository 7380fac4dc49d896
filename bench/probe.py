"""Measurements and checks for bench/run.sh, one subcommand each.

  snapshot SERVICE_PID POSTMASTER_PID SHELL_PID
      One JSON line: CPU ticks used so far by the service, by PostgreSQL (the
      postmaster, its live children, and the children it has reaped), by the
      load tools (the children SHELL_PID has reaped), and by the whole machine
      (/proc/stat), plus a monotonic timestamp. Pass 0 for a process that is
      not running. Two snapshots around a step give each party's CPU time.
  fsync-rate DIR SECONDS
      8 kB write + fdatasync, one after the other, in DIR for SECONDS:
      prints operations per second, the most commits per second one after
      the other that this disk allows (what a lock held across commit gets).
  check STEP_DIR NAME KIND CONNECTIONS
      Fails (exit 1, with the reason) when a step shows broken behaviour:
      statuses the step must never see, socket errors, a count of 201s that
      disagrees with the rows in the database (bench/run.sh then runs
      `verify` on the counter and the rows themselves). 503 (pool wait
      exceeded: overload) is tolerated with a warning, never a failure: a
      slow machine must not fail CI.
      A hot step whose admission passes ran out gets a warning: its rate is
      then a lower bound.
      KIND: health | hot | held | soldout | pgbench[:SEATS_PER_TRANSACTION] |
            fixed_rate | fixed_rate_health | redis (checked by bench/run.sh)
  collect STEP_DIR NAME TOOL
      Turns one step's raw files (NAME.wrk, NAME.pgbench + NAME.log.*,
      NAME.k6.json or NAME.redis (redis-benchmark --csv); NAME.before/.after
      snapshots; NAME.db_before/.db_after)
      into NAME.json: seconds, statuses, latency percentiles, CPU, database,
      WAL flushes (pg_stat_wal; needs track_wal_io_timing=on).
  fairness STEP_DIR NAME CAPACITY
      Reads NAME.console (k6/booking.js with SEND_LOG=1: one `SENT <ms>
      <status>` line per attempt) and writes NAME.json: of the first CAPACITY
      requests by send time, how many got a seat (201). Requests sent in the
      same millisecond as the CAPACITY-th are ties, ordered as logged; their
      count is reported.
  rate STEP_DIR NAME
      Prints a step's answers per second, as an integer: 2xx answers (409
      for the sold-out step), pgbench's transactions or redis-benchmark's
      requests.
  redis-rate
      Prints the requests per second of the redis-benchmark --csv output
      on stdin, as an integer.
"""

import csv
import json
import os
import re
import sys
import time
from pathlib import Path


def stat_fields(pid):
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses: split after the last ')'.
    return text[text.rindex(")") + 2:].split()


def own_ticks(fields):
    return int(fields[11]) + int(fields[12])  # utime + stime


def reaped_ticks(fields):
    return int(fields[13]) + int(fields[14])  # cutime + cstime


def postgres_ticks(postmaster):
    total = own_ticks(f := stat_fields(postmaster)) + reaped_ticks(f)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = stat_fields(entry)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[1] == str(postmaster):
            total += own_ticks(fields)
    return total


def machine_ticks():
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle, sum(values[:8])


def snapshot(service, postmaster, shell):
    busy, total = machine_ticks()
    snap = {
        "t": time.monotonic(),
        "service": own_ticks(stat_fields(service)) if service != "0" else None,
        "postgres": postgres_ticks(postmaster) if postmaster != "0" else None,
        "load_tool": reaped_ticks(stat_fields(shell)),
        "machine_busy": busy,
        "machine_total": total,
        "loadavg": float(Path("/proc/loadavg").read_text().split()[0]),
    }
    print(json.dumps(snap))


def fsync_rate(directory, seconds):
    path = Path(directory) / "fsync-probe"
    block = b"\0" * 8192
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        done, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            done += 1
        print(round(done / (time.monotonic() - start)))
    finally:
        os.close(fd)
        path.unlink()


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def parse_wrk(step_dir, name):
    for line in (Path(step_dir) / f"{name}.wrk").read_text().splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"bench: wrk printed no RESULT line for {name} (see {step_dir}/{name}.wrk)")


def parse_pgbench(step_dir, name):
    text = (Path(step_dir) / f"{name}.pgbench").read_text()
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if "=" in line and not _:
            key, _, rest = line.partition("=")
        values[key.strip()] = rest.strip()
    transactions = int(values["number of transactions actually processed"].split("/")[0])
    tps = float(values["tps"].split()[0])
    # -l: one line per transaction, the latency in microseconds in column 3.
    latencies = sorted(int(line.split()[2]) / 1000
                       for log in Path(step_dir).glob(f"{name}.log.*")
                       for line in log.read_text().splitlines())
    return {
        "transactions": transactions,
        "clients": int(values["number of clients"]),
        "failed": int(values.get("number of failed transactions", "0").split()[0]),
        "tps": tps,
        "seconds": transactions / tps if tps else 0.0,
        "statuses": {},
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
    }


def parse_k6(step_dir, name):
    data = json.loads((Path(step_dir) / f"{name}.k6.json").read_text())
    metrics = data["metrics"]
    count = lambda metric: metrics.get(metric, {}).get("values", {}).get("count", 0)
    latency = metrics["http_req_duration"]["values"]
    statuses = {m[len("status_"):]: count(m) for m in metrics if m.startswith("status_") and count(m)}
    return {
        "seconds": data["state"]["testRunDurationMs"] / 1000,
        "statuses": statuses,
        "requests": count("http_reqs"),
        "achieved_rate": metrics["http_reqs"]["values"]["rate"],
        "dropped_iterations": count("dropped_iterations"),
        "max_vus": metrics.get("vus_max", {}).get("values", {}).get("max"),
        "p50_ms": latency["med"],
        "p95_ms": latency["p(95)"],
        "p99_ms": latency["p(99)"],
        "socket_errors": 0,
    }


def parse_redis(step_dir, name):
    """NAME.redis: redis-benchmark --csv; NAME.requests: how many it sent (-n)."""
    directory = Path(step_dir)
    row = next(csv.DictReader((directory / f"{name}.redis").read_text().splitlines()))
    requests = int((directory / f"{name}.requests").read_text())
    return {
        "transactions": requests,
        "seconds": requests / float(row["rps"]),
        "statuses": {},
        "p50_ms": float(row["p50_latency_ms"]),
        "p95_ms": float(row["p95_latency_ms"]),
        "p99_ms": float(row["p99_latency_ms"]),
    }


def collect(step_dir, name, tool):
    directory = Path(step_dir)
    step = {"wrk": parse_wrk, "pgbench": parse_pgbench, "k6": parse_k6, "redis": parse_redis}[tool](step_dir, name)
    step["tool"] = tool
    before = json.loads((directory / f"{name}.before").read_text())
    after = json.loads((directory / f"{name}.after").read_text())
    hz = os.sysconf("SC_CLK_TCK")
    wall = after["t"] - before["t"]
    diff = lambda key: (after[key] - before[key]) / hz if before[key] is not None else None
    step["cpu_s"] = {
        "wall": wall,
        "service": diff("service"),
        "postgres": diff("postgres"),
        "load_tool": diff("load_tool"),
        "machine_busy_fraction": (after["machine_busy"] - before["machine_busy"])
        / max(1, after["machine_total"] - before["machine_total"]),
        "loadavg_before": before["loadavg"],
    }
    for key in ("db_before", "db_after"):
        path = directory / f"{name}.{key}"
        if path.exists():
            step[key] = json.loads(path.read_text())
    if "db_after" in step:
        db = lambda key: step["db_after"][key] - step["db_before"][key]
        syncs, sync_ms = db("wal_sync"), db("wal_sync_ms")
        step["wal"] = {
            "syncs": syncs,
            "syncs_per_s": syncs / wall,
            "avg_sync_ms": sync_ms / syncs if syncs else None,
            # Share of the step's wall time during which a WAL flush was under
            # way (flushes of one cluster do not overlap: WALWriteLock).
            "sync_busy_fraction": sync_ms / 1000 / wall,
            "bytes": db("wal_bytes"),
            "commits": db("commits"),
        }
    (directory / f"{name}.json").write_text(json.dumps(step, indent=1) + "\n")


SENT = re.compile(r'msg="SENT (\d+) (\d+)"')


def fairness(step_dir, name, capacity):
    directory = Path(step_dir)
    capacity = int(capacity)
    sent = [(int(m[1]), m[2]) for m in SENT.finditer((directory / f"{name}.console").read_text())]
    if len(sent) < capacity:
        raise SystemExit(f"bench: {name}: {len(sent)} send times logged, fewer than the "
                         f"capacity {capacity} (see {directory}/{name}.console)")
    sent.sort(key=lambda entry: entry[0])  # stable: ties stay in logged order
    first = sent[:capacity]
    cut = first[-1][0]
    seated = sum(status == "201" for _, status in first)
    booked = sum(status == "201" for _, status in sent)
    before_cut = [status for t, status in sent if t < cut]
    result = {
        "requests": len(sent),
        "capacity": capacity,
        "booked": booked,
        "first_by_send_time_seated": seated,
        "share": seated / capacity,
        "span_ms": sent[-1][0] - sent[0][0],
        "first_span_ms": cut - sent[0][0],
        "ties_at_cut": sum(t == cut for t, _ in sent),
        "strictly_before_cut": len(before_cut),
        "strictly_before_cut_seated": sum(status == "201" for status in before_cut),
    }
    result["summary"] = (
        f"fairness: {seated} of the first {capacity} requests by send time got a seat "
        f"({result['share'] * 100:.1f} %); {booked} seats sold to {len(sent)} requests over "
        f"{result['span_ms']} ms; the first {capacity} were sent within {result['first_span_ms']} ms, "
        f"{result['ties_at_cut']} requests share the millisecond of the {capacity}th")
    (directory / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")


def load_step(step_dir, name):
    return json.loads((Path(step_dir) / f"{name}.json").read_text())


def good_answers(step):
    """2xx answers (409s for the sold-out step), pgbench's transactions or redis-benchmark's requests."""
    if step["tool"] in ("pgbench", "redis"):
        return step["transactions"]
    return (sum(n for status, n in step["statuses"].items() if status.startswith("2"))
            or step["statuses"].get("409", 0))


def good_rate(step_dir, name):
    step = load_step(step_dir, name)
    print(int(good_answers(step) / step["seconds"]) if step["seconds"] else 0)


ALLOWED = {
    "health": ({"200"}, "200"),
    "hot": ({"201", "503"}, "201"),
    "held": ({"201", "503"}, "201"),
    "soldout": ({"409", "503"}, "409"),
    "fixed_rate": ({"201", "503"}, "201"),
    "fixed_rate_health": ({"200"}, "200"),
}


def check(step_dir, name, kind, connections):
    step = load_step(step_dir, name)
    problems, warnings = [], []
    if kind == "redis":
        return
    if step.get("passes_ran_out"):
        warnings.append("every admission pass was used before the step's end: its rate is a lower bound")
    if kind.startswith("pgbench"):
        # KIND pgbench:N: every transaction books N seats.
        per_txn = int(kind.partition(":")[2] or 1)
        if step["failed"]:
            problems.append(f"{step['failed']} failed transactions")
        booked = step["db_after"]["bookings"] - step["db_before"]["bookings"]
        expected = step["transactions"] * per_txn
        # pgbench may stop with a few transactions in flight.
        if not expected <= booked <= expected + step["clients"] * per_txn:
            problems.append(f"pgbench processed {step['transactions']} transactions but "
                            f"{booked} bookings were made (users 1..N all seeded? see seed.log)")
    else:
        allowed, good = ALLOWED[kind]
        statuses = step["statuses"]
        wrong = {s: n for s, n in statuses.items() if s not in allowed}
        if wrong:
            problems.append(f"unexpected statuses {wrong} (expected only {sorted(allowed)}); "
                            "404 here means the step ran past the seeded users")
        if step.get("socket_errors"):
            problems.append(f"{step['socket_errors']} socket errors (connect/read/write/timeout)")
        if not statuses.get(good):
            problems.append(f"no {good} answer at all")
        if statuses.get("503"):
            warnings.append(f"{statuses['503']} answers were 503 (the pool wait ran out: overload)")
        if step.get("dropped_iterations"):
            warnings.append(f"k6 dropped {step['dropped_iterations']} iterations: "
                            "it could not start requests at the asked rate")
        if "db_after" in step:
            rows = "holds" if kind == "held" else "bookings"
            booked = step["db_after"][rows] - step["db_before"][rows]
            created = statuses.get("201", 0)
            # A 201 is sent only after the commit; requests still in flight
            # when the load tool stops may commit without their 201 being counted.
            if kind in ("hot", "held", "fixed_rate") and not created <= booked <= created + int(connections):
                problems.append(f"{created} answers were 201 but {booked} {rows} were committed")
            extra = step["db_after"]["event2_bookings"] - step["db_before"]["event2_bookings"]
            if extra:
                problems.append(f"{extra} bookings were made on the sold-out event")
    for warning in warnings:
        print(f"    warning: {name}: {warning}", file=sys.stderr)
    if problems:
        print(f"bench: step {name} is broken: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)


COMMANDS = {"snapshot": snapshot, "check": check, "collect": collect, "fairness": fairness, "rate": good_rate,
            "redis-rate": lambda: print(int(float(next(csv.DictReader(sys.stdin))["rps"]))),
            "fsync-rate": lambda directory, seconds: fsync_rate(directory, float(seconds))}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        sys.exit(f"usage: bench/probe.py {'|'.join(COMMANDS)} ARGS... (see its docstring)")
    COMMANDS[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
