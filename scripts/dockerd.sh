#!/usr/bin/env bash
# Makes sure a Docker engine answers, for CI and for machines without systemd.
#   scripts/dockerd.sh start   install docker.io/docker-compose if missing; start
#                              dockerd unless one answers; prints the PID file
#                              of the dockerd it started (empty if none)
#   scripts/dockerd.sh stop PIDFILE   stop the dockerd that `start` started
set -euo pipefail

state=${DOCKERD_STATE_DIR:-/tmp/flashbook-dockerd}

start() {
    if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
        echo "==> installing docker.io and docker-compose (apt)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose >/dev/null
    fi
    if docker info >/dev/null 2>&1; then
        echo "==> a Docker engine already answers; using it" >&2
        return 0
    fi
    mkdir -p "$state"
    echo "==> starting dockerd (log: $state/dockerd.log)" >&2
    dockerd </dev/null >"$state/dockerd.log" 2>&1 &
    echo $! >"$state/dockerd.pid"
    for _ in $(seq 1 60); do
        if docker info >/dev/null 2>&1; then
            echo "$state/dockerd.pid"
            return 0
        fi
        sleep 1
    done
    tail -20 "$state/dockerd.log" >&2
    echo "dockerd did not answer within 60 s; see $state/dockerd.log" >&2
    return 1
}

stop() {
    local pid_file=$1 pid
    [[ -s $pid_file ]] || return 0
    pid=$(cat "$pid_file")
    echo "==> stopping the dockerd this run started (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; return 0; }
        sleep 1
    done
    echo "dockerd (pid $pid) did not stop within 30 s" >&2
    return 1
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:?usage: dockerd.sh stop PIDFILE}" ;;
    *) echo "usage: scripts/dockerd.sh start | stop PIDFILE" >&2; exit 2 ;;
esac
