"""Lots and signals brought about through the API, as clients would."""

from typing import Any

import httpx

from tests.api import factories
from tests.api.lot_states import FAILING_LAB, ship

CERTIFICATE = {
    "type": "eu_type_examination",
    "number": "2163-PPE-0001",
    "issuer": "Example NB",
    "notified_body_number": "2163",
    "standard": "EN 149:2001+A1:2009",
    "valid_from": "2019-01-01",
    "valid_until": "2029-01-01",
}
VISUAL = {
    "kind": "visual",
    "sample_size": 200,
    "performed_at": "2020-03-23T10:00:00Z",
    "inspector": "Warehouse QA",
    "defects": [],
}
PASSING_LAB = {
    "kind": "lab",
    "sample_size": 20,
    "performed_at": "2020-03-24T10:00:00Z",
    "inspector": "Lab",
    "report_number": "R-1",
    "measurements": [
        {"characteristic": "filtration_efficiency_pct", "value": 97.0},
        {"characteristic": "total_inward_leakage_pct", "value": 3.0},
    ],
}
CONFIRMING_FAILURE = {
    **FAILING_LAB,
    "confirms": True,
    "report_number": "R-CONFIRM",
    "performed_at": "2020-05-20T10:00:00Z",
}


async def accepted_distributed_lot(
    admin: httpx.AsyncClient,
    shipments: dict[str, int] | None = None,
    certificate: dict[str, Any] | None = None,
    **lot: Any,
) -> dict[str, Any]:
    """An FFP2 lot that passed everything and went out to sites."""
    created = await factories.lot(admin, **{"quantity": 10_000, **lot})
    path = f"/lots/{created['id']}"
    await factories.create(admin, f"{path}/certificates", {**CERTIFICATE, **(certificate or {})})
    await factories.create(admin, f"{path}/inspections", VISUAL)
    await factories.create(admin, f"{path}/inspections", PASSING_LAB)
    for destination, quantity in (shipments or {"Hospital A": 3_000}).items():
        await ship(admin, created["id"], destination, quantity)
    state = (await admin.get(path)).json()
    assert state["status"] == "accepted", state["reasons"]
    return state


async def lot_state(client: httpx.AsyncClient, lot_id: int) -> dict[str, Any]:
    response = await client.get(f"/lots/{lot_id}")
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def history(client: httpx.AsyncClient, lot_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/lots/{lot_id}/decisions")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def codes(state: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in state["reasons"]]


def alert_body(**names: Any) -> dict[str, Any]:
    return {
        "source": "regulator",
        "issuing_body": "Example Health Authority",
        "country": "NL",
        "published_on": "2020-05-07",
        "url": "https://example.org/notice/1",
        "reference": "EHA-2020-17",
        "text": "Respirators failing filtration tests",
        "names": names,
    }
