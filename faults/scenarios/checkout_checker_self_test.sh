# shellcheck shell=bash
# Scenario: proof that `verify --checkout` can tell. A small checkout sale is
# made by calling the seat functions directly (faults/sql/checkout_sale.sql:
# holds, a walk-away, waiting-list offers, an expired offer, sold out; no
# service, no load), then copies of its database are tampered with, one way
# each (an unexpired hold left, a user over the limit, an offer out of list
# order, ...), and verify --checkout must fail on each copy with the matching
# check, while the untouched database passes. The last cases tamper with the
# k6 summary instead: buyers told other than what the database holds.
scenario_checkout_checker_self_test() {
    local name=checkout_checker_self_test url db=fb_checkout_self_test
    url=$(new_database $db)
    seed "$url" --venue-capacity 10 --users 20 --max-per-user 4 --hold-seconds 1 --offer-seconds 1
    info "a checkout sale of 10 seats by SQL (faults/sql/checkout_sale.sql, about 3 s)"
    psql_db $db -f "$FAULTS_DIR/sql/checkout_sale.sql" >"$RUN_DIR/$name.sale.out"

    # What k6/checkout.js would have summarised for this sale: 4 confirms of
    # 10 seats, nothing unexpected.
    local summary=$RUN_DIR/$name.summary.json
    checkout_summary 4 10 0 >"$summary"
    local missing=$RUN_DIR/$name.summary-missing.json unexpected=$RUN_DIR/$name.summary-unexpected.json
    checkout_summary 3 9 0 >"$missing"
    checkout_summary 4 10 2 >"$unexpected"
    # The schema refuses a user over the limit itself (the trigger
    # bookings_within_max_per_user_on_update), so this forgery switches that
    # guard off for its statement: verify must catch a database where the
    # guard was bypassed.
    local trigger=bookings_within_max_per_user_on_update
    local over_the_limit="ALTER TABLE bookings DISABLE TRIGGER $trigger; UPDATE bookings SET user_id = 1 WHERE user_id = 3; ALTER TABLE bookings ENABLE TRIGGER $trigger;"
    run_self_test "$name" "verify --checkout" $db verify_checkout \
        "untouched||$summary|" \
        "an unexpired hold left|INSERT INTO holds (event_id, user_id, quantity, expires_at) VALUES (1, 9, 1, now() + interval '1 hour');|$summary|unexpired holds left is 1, expected 0" \
        "a user over the limit|$over_the_limit|$summary|users over max_per_user is 1, expected 0" \
        "an offer out of order|UPDATE waitlist_entries SET quantity = 1 WHERE user_id = 6;|$summary|offers out of list order is 1, expected 0" \
        "passed over before leaving|UPDATE waitlist_entries SET left_at = clock_timestamp() WHERE user_id = 8;|$summary|offers out of list order is 3, expected 0" \
        "a seat unsold|UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE user_id = 7; UPDATE events SET booked = booked - 1;|$summary|confirmed seats in DB is 9, expected 10" \
        "counter drifted|UPDATE events SET booked = booked - 1;|$summary|events.booked counter is 9, expected 10" \
        "a confirm nobody was told of||$missing|201 confirmed (k6) is 3, expected 4" \
        "unexpected answers||$unexpected|unexpected answers (k6) is 2, expected 0"
}

# verify_checkout DB K6_SUMMARY: verify --checkout on the copy DB.
verify_checkout() {
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$1" "$VERIFY_BIN" --checkout --capacity 10 \
        --k6-summary "$2"
}

# checkout_summary CONFIRMS SEATS UNEXPECTED: a k6/checkout.js summary with
# those counts (the fields verify reads).
checkout_summary() {
    python3 - "$@" <<'PY'
import json, sys
confirms, seats, unexpected = map(int, sys.argv[1:])
count = lambda n: {"values": {"count": n}}
print(json.dumps({"state": {"testRunDurationMs": 3000}, "metrics": {
    "confirm_201": count(confirms), "confirm_seats": count(seats),
    "hold_201": count(3), "hold_other": count(unexpected),
    "unexpected": {"values": {"rate": 0}}}}))
PY
}
