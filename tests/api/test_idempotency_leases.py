"""Leases on Idempotency-Keys, in process: a live lease answers 409 with Retry-After, an
expired one is taken over, and a request that lost its lease cannot store an answer."""

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import make_sessionmaker, utcnow
from app.idempotency import store
from app.idempotency.body import SpooledBody, TooLarge
from app.idempotency.models import IdempotencyRecord

SUPPLIER = json.dumps({"name": "Lease Medical", "country": "NL", "roles": ["manufacturer"]})
PATH = "/api/v1/suppliers"


def fingerprint(body: str) -> str:
    return hashlib.sha256(f"POST {PATH}?\n{body}".encode()).hexdigest()


async def held_key(engine: AsyncEngine, admin: httpx.AsyncClient, expires_in: timedelta) -> None:
    scope = hashlib.sha256(admin.headers["authorization"][7:].encode()).hexdigest()
    async with engine.begin() as connection:
        await connection.execute(
            IdempotencyRecord.__table__.insert().values(
                scope=scope,
                key="held",
                fingerprint=fingerprint(SUPPLIER),
                method="POST",
                path=PATH,
                created_at=utcnow(),
                lease_token="a" * 32,
                lease_expires_at=utcnow() + expires_in,
            )
        )


async def post(admin: httpx.AsyncClient) -> httpx.Response:
    return await admin.post(
        "/suppliers",
        content=SUPPLIER,
        headers={"Idempotency-Key": "held", "Content-Type": "application/json"},
    )


async def suppliers(admin: httpx.AsyncClient) -> int:
    return len((await admin.get("/suppliers")).json()["items"])


async def test_a_live_lease_answers_409_with_retry_after(
    admin: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await held_key(engine, admin, timedelta(seconds=20))
    response = await post(admin)
    assert response.status_code == 409
    assert 1 <= int(response.headers["retry-after"]) <= 20
    assert response.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert await suppliers(admin) == 0


async def test_an_expired_lease_is_taken_over_and_the_write_done_once(
    admin: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await held_key(engine, admin, timedelta(seconds=-1))
    first = await post(admin)
    assert first.status_code == 201, first.text
    again = await post(admin)
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert await suppliers(admin) == 1


async def test_a_request_that_lost_its_lease_stores_nothing(engine: AsyncEngine) -> None:
    sessionmaker = make_sessionmaker(engine)
    claim = store.Claim("s" * 64, "lost", "f" * 64, "POST", PATH)
    retention, lease = timedelta(hours=48), timedelta(seconds=-1)  # expires at once
    mine = await store.claim_key(sessionmaker, claim, retention=retention, lease=lease)
    theirs = await store.claim_key(sessionmaker, claim, retention=retention, lease=lease)
    assert isinstance(mine, store.Leased) and isinstance(theirs, store.Leased)
    answer = store.StoredResponse(201, "application/json", None, b"{}")
    assert not await store.save_response(sessionmaker, claim, mine.token, answer)
    assert await store.save_response(sessionmaker, claim, theirs.token, answer)
    async with engine.connect() as connection:
        stored = await connection.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert stored == 1


def chunks(*parts: bytes) -> Any:
    messages = [{"type": "http.request", "body": p, "more_body": True} for p in parts]
    messages[-1]["more_body"] = False
    iterator = iter(messages)

    async def receive() -> dict[str, Any]:
        return next(iterator)

    return receive


async def test_a_large_body_is_spooled_to_disk_hashed_and_replayed_whole() -> None:
    parts = [b"a" * 700_000, b"b" * 700_000]
    body = await SpooledBody.read(chunks(*parts), prefix=b"P\n", limit=2_000_000, spool_above=1000)
    assert body._file._rolled  # type: ignore[attr-defined]
    assert body.fingerprint == hashlib.sha256(b"P\n" + b"".join(parts)).hexdigest()
    replay = body.replay(chunks(b""))
    received = b""
    while True:
        message = await replay()
        received += message["body"]
        if not message["more_body"]:
            break
    assert received == b"".join(parts)


async def test_a_body_past_the_limit_is_refused() -> None:
    try:
        await SpooledBody.read(
            chunks(b"x" * 600, b"x" * 600), prefix=b"", limit=1000, spool_above=10
        )
    except TooLarge:
        return
    raise AssertionError("a body past the limit was accepted")
