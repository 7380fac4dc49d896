# shellcheck shell=bash
# Start, wait-ready and stop for the flashbook service process, the one way
# every script (run_tests.sh, serve.sh, faults/, bench/run.sh,
# tests/browser/run.sh) runs it (PostgreSQL is ci/lib/postgres.sh, whose
# free_port it uses). Only processes started here are stopped, by their PID.

# The service finishes in-flight requests for up to 10 s after SIGTERM
# (SHUTDOWN_GRACE_SECONDS in src/startup.rs); then it gets SIGKILL.
SERVICE_STOP_GRACE_S=10
SERVICE_READY_TIMEOUT_S=${SERVICE_READY_TIMEOUT_S:-30}
SERVICE_PID=""
SERVICE_URL=""
SERVICE_ERROR=""

# service_start BINARY PORT LOG [-u NAME...] [NAME=value...]: runs `env -u NAME...
# FLASHBOOK_HOST=127.0.0.1 FLASHBOOK_PORT=PORT NAME=value... BINARY` in the
# background (env takes its -u options before any assignment; a later
# assignment wins), output appended to LOG ("-": this terminal).
# An empty PORT is a free one. Sets SERVICE_PID and SERVICE_URL and waits
# until GET SERVICE_URL/ready answers 200. When the process exits first or
# SERVICE_READY_TIMEOUT_S pass, prints the log's last lines, stops what it
# started, sets SERVICE_ERROR and returns 1.
service_start() {
    local bin=$1 port=${2:-$(free_port)} log=$3 status=0
    shift 3
    local unset=()
    while [[ ${1:-} == -u ]]; do
        unset+=(-u "$2")
        shift 2
    done
    SERVICE_URL="http://127.0.0.1:$port"
    local base=$SERVICE_URL
    if [[ $log == - ]]; then
        env "${unset[@]}" FLASHBOOK_HOST=127.0.0.1 FLASHBOOK_PORT="$port" "$@" "$bin" &
    else
        env "${unset[@]}" FLASHBOOK_HOST=127.0.0.1 FLASHBOOK_PORT="$port" "$@" "$bin" >>"$log" 2>&1 &
    fi
    SERVICE_PID=$!
    SERVICE_ERROR=""
    if ! wait_until "$SERVICE_READY_TIMEOUT_S" 0.2 ready_or_ended "$SERVICE_PID" "$base"; then
        SERVICE_ERROR="the service was not ready within $SERVICE_READY_TIMEOUT_S s (GET $base/ready)"
        service_stop "$SERVICE_PID"
    elif pid_gone "$SERVICE_PID"; then
        wait "$SERVICE_PID" || status=$?
        SERVICE_ERROR="the service exited with status $status before it was ready"
    else
        return 0
    fi
    SERVICE_PID=""
    if [[ $log != - ]]; then
        printf -- '--- last lines of %s\n' "$log" >&2
        tail -n 20 "$log" >&2
        SERVICE_ERROR+=" (log: $log)"
    fi
    return 1
}

# ready_or_ended PID BASE_URL: true once BASE_URL/ready answers 200 or PID has
# ended (service_start tells the two apart).
ready_or_ended() { curl -fsS --max-time 2 -o /dev/null "$2/ready" 2>/dev/null || pid_gone "$1"; }

# service_stop PID [GRACE_S]: SIGTERM, SIGKILL after GRACE_S (default
# SERVICE_STOP_GRACE_S), then reaps it if it is our child. Safe on a PID that
# has already ended. The one way every script stops a process of its own.
service_stop() {
    local pid=$1 grace=${2:-$SERVICE_STOP_GRACE_S}
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then return 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until "$grace" 0.1 pid_gone "$pid"; then
        printf 'warning: pid %s did not stop within %s s of SIGTERM: SIGKILL\n' "$pid" "$grace" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# wait_until TIMEOUT_S INTERVAL_S COMMAND...: runs COMMAND every INTERVAL_S
# until it succeeds; returns 1 when TIMEOUT_S pass first. The one polling loop.
wait_until() {
    local deadline=$((SECONDS + $1)) interval=$2
    shift 2
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep "$interval"
    done
}

# wait_for_url URL TIMEOUT_S: until URL answers 2xx (polled once a second).
# For what no PID of ours stands behind (a compose stack); a process we
# started is service_start's job.
wait_for_url() {
    wait_until "$2" 1 curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null
}
