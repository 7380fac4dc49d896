#!/usr/bin/env bash
# etcd-with-auth.sh ETCD_FLAGS...: the etcd member of docker-compose.ha.yml
# (image patroni.Dockerfile), with client authentication on. etcd's v3 API
# answers anyone who reaches its port unless authentication is enabled, and
# whoever may write Patroni's keys decides which node is primary.
#
# Before etcd serves its real addresses, it is started once with its client
# port on loopback only, and made to hold exactly this state (every start, so
# a restart changes nothing and a changed PATRONI_ETCD3_PASSWORD is applied):
#   user root (FLASHBOOK_ETCD_ROOT_PASSWORD), role root: etcd's administrator;
#   user PATRONI_ETCD3_USERNAME (patroni), PATRONI_ETCD3_PASSWORD, with the
#     role patroni: read and write under /service/SCOPE/ (Patroni's keys:
#     namespace /service, PATRONI_SCOPE flashbook) and nothing else;
#   authentication enabled: a request without a user is refused ("user name
#     is empty"), a user's outside its role is "permission denied".
# Then that etcd stops and `etcd ETCD_FLAGS...` takes its place. On the
# first start authentication is still off, so the steps run anonymously (on
# loopback, before anyone else can connect); on later starts they run as
# root, whose password must therefore not change.
#
# The root password is not named ETCD_*: etcd reads every ETCD_* variable as
# a flag and logs the unknown ones, value included.
set -Eeuo pipefail

: "${FLASHBOOK_ETCD_ROOT_PASSWORD:?set FLASHBOOK_ETCD_ROOT_PASSWORD, the password of the etcd root user}"
: "${PATRONI_ETCD3_PASSWORD:?set PATRONI_ETCD3_PASSWORD, the password Patroni logs in to etcd with}"
readonly patroni_user=${PATRONI_ETCD3_USERNAME:-patroni}
readonly patroni_prefix=/service/${PATRONI_SCOPE:-flashbook}/
# A port of its own, so that the healthcheck (on 2379) passes only once the
# real etcd serves.
readonly bootstrap_endpoint=127.0.0.1:23790
readonly bootstrap_timeout_s=30

# ctl ARGS...: etcdctl against the loopback etcd, as root once
# authentication is on (the password by environment, not on a command line).
as_root=false
ctl() {
    if [[ $as_root == true ]]; then
        ETCDCTL_USER=root ETCDCTL_PASSWORD=$FLASHBOOK_ETCD_ROOT_PASSWORD \
            etcdctl --endpoints="$bootstrap_endpoint" "$@"
    else
        etcdctl --endpoints="$bootstrap_endpoint" "$@"
    fi
}

# ensure_user NAME PASSWORD: the user exists with this password.
ensure_user() {
    if ctl user get "$1" >/dev/null 2>&1; then
        ctl user passwd "$1" --interactive=false <<<"$2" >/dev/null
    else
        ctl user add "$1" --interactive=false <<<"$2" >/dev/null
    fi
}

# ensure_role_of USER ROLE: the user has the role.
ensure_role_of() {
    ctl user get "$1" | grep -qx "Roles:.* $2\( .*\)\?" || ctl user grant-role "$1" "$2" >/dev/null
}

etcd "$@" --listen-client-urls="http://$bootstrap_endpoint" --advertise-client-urls="http://$bootstrap_endpoint" &
bootstrap_pid=$!
trap 'kill "$bootstrap_pid" 2>/dev/null || true' EXIT

# Anonymous `member list` is answered with authentication on or off.
deadline=$((SECONDS + bootstrap_timeout_s))
until ctl member list >/dev/null 2>&1; do
    kill -0 "$bootstrap_pid" 2>/dev/null || { echo "etcd-with-auth.sh: etcd exited during the bootstrap" >&2; exit 1; }
    ((SECONDS < deadline)) || { echo "etcd-with-auth.sh: etcd did not answer on $bootstrap_endpoint within $bootstrap_timeout_s s" >&2; exit 1; }
    sleep 0.2
done
# An anonymous administrative request: answered only while authentication is off.
if ! ctl user list >/dev/null 2>&1; then
    as_root=true
    ctl user get root >/dev/null 2>&1 || {
        echo "etcd-with-auth.sh: authentication is on and root cannot log in: FLASHBOOK_ETCD_ROOT_PASSWORD is not the password of the first start" >&2
        exit 1
    }
fi
ensure_user root "$FLASHBOOK_ETCD_ROOT_PASSWORD"
ensure_role_of root root
ctl role get patroni >/dev/null 2>&1 || ctl role add patroni >/dev/null
ctl role grant-permission patroni --prefix=true readwrite "$patroni_prefix" >/dev/null
ensure_user "$patroni_user" "$PATRONI_ETCD3_PASSWORD"
ensure_role_of "$patroni_user" patroni
ctl auth enable >/dev/null
echo "etcd-with-auth.sh: authentication on; users root and $patroni_user (read-write under $patroni_prefix)" >&2

kill "$bootstrap_pid"
wait "$bootstrap_pid" || true
trap - EXIT
unset FLASHBOOK_ETCD_ROOT_PASSWORD PATRONI_ETCD3_PASSWORD
exec etcd "$@"
