# shellcheck shell=bash
# `./run_tests.sh --compose --ha`: the one-shot proof on the highly available
# stack (docker-compose.yml + docker-compose.ha.yml: a Patroni pair, see
# docs/high-availability.md), with the primary's container killed in the
# middle of the k6 run. Sourced by run_tests.sh, whose compose backend
# (compose, compose_up, compose_seed, RUN_DIR, fail, info) it uses.
#
# The sale is the same (1,000 seats, 10,000 attempts by 10,000 users), but
# the load is faults/k6/booking_load.js: every client sends an
# Idempotency-Key and retries every non-final answer (503, no response), and
# every answer is recorded, so that `verify faults load` can tell that each 201
# is on the new primary. 200 VUs pause about 1.5 s between attempts, so the
# sale lasts several seconds and the kill lands while seats are still on
# sale (1,000 VUs at once would sell out in their first wave).

readonly HA_VUS=200
readonly HA_PAUSE_MS=1500
readonly HA_KILL_AFTER_RECORDS=250
readonly HA_LOAD_TIMEOUT_S=300
HA_PORTS=()       # host ports of db and db2 (loopback), read before the kill
declare -A HA_CONTAINER=() # container id of db and db2
HA_KILL_MARK=()   # --mark db_kill_1=EPOCH_MS for verify faults load
HA_KILLED=""

# The database URL for tools on the host: both nodes' published ports.
compose_ha_url() {
    echo "postgres://${POSTGRES_USER:-postgres}:$POSTGRES_PASSWORD@127.0.0.1:${HA_PORTS[0]},127.0.0.1:${HA_PORTS[1]}/${POSTGRES_DB:-flashbook}?target_session_attrs=read-write"
}

# compose_ha_primary: the service (db or db2) whose PostgreSQL is writable.
compose_ha_primary() {
    local i service=(db db2)
    for i in 0 1; do
        if [[ $(PGCONNECT_TIMEOUT=2 psql -X -At "postgres://${POSTGRES_USER:-postgres}:$POSTGRES_PASSWORD@127.0.0.1:${HA_PORTS[$i]}/postgres" \
            -c 'SELECT NOT pg_is_in_recovery()' 2>/dev/null) == t ]]; then
            echo "${service[$i]}"
            return 0
        fi
    done
    return 1
}

