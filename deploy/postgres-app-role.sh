#!/bin/sh
# Creates the two roles of the service's database, neither a superuser nor
# allowed CREATEDB, CREATEROLE or replication:
#   - FLASHBOOK_DB_OWNER (flashbook_owner), FLASHBOOK_DB_OWNER_PASSWORD: owns
#     POSTGRES_DB and so its public schema (PostgreSQL 15+: the database
#     owner's). Migrations run as it (the replicas'
#     FLASHBOOK_MIGRATION_DATABASE_URL, and the seed, which truncates).
#   - FLASHBOOK_DB_USER (flashbook), FLASHBOOK_DB_PASSWORD: the role the
#     replicas serve with. Least privilege: no DDL (it owns nothing and may
#     not create in the schema), only SELECT/INSERT/UPDATE/DELETE on the
#     tables, USAGE on the sequences and EXECUTE on the functions, given by
#     the owner's default privileges, so whatever a later migration creates
#     is covered. run_tests.sh --compose checks it may not CREATE or DROP.
# The superuser (POSTGRES_USER) stays with the database container and the
# operators' tools.
# Run once, on a new cluster: by the postgres image from
# /docker-entrypoint-initdb.d/ (docker-compose.yml), over the local socket as
# POSTGRES_USER; and by Patroni's post_bootstrap (docker-compose.ha.yml,
# scripts/standins/patroni-entrypoint.sh) with the superuser's connection
# string as $1.
set -eu
: "${FLASHBOOK_DB_PASSWORD:?set FLASHBOOK_DB_PASSWORD, the password of the database role of the service}"
: "${FLASHBOOK_DB_OWNER_PASSWORD:?set FLASHBOOK_DB_OWNER_PASSWORD, the password of the database role that owns the schema}"
if [ $# -eq 0 ]; then set -- "--dbname=$POSTGRES_DB" "--username=$POSTGRES_USER"; else set -- "--dbname=$1"; fi
psql -X -v ON_ERROR_STOP=1 --no-password "$@" \
    -v owner="${FLASHBOOK_DB_OWNER:-flashbook_owner}" -v owner_password="$FLASHBOOK_DB_OWNER_PASSWORD" \
    -v role="${FLASHBOOK_DB_USER:-flashbook}" -v password="$FLASHBOOK_DB_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'owner_password';
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'password';
ALTER DATABASE :"db" OWNER TO :"owner";
-- Default privileges are per database: set them inside it (Patroni's
-- connection string names another).
\connect :"db"
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE, TEMPORARY ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"role";
GRANT USAGE ON SCHEMA public TO :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO :"role";
SQL
