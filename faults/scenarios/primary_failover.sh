# shellcheck shell=bash
# Scenario: the database server dies mid-sale, twice. A Patroni pair
# (ci/lib/ha.sh: etcd, a primary and a synchronous standby) instead of the
# suite's single cluster; two service processes reach it through a
# multi-host DATABASE_URL with target_session_attrs=read-write; 200 VUs book
# with an Idempotency-Key and retry every non-final answer. Mid-load the
# primary node dies (SIGKILL of its Patroni and PostgreSQL together), Patroni
# promotes the synchronous standby, the old primary rejoins as the new
# synchronous standby (pg_rewind), and then the new primary dies the same way.
# Every booking acknowledged with a 201 must be on the last primary, the
# sale must go on by itself after each kill, and no request may hang: each
# is over within FAILOVER_WAIT_BOUND_MS (verify/src/faults.rs), and one goes
# without an answer only while it was in flight during a kill window (verify
# faults load --failover).
# shellcheck source=../../ci/lib/ha.sh
source "$ROOT/ci/lib/ha.sh"

# Bounds (seconds) of the phases; a failover takes about ttl (6 s) plus the
# time Patroni needs to promote.
readonly HA_FAILOVER_BOUND_S=30
readonly HA_REJOIN_BOUND_S=120

# ha_load NAME MODE SEATS CLIENTS PAUSE_MS MAX_DURATION: the HA pair, a
# seeded database on it, services a and b, and the k6 load on both: CLIENTS
# with Idempotency-Keys retrying every non-final answer (on the other service
# after no answer), each pausing about PAUSE_MS after its final answer.
# Sets HA_URL.
ha_load() {
    local name=$1 mode=$2 seats=$3 clients=$4 pause_ms=$5 max_duration=$6 db=fb_$1
    ha_install || return 1
    trap 'stop_all_services; ha_stop' EXIT
    ha_start "$RUN_DIR/$name.ha" "$mode" || return 1
    psql -X -q -v ON_ERROR_STOP=1 "$(ha_database_url postgres)" -c "CREATE DATABASE $db" || return 1
    HA_URL=$(ha_database_url "$db")
    info "DATABASE_URL=$HA_URL"
    seed "$HA_URL" --venue-capacity "$seats" --users "$clients"
    start_service "$name.a" "$HA_URL"
    HA_BASE_A=$SERVICE_URL
    start_service "$name.b" "$HA_URL"
    HA_MARKS=()
    info "k6: $LOAD_VUS VUs, $clients clients with Idempotency-Keys on $seats seats, retrying every non-final answer"
    k6_start "$name" booking_load.js -e BASE_URLS="$HA_BASE_A,$SERVICE_URL" \
        -e VUS="$LOAD_VUS" -e ITERATIONS="$clients" -e PAUSE_MS="$pause_ms" -e IDEMPOTENT=1 -e FAILOVER=1 \
        -e MAX_ATTEMPTS=100 -e RETRY_PAUSE_MS=200 -e MAX_DURATION="$max_duration" -e KEY_PREFIX="run$(now_ms)"
}

# ha_check NAME [verify faults load options...]: the load's records against
# the last primary, as a failover proof: never a hang, no answer missing outside the
# kill windows, only 201/409/503, a 201 and a 503 seen.
ha_check() {
    local name=$1; shift
    check_load "$name" --db-url "$HA_URL" --idempotent --allow-status 201,409,503 \
        --failover --require-status 201,503 "${HA_MARKS[@]}" "$@"
}

# ha_watch_failover N NEW_PRIMARY KILL_MS: waits for the new primary, polling
# /ready of service a meanwhile; sets HA_MARKS for verify faults load: the
# kill, when the new primary took writes, when /ready answered 200 again, and how many
# /ready answers in between were 503.
ha_watch_failover() {
    local n=$1 node=$2 kill_at=$3 promoted="" ready="" not_ready=0 code
    local deadline=$((SECONDS + HA_FAILOVER_BOUND_S))
    while ((SECONDS < deadline)); do
        if [[ -z $promoted ]] && ha_is_leader "$node"; then
            promoted=$(now_ms)
        fi
        if [[ -z $ready ]]; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$HA_BASE_A/ready" || true)
            if [[ $code == 200 && -n $promoted ]]; then
                ready=$(now_ms)
            elif [[ $code == 503 ]]; then
                not_ready=$((not_ready + 1))
            fi
        fi
        [[ -n $promoted && -n $ready ]] && break
        sleep 0.05
    done
    [[ -n $promoted ]] || { warn "$node was not promoted within ${HA_FAILOVER_BOUND_S} s (logs $HA_DIR/$node)"; return 1; }
    info "failover $n: $node writable $((promoted - kill_at)) ms after the kill; /ready 200 after $((${ready:-$promoted} - kill_at)) ms, $not_ready answers 503 before"
    HA_MARKS+=(--mark "db_kill_$n=$kill_at" --mark "db_promoted_$n=$promoted"
        --mark "db_not_ready_$n=$not_ready")
    [[ -n $ready ]] && HA_MARKS+=(--mark "db_ready_$n=$ready")
    return 0
}

# k6_running: the load has not ended yet (a kill after it proves nothing).
k6_running() {
    kill -0 "$K6_PID" 2>/dev/null || { warn "the k6 load ended before the fault: make it longer"; return 1; }
}

scenario_primary_failover() {
    local name=primary_failover kill_at records
    # 14,000 clients on 12,000 seats, ~130 bookings/s: the sale lasts past
    # both kills and the rejoin in between (about 100 s of load).
    ha_load "$name" sync 12000 14000 1300 240s || return 1

    # Kill 1: node1, the primary, while node2 is its synchronous standby.
    wait_for_records "$name" 1500 60
    k6_running || return 1
    ha_kill_node node1
    kill_at=$(now_ms)
    ha_watch_failover 1 node2 "$kill_at" || return 1

    # node1 comes back: Patroni rewinds it onto node2's timeline and it
    # becomes node2's synchronous standby.
    local rejoin_started=$SECONDS
    ha_start_node node1
    ha_wait_sync node1 "$HA_REJOIN_BOUND_S" || return 1
    info "node1 rejoined as the synchronous standby in $((SECONDS - rejoin_started)) s"
    records=$(wc -l <"$RUN_DIR/$name.records")
    wait_for_records "$name" $((records + 1000)) 60

    # Kill 2: node2, now the primary.
    k6_running || return 1
    ha_kill_node node2
    kill_at=$(now_ms)
    ha_watch_failover 2 node1 "$kill_at" || return 1
    k6_wait "$name"

    ha_check "$name"
}
