#!/usr/bin/env bash
# bench/run.sh [--quick]: flashbook against the physical limit of its own
# database, on one throwaway PostgreSQL cluster (fsync on, same settings for
# every step), in one run:
#   1. pgbench ceiling: the service's exact booking transaction (book_seat)
#      for distinct users on one event, at several client counts
#   2. load tool ceiling: wrk against GET /health
#   3. hot event, one transaction per booking (FLASHBOOK_BATCH_MAX=1), for
#      pool sizes 4, 8, 16, 32: bookings/s, p50/p95/p99, CPU per booking
#   4. hot event, batched (the default), at the best pool size
#   5. sold out: rejections/s and p99
#   6. k6 constant-arrival-rate at half the measured maximum, 1,000 VUs
# Prints a table, writes target/bench/summary.json, and in full mode
# bench/RESULTS.md. --quick (what CI runs) takes short steps at pool 16 only;
# it fails on broken behaviour (wrong statuses, a counter that disagrees with
# the rows, a service that will not start), never on speed.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib/postgres.sh
source ci/lib/tools.sh

quick=false
case "${1:-}" in
    --quick) quick=true ;;
    "") ;;
    *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac
if $quick; then
    step_seconds=3; pools=(16); pgbench_clients=(16); users=400000; fixed_duration=5s
else
    step_seconds=10; pools=(4 8 16 32); pgbench_clients=(4 8 16 32 64); users=1500000; fixed_duration=20s
fi
readonly CONNECTIONS=256   # concurrent wrk connections: buyers at once
readonly DEFAULT_POOL=16
release=${CARGO_TARGET_DIR:-target}/release
out=${CARGO_TARGET_DIR:-target}/bench
mkdir -p "$out"

