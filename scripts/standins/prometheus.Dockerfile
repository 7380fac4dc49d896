# Stand-in for the official prom/prometheus:v2.42.0 image, from Debian
# bookworm's prometheus 2.42.0: the same contract as the official image —
# /bin/prometheus as the entrypoint, the configuration at
# /etc/prometheus/prometheus.yml (mount your own), the data in the volume
# /prometheus, user nobody, port 9090. Debian's package has no web UI assets;
# the HTTP API, which is what run_tests.sh uses, is complete.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus \
 && chown nobody:nogroup /prometheus /etc/prometheus \
 && /bin/prometheus --version
USER nobody
EXPOSE 9090
VOLUME ["/prometheus"]
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
