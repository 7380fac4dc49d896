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

# stage LABEL COMMAND...: says LABEL, runs COMMAND (CURRENT_STAGE is LABEL
# meanwhile), then says how long it took and adds that to STAGE_TIMES.
STAGE_TIMES=()
CURRENT_STAGE="" # for the caller's EXIT trap
# shellcheck disable=SC2034 # CURRENT_STAGE
stage() {
    local label=$1 started=$EPOCHREALTIME took
    shift
    say "$label"
    CURRENT_STAGE=$label
    "$@"
    took=$(seconds_since "$started")
    STAGE_TIMES+=("$(printf '%-46s %7s s' "$label" "$took")")
    info "($label: ${took} s)"
    CURRENT_STAGE=""
}

# seconds_since EPOCHREALTIME: the seconds since then, to a tenth.
seconds_since() {
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
