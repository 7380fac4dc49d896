#!/usr/bin/env bash
# faults/run_all.sh: the fault-injection and bad-input suite of issue 5.
#
# Builds the release binaries once, starts one throwaway PostgreSQL cluster
# (a fresh database per scenario) and runs each scenario under a k6 load of
# 200 VUs on one event, then compares what the clients were told with the
# database (verify faults, verify/src/faults.rs). Prints each scenario's figures, a summary
# table, and exits non-zero when any invariant is violated.
#
#   faults/run_all.sh                      every scenario (about 8 min after the build)
#   faults/run_all.sh pg_restart schemathesis   only those
#   faults/run_all.sh --list               the scenario names
#
# Options: --no-build (use the binaries in target/release as they are),
#          --keep (keep the run directory after a PASS too).
# Environment: FAULTS_RUN_DIR (logs, k6 records and results; default a new
# directory under /tmp, deleted after a PASS unless --keep), CARGO_TARGET_DIR.
# Exit status: 0 PASS, 1 an invariant was violated or a scenario could not run,
# 2 the suite could not start (usage, tools, build).
set -Eeuo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The self-tests first: they prove verify faults load, verify --checkout and
# the attacker (faults/attacker.py) tell a broken database or service apart.
readonly ALL_SCENARIOS=(checker_self_test checkout_checker_self_test attacker_self_test attacker pg_restart kill_service
    pool_exhaustion idempotent_retries malformed_flood schemathesis primary_failover primary_failover_async)
# Each scenario runs as a process of its own under `timeout`, so that one that
# hangs ends itself (SIGTERM: its EXIT trap stops what it started), not the
# suite: at least twice its usual time (the total: under 50 min at worst).
readonly DEFAULT_SCENARIO_TIMEOUT_S=180
declare -rA SCENARIO_TIMEOUT_S=([schemathesis]=540 [primary_failover]=600 [primary_failover_async]=600)

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

build=true
keep=false
scenarios=()
for arg in "$@"; do
    case $arg in
        --no-build) build=false ;;
        --keep) keep=true ;;
        --list) printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0 ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; exit 2 ;;
        *)
            [[ -f $FAULTS_DIR/scenarios/$arg.sh ]] ||
                die "unknown scenario $arg (faults/run_all.sh --list names them)"
            scenarios+=("$arg")
            ;;
    esac
done
((${#scenarios[@]})) || scenarios=("${ALL_SCENARIOS[@]}")

# ------------------------------------------------------------------ prerequisites
ensure_tools() {
    ensure_postgres_installed
    local tool
    for tool in curl psql python3; do
        command -v "$tool" >/dev/null || die "$tool not found: install it (apt-get install curl postgresql-client python3)"
    done
    ensure_k6 || die "k6 is not available (see above)"
    if [[ " ${scenarios[*]} " == *" schemathesis "* ]]; then
        ensure_pip_tool schemathesis 'schemathesis>=4,<5' || die "Schemathesis 4 is not available (see above)"
        # Used by scenarios/schemathesis.sh, in a bash of its own.
        export SCHEMATHESIS_BIN=$TOOL_BIN
    fi
}

# ------------------------------------------------------------------ run
if [[ -n ${FAULTS_RUN_DIR:-} ]]; then
    RUN_DIR=$FAULTS_RUN_DIR
    mkdir -p "$RUN_DIR"
    keep=true
else
    RUN_DIR=$(mktemp -d /tmp/flashbook-faults.XXXXXX)
fi
RUN_DIR=$(cd "$RUN_DIR" && pwd)
chmod 755 "$RUN_DIR" # the postgres user keeps its cluster below it
export RUN_DIR

suite_ok=false
cleanup() {
    local status=$?
    stop_all_services
    cluster_stop
    if $suite_ok && ! $keep; then
        rm -rf "$RUN_DIR"
    else
        printf '\nfaults: logs, k6 records and results kept in %s\n' "$RUN_DIR" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS
ensure_tools
# Each scenario runs in a bash of its own (under timeout).
export K6_BIN
if $build; then
    say "building the release binaries (cargo build --release --locked)"
    (cd "$ROOT" && cargo build --release --locked --quiet) ||
        die "the release build failed (see above)"
fi
[[ -x $FLASHBOOK_BIN && -x $SEED_BIN && -x $VERIFY_BIN ]] || die "no release binaries in $TARGET_DIR/release: run without --no-build"

say "starting a throwaway PostgreSQL cluster below $RUN_DIR"
cluster_start

declare -A took=()
results=()
for scenario in "${scenarios[@]}"; do
    say "scenario $scenario"
    scenario_started=$SECONDS
    limit=${SCENARIO_TIMEOUT_S[$scenario]:-$DEFAULT_SCENARIO_TIMEOUT_S}
    status=0
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout -k 60 "$limit" bash -c '
        set -Eeuo pipefail
        source "$1/lib.sh"
        trap stop_all_services EXIT
        trap "exit 143" TERM INT
        source "$1/scenarios/$2.sh"
        "scenario_$2"' _ "$FAULTS_DIR" "$scenario" || status=$?
    ((status != 124)) || warn "scenario $scenario did not end within $limit s"
    ((status == 0)) || warn "scenario $scenario failed (exit status $status)"
    took[$scenario]=$((SECONDS - scenario_started))
    results+=("$RUN_DIR/$scenario.result.json")
done

say "summary ($((SECONDS - started)) s in all)"
for scenario in "${scenarios[@]}"; do
    info "$scenario: ${took[$scenario]} s"
done
echo
if "$VERIFY_BIN" faults summary "${results[@]}"; then
    suite_ok=true
    printf '\nPASS: every scenario kept every invariant\n'
else
    printf '\nFAIL: see the violations above; logs in %s\n' "$RUN_DIR"
    exit 1
fi
