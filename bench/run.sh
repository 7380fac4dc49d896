#!/usr/bin/env bash
# bench/run.sh [--quick]: flashbook against the physical limit of its own
# database, on one throwaway PostgreSQL cluster (fsync on, the same settings
# for every step), on this machine, in one run (README, "Benchmarks"):
#   1. pgbench: the service's booking transaction (take_seats, and the same as
#      separate statements) at several client counts, the ceiling of one lock
#      per booking; take_seats() with 256 users per call, the batched path's;
#   2. wrk: GET /health (the load tool's ceiling); a hot event that never
#      sells out at pool sizes 4, 8, 16, 32, one transaction per booking and
#      batched; one per transaction against pgbench again, in pairs of steps
#      run back to back (issue 22: >= 0.95 x, the median pair); the crowd: /health and a sold-out event at 256 and 10,000
#      open connections (issue 14: >= 0.9 x the throughput, p99 <= 1.5 x);
#      the requests a real sale is made of, batched, at the default pool
#      (issue 22: >= 0.9 x plain batched): keyed (an Idempotency-Key each),
#      held (POST /holds) and admitted (an admission pass each, the event
#      behind its waiting room); the reference: a Redis Lua stock decrement
#      (bench/redis_booking.lua) with appendfsync always and without
#      persistence, measured by redis-benchmark;
#   3. k6: constant-arrival-rate at half the batched maximum (and on /health
#      as control), and the fairness of the plain flash sale (k6/booking.js:
#      what share of the first 1,000 requests by send time got a seat).
# Every step records the CPU time of the service, PostgreSQL and the load
# tool (/proc), checks in the database that what clients were told
# committed, runs verify on the event, and says which of how many it is and
# about how long is left. Prints a table, writes target/bench/summary.json
# (raw step files in target/bench/steps/) and gnuplot charts (bench/charts.py);
# full mode also writes bench/RESULTS.md with its charts in bench/charts/,
# --quick draws them in target/bench/charts/ only.
#
# --quick (CI): 3 s steps at the default pool (4) only, about 2 minutes once
# built. It fails only on broken behaviour (statuses a step must never see,
# socket errors, 201s that did not commit, a counter that disagrees with its
# rows, a service that will not start, a failed build), never on speed: a
# 503 (overload) is a warning.
#
# Environment: CARGO_TARGET_DIR; BENCH_STEP_SECONDS, BENCH_CONNECTIONS,
# BENCH_CROWD and BENCH_POOLS override the step length, wrk's connections, the
# crowd's (10,000) and the pool sizes tried, for experiments. Other
# FLASHBOOK_* variables are ignored: the script sets every knob it varies.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source-path=SCRIPTDIR/..
LOG_NAME=bench
source ci/lib/log.sh
source ci/lib/postgres.sh
source ci/lib/service.sh
source ci/lib/tools.sh

usage() { sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; }
quick=false
case "${1:-}" in
    --quick) quick=true ;;
    "") ;;
    -h | --help) usage; exit 0 ;;
    *) echo "usage: bench/run.sh [--quick]   (--help for more)" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- parameters
readonly DEFAULT_POOL=4 # the service's FLASHBOOK_POOL_SIZE default (src/configuration.rs)
readonly BATCH_MAX=256   # the service's FLASHBOOK_BATCH_MAX default
readonly SINGLE_PAIRS=3  # issue 22's single path against pgbench: pairs of steps run back to back
readonly VENUE_CAPACITY=50000000 # event 1 never sells out within a run
# Users: pgbench's batched step books one seat per user, 126,000 a second
# on the fastest machine seen (2,955 calls of 256 in 6 s), so a step needs
# about 130,000 users a second of it; seeding them costs about 3 s a million
# (4,000,000 in 12.5 s, tokens included).
if $quick; then
    step_seconds=3; crowd_seconds=5; pools=(4); pgbench_clients=(4); explicit_clients=(4)
    users=800000; token_users=250000; fixed_duration=5; fsync_probe_seconds=0.5
else
    step_seconds=15; crowd_seconds=15; pools=(4 8 16 32); pgbench_clients=(1 4 8 16 32 64); explicit_clients=(1 16)
    users=4000000; token_users=800000; fixed_duration=30; fsync_probe_seconds=2
