# shellcheck shell=bash
# Scenario: proof that `verify faults load` can tell. After a short clean
# load, copies of its database are tampered with, one way each (a lost
# acknowledged booking, an oversold event, a drifted counter, a user over
# max_per_user...), and so are copies of its k6 records (a record missing;
# for the failover proofs' --failover: a request over the wait bound, one
# without an answer outside the kill window; for --expect-loss: a 500 beside
# the expected loss).
# The check must fail on each with the matching violation, and pass the
# untouched run, under --failover too, and a loss alone under --expect-loss.
scenario_checker_self_test() {
    local name=checker_self_test url db=fb_checker_self_test
    url=$(new_database $db)
    seed "$url" --venue-capacity 1000 --users 2000
    start_service "$name.service" "$url"
    info "k6: $LOAD_VUS VUs, 1500 attempts on 1000 seats"
    k6_start "$name" booking_load.js -e BASE_URLS="$SERVICE_URL" \
        -e VUS="$LOAD_VUS" -e ITERATIONS=1500
    k6_wait "$name"
    service_stop "$SERVICE_PID" # CREATE DATABASE ... TEMPLATE needs it idle

    local acked user refused kill_at
    read -r acked user refused kill_at < <("$VERIFY_BIN" faults tamper pick "$RUN_DIR/$name.records")
    local delete_acked="DELETE FROM bookings WHERE id = $acked; UPDATE events SET booked = booked - 1;"
    # The forgeries switch the schema's own guards off first (the capacity
    # CHECK, the per-user limit's trigger): the check must catch what they let by.
    local unguard="ALTER TABLE events DROP CONSTRAINT events_booked_within_capacity; ALTER TABLE bookings DISABLE TRIGGER bookings_within_max_per_user_on_insert;"
    # A database kill in the middle of the sale, for --failover.
    local failover="--failover --mark db_kill_1=$kill_at"
    run_self_test "$name" "verify faults load" $db check_tampered \
        "untouched||-|" \
        "acknowledged booking deleted|$delete_acked|-|acknowledged bookings are not confirmed" \
        "acknowledged booking cancelled|UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $acked; UPDATE events SET booked = booked - 1;|-|acknowledged bookings are not confirmed" \
        "counter drifted|UPDATE events SET booked = booked - 1;|-|events.booked counter is 999, expected 1000" \
        "oversold|$unguard UPDATE events SET capacity = capacity - 1;|-|confirmed bookings in DB is 1000, expected <= 999" \
        "refused user booked|$unguard INSERT INTO bookings (event_id, user_id) VALUES (1, $refused); UPDATE events SET booked = booked + 1;|-|refused but hold a booking" \
        "user over max_per_user|$unguard INSERT INTO bookings (event_id, user_id) VALUES (1, $user); UPDATE events SET booked = booked + 1;|-|users over max_per_user is 1, expected 0" \
        "booking nobody asked for|$unguard INSERT INTO bookings (event_id, user_id) VALUES (1, 2000); UPDATE events SET booked = booked + 1;|-|users who never asked" \
        "a record missing||missing|requests but recorded" \
        "failover: untouched||- $failover|" \
        "failover: a request waited over the bound||slow $failover|waited longer than the bound" \
        "failover: no answer outside the kill window||unanswered $failover|no answer outside the kill windows" \
        "failover: no kill after which the sale went on||- --failover --mark db_kill_1=$(now_ms)|no booking succeeded after database kill 1" \
        "expect loss: a loss alone|$delete_acked|- --expect-loss|" \
        "expect loss: nothing lost||- --expect-loss|no acknowledged booking was lost" \
        "expect loss: a loss and a 500|$delete_acked|status500 --expect-loss|answers with a status outside"
}

# check_tampered DB TAMPER [verify faults load options...]: the check on the
# copy DB and the run's records, tampered with as TAMPER says (- leaves them
# as they are; the modes: verify faults tamper, verify/src/faults.rs).
check_tampered() {
    local db=$1 tamper=$2 name=checker_self_test; shift 2
    local records=$RUN_DIR/$name.records
    if [[ $tamper != - ]]; then
        "$VERIFY_BIN" faults tamper "$tamper" "$records" >"$RUN_DIR/$name.$tamper.records"
        records=$RUN_DIR/$name.$tamper.records
    fi
    "$VERIFY_BIN" faults load --scenario "$name" --records "$records" \
        --summary "$RUN_DIR/$name.summary.json" --db-url "postgres://postgres@127.0.0.1:$PG_PORT/$db" \
        --allow-status 201,409 "$@"
}
