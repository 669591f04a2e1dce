import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from app.auth.models import Role
from tests.api import factories
from tests.api.factories import problem


async def test_request_id_is_echoed_or_generated(admin: httpx.AsyncClient) -> None:
    echoed = await admin.get("/lots", headers={"X-Request-ID": "warehouse-7:abc"})
    assert echoed.headers["x-request-id"] == "warehouse-7:abc"
    generated = await admin.get("/lots")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await admin.get("/lots", headers={"X-Request-ID": "<script>" + "x" * 200})
    assert hostile.headers["x-request-id"] != "<script>" + "x" * 200


class _Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_logs_are_json_with_request_id_and_no_secrets(
    admin: httpx.AsyncClient, keys: dict[Role, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    root = logging.getLogger()
    formatter = root.handlers[0].formatter
    assert formatter is not None
    capture = _Lines(formatter)
    root.addHandler(capture)
    try:
        await admin.post(
            "/suppliers",
            json={"name": "Log Test", "country": "NL", "roles": ["donor"]},
            headers={"X-Request-ID": "req-42"},
        )
    finally:
        root.removeHandler(capture)
    # The access log is written by structlog straight to stdout; the rest goes through
    # the standard library's handlers.
    lines = capsys.readouterr().out.splitlines() + capture.lines
    records = [json.loads(line) for line in lines if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "lotgate.access"]
    assert access and access[0]["request_id"] == "req-42"
    assert (access[0]["status"], access[0]["route"], access[0]["actor"]) == (
        201,
        "/suppliers",
        "test-admin",
    )
    assert all(key not in line for line in lines for key in keys.values())


async def test_metrics_count_requests_by_route_and_decisions(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    def sample(text: str, prefix: str) -> float:
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = (await anonymous.get("/metrics")).text
    await factories.lot(admin)
    after = (await anonymous.get("/metrics")).text
    created = 'lotgate_http_requests_total{method="POST",route="/lots",status="201"}'
    assert sample(after, created) - sample(before, created) == 1
    on_hold = 'lotgate_decisions_total{status="on_hold"}'
    assert sample(after, on_hold) - sample(before, on_hold) == 1
    assert "lotgate_http_request_duration_seconds_bucket" in after


async def test_unexpected_errors_leak_nothing(
    app: FastAPI, keys: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.suppliers import service

    async def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError('SELECT secret FROM "api_keys" -- /work/main/app/db.py line 3')

    monkeypatch.setattr(service, "list_suppliers", explode)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(
            "/api/v1/suppliers", headers={"Authorization": f"Bearer {keys[Role.viewer]}"}
        )
    body = problem(response, 500)
    text = response.text
    assert "SELECT" not in text and "/work" not in text and "Traceback" not in text
    assert body["detail"] == "An unexpected error occurred; it has been logged."


async def test_oversized_body_is_413_before_anything_is_written(
    admin: httpx.AsyncClient,
) -> None:
    huge = {"name": "x" * 2_000_000, "country": "NL", "roles": ["donor"]}
    response = await admin.post("/suppliers", json=huge)
    body = problem(response, 413)
    assert "exceeds" in body["detail"] or "large" in body["title"].lower()
    with_key = await admin.post("/suppliers", json=huge, headers={"Idempotency-Key": "big"})
    problem(with_key, 413)
    assert (await admin.get("/suppliers")).json()["items"] == []


async def test_nul_characters_are_refused_with_the_field(admin: httpx.AsyncClient) -> None:
    query = await admin.get("/audit", params={"entity_type": "lot\x00"})
    body = problem(query, 422)
    assert body["errors"][0]["field"] == "query.entity_type"
    supplier = await admin.post(
        "/suppliers", json={"name": "A\x00B", "country": "NL", "roles": ["donor"]}
    )
    assert "name: NUL" in problem(supplier, 422)["detail"]
    assert (await admin.get("/suppliers")).json()["items"] == []
