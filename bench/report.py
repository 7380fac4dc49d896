"""Turns the raw step results of bench/run.sh into the table, summary.json
and (full mode) bench/RESULTS.md."""

import datetime
import json
import os
import sys
from pathlib import Path

(work, summary_path, quick, best_pool, default_pool, fixed_rate,
 connections, step_seconds, pg_settings, pools, pgbench_clients) = sys.argv[1:]
work = Path(work)
quick = quick == "true"
pools = [int(p) for p in pools.split()]
pgbench_clients = [int(c) for c in pgbench_clients.split()]
default_pool = int(default_pool)
clock_ticks = os.sysconf("SC_CLK_TCK")


def load(name):
    return json.loads((work / f"{name}.json").read_text())


def per_second(result, status):
    return result["statuses"].get(status, 0) / result["seconds"]


def cpu_us(result, status):
    done = result["statuses"].get(status, 0)
    return result["cpu_ticks"] * 1e6 / clock_ticks / done if done else None


pgbench = {c: float((work / f"pgbench_{c}.tps").read_text()) for c in pgbench_clients}
single = {p: load(f"single_{p}") for p in pools}
health, batched, soldout = load("health"), load("batched"), load("soldout")
fixed = json.loads((work / "fixed_rate.json").read_text())["metrics"]
fixed_latency = fixed["http_req_duration"]["values"]
fixed_statuses_ok = fixed.get("http_req_failed", {}).get("values", {}).get("rate", 0) == 0

single_default = single.get(default_pool) or single[int(best_pool)]
summary = {
    "mode": "quick" if quick else "full",
    "date": datetime.date.today().isoformat(),
    "machine": {"cores": os.cpu_count(),
                "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
    "pgbench_tps": pgbench.get(default_pool, max(pgbench.values())),
    "pgbench_tps_by_clients": pgbench,
    "health_rps": health["requests"] / health["seconds"],
    "bookings_per_s": per_second(single_default, "201"),
    "bookings_per_s_by_pool": {p: per_second(r, "201") for p, r in single.items()},
    "bookings_latency_ms_by_pool": {p: {k: r[k] for k in ("p50_ms", "p95_ms", "p99_ms")} for p, r in single.items()},
    "best_pool_size": int(best_pool),
    "batched_bookings_per_s": per_second(batched, "201"),
    "batched_latency_ms": {k: batched[k] for k in ("p50_ms", "p95_ms", "p99_ms")},
    "soldout_per_s": per_second(soldout, "409"),
    "soldout_p99_ms": soldout["p99_ms"],
    "fixed_rate_per_s": int(fixed_rate),
    "p50_ms_fixed_rate": fixed_latency["med"],
    "p99_ms_fixed_rate": fixed_latency["p(99)"],
    "fixed_rate_all_requests_ok": fixed_statuses_ok,
    "cpu_us_per_booking": cpu_us(batched, "201"),
    "cpu_us_per_booking_single": cpu_us(single_default, "201"),
    "settings": {
        "postgres": pg_settings, "wrk": f"1 thread, {connections} connections, {step_seconds} s per step",
        "service_pool_size": default_pool, "batch_max": 256, "pools_tried": pools,
        "pgbench": f"-M prepared -j 2, clients {pgbench_clients}, {step_seconds} s, bench/booking_transaction.sql",
        "fixed_rate": "k6 constant-arrival-rate, 1000 preAllocatedVUs",
    },
}
summary["ratios"] = {
    "bookings_vs_pgbench": summary["bookings_per_s"] / summary["pgbench_tps"],
    "batched_vs_pgbench": summary["batched_bookings_per_s"] / summary["pgbench_tps"],
    "soldout_vs_health": summary["soldout_per_s"] / summary["health_rps"],
}
Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")

goals = {"bookings_vs_pgbench": 0.8, "batched_vs_pgbench": 3.0, "soldout_vs_health": 0.5}
lines = [
    f"{'step':44} {'per second':>12} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
]
for clients, tps in pgbench.items():
    lines.append(f"{f'pgbench book_seat, {clients} clients':44} {tps:12.0f}")
lines.append(f"{'wrk GET /health':44} {summary['health_rps']:12.0f} {health['p50_ms']:8.2f} {health['p95_ms']:8.2f} {health['p99_ms']:8.2f}")
for pool, r in single.items():
    lines.append(f"{f'bookings, one per transaction, pool {pool}':44} {per_second(r, '201'):12.0f} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} {r['p99_ms']:8.2f}")
lines.append(f"{f'bookings, batched, pool {default_pool}':44} {summary['batched_bookings_per_s']:12.0f} {batched['p50_ms']:8.2f} {batched['p95_ms']:8.2f} {batched['p99_ms']:8.2f}")
lines.append(f"{'sold out (409), batched':44} {summary['soldout_per_s']:12.0f} {soldout['p50_ms']:8.2f} {soldout['p95_ms']:8.2f} {soldout['p99_ms']:8.2f}")
lines.append(f"{f'k6 fixed rate {fixed_rate}/s':44} {'':>12} {fixed_latency['med']:8.2f} {fixed_latency['p(95)']:8.2f} {fixed_latency['p(99)']:8.2f}")
lines.append("")
lines.append(f"CPU per booking: {summary['cpu_us_per_booking']:.0f} us batched, {summary['cpu_us_per_booking_single']:.0f} us one per transaction")
lines.append(f"best pool size (one per transaction): {best_pool}")
for name, value in summary["ratios"].items():
    lines.append(f"{name:22} {value:6.2f}  (goal >= {goals[name]})")
table = "\n".join(lines)
print()
print(table)
print(f"\nsummary: {summary_path}")

if not quick:
    results = Path("bench/RESULTS.md")
    results.write_text(f"""# Benchmark results

`bench/run.sh` (full mode) on {summary['date']}: {summary['machine']['cores']} cores,
{summary['machine']['memory_gib']} GiB, one throwaway PostgreSQL 15 cluster
(`{pg_settings}`) shared by the service, wrk, k6 and pgbench on the same machine.
Every booking step starts from an empty sale; every figure comes from the same run.

```
{table}
```

Raw figures: `target/bench/summary.json` of that run, copied below.

```json
{json.dumps(summary, indent=2)}
```
""")
    print(f"written: {results}")