fi
step_seconds=${BENCH_STEP_SECONDS:-$step_seconds}
# wrk opens the crowd's 10,000 connections within its duration (quick: 5 s,
# so the connecting is not most of the step).
crowd_seconds=${BENCH_STEP_SECONDS:-$crowd_seconds}
# shellcheck disable=SC2206 # a space-separated list of pool sizes
[[ -n ${BENCH_POOLS:-} ]] && pools=($BENCH_POOLS)
connections=${BENCH_CONNECTIONS:-256} # concurrent wrk connections: buyers at once
crowd=${BENCH_CROWD:-10000} # open connections of the crowd steps (issue 14)
wrk_connections=$connections # the connections and length of the next wrk step
wrk_seconds=$step_seconds
# Every tool runs under `timeout`: its own duration plus this.
readonly STEP_GRACE_S=60
readonly FAIR_CAPACITY=1000 FAIR_ATTEMPTS=10000 FAIR_VUS=1000 # run_tests.sh's flash sale
readonly FIXED_RATE_VUS=1000
# Real durability (every commit waits for its WAL flush); track_wal_io_timing
# lets each step report how long its flushes took (pg_stat_wal).
pg_options=(-c max_connections=200 -c shared_buffers=256MB
    -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c track_wal_io_timing=on)

release=${CARGO_TARGET_DIR:-target}/release
# Absolute: k6 resolves a relative path from the script that opens it.
out=$(realpath -m "${CARGO_TARGET_DIR:-target}/bench")
steps=$out/steps
if $quick; then charts=$out/charts; else charts=bench/charts; fi

