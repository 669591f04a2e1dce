"""GET /dashboard/summary and /suppliers/scorecards against a hand-computed fixture, the
rollups behind them, and ETag/304."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dashboard.etag import AnswerCache
from app.dashboard.models import (
    LotDecidedReasons,
    LotDecidedTotals,
    LotPeriodReasons,
    LotPeriodTotals,
    LotPrefixWeekReasons,
    LotPrefixWeeks,
    LotProductTotals,
    LotReasonTotals,
    LotSupplierWeekReasons,
    LotSupplierWeeks,
    LotTotals,
    LotWeekly,
)
from app.dashboard.rollup import bump_version, rebuild_rollups
from app.decisions.models import SourceQuality
from tests.api import factories
from tests.api.factories import fields, problem
from tests.api.imports_helpers import LOT_HEADER, csv_file, post_import
from tests.api.test_decisions import FFP2_TYPE_EXAM, good_ffp2_lot, lab, measurements, post
from tests.api.test_decisions import visual as visual_inspection
from tests.api.test_lot_queries import at, restricted_kn95

FAILING = measurements(filtration_efficiency_pct=81.0, total_inward_leakage_pct=3.0)


@pytest.fixture
async def fixture(admin: httpx.AsyncClient) -> dict[str, Any]:
    """Five lots; the numbers in the tests below are worked out by hand from this.

    L1 A FFP2 10,000 rec. Mon 16 Mar: accepted; 4,000 shipped to UMC Utrecht.
    L2 A FFP2 20,000 rec. 18 Mar: 5,000 shipped before testing (override), failed, failure
       confirmed -> rejected (recall_and_return); Hospital A sent 2,000 back.
    L3 B KN95 for FFP2 1,000 rec. 25 Mar: passes GB 2626 -> restricted.
    L4 B FFP2 500 rec. 30 Mar: nothing yet -> on hold.
    L5 A FFP2 3,000 rec. 17 Mar: one failing lab test, no visual -> suspect.
    """
    a = await factories.supplier(admin, name="Maker A", country="CN")
    b = await factories.supplier(admin, name="Trader B", country="NL", roles=["distributor"])
    l1 = await good_ffp2_lot(admin, supplier_id=a["id"], lot_number="L1", received_at=at(16))
    await post(
        admin,
        f"/lots/{l1['id']}/distributions",
        {
            "destination": "UMC Utrecht",
            "quantity": 4000,
            "shipped_at": at(27),
            "intended_use": "healthcare_respiratory_protection",
        },
    )
    l2 = await factories.lot(
        admin, supplier_id=a["id"], lot_number="L2", quantity=20_000, received_at=at(18)
    )
    path = f"/lots/{l2['id']}"
    await post(
        admin,
        f"{path}/distributions",
        {
            "destination": "Hospital A",
            "quantity": 5000,
            "shipped_at": at(18, hour=15),
            "intended_use": "healthcare_respiratory_protection",
            "override_reason": "Shipped on arrival before testing",
        },
    )
    await post(admin, f"{path}/certificates", FFP2_TYPE_EXAM)
    await post(admin, f"{path}/inspections", visual_inspection(315))
    await post(admin, f"{path}/inspections", lab(measurements=FAILING))
    await post(
        admin,
        f"{path}/inspections",
        lab(measurements=FAILING, confirms=True, performed_at=at(26), report_number="R-2"),
    )
    await post(
        admin,
        f"{path}/site-returns",
        {"destination": "Hospital A", "quantity": 2000, "outcome": "returned"},
    )
    await restricted_kn95(admin, supplier_id=b["id"], lot_number="L3", received_at=at(25))
    await factories.lot(
        admin, supplier_id=b["id"], lot_number="L4", quantity=500, received_at=at(30)
    )
    l5 = await factories.lot(
        admin, supplier_id=a["id"], lot_number="L5", quantity=3000, received_at=at(17)
    )
    await post(admin, f"/lots/{l5['id']}/certificates", FFP2_TYPE_EXAM)
    await post(admin, f"/lots/{l5['id']}/inspections", lab(measurements=FAILING))
    return {"a": a["id"], "b": b["id"]}


def count(lots: int, units: int) -> dict[str, int]:
    return {"lots": lots, "units": units}


EXPECTED_SUMMARY = {
    "lots": 5,
    "by_status": {
        "on_hold": count(1, 500),
        "suspect": count(1, 3000),
        "accepted": count(1, 10_000),
        "restricted": count(1, 1000),
        "rejected": count(1, 20_000),
    },
    "by_disposition": {
        "hold": count(2, 3500),
        "release": count(1, 10_000),
        "release_under_concession": count(0, 0),
        "restrict_use": count(1, 1000),
        "return_to_supplier": count(0, 0),
        "recall_and_return": count(1, 20_000),
    },
    "units": {
        "received": 34_500,
        "distributed": 9000,
        "outstanding_at_sites": 7000,  # 4,000 at UMC Utrecht + 3,000 still at Hospital A
        "recalled": 3000,  # L2's units at sites; L5 (suspect) has none out
        "returned_by_sites": 2000,
        "destroyed_at_sites": 0,
        "consumed_at_sites": 0,
        "returned_to_suppliers": 0,
        "to_return": 17_000,  # L2: 20,000 - 5,000 shipped + 2,000 back
        "releasable": 7000,  # L1 6,000 + L3 1,000
    },
    "rejection_rate": {
        "by_lots": 0.3333,  # 1 of 3 decided (L1, L2, L3)
        "by_units": 0.6452,  # 20,000 of 31,000
        "decided_lots": 3,
        "decided_units": 31_000,
    },
    "top_reasons": [
        {"code": "critical_failure", "lots": 2},  # L2, L5
        {"code": "awaiting_confirmation", "lots": 1},  # L5
        {"code": "awaiting_inspection", "lots": 1},  # L4
        {"code": "certificate_missing", "lots": 1},  # L4
        {"code": "failure_confirmed", "lots": 1},  # L2
        {"code": "visual_sample_too_small", "lots": 1},  # L5
        {"code": "whole_lot_rejected", "lots": 1},  # L2
        {"code": "wrong_category", "lots": 1},  # L3
    ],
    "weekly": [
        {"week": "2020-03-16", "received": 3, "accepted": 1, "rejected": 1},
        {"week": "2020-03-23", "received": 1, "accepted": 0, "rejected": 0},
        {"week": "2020-03-30", "received": 1, "accepted": 0, "rejected": 0},
    ],
    "open_alert_reviews": 0,
}
# Any filter outside supplier/product/status/disposition reads the lots instead of the
# rollups; this one matches every lot, so both ways must agree to the last unit.
EVERYTHING = {"received_from": "2000-01-01T00:00:00Z"}


async def summary(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/dashboard/summary", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_summary_matches_the_hand_computed_numbers(
    viewer: httpx.AsyncClient, fixture: dict[str, Any]
) -> None:
    assert await summary(viewer) == EXPECTED_SUMMARY
    assert await summary(viewer, **EVERYTHING) == EXPECTED_SUMMARY


async def test_summary_filters(viewer: httpx.AsyncClient, fixture: dict[str, Any]) -> None:
    for extra in ({}, EVERYTHING):
        a = await summary(viewer, supplier_id=fixture["a"], **extra)
        assert a["lots"] == 3 and a["units"]["received"] == 33_000
        assert a["by_status"]["suspect"] == count(1, 3000)
        assert a["rejection_rate"] == {
            "by_lots": 0.5,
            "by_units": 0.6667,
            "decided_lots": 2,
            "decided_units": 30_000,
        }
        assert [p["received"] for p in a["weekly"]] == [3]
        held = await summary(viewer, status="on_hold", **extra)
        assert held["lots"] == 1 and held["top_reasons"] == [
            {"code": "awaiting_inspection", "lots": 1},
            {"code": "certificate_missing", "lots": 1},
        ]
        assert held["rejection_rate"]["by_lots"] is None
    late = await summary(viewer, received_from=at(23))
    assert late["lots"] == 2 and late["by_status"]["restricted"] == count(1, 1000)
    assert [p["week"] for p in late["weekly"]] == ["2020-03-23", "2020-03-30"]
    kn95 = await summary(viewer, ordered_as="FFP2", product="KN95")
    assert kn95["top_reasons"] == [{"code": "wrong_category", "lots": 1}]
    none = await summary(viewer, q="nothing-like-this")
    assert none["lots"] == 0 and none["weekly"] == [] and none["top_reasons"] == []
    assert none["rejection_rate"]["by_units"] is None


async def rollup_snapshot(
    engine: AsyncEngine, *, rebuilt: bool = False
) -> dict[str, set[tuple[Any, ...]]]:
    """The non-empty rollup rows, as kept or after a full recount from the lots."""
    if rebuilt:
        async with engine.begin() as connection:
            await connection.run_sync(rebuild_rollups)
    tables = {
        "totals": LotTotals,
        "product": LotProductTotals,
        "reasons": LotReasonTotals,
        "weekly": LotWeekly,
        "periods": LotPeriodTotals,
        "period_reasons": LotPeriodReasons,
        "decided": LotDecidedTotals,
        "decided_reasons": LotDecidedReasons,
        "supplier_weeks": LotSupplierWeeks,
        "supplier_week_reasons": LotSupplierWeekReasons,
        "prefix_weeks": LotPrefixWeeks,
        "prefix_week_reasons": LotPrefixWeekReasons,
    }
    async with engine.connect() as connection:
        return {
            name: {
                tuple(row)
                for row in await connection.execute(select(table))
                if row.lots  # buckets a lot has left keep a zero row
            }
            for name, table in tables.items()
        }


async def test_rollups_equal_a_rebuild_from_the_lots(
    engine: AsyncEngine, fixture: dict[str, Any]
) -> None:
    """The totals kept write by write are exactly what a full recount gives."""
    kept = await rollup_snapshot(engine)
    assert len(kept["totals"]) == 5 and len(kept["product"]) == 5 and kept["weekly"]
    assert await rollup_snapshot(engine, rebuilt=True) == kept


async def test_scorecards(
    viewer: httpx.AsyncClient, engine: AsyncEngine, fixture: dict[str, Any]
) -> None:
    a, b = fixture["a"], fixture["b"]
    body = (await viewer.get("/suppliers/scorecards")).json()
    assert body["total"] == 3 and body["next_cursor"] is None
    cards = body["items"]
    assert [(c["supplier_id"], c["product"]) for c in cards] == [
        (a, "FFP2"),
        (b, "FFP2"),
        (b, "KN95"),
    ]
    assert cards[0] == {
        "supplier_id": a,
        "supplier_name": "Maker A",
        "country": "CN",
        "product": "FFP2",
        "lots_received": 3,
        "accepted": 1,
        "restricted": 0,
        "rejected": 1,
        "on_hold": 0,
        "suspect": 1,
        "rejection_rate": 0.5,
        "units_received": 33_000,
        "units_recalled": 3000,
        "severity": "normal",
        "discontinued": False,
    }
    assert (cards[2]["restricted"], cards[2]["rejection_rate"]) == (1, 0.0)
    assert (cards[1]["on_hold"], cards[1]["rejection_rate"]) == (1, None)

    async with engine.begin() as connection:
        await connection.execute(
            update(SourceQuality)
            .where(SourceQuality.supplier_id == b, SourceQuality.product == "FFP2")
            .values(severity="tightened", discontinued=True)
        )
        await connection.run_sync(bump_version)  # a write behind the ORM's back must say so
    by_rate = (await viewer.get("/suppliers/scorecards", params={"sort": "-rejection_rate"})).json()
    assert [(c["product"], c["rejection_rate"]) for c in by_rate["items"]] == [
        ("FFP2", 0.5),
        ("KN95", 0.0),
        ("FFP2", None),  # nothing decided: last either way
    ]
    assert by_rate["items"][2]["severity"] == "tightened" and by_rate["items"][2]["discontinued"]
    ascending = (
        await viewer.get("/suppliers/scorecards", params={"sort": "rejection_rate"})
    ).json()
    assert [c["rejection_rate"] for c in ascending["items"]] == [0.0, 0.5, None]

    per_supplier = (await viewer.get("/suppliers/scorecards", params={"by": "supplier"})).json()
    assert [
        (
            c["supplier_id"],
            c["product"],
            c["lots_received"],
            c["rejection_rate"],
            c["severity"],
            c["discontinued"],
        )
        for c in per_supplier["items"]
    ] == [(a, None, 3, 0.5, "normal", False), (b, None, 2, 0.0, "tightened", True)]

    page = (await viewer.get("/suppliers/scorecards", params={"limit": 2})).json()
    assert (len(page["items"]), page["total"]) == (2, 3) and page["next_cursor"]
    params = {"limit": 2, "cursor": page["next_cursor"]}
    last = (await viewer.get("/suppliers/scorecards", params=params)).json()
    assert [c["product"] for c in last["items"]] == ["KN95"] and last["next_cursor"] is None
    ffp2 = (await viewer.get("/suppliers/scorecards", params={"product": "FFP2"})).json()
    assert [c["supplier_id"] for c in ffp2["items"]] == [a, b]
    from_rollups = (await viewer.get("/suppliers/scorecards")).json()
    from_lots = (await viewer.get("/suppliers/scorecards", params=EVERYTHING)).json()
    assert from_lots == from_rollups and from_lots["items"][0] == cards[0]

    for params, field in (
        ({"by": "country"}, "query.by"),
        ({"sort": "name"}, "query.sort"),
        ({"limit": 501}, "query.limit"),
        ({"cursor": "x.y"}, "query.cursor"),
        ({"status": "gone"}, "query.status"),
    ):
        response = await viewer.get("/suppliers/scorecards", params=params)
        assert fields(problem(response, 422)) == {field}, params


@pytest.mark.parametrize(
    "path", ["/dashboard/summary", "/suppliers/scorecards", "/lots"], ids=lambda p: p
)
async def test_etag_and_304(admin: httpx.AsyncClient, path: str) -> None:
    supplier = await factories.supplier(admin)
    lot = await factories.lot(admin, supplier_id=supplier["id"])
    first = await admin.get(path, params={"product": "FFP2"})
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')

    again = await admin.get(path, params={"product": "FFP2"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    listed = await admin.get(
        path, params={"product": "FFP2"}, headers={"If-None-Match": f'"other", {etag}'}
    )
    assert listed.status_code == 304

    other_query = await admin.get(path, params={"product": "KN95"}, headers={"If-None-Match": etag})
    assert other_query.status_code == 200 and other_query.headers["ETag"] != etag

    refused = await admin.post(
        "/lots",
        json={
            "lot_number": lot["lot_number"],
            "supplier_id": supplier["id"],
            "product": "FFP2",
            "ordered_as": "FFP2",
            "quantity": 5,
            "received_at": at(21),
        },
    )
    assert refused.status_code == 409  # rolled back: nothing changed
    unchanged = await admin.get(path, params={"product": "FFP2"}, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304

    await factories.lot(admin, supplier_id=supplier["id"], lot_number="LOT-002")
    changed = await admin.get(path, params={"product": "FFP2"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json() != first.json()


def test_answer_cache_keeps_the_most_recent_answers() -> None:
    cache = AnswerCache(entries=2)
    cache.put('W/"a"', b"A")
    cache.put('W/"b"', b"B")
    assert cache.get('W/"a"') == b"A"  # now the most recent
    cache.put('W/"c"', b"C")
    assert (cache.get('W/"a"'), cache.get('W/"b"'), cache.get('W/"c"')) == (b"A", None, b"C")
    off = AnswerCache(entries=0)
    off.put('W/"a"', b"A")
    assert off.get('W/"a"') is None


class HeldComputation:
    """An answer's computation that waits until released, counting its runs."""

    def __init__(self, fail_first: bool = False) -> None:
        self.runs = 0
        self.released = asyncio.Event()
        self.fail_first = fail_first

    async def __call__(self) -> bytes:
        self.runs += 1
        run = self.runs
        await self.released.wait()
        if self.fail_first and run == 1:
            raise RuntimeError("the first computation failed")
        return f"answer {run}".encode()


