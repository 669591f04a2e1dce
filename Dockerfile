FROM python:3.11-slim
WORKDIR /srv/lotgate
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["sh", "-c", "lotgate bootstrap && uvicorn app.main:create_app --factory --host 0.0.0.0 --port 8000"]
