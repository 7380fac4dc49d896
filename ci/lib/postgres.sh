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

# pg_throwaway NAME [postgres option...]: a throwaway cluster in a new
# directory ${TMPDIR:-/tmp}/NAME.XXXXXX (data/, postgres.log) on a free
# loopback port, with a database flashbook. Sets PG_DIR, PG_PORT and PG_URL
# (that database, as superuser). On failure prints why and returns 1.
pg_throwaway() {
    local name=$1
    shift
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || return 1
    chmod 755 "$PG_DIR" # as root, PostgreSQL runs as its own user below it
    PG_PORT=$(free_port) || return 1
    pg_init_cluster "$PG_DIR/data" || { echo "initdb in $PG_DIR/data failed" >&2; return 1; }
    pg_start_cluster "$PG_DIR/data" "$PG_PORT" "$PG_DIR/postgres.log" "$@" || {
        tail -n 20 "$PG_DIR/postgres.log" >&2
        echo "PostgreSQL did not start (log: $PG_DIR/postgres.log)" >&2
        return 1
    }
    pg_create_database "$PG_PORT" flashbook || { echo "could not create the database flashbook" >&2; return 1; }
    # shellcheck disable=SC2034 # the caller's
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/flashbook"
}

# pg_throwaway_remove [LOG_COPY]: stops pg_throwaway's cluster, keeps its log
# as LOG_COPY when given and deletes PG_DIR; when PostgreSQL does not stop,
# says so and leaves it in place (returns 1).
pg_throwaway_remove() {
    [[ -n ${PG_DIR:-} ]] || return 0
    pg_is_running "$PG_DIR/data" && pg_stop_cluster "$PG_DIR/data"
    if pg_is_running "$PG_DIR/data"; then
        echo "PostgreSQL did not stop: it still runs from $PG_DIR/data (left in place)" >&2
        return 1
    fi
    [[ -n ${1:-} && -f $PG_DIR/postgres.log ]] && cp "$PG_DIR/postgres.log" "$1"
    rm -rf "$PG_DIR"
    PG_DIR=""
}

# pg_start_test_cluster OWNER_PID: a throwaway cluster for the integration
# tests (tests/api/helpers.rs runs this when DATABASE_URL is unset). Their
# databases are disposable, so it trades durability for speed (fsync off).
# Prints the superuser URL. A watchdog stops and removes the cluster once
# OWNER_PID (the test process) is gone, keeping its log in
# ${TMPDIR:-/tmp}/flashbook-test-postgres.log.
pg_start_test_cluster() {
    local owner=$1
    pg_throwaway flashbook-test-pg -c max_connections=300 -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off >&2 || return 1
    (
        while kill -0 "$owner" 2>/dev/null; do sleep 1; done
        pg_throwaway_remove "${TMPDIR:-/tmp}/flashbook-test-postgres.log"
    ) </dev/null >/dev/null 2>&1 &
    echo "postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}
