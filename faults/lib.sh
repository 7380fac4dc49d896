# shellcheck shell=bash
# Shared shell functions of the fault-injection suite, sourced by run_all.sh
# and the scenario files. Every process started here is recorded and stopped
# by stop_all_services (each scenario's EXIT trap, run_all.sh).

FAULTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$FAULTS_DIR/.." && pwd)
# Exit status 2 for die: the suite could not run (run_all.sh's usage).
LOG_NAME=faults LOG_DIE_STATUS=2
# shellcheck source=ci/lib/log.sh
source "$ROOT/ci/lib/log.sh"
# shellcheck source=ci/lib/postgres.sh
source "$ROOT/ci/lib/postgres.sh"
# shellcheck source=ci/lib/service.sh
source "$ROOT/ci/lib/service.sh"
# shellcheck source=ci/lib/tools.sh
source "$ROOT/ci/lib/tools.sh"

# cargo builds into CARGO_TARGET_DIR when set (relative to the repository,
# where run_all.sh runs cargo).
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR
FLASHBOOK_BIN=${FLASHBOOK_BIN:-$TARGET_DIR/release/flashbook}
SEED_BIN=${SEED_BIN:-$TARGET_DIR/release/seed}
VERIFY_BIN=${VERIFY_BIN:-$TARGET_DIR/release/verify}
# Every booking scenario loads one event with at least this many VUs (issue 5).
# shellcheck disable=SC2034 # used by the scenario files
readonly LOAD_VUS=${FAULTS_VUS:-200}

# Milliseconds since the epoch, the clock k6's Date.now() uses too.
now_ms() { date +%s%3N; }

# ------------------------------------------------------------------ PostgreSQL
# The suite's throwaway cluster (pg_throwaway) in $RUN_DIR/pg.XXXXXX; PG_DIR
# and PG_PORT are exported: each scenario runs in a bash of its own
# (run_all.sh) that sources this file again. fsync stays on: the restart
# scenario must not lose committed bookings for a reason a production server
# would not have.
readonly PG_OPTIONS="-c max_connections=200"
cluster_start() {
    # shellcheck disable=SC2086 # the options' words
    TMPDIR=$RUN_DIR pg_throwaway pg $PG_OPTIONS || die "could not start PostgreSQL (see above)"
    export PG_DIR PG_PORT
    info "PostgreSQL on 127.0.0.1:$PG_PORT (log $PG_DIR/postgres.log)"
}

cluster_stop() { pg_throwaway_remove "$RUN_DIR/postgres.log" || true; }

# Fast-mode restart: terminates every session, checkpoints, starts again.
cluster_restart_fast() {
    pg_run pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -m fast -w -t 60 restart \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 $PG_OPTIONS" >/dev/null
}

psql_db() { # DB SQL...
    local db=$1; shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -X -v ON_ERROR_STOP=1 -qAt -d "$db" "$@"
}

# new_database NAME: a fresh database; prints its URL.
new_database() {
    local name=$1
    psql_db postgres -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
    echo "postgres://postgres@127.0.0.1:$PG_PORT/$name"
}

# ------------------------------------------------------------------ services
declare -a STARTED_PIDS=()
ADMIN_TOKEN=${FAULTS_ADMIN_TOKEN:-faults-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
# The buyer-token key of every service and seed here (kid:secret), the same
# in every scenario's shell: the seed signs the users' tokens (tokens_file)
# that k6 and Schemathesis send.
TOKEN_KEYS=${FAULTS_TOKEN_KEYS:-faults:$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}
export FAULTS_TOKEN_KEYS=$TOKEN_KEYS
tokens_file() { echo "$RUN_DIR/tokens.json"; }

# start_service NAME DATABASE_URL [VAR=value...]: starts flashbook on a free
# port in the background (log $RUN_DIR/NAME.log), sets SERVICE_PID and
# SERVICE_URL, waits for /ready.
start_service() {
    local name=$1 url=$2; shift 2
    service_start "$FLASHBOOK_BIN" "" "$RUN_DIR/$name.log" DATABASE_URL="$url" \
        FLASHBOOK_ADMIN_TOKEN="$ADMIN_TOKEN" FLASHBOOK_TOKEN_KEYS="$TOKEN_KEYS" RUST_LOG="${RUST_LOG:-warn}" "$@" ||
        die "$SERVICE_ERROR"
    STARTED_PIDS+=("$SERVICE_PID")
    info "$name: pid $SERVICE_PID on $SERVICE_URL"
}

# kill_hard PID: SIGKILL, as when a machine dies; reaped here, without
# bash's "Killed" line.
kill_hard() {
    kill -KILL "$1"
    { wait "$1"; } 2>/dev/null || true
}

stop_all_services() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do service_stop "$pid"; done
    STARTED_PIDS=()
}

