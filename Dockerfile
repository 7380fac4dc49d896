# flashbook: built with the official Rust image, run on Debian slim as a
# non-root user. The image holds the service and seed; the checker of the
# proofs (verify) has an image of its own, verify/Dockerfile. Both base
# images are build arguments:
#   docker build --build-arg RUST_IMAGE=rust:1.95-bookworm -t flashbook .
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /build
# Dependencies first, in a layer of their own that only the manifests,
# Cargo.lock and build.rs invalidate: placeholder targets with the real
# paths (the library, the two binaries, an empty migrations/functions/ for build.rs)
# make cargo download and compile every dependency. Cargo reads every
# workspace member's manifest, so the checker's (verify/) comes too; the
# checker itself is never built here (verify/Dockerfile builds it).
COPY Cargo.toml Cargo.lock build.rs ./
COPY verify/Cargo.toml verify/
RUN mkdir -p src seed migrations/functions \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > seed/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked -p flashbook \
 && rm -rf src seed migrations
# The real sources. refinery embeds migrations/ at compile time, and build.rs
# makes a change there rebuild the crate.
COPY migrations migrations
COPY src src
COPY seed seed
# COPY keeps the files' own times, which may be older than the placeholder
# build: touch them so cargo rebuilds the crate rather than keep the stubs.
RUN touch src/main.rs src/lib.rs seed/main.rs \
 && cargo build --release --locked -p flashbook \
 && cp target/release/flashbook target/release/seed /usr/local/bin/

FROM ${RUNTIME_IMAGE}
# A fixed numeric uid, so orchestrators can check the image runs as non-root.
RUN groupadd --system --gid 10001 flashbook \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin flashbook
COPY --from=build /usr/local/bin/flashbook /usr/local/bin/seed /usr/local/bin/
USER 10001:10001
ENV FLASHBOOK_HOST=0.0.0.0 \
    FLASHBOOK_PORT=8080 \
    RUST_LOG=info
EXPOSE 8080
# bash's /dev/tcp speaks enough HTTP for a health check: no curl in the image.
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${FLASHBOOK_PORT} && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# Open connections: the service raises its open-file soft limit to the hard
# limit at start and logs both (src/main.rs). An image cannot set the hard
# limit; docker-compose.yml sets `ulimits: nofile` 16384, and by hand:
#   docker run --ulimit nofile=16384:16384 flashbook
# SIGTERM (docker stop) lets in-flight requests finish.
CMD ["flashbook"]