async def test_requests_missing_the_same_answer_together_compute_it_once() -> None:
    cache = AnswerCache(entries=8)
    compute = HeldComputation()
    waiting = [asyncio.create_task(cache.get_or_compute('W/"v2"', compute)) for _ in range(5)]
    other = asyncio.create_task(cache.get_or_compute('W/"other"', compute))
    await asyncio.sleep(0)
    compute.released.set()
    assert await asyncio.gather(*waiting) == [b"answer 1"] * 5
    assert await other == b"answer 2"
    assert compute.runs == 2 and cache.computing == {}
    assert await cache.get_or_compute('W/"v2"', compute) == b"answer 1"  # cached now
    assert compute.runs == 2


async def test_when_the_computing_request_fails_the_others_compute_for_themselves() -> None:
    cache = AnswerCache(entries=8)
    compute = HeldComputation(fail_first=True)
    first = asyncio.create_task(cache.get_or_compute('W/"v2"', compute))
    await asyncio.sleep(0)
    others = [asyncio.create_task(cache.get_or_compute('W/"v2"', compute)) for _ in range(2)]
    await asyncio.sleep(0)
    compute.released.set()
    with pytest.raises(RuntimeError):
        await first
    assert sorted(await asyncio.gather(*others)) == [b"answer 2", b"answer 3"]
    assert compute.runs == 3 and cache.computing == {}


