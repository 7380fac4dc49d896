# shellcheck shell=bash
# The one log helper of every script: say (a step), info (a detail under it),
# warn and die (on stderr, prefixed with LOG_NAME). Set LOG_NAME before
# sourcing to name the script (default: its file name without .sh), and
# LOG_DIE_STATUS for the status die exits with (default 1).

: "${LOG_NAME:=$(basename "$0" .sh)}"
: "${LOG_DIE_STATUS:=1}"

say() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$LOG_NAME" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$LOG_NAME" "$*" >&2
    exit "$LOG_DIE_STATUS"
}
