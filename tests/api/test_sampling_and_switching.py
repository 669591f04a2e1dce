from typing import Any

import httpx

from tests.api import factories
from tests.api.factories import fields, problem
from tests.api.test_decisions import FFP2_TYPE_EXAM, good_ffp2_lot, lab, measurements, post


async def test_sampling_plan_lookup(viewer: httpx.AsyncClient) -> None:
    response = await viewer.get("/sampling-plans", params={"lot_size": 1_300_000, "aql": "2.5"})
    assert response.json() == {
        "code_letter": "Q",
        "sample_size": 500,
        "acceptance_number": 21,
        "rejection_number": 22,
        "inspect_all": False,
    }
    same = await viewer.get(
        "/sampling-plans",
        params={
            "lot_size": 1_300_000,
            "aql": "2.50",
            "inspection_level": "II",
            "severity": "normal",
        },
    )
    assert same.json() == response.json()
    tiny = (await viewer.get("/sampling-plans", params={"lot_size": 5, "aql": "0.1"})).json()
    assert tiny["inspect_all"] is True and tiny["sample_size"] == 5
    tightened = (
        await viewer.get(
            "/sampling-plans", params={"lot_size": 1_300_000, "aql": "1", "severity": "tightened"}
        )
    ).json()
    assert tightened["code_letter"] == "Q" and tightened["sample_size"] == 1250


async def test_sampling_plan_refuses_bad_parameters(viewer: httpx.AsyncClient) -> None:
    level = problem(
        await viewer.get(
            "/sampling-plans", params={"lot_size": 100, "aql": "2.5", "inspection_level": "IV"}
        ),
        422,
    )
    assert fields(level) == {"query.inspection_level"} and "S-1" in level["detail"]
    aql = problem(await viewer.get("/sampling-plans", params={"lot_size": 100, "aql": "3"}), 422)
    assert fields(aql) == {"query.aql"} and "0.010" in aql["detail"]
    severity = problem(
        await viewer.get(
            "/sampling-plans", params={"lot_size": 100, "aql": "2.5", "severity": "lenient"}
        ),
        422,
    )
    assert "tightened" in severity["detail"]
    missing = problem(await viewer.get("/sampling-plans", params={"aql": "2.5"}), 422)
    assert fields(missing) == {"query.lot_size"}
    zero = problem(await viewer.get("/sampling-plans", params={"lot_size": 0, "aql": "1"}), 422)
    assert fields(zero) == {"query.lot_size"}


async def test_lot_sampling_plan_uses_policy_and_severity(
    viewer: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    lot = await factories.lot(inspector, quantity=1_300_000)
    plans = (await viewer.get(f"/lots/{lot['id']}/sampling-plan")).json()
    assert plans["severity"] == "normal" and plans["inspection_level"] == "II"
    assert plans["aql"] == {"critical": None, "major": "2.5", "minor": "4.0"}
    assert plans["plans"]["major"]["sample_size"] == 500
    assert plans["plans"]["critical"]["acceptance_number"] == 0


async def rejected_lot(client: httpx.AsyncClient, supplier_id: int, n: int) -> dict[str, Any]:
    created = await factories.lot(client, supplier_id, lot_number=f"BAD-{n}", quantity=10_000)
    path = f"/lots/{created['id']}"
    await post(client, f"{path}/certificates", FFP2_TYPE_EXAM)
    failing = lab(
        measurements=measurements(filtration_efficiency_pct=60.0, total_inward_leakage_pct=3.0)
    )
    await post(client, f"{path}/inspections", failing)
    await post(client, f"{path}/inspections", {**failing, "confirms": True})
    lot: dict[str, Any] = (await client.get(path)).json()
    assert lot["status"] == "rejected", lot["reasons"]
    return lot


async def test_switching_discontinues_and_reinstates(
    inspector: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    supplier = await factories.supplier(inspector)
    sid = supplier["id"]
    await good_ffp2_lot(inspector, supplier_id=sid, lot_number="OK-1")
    for n in range(2):
        await rejected_lot(inspector, sid, n)
    quality = (await inspector.get(f"/suppliers/{sid}/quality")).json()["products"][0]
    assert quality["severity"] == "tightened" and not quality["discontinued"]
    assert (quality["lots_decided"], quality["lots_accepted"]) == (3, 1)
    assert quality["acceptance_rate"] == round(1 / 3, 4)
    assert [o["accepted"] for o in quality["recent_outcomes"]] == [False, False, True]
    plan = (
        await inspector.get(
            f"/lots/{(await factories.lot(inspector, sid, lot_number='T-1'))['id']}/sampling-plan"
        )
    ).json()
    assert plan["severity"] == "tightened"
    for n in range(2, 7):
        await rejected_lot(inspector, sid, n)
    quality = (await inspector.get(f"/suppliers/{sid}/quality")).json()["products"][0]
    assert quality["discontinued"] is True and quality["not_accepted_on_tightened"] == 5

    refused_on_receipt = await factories.lot(inspector, sid, lot_number="AFTER")
    assert refused_on_receipt["status"] == "rejected"
    assert [r["code"] for r in refused_on_receipt["reasons"]].count("supplier_discontinued") == 1

    body = {"product": "FFP2", "reason": "Corrective action plan accepted after audit"}
    problem(await inspector.post(f"/suppliers/{sid}/reinstatements", json=body), 403)
    wrong_product = await admin.post(
        f"/suppliers/{sid}/reinstatements", json={**body, "product": "KN95"}
    )
    problem(wrong_product, 409)
    reinstated = await post(admin, f"/suppliers/{sid}/reinstatements", body)
    assert (reinstated["severity"], reinstated["discontinued"]) == ("tightened", False)
    audit = (await admin.get("/audit", params={"entity_type": "supplier"})).json()["items"]
    assert audit[0]["action"] == "supplier.reinstate"
    assert audit[0]["before"]["discontinued"] is True
    fresh = await factories.lot(inspector, sid, lot_number="AFTER-REINSTATEMENT")
    assert fresh["status"] == "on_hold"
    assert (await inspector.get(f"/lots/{fresh['id']}/sampling-plan")).json()["severity"] == (
        "tightened"
    )
