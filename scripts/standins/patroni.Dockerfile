# The HA database node of docker-compose.ha.yml: Patroni 3.0, PostgreSQL 15
# and etcd 3.4, all from Debian bookworm's packages (no official Patroni
# image exists; this one is built by `docker compose build` like the API
# image). One image, two roles:
#   patroni-entrypoint.sh            a Patroni node (PostgreSQL managed by it)
#   etcd-with-auth.sh ETCD_FLAGS...  the etcd member Patroni keeps its state in,
#                                    client authentication on (etcdctl from
#                                    etcd-client sets it up)
# The settings and their reasons: docs/high-availability.md.
FROM debian:bookworm-slim
ENV LANG=C.UTF-8 \
    PGDATA=/var/lib/postgresql/data
# The postgresql package would create and start a cluster of its own.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/docker.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 patroni etcd-server etcd-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p "$PGDATA" /var/run/postgresql /var/lib/etcd \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql /var/lib/etcd \
 && chmod 700 "$PGDATA" \
 && patroni --version && etcd --version | head -n 1 && etcdctl version | head -n 1
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
COPY patroni-entrypoint.sh patroni-config.sh etcd-with-auth.sh /usr/local/bin/
VOLUME /var/lib/postgresql/data
EXPOSE 5432 8008 2379
ENTRYPOINT ["patroni-entrypoint.sh"]
