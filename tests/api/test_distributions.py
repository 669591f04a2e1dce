import asyncio
from typing import Any

import httpx

from tests.api import factories
from tests.api.factories import fields, problem

SHIP = {
    "destination": "Hospital A",
    "quantity": 100,
    "shipped_at": "2020-03-21T12:00:00Z",
    "intended_use": "healthcare_respiratory_protection",
}
OVERRIDE = "Shipped before testing (March 2020 emergency); recorded after the fact"


async def _lot_with_stock(client: httpx.AsyncClient, quantity: int = 1000) -> dict[str, Any]:
    return await factories.lot(client, quantity=quantity)


async def test_lot_on_hold_cannot_be_distributed(inspector: httpx.AsyncClient) -> None:
    lot = await _lot_with_stock(inspector)
    body = problem(await inspector.post(f"/lots/{lot['id']}/distributions", json=SHIP), 409)
    assert body["decision"]["status"] == "on_hold"
    assert (await inspector.get(f"/lots/{lot['id']}/distributions")).json()["items"] == []


async def test_override_is_admin_only(
    inspector: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    lot = await _lot_with_stock(inspector)
    path = f"/lots/{lot['id']}/distributions"
    problem(await inspector.post(path, json={**SHIP, "override_reason": OVERRIDE}), 403)
    shipped = await factories.create(admin, path, {**SHIP, "override_reason": OVERRIDE})
    assert shipped["override_reason"] == OVERRIDE
    q = (await admin.get(f"/lots/{lot['id']}")).json()["quantities"]
    assert (q["distributed"], q["outstanding_at_sites"], q["on_hand"]) == (100, 100, 900)


async def test_cannot_distribute_more_than_on_hand(admin: httpx.AsyncClient) -> None:
    lot = await _lot_with_stock(admin, quantity=150)
    path = f"/lots/{lot['id']}/distributions"
    await factories.create(admin, path, {**SHIP, "override_reason": OVERRIDE})
    body = problem(await admin.post(path, json={**SHIP, "override_reason": OVERRIDE}), 409)
    assert (body["requested"], body["on_hand"]) == (100, 50)
    assert fields(body) == {"body.quantity"}
    assert (await admin.get(f"/lots/{lot['id']}")).json()["quantities"]["on_hand"] == 50


async def test_site_returns_flow_back_and_conserve_quantities(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await _lot_with_stock(admin)
    lot_path = f"/lots/{lot['id']}"
    await factories.create(
        admin, f"{lot_path}/distributions", {**SHIP, "quantity": 300, "override_reason": OVERRIDE}
    )
    await factories.create(
        admin,
        f"{lot_path}/distributions",
        {**SHIP, "destination": "Hospital B", "override_reason": OVERRIDE},
    )
    for outcome, quantity in (("returned", 120), ("destroyed", 30), ("consumed", 50)):
        await factories.create(
            returns,
            f"{lot_path}/site-returns",
            {"destination": "Hospital A", "quantity": quantity, "outcome": outcome},
        )
    too_many = await returns.post(
        f"{lot_path}/site-returns",
        json={"destination": "Hospital A", "quantity": 101, "outcome": "returned"},
    )
    body = problem(too_many, 409)
    assert body["outstanding"] == 100
    unknown_site = await returns.post(
        f"{lot_path}/site-returns",
        json={"destination": "Hospital Z", "quantity": 1, "outcome": "returned"},
    )
    assert problem(unknown_site, 409)["outstanding"] == 0
    q = (await admin.get(lot_path)).json()["quantities"]
    assert q == {
        **q,
        "received": 1000,
        "distributed": 400,
        "site_returned": 120,
        "site_destroyed": 30,
        "site_consumed": 50,
        "outstanding_at_sites": 200,
        "on_hand": 720,
    }
    assert q["received"] == (
        q["on_hand"]
        + q["outstanding_at_sites"]
        + q["site_destroyed"]
        + q["site_consumed"]
        + q["returned_to_supplier"]
    )
    listed = (await returns.get(f"{lot_path}/site-returns")).json()["items"]
    assert [(r["outcome"], r["quantity"]) for r in listed] == [
        ("returned", 120),
        ("destroyed", 30),
        ("consumed", 50),
    ]


async def test_inspector_cannot_record_site_returns(inspector: httpx.AsyncClient) -> None:
    lot = await _lot_with_stock(inspector)
    response = await inspector.post(
        f"/lots/{lot['id']}/site-returns",
        json={"destination": "Hospital A", "quantity": 1, "outcome": "returned"},
    )
    problem(response, 403)


async def test_parallel_distributions_never_exceed_on_hand(admin: httpx.AsyncClient) -> None:
    lot = await _lot_with_stock(admin, quantity=1000)
    path = f"/lots/{lot['id']}/distributions"

    async def ship(i: int) -> int:
        response = await admin.post(
            path,
            json={
                **SHIP,
                "destination": f"Hospital {i}",
                "quantity": 70,
                "override_reason": OVERRIDE,
            },
        )
        return response.status_code

    statuses = await asyncio.gather(*(ship(i) for i in range(25)))
    assert sorted(set(statuses)) == [201, 409]
    assert statuses.count(201) == 1000 // 70
    q = (await admin.get(f"/lots/{lot['id']}")).json()["quantities"]
    assert q["distributed"] == 70 * (1000 // 70)
    assert q["on_hand"] == 1000 - q["distributed"]
    shipped = (await admin.get(path)).json()["items"]
    assert sum(d["quantity"] for d in shipped) == q["distributed"]
