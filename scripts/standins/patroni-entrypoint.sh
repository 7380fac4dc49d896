#!/usr/bin/env bash
# Entrypoint of the Patroni stand-in image (patroni.Dockerfile).
#   patroni-entrypoint.sh [patroni]       a Patroni node, configured from the
#                                         environment below
#   patroni-entrypoint.sh COMMAND ARGS    runs COMMAND as the postgres user
#                                         (etcd, patronictl, psql...)
# Environment: PATRONI_NAME (the node's name and the host name other nodes
# reach it by), PATRONI_SCOPE (flashbook), ETCD_HOSTS (etcd:2379),
# POSTGRES_USER / POSTGRES_PASSWORD (the superuser the service logs in as),
# POSTGRES_DB (created at bootstrap), REPLICATION_PASSWORD, and the timing:
# PATRONI_TTL (6), PATRONI_LOOP_WAIT (1), PATRONI_RETRY_TIMEOUT (2).
set -Eeuo pipefail

if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA" /var/lib/etcd
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if (($# > 0)) && [[ $1 != patroni ]]; then exec "$@"; fi

: "${PATRONI_NAME:?set PATRONI_NAME to the name of the node (its host name on the network)}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
REPLICATION_PASSWORD=${REPLICATION_PASSWORD:-$POSTGRES_PASSWORD}
config=/tmp/patroni.yml

# Run once by Patroni on the node that bootstraps the cluster, with
# Patroni's environment and the superuser's connection string as $1.
export POSTGRES_DB
cat >/tmp/post-bootstrap.sh <<'SCRIPT'
#!/bin/sh
set -e
if [ "$POSTGRES_DB" != postgres ]; then
    echo 'CREATE DATABASE :"db";' | psql -X -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" -d "$1"
fi
SCRIPT
chmod 700 /tmp/post-bootstrap.sh

cat >"$config" <<YAML
scope: ${PATRONI_SCOPE:-flashbook}
name: $PATRONI_NAME
restapi:
  listen: 0.0.0.0:8008
  connect_address: $PATRONI_NAME:8008
etcd3:
  hosts: ${ETCD_HOSTS:-etcd:2379}
bootstrap:
  dcs:
    ttl: ${PATRONI_TTL:-6}
    loop_wait: ${PATRONI_LOOP_WAIT:-1}
    retry_timeout: ${PATRONI_RETRY_TIMEOUT:-2}
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: ${POSTGRES_MAX_CONNECTIONS:-100}
        synchronous_commit: "on"
        wal_keep_size: 512MB
        max_wal_senders: 5
        max_replication_slots: 5
        wal_log_hints: "on"
        wal_sender_timeout: 5s
        wal_receiver_timeout: 5s
  initdb:
    - encoding: UTF8
    - data-checksums
  post_bootstrap: /tmp/post-bootstrap.sh
  pg_hba:
    - local all all trust
    - host replication replicator all scram-sha-256
    - host all all all scram-sha-256
postgresql:
  listen: 0.0.0.0:5432
  connect_address: $PATRONI_NAME:5432
  data_dir: $PGDATA
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /tmp/pgpass
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
  authentication:
    superuser:
      username: $POSTGRES_USER
      password: $POSTGRES_PASSWORD
    replication:
      username: replicator
      password: $REPLICATION_PASSWORD
    rewind:
      username: $POSTGRES_USER
      password: $POSTGRES_PASSWORD
  parameters:
    unix_socket_directories: /var/run/postgresql
YAML
chmod 600 "$config"
exec patroni "$config"
