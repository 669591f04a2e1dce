"""Lots brought to the states returns and recalls act on, through the API."""

from typing import Any

import httpx

from tests.api import factories

OVERRIDE = "Shipped before testing (March 2020 emergency); recorded after the fact"
FAILING_LAB = {
    "kind": "lab",
    "sample_size": 20,
    "performed_at": "2020-03-24T10:00:00Z",
    "inspector": "Lab",
    "lab": "Example Lab",
    "report_number": "R-1",
    "defects": [{"code": "membrane_fault", "count": 3}],
    "measurements": [
        {"characteristic": "filtration_efficiency_pct", "value": 81.0},
        {"characteristic": "total_inward_leakage_pct", "value": 25.0},
    ],
}


async def ship(
    admin: httpx.AsyncClient, lot_id: int, destination: str, quantity: int
) -> dict[str, Any]:
    return await factories.create(
        admin,
        f"/lots/{lot_id}/distributions",
        {
            "destination": destination,
            "quantity": quantity,
            "shipped_at": "2020-03-21T18:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
            "override_reason": OVERRIDE,
        },
    )


async def site_return(
    client: httpx.AsyncClient, lot_id: int, destination: str, quantity: int, outcome: str
) -> dict[str, Any]:
    return await factories.create(
        client,
        f"/lots/{lot_id}/site-returns",
        {"destination": destination, "quantity": quantity, "outcome": outcome},
    )


async def suspect_lot(
    admin: httpx.AsyncClient,
    *,
    shipments: dict[str, int] | None = None,
    supplier_id: int | None = None,
    **lot: Any,
) -> dict[str, Any]:
    """A lot shipped to the given destinations before its first lab test failed."""
    created = await factories.lot(admin, supplier_id, **{"quantity": 10_000, **lot})
    for destination, quantity in (shipments or {}).items():
        await ship(admin, created["id"], destination, quantity)
    await factories.create(admin, f"/lots/{created['id']}/inspections", FAILING_LAB)
    state = (await admin.get(f"/lots/{created['id']}")).json()
    assert state["status"] == "suspect", state["reasons"]
    return state


async def confirm_rejection(admin: httpx.AsyncClient, lot_id: int) -> dict[str, Any]:
    confirming = {**FAILING_LAB, "confirms": True, "report_number": "R-2"}
    confirming["performed_at"] = "2020-03-27T10:00:00Z"
    await factories.create(admin, f"/lots/{lot_id}/inspections", confirming)
    state = (await admin.get(f"/lots/{lot_id}")).json()
    assert state["status"] == "rejected", state["reasons"]
    return state


async def rejected_lot(
    admin: httpx.AsyncClient, *, shipments: dict[str, int] | None = None, **lot: Any
) -> dict[str, Any]:
    suspect = await suspect_lot(admin, shipments=shipments, **lot)
    return await confirm_rejection(admin, suspect["id"])


def conserved(quantities: dict[str, int]) -> bool:
    return quantities["received"] == (
        quantities["on_hand"]
        + quantities["outstanding_at_sites"]
        + quantities["site_destroyed"]
        + quantities["site_consumed"]
        + quantities["returned_to_supplier"]
    )
