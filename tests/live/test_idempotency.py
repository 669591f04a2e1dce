"""Idempotency-Key through a real server process: retries replay, strangers write nothing."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.suppliers.models import Supplier
from tests.live.server import LiveServer

SUPPLIER = {"country": "NL", "roles": ["manufacturer"]}


@pytest.fixture
async def database(live_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(live_database, poolclass=NullPool)
    yield engine
    await engine.dispose()


async def count(engine: AsyncEngine, statement: object) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(statement) or 0)  # type: ignore[call-overload]


def suppliers_named(prefix: str) -> object:
    return select(func.count()).select_from(Supplier).where(Supplier.name.startswith(prefix))


async def test_a_retry_sent_right_after_the_answer_replays_it(
    live_server: LiveServer, database: AsyncEngine
) -> None:
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers=live_server.admin_headers, timeout=30
    ) as client:
        for i in range(20):
            body = {**SUPPLIER, "name": f"Sequential {i}"}
            headers = {"Idempotency-Key": f"sequential-{i}"}
            first = await client.post("/api/v1/suppliers", json=body, headers=headers)
            again = await client.post("/api/v1/suppliers", json=body, headers=headers)
            assert first.status_code == 201, first.text
            assert again.status_code == 201, f"retry {i}: {again.status_code} {again.text}"
            assert again.headers.get("idempotent-replayed") == "true"
            assert again.json() == first.json()
    assert await count(database, suppliers_named("Sequential ")) == 20
