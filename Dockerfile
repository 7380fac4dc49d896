# flashbook: build with the official Rust image, run on Debian slim as a
# non-root user. Both base images are build arguments.
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /build
# Dependencies first, in their own layer: a source change does not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src seed migrations \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > seed/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src seed migrations
COPY migrations migrations
COPY src src
COPY seed seed
# Newer than the placeholder build, so cargo rebuilds the real crate.
RUN touch src/main.rs src/lib.rs seed/main.rs \
 && cargo build --release --locked \
 && cp target/release/flashbook target/release/seed /usr/local/bin/

FROM ${RUNTIME_IMAGE}
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin flashbook
COPY --from=build /usr/local/bin/flashbook /usr/local/bin/seed /usr/local/bin/
USER flashbook
ENV FLASHBOOK_HOST=0.0.0.0 \
    FLASHBOOK_PORT=8080 \
    RUST_LOG=info
EXPOSE 8080
# bash's /dev/tcp: no curl needed in the image.
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${FLASHBOOK_PORT} && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
CMD ["flashbook"]
