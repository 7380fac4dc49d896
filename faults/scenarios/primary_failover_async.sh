# shellcheck shell=bash
# Scenario: proof that primary_failover's check can fail. The same Patroni
# pair, services and load, but the standby is asynchronous and Patroni may
# promote it however far behind it is (maximum_lag_on_failover 100 GB), and
# its WAL comes through a proxy that is paused mid-load, as a slow link would
# hold it back. The primary goes on acknowledging bookings that never reach
# the standby; then it dies (SIGKILL of its Patroni and PostgreSQL, the proxy
# dies with what it held) and Patroni promotes the standby. check.py must
# report lost acknowledged bookings: the scenario passes when it does.
# shellcheck source=primary_failover.sh
source "$FAULTS_DIR/scenarios/primary_failover.sh"

# How many answers the primary gives while its WAL is held back.
readonly ASYNC_HELD_RECORDS=600

scenario_primary_failover_async() {
    local name=primary_failover_async kill_at paused_at records status=0
    HA_MARKS=()
    ha_scenario_setup "$name" async 7000 8000 || return 1
    info "k6: $LOAD_VUS VUs, 8000 clients with Idempotency-Keys on 7000 seats"
    k6_start "$name" booking_load.js -e BASE_URLS="$HA_BASE_A,$HA_BASE_B" \
        -e VUS="$LOAD_VUS" -e ITERATIONS=8000 -e PAUSE_MS=1000 -e IDEMPOTENT=1 -e FAILOVER=1 \
        -e MAX_ATTEMPTS=100 -e RETRY_PAUSE_MS=200 -e MAX_DURATION=180s -e KEY_PREFIX="run$(now_ms)"

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

    check_load "$name" --db-url "$HA_URL" --idempotent --allow-status 201,409,503 \
        --no-response allowed --require-status 201,503 "${HA_MARKS[@]}" || status=$?
    # Passes when check.py failed (status 1) because acknowledged bookings
    # are missing; any other outcome means the check could not tell.
    python3 - "$RUN_DIR/$name.result.json" "$status" <<'PY'
import json, sys
path, status = sys.argv[1], int(sys.argv[2])
result = json.load(open(path))
lost = result["figures"].get("lost acknowledged") or 0
caught = status == 1 and lost > 0
result["figures"]["lost acknowledged caught"] = f"{lost} (check.py exit {status})"
result["figures"]["violations check.py reported"] = result["violations"]
result["violations"] = [] if caught else [
    f"check.py did not report the asynchronous standby's loss (exit {status}, lost acknowledged {lost})"]
result["ok"] = caught
json.dump(result, open(path, "w"), indent=1)
print(f"\n  {result['scenario']}: check.py {'caught' if caught else 'MISSED'} {lost} lost acknowledged bookings"
      f" -> {'PASS' if caught else 'FAIL'}")
sys.exit(0 if caught else 1)
PY
}