# ---------------------------------------------------------------- cleanup
finished=false
stop_service() {
    service_stop "$SERVICE_PID"
    SERVICE_PID=""
}
cleanup() {
    local status=$?
    stop_service
    pg_throwaway_remove "$steps/postgres.log" || true
    if ! $finished; then
        printf 'bench: FAILED (exit %s); logs and raw step files: %s\n' "$status" "$steps" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools
say "bench/run.sh $($quick && echo --quick || echo '(full mode)'): ${step_seconds} s steps, wrk with $connections connections"
read -r load1 load5 _ </proc/loadavg
info "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), load average $load1 (1 min) $load5 (5 min)"
if awk -v l="$load1" 'BEGIN { exit !(l > 1) }'; then
    info "note: the machine is busy (load average $load1): other work shares the cores with this run"
fi
ensure_postgres_installed
ensure_command wrk wrk
ensure_command gnuplot gnuplot-nox
ensure_command curl curl
ensure_command redis-server redis-server
ensure_command redis-benchmark redis-tools
ensure_k6 >/dev/null
pgbench_bin=$(pg_bin_dir)/pgbench
[[ -x $pgbench_bin ]] || pgbench_bin=$(command -v pgbench) || die "pgbench not found (apt-get install postgresql-contrib or postgresql-client)"

say "cargo build --release --locked --workspace"
cargo build --release --locked --workspace --quiet ||
    die "cargo build --release --locked failed (see above): fix the build, then run again"
for bin in flashbook seed verify; do [[ -x $release/$bin ]] || die "no $release/$bin after the build"; done

rm -rf "$steps"
mkdir -p "$steps"
# 1,000 k6 VUs and 10,000 wrk connections need sockets on both sides: wrk
# and the service (which also raises its own) inherit this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < crowd + 1000)); then
    die "open-file limit $(ulimit -n) (hard limit $(ulimit -Hn)) is below the $crowd crowd connections + 1,000: raise the hard limit (ulimit -Hn, or LimitNOFILE / docker --ulimit), or set BENCH_CROWD lower"
fi

# ---------------------------------------------------------------- PostgreSQL
say "PostgreSQL in a throwaway cluster (${pg_options[*]})"
pg_throwaway flashbook-bench "${pg_options[@]}" || die "no PostgreSQL (see above)"
info "on 127.0.0.1:$PG_PORT, data in $PG_DIR/data"
database_url=$PG_URL
postmaster_pid=$(head -n 1 "$PG_DIR/data/postmaster.pid")
sql() { PGCONNECT_TIMEOUT=10 PGOPTIONS='-c client_min_messages=warning' psql -X -At -v ON_ERROR_STOP=1 "$database_url" -c "$1"; }

fsync_rate=$(python3 bench/probe.py fsync-rate "$PG_DIR" "$fsync_probe_seconds")
info "this disk: $fsync_rate sequential 8 kB write+fdatasync per second (a commit waits for one)"

# The service applies the migrations; seed then fills the tables.
say "starting the service once to apply the migrations"
base_url=""
# The buyers' tokens (users 1..token_users; more than a step books): the seed
# signs them with the key the service verifies.
random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
token_keys=bench:$(random_hex)
admin_token=$(random_hex)
pass_secret=$(random_hex)
# wrk and k6 are one address sending what a crowd sends: the per-address
# rate limit (README, "Abuse limits") would answer most of it 429, so it is
# raised out of the way; the limiter still runs and costs what it costs.
start_bench_service() { # POOL_SIZE BATCH_MAX: the knobs a step varies
    service_start "$release/flashbook" "" "$steps/service.log" -u FLASHBOOK_WORKERS -u FLASHBOOK_POOL_WAIT_MS \
        DATABASE_URL="$database_url" FLASHBOOK_POOL_SIZE="$1" FLASHBOOK_BATCH_MAX="$2" RUST_LOG=warn \
        FLASHBOOK_RATE_PER_ADDRESS=100000000 FLASHBOOK_TOKEN_KEYS="$token_keys" \
        FLASHBOOK_ADMIN_TOKEN="$admin_token" FLASHBOOK_PASS_SECRET="$pass_secret" || die "$SERVICE_ERROR"
    base_url=$SERVICE_URL
}
start_bench_service "$DEFAULT_POOL" "$BATCH_MAX"
stop_service

say "seed: 2 events with $VENUE_CAPACITY seats, $users users"
# The seed shares the service's 5 s statement timeout, too short for 2M users in one INSERT.
DATABASE_URL=$database_url FLASHBOOK_STATEMENT_TIMEOUT_MS=600000 FLASHBOOK_TOKEN_KEYS=$token_keys \
    "$release/seed" --venue-capacity "$VENUE_CAPACITY" --events 2 --users "$users" \
    --tokens "$steps/tokens.json" --token-users "$token_users" \
    >"$steps/seed.log" 2>&1 || { cat "$steps/seed.log" >&2; die "seed failed"; }
info "$(tail -n 1 "$steps/seed.log")"
# The seed verifies each token it signs as the service does and says how long one took.
token_verify_us=$(sed -n 's/.*each verified: \([0-9.]*\) us a token.*/\1/p' "$steps/seed.log")
[[ -n $token_verify_us ]] || die "the seed did not say how long a token takes to verify ($steps/seed.log)"
# wrk's Lua reads them one a line (line n: user n's).
python3 -c 'import json, sys; print("\n".join(t["token"] for t in sorted(json.load(open(sys.argv[1])), key=lambda t: t["user_id"])))' \
    "$steps/tokens.json" >"$steps/tokens.txt"
sql "CREATE SEQUENCE bench_user_id" >/dev/null
sql "SELECT name || '=' || current_setting(name) FROM pg_settings
     WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method',
                    'shared_buffers', 'max_connections', 'wal_level', 'commit_delay',
                    'checkpoint_timeout', 'max_wal_size', 'server_version')
     ORDER BY name" >"$steps/pg_settings.txt"

# Every step starts from the same state: no bookings, event 1 with room for
# every attempt, event 2 sold out (capacity 1, booked by user 1), a fresh
# checkpoint, the user counter of the pgbench scripts back at 1, no holds and
# no waiting-room tickets (CASCADE: what refers to them).
reset_sale() {
    sql "TRUNCATE bookings, holds, queue_tickets, idempotency_keys CASCADE;
         UPDATE events SET booked = 0, capacity = $VENUE_CAPACITY WHERE id = 1;
         UPDATE events SET booked = 1, capacity = 1 WHERE id = 2;
         INSERT INTO bookings (event_id, user_id) VALUES (2, 1);
         ALTER SEQUENCE bench_user_id RESTART;" >/dev/null
    sql "VACUUM ANALYZE events" >/dev/null
    sql "CHECKPOINT" >/dev/null
}

