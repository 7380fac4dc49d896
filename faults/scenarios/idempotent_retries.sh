# shellcheck shell=bash
# Scenario: half the clients retry every request that got no final answer (no
# response within a short client timeout, 503, 409 request_in_progress) with
# the same Idempotency-Key, the other half send one plain request, so each
# process's batches mix keyed and plain requests, while PostgreSQL restarts
# and then one of the two service processes is killed with SIGKILL in the
# middle of such a batch; a keyed client that gets no response retries on the
# other process, which replays what the killed one committed. Every client
# must end with at most one booking, the one its 201s named, and a refused
# client with none.
scenario_idempotent_retries() {
    local name=idempotent_retries url victim base_a
    url=$(new_database fb_idempotent_retries)
    seed "$url" --venue-capacity 3000 --users 4000
    start_service "$name.a" "$url"
    base_a=$SERVICE_URL
    start_service "$name.b" "$url"
    victim=$SERVICE_PID

    # A 200 ms client timeout under 200 VUs makes clients give up on requests
    # the service completes: their retries must be replayed, not booked again.
    info "k6: $LOAD_VUS VUs, 4000 clients on 3000 seats over two processes, client timeout 200 ms, up to 30 attempts"
    k6_start "$name" booking_load.js \
        -e BASE_URLS="$base_a,$SERVICE_URL" -e VUS="$LOAD_VUS" \
        -e ITERATIONS=4000 -e PAUSE_MS=300 -e IDEMPOTENT=mixed -e FAILOVER=1 -e TIMEOUT=200ms \
        -e MAX_ATTEMPTS=30 -e RETRY_PAUSE_MS=50 -e KEY_PREFIX="run$(now_ms)"
    wait_for_records "$name" 800 60
    local restart_start restart_done ready_at kill_at
    restart_start=$(now_ms)
    cluster_restart_fast
    restart_done=$(now_ms)
    info "PostgreSQL restarted in $((restart_done - restart_start)) ms"
    ready_at=$(wait_until_ready_ms "$base_a" 30)
    wait_for_records "$name" 2500 60
    kill_at=$(now_ms)
    kill_hard "$victim"
    info "killed process b (pid $victim) with SIGKILL"
    k6_wait "$name"

    check_load "$name" --db-url "$url" --idempotent --allow-status 201,409,503 \
        --no-response allowed --require-status 201,503 --killed-url 1 \
        --mark restart_start="$restart_start" --mark restart_done="$restart_done" \
        ${ready_at:+--mark ready_at="$ready_at"} --mark kill_at="$kill_at"
}
