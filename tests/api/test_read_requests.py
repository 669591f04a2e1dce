"""GET requests run without a transaction of their own; what they must not lose for it."""

import asyncio
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import write_transaction
from app.lots.models import Lot
from app.lots.service import lock_lot
from app.suppliers.models import Supplier
from tests.api import factories
from tests.conftest import TEST_DATABASE_URL, _admin_execute


async def test_a_read_session_refuses_to_write_or_lock(
    app: FastAPI, admin: httpx.AsyncClient
) -> None:
    lot = await factories.lot(admin)
    async with app.state.read_sessionmaker() as session:
        with pytest.raises(RuntimeError, match="read-only session"):
            await lock_lot(session, lot["id"])
        with pytest.raises(RuntimeError, match="read-only session"):
            await session.execute(update(Lot).values(quantity=1))
        loaded = await session.get(Lot, lot["id"])
        assert loaded is not None
        loaded.quantity = 1
        with pytest.raises(RuntimeError, match="read-only session"):
            await session.flush()
    assert (await admin.get(f"/lots/{lot['id']}")).json()["quantities"]["received"] == 10_000


async def test_write_transaction_beside_a_read_session_commits_or_rolls_back(
    app: FastAPI, engine: AsyncEngine
) -> None:
    async def suppliers() -> int:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Supplier)) or 0)

    async with app.state.read_sessionmaker() as session:
        async with write_transaction(session) as writer:
            assert writer is not session
            writer.add(Supplier(name="Committed", country="NL", roles=["donor"]))
        assert await suppliers() == 1
        with pytest.raises(ValueError, match="boom"):
            async with write_transaction(session) as writer:
                writer.add(Supplier(name="Rolled back", country="NL", roles=["donor"]))
                await writer.flush()
                raise ValueError("boom")
    assert await suppliers() == 1
    async with (
        app.state.sessionmaker() as session,
        session.begin(),
        write_transaction(session) as writer,
    ):
        assert writer is session


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL connections only")
async def test_connections_the_server_closed_are_replaced_without_an_error(
    engine: AsyncEngine, admin: httpx.AsyncClient
) -> None:
    """No pre-ping round trip, yet a PostgreSQL restart costs no failed request: a pooled
    connection the server closed is discarded when it is checked out."""
    lot = await factories.lot(admin)
    pids = []
    async with AsyncExitStack() as pooled:
        for _ in range(max(1, engine.pool.checkedin())):  # type: ignore[attr-defined]
            connection = await pooled.enter_async_context(engine.connect())
            raw = await connection.get_raw_connection()
            pids.append(raw.driver_connection.get_server_pid())  # type: ignore[union-attr]
    listed = ", ".join(str(pid) for pid in pids)
    await _admin_execute(
        TEST_DATABASE_URL, f"SELECT pg_terminate_backend(pid) FROM unnest(ARRAY[{listed}]) AS pid"
    )
    await asyncio.sleep(0.2)  # the event loop reads the closed sockets
    for _ in range(len(pids) + 1):
        response = await admin.get(f"/lots/{lot['id']}")
        assert response.status_code == 200, response.text
