"""Return authorisations to suppliers: reservation, transitions, preconditions, quantities."""

import csv
import io
from typing import Any

import httpx

from tests.api import factories, lot_states
from tests.api.factories import fields, problem
from tests.api.lot_states import conserved


async def open_return(
    client: httpx.AsyncClient, lot_id: int, quantity: int, **extra: Any
) -> httpx.Response:
    body = {"lot_id": lot_id, "quantity": quantity, "carrier_reference": "DHL-123", **extra}
    response = await client.post("/returns", json=body)
    assert response.status_code == 201, response.text
    return response


async def move(
    client: httpx.AsyncClient, return_id: int, to: str, etag: str | None, **extra: Any
) -> httpx.Response:
    headers = {"If-Match": etag} if etag is not None else {}
    return await client.post(
        f"/returns/{return_id}/transitions", json={"to": to, **extra}, headers=headers
    )


async def quantities(client: httpx.AsyncClient, lot_id: int) -> dict[str, int]:
    q: dict[str, int] = (await client.get(f"/lots/{lot_id}")).json()["quantities"]
    assert conserved(q), q
    return q


async def test_create_reserves_and_sends_etag(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin)
    claim = {"kind": "refund", "amount": "41250.00", "currency": "eur"}
    response = await open_return(returns, lot["id"], 6000, claim=claim)
    rma = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/returns/{rma['id']}"
    assert rma == {
        **rma,
        "lot_id": lot["id"],
        "supplier_id": lot["supplier_id"],
        "quantity": 6000,
        "state": "open",
        "version": 1,
        "allowed_transitions": ["shipped", "cancelled"],
        "claim": {"kind": "refund", "amount": "41250.00", "currency": "EUR"},
        "shipped_at": None,
    }
    assert [(t["from_state"], t["to_state"]) for t in rma["transitions"]] == [(None, "open")]
    # Reserved, not moved: the lot's counters are untouched until the return ships.
    assert (await quantities(admin, lot["id"]))["to_return"] == 10_000
    too_many = problem(
        await returns.post("/returns", json={**_body(lot["id"]), "quantity": 4001}), 409
    )
    assert (too_many["to_return"], too_many["reserved_by_open_returns"], too_many["available"]) == (
        10_000,
        6000,
        4000,
    )
    assert fields(too_many) == {"body.quantity"}
    await open_return(returns, lot["id"], 4000)
    last = problem(await returns.post("/returns", json={**_body(lot["id"]), "quantity": 1}), 409)
    assert last["available"] == 0


def _body(lot_id: int) -> dict[str, Any]:
    return {"lot_id": lot_id, "quantity": 1, "carrier_reference": "DHL-123"}


async def test_refusals_on_create(admin: httpx.AsyncClient, returns: httpx.AsyncClient) -> None:
    accepted_or_held = await factories.lot(admin)
    nothing_to_return = problem(
        await returns.post("/returns", json=_body(accepted_or_held["id"])), 409
    )
    assert nothing_to_return["to_return"] == 0
    unknown = problem(await returns.post("/returns", json=_body(999_999)), 422)
    assert fields(unknown) == {"body.lot_id"}
    lot = await lot_states.rejected_lot(admin, lot_number="R-2")
    bad_claims = (
        {"kind": "refund"},
        {"kind": "refund", "amount": "10.00"},
        {"kind": "replacement", "amount": "10", "currency": "XXY"},
        {"kind": "voucher"},
        {"kind": "refund", "amount": "-1", "currency": "EUR"},
    )
    for claim in bad_claims:
        refused = problem(
            await returns.post("/returns", json={**_body(lot["id"]), "claim": claim}), 422
        )
        assert any(f.startswith("body.claim") for f in fields(refused)), refused
    for extra in ({"quantity": 0}, {"carrier_reference": ""}, {"surprise": 1}):
        problem(await returns.post("/returns", json={**_body(lot["id"]), **extra}), 422)
    future = problem(
        await returns.post(
            "/returns", json={**_body(lot["id"]), "opened_at": "2999-01-01T00:00:00Z"}
        ),
        422,
    )
    assert fields(future) == {"body.opened_at"}
    replacement = await open_return(returns, lot["id"], 5, claim={"kind": "replacement"})
    assert replacement.json()["claim"] == {"kind": "replacement", "amount": None, "currency": None}
    assert len((await returns.get("/returns")).json()["items"]) == 1


