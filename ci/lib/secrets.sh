# shellcheck shell=bash
# The one place secrets are made: the compose files have no default for any
# of them (compose refuses to start without), so ./serve.sh, run_tests.sh
# and CI (through run_tests.sh --compose) generate random ones here.
#
#   ensure_secrets DIR NAME...   exports each NAME; one already set is kept,
#                                an unset one is read from DIR/NAME when DIR
#                                is given and the file exists, else generated
#                                (and written to DIR/NAME, mode 600, so the
#                                next run reuses it). DIR "" keeps nothing.
#   COMPOSE_SECRETS              the names docker-compose.yml requires;
#   COMPOSE_HA_SECRETS           and those docker-compose.ha.yml adds.

# shellcheck disable=SC2034 # read by the scripts that source this
readonly COMPOSE_SECRETS=(FLASHBOOK_ADMIN_TOKEN FLASHBOOK_PASS_SECRET FLASHBOOK_TOKEN_KEYS
    POSTGRES_PASSWORD FLASHBOOK_DB_PASSWORD FLASHBOOK_DB_OWNER_PASSWORD)
# shellcheck disable=SC2034 # read by the scripts that source this
readonly COMPOSE_HA_SECRETS=(PATRONI_RESTAPI_PASSWORD PATRONI_ETCD3_PASSWORD FLASHBOOK_ETCD_ROOT_PASSWORD)

# 32 random bytes as 64 hex digits: safe in a URL, a YAML file and a header.
random_secret() {
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

ensure_secrets() {
    local dir=$1 name value
    shift
    if [[ -n $dir ]]; then (umask 077 && mkdir -p "$dir"); fi
    for name in "$@"; do
        if [[ -z ${!name:-} ]]; then
            if [[ -n $dir && -s $dir/$name ]]; then
                value=$(<"$dir/$name")
            else
                value=$(random_secret)
                # The signing keys are kid:secret pairs (README, Configuration).
                [[ $name == FLASHBOOK_TOKEN_KEYS ]] && value=k1:$value
                if [[ -n $dir ]]; then (umask 077 && printf '%s\n' "$value" >"$dir/$name"); fi
            fi
            printf -v "$name" '%s' "$value"
        fi
        export "${name?}"
    done
}
