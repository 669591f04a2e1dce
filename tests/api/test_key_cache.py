"""A process trusts a key it has checked for LOTGATE_KEY_CACHE_SECONDS; revocations made
through the API count at once in that process."""

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.cache import KeyCache
from app.auth.keys import ActiveKey
from app.auth.models import ApiKey, Role
from app.config import Settings
from app.db import utcnow
from app.main import create_app
from tests.api.factories import problem


def _key(key_id: int) -> ActiveKey:
    return ActiveKey(key_id, f"key {key_id}", Role.viewer.value, f"digest-{key_id}")


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_checked_key_is_trusted_for_the_cache_time_only() -> None:
    clock = _Clock()
    cache = KeyCache(ttl=5, clock=clock)
    cache.put("d1", _key(1))
    clock.now += 4.9
    assert cache.get("d1") == _key(1)
    clock.now += 0.1
    assert cache.get("d1") is None


def test_the_cache_is_bounded_and_forgets_revoked_keys() -> None:
    cache = KeyCache(ttl=60, entries=2)
    cache.put("d1", _key(1))
    cache.put("d2", _key(2))
    assert cache.get("d1") == _key(1)  # d1 used last: d2 is the one dropped
    cache.put("d3", _key(3))
    assert (cache.get("d1"), cache.get("d2"), cache.get("d3")) == (_key(1), None, _key(3))
    cache.forget(3)
    assert cache.get("d3") is None and cache.get("d1") == _key(1)


def test_no_cache_time_keeps_nothing() -> None:
    cache = KeyCache(ttl=0)
    cache.put("d1", _key(1))
    assert cache.get("d1") is None


async def _revoke_in_database(engine: AsyncEngine, key_id: int) -> None:
    """As another server process (or `lotgate keys`) would: not through this app."""
    async with engine.begin() as connection:
        await connection.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=utcnow())
        )


async def test_a_key_revoked_by_another_process_counts_after_the_cache_time(
    settings: Settings, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    created = (await admin.post("/keys", json={"name": "Dashboard", "role": "viewer"})).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await anonymous.get("/api/v1/lots", headers=headers)).status_code == 200
    await _revoke_in_database(engine, created["id"])
    # This process checked the key a moment ago: it still trusts it, for the cache time.
    assert (await anonymous.get("/api/v1/lots", headers=headers)).status_code == 200
    uncached: FastAPI = create_app(settings.model_copy(update={"key_cache_seconds": 0}))
    async with (
        uncached.router.lifespan_context(uncached),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=uncached), base_url="http://x") as c,
    ):
        refused = await c.get("/api/v1/lots", headers=headers)
    assert "unknown or revoked" in problem(refused, 401)["detail"]


async def test_a_revocation_through_the_api_counts_at_once_despite_the_cache(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, app: FastAPI
) -> None:
    assert app.state.key_cache.ttl >= 1  # the cache is on
    created = (await admin.post("/keys", json={"name": "Laptop", "role": "viewer"})).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await anonymous.get("/api/v1/lots", headers=headers)).status_code == 200
    assert (await admin.delete(f"/keys/{created['id']}")).status_code == 204
    problem(await anonymous.get("/api/v1/lots", headers=headers), 401)


async def test_a_failed_revocation_keeps_the_key(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, keys: dict[Role, str]
) -> None:
    admins = [k for k in (await admin.get("/keys")).json()["items"] if k["role"] == "admin"]
    problem(await admin.delete(f"/keys/{admins[0]['id']}"), 409)  # the last admin key
    assert (await admin.get("/keys")).status_code == 200