# db2 is the synchronous standby: before that, a failover would have nowhere to go.
compose_ha_db2_sync() {
    [[ $(PGCONNECT_TIMEOUT=2 psql -X -At "$(compose_ha_url)" \
        -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'db2' AND state = 'streaming'" 2>/dev/null) == sync ]]
}

compose_ha_up() {
    compose_up
    local service port
    HA_PORTS=()
    for service in db db2; do
        port=$(compose port "$service" 5432 2>/dev/null | sed 's/.*://')
        [[ -n $port ]] || fail "$service publishes no port 5432 (docker-compose.ha.yml)"
        HA_PORTS+=("$port")
        HA_CONTAINER[$service]=$(compose ps -q "$service")
    done
    wait_until 120 1 compose_ha_db2_sync || fail "db2 did not become the synchronous standby within 120 s"
    info "db primary, db2 its synchronous standby"
    compose_ha_check_closed
}

# Patroni's REST API refuses an unsafe request without its password (a
# harmless one: there is no scheduled switchover to cancel); etcd is not on
# the API replicas' network, refuses a request without a user from the
# nodes' network, and Patroni's user reads Patroni's leader key but may write
# nothing else. The anonymous check is then shown to catch an etcd without
# authentication (compose_ha_check_catches_open_etcd).
compose_ha_check_closed() {
    local status answer
    status=$(compose exec -T db python3 -c 'import urllib.request as r, urllib.error as e
try: r.urlopen(r.Request("http://127.0.0.1:8008/switchover", method="DELETE"), timeout=5); print(200)
except e.HTTPError as error: print(error.code)' 2>&1) || true
    [[ $status == 401 ]] || fail "Patroni's REST API answered DELETE /switchover without credentials with $status, not 401"
    if compose exec -T api bash -c 'exec 3<>/dev/tcp/etcd/2379' >/dev/null 2>&1; then
        fail "an API replica can reach etcd:2379"
    fi
    etcd_refuses_anonymous db etcd:2379 || fail "etcd answered an anonymous etcdctl get --prefix / from db: its authentication is off"
    # shellcheck disable=SC2016 # expanded by the db container's shell
    answer=$(compose exec -T db sh -c 'ETCDCTL_USER=$PATRONI_ETCD3_USERNAME ETCDCTL_PASSWORD=$PATRONI_ETCD3_PASSWORD \
        etcdctl --endpoints=etcd:2379 --command-timeout=5s get --print-value-only /service/flashbook/leader' 2>&1) || true
    [[ $answer == "$(compose_ha_primary)" ]] ||
        fail "Patroni's etcd user did not read the leader key as the primary's name: $answer"
    # shellcheck disable=SC2016 # expanded by the db container's shell
    answer=$(compose exec -T db sh -c 'ETCDCTL_USER=$PATRONI_ETCD3_USERNAME ETCDCTL_PASSWORD=$PATRONI_ETCD3_PASSWORD \
        etcdctl --endpoints=etcd:2379 --command-timeout=5s put /intruder 1' 2>&1) &&
        fail "Patroni's etcd user may write outside Patroni's keys (put /intruder)"
    [[ $answer == *"permission denied"* ]] || fail "Patroni's etcd user's put /intruder failed, but not for want of rights: $answer"
    compose_ha_check_catches_open_etcd
    info "Patroni's REST API: 401 without its password; etcd unreachable from the API replicas, refuses anonymous requests (user name is empty), Patroni's user reads the leader key and is denied other keys"
}

# etcd_refuses_anonymous SERVICE ENDPOINT: etcdctl without a user, run in
# SERVICE's container, is refused by the etcd at ENDPOINT for want of a user
# (status 1 if it is answered; an etcd that cannot be reached fails the run,
# as it proves nothing).
etcd_refuses_anonymous() {
    local answer
    answer=$(compose exec -T "$1" etcdctl --endpoints="$2" --dial-timeout=3s --command-timeout=5s \
        get --prefix / --keys-only 2>&1) && return 1
    [[ $answer == *"user name is empty"* ]] ||
        fail "an anonymous etcdctl request from $1 to $2 failed, but not for want of a user: $answer"
}

# The check above against an etcd without authentication, started for it on
# loopback in the etcd container (the same binary and flags, minus
# etcd-with-auth.sh) and stopped after it: the check must report the hole.
readonly OPEN_ETCD_ENDPOINT=127.0.0.1:23799
compose_ha_check_catches_open_etcd() {
    compose exec -T -d etcd sh -c "echo \$\$ >/tmp/open-etcd.pid && exec etcd --name=open \
        --data-dir=/tmp/open-etcd --listen-client-urls=http://$OPEN_ETCD_ENDPOINT \
        --advertise-client-urls=http://$OPEN_ETCD_ENDPOINT --listen-peer-urls=http://127.0.0.1:23809 \
        --initial-advertise-peer-urls=http://127.0.0.1:23809 --initial-cluster=open=http://127.0.0.1:23809 \
        --logger=zap --log-level=error" || fail "could not start an etcd without authentication in the etcd container"
    wait_until 30 1 open_etcd_answers || fail "the etcd without authentication did not answer within 30 s"
    local caught=true
    etcd_refuses_anonymous etcd "$OPEN_ETCD_ENDPOINT" && caught=false
    # shellcheck disable=SC2016 # expanded by the etcd container's shell
    compose exec -T etcd sh -c 'kill "$(cat /tmp/open-etcd.pid)" && rm -rf /tmp/open-etcd /tmp/open-etcd.pid' ||
        fail "could not stop the etcd without authentication"
    $caught || fail "the anonymous etcd check passed against an etcd without authentication: it catches nothing"
}

open_etcd_answers() {
    compose exec -T etcd etcdctl --endpoints="$OPEN_ETCD_ENDPOINT" member list >/dev/null 2>&1
}

# The load, the kill of the primary's container once HA_KILL_AFTER_RECORDS
# answers were recorded, and the wait for the load's end.
compose_ha_run_load() {
    local records=$RUN_DIR/ha.records k6_pid primary known_primary deadline
    # Container ids are known before the load (compose ps is slow): the kill
    # must not wait for a lookup while seats are selling.
    known_primary=$(compose_ha_primary) || fail "no writable primary before the load"
    chmod 0777 "$RUN_DIR" # the k6 image runs as an unprivileged user
    : >"$records"
    chmod 0666 "$records"
    compose run --rm k6 run --quiet --no-color --log-format=raw \
        --console-output=/results/ha.records -e SUMMARY_FILE=/results/ha.summary.json \
        -e BASE_URLS=http://lb:8080 -e EVENT_ID="$EVENT_ID" -e ITERATIONS="$ATTEMPTS" -e TOKENS_FILE="$(tokens_file)" \
        -e VUS="$HA_VUS" -e PAUSE_MS="$HA_PAUSE_MS" -e IDEMPOTENT=1 -e MAX_ATTEMPTS=150 \
        -e RETRY_PAUSE_MS=200 -e MAX_DURATION=240s -e KEY_PREFIX="ha$(date +%s%3N)" \
        /faults/k6/booking_load.js >"$RUN_DIR/k6.log" 2>&1 &
    k6_pid=$!
    deadline=$((SECONDS + 120))
    while (($(grep -c '^FB ' "$records" 2>/dev/null || true) < HA_KILL_AFTER_RECORDS)); do
        kill -0 "$k6_pid" 2>/dev/null || { tail -n 20 "$RUN_DIR/k6.log" >&2; fail "k6 ended before $HA_KILL_AFTER_RECORDS answers (log $RUN_DIR/k6.log)"; }
        ((SECONDS < deadline)) || fail "k6 recorded fewer than $HA_KILL_AFTER_RECORDS answers within 120 s"
        sleep 0.1
    done
    # (A quick look again: Patroni may have moved the primary meanwhile.)
    primary=$(compose_ha_primary) || primary=$known_primary
    docker kill --signal KILL "${HA_CONTAINER[$primary]}" >/dev/null
    HA_KILL_MARK=(--mark "db_kill_1=$(date +%s%3N)")
    HA_KILLED=$primary
    info "killed the primary's container ($primary, SIGKILL) after $(grep -c '^FB ' "$records") answers"
    local status=0
    timeout "$HA_LOAD_TIMEOUT_S" tail --pid="$k6_pid" -f /dev/null || fail "k6 did not end within $HA_LOAD_TIMEOUT_S s"
    wait "$k6_pid" || status=$?
    # shellcheck disable=SC2034 # run_tests.sh's
    K6_STATUS=$status
    info "k6 exit status $status (log: $RUN_DIR/k6.log)"
    info "primary now: $(compose_ha_primary || echo none)"
}

# The same checks as the local proof, from every recorded answer and the
# last primary (verify faults load, verify/src/faults.rs): exactly the
# capacity acknowledged and confirmed, counter = confirmed, nobody twice,
# every 201 on the new primary, every client ending with a final answer (one
# 201 or one 409 sold_out each), never a hang (--failover: every request over
# within the wait bound, none without an answer outside the kill window), and
# the failover time. The verify binary runs here against the nodes'
# published ports (the db container it would use may be the dead one).
compose_ha_verify() {
    cargo build --release --locked --quiet --workspace --bin verify || fail "cargo build --bin verify failed"
    "$RELEASE_DIR/verify" faults load --scenario "compose HA (killed $HA_KILLED)" \
        --records "$RUN_DIR/ha.records" --summary "$RUN_DIR/ha.summary.json" \
        --db-url "$(compose_ha_url)" --event-id "$EVENT_ID" --result "$RUN_DIR/ha.result.json" \
        --idempotent --expect-sold-out --clients "$ATTEMPTS" --allow-status 201,409,503 --failover \
        --require-status 201 "${HA_KILL_MARK[@]}" ||
        fail "the HA proof found violations (see above; records in $RUN_DIR/ha.records)"
}
