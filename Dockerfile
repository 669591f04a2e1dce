FROM python:3.11-slim
WORKDIR /srv/lotgate
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir .
EXPOSE 8000
# Page sessions: both workers must share the signing secret (made per start unless given).
# A worker per core (uvicorn reads WEB_CONCURRENCY); /metrics adds up the workers' samples,
# which each writes to an emptied directory.
ENV WEB_CONCURRENCY=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/lotgate-metrics
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && lotgate bootstrap && export LOTGATE_SESSION_SECRET=\"${LOTGATE_SESSION_SECRET:-$(python -c 'import secrets; print(secrets.token_urlsafe(32))')}\" && exec uvicorn app.main:create_app --factory --host 0.0.0.0 --port 8000"]
