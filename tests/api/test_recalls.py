"""Recall reconciliation per destination, acknowledgements, provisional recalls."""

import csv
import io
from typing import Any

import httpx

from tests.api import factories, lot_states
from tests.api.factories import fields, problem

SHIPMENTS = {"UMC Utrecht": 3000, 'Hospital, "East"': 1000}


def by_destination(recall: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["destination"]: d for d in recall["destinations"]}


async def recall_of(client: httpx.AsyncClient, lot_id: int) -> dict[str, Any]:
    response = await client.get(f"/lots/{lot_id}/recall")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ack(
    destination: str, at: str = "2020-03-28T09:00:00Z", contact: str = "J. de Vries"
) -> dict[str, str]:
    return {"destination": destination, "acknowledged_at": at, "contact": contact}


async def test_suspect_lot_is_a_provisional_recall(
    admin: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    lot = await lot_states.suspect_lot(admin, shipments=SHIPMENTS)
    recall = await recall_of(viewer, lot["id"])
    assert (recall["status"], recall["under_recall"], recall["provisional"]) == (
        "suspect",
        True,
        True,
    )
    assert recall["to_recall"] == 4000
    listed = (await viewer.get("/recalls")).json()
    assert [(r["lot_id"], r["provisional"], r["outstanding"]) for r in listed["items"]] == [
        (lot["id"], True, 4000)
    ]
    assert listed["totals"] == {
        **listed["totals"],
        "lots": 1,
        "provisional_lots": 1,
        "shipped": 4000,
        "outstanding": 4000,
    }
    rejected = await lot_states.confirm_rejection(admin, lot["id"])
    assert rejected["status"] == "rejected"
    recall = await recall_of(viewer, lot["id"])
    assert (recall["provisional"], recall["under_recall"]) == (False, True)
    assert (await viewer.get("/recalls")).json()["items"][0]["provisional"] is False


async def test_reconciliation_follows_site_returns(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin, shipments=SHIPMENTS)
    recall = await recall_of(returns, lot["id"])
    sites = by_destination(recall)
    assert list(sites) == sorted(SHIPMENTS)
    assert sites["UMC Utrecht"] == {
        "destination": "UMC Utrecht",
        "shipped": 3000,
        "returned": 0,
        "destroyed": 0,
        "consumed": 0,
        "outstanding": 3000,
        "acknowledged": False,
        "acknowledged_at": None,
        "contact": None,
    }
    await lot_states.site_return(returns, lot["id"], "UMC Utrecht", 1200, "returned")
    await lot_states.site_return(returns, lot["id"], "UMC Utrecht", 300, "destroyed")
    await lot_states.site_return(returns, lot["id"], "UMC Utrecht", 500, "consumed")
    sites = by_destination(await recall_of(returns, lot["id"]))
    assert {
        k: sites["UMC Utrecht"][k] for k in ("returned", "destroyed", "consumed", "outstanding")
    } == {
        "returned": 1200,
        "destroyed": 300,
        "consumed": 500,
        "outstanding": 1000,
    }
    recall = await recall_of(returns, lot["id"])
    assert recall["totals"] == {
        "shipped": 4000,
        "returned": 1200,
        "destroyed": 300,
        "consumed": 500,
        "outstanding": 2000,
        "destinations": 2,
        "acknowledged": 0,
    }
    q = (await returns.get(f"/lots/{lot['id']}")).json()["quantities"]
    assert (q["outstanding_at_sites"], q["to_recall"], q["distributed"]) == (2000, 2000, 4000)
    listed = (await returns.get("/recalls")).json()["items"][0]
    assert (listed["returned"], listed["outstanding"], listed["destinations"]) == (1200, 2000, 2)

    # Everything back: the lot leaves the recall list, its reconciliation shows nothing out.
    await lot_states.site_return(returns, lot["id"], "UMC Utrecht", 1000, "returned")
    await lot_states.site_return(returns, lot["id"], 'Hospital, "East"', 1000, "returned")
    recall = await recall_of(returns, lot["id"])
    assert recall["totals"]["outstanding"] == 0 and recall["to_recall"] == 0
    assert (await returns.get("/recalls")).json() == {
        "items": [],
        "next_cursor": None,
        "totals": {
            "lots": 0,
            "provisional_lots": 0,
            "shipped": 0,
            "returned": 0,
            "destroyed": 0,
            "consumed": 0,
            "outstanding": 0,
        },
    }


async def test_acknowledgements(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    lot = await lot_states.suspect_lot(admin, shipments=SHIPMENTS)
    path = f"/lots/{lot['id']}/recall/acknowledgements"
    first = await factories.create(returns, path, ack("UMC Utrecht"))
    assert first == {
        **first,
        "lot_id": lot["id"],
        "destination": "UMC Utrecht",
        "acknowledged_at": "2020-03-28T09:00:00Z",
        "contact": "J. de Vries",
        "lot_status": "suspect",
        "recorded_by": "test-returns",
    }
    await lot_states.confirm_rejection(admin, lot["id"])
    later = await factories.create(
        returns, path, ack("UMC Utrecht", "2020-03-29T10:00:00Z", "Dr. A. Jansen")
    )
    assert later["lot_status"] == "rejected"
    recall = await recall_of(viewer, lot["id"])
    sites = by_destination(recall)
    assert (sites["UMC Utrecht"]["acknowledged_at"], sites["UMC Utrecht"]["contact"]) == (
        "2020-03-29T10:00:00Z",
        "Dr. A. Jansen",
    )
    assert sites['Hospital, "East"']["acknowledged"] is False
    assert recall["totals"]["acknowledged"] == 1
    assert (await viewer.get("/recalls")).json()["items"][0]["acknowledged"] == 1

    never_shipped = problem(await returns.post(path, json=ack("Hospital Z")), 422)
    assert fields(never_shipped) == {"body.destination"}
    assert never_shipped["errors"][0]["shipped_to"] == sorted(SHIPMENTS)
    future = problem(await returns.post(path, json=ack("UMC Utrecht", "2999-01-01T00:00:00Z")), 422)
    assert fields(future) == {"body.acknowledged_at"}
    problem(await returns.post(path, json={**ack("UMC Utrecht"), "contact": ""}), 422)
    problem(await returns.post(path, json={"destination": "UMC Utrecht"}), 422)
    problem(await viewer.post(path, json=ack("UMC Utrecht")), 403)
    problem(await returns.post("/lots/999999/recall/acknowledgements", json=ack("X")), 404)
    acknowledgements = {"entity_type": "recall_acknowledgement"}
    audit = (await admin.get("/audit", params=acknowledgements)).json()["items"]
    assert sorted(int(a["entity_id"]) for a in audit) == [first["id"], later["id"]]


async def test_no_acknowledgement_without_a_recall(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await factories.lot(admin)
    await lot_states.ship(admin, lot["id"], "UMC Utrecht", 10)
    refused = problem(
        await returns.post(f"/lots/{lot['id']}/recall/acknowledgements", json=ack("UMC Utrecht")),
        409,
    )
    assert refused["lot_status"] == "on_hold"
    recall = await recall_of(returns, lot["id"])
    assert (recall["under_recall"], recall["provisional"]) == (False, False)
    assert (await returns.get("/recalls")).json()["items"] == []


async def test_recall_csv_one_row_per_destination(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.suspect_lot(admin, shipments=SHIPMENTS, lot_number="=cmd|' /C calc'!A0")
    await factories.create(
        returns,
        f"/lots/{lot['id']}/recall/acknowledgements",
        ack("UMC Utrecht", contact="+31 30 250 9111"),
    )
    response = await returns.get(f"/lots/{lot['id']}/recall", params={"format": "csv"})
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="recall-lot-{lot["id"]}-')
    assert disposition.endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [
        (r["destination"], r["outstanding"], r["provisional"], r["acknowledged"], r["contact"])
        for r in rows
    ] == [
        ('Hospital, "East"', "1000", "yes", "no", ""),
        ("UMC Utrecht", "3000", "yes", "yes", "'+31 30 250 9111"),
    ]
    assert {r["lot_number"] for r in rows} == {"'=cmd|' /C calc'!A0"}
    problem(await returns.get(f"/lots/{lot['id']}/recall", params={"format": "pdf"}), 422)


async def test_recall_list_pages(admin: httpx.AsyncClient, viewer: httpx.AsyncClient) -> None:
    made = [
        await lot_states.suspect_lot(admin, shipments={"Site": 10 * (i + 1)}, lot_number=f"P-{i}")
        for i in range(3)
    ]
    first = (await viewer.get("/recalls", params={"limit": 2})).json()
    assert [r["lot_id"] for r in first["items"]] == [m["id"] for m in made[:2]]
    assert first["totals"]["lots"] == 3 and first["totals"]["outstanding"] == 60
    params = {"limit": 2, "cursor": first["next_cursor"]}
    rest = (await viewer.get("/recalls", params=params)).json()
    assert [r["lot_id"] for r in rest["items"]] == [made[2]["id"]]
    assert rest["totals"] == first["totals"] and rest["next_cursor"] is None
    problem(await viewer.get("/recalls", params={"limit": 0}), 422)