seed() { # DATABASE_URL seed-args...: also writes the users' tokens to TOKENS_FILE
    local url=$1; shift
    DATABASE_URL=$url FLASHBOOK_TOKEN_KEYS=$TOKEN_KEYS RUST_LOG=warn "$SEED_BIN" "$@" --tokens "$(tokens_file)" |
        sed 's/^/    /'
}

# ------------------------------------------------------------------ k6
K6_PID=""

# k6_start NAME SCRIPT -e ...: runs k6 in the background; the console lines
# (the per-request records) go to $RUN_DIR/NAME.records, the summary to
# $RUN_DIR/NAME.summary.json, k6's own output to $RUN_DIR/NAME.k6.log.
k6_start() {
    local name=$1 script=$2; shift 2
    : >"$RUN_DIR/$name.records"
    "$K6_BIN" run --quiet --no-color --log-format=raw \
        --console-output="$RUN_DIR/$name.records" \
        -e SUMMARY_FILE="$RUN_DIR/$name.summary.json" -e TOKENS_FILE="$(tokens_file)" "$@" \
        "$FAULTS_DIR/k6/$script" >"$RUN_DIR/$name.k6.log" 2>&1 &
    K6_PID=$!
    STARTED_PIDS+=("$K6_PID")
}

# k6_wait: waits for the k6 started last; fails when k6 did.
k6_wait() {
    local status=0
    wait "$K6_PID" || status=$?
    if ((status != 0)); then
        tail -n 20 "$RUN_DIR/$1.k6.log" >&2
        warn "k6 exited with status $status (log $RUN_DIR/$1.k6.log)"
    fi
    return "$status"
}

# wait_for_records NAME COUNT TIMEOUT_S: until k6 has recorded COUNT requests.
wait_for_records() {
    local file=$RUN_DIR/$1.records count=$2 deadline=$((SECONDS + $3))
    while (($(wc -l <"$file") < count)); do
        kill -0 "$K6_PID" 2>/dev/null || die "k6 ended before recording $count requests"
        ((SECONDS < deadline)) || die "k6 recorded fewer than $count requests within $3 s"
        sleep 0.1
    done
}

# wait_until_ready_ms BASE_URL TIMEOUT_S: polls /ready every 50 ms; prints the
# time it first answered 200 (epoch ms), or nothing on timeout.
wait_until_ready_ms() {
    if wait_until "$2" 0.05 curl -fs -o /dev/null --max-time 1 "$1/ready"; then now_ms; fi
}

# check_load NAME [verify faults load options...]: compares what k6 clients
# were told with the database and searches the service logs
# ($RUN_DIR/NAME.*.log) for panics and errors; writes $RUN_DIR/NAME.result.json
# for the summary table.
check_load() {
    local name=$1 log logs=(); shift
    for log in "$RUN_DIR/$name".*.log; do
        [[ $log == *.k6.log ]] || logs+=(--service-log "$log")
    done
    "$VERIFY_BIN" faults load --scenario "$name" "${logs[@]}" \
        --records "$RUN_DIR/$name.records" --summary "$RUN_DIR/$name.summary.json" \
        --result "$RUN_DIR/$name.result.json" "$@"
}

