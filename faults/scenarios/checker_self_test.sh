# shellcheck shell=bash
# Scenario: proof that check.py can tell. After a short clean load, copies of
# its database are tampered with, one way each (a lost acknowledged booking,
# an oversold event, a drifted counter, a user over max_per_user...), and check.py
# must fail on each copy with the matching violation, while the untouched
# database passes.
scenario_checker_self_test() {
    local name=checker_self_test port url db=fb_checker_self_test
    url=$(new_database $db)
    seed "$url" --venue-capacity 1000 --users 2000
    port=$(free_port)
    start_service "$name.service" "$port" "$url"
    info "k6: $LOAD_VUS VUs, 1500 attempts on 1000 seats"
    k6_start "$name" booking_load.js -e BASE_URLS="http://127.0.0.1:$port" \
        -e VUS="$LOAD_VUS" -e ITERATIONS=1500
    k6_wait "$name"
    service_stop "$SERVICE_PID" # CREATE DATABASE ... TEMPLATE needs it idle

    local records=$RUN_DIR/$name.records acked user refused
    read -r acked user refused < <(python3 - "$records" <<'PY'
import json, sys
rows = [json.loads(line[3:]) for line in open(sys.argv[1]) if line.startswith("FB ")]
ok = next(r for r in rows if r["s"] == 201)
no = next(r for r in rows if r["s"] == 409)
print(ok["b"], ok["u"], no["u"])
PY
)
    # The forgeries switch the schema's own guards off first (the capacity
    # CHECK, the per-user limit's trigger): check.py must catch what they let by.
    local unguard="ALTER TABLE events DROP CONSTRAINT events_booked_within_capacity;
        ALTER TABLE bookings DISABLE TRIGGER bookings_within_max_per_user_on_insert;"
    local cases=(
        "untouched||"
        "acknowledged booking deleted|DELETE FROM bookings WHERE id = $acked; UPDATE events SET booked = booked - 1;|acknowledged bookings are not confirmed"
        "acknowledged booking cancelled|UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $acked; UPDATE events SET booked = booked - 1;|acknowledged bookings are not confirmed"
        "counter drifted|UPDATE events SET booked = booked - 1;|events.booked counter is 999, expected 1000"
        "oversold|$unguard UPDATE events SET capacity = capacity - 1;|confirmed bookings in DB is 1000, expected <= 999"
        "refused user booked|$unguard INSERT INTO bookings (event_id, user_id) VALUES (1, $refused); UPDATE events SET booked = booked + 1;|refused but hold a booking"
        "user over max_per_user|$unguard INSERT INTO bookings (event_id, user_id) VALUES (1, $user); UPDATE events SET booked = booked + 1;|users over max_per_user is 1, expected 0"
        "booking nobody asked for|$unguard INSERT INTO bookings (event_id, user_id) VALUES (1, 2000); UPDATE events SET booked = booked + 1;|users who never asked"
        "a record missing||requests but recorded"
    )
    local entry case sql expected copy=fb_tampered status caught=0 total=0 missed=()
    for entry in "${cases[@]}"; do
        IFS='|' read -r case sql expected <<<"$entry"
        total=$((total + 1))
        psql_db postgres -c "DROP DATABASE IF EXISTS $copy" -c "CREATE DATABASE $copy TEMPLATE $db" >/dev/null
        [[ -z $sql ]] || psql_db $copy -c "$sql" >/dev/null
        local case_records=$records
        if [[ $case == "a record missing" ]]; then
            case_records=$RUN_DIR/$name.truncated.records
            head -n -1 "$records" >"$case_records"
        fi
        status=0
        python3 "$FAULTS_DIR/check.py" load --scenario "$case" --records "$case_records" --verify "$VERIFY_BIN" \
            --summary "$RUN_DIR/$name.summary.json" \
            --db-url "postgres://postgres@127.0.0.1:$PG_PORT/$copy" \
            --allow-status 201,409 >"$RUN_DIR/$name.case$total.out" 2>&1 || status=$?
        local told=false
        if [[ -z $expected ]]; then
            [[ $status == 0 ]] && told=true
        elif [[ $status == 1 ]] && grep -q -- "$expected" "$RUN_DIR/$name.case$total.out"; then
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
json.dump({"scenario": "checker_self_test", "ok": not missed,
           "figures": {"cases told apart": f"{caught}/{total}"},
           "violations": [f"check.py did not tell: {case}" for case in missed]}, open(path, "w"))
PY
    ((${#missed[@]} == 0))
}
