# shellcheck shell=bash
# A highly available PostgreSQL pair on loopback, for the failover proofs
# (faults/scenarios/primary_failover*.sh): one etcd member and two Patroni
# nodes (PostgreSQL 15 from Debian's packages), every port a free one, every
# file below one directory. Sourced after ci/lib/postgres.sh.
#
#   ha_start DIR [sync|async]   start etcd, node1 (the first primary), node2;
#                               returns once node2 streams (and, in sync mode,
#                               is the synchronous standby)
#   ha_database_url DB          both nodes, target_session_attrs=read-write
#   ha_leader                   the node holding the leader key (node1/node2)
#   ha_kill_node NODE           SIGKILL of the node's Patroni and PostgreSQL
#                               (postmaster and every backend) at once
#   ha_start_node NODE          start a node's Patroni again (it rejoins)
#   ha_wait_leader NODE SECS    until NODE is leader and its PostgreSQL is writable
#   ha_wait_sync NODE SECS      until NODE streams as the synchronous standby
#   ha_pause_replication / ha_drop_replication   (async mode) stop, then cut,
#                               the WAL stream out of node1
#   ha_stop                     stop everything ha_start started
#
# Why Patroni + etcd and why these settings: docs/high-availability.md.
# Everything runs as the postgres user (PostgreSQL refuses root); each
# process is started in a session of its own so a node dies as a whole.

HA_DIR=""
HA_MODE=""
HA_ETCD_PORT=""
HA_PROXY=false
declare -A HA_PG_PORT=() HA_API_PORT=()
readonly HA_NODES=(node1 node2)
# Patroni's timing (bootstrap.dcs), chosen for a fast failover on one machine:
#   ttl 6         the leader key's lease: a dead primary's key expires at most
#                 6 s after its last renewal, and only then may the standby
#                 take over. Below ~5 s a loaded 2-core machine (k6, two
#                 services, cargo builds) risks a healthy primary missing a
#                 renewal and demoting itself.
#   loop_wait 1   the HA loop runs every second (renewal, sync-standby checks)
#   retry_timeout 2  DCS and PostgreSQL operations retried for 2 s at most;
#                 Patroni requires loop_wait + 2 * retry_timeout <= ttl
HA_TTL=${HA_TTL:-6}
HA_LOOP_WAIT=${HA_LOOP_WAIT:-1}
HA_RETRY_TIMEOUT=${HA_RETRY_TIMEOUT:-2}
# The one Patroni template, shared with the container image.
HA_PATRONI_CONFIG=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts/standins" && pwd)/patroni-config.sh

ha_say() { printf '    ha: %s\n' "$*"; }

# ha_spawn NAME LOG COMMAND...: starts COMMAND in the background in a new
# session, as the postgres user when we are root; its own pid (not that of a
# wrapper) ends up in $HA_DIR/NAME.pid, and ha_pid NAME prints it.
ha_spawn() {
    local name=$1 log=$2 pidfile=$HA_DIR/$1.pid
    shift 2
    rm -f "$pidfile"
    local run=()
    [[ $(id -u) -eq 0 ]] && run=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    # shellcheck disable=SC2016 # expanded by the inner sh
    setsid "${run[@]}" sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$log" 2>&1 </dev/null &
    wait_until 5 0.05 test -s "$pidfile" || { echo "ha: $name did not start (log $log)" >&2; return 1; }
}

ha_pid() { cat "$HA_DIR/$1.pid" 2>/dev/null; }

# ha_tree PID: PID and its children (a postmaster's backends, socat's
# per-connection copies), read from /proc.
ha_tree() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    echo "$pid"
    ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' '
}

# ha_install: Patroni and etcd from Debian's packages when missing.
ha_install() {
    ensure_command patroni patroni && ensure_command etcd etcd-server &&
        ensure_command etcdctl etcd-client && ensure_command socat socat
}

