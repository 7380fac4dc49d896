# shellcheck shell=bash
# Scenario: a pool of 2 connections and 200 VUs without pauses. Requests that
# get no connection within the pool wait must be answered 503 + Retry-After at
# once; nothing may wait much longer than the pool wait.
readonly POOL_WAIT_MS=50
# Above the pool wait: the booking's own round trips and a loaded 2-core
# machine (k6, the service and PostgreSQL share it).
readonly POOL_MARGIN_MS=1000

scenario_pool_exhaustion() {
    local name=pool_exhaustion url
    url=$(new_database fb_pool_exhaustion)
    seed "$url" --venue-capacity 2000 --users 3000
    # Batching would funnel every booking through one connection per event:
    # one transaction per booking puts all 200 VUs on the pool.
    start_service "$name.service" "$url" FLASHBOOK_POOL_SIZE=2 \
        FLASHBOOK_POOL_WAIT_MS=$POOL_WAIT_MS FLASHBOOK_BATCH_MAX=1

    info "k6: $LOAD_VUS VUs, 3000 attempts on 2000 seats without pauses; pool 2, pool wait ${POOL_WAIT_MS} ms"
    k6_start "$name" booking_load.js -e BASE_URLS="$SERVICE_URL" \
        -e VUS="$LOAD_VUS" -e ITERATIONS=3000
    k6_wait "$name"

    check_load "$name" --db-url "$url" --allow-status 201,409,503 --require-status 201,503 \
        --max-duration-ms $((POOL_WAIT_MS + POOL_MARGIN_MS))
}
