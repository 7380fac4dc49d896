# shellcheck shell=bash
# Scenario: a flood of malformed requests (bad JSON, wrong content types,
# invalid UTF-8, huge/negative ids, oversized bodies, SQL-looking strings,
# bad keys and tokens) while 200 VUs book. Every malformed request must get
# its 4xx; the good ones must still get only 201/409 and sell the capacity.
scenario_malformed_flood() {
    local name=malformed_flood url
    url=$(new_database fb_malformed_flood)
    seed "$url" --venue-capacity 3000 --users 4000
    start_service "$name.service" "$url"

    info "k6: $LOAD_VUS VUs book (4000 attempts, 3000 seats) while 20 VUs send malformed requests"
    k6_start "$name" malformed_flood.js -e BASE_URL="$SERVICE_URL" \
        -e VUS="$LOAD_VUS" -e ITERATIONS=4000 -e USERS=4000 -e PAUSE_MS=400 \
        -e BAD_VUS=20 -e BAD_DURATION=8s
    k6_wait "$name"
    kill -0 "$SERVICE_PID" || { warn "the service died"; return 1; }
    # The SQL-looking texts changed nothing: the tables are all still there.
    local tables
    tables=$(psql_db fb_malformed_flood -c "SELECT count(*) FROM pg_tables WHERE tablename IN ('bookings', 'users', 'events', 'venues')")
    [[ $tables == 4 ]] || { warn "tables are missing after the SQL-looking requests"; return 1; }
    # ... and the SQL-looking sign-ups' name is stored as sent.
    local verbatim
    verbatim=$(psql_db fb_malformed_flood -c "SELECT count(*) FROM users WHERE name = \$\$Robert'); DROP TABLE bookings; --\$\$")
    ((verbatim > 0)) || { warn "no SQL-looking sign-up was stored verbatim"; return 1; }

    check_load "$name" --db-url "$url" --allow-status 201,409 --expect-sold-out
}
