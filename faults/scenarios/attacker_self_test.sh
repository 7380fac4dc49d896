# shellcheck shell=bash
# Scenario: proof that each check of faults/attacker.py catches the hole it
# guards. Each case runs the attacker against a service with one hole, on a
# fresh copy of an empty database, with --only that check, and must see it
# FAIL; the untouched case runs every check and must pass. The holes:
#   - sql:FUNCTION  the seat function's text with its owner condition
#     (`AND x.user_id = p_user_id`) deleted, put in after start-up (which
#     applies migrations/functions/ again). Where the route reads its row
#     back by id and buyer in the same transaction (confirm, release, leave)
#     that read still refuses and rolls back: those cases show the second
#     check holding (the attacker passes), and the stand-in removes both;
#   - stand-in:MODE  for the checks written in Rust (token verification,
#     the by-id reads' and lists' owner condition, the admin check, sign-up's
#     silence, the pass's holder, keys per buyer) a patched build does not fit the time:
#     `attacker.py stand-in MODE`, a proxy in front of the service, puts the
#     hole in front of it instead (the modes: attacker.py's header);
#   - limits  the service started with its rate limits raised by config;
#   - compose  a copy of docker-compose.yml with a default for one secret.
scenario_attacker_self_test() {
    local name=attacker_self_test template=fb_attacker_template
    psql_db postgres -c "DROP DATABASE IF EXISTS $template" -c "CREATE DATABASE $template" >/dev/null
    local owner="stand-in:any-owner owner:,stolen ticket: POST" token="stand-in:any-token token:"
    local admin="stand-in:buyer-is-admin admin only:"
    run_self_test "$name" "faults/attacker.py" $template attack_with_hole \
        "untouched||clean|" \
        "cancel_booking without owner||sql:cancel_booking owner: DELETE /bookings|FAIL  owner: DELETE /bookings/{id}" \
        "confirm_hold without owner: the read-back still refuses||sql:confirm_hold owner: POST /holds|" \
        "release_hold without owner: the read-back still refuses||sql:release_hold owner: DELETE /holds|" \
        "leave_waitlist without owner: the read-back still refuses||sql:leave_waitlist owner: DELETE /waitlist|" \
        "queue_ticket_status without owner||sql:queue_ticket_status stolen ticket: GET|FAIL  stolen ticket: GET /queue/{id}" \
        "no owner check: read a booking||$owner|FAIL  owner: GET /bookings/{id}" \
        "no owner check: read a hold||$owner|FAIL  owner: GET /holds/{id}" \
        "no owner check: confirm a hold||$owner|FAIL  owner: POST /holds/{id}/confirm" \
        "no owner check: release a hold||$owner|FAIL  owner: DELETE /holds/{id}" \
        "no owner check: read an entry||$owner|FAIL  owner: GET /waitlist/{id}" \
        "no owner check: leave the list||$owner|FAIL  owner: DELETE /waitlist/{id}" \
        "no owner check: a pass's holder||$owner|FAIL  stolen ticket: POST /bookings" \
        "lists without owner||stand-in:everyones-lists lists:|FAIL  lists: GET /me/bookings" \
        "admin routes open to buyers: user||$admin|FAIL  admin only: GET /users/{id} with" \
        "admin routes open to buyers: user's bookings||$admin|FAIL  admin only: GET /users/{id}/bookings" \
        "admin routes open to buyers: event's bookings||$admin|FAIL  admin only: GET /events/{id}/bookings" \
        "tokens unverified: forged||$token|FAIL  token: forged" \
        "tokens unverified: alg none||$token|FAIL  token: alg none" \
        "tokens unverified: garbage||$token|FAIL  token: garbage" \
        "tokens unverified: expired||$token|FAIL  token: expired" \
        "tokens unverified: unknown kid||$token|FAIL  token: unknown kid" \
        "sign-up tells taken emails||stand-in:reveal-emails sign-up:|FAIL  sign-up: a taken email" \
        "idempotency keys shared by all buyers||stand-in:global-keys idempotency key:|FAIL  idempotency key:" \
        "token rate limit raised||limits flood:|FAIL  flood: one token" \
        "address rate limit raised||limits flood:|FAIL  flood: one address" \
        "compose secret with a default||compose compose:|FAIL  compose: refuses to start without FLASHBOOK_PASS_SECRET"
}

# attack_with_hole DB HOLE [ONLY...]: a service on DB with HOLE (see above),
# then the attacker, limited to the checks whose name holds one of ONLY (the
# words joined by spaces, then split at commas); stops what it started.
# Cases with the same HOLE and ONLY share one run: its output and status are
# kept in $RUN_DIR and given again.
attack_with_hole() {
    local db=$1 hole=$2 url options=(--flood-from 127.0.0.2 --bystander-from 127.0.0.3) status=0 only text kept
    shift 2
    kept=$RUN_DIR/attacker_self_test.run-$(printf '%s' "$hole $*" | tr -c 'a-zA-Z0-9' _)
    if [[ -f $kept.status ]]; then
        cat "$kept.out"
        return "$(<"$kept.status")"
    fi
    url="postgres://postgres@127.0.0.1:$PG_PORT/$db"
    IFS=, read -r -a only <<<"$*"
    for text in "${only[@]}"; do options+=(--only "$text"); done
    local limits=("${ATTACKER_LIMITS[@]}")
    [[ $hole == limits ]] && limits=(FLASHBOOK_RATE_PER_ADDRESS=1000000 FLASHBOOK_BURST_PER_ADDRESS=1000000
        FLASHBOOK_RATE_PER_TOKEN=1000000 FLASHBOOK_BURST_PER_TOKEN=1000000)
    # Many sign-ups from one address here, one attacker run after another.
    start_service "attacker_self_test.$db" "$url" "${limits[@]}" FLASHBOOK_ACCOUNT_RATE_PER_MINUTE=10000
    local base=$SERVICE_URL service=$SERVICE_PID stand_in=""
    case $hole in
    sql:*)
        sed 's/ AND [a-z]\.user_id = p_user_id//g' "$ROOT/migrations/functions/${hole#sql:}.sql" | psql_db "$db" ;;
    stand-in:*)
        local port
        port=$(free_port)
        FLASHBOOK_ADMIN_TOKEN=$ADMIN_TOKEN FLASHBOOK_TOKEN_KEYS=$TOKEN_KEYS python3 "$FAULTS_DIR/attacker.py" \
            stand-in "${hole#stand-in:}" --upstream "$base" --port "$port" --psql "psql -XAtq -d $url" &
        stand_in=$!
        base=http://127.0.0.1:$port
        wait_until 10 0.1 curl -fs -o /dev/null "$base/health" || die "the stand-in did not answer on $base"
        ;;
    esac
    local compose_file=$ROOT/docker-compose.yml
    if [[ $hole == compose ]]; then
        compose_file=$RUN_DIR/docker-compose.holed.yml
        # shellcheck disable=SC2016 # the compose file's ${...}, not the shell's
        sed 's/\${FLASHBOOK_PASS_SECRET:?[^}]*}/${FLASHBOOK_PASS_SECRET:-change-me-pass-secret}/' \
            "$ROOT/docker-compose.yml" >"$compose_file"
    fi
    attack_compose_file "$compose_file" "$base" "$url" "${options[@]}" >"$kept.out" 2>&1 || status=$?
    service_stop "$stand_in"
    service_stop "$service"
    echo "$status" >"$kept.status"
    cat "$kept.out"
    return "$status"
}
