"""Signals through a real server process: an alert re-opens an accepted, distributed lot
(provisional recall, history naming the alert), a confirming failure rejects it, and a
complaint from a site it never reached is refused."""

from typing import Any

import httpx

from tests.live.server import LiveServer
from tests.signals.scenario import CERTIFICATE, CONFIRMING_FAILURE, PASSING_LAB, VISUAL, alert_body


def created(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_an_alert_re_opens_a_distributed_lot_over_http(live_server: LiveServer) -> None:
    with httpx.Client(
        base_url=f"{live_server.base_url}/api/v1", headers=live_server.admin_headers
    ) as admin:
        supplier = created(
            admin, "/suppliers", {"name": "Live Maker", "country": "CN", "roles": ["manufacturer"]}
        )
        lot = created(
            admin,
            "/lots",
            {
                "lot_number": "LIVE-1",
                "supplier_id": supplier["id"],
                "product": "FFP2",
                "ordered_as": "FFP2",
                "quantity": 10_000,
                "received_at": "2020-03-21T09:00:00Z",
                "gs1": "(01)04050598000582(10)LIVE1",
            },
        )
        path = f"/lots/{lot['id']}"
        created(admin, f"{path}/certificates", {**CERTIFICATE, "number": "LIVE-CERT-1"})
        created(admin, f"{path}/inspections", VISUAL)
        created(admin, f"{path}/inspections", PASSING_LAB)
        created(
            admin,
            f"{path}/distributions",
            {
                "destination": "Hospital A",
                "quantity": 2_500,
                "shipped_at": "2020-03-26T08:00:00Z",
                "intended_use": "healthcare_respiratory_protection",
            },
        )
        assert admin.get(path).json()["status"] == "accepted"

        refused = admin.post(
            f"{path}/complaints",
            json={
                "destination": "Hospital Z",
                "category": "odour",
                "units_affected": 1,
                "reporter": "x",
                "text": "y",
                "reported_at": "2020-04-01T00:00:00Z",
            },
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")

        alert = created(admin, "/alerts", alert_body(certificate_numbers=["LIVE-CERT-1"]))
        assert alert["matches"]["reopened"] == 1
        state = admin.get(path).json()
        assert (state["status"], state["quantities"]["to_recall"]) == ("suspect", 2_500)
        [entry] = admin.get("/recalls").json()["items"]
        assert (entry["lot_id"], entry["provisional"]) == (lot["id"], True)
        triggers = [event["trigger"] for event in admin.get(f"{path}/decisions").json()["items"]]
        assert f"alert:{alert['id']}" in triggers

        created(admin, f"{path}/inspections", CONFIRMING_FAILURE)
        assert admin.get(path).json()["status"] == "rejected"
