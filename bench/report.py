"""bench/run.sh's last step: the step files (target/bench/steps/*.json, written
by bench/probe.py) become the printed table, target/bench/summary.json and, in
full mode, bench/RESULTS.md. Every figure comes from the one run."""

import argparse
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

GOALS = {  # issue 6: figure / reference >= goal, same run, same machine
    "bookings_vs_pgbench": 0.8,
    "batched_vs_pgbench": 3.0,
    "soldout_vs_health": 0.5,
}
BUSY = 0.85  # machine CPU busy fraction from which a step counts as CPU-bound
KNEE = 0.95  # the knee: the smallest pool within 5 % of the best


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("steps", type=Path)
    parser.add_argument("summary", type=Path)
    parser.add_argument("mode", choices=["quick", "full"])
    ints = lambda text: [int(x) for x in text.split()]
    parser.add_argument("--default-pool", type=int, required=True)
    parser.add_argument("--batch-max", type=int, required=True)
    parser.add_argument("--pools", type=ints, required=True)
    parser.add_argument("--pgbench-clients", type=ints, required=True)
    parser.add_argument("--explicit-clients", type=ints, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--step-seconds", type=float, required=True)
    parser.add_argument("--fixed-rate", type=int, required=True)
    parser.add_argument("--fixed-duration", type=int, required=True)
    parser.add_argument("--fixed-vus", type=int, required=True)
    parser.add_argument("--fsync-rate", type=int, required=True)
    parser.add_argument("--pg-options", required=True)
    parser.add_argument("--loadavg", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--results", default="")
    return parser.parse_args()


class Step:
    """One step's figures, from steps/NAME.json."""

    def __init__(self, steps, name):
        self.name = name
        self.raw = json.loads((steps / f"{name}.json").read_text())
        self.cpu = self.raw["cpu_s"]
        self.seconds = self.raw["seconds"]

    def count(self, status):
        return self.raw["statuses"].get(status, 0)

    @property
    def good(self):
        if self.raw["tool"] == "pgbench":
            return self.raw["transactions"]
        return sum(n for s, n in self.raw["statuses"].items() if s.startswith("2")) or self.count("409")

    @property
    def rate(self):
        return self.good / self.seconds if self.seconds else 0.0

    def latency(self):
        return {k: self.raw[k] for k in ("p50_ms", "p95_ms", "p99_ms")}

    def cores(self, who):
        value = self.cpu[who]
        return None if value is None else value / self.cpu["wall"]

    def us_per(self, who):
        value = self.cpu[who]
        return None if value is None or not self.good else value * 1e6 / self.good

    @property
    def booked(self):
        if "db_after" not in self.raw:
            return None
        return self.raw["db_after"]["bookings"] - self.raw["db_before"]["bookings"]

    @property
    def transactions(self):
        if "db_after" not in self.raw:
            return None
        return self.raw["db_after"]["transactions"] - self.raw["db_before"]["transactions"]

    def usage(self):
        parts = [f"{label} {self.cores(who):.2f}" for who, label in
                 (("service", "service"), ("postgres", "PostgreSQL"), ("load_tool", self.tool_name))
                 if self.cores(who) is not None]
        return f"{' + '.join(parts)} cores; machine {self.cpu['machine_busy_fraction'] * 100:.0f} % busy"

    @property
    def tool_name(self):
        return self.raw["tool"]

    def busy(self):
        return self.cpu["machine_busy_fraction"] >= BUSY


def knee_of(rates):
    best = max(rates.values())
    return min(p for p, r in rates.items() if r >= KNEE * best)


def main():
    a = parse_args()
    steps = a.steps
    step = lambda name: Step(steps, name)
    ncpu = os.cpu_count()
    memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    load_start, load_end = (float(x) for x in a.loadavg.split())
    pg_settings = dict(line.split("=", 1) for line in
                       (steps / "pg_settings.txt").read_text().splitlines())

    pgf = {c: step(f"pgbench_function_{c}") for c in a.pgbench_clients}
    pge = {c: step(f"pgbench_explicit_{c}") for c in a.explicit_clients}
    single = {p: step(f"single_{p}") for p in a.pools}
    batched = {p: step(f"batched_{p}") for p in a.pools}
    health, soldout = step("health"), step("soldout")
    fixed, fixed_health = step("fixed_rate"), step("fixed_rate_health")
    default = a.default_pool

    pgbench_tps = pgf[default].rate if default in pgf else max(s.rate for s in pgf.values())
    single_rates = {p: s.rate for p, s in single.items()}
    batched_rates = {p: s.rate for p, s in batched.items()}
    best_single = max(single_rates, key=single_rates.get)
    knee_single, knee_batched = knee_of(single_rates), knee_of(batched_rates)
    best_single_vs_pgbench = (single_rates[best_single] / pgf[best_single].rate
                              if best_single in pgf else None)

    summary = {
        "mode": a.mode,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cores": ncpu, "memory_gib": memory_gib, "kernel": platform.release(),
            "loadavg_1min_at_start": load_start, "loadavg_1min_at_end": load_end,
            "fdatasync_per_s": a.fsync_rate,
        },
        "pgbench_tps": pgbench_tps,
        "health_rps": health.rate,
        "bookings_per_s": single_rates[default] if default in single_rates else single_rates[best_single],
        "batched_bookings_per_s": batched_rates[default] if default in batched_rates else max(batched_rates.values()),
        "soldout_per_s": soldout.rate,
        "soldout_p99_ms": soldout.raw["p99_ms"],
        "p50_ms_fixed_rate": fixed.raw["p50_ms"],
        "p99_ms_fixed_rate": fixed.raw["p99_ms"],
        "cpu_us_per_booking": batched[default].us_per("service") if default in batched else None,
        "cpu_us_per_booking_one_per_transaction": single[default].us_per("service") if default in single else None,
        "postgres_cpu_us_per_booking": batched[default].us_per("postgres") if default in batched else None,
        "postgres_cpu_us_per_booking_one_per_transaction":
            single[default].us_per("postgres") if default in single else None,
        "cpu_us_per_soldout": soldout.us_per("service"),
        "cpu_us_per_health": health.us_per("service"),
        "bookings_per_transaction_batched":
            batched[default].booked / batched[default].transactions if default in batched else None,
        "pool_sizes": {
            "tried": a.pools,
            "best_one_per_transaction": best_single,
            "knee_one_per_transaction": knee_single,
            "knee_batched": knee_batched,
            "knee_rule": f"smallest pool within {100 - KNEE * 100:.0f} % of the best",
        },
        "pgbench_tps_by_clients": {c: s.rate for c, s in pgf.items()},
        "pgbench_latency_ms_by_clients": {c: s.latency() for c, s in pgf.items()},
        "pgbench_explicit_tps_by_clients": {c: s.rate for c, s in pge.items()},
        "bookings_per_s_by_pool": single_rates,
        "bookings_latency_ms_by_pool": {p: s.latency() for p, s in single.items()},
        "batched_bookings_per_s_by_pool": batched_rates,
        "batched_latency_ms_by_pool": {p: s.latency() for p, s in batched.items()},
        "fixed_rate": {
            "asked_per_s": a.fixed_rate,
            "achieved_per_s": fixed.raw["achieved_rate"],
            "dropped_iterations": fixed.raw["dropped_iterations"],
            "latency_ms": fixed.latency(),
            "health_control_latency_ms": fixed_health.latency(),
            "health_control_dropped_iterations": fixed_health.raw["dropped_iterations"],
        },
        "statuses": {s.name: s.raw["statuses"] for s in
                     [health, soldout, fixed, fixed_health, *single.values(), *batched.values()]},
        "settings": {
            "postgres": pg_settings,
            "postgres_options": a.pg_options,
            "service": {"pool_size_default": default, "batch_max": a.batch_max,
                        "workers": "default (one per core)", "RUST_LOG": "warn"},
            "wrk": f"1 thread, {a.connections} connections, {a.step_seconds:g} s per step, 10 s timeout",
            "pgbench": f"-M prepared, -j min(clients, 2), {a.step_seconds:g} s per step, "
                       "bench/booking_transaction.sql and bench/booking_explicit.sql",
            "k6": f"constant-arrival-rate {a.fixed_rate}/s for {a.fixed_duration} s, "
                  f"{a.fixed_vus} preAllocatedVUs (bench/fixed_rate.js)",
            "data": f"{a.users} users; event 1 never sells out; event 2 sold out; "
                    "bookings truncated and a CHECKPOINT before each step",
        },
    }
    ratios = {
        "bookings_vs_pgbench": summary["bookings_per_s"] / pgbench_tps,
        "batched_vs_pgbench": summary["batched_bookings_per_s"] / pgbench_tps,
        "soldout_vs_health": summary["soldout_per_s"] / summary["health_rps"],
    }
    summary["ratios"] = {k: {"value": round(v, 3), "goal": GOALS[k], "met": v >= GOALS[k]}
                         for k, v in ratios.items()}
    if best_single_vs_pgbench is not None:
        summary["ratios"]["best_pool_bookings_vs_pgbench_same_clients"] = round(best_single_vs_pgbench, 3)

    limits = limit_notes(a, pgf, pge, single, batched, health, soldout, fixed, fixed_health)
    summary["limits"] = limits
    a.summary.parent.mkdir(parents=True, exist_ok=True)
    a.summary.write_text(json.dumps(summary, indent=2) + "\n")

    table = main_table(a, pgf, pge, single, batched, health, soldout, fixed, fixed_health)
    goals = goal_lines(summary, default)
    print()
    print(table)
    print()
    print("\n".join(goals))
    print(f"\npool size (one transaction per booking): best {best_single}, knee {knee_single}; "
          f"batched: knee {knee_batched}")
    print(f"CPU per booking (service): {fmt(summary['cpu_us_per_booking'])} us batched, "
          f"{fmt(summary['cpu_us_per_booking_one_per_transaction'])} us one per transaction")
    print(f"\nsummary: {a.summary}")
    if a.results:
        write_results(Path(a.results), a, summary, table, goals, limits, best_single, knee_single,
                      knee_batched, single, batched)
        print(f"written: {a.results}")


def fmt(value, digits=0):
    return "-" if value is None else f"{value:,.{digits}f}"


def main_table(a, pgf, pge, single, batched, health, soldout, fixed, fixed_health):
    head = (f"{'step':<46} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'svc us':>7} {'pg us':>7} {'busy':>5}")
    rows = [head, "-" * len(head)]

    def row(label, s, rate=None):
        lat = s.latency()
        busy = f"{s.cpu['machine_busy_fraction'] * 100:.0f}%"
        rows.append(f"{label:<46} {fmt(rate if rate is not None else s.rate):>8} "
                    f"{fmt(lat['p50_ms'], 1):>8} {fmt(lat['p95_ms'], 1):>8} {fmt(lat['p99_ms'], 1):>8} "
                    f"{fmt(s.us_per('service')):>7} {fmt(s.us_per('postgres')):>7} {busy:>5}")

    for c, s in pgf.items():
        row(f"pgbench book_seat(), {c} clients", s)
    for c, s in pge.items():
        row(f"pgbench BEGIN..FOR UPDATE..COMMIT, {c} clients", s)
    row(f"wrk GET /health ({a.connections} conns)", health)
    for p, s in single.items():
        row(f"hot event, one per transaction, pool {p}", s)
    for p, s in batched.items():
        row(f"hot event, batched (max {a.batch_max}), pool {p}", s)
    row(f"sold out (409), pool {a.default_pool}, batched", soldout)
    row(f"k6 fixed rate {a.fixed_rate}/s, bookings", fixed, fixed.raw["achieved_rate"])
    row(f"k6 fixed rate {a.fixed_rate}/s, GET /health", fixed_health, fixed_health.raw["achieved_rate"])
    rows.append("per s: 2xx (sold out: 409) answers or pgbench transactions per second; "
                "svc us / pg us: CPU time of the service / of PostgreSQL per answer; "
                "busy: the whole machine's CPU")
    return "\n".join(rows)


def goal_lines(summary, default):
    r = summary["ratios"]
    mark = lambda k: "met" if r[k]["met"] else "NOT met"
    return [
        f"bookings_per_s {summary['bookings_per_s']:,.0f} / pgbench_tps {summary['pgbench_tps']:,.0f} "
        f"(both at {default} connections) = {r['bookings_vs_pgbench']['value']:.2f}  "
        f"(goal >= {GOALS['bookings_vs_pgbench']}: {mark('bookings_vs_pgbench')})",
        f"batched_bookings_per_s {summary['batched_bookings_per_s']:,.0f} / pgbench_tps "
        f"{summary['pgbench_tps']:,.0f} = {r['batched_vs_pgbench']['value']:.2f}  "
        f"(goal >= {GOALS['batched_vs_pgbench']}: {mark('batched_vs_pgbench')})",
        f"soldout_per_s {summary['soldout_per_s']:,.0f} / health_rps {summary['health_rps']:,.0f} = "
        f"{r['soldout_vs_health']['value']:.2f}  (goal >= {GOALS['soldout_vs_health']}: "
        f"{mark('soldout_vs_health')})",
        f"p99_ms_fixed_rate {summary['p99_ms_fixed_rate']:.1f} ms at "
        f"{summary['fixed_rate']['asked_per_s']}/s (p50 {summary['p50_ms_fixed_rate']:.1f} ms)",
    ]


def limit_notes(a, pgf, pge, single, batched, health, soldout, fixed, fixed_health):
    """What limits each number, judged from this run's own measurements."""
    F = a.fsync_rate
    notes = {}
    one = pgf.get(1)
    best_pg = max(pgf.values(), key=lambda s: s.rate)
    serial = (f"a booking keeps the event row locked until its commit has been flushed to the WAL, "
              f"so bookings commit one after the other: at most one flush per booking; this disk "
              f"does {F:,} 8 kB write+fdatasync per second")
    text = (f"fsync + lock: {serial}. pgbench peaks at {best_pg.rate:,.0f}/s")
    if one:
        text += f" and does {one.rate:,.0f}/s with a single client"
    notes["pgbench"] = (text + f"; CPU is not the limit (machine {best_pg.cpu['machine_busy_fraction'] * 100:.0f} % "
                        "busy at the peak). Clients beyond a few only queue on the row lock.")
    if pge:
        c = max(pge)
        fn = pgf.get(c)
        if fn:
            notes["pgbench_explicit"] = (
                f"the same transaction as 5 statements, {c} clients: {pge[c].rate:,.0f}/s vs "
                f"{fn.rate:,.0f}/s for the one-call function: on loopback a round trip costs far less "
                "than the commit's flush, so the lock's extra round trips cost little here (they would "
                "across a network)")
    t = health
    notes["health"] = (f"{verdict(t, 'wrk (one thread)')}. {t.usage()}.")
    for p, s in single.items():
        ref = pgf.get(p)
        versus = f" = {s.rate / ref.rate:.2f} x pgbench at {p} clients" if ref else ""
        closed = a.connections / s.rate if s.rate else 0
        notes[f"single_{p}"] = (
            f"fsync + lock, as pgbench{versus}. {s.usage()}. Latency is closed-loop queueing: "
            f"{a.connections} connections / {s.rate:,.0f} per s = {closed * 1000:.0f} ms (Little's law)")
    for p, s in batched.items():
        per_txn = s.booked / s.transactions if s.transactions else 0
        txn_rate = s.transactions / s.seconds if s.seconds else 0
        reason = verdict(s, "wrk (one thread)")
        if not s.busy() and txn_rate >= 0.5 * F:
            reason = "fsync: one flush per batch"
        notes[f"batched_{p}"] = (
            f"{reason}. {per_txn:,.1f} bookings per transaction, {txn_rate:,.0f} transactions/s "
            f"(one lock and one flush each). {s.usage()}")
    notes["soldout"] = f"{verdict(soldout, 'wrk (one thread)')}. {soldout.usage()}"
    dropped = fixed.raw["dropped_iterations"]
    asked = a.fixed_rate * a.fixed_duration
    k6_note = (f"k6 at {a.fixed_rate}/s: bookings p50/p99 {fixed.raw['p50_ms']:.1f}/{fixed.raw['p99_ms']:.1f} ms, "
               f"GET /health at the same rate {fixed_health.raw['p50_ms']:.1f}/{fixed_health.raw['p99_ms']:.1f} ms")
    if dropped > 0.01 * asked or fixed_health.raw["p99_ms"] >= 0.5 * fixed.raw["p99_ms"]:
        k6_note += ("; the load tool: k6 itself (its p99 on a trivial handler is comparable, or it dropped "
                    f"{dropped} of {asked} iterations)")
    notes["fixed_rate"] = f"{k6_note}. {fixed.usage()}"
    return notes


def verdict(s, tool):
    if s.cores("load_tool") is not None and s.cores("load_tool") >= 0.9:
        return f"load tool: {tool} uses a whole core"
    if s.busy():
        return f"CPU: the {os.cpu_count()} cores are shared by the load tool, the service and PostgreSQL"
    return "neither CPU nor the load tool is saturated: waiting (lock, flush, round trips)"


def write_results(path, a, summary, table, goals, limits, best_single, knee_single, knee_batched,
                  single, batched):
    m = summary["machine"]
    load_note = ""
    if max(m["loadavg_1min_at_start"], m["loadavg_1min_at_end"]) > 1:
        load_note = ("\n**The machine was not quiet**: other work shared its cores during this run "
                     "(load averages above); the CPU-bound figures are lower than on an idle machine.\n")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    pools = "\n".join(
        f"| {p} | {single[p].rate:,.0f} | {single[p].raw['p99_ms']:.1f} | "
        f"{batched[p].rate:,.0f} | {batched[p].raw['p99_ms']:.1f} |" for p in a.pools)
    limit_lines = "\n".join(f"- **{k}**: {v}" for k, v in limits.items())
    settings = summary["settings"]
    pg = ", ".join(f"{k}={v}" for k, v in settings["postgres"].items())
    path.write_text(f"""# Benchmark results

Produced by `bench/run.sh` (full mode) at commit `{commit}` on {summary['date']}.
Machine: {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; load average (1 min)
{m['loadavg_1min_at_start']} at the start and {m['loadavg_1min_at_end']} at the end of the run.
This disk: {m['fdatasync_per_s']:,} sequential 8 kB write+fdatasync per second.
{load_note}
One throwaway PostgreSQL cluster for every step, real durability: {pg}.
The service, PostgreSQL, and the load tool (wrk, pgbench or k6) share the same machine and its
cores. Settings: wrk {settings['wrk']}; pgbench {settings['pgbench']}; k6 {settings['k6']};
{settings['data']}.

## Goals (issue 6)

```
{chr(10).join(goals)}
```

## All steps

```
{table}
```

## Pool size

Hot event, {a.connections} concurrent buyers, bookings/s and p99 (ms, closed loop):

| pool | one per transaction | p99 | batched | p99 |
|-----:|-----:|-----:|-----:|-----:|
{pools}

Knee ({summary['pool_sizes']['knee_rule']}): **{knee_single}** one transaction per booking
(best {best_single}), **{knee_batched}** batched. Batching books a hot event through one
connection at a time (one batch in flight per event), so the pool size hardly matters to it.

## What limits each number

{limit_lines}

CPU per booking, service: {fmt(summary['cpu_us_per_booking'])} us batched,
{fmt(summary['cpu_us_per_booking_one_per_transaction'])} us one per transaction; PostgreSQL:
{fmt(summary['postgres_cpu_us_per_booking'])} us batched,
{fmt(summary['postgres_cpu_us_per_booking_one_per_transaction'])} us one per transaction.

Raw figures: `target/bench/summary.json` and `target/bench/steps/` of the run; re-run with
`bench/run.sh` (about {len(a.pools) * 2 + len(a.pgbench_clients) + len(a.explicit_clients) + 2}
steps of {a.step_seconds:g} s plus two k6 runs of {a.fixed_duration} s).
""")


if __name__ == "__main__":
    main()