# Event 1's confirmed bookings and the transactions that made them (xmin), its holds;
# event 2's confirmed bookings; the cluster's WAL flushes and commits.
db_state() {
    sql "SELECT json_build_object(
                'bookings', count(*) FILTER (WHERE event_id = 1),
                'transactions', count(DISTINCT xmin::text) FILTER (WHERE event_id = 1),
                'event2_bookings', count(*) FILTER (WHERE event_id = 2),
                'holds', (SELECT count(*) FROM holds WHERE event_id = 1),
                'wal_sync', (SELECT wal_sync FROM pg_stat_wal),
                'wal_sync_ms', (SELECT wal_sync_time FROM pg_stat_wal),
                'wal_bytes', (SELECT wal_bytes FROM pg_stat_wal),
                'commits', (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()))
           FROM bookings WHERE status = 'confirmed'"
}

snapshot() { python3 bench/probe.py snapshot "${SERVICE_PID:-0}" "$postmaster_pid" "$$"; }

# Progress: every step is counted here, so each can say which of how many it
# is and about how long is left: the steps' nominal lengths (plus an
# overhead guess) scaled by how long the steps so far really took.
readonly STEP_OVERHEAD_S=5 # reset, checkpoint, statistics wait, verify, service start
readonly FAIR_NOMINAL_S=15 # the fairness sale: 10,000 attempts, a few seconds here
step_total=$((${#pgbench_clients[@]} + ${#explicit_clients[@]} + 1 + 2 * ${#pools[@]} + 2 * SINGLE_PAIRS + 3 + 2 + 4 + 2 + 1))
nominal_total=$(((step_total - 5) * (step_seconds + STEP_OVERHEAD_S) + 2 * (crowd_seconds + STEP_OVERHEAD_S) +
    2 * (fixed_duration + STEP_OVERHEAD_S) + FAIR_NOMINAL_S + STEP_OVERHEAD_S))
step_index=0
nominal_done=0
steps_started=""
progress() { # SECONDS: the nominal length of the step that starts now
    local now=$EPOCHREALTIME
    step_index=$((step_index + 1))
    [[ -z $steps_started ]] && steps_started=$now
    info "$(awk -v i="$step_index" -v n="$step_total" -v total="$nominal_total" -v done="$nominal_done" \
        -v elapsed="$(awk -v a="$steps_started" -v b="$now" 'BEGIN { print b - a }')" 'BEGIN {
            scale = done > 0 ? elapsed / done : 1
            left = (total - done) * scale
            when = left >= 90 ? sprintf("%d min", left / 60 + 0.5) : sprintf("%d s", left + 0.5)
            printf "[step %d/%d, about %s left]", i, n, when }')"
    nominal_done=$((nominal_done + $1 + STEP_OVERHEAD_S))
}

# step_begin NAME / step_end NAME TOOL KIND: CPU and database around a step,
# then the step's NAME.json and its checks, and verify on event 1 (its counter
# agrees with its rows, nobody holds two; it never sells out).
step_begin() {
    db_state >"$steps/$1.db_before"
    snapshot >"$steps/$1.before"
}
step_end() {
    snapshot >"$steps/$1.after"
    # Backends publish their statistics at most once a second.
    sleep 1.1
    db_state >"$steps/$1.db_after"
    python3 bench/probe.py collect "$steps" "$1" "$2"
    python3 bench/probe.py check "$steps" "$1" "$3" "$wrk_connections"
    DATABASE_URL=$database_url "$release/verify" --event-id 1 --title "bench step $1" >"$steps/$1.verify" 2>&1 ||
        { cat "$steps/$1.verify" >&2; die "step $1: verify found the sale broken (above)"; }
}

# run_step NAME KIND TOOL SECONDS COMMAND...: one measured step: COMMAND
# (TOOL's run, output in steps/NAME.TOOL) bounded by SECONDS + STEP_GRACE_S,
# between step_begin and step_end.
run_step() {
    local name=$1 kind=$2 tool=$3 seconds=$4
    shift 4
    progress "$seconds"
    step_begin "$name"
    timeout -k 5 $((seconds + STEP_GRACE_S)) "$@" >"$steps/$name.$tool" 2>&1 ||
        { tail -n 20 "$steps/$name.$tool" >&2; die "$tool failed or overran its time bound in step $name"; }
    step_end "$name" "$tool" "$kind"
}

# wrk_step NAME KIND SCRIPT PATH [VAR=value...]: one wrk thread,
# $wrk_connections connections for $wrk_seconds.
wrk_step() {
    local name=$1 kind=$2 script=$3 path=$4
    shift 4
    run_step "$name" "$kind" wrk "$wrk_seconds" \
        env TOKENS_TXT="$steps/tokens.txt" "$@" wrk -t1 -c"$wrk_connections" -d"${wrk_seconds}s" --timeout 10s -s "$script" "$base_url$path"
}

pgbench_step() { # NAME SCRIPT CLIENTS [SEATS_PER_TRANSACTION]
    local name=$1 script=$2 clients=$3 seats=${4:-1}
    reset_sale
    run_step "$name" "pgbench:$seats" pgbench "$step_seconds" \
        "$pgbench_bin" -n -M prepared -c "$clients" -j "$((clients < 2 ? clients : 2))" -T "$step_seconds" \
        -D batch="$seats" -l --log-prefix="$steps/$name.log" -f "$script" -h 127.0.0.1 -p "$PG_PORT" -U postgres flashbook
}

k6_step() { # NAME TARGET RATE [-e VAR=value...]
    local name=$1 target=$2 rate=$3 kind=fixed_rate
    shift 3
    [[ $target == health ]] && kind=fixed_rate_health
    run_step "$name" "$kind" k6 "$fixed_duration" "$K6_BIN" run --quiet --no-color -e BASE_URL="$base_url" \
        -e TARGET="$target" -e RATE="$rate" -e DURATION="${fixed_duration}s" -e SUMMARY_FILE="$steps/$name.k6.json" \
        -e TOKENS_FILE="$steps/tokens.json" \
        "$@" bench/fixed_rate.js
}

rate_of() { python3 bench/probe.py rate "$steps" "$1"; }

# ---------------------------------------------------------------- 1. ceiling
for clients in "${pgbench_clients[@]}"; do
    say "pgbench: take_seats() for one, $clients clients, ${step_seconds} s"
    pgbench_step "pgbench_function_$clients" bench/booking_transaction.sql "$clients"
    info "$(rate_of "pgbench_function_$clients") transactions/s"
done
for clients in "${explicit_clients[@]}"; do
    say "pgbench: BEGIN; SELECT ... FOR UPDATE; SELECT; INSERT; UPDATE; COMMIT, $clients clients, ${step_seconds} s"
    pgbench_step "pgbench_explicit_$clients" bench/booking_explicit.sql "$clients"
    info "$(rate_of "pgbench_explicit_$clients") transactions/s"
done
say "pgbench: take_seats() with $BATCH_MAX users per call, 1 client (the service runs one batch per event at a time), ${step_seconds} s"
pgbench_step "pgbench_batch_$BATCH_MAX" bench/booking_batch.sql 1 "$BATCH_MAX"
info "$(rate_of "pgbench_batch_$BATCH_MAX") transactions/s = $(($(rate_of "pgbench_batch_$BATCH_MAX") * BATCH_MAX)) bookings/s"

# ---------------------------------------------------------------- 2-3. wrk
for pool in "${pools[@]}"; do
    for mode in single batched; do
        reset_sale
        batch=$BATCH_MAX
        [[ $mode == single ]] && batch=1
        start_bench_service "$pool" "$batch"
        say "wrk: hot event, $mode (FLASHBOOK_BATCH_MAX=$batch), pool $pool, ${step_seconds} s"
        wrk_step "${mode}_$pool" hot bench/wrk.lua /bookings EVENT_ID=1
        info "$(rate_of "${mode}_$pool") bookings/s"
        stop_service
    done
done

# ---------------------------------------------------------------- 3a. single path, paired
# Issue 22: one booking per transaction within 5 % of pgbench running the same
# function at the same connections. The steps above run minutes apart, and a
# step of either moves by up to 5 % with the machine, the size of the gap
# asked about; here the two run back to back, $SINGLE_PAIRS times, the order
# swapped every other pair so a drift of the machine favours neither, and
# the report takes the median of the pairs' ratios.
for pair in $(seq 1 "$SINGLE_PAIRS"); do
    order=(pgbench single)
    ((pair % 2 == 0)) && order=(single pgbench)
    for side in "${order[@]}"; do
        reset_sale
        if [[ $side == pgbench ]]; then
            say "pair $pair of $SINGLE_PAIRS: pgbench take_seats() for one, $DEFAULT_POOL clients, ${step_seconds} s"
            pgbench_step "paired_pgbench_$pair" bench/booking_transaction.sql "$DEFAULT_POOL"
        else
            start_bench_service "$DEFAULT_POOL" 1
            say "pair $pair of $SINGLE_PAIRS: wrk, hot event, one per transaction, pool $DEFAULT_POOL, ${step_seconds} s"
            wrk_step "paired_single_$pair" hot bench/wrk.lua /bookings EVENT_ID=1
            stop_service
        fi
        info "$(rate_of "paired_${side}_$pair") bookings/s"
    done
done

# ---------------------------------------------------------------- 3b. request kinds
# Issue 22: the requests a real sale is made of, each on a fresh sale and a
# fresh service at the defaults, against plain batched_$DEFAULT_POOL: keyed,
# held, and admitted: event 1 behind its waiting room (turned on through the
# API, so the service knows at once), and a pass for each of the token users,
# issued in the database and signed as the service signs one (src/admission.rs)
# before the timed step, which books with them. (Joining through the API
# admits about 1,000 buyers a second, one room-row lock each: too few passes.)
admin() { # METHOD PATH [BODY]: an admin request; fails on a non-2xx answer
    curl -fsS -o /dev/null -X "$1" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        ${3:+-d "$3"} "$base_url$2"
}
issue_passes() { # EVENT_ID: its room on; steps/passes.txt, `user_id pass` a line
    admin PUT "/events/$1/waiting-room" \
        "{\"admission_per_second\":100000,\"pass_seconds\":86400,\"opens_at\":\"$(date -u -d '1 hour ago' +%FT%TZ)\"}" ||
        die "PUT /events/$1/waiting-room failed"
    sql "INSERT INTO queue_tickets (ticket, event_id, user_id, early, place, pass_expires_at)
         SELECT md5(random()::text || u), $1, u, FALSE, u, date_trunc('second', now()) + interval '1 day'
           FROM generate_series(1, $token_users) u;
         UPDATE waiting_rooms SET late_joined = $token_users, early_ranked = TRUE WHERE event_id = $1" >/dev/null
    sql "COPY (SELECT user_id, ticket, extract(epoch FROM pass_expires_at)::BIGINT FROM queue_tickets
                WHERE event_id = $1 ORDER BY user_id) TO STDOUT" | PASS_SECRET=$pass_secret EVENT_ID=$1 python3 -c '
import base64, hashlib, hmac, os, sys
key, event = os.environ["PASS_SECRET"].encode(), os.environ["EVENT_ID"]
for line in sys.stdin:
    user, ticket, expires = line.split()
    payload = f"v1.{ticket}.{event}.{user}.{expires}"
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    print(user, payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode())' >"$steps/passes.txt"
    info "$(wc -l <"$steps/passes.txt") buyers admitted, each with a pass"
    # As reset_sale leaves every step: the tickets' pages written out and
    # their statistics taken before the timed step, not by a checkpoint or
    # autovacuum in the middle of it (a ticket per token user: 400,000 took
    # 110 MB).
    sql "VACUUM ANALYZE queue_tickets" >/dev/null
    sql "CHECKPOINT" >/dev/null
}
for kind in keyed held admitted; do
    reset_sale
    start_bench_service "$DEFAULT_POOL" "$BATCH_MAX"
    say "wrk: hot event, $kind, batched (FLASHBOOK_BATCH_MAX=$BATCH_MAX), pool $DEFAULT_POOL, ${step_seconds} s"
    case $kind in
    keyed) wrk_step keyed hot bench/wrk.lua /bookings EVENT_ID=1 KEYED=1 ;;
    held) wrk_step held held bench/wrk.lua /holds EVENT_ID=1 ;;
    admitted)
        issue_passes 1
        wrk_step admitted hot bench/wrk.lua /bookings EVENT_ID=1 PASSES_TXT="$steps/passes.txt"
        admin DELETE /events/1/waiting-room || die "DELETE /events/1/waiting-room failed"
        ;;
    esac
    info "$(rate_of "$kind") $([[ $kind == held ]] && echo holds || echo bookings)/s"
    stop_service
