"""bench/run.sh's last step: the step files (target/bench/steps/*.json, written
by bench/probe.py) become the printed table, target/bench/summary.json, the
charts (bench/charts.py, into --charts) and, in full mode, bench/RESULTS.md,
which shows the charts. Every figure comes from the one run."""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

import charts
from probe import good_answers

GOALS = {  # issue 6: figure / reference >= goal, same run, same machine
    "bookings_vs_pgbench": 0.8,
    "batched_vs_pgbench": 3.0,
    "soldout_vs_health": 0.5,
}
# issue 14, at each connection count (256 and the crowd's 10,000): the
# sold-out path against GET /health on the same service, one after the other.
CROWD_GOALS = {"rps_ratio_min": 0.9, "p99_ratio_max": 1.5}
# issue 22: each kind of request a real sale sends (step name: what it is)
# against plain batched bookings at the default pool, same run; plain batched
# against the Redis Lua reference with every write fsynced.
KINDS = {"keyed": "keyed (Idempotency-Key)", "held": "held (POST /holds)",
         "admitted": "admitted (pass, room on)"}
KIND_GOAL = 0.9
REDIS = {"redis_durable": "appendfsync always", "redis_memory": "no persistence"}
BATCHED_VS_REDIS_DURABLE_GOAL = 0.65
# issue 22: one booking per transaction against pgbench running the same
# function at the same connections, from pairs of steps run back to back
# (paired_single_N, paired_pgbench_N): the median of the pairs' ratios.
SINGLE_VS_PGBENCH_GOAL = 0.95
BUSY = 0.85  # machine CPU busy fraction from which a step counts as CPU-bound
KNEE = 0.95  # the knee: the smallest pool within 5 % of the best


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("steps", type=Path)
    parser.add_argument("summary", type=Path)
    parser.add_argument("mode", choices=["quick", "full"])
    ints = lambda text: [int(x) for x in text.split()]
    for name in ("pools", "pgbench-clients", "explicit-clients"):
        parser.add_argument(f"--{name}", type=ints, required=True)
    # --crowd: open connections of the crowd steps (health_N, soldout_N).
    for name in ("default-pool", "batch-max", "single-pairs", "connections", "crowd", "fair-capacity", "fixed-rate",
                 "fixed-duration", "fixed-vus", "fsync-rate", "users"):
        parser.add_argument(f"--{name}", type=int, required=True)
    for name in ("crowd-seconds", "step-seconds", "token-verify-us"):
        parser.add_argument(f"--{name}", type=float, required=True)
    for name in ("pg-options", "loadavg"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--results", default="")
    parser.add_argument("--charts", type=Path, required=True,
                        help="directory for the charts (beside --results in full mode)")
    return parser.parse_args()


class Step:
    """One step's figures, from steps/NAME.json."""

    def __init__(self, steps, name, seats=1):
        self.name = name
        self.seats = seats  # pgbench: seats booked per transaction
        self.raw = json.loads((steps / f"{name}.json").read_text())
        self.cpu = self.raw["cpu_s"]
        self.seconds = self.raw["seconds"]
        self.tool = self.raw["tool"]
        self.wal = self.raw.get("wal")

    @property
    def good(self):
        return good_answers(self.raw) * self.seats

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

    def db_delta(self, key):
        """How much the database's `key` (bench/run.sh's db_state) grew during the step."""
        return self.raw["db_after"][key] - self.raw["db_before"][key] if "db_after" in self.raw else None

    def other_cores(self):
        """CPU used by processes outside this run (other work on the machine)."""
        ours = sum(self.cores(who) or 0 for who in ("service", "postgres", "load_tool"))
        return max(0.0, self.cpu["machine_busy_fraction"] * os.cpu_count() - ours)

    def usage(self):
        parts = [f"{label} {self.cores(who):.2f}" for who, label in
                 (("service", "service"), ("postgres", "PostgreSQL"), ("load_tool", self.tool))
                 if self.cores(who) is not None]
        return (f"{' + '.join(parts)} + other processes {self.other_cores():.2f} cores; "
                f"machine {self.cpu['machine_busy_fraction'] * 100:.0f} % busy")

    def busy(self):
        return self.cpu["machine_busy_fraction"] >= BUSY

    def flushes(self):
        w = self.wal
        if not w or not w["syncs"]:
            return "no WAL flushes"
        return (f"{w['syncs_per_s']:,.0f} WAL flushes/s of {w['avg_sync_ms']:.2f} ms, "
                f"a flush under way {w['sync_busy_fraction'] * 100:.0f} % of the time")


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
    pgb = Step(steps, f"pgbench_batch_{a.batch_max}", seats=a.batch_max)
    pge = {c: step(f"pgbench_explicit_{c}") for c in a.explicit_clients}
    single = {p: step(f"single_{p}") for p in a.pools}
    batched = {p: step(f"batched_{p}") for p in a.pools}
    health, soldout = step("health"), step("soldout")
    fixed, fixed_health = step("fixed_rate"), step("fixed_rate_health")
    crowd = {a.connections: (health, soldout),
             a.crowd: (step(f"health_{a.crowd}"), step(f"soldout_{a.crowd}"))}
    fairness = json.loads((steps / "fairness.json").read_text())
    default = a.default_pool
    kinds = {k: step(k) for k in KINDS}
    redis = {k: step(k) for k in REDIS}
    pairs = [(step(f"paired_single_{n}"), step(f"paired_pgbench_{n}")) for n in range(1, a.single_pairs + 1)]

    pgbench_tps = pgf[default].rate if default in pgf else max(s.rate for s in pgf.values())
    single_rates = {p: s.rate for p, s in single.items()}
    batched_rates = {p: s.rate for p, s in batched.items()}
    best_single = max(single_rates, key=single_rates.get)
    knee_single = knee_of(single_rates)
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
        "token_verify_us": a.token_verify_us,
        "cpu_us_per_soldout": soldout.us_per("service"),
        "cpu_us_per_health": health.us_per("service"),
        "bookings_per_transaction_batched":
            batched[default].db_delta("bookings") / batched[default].db_delta("transactions") if default in batched else None,
        "pool_sizes": {
            "tried": a.pools,
            "best_one_per_transaction": best_single,
            "knee_one_per_transaction": knee_single,
            "batched": "not a factor: one connection per hot event",
            "batched_range_per_s": [min(batched_rates.values()), max(batched_rates.values())],
            "knee_rule": f"smallest pool within {100 - KNEE * 100:.0f} % of the best",
        },
        "crowd": {str(c): crowd_figures(h, s) for c, (h, s) in crowd.items()},
        "fairness": fairness,
        "pgbench_tps_by_clients": {c: s.rate for c, s in pgf.items()},
        "pgbench_latency_ms_by_clients": {c: s.latency() for c, s in pgf.items()},
        "pgbench_explicit_tps_by_clients": {c: s.rate for c, s in pge.items()},
        "pgbench_batched_bookings_per_s": pgb.rate,
        "wal_by_step": {s.name: s.wal for s in [*pgf.values(), *pge.values(), pgb,
                                                 *single.values(), *batched.values(), *kinds.values(),
                                                 soldout, fixed]},
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
        "other_processes_cores_by_step": {s.name: round(s.other_cores(), 3) for s in
                                          [*pgf.values(), *pge.values(), pgb, health, *single.values(),
                                           *batched.values(), soldout, fixed, fixed_health,
                                           *crowd[a.crowd]]},
        "statuses": {s.name: s.raw["statuses"] for s in
                     [health, soldout, *crowd[a.crowd], fixed, fixed_health, *single.values(),
                      *batched.values(), *kinds.values()]},
        "settings": {
            "postgres": pg_settings,
            "postgres_options": a.pg_options,
            "service": {"pool_size_default": default, "batch_max": a.batch_max,
                        "workers": "default (one per core)", "RUST_LOG": "warn"},
            "wrk": f"1 thread, {a.connections} connections, {a.step_seconds:g} s per step "
                   f"({a.crowd} connections for {a.crowd_seconds:g} s in the crowd steps), 10 s timeout",
            "pgbench": f"-M prepared, -j min(clients, 2), {a.step_seconds:g} s per step, "
                       "bench/booking_transaction.sql and bench/booking_explicit.sql",
            "redis": f"redis-benchmark, {a.connections} clients, about {a.step_seconds:g} s per persistence "
                     "setting, one EVALSHA of bench/redis_booking.lua per request with a random new key",
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
    summary["ratios"]["batched_vs_pgbench_book_seats"] = round(summary["batched_bookings_per_s"] / pgb.rate, 3)
    if default in batched:
        seat_us = batched[default].us_per("service") + batched[default].us_per("postgres")
        summary["ratios"]["token_verify_share_of_batched_booking_cpu"] = round(a.token_verify_us / seat_us, 4)
    if best_single_vs_pgbench is not None:
        summary["ratios"]["best_pool_bookings_vs_pgbench_same_clients"] = round(best_single_vs_pgbench, 3)

    limits = limit_notes(a, pgf, pge, pgb, single, batched, health, soldout, fixed, fixed_health)
    for s in crowd[a.crowd]:
        limits[s.name] = f"{verdict(s)}. {s.usage()}"
    summary["limits"] = limits
    summary["request_kinds"] = kind_figures(batched[default], kinds, redis)
    summary["single_vs_pgbench_paired"] = paired_figures(pairs, default)
    a.summary.parent.mkdir(parents=True, exist_ok=True)
    a.summary.write_text(json.dumps(summary, indent=2) + "\n")

    table = main_table(a, pgf, pge, pgb, single, batched, health, soldout, fixed, fixed_health, crowd, kinds, redis,
                       pairs)
    goals = goal_lines(summary, default)
    print()
    print(table)
    print()
    print("\n".join(goals))
    print(f"\npool size (one transaction per booking): best {best_single}, knee {knee_single}; "
          "batched: {:,.0f} to {:,.0f}/s ".format(*summary["pool_sizes"]["batched_range_per_s"]) +
          "whatever the pool (one connection per hot event)")
    print(f"CPU per booking (service): {fmt(summary['cpu_us_per_booking'])} us batched, "
          f"{fmt(summary['cpu_us_per_booking_one_per_transaction'])} us one per transaction")
    if "token_verify_share_of_batched_booking_cpu" in summary["ratios"]:
        share = summary["ratios"]["token_verify_share_of_batched_booking_cpu"]
        print(f"token verification: {a.token_verify_us:.2f} us a booking (the seed's figure), "
              f"{100 * share:.1f} % of a batched booking's CPU (service + PostgreSQL; issue 21: < 5 %)")
    print(f"\nsummary: {a.summary}")
    figures = chart_figures(a, pgf, single, batched, health, soldout, fixed, fixed_health, crowd, kinds, redis)
    drawn = charts.draw(a.charts, figures)
    print(f"charts: {', '.join(str(a.charts / name) for _, name in drawn)}")
    if a.results:
        write_results(Path(a.results), a, summary, table, goals, limits, best_single, knee_single,
                      single, batched, drawn)
        print(f"written: {a.results}")


def crowd_figures(health, soldout):
    """The sold-out path against GET /health at one connection count."""
    rps = soldout.rate / health.rate if health.rate else 0.0
    p99 = soldout.raw["p99_ms"] / health.raw["p99_ms"] if health.raw["p99_ms"] else float("inf")
    return {
        "health_rps": health.rate, "health_p50_ms": health.raw["p50_ms"],
        "health_p99_ms": health.raw["p99_ms"],
        "soldout_rps": soldout.rate, "soldout_p50_ms": soldout.raw["p50_ms"],
        "soldout_p99_ms": soldout.raw["p99_ms"],
        "rps_ratio": round(rps, 3), "p99_ratio": round(p99, 3),
        "rps_met": rps >= CROWD_GOALS["rps_ratio_min"],
        "p99_met": p99 <= CROWD_GOALS["p99_ratio_max"],
        "socket_errors": {"health": health.raw.get("socket_errors", 0),
                          "soldout": soldout.raw.get("socket_errors", 0)},
    }


def chart_figures(a, pgf, single, batched, health, soldout, fixed, fixed_health, crowd, kinds, redis):
    """The figures bench/charts.py draws, from this run's steps."""
    def lat(label, s):
        return (label, s.raw["p50_ms"], s.raw["p95_ms"], s.raw["p99_ms"])

    latency = [lat(f"pgbench take_seats() for one, {clients(c)}", s) for c, s in pgf.items()]
    latency.append(lat("GET /health", health))
    latency += [lat(f"one per transaction, pool {p}", s) for p, s in single.items()]
    latency += [lat(f"batched, pool {p}", s) for p, s in batched.items()]
    latency += [lat(KINDS[k], s) for k, s in kinds.items()]
    latency += [lat(f"Redis Lua, {REDIS[k]}", s) for k, s in redis.items()]
    crowd_health, crowd_soldout = crowd[a.crowd]
    latency += [lat("sold out (409)", soldout), lat(f"GET /health, {a.crowd} conns", crowd_health),
                lat(f"sold out (409), {a.crowd} conns", crowd_soldout),
                lat(f"k6 {a.fixed_rate}/s bookings", fixed),
                lat(f"k6 {a.fixed_rate}/s GET /health", fixed_health)]
    cpu = [(f"one per transaction, pool {p}", s) for p, s in single.items()]
    cpu += [(f"batched, pool {p}", s) for p, s in batched.items()]
    cpu += [(KINDS[k], s) for k, s in kinds.items()]
    cpu += [("sold out (409)", soldout), ("GET /health", health), (f"k6 {a.fixed_rate}/s bookings", fixed)]
    return {
        "throughput": {
            "pools": a.pools,
            "single": [single[p].rate for p in a.pools],
            "batched": [batched[p].rate for p in a.pools],
            "pgbench_clients": list(pgf),
            "pgbench": [s.rate for s in pgf.values()],
        },
        "latency": latency,
        "soldout": {
            "health_rps": health.rate, "health_p99_ms": health.raw["p99_ms"],
            "soldout_rps": soldout.rate, "soldout_p99_ms": soldout.raw["p99_ms"],
            "goal": GOALS["soldout_vs_health"],
        },
        "cpu": [(label, s.us_per("service") or 0, s.us_per("postgres") or 0) for label, s in cpu],
    }


def clients(count):
    return f"{count} client{'s' if count > 1 else ''}"


def fmt(value, digits=0):
    return "-" if value is None else f"{value:,.{digits}f}"


def main_table(a, pgf, pge, pgb, single, batched, health, soldout, fixed, fixed_health, crowd, kinds, redis,
               pairs):
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
        row(f"pgbench take_seats() for one, {clients(c)}", s)
    for c, s in pge.items():
        row(f"pgbench BEGIN..FOR UPDATE..COMMIT, {clients(c)}", s)
    row(f"pgbench take_seats() x{a.batch_max}, 1 client", pgb)
    row(f"wrk GET /health ({a.connections} conns)", health)
    for p, s in single.items():
        row(f"hot event, one per transaction, pool {p}", s)
    for p, s in batched.items():
        row(f"hot event, batched (max {a.batch_max}), pool {p}", s)
    for n, (single_step, pgbench_step) in enumerate(pairs, 1):
        row(f"pair {n}: pgbench take_seats() for one, {clients(a.default_pool)}", pgbench_step)
        row(f"pair {n}: hot event, one per transaction, pool {a.default_pool}", single_step)
    for k, s in kinds.items():
        row(f"hot event, {KINDS[k]}, pool {a.default_pool}", s)
    for k, s in redis.items():
        row(f"Redis Lua, {REDIS[k]} (redis-benchmark)", s)
    row(f"sold out (409), pool {a.default_pool}, batched ({a.connections} conns)", soldout)
    crowd_health, crowd_soldout = crowd[a.crowd]
    row(f"wrk GET /health ({a.crowd} conns)", crowd_health)
    row(f"sold out (409), pool {a.default_pool}, batched ({a.crowd} conns)", crowd_soldout)
    row(f"k6 fixed rate {a.fixed_rate}/s, bookings", fixed, fixed.raw["achieved_rate"])
    row(f"k6 fixed rate {a.fixed_rate}/s, GET /health", fixed_health, fixed_health.raw["achieved_rate"])
    rows.append("per s: 2xx answers (sold out: 409s), or pgbench's seats booked, per second; p50..p99:")
    rows.append("latency per request (pgbench: per transaction); svc us / pg us: CPU time of the service /")
    rows.append("of PostgreSQL per answer or seat (Redis: svc us is redis-server's); busy: the whole")
    rows.append("machine's CPU (all processes)")
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
        *crowd_lines(summary["crowd"]),
        paired_line(summary["single_vs_pgbench_paired"]),
        *kind_lines(summary["request_kinds"]),
        summary["fairness"]["summary"],
    ]


def kind_figures(batched, kinds, redis):
    """Issue 22's ratios: every kind of request, and the Redis reference, against plain batched."""
    figures = {"batched_per_s": batched.rate}
    for k, s in kinds.items():
        ratio = s.rate / batched.rate if batched.rate else 0.0
        figures[k] = {"per_s": s.rate, "p99_ms": s.raw["p99_ms"], "vs_batched": round(ratio, 3),
                      "goal": KIND_GOAL, "met": ratio >= KIND_GOAL,
                      "lower_bound": bool(s.raw.get("passes_ran_out"))}
    for k, s in redis.items():
        figures[k] = {"per_s": s.rate, "p50_ms": s.raw["p50_ms"], "p99_ms": s.raw["p99_ms"],
                      "batched_vs": round(batched.rate / s.rate, 3) if s.rate else None}
    figures["redis_durable"].update(goal=BATCHED_VS_REDIS_DURABLE_GOAL,
                                    met=(figures["redis_durable"]["batched_vs"] or 0) >= BATCHED_VS_REDIS_DURABLE_GOAL)
    return figures


def paired_figures(pairs, default):
    """Issue 22's single path: each pair's one-per-transaction and pgbench rates, and the median ratio."""
    ratios = [single.rate / pgbench.rate if pgbench.rate else 0.0 for single, pgbench in pairs]
    median = statistics.median(ratios)
    return {"connections": default,
            "pairs": [{"single_per_s": single.rate, "pgbench_per_s": pgbench.rate, "ratio": round(ratio, 3)}
                      for (single, pgbench), ratio in zip(pairs, ratios)],
            "median": round(median, 3), "goal": SINGLE_VS_PGBENCH_GOAL, "met": median >= SINGLE_VS_PGBENCH_GOAL}


def paired_line(figures):
    each = ", ".join(f"{p['single_per_s']:,.0f} / {p['pgbench_per_s']:,.0f} = {p['ratio']:.2f}"
                     for p in figures["pairs"])
    return (f"one per transaction / pgbench, {figures['connections']} connections, back to back: {each}; "
            f"median {figures['median']:.2f} (goal >= {figures['goal']}: "
            f"{'met' if figures['met'] else 'NOT met'})")


def kind_lines(figures):
    met = lambda ok: "met" if ok else "NOT met"
    lines = [f"{k} {f['per_s']:,.0f}/s{' (passes ran out: at least)' if f['lower_bound'] else ''} / batched "
             f"{figures['batched_per_s']:,.0f}/s = {f['vs_batched']:.2f}  (goal >= {f['goal']}: {met(f['met'])})"
             for k, f in figures.items() if k in KINDS]
    for k, label in REDIS.items():
        f = figures[k]
        goal = f" (goal >= {f['goal']}: {met(f['met'])})" if "goal" in f else ""
        lines.append(f"batched {figures['batched_per_s']:,.0f}/s / Redis Lua {label} {f['per_s']:,.0f}/s "
                     f"(p50 {f['p50_ms']:.1f}, p99 {f['p99_ms']:.1f} ms) = {f['batched_vs']:.2f}{goal}")
    return lines


def crowd_lines(crowd):
    """Issue 14's goals: the sold-out path against GET /health, per connection count."""
    lines = []
    for conns, c in crowd.items():
        met = lambda ok: "met" if ok else "NOT met"
        lines.append(
            f"{int(conns):,} conns: soldout {c['soldout_rps']:,.0f}/s (p50 {c['soldout_p50_ms']:.1f}, "
            f"p99 {c['soldout_p99_ms']:.1f} ms) / health {c['health_rps']:,.0f}/s (p50 "
            f"{c['health_p50_ms']:.1f}, p99 {c['health_p99_ms']:.1f} ms) = {c['rps_ratio']:.2f} "
            f"(goal >= {CROWD_GOALS['rps_ratio_min']}: {met(c['rps_met'])}), p99 x {c['p99_ratio']:.2f} "
            f"(goal <= {CROWD_GOALS['p99_ratio_max']}: {met(c['p99_met'])})")
    return lines


def limit_notes(a, pgf, pge, pgb, single, batched, health, soldout, fixed, fixed_health):
    """What limits each number, judged from this run's own measurements: the
    load tool's CPU, the machine's CPU, the WAL flushes (pg_stat_wal), and for
    one-lock-per-booking steps how long each booking holds the event's lock."""
    notes = {}
    for c, s in pgf.items():
        notes[s.name] = serial_note(s, f"pgbench, {clients(c)}")
    for c, s in pge.items():
        fn = pgf.get(c)
        versus = f" ({s.rate / fn.rate:.2f} x the one-call function)" if fn else ""
        notes[s.name] = serial_note(s, "statements sent one by one, the lock held across five round trips"
                                    + versus.replace(" (", ": ").rstrip(")"))
    notes[pgb.name] = batch_note(pgb, pgb.rate, a.batch_max)
    notes["health"] = f"{verdict(health)}. {health.usage()}"
    for p, s in single.items():
        ref = pgf.get(p)
        versus = f"{s.rate / ref.rate:.2f} x pgbench at {p} clients; " if ref else ""
        closed = a.connections / s.rate if s.rate else 0
        notes[s.name] = (serial_note(s, versus.rstrip("; ")) +
                         f". p50 is closed-loop queueing: {a.connections} connections / "
                         f"{s.rate:,.0f} per s = {closed * 1000:.0f} ms (Little's law)")
    for p, s in batched.items():
        per_txn = s.db_delta("bookings") / s.db_delta("transactions") if s.db_delta("transactions") else 0
        notes[s.name] = batch_note(s, s.rate, per_txn) + (
            f"; {s.rate / pgb.rate:.2f} x pgbench's take_seats() x{a.batch_max}")
    notes["soldout"] = f"{verdict(soldout)}. {soldout.usage()}"
    dropped = fixed.raw["dropped_iterations"]
    asked = a.fixed_rate * a.fixed_duration
    k6_note = (f"asked {a.fixed_rate}/s, got {fixed.raw['achieved_rate']:,.0f}/s; bookings p50/p99 "
               f"{fixed.raw['p50_ms']:.1f}/{fixed.raw['p99_ms']:.1f} ms, GET /health at the same rate "
               f"{fixed_health.raw['p50_ms']:.1f}/{fixed_health.raw['p99_ms']:.1f} ms")
    causes = []
    if fixed_health.raw["p99_ms"] >= 0.5 * fixed.raw["p99_ms"]:
        causes.append("load tool: k6's own p99 on a trivial handler at this rate is comparable")
    if dropped > 0.01 * asked:
        causes.append(f"k6 could not keep the rate: it dropped {dropped} of {asked} iterations")
    causes.append(verdict(fixed))
    notes["fixed_rate"] = f"{'; '.join(causes)}. {k6_note}. {fixed.usage()}"
    return notes


def verdict(s):
    tool = s.cores("load_tool")
    if tool is not None and tool >= 0.9:
        return f"load tool: {s.tool} uses a whole core"
    if s.busy():
        return (f"CPU: the machine's {os.cpu_count()} cores are busy, shared by the load tool, "
                "the service and PostgreSQL")
    return "neither the CPU nor the load tool is saturated"


def serial_note(s, what):
    """A step where every booking takes the event's lock in turn: each one
    holds it for 1/rate; the WAL flush of its commit is part of that time."""
    hold_us = 1e6 / s.rate if s.rate else 0
    w = s.wal
    flush_us = w["avg_sync_ms"] * 1000 if w and w["avg_sync_ms"] else 0
    pg_us = s.us_per("postgres") or 0
    if flush_us >= 0.5 * hold_us:
        why = "fsync: the lock is held until the commit's WAL flush, and the flush is most of it"
    elif s.busy():
        why = ("CPU: the machine is busy, and the lock holder competes for a core with the "
               "waiters, the service and the load tool")
    else:
        why = "the row lock: bookings take the event's lock one after the other"
    tail = f" ({what})" if what else ""
    return (f"{why}{tail}. Each booking holds the lock about {hold_us:,.0f} us: WAL flush "
            f"{flush_us:,.0f} us, PostgreSQL CPU {pg_us:,.0f} us per booking in all backends; "
            f"{s.flushes()}; {s.usage()}")


def batch_note(s, seats_per_s, per_txn):
    w = s.wal
    txn_per_s = seats_per_s / per_txn if per_txn else 0
    batch_ms = 1000 / txn_per_s if txn_per_s else 0
    pg_ms = (s.cpu["postgres"] or 0) / s.seconds / txn_per_s * 1000 if txn_per_s else 0
    flush_ms = w["avg_sync_ms"] if w and w["avg_sync_ms"] else 0
    if s.cores("load_tool") is not None and s.cores("load_tool") >= 0.9:
        why = f"load tool: {s.tool} uses a whole core"
    elif pg_ms >= 0.6 * batch_ms:
        why = ("PostgreSQL CPU in one backend: an event's batches run one at a time, and "
               "take_seats() spends most of each batch computing, not waiting")
    elif flush_ms >= 0.5 * batch_ms:
        why = "fsync: one WAL flush per batch, and the flush is most of each batch's time"
    elif s.busy():
        why = "CPU: the machine's cores are busy"
    else:
        why = "neither CPU nor fsync is saturated: waiting between batches"
    return (f"{why}. {per_txn:,.1f} seats per transaction, {txn_per_s:,.0f} transactions/s, "
            f"{batch_ms:.1f} ms each: PostgreSQL CPU {pg_ms:.1f} ms, WAL flush {flush_ms:.2f} ms; "
            f"{s.usage()}")


def write_results(path, a, summary, table, goals, limits, best_single, knee_single,
                  single, batched, drawn):
    m = summary["machine"]
    batched_low, batched_high = summary["pool_sizes"]["batched_range_per_s"]
    step_count = (len(a.pools) * 2 + len(a.pgbench_clients) + len(a.explicit_clients) + 5 + len(KINDS) + len(REDIS)
                  + 2 * a.single_pairs)
    minutes = ((step_count - 2) * (a.step_seconds + 4) + 2 * (a.crowd_seconds + 4)
               + 2 * (a.fixed_duration + 5) + 20 + 60) / 60
    others = max(summary["other_processes_cores_by_step"].values())
    load_note = (f"Other processes on the machine used at most {others:.2f} cores during any step "
                 "(measured from /proc/stat minus this run's processes).\n")
    # The load average lags by minutes (it still counts a run that just ended);
    # the CPU other processes used during the steps is the direct measure.
    if others > 0.2:
        load_note = ("\n**The machine was not quiet**: other work shared its cores during this run; "
                     "the CPU-bound figures are lower than on an idle machine. " + load_note)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    pools = "\n".join(
        f"| {p} | {single[p].rate:,.0f} | {single[p].raw['p99_ms']:.1f} | "
        f"{batched[p].rate:,.0f} | {batched[p].raw['p99_ms']:.1f} |" for p in a.pools)
    limit_lines = "\n".join(f"- **{k}**: {v}" for k, v in limits.items())
    settings = summary["settings"]
    relative = Path(os.path.relpath(a.charts, path.parent))
    chart_lines = "\n\n".join(f"![{title}]({relative / name})" for title, name in drawn)
    pg = ", ".join(f"{k}={v}" for k, v in settings["postgres"].items())
    path.write_text(f"""# Benchmark results

Produced by `bench/run.sh` (full mode) at commit `{commit}` on {summary['date']}.
Machine: {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; load average (1 min)
{m['loadavg_1min_at_start']} at the start of the run ({m['loadavg_1min_at_end']} at its end, this run included).
This disk: {m['fdatasync_per_s']:,} sequential 8 kB write+fdatasync per second.
{load_note}
One throwaway PostgreSQL cluster for every step, real durability: {pg}.
The service, PostgreSQL, and the load tool (wrk, pgbench or k6) share the same machine and its
cores. Settings: wrk {settings['wrk']}; pgbench {settings['pgbench']}; k6 {settings['k6']};
Redis {settings['redis']};
{settings['data']}.

## Charts

{chart_lines}

Drawn by `bench/charts.py` with gnuplot from this run's figures; each chart's gnuplot script
(data inline) is beside it in `{relative}/`.

## Goals (issues 6, 14 and 22)

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

Knee ({summary['pool_sizes']['knee_rule']}), one transaction per booking: **{knee_single}**
(best {best_single}). More connections than that only add waiters on the event's row lock, and
every waiter costs PostgreSQL CPU on each hand-over of the lock (see the PostgreSQL CPU per
booking growing with the pool below). Batched: the pool size is not a factor. Batching books a
hot event through one connection at a time (one batch in flight per event), so the batched
figures ({batched_low:,.0f} to {batched_high:,.0f} bookings/s) vary from step to step without
following the pool size: a run that tried the pools in another order ranked them differently.

## What limits each number

{limit_lines}

CPU per booking, service: {fmt(summary['cpu_us_per_booking'])} us batched,
{fmt(summary['cpu_us_per_booking_one_per_transaction'])} us one per transaction; PostgreSQL:
{fmt(summary['postgres_cpu_us_per_booking'])} us batched,
{fmt(summary['postgres_cpu_us_per_booking_one_per_transaction'])} us one per transaction.

Raw figures: `target/bench/summary.json` and `target/bench/steps/` of the run. Re-run with
`bench/run.sh`: {step_count} steps of {a.step_seconds:g} s, two k6 runs of {a.fixed_duration} s and the
fairness sale, about {minutes:.0f} minutes.
""")


if __name__ == "__main__":
    main()
