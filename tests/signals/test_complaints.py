"""Complaints from sites make a lot suspect as the policy says. Through the API."""

import csv
import io
from typing import Any

import httpx

from tests.api import factories
from tests.api.factories import problem
from tests.signals.scenario import (
    CONFIRMING_FAILURE,
    PASSING_LAB,
    accepted_distributed_lot,
    codes,
    history,
    lot_state,
)

SITES = {"Hospital A": 3_000, "Hospital B": 1_000, "Hospital C": 500}


def complaint(destination: str, category: str = "poor_fit", **changes: Any) -> dict[str, Any]:
    body = {
        "destination": destination,
        "category": category,
        "units_affected": 40,
        "reporter": "Ward 3 head nurse",
        "text": "The masks do not seal around the nose",
        "reported_at": "2020-04-02T08:00:00Z",
    }
    return {**body, **changes}


async def test_complaints_from_two_sites_make_the_lot_suspect(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await accepted_distributed_lot(admin, SITES)
    path = f"/lots/{lot['id']}/complaints"
    first = await factories.create(returns, path, complaint("Hospital A"))
    state = await lot_state(admin, lot["id"])
    assert state["status"] == "accepted"
    assert "complaint_recorded" in codes(state)
    assert (await history(admin, lot["id"]))[-1]["trigger"] == f"complaint:{first['id']}"

    await factories.create(inspector, path, complaint("Hospital A", text="Again"))
    assert (await lot_state(admin, lot["id"]))["status"] == "accepted"

    second_site = await factories.create(returns, path, complaint("Hospital B"))
    state = await lot_state(admin, lot["id"])
    assert state["status"] == "suspect"
    assert state["quantities"]["to_recall"] == 4_500
    assert codes(state).count("complaint_signal") == 3
    last = (await history(admin, lot["id"]))[-1]
    assert (last["status"], last["trigger"]) == ("suspect", f"complaint:{second_site['id']}")

    await factories.create(inspector, f"/lots/{lot['id']}/inspections", CONFIRMING_FAILURE)
    assert (await lot_state(admin, lot["id"]))["status"] == "rejected"


async def test_a_critical_complaint_is_enough_and_a_passing_confirmation_settles_it(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    lot = await accepted_distributed_lot(admin, SITES)
    path = f"/lots/{lot['id']}/complaints"
    await factories.create(inspector, path, complaint("Hospital C", "skin_reaction"))
    assert (await lot_state(admin, lot["id"]))["status"] == "suspect"
    confirming = {**PASSING_LAB, "confirms": True, "performed_at": "2020-04-10T10:00:00Z"}
    await factories.create(inspector, f"/lots/{lot['id']}/inspections", confirming)
    state = await lot_state(admin, lot["id"])
    assert state["status"] == "accepted"
    assert "signal_not_confirmed" in codes(state)


async def test_only_a_site_the_lot_was_shipped_to_may_complain(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await accepted_distributed_lot(admin, SITES)
    path = f"/lots/{lot['id']}/complaints"
    refused = problem(await returns.post(path, json=complaint("Hospital Z")), 422)
    assert factories.fields(refused) == {"body.destination"}
    future = complaint("Hospital A", reported_at="2999-01-01T00:00:00Z")
    assert factories.fields(problem(await returns.post(path, json=future), 422)) == {
        "body.reported_at"
    }
    bad_category = complaint("Hospital A", "smells_funny")
    assert "body.category" in factories.fields(
        problem(await returns.post(path, json=bad_category), 422)
    )
    problem(await returns.post("/lots/999/complaints", json=complaint("Hospital A")), 404)
    assert (await returns.get(path)).json() == {"items": [], "next_cursor": None}


async def test_complaint_roles(
    admin: httpx.AsyncClient,
    inspector: httpx.AsyncClient,
    returns: httpx.AsyncClient,
    viewer: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    lot = await accepted_distributed_lot(admin, SITES)
    path = f"/lots/{lot['id']}/complaints"
    problem(await viewer.post(path, json=complaint("Hospital A")), 403)
    problem(await anonymous.post(f"/api/v1{path}", json=complaint("Hospital A")), 401)
    for client in (admin, inspector, returns):
        assert (await client.post(path, json=complaint("Hospital A"))).status_code == 201
    assert len((await viewer.get(path)).json()["items"]) == 3
    assert len((await viewer.get("/complaints")).json()["items"]) == 3


async def test_complaints_are_listed_across_lots_with_filters_pages_and_csv(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    first = await accepted_distributed_lot(admin, SITES)
    second = await accepted_distributed_lot(admin, SITES, lot_number="LOT-2")
    for lot in (first, second):
        for site in ("Hospital A", "Hospital C"):
            await factories.create(returns, f"/lots/{lot['id']}/complaints", complaint(site))
    page = (await viewer.get("/complaints", params={"limit": 3})).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = await viewer.get("/complaints", params={"limit": 3, "cursor": page["next_cursor"]})
    ids = [c["id"] for c in page["items"] + rest.json()["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 4
    assert rest.json()["next_cursor"] is None
    other_filters = await viewer.get(
        "/complaints", params={"limit": 3, "cursor": page["next_cursor"], "lot_id": first["id"]}
    )
    assert factories.fields(problem(other_filters, 422)) == {"query.cursor"}
    by_site = (await viewer.get("/complaints", params={"destination": "Hospital C"})).json()
    assert {c["destination"] for c in by_site["items"]} == {"Hospital C"}
    assert len(by_site["items"]) == 2
    by_lot = (await viewer.get("/complaints", params={"lot_id": second["id"]})).json()
    assert {c["lot_id"] for c in by_lot["items"]} == {second["id"]}

    exported = await viewer.get("/complaints", params={"format": "csv", "category": "poor_fit"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 4 and rows[0]["destination"] in SITES
    assert set(rows[0]) >= {"lot_id", "category", "units_affected", "reporter", "reported_at"}
