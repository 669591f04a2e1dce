"""The rules in one place, tried on a real server process over HTTP.

- A distribution names its intended use; a lot refuses a use outside its allowed uses
  (the April 2020 warning: "do not use non-surgical masks for surgical purposes").
- Counterfeit marking is a critical defect: the lot is held and its units recalled.
- A return ships only with a carrier reference.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api import factories
from tests.api.factories import fields, problem
from tests.api.lot_states import rejected_lot
from tests.api.test_decisions import decision, good_ffp2_lot, visual
from tests.api.test_lot_queries import restricted_kn95
from tests.live.server import LiveServer

SHIP = {"destination": "Operating theatre 3, UMC Utrecht", "quantity": 100}
OVERRIDE = "Theatre stock ran out; the surgeon in charge accepted KN95 in writing"


def listed(body: Any) -> list[dict[str, Any]]:
    """A collection's items, whether it answers a bare list or a paged envelope."""
    items: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
    return items


@pytest.fixture
async def admin(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{live_server.base_url}/api/v1", headers=live_server.admin_headers, timeout=30
    ) as client:
        yield client


@pytest.fixture
async def inspector(
    live_server: LiveServer, admin: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    key = await factories.create(admin, "/keys", {"name": "Warehouse QA", "role": "inspector"})
    async with httpx.AsyncClient(
        base_url=f"{live_server.base_url}/api/v1",
        headers={"Authorization": f"Bearer {key['key']}"},
        timeout=30,
    ) as client:
        yield client


async def _audit_actions(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    return listed((await admin.get("/audit", params={"limit": 500})).json())


async def test_restricted_lot_refuses_a_surgical_use(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    supplier = await factories.supplier(admin, name="Restricted Use Test")
    lot = await restricted_kn95(admin, supplier_id=supplier["id"], lot_number="KN95-R-1")
    path = f"/lots/{lot['id']}"
    assert (await decision(admin, lot["id"]))["allowed_uses"] == ["non_medical"]
    audit_before = await _audit_actions(admin)
    state_before = (await admin.get(path)).json()

    to_theatre = await inspector.post(
        f"{path}/distributions",
        json={**SHIP, "shipped_at": "2020-04-02T08:00:00Z", "intended_use": "surgical"},
    )
    refused = problem(to_theatre, 409)
    assert refused["allowed_uses"] == ["non_medical"]
    assert refused["intended_use"] == "surgical"
    assert "non_medical" in refused["detail"]
    assert fields(refused) == {"body.intended_use"}
    # Nothing written: no distribution, the lot's counters and the audit trail unchanged.
    assert listed((await admin.get(f"{path}/distributions")).json()) == []
    assert (await admin.get(path)).json() == state_before
    assert await _audit_actions(admin) == audit_before

    allowed = await inspector.post(
        f"{path}/distributions",
        json={
            "destination": "Municipal works depot",
            "quantity": 100,
            "shipped_at": "2020-04-02T09:00:00Z",
            "intended_use": "non_medical",
        },
    )
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["intended_use"] == "non_medical"
    assert (await admin.get(path)).json()["quantities"]["distributed"] == 100


async def test_override_of_the_use_rule_is_admin_only_and_audited(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    supplier = await factories.supplier(admin, name="Override Test")
    lot = await restricted_kn95(admin, supplier_id=supplier["id"], lot_number="KN95-R-2")
    path = f"/lots/{lot['id']}/distributions"
    body = {
        **SHIP,
        "shipped_at": "2020-04-03T08:00:00Z",
        "intended_use": "surgical",
        "override_reason": OVERRIDE,
    }
    problem(await inspector.post(path, json=body), 403)
    assert listed((await admin.get(path)).json()) == []

    overridden = await admin.post(path, json=body)
    assert overridden.status_code == 201, overridden.text
    shipped = overridden.json()
    assert (shipped["intended_use"], shipped["override_reason"]) == ("surgical", OVERRIDE)
    record = next(
        r
        for r in await _audit_actions(admin)
        if r["action"] == "distribution.override" and r["entity_id"] == str(shipped["id"])
    )
    assert record["after"]["override_reason"] == OVERRIDE
    assert record["after"]["intended_use"] == "surgical"
    assert "non_medical" in record["after"]["overrode"]
    assert record["before"]["allowed_uses"] == ["non_medical"]


async def test_an_accepted_lot_serves_only_its_products_uses(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    supplier = await factories.supplier(admin, name="Accepted Use Test")
    lot = await good_ffp2_lot(admin, supplier_id=supplier["id"], lot_number="FFP2-A-1")
    path = f"/lots/{lot['id']}/distributions"
    wrong = await inspector.post(
        path, json={**SHIP, "shipped_at": "2020-04-04T08:00:00Z", "intended_use": "surgical"}
    )
    assert problem(wrong, 409)["allowed_uses"] == [
        "healthcare_respiratory_protection",
        "non_medical",
    ]
    unknown = await inspector.post(
        path, json={**SHIP, "shipped_at": "2020-04-04T08:00:00Z", "intended_use": "theatre"}
    )
    assert fields(problem(unknown, 422)) == {"body.intended_use"}
    missing = await inspector.post(path, json={**SHIP, "shipped_at": "2020-04-04T08:00:00Z"})
    assert fields(problem(missing, 422)) == {"body.intended_use"}
    assert listed((await admin.get(path)).json()) == []


async def test_counterfeit_marking_holds_the_lot_and_recalls_its_units(
    admin: httpx.AsyncClient,
) -> None:
    supplier = await factories.supplier(admin, name="Counterfeit Test")
    lot = await good_ffp2_lot(admin, supplier_id=supplier["id"], lot_number="FFP2-C-1")
    path = f"/lots/{lot['id']}"
    await factories.create(
        admin,
        f"{path}/distributions",
        {
            **SHIP,
            "shipped_at": "2020-03-25T08:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
        },
    )
    found = visual(
        32,
        performed_at="2020-03-26T10:00:00Z",
        defects=[{"code": "counterfeit_marking", "count": 1}],
    )
    await factories.create(admin, f"{path}/inspections", found)
    suspect = await decision(admin, lot["id"])
    assert (suspect["status"], suspect["quantities"]["to_recall"]) == ("suspect", 100)
    failure = next(r for r in suspect["reasons"] if r["code"] == "critical_failure")
    assert failure["evidence"]["defects"] == {"counterfeit_marking": 1}

    confirmed = {**found, "performed_at": "2020-03-27T10:00:00Z", "confirms": True}
    await factories.create(admin, f"{path}/inspections", confirmed)
    rejected = await decision(admin, lot["id"])
    assert (rejected["status"], rejected["disposition"]) == ("rejected", "recall_and_return")


async def test_a_return_ships_only_with_a_carrier_reference(admin: httpx.AsyncClient) -> None:
    supplier = await factories.supplier(admin, name="Return Test")
    lot = await rejected_lot(admin, supplier_id=supplier["id"], lot_number="RMA-1")
    opened = await admin.post("/returns", json={"lot_id": lot["id"], "quantity": 500})
    assert opened.status_code == 201, opened.text
    assert opened.json()["carrier_reference"] is None
    rma_path = f"/returns/{opened.json()['id']}"
    etag = {"If-Match": opened.headers["ETag"]}
    refused = await admin.post(f"{rma_path}/transitions", json={"to": "shipped"}, headers=etag)
    assert fields(problem(refused, 422)) == {"body.carrier_reference"}
    assert (await admin.get(rma_path)).json()["state"] == "open"
    shipped = await admin.post(
        f"{rma_path}/transitions",
        json={"to": "shipped", "carrier_reference": "DHL-1234567890"},
        headers=etag,
    )
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["carrier_reference"] == "DHL-1234567890"