done

# ---------------------------------------------------------------- 3c. Redis
# The reference (issue 22): bench/redis_booking.lua in a throwaway
# redis-server (loopback, its files in the step directory, no snapshots,
# stopped by its PID)
# with every write fsynced before the answer, then with no persistence at
# all; redis-benchmark with $connections clients, each request a random new
# idempotency key, as many requests as about one step's length (from a short
# calibration run). The step's service CPU is redis-server's. After the step
# every key stored must have taken one seat off the stock.
redis_step() { # NAME redis-server OPTION...
    local name=$1 dir port rate stock=$VENUE_CAPACITY
    shift
    dir=$steps/$name.redis-data
    port=$(free_port)
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --daemonize no "$@" >"$steps/$name.redis.log" 2>&1 &
    SERVICE_PID=$! # stop_service stops it, on exit too
    local cli=(redis-cli -p "$port")
    wait_until 10 0.1 "${cli[@]}" ping >/dev/null 2>&1 || die "redis-server did not start (see $steps/$name.redis.log)"
    "${cli[@]}" SET stock "$stock" >/dev/null
    local load=(redis-benchmark -p "$port" -c "$connections" -r 1000000000 --csv)
    local script=(EVALSHA "$("${cli[@]}" SCRIPT LOAD "$(cat bench/redis_booking.lua)")" 2 stock 'key:__rand_int__')
    rate=$("${load[@]}" -n 10000 "${script[@]}" | python3 bench/probe.py redis-rate)
    say "redis-benchmark: bench/redis_booking.lua, $* ($connections clients, $((rate * step_seconds)) requests)"
    echo $((rate * step_seconds)) >"$steps/$name.requests"
    run_step "$name" redis redis "$step_seconds" "${load[@]}" -n "$((rate * step_seconds))" "${script[@]}"
    (($("${cli[@]}" DBSIZE) - 1 == stock - $("${cli[@]}" GET stock))) || die "$name: the stock and the stored keys disagree"
    info "$(rate_of "$name") requests/s"
    stop_service
    rm -rf "$dir"
}
redis_step redis_durable --appendonly yes --appendfsync always
redis_step redis_memory --appendonly no

