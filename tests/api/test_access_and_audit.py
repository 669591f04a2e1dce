import httpx
import pytest

from app.auth.models import Role
from tests.api import factories
from tests.api.factories import problem

SUPPLIER = {"name": "Acme", "country": "DE", "roles": ["distributor"]}


async def test_no_key_is_401_with_challenge(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/v1/lots")
    body = problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "API key" in body["detail"]


async def test_wrong_key_is_401(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(
        "/api/v1/lots", headers={"Authorization": "Bearer lg_not-a-real-key"}
    )
    assert "unknown or revoked" in problem(response, 401)["detail"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.admin, 201), (Role.inspector, 201), (Role.returns, 403), (Role.viewer, 403)],
)
async def test_who_may_create_suppliers(
    anonymous: httpx.AsyncClient, keys: dict[Role, str], role: Role, expected: int
) -> None:
    response = await anonymous.post(
        "/api/v1/suppliers", json=SUPPLIER, headers={"Authorization": f"Bearer {keys[role]}"}
    )
    assert response.status_code == expected, response.text


async def test_only_admin_reads_audit(
    inspector: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    problem(await inspector.get("/audit"), 403)
    supplier = await factories.supplier(inspector, **SUPPLIER)
    records = (await admin.get("/audit")).json()["items"]
    assert [(r["action"], r["entity_id"], r["actor"]) for r in records] == [
        ("supplier.create", str(supplier["id"]), "test-inspector")
    ]
    assert records[0]["after"]["name"] == "Acme" and records[0]["before"] is None


async def test_audit_is_newest_first(admin: httpx.AsyncClient) -> None:
    lot = await factories.lot(admin)
    actions = [r["action"] for r in (await admin.get("/audit")).json()["items"]]
    assert actions[:2] == ["lot.create", "supplier.create"]
    older = await admin.get("/audit", params={"entity_type": "lot", "entity_id": lot["id"]})
    assert [r["action"] for r in older.json()["items"]] == ["lot.create"]


async def test_refused_write_leaves_no_trace(admin: httpx.AsyncClient) -> None:
    lot = await factories.lot(admin, quantity=10)
    before = (await admin.get("/audit")).json()["items"]
    refused = await admin.post(
        f"/lots/{lot['id']}/distributions",
        json={
            "destination": "H",
            "quantity": 11,
            "shipped_at": "2020-03-21T00:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
            "override_reason": "test",
        },
    )
    problem(refused, 409)
    duplicate = await admin.post(
        "/lots",
        json={
            "lot_number": lot["lot_number"],
            "supplier_id": lot["supplier_id"],
            "product": "FFP2",
            "ordered_as": "FFP2",
            "quantity": 1,
            "received_at": "2020-03-21T00:00:00Z",
        },
    )
    problem(duplicate, 409)
    assert (await admin.get("/audit")).json()["items"] == before
    assert (await admin.get(f"/lots/{lot['id']}/distributions")).json()["items"] == []
    assert (await admin.get(f"/lots/{lot['id']}")).json() == lot


async def test_unknown_route_is_problem_json(admin: httpx.AsyncClient) -> None:
    problem(await admin.get("/nowhere"), 404)
    problem(await admin.delete("/lots"), 405)


async def test_malformed_json_is_422(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/suppliers", content=b"{not json", headers={"content-type": "application/json"}
    )
    problem(response, 422)


async def test_an_unsupported_method_on_a_named_path_is_405(admin: httpx.AsyncClient) -> None:
    response = await admin.patch("/suppliers/scorecards", json={})
    problem(response, 405)
    assert response.headers["allow"] == "GET"
    problem(await admin.get("/suppliers/not-a-number"), 404)
