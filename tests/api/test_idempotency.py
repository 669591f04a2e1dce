import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.models import Role
from app.config import Settings
from app.db import utcnow
from app.idempotency.models import IdempotencyRecord
from app.main import create_app
from tests.api import factories
from tests.api.factories import fields, problem

SUPPLIER = {"name": "Retry Medical", "country": "CN", "roles": ["manufacturer"]}


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def count_suppliers(client: httpx.AsyncClient) -> int:
    return len((await client.get("/suppliers")).json()["items"])


async def test_retry_returns_the_stored_response(admin: httpx.AsyncClient) -> None:
    first = await admin.post("/suppliers", json=SUPPLIER, headers=key("k-1"))
    assert first.status_code == 201
    again = await admin.post("/suppliers", json=SUPPLIER, headers=key("k-1"))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_suppliers(admin) == 1
    actions = [r["action"] for r in (await admin.get("/audit")).json()["items"]]
    assert actions.count("supplier.create") == 1


async def test_same_key_different_body_is_422(admin: httpx.AsyncClient) -> None:
    await admin.post("/suppliers", json=SUPPLIER, headers=key("k-2"))
    other = await admin.post("/suppliers", json={**SUPPLIER, "name": "Other"}, headers=key("k-2"))
    body = problem(other, 422)
    assert fields(body) == {"header.Idempotency-Key"}
    assert await count_suppliers(admin) == 1


async def test_keys_are_scoped_to_the_api_key(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    a = await admin.post("/suppliers", json=SUPPLIER, headers=key("shared"))
    b = await inspector.post("/suppliers", json=SUPPLIER, headers=key("shared"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


async def test_refusals_are_replayed_too(admin: httpx.AsyncClient) -> None:
    bad = {
        "lot_number": "L",
        "supplier_id": 999,
        "product": "FFP2",
        "ordered_as": "FFP2",
        "quantity": 1,
        "received_at": "2020-03-21T00:00:00Z",
    }
    first = problem(await admin.post("/lots", json=bad, headers=key("k-3")), 422)
    await factories.supplier(admin)  # supplier 1 exists now, but the answer for k-3 stands
    again = await admin.post("/lots", json=bad, headers=key("k-3"))
    assert problem(again, 422) == first


async def test_parallel_retries_write_once(admin: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(admin.post("/suppliers", json=SUPPLIER, headers=key("burst")) for _ in range(10))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and 201 in statuses
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert await count_suppliers(admin) == 1
    retry = await admin.post("/suppliers", json=SUPPLIER, headers=key("burst"))
    assert retry.status_code == 201 and retry.json()["id"] in created


async def test_keys_are_shared_by_server_processes(
    settings: Settings, admin: httpx.AsyncClient, keys: dict[Role, str]
) -> None:
    first = await admin.post("/suppliers", json=SUPPLIER, headers=key("k-4"))
    other_process: FastAPI = create_app(settings)
    async with (
        other_process.router.lifespan_context(other_process),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other_process),
            base_url="http://other/api/v1",
            headers={"Authorization": f"Bearer {keys[Role.admin]}"},
        ) as client,
    ):
        again = await client.post("/suppliers", json=SUPPLIER, headers=key("k-4"))
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await count_suppliers(admin) == 1


async def test_expired_keys_can_be_reused(admin: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await admin.post("/suppliers", json=SUPPLIER, headers=key("old"))
    async with engine.begin() as connection:
        await connection.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=49))
        )
    again = await admin.post("/suppliers", json=SUPPLIER, headers=key("old"))
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert await count_suppliers(admin) == 2
    async with engine.connect() as connection:
        kept = await connection.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert kept == 1


async def test_malformed_key_is_422(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/suppliers", json=SUPPLIER, headers=key("x" * 300))
    assert fields(problem(response, 422)) == {"header.Idempotency-Key"}
    assert await count_suppliers(admin) == 0
