import hashlib

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.models import ApiKey, Role
from tests.api import factories
from tests.api.factories import fields, problem


async def test_supplier_change_needs_current_etag(
    inspector: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = await factories.supplier(inspector, name="Old name")
    path = f"/suppliers/{created['id']}"
    read = await inspector.get(path)
    assert read.headers["etag"] == '"1"'
    change = {"name": "New name", "registration_ref": "NMPA-42"}
    missing = problem(await inspector.patch(path, json=change), 428)
    assert missing["current_etag"] == '"1"'
    updated = await inspector.patch(path, json=change, headers={"If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"2"'
    assert (updated.json()["name"], updated.json()["version"]) == ("New name", 2)
    assert updated.json()["roles"] == created["roles"]
    stale = problem(
        await inspector.patch(path, json={"name": "Lost update"}, headers={"If-Match": '"1"'}), 412
    )
    assert stale["current_version"] == 2
    assert (await inspector.get(path)).json()["name"] == "New name"
    weak = await inspector.patch(path, json={"name": "X"}, headers={"If-Match": 'W/"2"'})
    problem(weak, 412)
    audit = (await admin.get("/audit", params={"entity_type": "supplier"})).json()["items"]
    assert audit[0]["action"] == "supplier.update"
    assert (audit[0]["before"]["name"], audit[0]["after"]["name"]) == ("Old name", "New name")


async def test_supplier_change_validation(inspector: httpx.AsyncClient) -> None:
    created = await factories.supplier(inspector)
    path = f"/suppliers/{created['id']}"
    etag = {"If-Match": '"1"'}
    assert fields(problem(await inspector.patch(path, json={}, headers=etag), 422)) == {"body"}
    bad_country = await inspector.patch(path, json={"country": "ZZ"}, headers=etag)
    assert fields(problem(bad_country, 422)) == {"body.country"}
    null_name = await inspector.patch(path, json={"name": None}, headers=etag)
    assert fields(problem(null_name, 422)) == {"body.name"}
    problem(await inspector.patch("/suppliers/999", json={"name": "x"}, headers=etag), 404)
    assert (await inspector.get(path)).json()["version"] == 1


async def test_admin_manages_keys_and_revocation_is_immediate(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, keys: dict[Role, str]
) -> None:
    created = await factories.create(admin, "/keys", {"name": "Lab Rotterdam", "role": "viewer"})
    assert created["key"].startswith("lg_") and created["role"] == "viewer"
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await anonymous.get("/api/v1/lots", headers=headers)).status_code == 200
    listed = (await admin.get("/keys")).json()["items"]
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert created["key"] not in str(listed)
    revoked = await admin.delete(f"/keys/{created['id']}")
    assert revoked.status_code == 204
    problem(await anonymous.get("/api/v1/lots", headers=headers), 401)
    assert [
        k["revoked_at"] is not None
        for k in (await admin.get("/keys")).json()["items"]
        if k["id"] == created["id"]
    ] == [True]


async def test_last_admin_key_cannot_be_revoked(admin: httpx.AsyncClient) -> None:
    admins = [k for k in (await admin.get("/keys")).json()["items"] if k["role"] == "admin"]
    assert len(admins) == 1
    body = problem(await admin.delete(f"/keys/{admins[0]['id']}"), 409)
    assert "last active admin" in body["detail"]
    problem(await admin.delete("/keys/9999"), 404)


async def test_only_admin_manages_keys(inspector: httpx.AsyncClient) -> None:
    problem(await inspector.get("/keys"), 403)
    problem(await inspector.post("/keys", json={"name": "x", "role": "admin"}), 403)


async def test_only_key_digests_are_stored(app: FastAPI, keys: dict[Role, str]) -> None:
    async with app.state.engine.connect() as connection:
        rows = (await connection.execute(select(ApiKey))).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert rows and all(plain not in stored for plain in keys.values())
    digests = {row.key_hash for row in rows}
    assert {hashlib.sha256(plain.encode()).hexdigest() for plain in keys.values()} <= digests
