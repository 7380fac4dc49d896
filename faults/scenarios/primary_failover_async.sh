# shellcheck shell=bash
# Scenario: proof that primary_failover's check can fail. The same Patroni
# pair, services and load, but the standby is asynchronous and Patroni may
# promote it however far behind it is (maximum_lag_on_failover 100 GB), and
# its WAL comes through a proxy that is paused mid-load, as a slow link would
# hold it back. The primary goes on acknowledging bookings that never reach
# the standby; then it dies (SIGKILL of its Patroni and PostgreSQL, the proxy
# dies with what it held) and Patroni promotes the standby. verify faults load
# must find lost acknowledged bookings, and nothing else (--expect-loss): a 500, a
# panic, a hang or any other violation still fails the scenario.
# shellcheck source=primary_failover.sh
source "$FAULTS_DIR/scenarios/primary_failover.sh"

# How many answers the primary gives while its WAL is held back.
readonly ASYNC_HELD_RECORDS=600

scenario_primary_failover_async() {
    local name=primary_failover_async kill_at paused_at records
    ha_load "$name" async 7000 8000 1000 180s || return 1

    wait_for_records "$name" 1000 60
    k6_running || return 1
    ha_pause_replication
    paused_at=$(now_ms)
    records=$(wc -l <"$RUN_DIR/$name.records")
    wait_for_records "$name" $((records + ASYNC_HELD_RECORDS)) 60
    k6_running || return 1
    ha_kill_node node1
    ha_drop_replication
    kill_at=$(now_ms)
    info "node1 answered for $((kill_at - paused_at)) ms with its WAL held back"
    ha_watch_failover 1 node2 "$kill_at" || return 1
    k6_wait "$name"

    ha_check "$name" --expect-loss
}