# ha_start DIR [sync|async]
ha_start() {
    HA_DIR=$1
    HA_MODE=${2:-sync}
    rm -rf "$HA_DIR"
    mkdir -p "$HA_DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres "$HA_DIR"
    chmod 700 "$HA_DIR"

    HA_ETCD_PORT=$(free_port)
    local peer_port; peer_port=$(free_port)
    ha_spawn etcd "$HA_DIR/etcd.log" etcd --name ha --data-dir "$HA_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$HA_ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$HA_ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "ha=http://127.0.0.1:$peer_port" \
        --initial-cluster-state new --logger zap --log-level warn || return 1
    wait_until 10 0.1 ha_etcdctl endpoint health || {
        tail -n 20 "$HA_DIR/etcd.log" >&2
        echo "ha: etcd did not answer within 10 s (log $HA_DIR/etcd.log)" >&2
        return 1
    }
    ha_say "etcd on 127.0.0.1:$HA_ETCD_PORT (pid $(ha_pid etcd))"

    local node
    for node in "${HA_NODES[@]}"; do
        HA_PG_PORT[$node]=$(free_port)
        HA_API_PORT[$node]=$(free_port)
    done
    # Async mode: node1's WAL reaches node2 through a TCP proxy that the
    # scenario can pause (ha_pause_replication), as a slow network would.
    local node1_address=127.0.0.1:${HA_PG_PORT[node1]}
    if [[ $HA_MODE == async ]]; then
        local proxy_port; proxy_port=$(free_port)
        ha_spawn proxy "$HA_DIR/proxy.log" socat "TCP-LISTEN:$proxy_port,bind=127.0.0.1,reuseaddr,fork" \
            "TCP:127.0.0.1:${HA_PG_PORT[node1]}" || return 1
        HA_PROXY=true
        node1_address=127.0.0.1:$proxy_port
        ha_say "replication proxy 127.0.0.1:$proxy_port -> node1 (pid $(ha_pid proxy))"
    fi
    ha_write_config node1 "$node1_address"
    ha_write_config node2 "127.0.0.1:${HA_PG_PORT[node2]}"

    # node1 first, so that it bootstraps the cluster and is the first primary.
    ha_start_node node1
    ha_wait_leader node1 60 || return 1
    ha_start_node node2
    if [[ $HA_MODE == sync ]]; then
        ha_wait_sync node2 60 || return 1
    else
        ha_wait_streaming node2 60 || return 1
    fi
    ha_say "node1 primary on 127.0.0.1:${HA_PG_PORT[node1]}, node2 $HA_MODE standby on 127.0.0.1:${HA_PG_PORT[node2]}"
}

# ha_write_config NODE CONNECT_ADDRESS: the node's Patroni YAML, from the
# template the container path uses too (scripts/standins/patroni-config.sh),
# with loopback addresses, paths below the node's directory, and logins
# trusted on loopback (the password is set, and never asked for).
ha_write_config() {
    local node=$1 address=$2 dir=$HA_DIR/$1 synchronous=true
    mkdir -p "$dir"
    [[ $HA_MODE == sync ]] || synchronous=false
    PATRONI_NAME=$node PGDATA=$dir/data POSTGRES_PASSWORD=flashbook \
        PATRONI_RESTAPI_LISTEN=127.0.0.1:${HA_API_PORT[$node]} \
        PATRONI_RESTAPI_ADDRESS=127.0.0.1:${HA_API_PORT[$node]} \
        ETCD_HOSTS=127.0.0.1:$HA_ETCD_PORT \
        PATRONI_PG_LISTEN=127.0.0.1:${HA_PG_PORT[$node]} PATRONI_PG_ADDRESS=$address \
        PG_BIN_DIR=$(pg_bin_dir) PG_SOCKET_DIR=$dir PATRONI_PGPASS=$dir/pgpass \
        PATRONI_HBA_ADDRESS=127.0.0.1/32 PATRONI_HBA_METHOD=trust \
        PATRONI_TTL=$HA_TTL PATRONI_LOOP_WAIT=$HA_LOOP_WAIT PATRONI_RETRY_TIMEOUT=$HA_RETRY_TIMEOUT \
        PATRONI_SYNCHRONOUS=$synchronous \
        "$HA_PATRONI_CONFIG" >"$dir/patroni.yml" || return 1
    [[ $(id -u) -eq 0 ]] && chown -R postgres "$dir"
    return 0
}

ha_start_node() {
    local node=$1
    ha_spawn "$node" "$HA_DIR/$node/patroni.out" env HOME="$HA_DIR/$node" \
        patroni "$HA_DIR/$node/patroni.yml" || return 1
    ha_say "$node: Patroni pid $(ha_pid "$node"), PostgreSQL 127.0.0.1:${HA_PG_PORT[$node]}, REST 127.0.0.1:${HA_API_PORT[$node]}"
}

