#!/usr/bin/env bash
# Entrypoint of the Patroni stand-in image (patroni.Dockerfile).
#   patroni-entrypoint.sh [patroni]       a Patroni node, configured from the
#                                         environment below
#   patroni-entrypoint.sh COMMAND ARGS    runs COMMAND as the postgres user
#                                         (etcd, patronictl, psql...)
# Environment: PATRONI_NAME (the node's name and the host name other nodes
# reach it by), POSTGRES_USER / POSTGRES_PASSWORD (the superuser),
# POSTGRES_DB (created at bootstrap), and the settings
# patroni-config.sh reads (ETCD_HOSTS, REPLICATION_PASSWORD, PATRONI_TTL,
# PATRONI_LOOP_WAIT, PATRONI_RETRY_TIMEOUT, POSTGRES_MAX_CONNECTIONS...).
set -Eeuo pipefail

if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA" /var/lib/etcd
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if (($# > 0)) && [[ $1 != patroni ]]; then exec "$@"; fi

export POSTGRES_DB=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}

# Run once by Patroni on the node that bootstraps the cluster, with
# Patroni's environment and the superuser's connection string as $1; then
# the scripts in /docker-entrypoint-initdb.d/, as the postgres image runs
# them (docker-compose.yml mounts deploy/postgres-app-role.sh there: the
# service's own role), each given the connection string.
export PATRONI_POST_BOOTSTRAP=/tmp/post-bootstrap.sh
cat >"$PATRONI_POST_BOOTSTRAP" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$POSTGRES_DB" != postgres ]; then
    echo 'CREATE DATABASE :"db";' | psql -X -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" -d "$1"
fi
for script in /docker-entrypoint-initdb.d/*.sh; do
    if [ -x "$script" ]; then "$script" "$1"; fi
done
SCRIPT
chmod 700 "$PATRONI_POST_BOOTSTRAP"

# The settings: patroni-config.sh, the template the host proofs use too.
config=/tmp/patroni.yml
(umask 077 && patroni-config.sh >"$config")
exec patroni "$config"