async def test_only_returns_and_admin_handle_returns(
    admin: httpx.AsyncClient,
    inspector: httpx.AsyncClient,
    viewer: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    lot = await lot_states.rejected_lot(admin)
    for client in (inspector, viewer):
        refused = problem(await client.post("/returns", json=_body(lot["id"])), 403)
        assert refused["allowed_roles"] == ["admin", "returns"]
        problem(await client.get("/returns"), 403)
    problem(await anonymous.post("/api/v1/returns", json=_body(lot["id"])), 401)
    created = await open_return(admin, lot["id"], 10)
    problem(await move(inspector, created.json()["id"], "shipped", '"1"'), 403)
    assert (await admin.get(f"/returns/{created.json()['id']}")).json()["state"] == "open"


async def test_full_life_moves_units_and_conserves(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin, shipments={"Hospital A": 3000, "Hospital B": 1000})
    lot_id = lot["id"]
    q = await quantities(admin, lot_id)
    assert (q["on_hand"], q["to_return"], q["to_recall"]) == (6000, 6000, 4000)
    created = await open_return(returns, lot_id, 6000, opened_at="2020-03-30T00:00:00Z")
    rma_id, etag = created.json()["id"], created.headers["ETag"]

    shipped = await move(
        returns, rma_id, "shipped", etag, at="2020-04-01T08:00:00Z", note="Truck 7"
    )
    assert shipped.status_code == 200, shipped.text
    assert shipped.headers["ETag"] == '"2"'
    body = shipped.json()
    assert (body["state"], body["shipped_at"], body["allowed_transitions"]) == (
        "shipped",
        "2020-04-01T08:00:00Z",
        ["received_by_supplier"],
    )
    assert body["transitions"][-1] == {
        **body["transitions"][-1],
        "from_state": "open",
        "to_state": "shipped",
        "note": "Truck 7",
        "actor": "test-returns",
    }
    q = await quantities(admin, lot_id)
    assert (q["returned_to_supplier"], q["on_hand"], q["to_return"]) == (6000, 0, 0)
    decision = (await admin.get(f"/lots/{lot_id}/decisions")).json()["items"][-1]
    assert decision["trigger"] == f"return.shipped:{rma_id}"

    # Sites send back what they hold; it joins what is still to return.
    await lot_states.site_return(returns, lot_id, "Hospital A", 2500, "returned")
    await lot_states.site_return(returns, lot_id, "Hospital A", 500, "destroyed")
    await lot_states.site_return(returns, lot_id, "Hospital B", 900, "returned")
    await lot_states.site_return(returns, lot_id, "Hospital B", 100, "consumed")
    q = await quantities(admin, lot_id)
    assert (q["on_hand"], q["to_return"], q["to_recall"], q["outstanding_at_sites"]) == (
        3400,
        3400,
        0,
        0,
    )
    second = await open_return(returns, lot_id, 3400)
    second_shipped = await move(returns, second.json()["id"], "shipped", second.headers["ETag"])
    assert second_shipped.status_code == 200, second_shipped.text

    # Fully returned and fully recalled: nothing outstanding.
    q = await quantities(admin, lot_id)
    assert q == {
        **q,
        "received": 10_000,
        "returned_to_supplier": 9400,
        "site_destroyed": 500,
        "site_consumed": 100,
        "on_hand": 0,
        "outstanding_at_sites": 0,
        "to_return": 0,
        "to_recall": 0,
    }
    assert (await admin.get("/recalls")).json()["items"] == []

    received = await move(returns, rma_id, "received_by_supplier", '"2"', at="2020-04-09T08:00:00Z")
    assert received.json()["received_by_supplier_at"] == "2020-04-09T08:00:00Z"
    closed = await move(returns, rma_id, "closed", received.headers["ETag"])
    assert (closed.json()["state"], closed.json()["allowed_transitions"]) == ("closed", [])
    history = (await returns.get(f"/returns/{rma_id}")).json()["transitions"]
    assert [t["to_state"] for t in history] == ["open", "shipped", "received_by_supplier", "closed"]
    # Receipt and closing move no units.
    assert (await quantities(admin, lot_id))["returned_to_supplier"] == 9400
    audit = (await admin.get("/audit", params={"entity_type": "return"})).json()["items"]
    actions = [a["action"] for a in audit if a["entity_id"] == str(rma_id)]
    assert set(actions) >= {
        "return.create",
        "return.shipped",
        "return.received_by_supplier",
        "return.closed",
    }


async def test_cancel_releases_the_reservation(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin)
    created = await open_return(returns, lot["id"], 10_000)
    problem(await returns.post("/returns", json=_body(lot["id"])), 409)
    cancelled = await move(
        returns, created.json()["id"], "cancelled", '"1"', note="Supplier went bust"
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancelled_at"] is not None
    assert (await quantities(admin, lot["id"]))["returned_to_supplier"] == 0
    again = await open_return(returns, lot["id"], 10_000)
    assert again.json()["state"] == "open"


async def test_illegal_transitions_name_the_allowed_ones(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin)
    rma_id = (await open_return(returns, lot["id"], 100)).json()["id"]
    for to in ("received_by_supplier", "closed", "open"):
        refused = problem(await move(returns, rma_id, to, '"1"'), 409)
        assert (refused["state"], refused["allowed"]) == ("open", ["shipped", "cancelled"])
        assert fields(refused) == {"body.to"}
    assert (await move(returns, rma_id, "shipped", '"1"')).status_code == 200
    refused = problem(await move(returns, rma_id, "cancelled", '"2"'), 409)
    assert refused["allowed"] == ["received_by_supplier"]
    refused = problem(await move(returns, rma_id, "closed", '"2"'), 409)
    assert refused["allowed"] == ["received_by_supplier"]
    assert (await move(returns, rma_id, "received_by_supplier", '"2"')).status_code == 200
    assert (await move(returns, rma_id, "closed", '"3"')).status_code == 200
    final = problem(await move(returns, rma_id, "shipped", '"4"'), 409)
    assert final["allowed"] == [] and "final" in final["detail"]
    cancelled_id = (await open_return(returns, lot["id"], 100)).json()["id"]
    assert (await move(returns, cancelled_id, "cancelled", '"1"')).status_code == 200
    assert problem(await move(returns, cancelled_id, "shipped", '"2"'), 409)["allowed"] == []
    unknown_state = problem(await move(returns, cancelled_id, "lost", '"2"'), 422)
    assert fields(unknown_state) == {"body.to"}
    problem(await move(returns, 999_999, "shipped", '"1"'), 404)


async def test_transitions_need_a_fresh_if_match(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin)
    rma_id = (await open_return(returns, lot["id"], 100)).json()["id"]
    missing = problem(await move(returns, rma_id, "shipped", None), 428)
    assert missing["current_etag"] == '"1"'
    assert (await move(returns, rma_id, "shipped", '"1"')).status_code == 200
    stale = problem(await move(returns, rma_id, "received_by_supplier", '"1"'), 412)
    assert (stale["current_etag"], stale["current_version"]) == ('"2"', 2)
    read = await returns.get(f"/returns/{rma_id}")
    assert read.headers["ETag"] == '"2"'
    assert (
        await move(returns, rma_id, "received_by_supplier", read.headers["ETag"])
    ).status_code == 200
    # A refused transition wrote nothing.
    assert (await quantities(admin, lot["id"]))["returned_to_supplier"] == 100


async def test_transition_times_are_checked(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin)
    created = await open_return(returns, lot["id"], 100, opened_at="2020-04-01T00:00:00Z")
    rma_id = created.json()["id"]
    before = problem(await move(returns, rma_id, "shipped", '"1"', at="2020-03-31T23:59:00Z"), 422)
    assert fields(before) == {"body.at"}
    future = problem(await move(returns, rma_id, "shipped", '"1"', at="2999-01-01T00:00:00Z"), 422)
    assert fields(future) == {"body.at"}
    assert (await returns.get(f"/returns/{rma_id}")).json()["version"] == 1


async def test_shipping_more_than_left_to_return_is_refused(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin, quantity=1000)
    created = await open_return(returns, lot["id"], 1000)
    # An admin override ships units away from the warehouse after the return was opened.
    await lot_states.ship(admin, lot["id"], "Field hospital", 300)
    refused = problem(await move(returns, created.json()["id"], "shipped", '"1"'), 409)
    assert (refused["to_return"], refused["quantity"]) == (700, 1000)
    q = await quantities(admin, lot["id"])
    assert (q["returned_to_supplier"], q["on_hand"]) == (0, 700)


async def test_list_filters_and_csv(admin: httpx.AsyncClient, returns: httpx.AsyncClient) -> None:
    first = await lot_states.rejected_lot(admin, lot_number="A-1")
    other_supplier = await factories.supplier(admin, name='Acme, "Masks" Ltd')
    second = await lot_states.rejected_lot(
        admin, lot_number="B-1", supplier_id=other_supplier["id"]
    )
    a = (await open_return(returns, first["id"], 10)).json()["id"]
    b = (await open_return(returns, second["id"], 20)).json()["id"]
    c = (await open_return(returns, second["id"], 30)).json()["id"]
    await move(returns, c, "shipped", '"1"')

    async def ids(**params: Any) -> list[int]:
        response = await returns.get("/returns", params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await ids() == [a, b, c]
    assert await ids(state="open") == [a, b]
    assert await ids(state="shipped") == [c]
    assert await ids(supplier_id=other_supplier["id"]) == [b, c]
    assert await ids(lot_id=first["id"]) == [a]
    after_a = (await returns.get("/returns", params={"limit": 1})).json()["next_cursor"]
    assert await ids(limit=1, cursor=after_a) == [b]
    problem(await returns.get("/returns", params={"state": "lost"}), 422)
    problem(await returns.get("/returns", params={"limit": 501}), 422)

    exported = await returns.get(
        "/returns", params={"format": "csv", "supplier_id": other_supplier["id"]}
    )
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith('attachment; filename="returns-')
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [
        (r["return_id"], r["supplier"], r["lot_number"], r["state"], r["quantity"]) for r in rows
    ] == [
        (str(b), 'Acme, "Masks" Ltd', "B-1", "open", "20"),
        (str(c), 'Acme, "Masks" Ltd', "B-1", "shipped", "30"),
    ]
    assert rows[1]["shipped_at"] and not rows[0]["shipped_at"]


async def test_carrier_reference_is_optional_to_open_and_required_to_ship(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin)
    body = {"lot_id": lot["id"], "quantity": 600}
    created = await returns.post("/returns", json=body)
    assert created.status_code == 201, created.text
    rma_id, etag = created.json()["id"], created.headers["ETag"]
    assert created.json()["carrier_reference"] is None
    before = await quantities(admin, lot["id"])

    refused = problem(await move(returns, rma_id, "shipped", etag), 422)
    assert fields(refused) == {"body.carrier_reference"}
    assert "required when the return moves to shipped" in refused["detail"]
    misplaced = await move(returns, rma_id, "cancelled", etag, carrier_reference="DHL-9")
    assert fields(problem(misplaced, 422)) == {"body.carrier_reference"}
    # Nothing moved: the return is still open at version 1, the lot untouched.
    still = (await returns.get(f"/returns/{rma_id}")).json()
    assert (still["state"], still["version"], still["carrier_reference"]) == ("open", 1, None)
    assert await quantities(admin, lot["id"]) == before

    shipped = await move(returns, rma_id, "shipped", etag, carrier_reference="DHL-77")
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["state"], shipped.json()["carrier_reference"]) == ("shipped", "DHL-77")
    assert (await quantities(admin, lot["id"]))["returned_to_supplier"] == 600
    audit = (await admin.get("/audit")).json()["items"]
    shipped_record = next(r for r in audit if r["action"] == "return.shipped")
    assert shipped_record["before"]["carrier_reference"] is None
    assert shipped_record["after"]["carrier_reference"] == "DHL-77"
