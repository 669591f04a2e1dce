"""The recall rules through the API, on the cases in the domain brief."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.decisions.models import Concession
from app.lots.models import Lot
from tests.api import factories
from tests.api.factories import problem

FFP2_TYPE_EXAM = {
    "type": "eu_type_examination",
    "number": "2163-PPE-0001",
    "issuer": "Example NB",
    "notified_body_number": "2163",
    "standard": "EN 149:2001+A1:2009",
    "valid_from": "2019-01-01",
    "valid_until": "2029-01-01",
}
KN95_TEST_REPORT = {
    "type": "test_report",
    "number": "GB2626-2020-17",
    "issuer": "Guangzhou test centre",
    "standard": "GB 2626-2006",
    "valid_from": "2020-01-01",
}
OVERRIDE = "Distributed to hospitals on 21 March 2020 before any test (recorded afterwards)"


def lab(**overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "lab",
        "sample_size": 20,
        "performed_at": "2020-03-24T10:00:00Z",
        "inspector": "Lab",
        "lab": "Example Lab",
        "report_number": "R-1",
        "defects": [],
        "measurements": [],
    }
    return {**body, **overrides}


def visual(sample_size: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "visual",
        "sample_size": sample_size,
        "performed_at": "2020-03-23T10:00:00Z",
        "inspector": "Warehouse QA",
        "defects": [],
    }
    return {**body, **overrides}


def measurements(**values: float) -> list[dict[str, Any]]:
    return [{"characteristic": k, "value": v} for k, v in values.items()]


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return await factories.create(client, path, body)


async def decision(client: httpx.AsyncClient, lot_id: int) -> dict[str, Any]:
    response = await client.get(f"/lots/{lot_id}/decision")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def codes(d: dict[str, Any]) -> set[str]:
    return {r["code"] for r in d["reasons"]}


async def good_ffp2_lot(client: httpx.AsyncClient, **lot: Any) -> dict[str, Any]:
    created = await factories.lot(client, quantity=10_000, **lot)
    path = f"/lots/{created['id']}"
    await post(client, f"{path}/certificates", FFP2_TYPE_EXAM)
    await post(client, f"{path}/inspections", visual(200))
    await post(
        client,
        f"{path}/inspections",
        lab(
            measurements=measurements(filtration_efficiency_pct=97.0, total_inward_leakage_pct=3.0)
        ),
    )
    return created


async def test_good_lot_is_accepted_and_distributed(inspector: httpx.AsyncClient) -> None:
    lot = await good_ffp2_lot(inspector)
    d = await decision(inspector, lot["id"])
    assert (d["status"], d["disposition"]) == ("accepted", "release"), d["reasons"]
    assert d["quantities"]["releasable"] == 10_000
    assert d["sampling"]["plans"]["major"] == {
        "code_letter": "L",
        "sample_size": 200,
        "acceptance_number": 10,
        "rejection_number": 11,
        "inspect_all": False,
    }
    await post(
        inspector,
        f"/lots/{lot['id']}/distributions",
        {
            "destination": "UMC Utrecht",
            "quantity": 4000,
            "shipped_at": "2020-03-26T08:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
        },
    )
    after = (await inspector.get(f"/lots/{lot['id']}")).json()
    assert after["status"] == "accepted"
    assert after["quantities"]["releasable"] == 6000
    assert after["quantities"]["outstanding_at_sites"] == 4000


async def test_nothing_is_usable_before_it_passes(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(inspector, quantity=10_000)
    d = await decision(inspector, lot["id"])
    assert (d["status"], d["disposition"]) == ("on_hold", "hold")
    assert "awaiting_inspection" in codes(d)
    await post(inspector, f"/lots/{lot['id']}/certificates", FFP2_TYPE_EXAM)
    await post(inspector, f"/lots/{lot['id']}/inspections", visual(200))
    d = await decision(inspector, lot["id"])
    assert d["status"] == "on_hold" and "lab_test_missing" in codes(d)
    refused = await inspector.post(
        f"/lots/{lot['id']}/distributions",
        json={
            "destination": "H",
            "quantity": 1,
            "shipped_at": "2020-03-26T08:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
        },
    )
    assert problem(refused, 409)["decision"]["status"] == "on_hold"


async def test_dutch_kn95_lot(admin: httpx.AsyncClient) -> None:
    """1.3 million KN95 ordered as FFP2, 600,000 out before testing, failed, confirmed."""
    lot = await factories.lot(
        admin, lot_number="NL-KN95-2020-03", quantity=1_300_000, product="KN95", ordered_as="FFP2"
    )
    path = f"/lots/{lot['id']}"
    await post(admin, f"{path}/certificates", KN95_TEST_REPORT)
    for hospital, units in (("Hospital A", 350_000), ("Hospital B", 250_000)):
        await post(
            admin,
            f"{path}/distributions",
            {
                "destination": hospital,
                "quantity": units,
                "shipped_at": "2020-03-21T18:00:00Z",
                "intended_use": "healthcare_respiratory_protection",
                "override_reason": OVERRIDE,
            },
        )
    failing = lab(
        defects=[{"code": "membrane_fault", "count": 3}, {"code": "poor_fit", "count": 5}],
        measurements=measurements(filtration_efficiency_pct=81.0, total_inward_leakage_pct=25.0),
    )
    await post(admin, f"{path}/inspections", failing)
    d = await decision(admin, lot["id"])
    assert (d["status"], d["disposition"]) == ("suspect", "hold")
    assert d["quantities"]["to_recall"] == 600_000
    assert any("81" in r["message"] and "95" in r["message"] for r in d["reasons"])
    await post(
        admin,
        f"{path}/inspections",
        {
            **failing,
            "confirms": True,
            "report_number": "R-2",
            "performed_at": "2020-03-27T10:00:00Z",
        },
    )
    d = await decision(admin, lot["id"])
    assert (d["status"], d["disposition"]) == ("rejected", "recall_and_return")
    q = d["quantities"]
    assert (q["to_recall"], q["to_return"], q["releasable"]) == (600_000, 700_000, 0)
    history = (await admin.get(f"{path}/decisions")).json()["items"]
    assert [e["status"] for e in history][-2:] == ["suspect", "rejected"]
    assert history[0]["trigger"] == "lot.create" and history[0]["status"] == "on_hold"
    assert all(e["policy_version"] == "2026-11-default" for e in history)
    refused = await admin.post(
        f"{path}/distributions",
        json={
            "destination": "Hospital C",
            "quantity": 1,
            "shipped_at": "2020-03-28T00:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
        },
    )
    assert problem(refused, 409)["decision"]["disposition"] == "recall_and_return"
    # Hospitals send the masks back: they join what goes back to the supplier.
    await post(
        admin,
        f"{path}/site-returns",
        {"destination": "Hospital A", "quantity": 350_000, "outcome": "returned"},
    )
    q = (await decision(admin, lot["id"]))["quantities"]
    assert (q["to_recall"], q["to_return"]) == (250_000, 1_050_000)


async def test_spanish_test_kits(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(
        inspector, quantity=640_000, product="ANTIGEN_RAPID_TEST", ordered_as="ANTIGEN_RAPID_TEST"
    )
    path = f"/lots/{lot['id']}"
    await post(
        inspector,
        f"{path}/certificates",
        {
            "type": "eu_type_examination",
            "number": "CE-IVD-1",
            "issuer": "NB",
            "notified_body_number": "0123",
            "standard": "IVDD 98/79/EC",
        },
    )
    failing = lab(
        sample_size=30, measurements=measurements(sensitivity_pct=30.0, specificity_pct=98.0)
    )
    await post(inspector, f"{path}/inspections", failing)
    assert (await decision(inspector, lot["id"]))["status"] == "suspect"
    await post(inspector, f"{path}/inspections", {**failing, "confirms": True})
    d = await decision(inspector, lot["id"])
    assert (d["status"], d["disposition"]) == ("rejected", "return_to_supplier")
    assert d["quantities"]["to_return"] == 640_000 and d["quantities"]["to_recall"] == 0
    assert any("30" in r["message"] and "80" in r["message"] for r in d["reasons"])


async def test_finnish_masks_are_restricted(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(
        inspector, quantity=2_000_000, product="MEDICAL_YYT0969", ordered_as="SURGICAL_II"
    )
    path = f"/lots/{lot['id']}"
    await post(
        inspector,
        f"{path}/certificates",
        {
            "type": "nmpa_registration",
            "number": "NMPA-2020-1",
            "issuer": "NMPA",
            "standard": "YY/T 0969-2013",
        },
    )
    await post(inspector, f"{path}/inspections", visual(1250))
    await post(
        inspector,
        f"{path}/inspections",
        lab(measurements=measurements(bacterial_filtration_efficiency_pct=96.5)),
    )
    d = await decision(inspector, lot["id"])
    assert (d["status"], d["disposition"]) == ("restricted", "restrict_use"), d["reasons"]
    assert "surgical" not in d["allowed_uses"] and "patient_care" in d["allowed_uses"]
    shipped = await post(
        inspector,
        f"{path}/distributions",
        {
            "destination": "Nursing home Espoo",
            "quantity": 1000,
            "shipped_at": "2020-04-10T00:00:00Z",
            "intended_use": "patient_care",
        },
    )
    assert shipped["quantity"] == 1000


async def test_belgian_lot_without_a_counting_certificate(inspector: httpx.AsyncClient) -> None:
    lot = await good_ffp2_lot(inspector, lot_number="BE-FFP2-1")
    path = f"/lots/{lot['id']}"
    certificates = (await inspector.get(f"{path}/certificates")).json()["items"]
    # Replace the lot's good certificate with what Belgium actually got.
    await inspector.put(
        f"{path}/certificates/{certificates[0]['id']}/verification",
        json={"verification": "rejected", "verified_by": "FOD", "method": "NANDO: not issued"},
        headers={"If-Match": f'"{certificates[0]["version"]}"'},
    )
    other = await good_ffp2_lot(inspector, lot_number="BE-FFP2-2")
    other_path = f"/lots/{other['id']}"
    d = await decision(inspector, lot["id"])
    assert (d["status"], d["disposition"]) == ("rejected", "return_to_supplier")
    assert "certificate_invalid" in codes(d)

    held = await factories.lot(
        inspector, other["supplier_id"], lot_number="BE-FFP2-3", quantity=10_000
    )
    held_path = f"/lots/{held['id']}"
    await post(
        inspector,
        f"{held_path}/certificates",
        {
            "type": "certificate_of_compliance",
            "number": "ECM-1",
            "issuer": "ECM",
            "notified_body_number": "1282",
            "standard": "EN 149",
        },
    )
    await post(inspector, f"{held_path}/inspections", visual(200))
    await post(
        inspector,
        f"{held_path}/inspections",
        lab(
            measurements=measurements(filtration_efficiency_pct=97.0, total_inward_leakage_pct=3.0)
        ),
    )
    d = await decision(inspector, held["id"])
    assert (d["status"], d["disposition"]) == ("on_hold", "hold")
    assert "certificate_missing" in codes(d)
    assert (await decision(inspector, other["id"]))["status"] == "accepted"
    assert other_path != held_path


async def test_concession_releases_until_it_expires(
    admin: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    lot = await factories.lot(admin, quantity=10_000)
    path = f"/lots/{lot['id']}"
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    granted = await post(
        admin,
        f"{path}/concessions",
        {
            "reason": "Shortage; used for non-clinical staff",
            "legal_basis": "Ministerial order 12",
            "allowed_uses": ["non_medical"],
            "expires_at": expires,
        },
    )
    d = await decision(admin, lot["id"])
    assert (d["status"], d["disposition"]) == ("accepted", "release_under_concession")
    assert d["allowed_uses"] == ["non_medical"] and d["valid_until"] is not None
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with engine.begin() as connection:
        await connection.execute(
            update(Concession).where(Concession.id == granted["id"]).values(expires_at=past)
        )
        await connection.execute(
            update(Lot).where(Lot.id == lot["id"]).values(decision_valid_until=past)
        )
    after = (await admin.get(path)).json()
    assert (after["status"], after["disposition"]) == ("on_hold", "hold")
    triggers = [e["trigger"] for e in (await admin.get(f"{path}/decisions")).json()["items"]]
    assert triggers[-1] == "concession.expired"


async def test_concession_is_admin_only_and_validated(
    inspector: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    lot = await factories.lot(inspector)
    body = {
        "reason": "r",
        "legal_basis": "b",
        "allowed_uses": ["non_medical"],
        "expires_at": "2099-01-01T00:00:00Z",
    }
    problem(await inspector.post(f"/lots/{lot['id']}/concessions", json=body), 403)
    past = await admin.post(
        f"/lots/{lot['id']}/concessions", json={**body, "expires_at": "2020-01-01T00:00:00Z"}
    )
    assert "future" in problem(past, 422)["detail"]
    bad_use = await admin.post(
        f"/lots/{lot['id']}/concessions", json={**body, "allowed_uses": ["anything"]}
    )
    assert "non_medical" in problem(bad_use, 422)["detail"]
    assert (await admin.get(f"/lots/{lot['id']}/concessions")).json()["items"] == []
