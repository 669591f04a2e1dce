"""One way to page every collection: {items, next_cursor}, limit, an opaque keyset cursor
and a Link: rel="next" header; pages stay exact while rows are added between them."""

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from app.paging import MAX_LIMIT, Scope, encode_cursor
from tests.api import factories, lot_states
from tests.api.factories import fields, problem

API = "/api/v1"
Add = Callable[[], Awaitable[None]]
_numbers = itertools.count(1)


@dataclass
class Collection:
    path: str
    client: httpx.AsyncClient
    add: Add | None  # inserts one more row (None: a fixed collection)
    identity: Callable[[dict[str, Any]], Any] = lambda item: item["id"]
    # The order the endpoint promises, as a sort key of one item.
    order: Callable[[dict[str, Any]], Any] = lambda item: item["id"]


def _ship(admin: httpx.AsyncClient, lot_id: int) -> Add:
    async def add() -> None:
        await lot_states.ship(admin, lot_id, f"Site {next(_numbers)}", 1)

    return add


async def suppliers(admin: httpx.AsyncClient) -> Collection:
    async def add() -> None:
        await factories.supplier(admin, name=f"Supplier {next(_numbers)}")

    for _ in range(5):
        await add()
    return Collection("/suppliers", admin, add)


async def audit(admin: httpx.AsyncClient) -> Collection:
    async def add() -> None:
        await factories.supplier(admin, name=f"Audited {next(_numbers)}")

    for _ in range(5):
        await add()
    return Collection("/audit", admin, add, order=lambda item: -item["id"])


async def keys(admin: httpx.AsyncClient) -> Collection:
    async def add() -> None:
        body = {"name": f"Key {next(_numbers)}", "role": "viewer"}
        await factories.create(admin, "/keys", body)

    for _ in range(2):
        await add()
    return Collection("/keys", admin, add)


async def products(admin: httpx.AsyncClient) -> Collection:
    code: Callable[[dict[str, Any]], Any] = lambda item: item["code"]  # noqa: E731
    return Collection("/products", admin, None, identity=code, order=code)


async def lots(admin: httpx.AsyncClient) -> Collection:
    supplier = await factories.supplier(admin)
    start = datetime(2020, 3, 1, tzinfo=UTC)

    async def add() -> None:
        n = next(_numbers)
        # Alternately far behind and far ahead of any cursor (newest received first).
        received = start + timedelta(days=n if n % 2 else -n)
        body = factories.lot_body(
            supplier["id"], lot_number=f"L-{n}", received_at=received.isoformat()
        )
        await factories.create(admin, "/lots", body)

    for _ in range(5):
        await add()

    def order(item: dict[str, Any]) -> Any:
        return (-datetime.fromisoformat(item["received_at"]).timestamp(), -item["id"])

    return Collection("/lots", admin, add, order=order)


async def inspections(admin: httpx.AsyncClient) -> Collection:
    lot = await factories.lot(admin, quantity=10_000)
    start = datetime(2020, 3, 22, tzinfo=UTC)

    async def add() -> None:
        n = next(_numbers)
        performed = start + timedelta(hours=n if n % 2 else -n)
        body = {**lot_states.FAILING_LAB, "performed_at": performed.isoformat()}
        await factories.create(admin, f"/lots/{lot['id']}/inspections", body)

    for _ in range(5):
        await add()

    def order(item: dict[str, Any]) -> Any:
        return (datetime.fromisoformat(item["performed_at"]), item["id"])

    return Collection(f"/lots/{lot['id']}/inspections", admin, add, order=order)


async def certificates(admin: httpx.AsyncClient) -> Collection:
    lot = await factories.lot(admin)

    async def add() -> None:
        body = {
            "type": "test_report",
            "number": f"TR-{next(_numbers)}",
            "issuer": "Example lab",
            "standard": "EN 149:2001+A1:2009",
            "valid_from": "2020-01-01",
        }
        await factories.create(admin, f"/lots/{lot['id']}/certificates", body)

    for _ in range(5):
        await add()
    return Collection(f"/lots/{lot['id']}/certificates", admin, add)


async def distributions(admin: httpx.AsyncClient) -> Collection:
    lot = await factories.lot(admin, quantity=10_000)
    add = _ship(admin, lot["id"])
    for _ in range(5):
        await add()
    return Collection(f"/lots/{lot['id']}/distributions", admin, add)


async def site_returns(admin: httpx.AsyncClient) -> Collection:
    lot = await factories.lot(admin, quantity=10_000)
    await lot_states.ship(admin, lot["id"], "Hospital", 1000)

    async def add() -> None:
        await lot_states.site_return(admin, lot["id"], "Hospital", 1, "returned")

    for _ in range(5):
        await add()
    return Collection(f"/lots/{lot['id']}/site-returns", admin, add)


