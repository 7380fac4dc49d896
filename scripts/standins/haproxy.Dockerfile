# Stand-in for the official haproxy:3.0 image, from Debian's haproxy 3.0:
# runs as user haproxy, reads /usr/local/etc/haproxy/haproxy.cfg (mount your
# own: like the official image it ships none), stays in the foreground in
# master-worker mode, logs where the configuration says.
FROM debian:trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/etc/haproxy /var/lib/haproxy \
 && chown haproxy:haproxy /var/lib/haproxy \
 && haproxy -v
COPY haproxy-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
STOPSIGNAL SIGUSR1
USER haproxy
WORKDIR /var/lib/haproxy
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