async def test_without_a_cache_every_request_computes() -> None:
    cache = AnswerCache(entries=0)
    compute = HeldComputation()
    compute.released.set()
    both = [cache.get_or_compute('W/"v2"', compute) for _ in range(2)]
    assert await asyncio.gather(*both) == [b"answer 1", b"answer 2"]


async def test_a_cached_answer_is_the_computed_one(
    viewer: httpx.AsyncClient, fixture: dict[str, Any]
) -> None:
    first = await viewer.get("/dashboard/summary")
    second = await viewer.get("/dashboard/summary")
    assert second.content == first.content and second.json() == EXPECTED_SUMMARY
    assert second.headers["ETag"] == first.headers["ETag"]


async def product_tags(client: httpx.AsyncClient, product: str) -> dict[str, str]:
    """The ETags of the answers filtered by one product."""
    paths = ("/lots", "/dashboard/summary", "/suppliers/scorecards")
    return {
        path: (await client.get(path, params={"product": product})).headers["ETag"]
        for path in paths
    }


async def test_answers_filtered_by_product_move_only_with_that_products_lots(
    inspector: httpx.AsyncClient,
) -> None:
    supplier = await factories.supplier(inspector)
    await factories.lot(inspector, supplier_id=supplier["id"], lot_number="FFP2-1")
    ffp2 = await product_tags(inspector, "FFP2")
    everything = (await inspector.get("/lots")).headers["ETag"]

    await factories.lot(inspector, supplier_id=supplier["id"], lot_number="KN95-1", product="KN95")
    after_kn95 = await product_tags(inspector, "FFP2")
    # Lot pages and summaries are made of that product's lots alone; scorecards also show
    # suppliers and sampling states, which any change may move.
    assert after_kn95["/lots"] == ffp2["/lots"]
    assert after_kn95["/dashboard/summary"] == ffp2["/dashboard/summary"]
    assert after_kn95["/suppliers/scorecards"] != ffp2["/suppliers/scorecards"]
    assert (await inspector.get("/lots")).headers["ETag"] != everything
    polled = await inspector.get(
        "/lots", params={"product": "FFP2"}, headers={"If-None-Match": ffp2["/lots"]}
    )
    assert polled.status_code == 304

    second = await factories.lot(inspector, supplier_id=supplier["id"], lot_number="FFP2-2")
    after_ffp2 = await product_tags(inspector, "FFP2")
    assert after_ffp2["/lots"] != ffp2["/lots"]
    assert after_ffp2["/dashboard/summary"] != ffp2["/dashboard/summary"]
    page = (await inspector.get("/lots", params={"product": "FFP2"})).json()
    assert [lot["lot_number"] for lot in page["items"]] == ["FFP2-2", "FFP2-1"]
    assert page["items"][0] == second


