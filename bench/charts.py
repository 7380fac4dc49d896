"""The benchmark's charts: the one place that draws. bench/report.py gathers
the figures of one run and calls draw(); each chart is an SVG written by
gnuplot (Debian's gnuplot-nox; bench/run.sh installs it), with its data
inline in the gnuplot script, which is kept beside it (NAME.gp) so a chart
can be redrawn or restyled by hand: gnuplot NAME.gp > NAME.svg."""

import subprocess
from pathlib import Path

TERMINAL = "set terminal svg size {width},{height} dynamic noenhanced font 'sans,12' background '#ffffff'"
COMMON = """set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
"""
COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"]


def draw(out_dir, figures):
    """figures: the dict report.py builds (see there). Writes out_dir/*.svg
    and *.gp; returns [(title, file name)] in the order to show them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Bar charts get wider with their number of bars; full mode has ~18 steps.
    bars = lambda rows: max(860, 64 * len(rows) + 240)
    charts = [
        ("Bookings per second by pool size", "throughput_by_pool", throughput(figures), 860),
        ("Latency percentiles per step", "latency_by_step", latency(figures), bars(figures["latency"])),
        ("The sold-out path against GET /health", "soldout_vs_health", soldout(figures), 860),
        ("CPU per booking", "cpu_per_booking", cpu(figures), bars(figures["cpu"])),
    ]
    drawn = []
    for title, name, body, width in charts:
        terminal = TERMINAL.format(width=width, height=500)
        script = f"{terminal}\n{COMMON}set title '{title}'\n{body}"
        (out_dir / f"{name}.gp").write_text(script)
        result = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not result.stdout.startswith("<?xml"):
            raise RuntimeError(f"gnuplot failed on {name}.gp: {result.stderr.strip()}")
        (out_dir / f"{name}.svg").write_text(result.stdout)
        drawn.append((title, f"{name}.svg"))
    return drawn


def block(name, rows):
    """A gnuplot inline data block; labels are quoted, numbers as they are."""
    lines = [" ".join(f'"{v}"' if isinstance(v, str) else ("NaN" if v is None else f"{v:.3f}")
                      for v in row) for row in rows]
    return f"${name} << EOD\n" + "\n".join(lines) + "\nEOD\n"


def throughput(f):
    """One line per booking path over the pool size; pgbench's take_seats()
    over its client count as the database's own ceiling."""
    t = f["throughput"]
    rows = [(p, s, b) for p, s, b in zip(t["pools"], t["single"], t["batched"])]
    pg = list(zip(t["pgbench_clients"], t["pgbench"]))
    xs = sorted({x for x, *_ in rows} | {c for c, _ in pg})
    return (block("service", rows) + block("pgbench", pg) + f"""
set xlabel 'database connections (service pool size; pgbench clients)'
set ylabel 'bookings per second'
set logscale x 2
set xrange [{xs[0] / 1.4}:{xs[-1] * 1.4}]
set xtics ({", ".join(str(x) for x in xs)})
set yrange [0:*]
plot $service using 1:3 with linespoints lw 2 pt 7 lc rgb '{COLORS[0]}' title 'service, batched', \\
     $service using 1:2 with linespoints lw 2 pt 5 lc rgb '{COLORS[1]}' title 'service, one transaction per booking', \\
     $pgbench using 1:2 with linespoints lw 2 dt 2 pt 9 lc rgb '{COLORS[2]}' title 'pgbench take_seats() (no service)'
""")


def latency(f):
    """p50, p95, p99 of every step, clustered bars on a log scale."""
    rows = [(label, p50, p95, p99) for label, p50, p95, p99 in f["latency"]]
    return block("latency", rows) + f"""
set ylabel 'milliseconds (log scale)'
set logscale y
set yrange [0.1:*]
set style data histogram
set style histogram clustered gap 1
set boxwidth 0.9
set xtics rotate by -35 left font ',10'
set bmargin 9
set rmargin 12
plot $latency using 2:xtic(1) lc rgb '{COLORS[0]}' title 'p50', \\
     '' using 3 lc rgb '{COLORS[1]}' title 'p95', \\
     '' using 4 lc rgb '{COLORS[3]}' title 'p99'
"""


def soldout(f):
    """Answers per second of the sold-out path and of GET /health, with the
    goal (half of /health) drawn as a line, and their p99 on the right axis."""
    s = f["soldout"]
    rows = [("GET /health", s["health_rps"], s["health_p99_ms"]),
            ("POST /bookings, sold out (409)", s["soldout_rps"], s["soldout_p99_ms"])]
    goal = s["goal"] * s["health_rps"]
    return block("rates", rows) + f"""
set ylabel 'answers per second'
set y2label 'p99 latency, ms'
set yrange [0:*]
set y2range [0:*]
set y2tics
set style data histogram
set style histogram clustered gap 1
set boxwidth 0.8
set arrow from graph 0, first {goal:.1f} to graph 1, first {goal:.1f} nohead dt 2 lw 2 lc rgb '{COLORS[3]}'
set label 'goal: {s["goal"]} x /health' at graph 0.02, first {goal:.1f} offset 0,0.7 tc rgb '{COLORS[3]}'
plot $rates using 2:xtic(1) lc rgb '{COLORS[0]}' title 'answers per second', \\
     '' using 3 axes x1y2 lc rgb '{COLORS[1]}' title 'p99 ms (right axis)'
"""


def cpu(f):
    """Microseconds of CPU per answer, the service and PostgreSQL stacked."""
    rows = [(label, svc, pg) for label, svc, pg in f["cpu"]]
    return block("cpu", rows) + f"""
set ylabel 'CPU microseconds per answer'
set yrange [0:*]
set style data histogram
set style histogram rowstacked
set boxwidth 0.7
set xtics rotate by -35 left font ',10'
set bmargin 9
set rmargin 12
plot $cpu using 2:xtic(1) lc rgb '{COLORS[0]}' title 'service', \\
     '' using 3 lc rgb '{COLORS[2]}' title 'PostgreSQL'
"""
