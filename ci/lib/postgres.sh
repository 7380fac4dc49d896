# shellcheck shell=bash
# Shell functions for throwaway and local PostgreSQL clusters, sourced by
# serve.sh, run_tests.sh and the CI scripts. initdb and postgres refuse to run
# as root, so as root they run as the `postgres` user in directories it owns.

# Installs the PostgreSQL server from apt when initdb cannot be found.
ensure_postgres_installed() {
    if ! pg_bin_dir >/dev/null 2>&1; then
        echo "==> installing PostgreSQL (apt-get install postgresql)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    pg_bin_dir >/dev/null || { echo "PostgreSQL server binaries not found after install" >&2; return 1; }
}

# Prints the directory holding initdb/pg_ctl.
pg_bin_dir() {
    local initdb
    if initdb=$(command -v initdb 2>/dev/null); then
        dirname "$(readlink -f "$initdb")"
        return 0
    fi
    local dir
    # shellcheck disable=SC2012 # plain version directories, sorted by version
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/initdb ]] && echo "$dir"
}

# Runs a PostgreSQL server program, as the postgres user when we are root.
pg_run() {
    local program=$1; shift
    local bin; bin=$(pg_bin_dir)
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$bin/$program" "$@"
    else
        "$bin/$program" "$@"
    fi
}

# pg_init_cluster DATA_DIR: trust auth on loopback only, superuser postgres.
pg_init_cluster() {
    local data=$1
    mkdir -p "$data"
    [[ $(id -u) -eq 0 ]] && chown postgres "$data" "$(dirname "$data")"
    chmod 700 "$data"
    pg_run initdb -D "$data" -A trust -U postgres -E UTF8 >/dev/null
}

# pg_start_cluster DATA_DIR PORT LOG [extra postgres options]
pg_start_cluster() {
    local data=$1 port=$2 log=$3; shift 3
    local socket_dir; socket_dir=$(dirname "$data")
    touch "$log"; [[ $(id -u) -eq 0 ]] && chown postgres "$log"
    pg_run pg_ctl -D "$data" -l "$log" -w -t 60 \
        -o "-p $port -k $socket_dir -c listen_addresses=127.0.0.1 $*" start >/dev/null
}

pg_is_running() {
    pg_run pg_ctl -D "$1" status >/dev/null 2>&1
}

pg_stop_cluster() {
    pg_run pg_ctl -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_create_database PORT NAME: creates it unless it exists.
pg_create_database() {
    local port=$1 name=$2
    if ! psql -h 127.0.0.1 -p "$port" -U postgres -XtAc "SELECT 1 FROM pg_database WHERE datname = '$name'" postgres | grep -q 1; then
        psql -h 127.0.0.1 -p "$port" -U postgres -Xqc "CREATE DATABASE $name" postgres
    fi
}

# Prints a TCP port nothing listens on.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pg_start_test_cluster OWNER_PID: a throwaway cluster for the integration
# tests (tests/api/helpers.rs runs this when DATABASE_URL is unset). Their
# databases are disposable, so it trades durability for speed (fsync off).
# Prints the superuser URL. A watchdog stops and removes the cluster once
# OWNER_PID (the test process) is gone, keeping its log in
# ${TMPDIR:-/tmp}/flashbook-test-postgres.log.
pg_start_test_cluster() {
    local owner=$1 dir port
    dir=$(mktemp -d "${TMPDIR:-/tmp}/flashbook-test-pg.XXXXXX")
    chmod 755 "$dir"
    port=$(free_port)
    pg_init_cluster "$dir/data" || return 1
    pg_start_cluster "$dir/data" "$port" "$dir/postgres.log" \
        -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off || {
        tail -n 20 "$dir/postgres.log" >&2
        return 1
    }
    (
        while kill -0 "$owner" 2>/dev/null; do sleep 1; done
        pg_stop_cluster "$dir/data"
        cp "$dir/postgres.log" "${TMPDIR:-/tmp}/flashbook-test-postgres.log"
        rm -rf "$dir"
    ) </dev/null >/dev/null 2>&1 &
    echo "postgres://postgres@127.0.0.1:$port/postgres"
}