async def decisions(admin: httpx.AsyncClient) -> Collection:
    lot = await lot_states.suspect_lot(admin, lot_number="D-1")
    add = _ship(admin, lot["id"])  # each shipment of a suspect lot adds units to recall
    for _ in range(4):
        await add()
    return Collection(f"/lots/{lot['id']}/decisions", admin, add)


async def concessions(admin: httpx.AsyncClient) -> Collection:
    lot = await factories.lot(admin)

    async def add() -> None:
        body = {
            "reason": f"Shortage {next(_numbers)}",
            "legal_basis": "Ministerial order 12",
            "allowed_uses": ["non_medical"],
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        }
        await factories.create(admin, f"/lots/{lot['id']}/concessions", body)

    for _ in range(5):
        await add()
    return Collection(f"/lots/{lot['id']}/concessions", admin, add)


async def returns(admin: httpx.AsyncClient) -> Collection:
    lot = await lot_states.rejected_lot(admin, lot_number="R-1")

    async def add() -> None:
        body = {"lot_id": lot["id"], "quantity": 1, "carrier_reference": f"DHL-{next(_numbers)}"}
        await factories.create(admin, "/returns", body)

    for _ in range(5):
        await add()
    return Collection("/returns", admin, add)


async def recalls(admin: httpx.AsyncClient) -> Collection:
    async def add() -> None:
        n = next(_numbers)
        await lot_states.suspect_lot(admin, shipments={"Site": 10}, lot_number=f"RC-{n}")

    for _ in range(5):
        await add()
    lot_id: Callable[[dict[str, Any]], Any] = lambda item: item["lot_id"]  # noqa: E731
    return Collection("/recalls", admin, add, identity=lot_id, order=lot_id)


async def scorecards(admin: httpx.AsyncClient) -> Collection:
    async def add() -> None:
        # A new supplier's lots make a new card and leave the others as they were.
        supplier = await factories.supplier(admin, name=f"Scored {next(_numbers)}")
        for product in ("FFP2", "KN95")[: 1 + supplier["id"] % 2]:
            body = {"product": product, "ordered_as": product, "lot_number": f"S-{product}"}
            await factories.lot(admin, supplier["id"], **body)

    for _ in range(4):
        await add()

    def card(item: dict[str, Any]) -> Any:
        return (item["supplier_id"], item["product"])

    def order(item: dict[str, Any]) -> Any:  # the default sort: -lots_received
        return (-item["lots_received"], item["supplier_id"], item["product"] or "")

    return Collection("/suppliers/scorecards", admin, add, identity=card, order=order)


COLLECTIONS = {
    make.__name__: make
    for make in (
        suppliers,
        audit,
        keys,
        products,
        lots,
        inspections,
        certificates,
        distributions,
        site_returns,
        decisions,
        concessions,
        returns,
        recalls,
        scorecards,
    )
}
Make = Callable[[httpx.AsyncClient], Awaitable[Collection]]


@pytest.fixture(params=list(COLLECTIONS))
async def collection(request: pytest.FixtureRequest, admin: httpx.AsyncClient) -> Collection:
    make: Make = COLLECTIONS[request.param]
    return await make(admin)


def expected_link(path: str, params: dict[str, Any], cursor: str) -> str:
    return f'<{API}{path}?{urlencode({**params, "cursor": cursor})}>; rel="next"'


async def test_pages_return_every_row_once_in_order_while_rows_arrive(
    collection: Collection,
) -> None:
    client, path = collection.client, collection.path
    whole = await client.get(path, params={"limit": MAX_LIMIT})
    assert whole.status_code == 200, whole.text
    before = whole.json()
    assert before["next_cursor"] is None and "Link" not in whole.headers
    snapshot = [collection.identity(item) for item in before["items"]]
    assert len(snapshot) >= 4, snapshot

    paged: list[dict[str, Any]] = []
    pages, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        paged.extend(body["items"])
        pages += 1
        assert pages <= 2 * len(snapshot), "paging does not come to an end"
        cursor = body["next_cursor"]
        if cursor is None:
            assert "Link" not in response.headers
            break
        assert response.headers["Link"] == expected_link(path, {"limit": 2}, cursor)
        if collection.add is not None:
            await collection.add()  # between two pages
    seen = [collection.identity(item) for item in paged]
    assert len(seen) == len(set(seen)), "a row came twice"
    assert [i for i in seen if i in set(snapshot)] == snapshot, "a row went missing or moved"
    assert [collection.order(item) for item in paged] == sorted(
        collection.order(item) for item in paged
    )
    assert pages >= 3