# ------------------------------------------------------------------ self-tests
# run_self_test NAME TOOL TEMPLATE_DB CHECK CASE...: proof that a checker can
# tell. Each CASE is "label|sql|argument|expected": a copy of TEMPLATE_DB
# (which must be idle) gets the SQL, then `CHECK COPY_DB argument...` runs
# (the argument split into words); the case is told apart when CHECK exits 1
# with the expected text in its output, or exits 0 when no text is expected
# (the untouched case). Writes $RUN_DIR/NAME.result.json; fails when any case
# was missed.
run_self_test() {
    local name=$1 tool=$2 template=$3 check=$4; shift 4
    local entry case sql argument expected copy=${template}_tampered out status told
    local caught=0 total=0 missed=()
    for entry in "$@"; do
        IFS='|' read -r case sql argument expected <<<"$entry"
        total=$((total + 1))
        out=$RUN_DIR/$name.case$total.out
        psql_db postgres -c "DROP DATABASE IF EXISTS $copy" -c "CREATE DATABASE $copy TEMPLATE $template" >/dev/null
        [[ -z $sql ]] || psql_db "$copy" -c "$sql" >/dev/null
        status=0
        # shellcheck disable=SC2086 # the argument is words on purpose
        "$check" "$copy" $argument >"$out" 2>&1 || status=$?
        told=false
        if [[ -z $expected ]]; then
            ((status == 0)) && told=true
        elif ((status == 1)) && grep -q -- "$expected" "$out"; then
            told=true
        fi
        if $told; then
            caught=$((caught + 1))
            info "ok      $case"
        else
            missed+=("$case")
            info "MISSED  $case (exit status $status, output $out)"
        fi
    done
    python3 - "$RUN_DIR/$name.result.json" "$name" "$tool" "$caught" "$total" "${missed[@]}" <<'PY'
import json, sys
path, name, tool = sys.argv[1:4]
caught, total, missed = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]
json.dump({"scenario": name, "ok": not missed,
           "figures": {"cases told apart": f"{caught}/{total}"},
           "violations": [f"{tool} did not tell: {case}" for case in missed]}, open(path, "w"))
PY
    ((${#missed[@]} == 0))
}

# ------------------------------------------------------------------ attacker
# The per-address limit of the attacker's services: low enough that one
# client's flood reaches it in a second, high enough for its other requests.
# shellcheck disable=SC2034 # used by the scenario files
readonly ATTACKER_LIMITS=(FLASHBOOK_RATE_PER_ADDRESS=100 FLASHBOOK_BURST_PER_ADDRESS=200)
# shellcheck source=ci/lib/secrets.sh
source "$ROOT/ci/lib/secrets.sh"

# attack BASE_URL DATABASE_URL [attacker.py attack options...]: the attacks
# of faults/attacker.py against a running service (on DATABASE_URL).
attack() {
    local base=$1 url=$2; shift 2
    FLASHBOOK_ADMIN_TOKEN=$ADMIN_TOKEN FLASHBOOK_TOKEN_KEYS=$TOKEN_KEYS \
        python3 "$FAULTS_DIR/attacker.py" attack --base-url "$base" --psql "psql -XAtq -d $url" "$@"
}

# attack_compose_file COMPOSE_FILE BASE_URL DATABASE_URL [options...]: attack,
# also trying COMPOSE_FILE (`config`, no engine needed) without each of its
# secrets, the others set (random, in this subshell only).
attack_compose_file() (
    local file=$1 name options=(); shift
    compose_client || die "the compose checks need docker compose or docker-compose (scripts/dockerd.sh start installs it)"
    ensure_secrets "" "${COMPOSE_SECRETS[@]}"
    for name in "${COMPOSE_SECRETS[@]}"; do options+=(--secret "$name"); done
    attack "$@" --compose "${COMPOSE[*]} --project-directory $ROOT -f $file" "${options[@]}"
)
