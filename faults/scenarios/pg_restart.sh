# shellcheck shell=bash
# Scenario: PostgreSQL restarts (pg_ctl restart -m fast) in the middle of a
# booking load. The service must heal by itself (pool recycling drops the dead
# connections) and keep every booking it acknowledged.
scenario_pg_restart() {
    local name=pg_restart url base
    url=$(new_database fb_pg_restart)
    seed "$url" --venue-capacity 4000 --users 6000
    start_service "$name.service" "$url"
    base=$SERVICE_URL

    # 6,000 users, one attempt each, ~400 requests/s: about 15 s of load; the
    # restart comes after 1,500 answers, while seats are still on sale.
    info "k6: $LOAD_VUS VUs, 6000 booking attempts (one per user) on 4000 seats"
    k6_start "$name" booking_load.js -e BASE_URLS="$base" -e VUS="$LOAD_VUS" \
        -e ITERATIONS=6000 -e PAUSE_MS=500
    wait_for_records "$name" 1500 60
    local restart_start restart_done ready_at
    restart_start=$(now_ms)
    cluster_restart_fast
    restart_done=$(now_ms)
    info "PostgreSQL restarted in $((restart_done - restart_start)) ms"
    ready_at=$(wait_until_ready_ms "$base" 30)
    k6_wait "$name"
    kill -0 "$SERVICE_PID" || { warn "the service died"; return 1; }

    # A 503 proves the restart hit requests; the rest proves it did no harm.
    check_load "$name" --db-url "$url" --allow-status 201,409,503 --require-status 503 \
        --mark restart_start="$restart_start" --mark restart_done="$restart_done" \
        ${ready_at:+--mark ready_at="$ready_at"}
}