async def test_an_imported_lot_moves_its_products_answers(inspector: httpx.AsyncClient) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    await factories.lot(inspector, supplier_id=supplier, lot_number="FFP2-1")
    before = {p: await product_tags(inspector, p) for p in ("FFP2", "KN95", "N95")}
    rows = [
        ["KN95-1", supplier, "KN95", "FFP2", 1_000, "2020-03-21T09:00:00Z"],
        ["N95-1", supplier, "N95", "N95", 1_000, "2020-03-21T09:00:00Z"],
    ]
    response = await post_import(inspector, "lots", csv_file(LOT_HEADER, rows))
    assert response.status_code == 201 and response.json()["state"] == "done", response.text
    after = {p: await product_tags(inspector, p) for p in ("FFP2", "KN95", "N95")}
    assert after["FFP2"]["/lots"] == before["FFP2"]["/lots"]
    for product in ("KN95", "N95"):
        assert after[product]["/lots"] != before[product]["/lots"]
        assert after[product]["/dashboard/summary"] != before[product]["/dashboard/summary"]


async def test_a_write_that_does_not_say_which_lots_it_touched_moves_every_product(
    inspector: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await factories.lot(inspector)
    before = await product_tags(inspector, "KN95")
    async with engine.begin() as connection:
        await connection.run_sync(bump_version)
    after = await product_tags(inspector, "KN95")
    assert all(after[path] != before[path] for path in before)
