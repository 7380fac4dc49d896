# Stand-in for the official grafana/k6 image: the same static k6 binary,
# user k6 (uid 12345), work directory /home/k6, entrypoint k6.
FROM debian:bookworm-slim
COPY k6 /usr/bin/k6
RUN useradd --uid 12345 --user-group --create-home --home-dir /home/k6 k6 && k6 version
USER k6
WORKDIR /home/k6
ENTRYPOINT ["k6"]
