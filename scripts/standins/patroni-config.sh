#!/usr/bin/env bash
# patroni-config.sh: prints a Patroni node's patroni.yml, built from the
# environment. The one Patroni template: the container path
# (patroni-entrypoint.sh, in the image of docker-compose.ha.yml) and the
# host path of the failover proofs (ci/lib/ha.sh, faults/scenarios/
# primary_failover*.sh) both render their configuration here, so a setting
# changes for both or for neither. The settings and their reasons:
# docs/high-availability.md.
#
# Required: PATRONI_NAME (the node's name; in a container also the host name
# other nodes reach it by), PGDATA, POSTGRES_PASSWORD.
# Defaults are the container's; the host path sets the addresses and paths:
#   PATRONI_SCOPE (flashbook)            ETCD_HOSTS (etcd:2379)
#   PATRONI_ETCD3_PASSWORD (none): when set, Patroni logs in to etcd as
#     PATRONI_ETCD3_USERNAME (patroni) with it (the containers' etcd has
#     authentication on: etcd-with-auth.sh); the host path's etcd, on
#     loopback, has none. (Patroni 3.0 itself reads these two variables only
#     beside another PATRONI_ETCD3_* setting such as HOSTS, hence here.)
#   PATRONI_RESTAPI_LISTEN (0.0.0.0:8008), PATRONI_RESTAPI_ADDRESS (NAME:8008)
#   PATRONI_RESTAPI_PASSWORD (none): when set, the REST API's unsafe methods
#     (POST /switchover, /failover, /restart...) need basic authentication
#     as PATRONI_RESTAPI_USER (patroni); the containers always set it, the
#     host path listens on loopback only
#   PATRONI_PG_LISTEN (0.0.0.0:5432),      PATRONI_PG_ADDRESS (NAME:5432)
#   PG_BIN_DIR (/usr/lib/postgresql/15/bin), PG_SOCKET_DIR (/var/run/postgresql)
#   PATRONI_PGPASS (/tmp/pgpass)
#   POSTGRES_USER (postgres), REPLICATION_PASSWORD (POSTGRES_PASSWORD)
#   PATRONI_HBA_ADDRESS (all), PATRONI_HBA_METHOD (scram-sha-256): who may
#     log in over TCP, and how (the host path: 127.0.0.1/32, trust)
#   PATRONI_POST_BOOTSTRAP (none): a script Patroni runs once after bootstrap
#   PATRONI_TTL (6), PATRONI_LOOP_WAIT (1), PATRONI_RETRY_TIMEOUT (2)
#   POSTGRES_MAX_CONNECTIONS (100)
#   PATRONI_SYNCHRONOUS (true): false is the counterexample of
#     faults/scenarios/primary_failover_async.sh: an asynchronous standby that
#     may be promoted however far behind it is, so that the loss shows
set -euo pipefail

: "${PATRONI_NAME:?set PATRONI_NAME to the name of the node}"
: "${PGDATA:?set PGDATA to the data directory of the node}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
POSTGRES_USER=${POSTGRES_USER:-postgres}

case ${PATRONI_SYNCHRONOUS:-true} in
    # Only a standby listed in the /sync key may be promoted, and only with
    # at most 1 MB of WAL to replay; the primary drops synchronous
    # replication (strict: false) only while no standby is streaming.
    true) synchronous=true lag=1048576 ;;
    false) synchronous=false lag=107374182400 ;;
    *) echo "patroni-config.sh: PATRONI_SYNCHRONOUS must be true or false" >&2; exit 2 ;;
esac

cat <<YAML
scope: ${PATRONI_SCOPE:-flashbook}
name: $PATRONI_NAME
restapi:
  listen: ${PATRONI_RESTAPI_LISTEN:-0.0.0.0:8008}
  connect_address: ${PATRONI_RESTAPI_ADDRESS:-$PATRONI_NAME:8008}
${PATRONI_RESTAPI_PASSWORD:+  authentication:
    username: ${PATRONI_RESTAPI_USER:-patroni}
    password: $PATRONI_RESTAPI_PASSWORD}
etcd3:
  hosts: ${ETCD_HOSTS:-etcd:2379}
${PATRONI_ETCD3_PASSWORD:+  username: ${PATRONI_ETCD3_USERNAME:-patroni}
  password: $PATRONI_ETCD3_PASSWORD}
bootstrap:
  dcs:
    ttl: ${PATRONI_TTL:-6}
    loop_wait: ${PATRONI_LOOP_WAIT:-1}
    retry_timeout: ${PATRONI_RETRY_TIMEOUT:-2}
    maximum_lag_on_failover: $lag
    synchronous_mode: $synchronous
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
        # A standby that stopped answering is dropped by the primary after
        # 5 s rather than 60 (the default).
        wal_sender_timeout: 5s
        wal_receiver_timeout: 5s
  initdb:
    - encoding: UTF8
    - data-checksums
${PATRONI_POST_BOOTSTRAP:+  post_bootstrap: $PATRONI_POST_BOOTSTRAP}
  pg_hba:
    - local all all trust
    - host replication replicator ${PATRONI_HBA_ADDRESS:-all} ${PATRONI_HBA_METHOD:-scram-sha-256}
    - host all all ${PATRONI_HBA_ADDRESS:-all} ${PATRONI_HBA_METHOD:-scram-sha-256}
postgresql:
  listen: ${PATRONI_PG_LISTEN:-0.0.0.0:5432}
  connect_address: ${PATRONI_PG_ADDRESS:-$PATRONI_NAME:5432}
  data_dir: $PGDATA
  bin_dir: ${PG_BIN_DIR:-/usr/lib/postgresql/15/bin}
  pgpass: ${PATRONI_PGPASS:-/tmp/pgpass}
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
  authentication:
    superuser:
      username: $POSTGRES_USER
      password: $POSTGRES_PASSWORD
    replication:
      username: replicator
      password: ${REPLICATION_PASSWORD:-$POSTGRES_PASSWORD}
    rewind:
      username: $POSTGRES_USER
      password: $POSTGRES_PASSWORD
  parameters:
    unix_socket_directories: ${PG_SOCKET_DIR:-/var/run/postgresql}
YAML
