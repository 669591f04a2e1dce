"""Alerts from outside re-open the lots they name strongly, and leave weak matches for
review. Through the API, on both databases."""

from pathlib import Path

import httpx

from tests.api import factories
from tests.api.factories import problem
from tests.signals.scenario import (
    CONFIRMING_FAILURE,
    accepted_distributed_lot,
    alert_body,
    codes,
    history,
    lot_state,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


async def test_a_certificate_alert_re_opens_a_distributed_lot_then_a_confirmation_rejects_it(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await accepted_distributed_lot(admin, {"Hospital A": 3_000, "Hospital B": 1_000})
    other = await accepted_distributed_lot(
        admin, lot_number="LOT-OTHER", certificate={"number": "2163-PPE-0002"}
    )
    recorded = await factories.create(
        inspector, "/alerts", alert_body(certificate_numbers=["2163-ppe-0001"])
    )
    assert recorded["matches"] == {"strong": 1, "weak": 0, "reopened": 1}

    state = await lot_state(admin, lot["id"])
    assert state["status"] == "suspect"
    assert "alert_signal" in codes(state) and "signal_awaiting_confirmation" in codes(state)
    assert state["quantities"]["to_recall"] == 4_000
    assert state["quantities"]["releasable"] == 0
    assert (await lot_state(admin, other["id"]))["status"] == "accepted"

    [event] = [e for e in await history(admin, lot["id"]) if e["status"] == "suspect"]
    assert event["trigger"] == f"alert:{recorded['id']}"
    assert any(f"alert {recorded['id']}" in r["message"] for r in event["reasons"])

    recalls = (await returns.get("/recalls")).json()
    [entry] = recalls["items"]
    assert (entry["lot_id"], entry["provisional"], entry["to_recall"]) == (lot["id"], True, 4_000)

    refused = await admin.post(
        f"/lots/{lot['id']}/distributions",
        json={
            "destination": "Hospital C",
            "quantity": 10,
            "shipped_at": "2020-05-10T00:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
        },
    )
    assert refused.status_code == 409, refused.text

    matches = (await admin.get(f"/alerts/{recorded['id']}/matches")).json()
    [match] = matches["items"]
    assert (match["lot_id"], match["strength"], match["matched_by"], match["state"]) == (
        lot["id"],
        "strong",
        "certificate_number",
        "applied",
    )
    assert matches["next_cursor"] is None

    await factories.create(inspector, f"/lots/{lot['id']}/inspections", CONFIRMING_FAILURE)
    rejected = await lot_state(admin, lot["id"])
    assert rejected["status"] == "rejected"
    assert "signal_confirmed" in codes(rejected)
    assert rejected["quantities"]["to_recall"] == 4_000


async def test_a_fuzzy_maker_match_waits_for_review_and_changes_nothing_until_confirmed(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    maker = await factories.supplier(admin, name="Shenzhen Example Medical Co., Ltd.")
    lot = await accepted_distributed_lot(admin, supplier_id=maker["id"], model="KN-9501")
    body = alert_body(manufacturers=["SHENZHEN EXAMPLE MEDICAL CO LTD"], models=["KN 9501"])
    before = await viewer.get("/dashboard/summary")  # cached: the review must move it on
    assert before.json()["open_alert_reviews"] == 0
    recorded = await factories.create(inspector, "/alerts", body)
    assert recorded["matches"] == {"strong": 0, "weak": 1, "reopened": 0}
    assert (await lot_state(admin, lot["id"]))["status"] == "accepted"
    events_before = len(await history(admin, lot["id"]))
    summary = (await viewer.get("/dashboard/summary")).json()
    assert summary["open_alert_reviews"] == 1

    [match] = (await viewer.get(f"/alerts/{recorded['id']}/matches")).json()["items"]
    assert (match["strength"], match["matched_by"], match["state"]) == (
        "weak",
        "manufacturer",
        "pending_review",
    )
    assert match["score"] >= 85
    review = f"/alerts/{recorded['id']}/matches/{match['id']}/review"
    problem(await viewer.post(review, json={"decision": "confirm", "reason": "x"}), 403)
    confirmed = await inspector.post(
        review, json={"decision": "confirm", "reason": "Same maker and model as our lot"}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed"
    assert confirmed.json()["decided_by"] == "test-inspector"
    state = await lot_state(admin, lot["id"])
    assert state["status"] == "suspect"
    events = await history(admin, lot["id"])
    assert len(events) == events_before + 1
    assert events[-1]["trigger"] == f"alert:{recorded['id']}:review:{match['id']}"
    assert (await viewer.get("/dashboard/summary")).json()["open_alert_reviews"] == 0
    again = await inspector.post(review, json={"decision": "dismiss", "reason": "changed mind"})
    problem(again, 409)


async def test_a_dismissed_review_is_recorded_and_changes_nothing(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    maker = await factories.supplier(admin, name="Wuhan Kangda Protective Ltd")
    lot = await accepted_distributed_lot(admin, supplier_id=maker["id"])
    recorded = await factories.create(
        inspector, "/alerts", alert_body(manufacturers=["Kangda Protective (Wuhan)"])
    )
    [match] = (await admin.get(f"/alerts/{recorded['id']}/matches")).json()["items"]
    review = f"/alerts/{recorded['id']}/matches/{match['id']}/review"
    dismissed = await admin.post(review, json={"decision": "dismiss", "reason": "Other Kangda"})
    assert (dismissed.json()["state"], dismissed.json()["note"]) == ("dismissed", "Other Kangda")
    assert (await lot_state(admin, lot["id"]))["status"] == "accepted"


async def test_unrelated_makers_are_not_matched(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    maker = await factories.supplier(admin, name="Xiamen Clearair Industrial")
    await accepted_distributed_lot(admin, supplier_id=maker["id"])
    recorded = await factories.create(
        inspector, "/alerts", alert_body(manufacturers=["Guangzhou Powecom Labor Insurance"])
    )
    assert recorded["matches"] == {"strong": 0, "weak": 0, "reopened": 0}


async def test_a_lot_arriving_after_the_alert_is_matched_when_it_arrives(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    body = alert_body(gtins=[{"gtin": "4050598000582", "batch": "220706"}])
    recorded = await factories.create(inspector, "/alerts", body)
    assert recorded["matches"]["strong"] == 0
    lot = await factories.lot(admin, gs1="(01)04050598000582(10)220706(17)240504")
    assert lot["status"] == "suspect"
    assert "alert_signal" in codes(lot)
    other_batch = await factories.lot(admin, lot_number="LOT-2", gtin="04050598000582", batch="9")
    assert other_batch["status"] == "on_hold"


async def test_a_certificate_added_later_is_matched(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    body = {**alert_body(niosh_approval_numbers=["TC-84A-9221"]), "source": "counterfeit_list"}
    await factories.create(inspector, "/alerts", body)
    lot = await factories.lot(admin, product="N95", ordered_as="N95")
    certificate = {
        "type": "niosh_approval",
        "number": "84A-9221",
        "issuer": "NIOSH",
        "niosh_approval_number": "TC-84A-9221",
    }
    await factories.create(admin, f"/lots/{lot['id']}/certificates", certificate)
    assert (await lot_state(admin, lot["id"]))["status"] == "suspect"


async def test_a_notified_body_is_strong_only_when_its_certificates_are_withdrawn(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    lot = await accepted_distributed_lot(admin)
    weak = await factories.create(inspector, "/alerts", alert_body(notified_body_numbers=["2163"]))
    assert weak["matches"] == {"strong": 0, "weak": 1, "reopened": 0}
    withdrawn = {**alert_body(notified_body_numbers=["2163"]), "source": "authorisation_withdrawn"}
    strong = await factories.create(inspector, "/alerts", withdrawn)
    assert strong["matches"] == {"strong": 1, "weak": 0, "reopened": 1}
    assert (await lot_state(admin, lot["id"]))["status"] == "suspect"


async def test_alert_roles_and_bad_input(
    admin: httpx.AsyncClient,
    inspector: httpx.AsyncClient,
    returns: httpx.AsyncClient,
    viewer: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    body = alert_body(certificate_numbers=["X-1"])
    problem(await viewer.post("/alerts", json=body), 403)
    problem(await returns.post("/alerts", json=body), 403)
    problem(await anonymous.post("/api/v1/alerts", json=body), 401)
    assert (await admin.post("/alerts", json=body)).status_code == 201
    listed = (await viewer.get("/alerts")).json()
    assert [a["reference"] for a in listed["items"]] == ["EHA-2020-17"]
    nothing = problem(await inspector.post("/alerts", json=alert_body(models=["9501"])), 422)
    assert nothing["errors"]
    bad_gtin = alert_body(gtins=[{"gtin": "4050598000583"}])
    assert "body.names.gtins.0.gtin" in factories.fields(
        problem(await inspector.post("/alerts", json=bad_gtin), 422)
    )
    bad_source = {**body, "source": "rumour"}
    assert "body.source" in factories.fields(
        problem(await inspector.post("/alerts", json=bad_source), 422)
    )
    problem(await viewer.get("/alerts/999/matches"), 404)
    assert len((await viewer.get("/alerts")).json()["items"]) == 1


async def test_an_openfda_file_is_imported_and_re_opens_the_lot_it_names(
    admin: httpx.AsyncClient, inspector: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    named = await factories.lot(admin, gs1="(01)04050598000582(10)221122")
    other_batch = await factories.lot(admin, lot_number="LOT-2", gs1="(01)04050598000582(10)1")
    content = (FIXTURES / "openfda_device_enforcement.json").read_bytes()
    files = {"file": ("enforcement.json", content, "application/json")}
    refused = await viewer.post("/alerts/import", data={"format": "openfda"}, files=files)
    problem(refused, 403)
    response = await inspector.post("/alerts/import", data={"format": "openfda"}, files=files)
    assert response.status_code == 201, response.text
    recorded = response.json()["items"]
    assert [a["reference"] for a in recorded] == ["Z-1603-2023", "Z-0001-2023", "Z-0271-2023"]
    assert recorded[0]["matches"] == {"strong": 1, "weak": 0, "reopened": 1}
    assert (await lot_state(admin, named["id"]))["status"] == "suspect"
    assert (await lot_state(admin, other_batch["id"]))["status"] == "on_hold"


async def test_an_unreadable_alert_file_writes_nothing(inspector: httpx.AsyncClient) -> None:
    files = {
        "file": (
            "alerts.csv",
            b"source,issuing_body,published_on,text,gtins\n"
            b"regulator,X,2020-05-07,t,4050598000583\n",
            "text/csv",
        )
    }
    body = problem(await inspector.post("/alerts/import", data={"format": "csv"}, files=files), 422)
    assert [e["field"] for e in body["errors"]] == ["body.file.0.names.gtins.0.gtin"]
    assert (await inspector.get("/alerts")).json()["items"] == []