# ---------------------------------------------------------------- 4-5. defaults
# The crowd: /health and the sold-out path one after the other on one service,
# at 256 connections (steps health, soldout) and at $crowd (health_$crowd,
# soldout_$crowd). wrk opens all its connections at the start and keeps them.
reset_sale
start_bench_service "$DEFAULT_POOL" "$BATCH_MAX"
for conns in "$connections" "$crowd"; do
    wrk_connections=$conns
    suffix=""
    [[ $conns == "$connections" ]] || { suffix=_$conns; wrk_seconds=$crowd_seconds; }
    say "wrk: GET /health, $conns connections, ${wrk_seconds} s (the load tool's ceiling)"
    wrk_step "health$suffix" health bench/wrk.lua /health
    info "$(rate_of "health$suffix") requests/s"
    say "wrk: sold-out event, $conns connections, defaults (pool $DEFAULT_POOL, batched), ${wrk_seconds} s"
    wrk_step "soldout$suffix" soldout bench/wrk.lua /bookings EVENT_ID=2 USER_OFFSET=1
    info "$(rate_of "soldout$suffix") rejections/s"
done
wrk_connections=$connections
wrk_seconds=$step_seconds
code=$(curl -sS -H 'Content-Type: application/json' -H "Authorization: Bearer $(sed -n 2p "$steps/tokens.txt")" \
    -d '{"event_id":2}' "$base_url/bookings" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("code"))')
