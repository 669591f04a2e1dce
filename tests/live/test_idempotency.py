"""Idempotency-Key through a real server process: retries replay, strangers write nothing."""

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.db import utcnow
from app.idempotency.models import IdempotencyRecord
from app.imports.models import ImportJob
from app.suppliers.models import Supplier
from tests.conftest import TEST_DATABASE_URL
from tests.live.server import LiveServer, start_server

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


def idempotency_rows(key_prefix: str) -> object:
    return (
        select(func.count())
        .select_from(IdempotencyRecord)
        .where(IdempotencyRecord.key.startswith(key_prefix))
    )


async def test_concurrent_duplicates_write_once(
    live_server: LiveServer, database: AsyncEngine
) -> None:
    body = {**SUPPLIER, "name": "Burst Medical"}
    headers = {"Idempotency-Key": "burst-1"}
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers=live_server.admin_headers, timeout=30
    ) as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/suppliers", json=body, headers=headers) for _ in range(20))
        )
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {201, 409}, statuses
        assert 201 in statuses
        assert all(r.headers.get("retry-after") for r in responses if r.status_code == 409)
        answered = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(answered) == 1
        again = await client.post("/api/v1/suppliers", json=body, headers=headers)
        assert again.status_code == 201 and again.json()["id"] in answered
    assert await count(database, suppliers_named("Burst Medical")) == 1


STRANGERS = {"none": None, "garbage": "Bearer garbage", "basic": "Basic dXNlcjpwYXNz"}


@pytest.mark.parametrize("who", sorted(STRANGERS))
async def test_strangers_leave_no_idempotency_rows(
    live_server: LiveServer, database: AsyncEngine, who: str
) -> None:
    authorization = STRANGERS[who]
    headers = {"Idempotency-Key": f"stranger-{who}"}
    if authorization is not None:
        headers["Authorization"] = authorization
    oversized = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        small = await client.post(
            "/api/v1/suppliers", json={**SUPPLIER, "name": "Stranger"}, headers=headers
        )
        # Refused before the body is read: 401, not the 413 its size would earn.
        large = await client.post(
            "/api/v1/suppliers",
            content=oversized,
            headers={**headers, "Content-Type": "application/json"},
        )
    for response in (small, large):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"
    assert await count(database, idempotency_rows("stranger-")) == 0
    assert await count(database, suppliers_named("Stranger")) == 0


async def post_supplier_as(
    server: LiveServer, api_key: str, name: str, idempotency_key: str
) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as client:
        return await client.post(
            "/api/v1/suppliers",
            json={**SUPPLIER, "name": name},
            headers={"Idempotency-Key": idempotency_key},
        )


async def test_a_revoked_key_leaves_no_idempotency_rows(
    live_server: LiveServer, database: AsyncEngine
) -> None:
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers=live_server.admin_headers, timeout=30
    ) as admin:
        made = await admin.post("/api/v1/keys", json={"name": "soon revoked", "role": "inspector"})
        assert made.status_code == 201, made.text
        revoked = await admin.delete(f"/api/v1/keys/{made.json()['id']}")
        assert revoked.status_code == 204
    response = await post_supplier_as(
        live_server, made.json()["key"], "Revoked Medical", "revoked-1"
    )
    assert response.status_code == 401, response.text
    assert await count(database, idempotency_rows("revoked-")) == 0
    assert await count(database, suppliers_named("Revoked Medical")) == 0


async def test_a_refused_role_is_not_stored(live_server: LiveServer, database: AsyncEngine) -> None:
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers=live_server.admin_headers, timeout=30
    ) as admin:
        made = await admin.post("/api/v1/keys", json={"name": "a viewer", "role": "viewer"})
    response = await post_supplier_as(live_server, made.json()["key"], "Viewer Medical", "viewer-1")
    assert response.status_code == 403, response.text
    assert await count(database, idempotency_rows("viewer-")) == 0


