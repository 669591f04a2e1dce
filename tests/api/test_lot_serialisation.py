"""50 concurrent writes on one lot end where applying them one by one ends."""

import asyncio
from typing import Any

import httpx

from tests.api import factories
from tests.api.test_decisions import FFP2_TYPE_EXAM, lab, measurements, visual

GOOD_LAB = lab(
    measurements=measurements(filtration_efficiency_pct=97.0, total_inward_leakage_pct=3.0)
)
BAD_LAB = lab(
    measurements=measurements(filtration_efficiency_pct=70.0, total_inward_leakage_pct=3.0)
)


def workload() -> list[tuple[str, str, dict[str, Any]]]:
    """(entity type, path suffix, body) for 50 writes of every kind on one lot."""
    writes: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(50):
        kind = i % 5
        if kind in (0, 1):
            writes.append(
                (
                    "distribution",
                    "distributions",
                    {
                        "destination": f"Site-{i % 7}",
                        "quantity": 150 + i,
                        "shipped_at": "2020-04-01T00:00:00Z",
                        "intended_use": "healthcare_respiratory_protection",
                        "override_reason": "Emergency shipment recorded for the test",
                    },
                )
            )
        elif kind == 2:
            writes.append(
                (
                    "site_return",
                    "site-returns",
                    {
                        "destination": f"Site-{i % 7}",
                        "quantity": 40,
                        "outcome": ("returned", "destroyed", "consumed")[i % 3],
                    },
                )
            )
        elif kind == 3:
            body = BAD_LAB if i in (18, 38) else GOOD_LAB
            writes.append(
                (
                    "inspection",
                    "inspections",
                    {**body, "report_number": f"R-{i}", "confirms": i == 38},
                )
            )
        else:
            writes.append(("certificate", "certificates", {**FFP2_TYPE_EXAM, "number": f"C-{i}"}))
    return writes


async def prepared_lot(admin: httpx.AsyncClient, number: str) -> dict[str, Any]:
    lot = await factories.lot(admin, lot_number=number, quantity=20_000)
    await factories.create(admin, f"/lots/{lot['id']}/inspections", visual(200))
    return lot


def summary(lot: dict[str, Any]) -> tuple[object, ...]:
    return (
        lot["status"],
        lot["disposition"],
        sorted(r["code"] for r in lot["reasons"]),
        lot["quantities"],
    )


async def test_parallel_writes_equal_sequential_replay(admin: httpx.AsyncClient) -> None:
    lot = await prepared_lot(admin, "PARALLEL")
    writes = workload()

    async def send(index: int) -> tuple[int, httpx.Response]:
        _entity, suffix, body = writes[index]
        return index, await admin.post(f"/lots/{lot['id']}/{suffix}", json=body)

    results = await asyncio.gather(*(send(i) for i in range(len(writes))))
    assert all(r.status_code in (201, 409) for _, r in results), [
        r.text for _, r in results if r.status_code not in (201, 409)
    ]
    created = {(writes[i][0], str(r.json()["id"])): i for i, r in results if r.status_code == 201}
    assert len(created) >= 25

    audit = (await admin.get("/audit", params={"limit": 500})).json()["items"]
    commit_order = [
        created[(a["entity_type"], a["entity_id"])]
        for a in reversed(audit)
        if (a["entity_type"], a["entity_id"]) in created
        and a["action"] == f"{a['entity_type']}.create"  # not the override record
    ]
    assert sorted(commit_order) == sorted(created.values())

    replay = await prepared_lot(admin, "SEQUENTIAL")
    for index in commit_order:
        _, suffix, body = writes[index]
        response = await admin.post(f"/lots/{replay['id']}/{suffix}", json=body)
        assert response.status_code == 201, (index, response.text)

    parallel_end = (await admin.get(f"/lots/{lot['id']}")).json()
    sequential_end = (await admin.get(f"/lots/{replay['id']}")).json()
    assert summary(parallel_end) == summary(sequential_end)
    q = parallel_end["quantities"]
    assert q["received"] == (
        q["on_hand"]
        + q["outstanding_at_sites"]
        + q["site_destroyed"]
        + q["site_consumed"]
        + q["returned_to_supplier"]
    )
