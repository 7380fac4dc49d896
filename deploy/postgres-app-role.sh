#!/bin/sh
# Creates the role the service logs in as: FLASHBOOK_DB_USER (flashbook)
# with FLASHBOOK_DB_PASSWORD, not a superuser, no CREATEDB or CREATEROLE,
# owner of POSTGRES_DB and so of its public schema (PostgreSQL 15+: the
# database owner's), where the service's migrations create the tables and
# functions it owns. The superuser (POSTGRES_USER) stays with the database
# container and the operators' tools.
# Run once, on a new cluster: by the postgres image from
# /docker-entrypoint-initdb.d/ (docker-compose.yml), over the local socket as
# POSTGRES_USER; and by Patroni's post_bootstrap (docker-compose.ha.yml,
# scripts/standins/patroni-entrypoint.sh) with the superuser's connection
# string as $1.
set -eu
: "${FLASHBOOK_DB_PASSWORD:?set FLASHBOOK_DB_PASSWORD, the password of the database role of the service}"
if [ $# -eq 0 ]; then set -- "--dbname=$POSTGRES_DB" "--username=$POSTGRES_USER"; else set -- "--dbname=$1"; fi
psql -X -v ON_ERROR_STOP=1 --no-password "$@" \
    -v role="${FLASHBOOK_DB_USER:-flashbook}" -v password="$FLASHBOOK_DB_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'password';
ALTER DATABASE :"db" OWNER TO :"role";
SQL
