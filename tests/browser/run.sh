#!/usr/bin/env bash
# tests/browser/run.sh [--base-url URL]: the dashboard in a real browser
# (tests/browser/dashboard.test.mjs). Installs Chromium (apt) and
# playwright-core (npm ci) when missing, builds the release service, starts a
# throwaway PostgreSQL and the service (ci/lib/), seeds two small events (200
# seats each, 1,000 users), then runs node's test runner: headless Chromium
# opens /dashboard/?event=1 while the test sells the 200 seats, then
# /dashboard/?event=2 while buyers hold seats and confirm or release them.
# Screenshots go to target/browser/. The last lines are node's test summary;
# exit status is node's (0 pass).
#
#   --base-url URL   test a service that is already running instead (nothing
#                    is started or seeded: events 1 and 2 must have no bookings
#                    or holds and users 1..400 must exist, with their tokens in
#                    TOKENS_FILE, e.g. after `seed --events 2 --users 1000
#                    --tokens FILE` with the service's FLASHBOOK_TOKEN_KEYS)
# Environment: CHROMIUM (default /usr/bin/chromium), CARGO_TARGET_DIR.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
LOG_NAME="browser test"
# shellcheck source=ci/lib/log.sh
source ci/lib/log.sh
# shellcheck source=ci/lib/postgres.sh
source ci/lib/postgres.sh
# shellcheck source=ci/lib/service.sh
source ci/lib/service.sh
# shellcheck source=ci/lib/tools.sh
source ci/lib/tools.sh

readonly CAPACITY=200 USERS=1000 EVENT_ID=1 CHECKOUT_EVENT_ID=2
release=${CARGO_TARGET_DIR:-target}/release
out=${CARGO_TARGET_DIR:-target}/browser # screenshots, the service's log
base_url=""
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
"") ;;
--base-url) base_url=${2:?--base-url needs a URL} ;;
-h | --help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac

cleanup() {
    service_stop "$SERVICE_PID"
    pg_throwaway_remove || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -x $CHROMIUM ]] || apt_install chromium || die "no Chromium at $CHROMIUM and apt could not install it"
command -v node >/dev/null || die "node not found: install Node.js 20 or later (apt-get install nodejs npm)"
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
    say "npm ci (tests/browser: playwright-core)"
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error || die "npm ci failed (see above)"
fi

if [[ -z $base_url ]]; then
    ensure_postgres_installed || die "PostgreSQL is not available (see above)"
    say "cargo build --release --locked"
    cargo build --release --locked --quiet || die "cargo build --release failed (see above)"
    say "PostgreSQL and the service (log: $out/service.log)"
    pg_throwaway flashbook-browser -c fsync=off || die "no PostgreSQL (see above)"
    mkdir -p "$out"
    : >"$out/service.log"
    # The buyers' tokens: signed by the seed with the service's key.
    FLASHBOOK_TOKEN_KEYS=browser:$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
    service_start "$release/flashbook" "" "$out/service.log" DATABASE_URL="$PG_URL" RUST_LOG=warn \
        FLASHBOOK_TOKEN_KEYS="$FLASHBOOK_TOKEN_KEYS" || die "$SERVICE_ERROR"
    base_url=$SERVICE_URL
    TOKENS_FILE=$(cd "$out" && pwd)/tokens.json
    DATABASE_URL=$PG_URL FLASHBOOK_TOKEN_KEYS=$FLASHBOOK_TOKEN_KEYS "$release/seed" --venue-capacity "$CAPACITY" \
        --events 2 --users "$USERS" --tokens "$TOKENS_FILE" | grep -E '^seeded' || die "seed failed"
fi

say "node --test tests/browser/dashboard.test.mjs against $base_url/dashboard/ (events $EVENT_ID, $CHECKOUT_EVENT_ID)"
status=0
env BASE_URL="$base_url" TOKENS_FILE="${TOKENS_FILE:?set TOKENS_FILE to the file of seed --tokens}" EVENT_ID="$EVENT_ID" CHECKOUT_EVENT_ID="$CHECKOUT_EVENT_ID" SCREENSHOT_DIR="$out" \
    node --test --test-reporter=spec tests/browser/dashboard.test.mjs || status=$?
# Stopped quietly, so node's summary stays the last lines.
cleanup >/dev/null 2>&1
SERVICE_PID=""
exit "$status"
