# shellcheck shell=bash
# Scenario: kill -9 one of two service processes in the middle of the load.
# k6 spreads users over both; the survivor must keep booking, and every
# booking either process acknowledged must be in the database.
scenario_kill_service() {
    local name=kill_service url base_a victim
    url=$(new_database fb_kill_service)
    seed "$url" --venue-capacity 3000 --users 6000
    # a books one transaction per request, b in batches: both paths take the
    # same event lock at once, and the batched one is the one killed.
    start_service "$name.a" "$url" FLASHBOOK_BATCH_MAX=1
    base_a=$SERVICE_URL
    start_service "$name.b" "$url"
    victim=$SERVICE_PID

    # User u goes to BASE_URLS[u % 2]: odd users to b, the one killed.
    info "k6: $LOAD_VUS VUs, 6000 booking attempts over two processes on 3000 seats"
    k6_start "$name" booking_load.js \
        -e BASE_URLS="$base_a,$SERVICE_URL" \
        -e VUS="$LOAD_VUS" -e ITERATIONS=6000 -e PAUSE_MS=500
    wait_for_records "$name" 1500 60
    local kill_at
    kill_at=$(now_ms)
    kill_hard "$victim"
    info "killed process b (pid $victim) with SIGKILL"
    k6_wait "$name"

    check_load "$name" --db-url "$url" --allow-status 201,409 \
        --no-response killed-url --killed-url 1 --mark kill_at="$kill_at"
}