[[ $code == sold_out ]] || die "a booking on the sold-out event answered code '$code', not sold_out"

max_rate=$(rate_of "batched_$DEFAULT_POOL")
fixed_rate=$((max_rate / 2))
((fixed_rate > 0)) || die "no bookings at all in the batched step"
say "k6: constant-arrival-rate $fixed_rate/s (half of $max_rate) for ${fixed_duration} s, $FIXED_RATE_VUS pre-allocated VUs"
k6_step fixed_rate bookings "$fixed_rate" -e EVENT_ID=1 -e USER_OFFSET=0
say "k6: the same rate on GET /health (what k6 itself adds)"
k6_step fixed_rate_health health "$fixed_rate"
stop_service

# ---------------------------------------------------------------- 6. fairness
# run_tests.sh's flash sale (k6/booking.js) on event 2, made a fresh sale of
# $FAIR_CAPACITY seats, against a fresh service (one that saw event 2 sold out
# may remember it). SEND_LOG=1: k6 logs each request's send time and status.
progress "$FAIR_NOMINAL_S"
say "k6: fairness, $FAIR_ATTEMPTS attempts by $FAIR_VUS VUs on $FAIR_CAPACITY seats (k6/booking.js)"
reset_sale
sql "DELETE FROM bookings WHERE event_id = 2;
     UPDATE events SET booked = 0, capacity = $FAIR_CAPACITY WHERE id = 2" >/dev/null