async def test_altered_foreign_or_oversized_requests_are_422(collection: Collection) -> None:
    client, path = collection.client, collection.path
    cursor = (await client.get(path, params={"limit": 1})).json()["next_cursor"]
    assert cursor
    payload, signature = cursor.split(".")
    flipped = ("A" if payload[0] != "A" else "B") + payload[1:]
    foreign_path = "/products" if path != "/products" else "/keys"
    foreign = (await client.get(foreign_path, params={"limit": 1})).json()["next_cursor"]
    assert foreign
    for bad, reason in (
        (f"{flipped}.{signature}", "not a cursor"),
        (payload, "not a cursor"),
        (cursor[:-3], "not a cursor"),
        ("%%%.***", "not a cursor"),
        (foreign, "another collection"),
    ):
        body = problem(await client.get(path, params={"cursor": bad}), 422)
        assert fields(body) == {"query.cursor"}, bad
        assert reason in body["errors"][0]["reason"], body
    for limit in (MAX_LIMIT + 1, 0):
        body = problem(await client.get(path, params={"limit": limit}), 422)
        assert fields(body) == {"query.limit"}
    # A misspelt parameter would be carried along in every cursor: refused, not ignored.
    body = problem(await client.get(path, params={"limt": 5}), 422)
    assert fields(body) == {"query.limt"} and "limit" in body["errors"][0]["known"]


async def test_a_cursor_is_bound_to_its_filters(admin: httpx.AsyncClient) -> None:
    for _ in range(3):
        await factories.supplier(admin)
    page = (await admin.get("/audit", params={"limit": 1, "entity_type": "supplier"})).json()
    other = {"limit": 1, "entity_type": "lot", "cursor": page["next_cursor"]}
    body = problem(await admin.get("/audit", params=other), 422)
    assert "other filters" in body["errors"][0]["reason"]
    same = {"limit": 2, "entity_type": "supplier", "cursor": page["next_cursor"]}
    assert len((await admin.get("/audit", params=same)).json()["items"]) == 2


async def test_a_forged_cursor_with_a_valid_signature_is_still_422(
    admin: httpx.AsyncClient,
) -> None:
    """The signing key is in the source: a cursor signed with it but holding a value of
    the wrong type must be refused before it reaches the database."""
    await factories.lot(admin)
    request = Request({"type": "http", "path": f"{API}/lots", "query_string": b"", "headers": []})
    for key in (
        ["not a time", 1],
        [None, "1"],
        [1.5, 2],
        [True, 1],
        ["2020-01-01T00:00:00Z"],
        ["2020-01-01T00:00:00Z", 2**70],
    ):
        forged = encode_cursor(Scope.of(request), key)
        body = problem(await admin.get("/lots", params={"cursor": forged}), 422)
        assert fields(body) == {"query.cursor"}, key
    genuine = encode_cursor(Scope.of(request), ["2030-01-01T00:00:00+00:00", 1])
    assert (await admin.get("/lots", params={"cursor": genuine})).status_code == 200


def _json_schema(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content = operation["responses"].get("200", {}).get("content", {})
    found: dict[str, Any] = content.get("application/json", {}).get("schema", {})
    for option in found.get("anyOf", [found]):
        ref = option.get("$ref")
        if ref:
            resolved: dict[str, Any] = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
            return resolved
    return found


def test_every_collection_endpoint_pages(app: FastAPI) -> None:
    """No GET answers a bare JSON array; every page takes limit and cursor only (no offset,
    after_id, before_id) and documents its Link header."""
    schema = app.openapi()
    paged = set()
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        answer = _json_schema(schema, get)
        assert answer.get("type") != "array", path
        names = {p["name"] for p in get.get("parameters", [])}
        assert not {"offset", "after_id", "before_id"} & names, path
        if {"items", "next_cursor"} <= set(answer.get("properties", {})):
            paged.add(path.removeprefix(API))
            assert {"limit", "cursor"} <= names, path
            assert "Link" in get["responses"]["200"].get("headers", {}), path
    made = {
        "/suppliers",
        "/audit",
        "/keys",
        "/products",
        "/lots",
        "/lots/{lot_id}/inspections",
        "/lots/{lot_id}/certificates",
        "/lots/{lot_id}/distributions",
        "/lots/{lot_id}/site-returns",
        "/lots/{lot_id}/decisions",
        "/lots/{lot_id}/concessions",
        "/returns",
        "/recalls",
        "/suppliers/scorecards",
        "/complaints",
        "/lots/{lot_id}/complaints",
        "/alerts",
        "/alerts/{alert_id}/matches",
    }
    assert made <= paged, made - paged
