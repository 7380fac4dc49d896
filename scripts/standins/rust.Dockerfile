# Stand-in for the official rust:1-bookworm: the host's Rust toolchain on the
# debian:bookworm-slim stand-in, a C toolchain for crates that build C, and
# the CA certificates the host adds to Debian's, so cargo inside a build
# reaches the crate registry as it does on the host. Laid out like the
# official image: CARGO_HOME=/usr/local/cargo, tools on PATH.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev make pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ADD toolchain.tar /usr/local/rust/
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p "$CARGO_HOME/bin" && chmod -R a+rwX "$CARGO_HOME" && cargo --version && rustc --version
