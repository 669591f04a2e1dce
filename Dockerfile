FROM python:3.11-slim
WORKDIR /srv/lotgate
# Exact versions and hashes from the lock first (a layer kept while only the code changes).
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps . && pip check
# Run as an unprivileged user that owns only its data directory (an SQLite database when
# LOTGATE_DATABASE_URL is not set); the code stays read-only to it.
RUN useradd --system --uid 10001 --user-group --home-dir /srv/lotgate --no-create-home lotgate \
    && mkdir -p /srv/lotgate/data && chown lotgate:lotgate /srv/lotgate/data
USER lotgate:lotgate
EXPOSE 8000
# Page sessions: both workers must share the signing secret (made per start unless given).
# A worker per core (uvicorn reads WEB_CONCURRENCY); /metrics adds up the workers' samples,
# which each writes to an emptied directory.
ENV WEB_CONCURRENCY=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/lotgate-metrics \
    LOTGATE_DATABASE_URL=sqlite+aiosqlite:////srv/lotgate/data/lotgate.db
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && lotgate bootstrap && export LOTGATE_SESSION_SECRET=\"${LOTGATE_SESSION_SECRET:-$(python -c 'import secrets; print(secrets.token_urlsafe(32))')}\" && exec uvicorn app.main:create_app --factory --host 0.0.0.0 --port 8000"]
