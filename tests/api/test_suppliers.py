import httpx

from tests.api import factories
from tests.api.factories import fields, problem


async def test_create_and_read_supplier(inspector: httpx.AsyncClient) -> None:
    created = await factories.supplier(
        inspector,
        name="3M",
        country="us",
        roles=["manufacturer", "exporter"],
        registration_ref="FDA-123",
    )
    assert created["country"] == "US"
    assert created["roles"] == ["exporter", "manufacturer"]
    fetched = (await inspector.get(f"/suppliers/{created['id']}")).json()
    assert fetched == created
    listed = (await inspector.get("/suppliers")).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]


async def test_list_pages_by_id(inspector: httpx.AsyncClient) -> None:
    ids = [(await factories.supplier(inspector, name=f"S{i}"))["id"] for i in range(3)]
    first = (await inspector.get("/suppliers", params={"limit": 2})).json()
    assert [s["id"] for s in first["items"]] == ids[:2]
    rest = (await inspector.get("/suppliers", params={"cursor": first["next_cursor"]})).json()
    assert [s["id"] for s in rest["items"]] == ids[2:] and rest["next_cursor"] is None


async def test_country_must_be_iso_alpha2(inspector: httpx.AsyncClient) -> None:
    response = await inspector.post(
        "/suppliers", json={"name": "X", "country": "XX", "roles": ["broker"]}
    )
    body = problem(response, 422)
    assert fields(body) == {"body.country"}
    assert "ISO 3166" in body["detail"]


async def test_unknown_role_lists_allowed_values(inspector: httpx.AsyncClient) -> None:
    response = await inspector.post(
        "/suppliers", json={"name": "X", "country": "NL", "roles": ["smuggler"]}
    )
    body = problem(response, 422)
    assert fields(body) == {"body.roles.0"}
    assert "manufacturer" in body["errors"][0]["reason"]


async def test_unknown_fields_are_refused(inspector: httpx.AsyncClient) -> None:
    response = await inspector.post(
        "/suppliers", json={"name": "X", "country": "NL", "roles": ["donor"], "rating": 5}
    )
    assert fields(problem(response, 422)) == {"body.rating"}


async def test_unknown_supplier_is_404(viewer: httpx.AsyncClient) -> None:
    body = problem(await viewer.get("/suppliers/999"), 404)
    assert "999" in body["detail"]


async def test_out_of_range_id_is_422_not_500(viewer: httpx.AsyncClient) -> None:
    problem(await viewer.get("/suppliers/99999999999999999999"), 422)


async def test_viewer_cannot_create(viewer: httpx.AsyncClient) -> None:
    response = await viewer.post(
        "/suppliers", json={"name": "X", "country": "NL", "roles": ["donor"]}
    )
    body = problem(response, 403)
    assert "inspector" in body["allowed_roles"]
    assert (await viewer.get("/suppliers")).json()["items"] == []