# The postmaster's pid from its pid file, if it runs.
ha_postmaster_pid() {
    local file=$HA_DIR/$1/data/postmaster.pid pid
    [[ -r $file ]] || return 1
    pid=$(head -n 1 "$file")
    # After a SIGKILL the file stays: make sure the pid is still this
    # node's postmaster, not a process that got the number since.
    [[ -n $pid ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "-D $HA_DIR/$1/data" &&
        echo "$pid"
}

# ha_kill_node NODE: as when the machine dies: one kill(1) call sends
# SIGKILL to the node's Patroni, its postmaster and every postmaster child
# (backends, walsenders: PostgreSQL puts each in a process group of its own,
# so a group kill would miss them). No agent survives to restart PostgreSQL
# in place, no backend survives to finish a commit.
ha_kill_node() {
    local node=$1 postmaster pids=()
    mapfile -t pids < <(ha_tree "$(ha_pid "$node")")
    if postmaster=$(ha_postmaster_pid "$node"); then
        mapfile -t -O "${#pids[@]}" pids < <(ha_tree "$postmaster")
    fi
    ((${#pids[@]})) || { echo "ha: $node runs no process to kill" >&2; return 1; }
    kill -KILL "${pids[@]}" 2>/dev/null || true
    { wait "$(ha_pid "$node")"; } 2>/dev/null || true # reaped without bash's "Killed" line
    ha_say "$node: SIGKILL to Patroni (pid $(ha_pid "$node")), the postmaster (${postmaster:-none}) and its children: ${#pids[@]} processes"
    rm -f "$HA_DIR/$node.pid" # its number may be reused by another process
}

# ha_rest NODE PATH: the body of Patroni's REST answer (any status).
ha_rest() {
    curl -s --max-time 1 "http://127.0.0.1:${HA_API_PORT[$1]}$2" 2>/dev/null
}

ha_etcdctl() {
    ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$HA_ETCD_PORT" --command-timeout 1s "$@" 2>/dev/null
}

# ha_leader: the node named in the leader key, or nothing.
ha_leader() { ha_etcdctl get --print-value-only /service/flashbook/leader; }

# ha_writable NODE: its PostgreSQL accepts writes.
ha_writable() {
    [[ $(psql -h 127.0.0.1 -p "${HA_PG_PORT[$1]}" -U postgres -XAtq -d postgres \
        -c 'SHOW transaction_read_only' 2>/dev/null) == off ]]
}

ha_is_leader() { [[ $(ha_leader) == "$1" ]] && ha_writable "$1"; }

ha_wait_leader() {
    wait_until "$2" 0.05 ha_is_leader "$1" ||
        { echo "ha: $1 did not become a writable leader within $2 s (logs $HA_DIR/$1)" >&2; return 1; }
}

# ha_wait_sync NODE SECS: NODE is the synchronous standby in the /sync key
# (the only node Patroni may promote) and the primary streams to it with
# sync_state 'sync' (every COMMIT waits for its flush).
ha_wait_sync() {
    local node=$1 deadline=$((SECONDS + $2)) sync leader state
    while true; do
        sync=$(ha_etcdctl get --print-value-only /service/flashbook/sync | tr -d ' ')
        leader=$(ha_leader)
        state=""
        [[ -n $leader && -n ${HA_PG_PORT[$leader]:-} ]] &&
            state=$(psql -h 127.0.0.1 -p "${HA_PG_PORT[$leader]}" -U postgres -XAtq -d postgres \
                -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$node' AND state = 'streaming'" 2>/dev/null)
        [[ $sync == *"\"sync_standby\":\"$node\""* && $state == sync ]] && return 0
        ((SECONDS < deadline)) || { echo "ha: $node did not become the synchronous standby within $2 s (/sync: $sync, sync_state: ${state:-none}; logs $HA_DIR/$node)" >&2; return 1; }
        sleep 0.2
    done
}

ha_streams() {
    [[ $(ha_rest "$1" /replica) == *'"state": "running"'* ]] &&
        [[ $(psql -h 127.0.0.1 -p "${HA_PG_PORT[$1]}" -U postgres -XAtq -d postgres \
            -c "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null) == streaming ]]
}

ha_wait_streaming() {
    wait_until "$2" 0.2 ha_streams "$1" ||
        { echo "ha: $1 did not stream within $2 s (logs $HA_DIR/$1)" >&2; return 1; }
}

# ha_database_url DB: the URL a client uses: both nodes, and only a session
# on a writable server is accepted (libpq and tokio-postgres alike).
ha_database_url() {
    echo "postgres://postgres@127.0.0.1:${HA_PG_PORT[node1]},127.0.0.1:${HA_PG_PORT[node2]}/$1?target_session_attrs=read-write"
}

# Async mode only: the proxy stops forwarding (SIGSTOP to it and its
# per-connection copies): node1's commits are acknowledged but their WAL no
# longer reaches node2.
ha_pause_replication() {
    local pids=()
    mapfile -t pids < <(ha_tree "$(ha_pid proxy)")
    kill -STOP "${pids[@]}"
    ha_say "replication proxy paused (SIGSTOP to ${#pids[@]} processes)"
}

# ...and dies with whatever it held, as a cut network link would lose it.
ha_drop_replication() {
    $HA_PROXY || return 0
    local pids=()
    mapfile -t pids < <(ha_tree "$(ha_pid proxy)")
    ((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null
    { wait "$(ha_pid proxy)"; } 2>/dev/null || true
    HA_PROXY=false
    return 0
}

# ha_stop: Patroni stops its PostgreSQL on SIGTERM; a postmaster whose
# Patroni was killed is stopped directly (SIGQUIT: immediate); then etcd.
ha_stop() {
    [[ -n $HA_DIR ]] || return 0
    local node postmaster
    ha_drop_replication
    for node in "${HA_NODES[@]}"; do
        postmaster=$(ha_postmaster_pid "$node") || postmaster=""
        service_stop "$(ha_pid "$node")" 15
        if [[ -n $postmaster ]] && kill -0 "$postmaster" 2>/dev/null; then
            kill -QUIT "$postmaster" 2>/dev/null || true
            service_stop "$postmaster" 10
        fi
    done
    service_stop "$(ha_pid etcd)" 5
    HA_DIR=""
}
