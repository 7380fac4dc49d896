# Stand-in for the official postgres:17 image (which is Debian trixie based),
# from Debian's postgresql-17: same entrypoint contract, data directory,
# volume, port, stop signal and client tools (psql, pg_isready) on PATH.
FROM debian:trixie-slim
ENV PG_MAJOR=17 \
    LANG=C.UTF-8 \
    PGDATA=/var/lib/postgresql/data
# The package would create and start a cluster of its own; the entrypoint
# makes the one in $PGDATA instead.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/docker.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR" \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p "$PGDATA" /var/run/postgresql /docker-entrypoint-initdb.d \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 1777 /var/run/postgresql \
 && chmod 700 "$PGDATA"
ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:$PATH
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
