# Stand-in for the official rust:1-bookworm: the host's toolchain on the
# debian:bookworm-slim stand-in, with a C toolchain for -sys crates and the
# host's CA bundle so cargo can fetch crates through this network.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# After ca-certificates, which would regenerate the bundle without the host's CA.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ADD toolchain.tar /usr/local/rust/
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
RUN mkdir -p /usr/local/cargo/bin && cargo --version && rustc --version