say() { printf '==> %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/flashbook-bench.XXXXXX")
chmod 755 "$work" # PostgreSQL runs as its own user and must reach $work/pg
service_pid=""
cleanup() {
    [[ -n $service_pid ]] && { kill -TERM "$service_pid" 2>/dev/null; wait "$service_pid" 2>/dev/null || true; }
    [[ -d $work/pg/data ]] && pg_stop_cluster "$work/pg/data"
    rm -rf "$work"
}
trap cleanup EXIT

ensure_postgres_installed
ensure_command wrk wrk
ensure_k6 >/dev/null
k6_bin=$(k6_find)
say "cargo build --release --locked"
cargo build --release --locked --quiet

pg_port=$(free_port)
pg_settings=(-c max_connections=200 -c fsync=on -c synchronous_commit=on -c shared_buffers=256MB)
say "PostgreSQL on 127.0.0.1:$pg_port (${pg_settings[*]})"
mkdir -p "$work/pg"
pg_init_cluster "$work/pg/data"
pg_start_cluster "$work/pg/data" "$pg_port" "$work/pg/postgres.log" "${pg_settings[@]}"
pg_create_database "$pg_port" flashbook
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/flashbook"
sql() { psql -X -At -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }

say "seeding: 2 events with 50,000,000 seats, $users users"
"$release/seed" --venue-capacity 50000000 --events 2 --users "$users" | sed 's/^/    /'
sql "CREATE SEQUENCE IF NOT EXISTS bench_user_id" >/dev/null

# Every step starts from the same state: no bookings, event 2 sold out.
reset_sale() {
    sql "TRUNCATE bookings, idempotency_keys;
         UPDATE events SET booked = 0, capacity = 50000000 WHERE id = 1;
         UPDATE events SET booked = 0, capacity = 1 WHERE id = 2;
         INSERT INTO bookings (event_id, user_id) VALUES (2, 1);
         UPDATE events SET booked = 1 WHERE id = 2;
         ALTER SEQUENCE bench_user_id RESTART;
         CHECKPOINT;" >/dev/null
}

check_counter() {
    local state
    state=$(sql "SELECT booked = (SELECT count(*) FROM bookings WHERE event_id = 1 AND status = 'confirmed'),
                        booked <= capacity FROM events WHERE id = 1")
    [[ $state == "t|t" ]] || die "after $1 the event's counter disagrees with its bookings ($state)"
}

start_service() { # pool batch_max
    local port; port=$(free_port)
    FLASHBOOK_PORT=$port FLASHBOOK_POOL_SIZE=$1 FLASHBOOK_BATCH_MAX=$2 RUST_LOG=warn \
        "$release/flashbook" >>"$work/service.log" 2>&1 &
    service_pid=$!
    base_url="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$base_url/ready" 2>/dev/null && return 0
        kill -0 "$service_pid" 2>/dev/null || { tail "$work/service.log" >&2; die "the service exited at start"; }
        sleep 0.1
    done
    die "the service was not ready within 10 s"
}

stop_service() {
    kill -TERM "$service_pid"
    wait "$service_pid" 2>/dev/null || true
    service_pid=""
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$service_pid/stat"; }

# wrk_step NAME SCRIPT PATH [VAR=value...]: one wrk thread, $CONNECTIONS
# connections, $step_seconds; the result (plus CPU ticks used) in $work/NAME.json.
wrk_step() {
    local name=$1 script=$2 path=$3; shift 3
    local before after
    before=$(cpu_ticks)
    env "$@" wrk -t1 -c"$CONNECTIONS" -d"${step_seconds}s" --timeout 10s -s "$script" "$base_url$path" >"$work/$name.wrk"
    after=$(cpu_ticks)
    grep '^RESULT ' "$work/$name.wrk" | sed 's/^RESULT //' |
        python3 -c 'import json, sys; r = json.load(sys.stdin); r["cpu_ticks"] = int(sys.argv[1]); print(json.dumps(r))' \
            "$((after - before))" >"$work/$name.json"
}

# expect_only NAME STATUS: every response of the step had this status.
expect_only() {
    python3 - "$work/$1.json" "$2" <<'PY' || die "step $1 answered other statuses than $2: $(cat "$work/$1.json")"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if set(r["statuses"]) == {sys.argv[2]} and r["socket_errors"] == 0 else 1)
PY
}

# 1. The ceiling: the booking transaction straight from pgbench.
for clients in "${pgbench_clients[@]}"; do
    reset_sale
    say "pgbench: book_seat, $clients clients, ${step_seconds}s"
    "$(pg_bin_dir)/pgbench" -n -M prepared -c "$clients" -j 2 -T "$step_seconds" \
        -f bench/booking_transaction.sql -h 127.0.0.1 -p "$pg_port" -U postgres flashbook \
        >"$work/pgbench_$clients.txt" 2>&1 || { cat "$work/pgbench_$clients.txt" >&2; die "pgbench failed"; }
    grep -oP 'tps = \K[0-9.]+(?= \(without initial connection time\))' "$work/pgbench_$clients.txt" >"$work/pgbench_$clients.tps"
    check_counter "pgbench with $clients clients"
done

# 2-3. The load tool's ceiling, then one transaction per booking per pool size.
for pool in "${pools[@]}"; do
    reset_sale
    start_service "$pool" 1
    if [[ $pool == "${pools[0]}" ]]; then
        say "wrk: GET /health (load tool ceiling)"
        wrk_step health bench/wrk.lua /health
        expect_only health 200
    fi
    say "wrk: hot event, one transaction per booking, pool $pool"
    wrk_step "single_$pool" bench/wrk.lua /bookings EVENT_ID=1
    expect_only "single_$pool" 201
    check_counter "the single-booking step at pool $pool"
    stop_service
done
best_pool=$(for pool in "${pools[@]}"; do
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["statuses"]["201"]/r["seconds"], sys.argv[2])' \
        "$work/single_$pool.json" "$pool"
done | sort -gr | head -n 1 | cut -d' ' -f2)

# 4-5. Batched (the default) at the default pool size; sold out.
reset_sale
start_service "$DEFAULT_POOL" 256
say "wrk: hot event, batched, pool $DEFAULT_POOL"
wrk_step batched bench/wrk.lua /bookings EVENT_ID=1
expect_only batched 201
check_counter "the batched step"
say "wrk: sold-out event"
wrk_step soldout bench/wrk.lua /bookings EVENT_ID=2 USER_OFFSET=1
expect_only soldout 409

# 6. Fixed arrival rate at half the measured maximum.
max_rate=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(int(r["statuses"]["201"]/r["seconds"]))' "$work/batched.json")
rate=$((max_rate / 2))
offset=$(sql "SELECT count(*) FROM bookings WHERE event_id = 1")
say "k6: constant-arrival-rate $rate/s for $fixed_duration, 1,000 pre-allocated VUs"
"$k6_bin" run --quiet --no-color -e BASE_URL="$base_url" -e RATE="$rate" -e DURATION="$fixed_duration" \
    -e USER_OFFSET="$((offset + 10))" -e SUMMARY_FILE="$work/fixed_rate.json" bench/fixed_rate.js >"$work/k6.log" 2>&1 ||
    { tail -20 "$work/k6.log" >&2; die "k6 fixed-rate run failed"; }
check_counter "the fixed-rate step"
stop_service

python3 bench/report.py "$work" "$out/summary.json" "$quick" "$best_pool" "$DEFAULT_POOL" "$rate" \
    "$CONNECTIONS" "$step_seconds" "${pg_settings[*]}" "${pools[*]}" "${pgbench_clients[*]}"
