"""GET /lots: every filter and sort, keyset cursors, and paging while lots arrive."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dashboard.rollup import bump_version
from app.lots.models import Lot
from tests.api import factories
from tests.api.factories import fields, problem
from tests.api.test_decisions import KN95_TEST_REPORT, good_ffp2_lot, lab, measurements, post
from tests.api.test_decisions import visual as visual_inspection

Lots = dict[str, dict[str, Any]]


def at(day: int, month: int = 3, hour: int = 9) -> str:
    return datetime(2020, month, day, hour, tzinfo=UTC).isoformat()


async def restricted_kn95(client: httpx.AsyncClient, **lot: Any) -> dict[str, Any]:
    """KN95 delivered against an FFP2 order, passing its own standard: restricted."""
    created = await factories.lot(client, product="KN95", ordered_as="FFP2", quantity=1000, **lot)
    path = f"/lots/{created['id']}"
    await post(client, f"{path}/certificates", KN95_TEST_REPORT)
    await post(client, f"{path}/inspections", visual_inspection(80))
    passing = measurements(filtration_efficiency_pct=96.0, total_inward_leakage_pct=5.0)
    await post(client, f"{path}/inspections", lab(measurements=passing))
    return created


@pytest.fixture
async def lots(admin: httpx.AsyncClient, engine: AsyncEngine) -> Lots:
    """a (accepted) and d share received_at; c was never decided (decided_at NULL)."""
    s1 = await factories.supplier(admin, name="Maker One", country="CN")
    s2 = await factories.supplier(admin, name="Trader Two", country="NL", roles=["distributor"])
    maker = await factories.supplier(admin, name="Maker Three", country="CN")
    made = {
        "a": await good_ffp2_lot(
            admin, supplier_id=s1["id"], lot_number="NL-A-001", received_at=at(21)
        ),
        "b": await restricted_kn95(
            admin,
            supplier_id=s1["id"],
            lot_number="NL-A-002",
            received_at=at(22),
            manufacturer_id=maker["id"],
        ),
        "c": await factories.lot(
            admin,
            supplier_id=s2["id"],
            lot_number="NL-B-001",
            received_at=at(23),
            manufacturer_id=maker["id"],
        ),
        "d": await factories.lot(
            admin,
            supplier_id=s2["id"],
            lot_number="XX-100",
            product="N95",
            ordered_as="N95",
            received_at=at(21),
        ),
        "e": await factories.lot(
            admin, supplier_id=s2["id"], lot_number="NL-A_003", received_at=at(1, month=4)
        ),
    }
    decided = {"a": at(1, 4), "b": at(2, 4), "c": None, "d": at(1, 4), "e": at(3, 4)}
    async with engine.begin() as connection:
        for name, when in decided.items():
            value = datetime.fromisoformat(when) if when else None
            await connection.execute(
                update(Lot).where(Lot.id == made[name]["id"]).values(decided_at=value)
            )
        await connection.run_sync(bump_version)
    return made


def names(made: Lots, items: list[dict[str, Any]]) -> list[str]:
    by_id = {lot["id"]: name for name, lot in made.items()}
    return [by_id[item["id"]] for item in items]


async def listed(client: httpx.AsyncClient, made: Lots, **params: Any) -> list[str]:
    response = await client.get("/lots", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return names(made, body["items"])


async def test_every_filter(viewer: httpx.AsyncClient, lots: Lots) -> None:
    a, b, c = lots["a"], lots["b"], lots["c"]
    assert await listed(viewer, lots, sort="received_at") == ["a", "d", "b", "c", "e"]
    expectations: list[tuple[dict[str, Any], set[str]]] = [
        ({"status": "accepted"}, {"a"}),
        ({"status": ["accepted", "restricted"]}, {"a", "b"}),
        ({"status": "on_hold"}, {"c", "d", "e"}),
        ({"disposition": "restrict_use"}, {"b"}),
        ({"disposition": "hold"}, {"c", "d", "e"}),
        ({"supplier_id": a["supplier_id"]}, {"a", "b"}),
        ({"supplier_id": c["supplier_id"], "product": "FFP2"}, {"c", "e"}),
        ({"manufacturer_id": b["manufacturer_id"]}, {"b", "c"}),
        ({"product": "KN95"}, {"b"}),
        ({"product": "N95"}, {"d"}),
        ({"ordered_as": "FFP2"}, {"a", "b", "c", "e"}),
        ({"received_from": at(22)}, {"b", "c", "e"}),
        ({"received_to": at(22)}, {"a", "d"}),  # exclusive
        ({"received_from": at(21), "received_to": at(23)}, {"a", "b", "d"}),
        ({"decided_from": at(2, 4)}, {"b", "e"}),
        ({"decided_to": at(2, 4)}, {"a", "d"}),  # NULL decided_at matches no range
        ({"q": "NL-A"}, {"a", "b", "e"}),
        ({"q": "NL-A-"}, {"a", "b"}),
        ({"q": "NL-A_"}, {"e"}),  # _ is not a wildcard
        ({"q": "nl-a"}, set()),  # case-sensitive
        ({"q": "XX-100"}, {"d"}),
        ({"status": "on_hold", "product": "FFP2", "received_from": at(22)}, {"c", "e"}),
    ]
    for params, expected in expectations:
        assert set(await listed(viewer, lots, **params)) == expected, params


async def test_every_sort_and_the_place_of_nulls(viewer: httpx.AsyncClient, lots: Lots) -> None:
    orders = {
        "received_at": ["a", "d", "b", "c", "e"],  # a and d tie: id breaks it
        "-received_at": ["e", "c", "b", "d", "a"],
        "decided_at": ["c", "a", "d", "b", "e"],  # NULL first ascending
        "-decided_at": ["e", "b", "d", "a", "c"],  # and last descending
    }
    for sort, expected in orders.items():
        assert await listed(viewer, lots, sort=sort) == expected, sort
        paged, cursor = [], None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            body = (await viewer.get("/lots", params=params)).json()
            paged += names(lots, body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert paged == expected, sort
    assert await listed(viewer, lots) == orders["-received_at"]  # the default


async def test_filters_and_sort_combine_with_paging(viewer: httpx.AsyncClient, lots: Lots) -> None:
    first = (
        await viewer.get("/lots", params={"status": "on_hold", "sort": "decided_at", "limit": 1})
    ).json()
    assert names(lots, first["items"]) == ["c"]
    second = (
        await viewer.get(
            "/lots",
            params={
                "status": "on_hold",
                "sort": "decided_at",
                "limit": 1,
                "cursor": first["next_cursor"],
            },
        )
    ).json()
    assert names(lots, second["items"]) == ["d"]


async def test_items_are_full_lots(viewer: httpx.AsyncClient, lots: Lots) -> None:
    body = (await viewer.get("/lots", params={"q": "NL-A-001"})).json()
    assert len(body["items"]) == 1
    item = body["items"][0]
    single = (await viewer.get(f"/lots/{lots['a']['id']}")).json()
    assert item == single
    assert item["status"] == "accepted" and item["quantities"]["releasable"] == 10_000


async def test_malformed_or_mismatched_cursor_is_422(viewer: httpx.AsyncClient, lots: Lots) -> None:
    page = (await viewer.get("/lots", params={"sort": "received_at", "limit": 2})).json()
    cursor = page["next_cursor"]
    assert cursor
    payload, signature = cursor.split(".")
    tampered = ("A" if payload[0] != "A" else "B") + payload[1:] + "." + signature
    bad = [
        ({"cursor": "garbage", "sort": "received_at"}, "not a cursor"),
        ({"cursor": "a.b.c", "sort": "received_at"}, "not a cursor"),
        ({"cursor": "!!!.???", "sort": "received_at"}, "not a cursor"),
        ({"cursor": tampered, "sort": "received_at"}, "not a cursor"),
        ({"cursor": cursor, "sort": "-received_at"}, "another sort"),
        ({"cursor": cursor, "sort": "received_at", "status": "on_hold"}, "other filters"),
        ({"cursor": "x" * 1001, "sort": "received_at"}, "at most 1000"),
    ]
    for params, reason in bad:
        body = problem(await viewer.get("/lots", params=params), 422)
        assert fields(body) == {"query.cursor"}, params
        assert reason in body["errors"][0]["reason"], body
    ok = await viewer.get("/lots", params={"cursor": cursor, "sort": "received_at", "limit": 2})
    assert names(lots, ok.json()["items"]) == ["b", "c"]


async def test_bad_parameters_are_422(viewer: httpx.AsyncClient) -> None:
    bad = [
        ({"status": "lost"}, "query.status"),
        ({"status": ["accepted", "lost"]}, "query.status"),
        ({"disposition": "burn"}, "query.disposition"),
        ({"product": "FFP9"}, "query.product"),
        ({"ordered_as": "x" * 41}, "query.ordered_as"),
        ({"sort": "quantity"}, "query.sort"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"supplier_id": 0}, "query.supplier_id"),
        ({"manufacturer_id": 2**40}, "query.manufacturer_id"),
        ({"received_from": "yesterday"}, "query.received_from"),
        ({"received_from": at(2), "received_to": at(1)}, "query.received_to"),
        ({"decided_from": at(2), "decided_to": at(2)}, "query.decided_to"),
        ({"q": ""}, "query.q"),
        ({"q": "x" * 101}, "query.q"),
    ]
    for params, field in bad:
        assert fields(problem(await viewer.get("/lots", params=params), 422)) == {field}, params


async def test_paging_is_stable_while_lots_arrive(admin: httpx.AsyncClient) -> None:
    """Lots added during paging, before and after the reading position, never make a lot
    that was there at the start go missing or come twice."""
    supplier = await factories.supplier(admin)
    sid = supplier["id"]
    original = {
        (await factories.lot(admin, supplier_id=sid, lot_number=f"O-{i}", received_at=at(i + 1)))[
            "id"
        ]
        for i in range(0, 20, 2)
    }
    added: set[int] = set()

    async def add_lots() -> None:
        for i in range(12):
            day = 1 + (i * 5) % 23  # some before the reading position, some after
            created = await factories.lot(
                admin, supplier_id=sid, lot_number=f"N-{i}", received_at=at(day, hour=12)
            )
            added.add(created["id"])
            await asyncio.sleep(0)

    async def read_pages() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": "received_at", "limit": 2, "supplier_id": sid}
            if cursor:
                params["cursor"] = cursor
            body = (await admin.get("/lots", params=params)).json()
            seen += body["items"]
            cursor = body["next_cursor"]
            await asyncio.sleep(0)
            if cursor is None:
                return seen

    _, seen = await asyncio.gather(add_lots(), read_pages())
    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids)), "a lot came twice"
    assert original <= set(ids), "a lot present from the start was skipped"
    assert set(ids) <= original | added
    keys = [(item["received_at"], item["id"]) for item in seen]
    assert keys == sorted(keys)
    # And interleaved step by step: a lot added behind the cursor is not shown, one ahead is.
    page = (
        await admin.get("/lots", params={"sort": "received_at", "limit": 3, "supplier_id": sid})
    ).json()
    behind = await factories.lot(admin, supplier_id=sid, lot_number="B", received_at=at(1, hour=0))
    ahead = await factories.lot(admin, supplier_id=sid, lot_number="A", received_at=at(1, 5))
    rest = (
        await admin.get(
            "/lots",
            params={
                "sort": "received_at",
                "limit": 500,
                "supplier_id": sid,
                "cursor": page["next_cursor"],
            },
        )
    ).json()
    rest_ids = [item["id"] for item in rest["items"]]
    assert behind["id"] not in rest_ids and rest_ids[-1] == ahead["id"]
    assert len(page["items"]) + len(rest_ids) == len(original) + len(added) + 1