async def _waiting_on_a_lock(engine: AsyncEngine) -> bool:
    waiting = await count(
        engine,
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ),
    )
    return waiting > 0


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="holds a PostgreSQL table lock")
async def test_a_key_whose_request_died_is_taken_over_once_its_lease_ends(
    live_database: str, database: AsyncEngine, tmp_path: Path
) -> None:
    lease = {"LOTGATE_IDEMPOTENCY_LEASE_SECONDS": "2"}
    body = {**SUPPLIER, "name": "Crash Medical"}
    headers = {"Idempotency-Key": "crash-1"}
    server = start_server(live_database, tmp_path, extra_env=lease)
    async with database.connect() as blocker:
        held = await blocker.begin()
        await blocker.execute(text("LOCK TABLE suppliers IN EXCLUSIVE MODE"))
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=server.admin_headers, timeout=60
        ) as client:
            first = asyncio.create_task(
                client.post("/api/v1/suppliers", json=body, headers=headers)
            )
            for _ in range(1200):  # until it holds the key and waits for the table
                claimed = await count(database, idempotency_rows("crash-")) == 1
                if claimed and await _waiting_on_a_lock(database):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the first request never got as far as its write")
            server.stop(signal.SIGKILL)
            with pytest.raises(httpx.TransportError):
                await first
        await held.rollback()

    # The same API key: Idempotency-Keys are scoped to the key that sent them.
    after = start_server(
        live_database, tmp_path, extra_env={**lease, "LOTGATE_ADMIN_KEY": server.admin_key}
    )
    try:
        async with httpx.AsyncClient(
            base_url=after.base_url, headers=server.admin_headers, timeout=60
        ) as client:
            for _ in range(600):
                retry = await client.post("/api/v1/suppliers", json=body, headers=headers)
                if retry.status_code != 409:
                    break
                assert int(retry.headers["retry-after"]) >= 1
                await asyncio.sleep(0.1)
            assert retry.status_code == 201, retry.text
            assert "idempotent-replayed" not in retry.headers
            replay = await client.post("/api/v1/suppliers", json=body, headers=headers)
            assert replay.headers.get("idempotent-replayed") == "true"
            assert replay.json() == retry.json()
    finally:
        after.stop()
    assert await count(database, suppliers_named("Crash Medical")) == 1


async def test_the_purge_removes_expired_records_and_old_import_files(
    live_database: str, database: AsyncEngine, tmp_path: Path
) -> None:
    now = utcnow()
    async with database.begin() as connection:
        for key, age in (("purge-old", timedelta(hours=49)), ("purge-new", timedelta(0))):
            await connection.execute(
                insert(IdempotencyRecord).values(
                    scope="0" * 64,
                    key=key,
                    fingerprint="0" * 64,
                    method="POST",
                    path="/api/v1/suppliers",
                    status_code=201,
                    response_body=b"{}",
                    created_at=now - age,
                )
            )
        for name, age in (("old.csv", timedelta(days=8)), ("new.csv", timedelta(0))):
            await connection.execute(
                insert(ImportJob).values(
                    kind="lots",
                    format="csv",
                    filename=name,
                    sha256=name.ljust(64, "0"),
                    state="done",
                    created_by="test",
                    created_at=now - age,
                    updated_at=now - age,
                    finished_at=now - age,
                    content=b"lot_number\nL-1\n",
                )
            )
    server = start_server(
        live_database, tmp_path, extra_env={"LOTGATE_PURGE_SCHEDULE": "* * * * * *"}
    )
    try:
        for _ in range(600):
            if await count(database, idempotency_rows("purge-old")) == 0:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"the expired record was never purged:\n{server.log()}")
    finally:
        server.stop()
    assert await count(database, idempotency_rows("purge-new")) == 1
    async with database.connect() as connection:
        files = dict(
            (await connection.execute(select(ImportJob.filename, ImportJob.content))).all()
        )
    assert files == {"old.csv": b"", "new.csv": b"lot_number\nL-1\n"}
