#!/usr/bin/env bash
# Runs flashbook on this machine: a PostgreSQL cluster kept in .flashbook/
# (created on first run) and the service in the foreground. Ctrl-C stops both.
#
#   ./serve.sh            build, start PostgreSQL and the service on :8080
#   ./serve.sh --seed     also reset the data to the demo flash sale first
#                         (1 venue of 1,000 seats, event 1, users 1..10000)
#
# Environment: FLASHBOOK_PORT (8080), FLASHBOOK_PG_PORT (55433), any other
# FLASHBOOK_* setting of the service (see README), FLASHBOOK_STATE_DIR.
set -euo pipefail
cd "$(dirname "$0")"

seed=false
for arg in "$@"; do
    case "$arg" in
        --seed) seed=true ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "serve.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

state_dir=${FLASHBOOK_STATE_DIR:-$PWD/.flashbook}
pg_port=${FLASHBOOK_PG_PORT:-55433}
export FLASHBOOK_PORT=${FLASHBOOK_PORT:-8080}

source ci/lib/log.sh
source ci/lib/postgres.sh
source ci/lib/service.sh
source ci/lib/secrets.sh

ensure_postgres_installed
mkdir -p "$state_dir"
if [[ ! -d $state_dir/pgdata ]]; then
    say "creating a PostgreSQL cluster in $state_dir/pgdata"
    pg_init_cluster "$state_dir/pgdata"
fi
started_postgres=false
if ! pg_is_running "$state_dir/pgdata"; then
    say "starting PostgreSQL on 127.0.0.1:$pg_port (log: $state_dir/postgres.log)"
    pg_start_cluster "$state_dir/pgdata" "$pg_port" "$state_dir/postgres.log"
    started_postgres=true
fi
stop_everything() {
    service_stop "$SERVICE_PID" # graceful: in-flight requests finish
    if $started_postgres; then
        say "stopping PostgreSQL"
        pg_stop_cluster "$state_dir/pgdata"
    fi
}
trap stop_everything EXIT
trap 'exit 130' INT TERM
pg_create_database "$pg_port" flashbook
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/flashbook"

# Random on the first run, kept in $state_dir for the next (the buyer-token
# key too, so tokens outlive a restart; the demo buyer's password).
ensure_secrets "$state_dir" FLASHBOOK_ADMIN_TOKEN FLASHBOOK_PASS_SECRET FLASHBOOK_TOKEN_KEYS \
    FLASHBOOK_DEMO_PASSWORD

# demo_buyer_token: signs up the demo buyer (a second sign-up changes
# nothing) and signs in; prints the token.
demo_buyer_token() {
    local base=http://127.0.0.1:$FLASHBOOK_PORT
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"email\": \"demo@flashbook.local\", \"name\": \"Demo Buyer\", \"password\": \"$FLASHBOOK_DEMO_PASSWORD\"}" "$base/users"
    curl -fsS -H 'Content-Type: application/json' \
        -d "{\"email\": \"demo@flashbook.local\", \"password\": \"$FLASHBOOK_DEMO_PASSWORD\"}" "$base/sessions" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

say "building the release binaries"
cargo build --release --locked --quiet

if $seed; then
    say "seeding the demo flash sale"
    ./target/release/seed
fi

say "starting the service"
service_start ./target/release/flashbook "$FLASHBOOK_PORT" - FLASHBOOK_HOST="${FLASHBOOK_HOST:-127.0.0.1}" ||
    die "$SERVICE_ERROR"
demo_token=$(demo_buyer_token) || die "could not sign in the demo buyer (see the service's log above)"
cat <<INFO
==> flashbook on http://127.0.0.1:$FLASHBOOK_PORT
    Swagger UI    http://127.0.0.1:$FLASHBOOK_PORT/swagger-ui/
    OpenAPI       http://127.0.0.1:$FLASHBOOK_PORT/api-docs/openapi.json
    admin token   $FLASHBOOK_ADMIN_TOKEN   (Authorization: Bearer ...; kept in $state_dir/FLASHBOOK_ADMIN_TOKEN)
    buyer token   $demo_token
                  (demo@flashbook.local, valid FLASHBOOK_TOKEN_TTL_SECS, 1 h by default: Swagger's
                  Authorize, buyer_token; a token of your own: POST /users {email, name, password},
                  then POST /sessions {email, password})
    database      $DATABASE_URL
    seed data     DATABASE_URL=$DATABASE_URL ./target/release/seed --help
INFO
wait "$SERVICE_PID"
