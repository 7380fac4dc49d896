# shellcheck shell=bash
# The compose stack's closed doors, checked once it is up (run_tests.sh
# --compose, after compose_up; the proofs that follow are the other half:
# their crowd of 1,000 VUs and 10,000 buyers from one address must see no
# 429, or their checks fail). Sourced by run_tests.sh, whose compose backend
# (compose, BASE_URL, info, fail) it uses; about half a minute, every call bounded.
#   - the attacks of faults/attacker.py through the balancer (another
#     buyer's token on every by-id route, forged tokens, a stolen ticket,
#     one token's flood while another buyer books...), and compose refusing
#     to start without each secret (${VAR:?});
#   - one client flooding with one token gets 429 problem+json with
#     Retry-After from the balancer itself, while another token is still served;
#   - GET /metrics is not reachable through the balancer;
#   - the replicas are logged in as a role that is not a superuser, which
#     reads and writes rows but may not change the schema
#     (deploy/postgres-app-role.sh).

readonly FLOOD_REQUESTS=300 # over the balancer's 200 per token in 10 s
readonly ATTACKER_TIMEOUT_S=120
# What the service's role must be refused: DDL of every kind.
readonly SCHEMA_CHANGES=("CREATE TABLE intruder (id int)" "DROP TABLE bookings"
    "ALTER TABLE bookings ADD COLUMN intruder int" "TRUNCATE bookings"
    "CREATE OR REPLACE FUNCTION take_seats() RETURNS int LANGUAGE sql AS 'SELECT 1'")

compose_check_closed() {
    local name i token args=() codes limited answer secrets=("${COMPOSE_SECRETS[@]}") options=()
    ((${#COMPOSE_HA_FILE[@]} == 0)) || secrets+=("${COMPOSE_HA_SECRETS[@]}")
    for name in "${secrets[@]}"; do options+=(--secret "$name"); done
    compose_command
    # The database is read as the container's superuser, through the socket
    # (docker exec: the attacker reads it before and after each request).
    # shellcheck disable=SC2016 # expanded by the db container's shell
    timeout "$ATTACKER_TIMEOUT_S" python3 "$ROOT/faults/attacker.py" attack --base-url "$BASE_URL" \
        --psql "$(printf '%q ' docker exec -i "$(compose ps -q db)" sh -c 'psql -XAtq -U "$POSTGRES_USER" -d "$POSTGRES_DB"')" \
        --compose "$(printf '%q ' "${COMPOSE_COMMAND[@]}")" "${options[@]}" | tee "$RUN_DIR/attacker.out" | sed 's/^/    /' ||
        fail "an attack got through the compose stack, or the attacker could not run within ${ATTACKER_TIMEOUT_S} s (see above; $RUN_DIR/attacker.out)"

    token=flood-$(random_secret)
    for ((i = 0; i < FLOOD_REQUESTS; i++)); do args+=(-o /dev/null "$BASE_URL/health"); done
    # One curl, one kept-alive connection: as fast as one client can send.
    codes=$(curl -s --max-time 60 -H "Authorization: Bearer $token" -w '%{http_code}\n' "${args[@]}") ||
        fail "the flood of GET $BASE_URL/health did not finish within 60 s"
    limited=$(grep -c '^429$' <<<"$codes" || true)
    # Lower case: HAProxy sends header names so.
    answer=$(curl -s --max-time 5 -i -H "Authorization: Bearer $token" "$BASE_URL/health" | tr -d '\r' | tr '[:upper:]' '[:lower:]')
    [[ $answer == "http/1.1 429"* && $answer == *"retry-after: 10"* && $answer == *"at the balancer"* ]] ||
        fail "after $FLOOD_REQUESTS requests with one token the balancer did not answer 429 with Retry-After: $(head -c 400 <<<"$answer")"
    [[ $(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer other-$token" "$BASE_URL/health") == 200 ]] ||
        fail "another token was refused while one token flooded"
    info "one token's flood: $limited of $FLOOD_REQUESTS answered 429, then the balancer's own 429 with Retry-After; another token served"

    [[ $(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$BASE_URL/metrics") == 404 ]] ||
        fail "GET /metrics is reachable through the balancer"
    info "GET /metrics through the balancer: 404 (Prometheus scrapes the replicas' port 9464)"

    # shellcheck disable=SC2016 # expanded by the db container's shell
    answer=$(compose exec -T db sh -c 'psql -X -At -U "$POSTGRES_USER" -d "$POSTGRES_DB"' 2>&1 <<'SQL'
SELECT DISTINCT usename || CASE WHEN rolsuper THEN ' (superuser)' ELSE '' END
FROM pg_stat_activity JOIN pg_roles ON rolname = usename WHERE application_name = 'flashbook'
SQL
    ) ||
        fail "could not ask the database who the replicas are: $answer"
    [[ -n $answer && $answer != *superuser* ]] ||
        fail "the replicas are logged in as: ${answer:-nobody}; expected a role that is not a superuser"
    info "the replicas are logged in as $answer (not a superuser)"
    compose_check_least_privilege
}

# as_service_role SQL: runs SQL in the db container as the replicas' role
# (the socket's trust stands in for its password: privileges are the role's).
as_service_role() {
    compose_command
    timeout 20 "${COMPOSE_COMMAND[@]}" exec -T db psql -X -q -At -v ON_ERROR_STOP=1 -h /var/run/postgresql \
        -U "${FLASHBOOK_DB_USER:-flashbook}" -d "${POSTGRES_DB:-flashbook}" -c "$1" 2>&1
}

compose_check_least_privilege() {
    local sql answer
    answer=$(as_service_role "SELECT count(*) FROM bookings") ||
        fail "the service's database role cannot read bookings: $answer"
    for sql in "${SCHEMA_CHANGES[@]}"; do
        if answer=$(as_service_role "$sql"); then
            fail "the service's database role may change the schema: $sql"
        fi
        [[ $answer == *"permission denied"* || $answer == *"must be owner"* ]] ||
            fail "$sql as the service's role failed, but not for want of rights: $answer"
    done
    info "the service's database role reads rows and is refused all ${#SCHEMA_CHANGES[@]} schema changes tried (CREATE, DROP, ALTER, TRUNCATE, CREATE FUNCTION: permission denied)"
}