start_bench_service "$DEFAULT_POOL" "$BATCH_MAX"
rm -f "$steps/fairness.console"
timeout -k 5 $((300 + STEP_GRACE_S)) "$K6_BIN" run --quiet --no-color --console-output="$steps/fairness.console" \
    -e BASE_URL="$base_url" -e EVENT_ID=2 -e USERS="$token_users" -e VUS="$FAIR_VUS" -e ITERATIONS="$FAIR_ATTEMPTS" \
    -e TOKENS_FILE="$steps/tokens.json" \
    -e SEND_LOG=1 -e SUMMARY_FILE="$steps/fairness.k6.json" k6/booking.js \
    >"$steps/fairness.k6.log" 2>&1 || { tail -n 20 "$steps/fairness.k6.log" >&2; die "k6 failed in the fairness step"; }
stop_service
DATABASE_URL=$database_url "$release/verify" --event-id 2 --capacity "$FAIR_CAPACITY" --sold-out \
    --k6-summary "$steps/fairness.k6.json" --attempts "$FAIR_ATTEMPTS" --title "bench fairness sale" >"$steps/fairness.verify" 2>&1 ||
    { cat "$steps/fairness.verify" >&2; die "fairness: verify found the sale broken (above)"; }
python3 bench/probe.py fairness "$steps" fairness "$FAIR_CAPACITY" || die "fairness: bench/probe.py could not read k6's send log"
info "$(python3 -c 'import json, sys; f = json.load(open(sys.argv[1])); print(f["summary"])' "$steps/fairness.json")"

# ---------------------------------------------------------------- report
read -r load1_end _ </proc/loadavg
say "report"
python3 bench/report.py "$steps" "$out/summary.json" "$($quick && echo quick || echo full)" \
    --default-pool "$DEFAULT_POOL" --batch-max "$BATCH_MAX" --pools "${pools[*]}" \
    --pgbench-clients "${pgbench_clients[*]}" --explicit-clients "${explicit_clients[*]}" \
    --single-pairs "$SINGLE_PAIRS" --connections "$connections" --crowd "$crowd" --crowd-seconds "$crowd_seconds" --fair-capacity "$FAIR_CAPACITY" --step-seconds "$step_seconds" --fixed-rate "$fixed_rate" \
    --fixed-duration "$fixed_duration" --fixed-vus "$FIXED_RATE_VUS" --fsync-rate "$fsync_rate" --token-verify-us "$token_verify_us" \
    --pg-options "${pg_options[*]}" --loadavg "$load1 $load1_end" --users "$users" \
    --results "$($quick && echo '' || echo "$ROOT/bench/RESULTS.md")" --charts "$charts"
finished=true
