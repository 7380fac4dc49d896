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
    checkout_summary 3 9 0 >"$RUN_DIR/$name.summary-missing.json"
    checkout_summary 4 10 2 >"$RUN_DIR/$name.summary-unexpected.json"

    # The schema refuses a user over the limit itself (its trigger
    # bookings_within_max_per_user_on_update), so this forgery switches that
    # guard off for its one statement: what verify must still catch is a
    # database where the guard was bypassed.
    local over_the_limit="ALTER TABLE bookings DISABLE TRIGGER bookings_within_max_per_user_on_update;
        UPDATE bookings SET user_id = 1 WHERE user_id = 3;
        ALTER TABLE bookings ENABLE TRIGGER bookings_within_max_per_user_on_update;"
    local cases=(
        "untouched||$summary|"
        "an unexpired hold left|INSERT INTO holds (event_id, user_id, quantity, expires_at) VALUES (1, 9, 1, now() + interval '1 hour');|$summary|unexpired holds left is 1, expected 0"
        "a user over the limit|$over_the_limit|$summary|users over max_per_user is 1, expected 0"
        "an offer out of order|UPDATE waitlist_entries SET quantity = 1 WHERE user_id = 6;|$summary|offers out of list order is 1, expected 0"
        "passed over before leaving|UPDATE waitlist_entries SET left_at = clock_timestamp() WHERE user_id = 8;|$summary|offers out of list order is 3, expected 0"
        "a seat unsold|UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE user_id = 7; UPDATE events SET booked = booked - 1;|$summary|confirmed seats in DB is 9, expected 10"
        "counter drifted|UPDATE events SET booked = booked - 1;|$summary|events.booked counter is 9, expected 10"
        "a confirm nobody was told of||$RUN_DIR/$name.summary-missing.json|201 confirmed (k6) is 3, expected 4"
        "unexpected answers||$RUN_DIR/$name.summary-unexpected.json|unexpected answers (k6) is 2, expected 0"
    )
    local entry case sql case_summary expected copy=fb_checkout_tampered status caught=0 total=0 missed=()
    for entry in "${cases[@]}"; do
        IFS='|' read -r case sql case_summary expected <<<"$entry"
        total=$((total + 1))
        psql_db postgres -c "DROP DATABASE IF EXISTS $copy" -c "CREATE DATABASE $copy TEMPLATE $db" >/dev/null
        [[ -z $sql ]] || psql_db $copy -c "$sql" >/dev/null
        status=0
        DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$copy" "$VERIFY_BIN" --checkout --capacity 10 \
            --k6-summary "$case_summary" >"$RUN_DIR/$name.case$total.out" 2>&1 || status=$?
        local told=false
        if [[ -z $expected ]]; then
            [[ $status == 0 ]] && told=true
        elif [[ $status == 1 ]] && grep -q -- "^FAIL: .*$expected" "$RUN_DIR/$name.case$total.out"; then
            told=true
        fi
        if $told; then
            caught=$((caught + 1))
            info "ok      $case"
        else
            missed+=("$case")
            info "MISSED  $case (exit status $status, output $RUN_DIR/$name.case$total.out)"
        fi
    done
    python3 - "$RUN_DIR/$name.result.json" "$caught" "$total" "${missed[@]}" <<'PY'
import json, sys
path, caught, total, missed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
json.dump({"scenario": "checkout_checker_self_test", "ok": not missed,
           "figures": {"cases told apart": f"{caught}/{total}"},
           "violations": [f"verify --checkout did not tell: {case}" for case in missed]}, open(path, "w"))
PY
    ((${#missed[@]} == 0))
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
