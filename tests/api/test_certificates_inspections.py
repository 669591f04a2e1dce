import httpx

from tests.api import factories
from tests.api.factories import fields, problem

EU_TYPE_EXAM = {
    "type": "eu_type_examination",
    "number": "2163-PPE-1234",
    "issuer": "Example Notified Body",
    "notified_body_number": "2163",
    "standard": "EN 149:2001+A1:2009",
    "valid_from": "2019-01-01",
    "valid_until": "2024-01-01",
    "file_sha256": "a" * 64,
}


async def test_certificate_round_trip_and_verification(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(inspector)
    created = await factories.create(inspector, f"/lots/{lot['id']}/certificates", EU_TYPE_EXAM)
    assert created["verification"] == "unverified" and created["verified_at"] is None
    assert created["version"] == 1
    path = f"/lots/{lot['id']}/certificates/{created['id']}/verification"
    body = {"verification": "verified", "verified_by": "J. de Vries", "method": "NANDO lookup"}
    missing = problem(await inspector.put(path, json=body), 428)
    assert missing["current_etag"] == '"1"'
    response = await inspector.put(path, json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    verified = response.json()
    assert verified["verification"] == "verified" and verified["version"] == 2
    stale = problem(await inspector.put(path, json=body, headers={"If-Match": '"1"'}), 412)
    assert (stale["current_etag"], stale["current_version"]) == ('"2"', 2)
    assert verified["method"] == "NANDO lookup" and verified["verified_at"] is not None
    listed = (await inspector.get(f"/lots/{lot['id']}/certificates")).json()["items"]
    assert listed == [verified]


async def test_certificate_validation(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(inspector)
    path = f"/lots/{lot['id']}/certificates"
    cases = {
        "body.notified_body_number": {**EU_TYPE_EXAM, "notified_body_number": "123"},
        "body.type": {**EU_TYPE_EXAM, "type": "gold_star"},
        "body.file_sha256": {**EU_TYPE_EXAM, "file_sha256": "xyz"},
    }
    for field, body in cases.items():
        assert field in fields(problem(await inspector.post(path, json=body), 422)), field
    backwards = {**EU_TYPE_EXAM, "valid_from": "2025-01-01", "valid_until": "2024-01-01"}
    assert "valid_until" in problem(await inspector.post(path, json=backwards), 422)["detail"]
    unsigned = {**EU_TYPE_EXAM, "verification": "verified"}
    assert "verified_by" in problem(await inspector.post(path, json=unsigned), 422)["detail"]
    assert (await inspector.get(path)).json()["items"] == []


async def test_certificate_on_unknown_lot_is_404(inspector: httpx.AsyncClient) -> None:
    problem(await inspector.post("/lots/77/certificates", json=EU_TYPE_EXAM), 404)
    problem(await inspector.get("/lots/77/certificates"), 404)
    problem(
        await inspector.put(
            "/lots/77/certificates/1/verification", json={"verification": "unverified"}
        ),
        404,
    )


LAB_RESULT = {
    "kind": "lab",
    "sample_size": 20,
    "performed_at": "2020-03-24T10:00:00Z",
    "inspector": "Lab technician",
    "lab": "Example Lab",
    "report_number": "R-1",
    "defects": [{"code": "membrane_fault", "count": 3}],
    "measurements": [{"characteristic": "filtration_efficiency_pct", "value": 81.0}],
}


async def test_inspection_round_trip(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(inspector)
    created = await factories.create(inspector, f"/lots/{lot['id']}/inspections", LAB_RESULT)
    assert created["defects"] == [{"code": "membrane_fault", "count": 3}]
    assert created["measurements"] == [
        {"characteristic": "filtration_efficiency_pct", "value": 81.0}
    ]
    assert created["confirms"] is False
    listed = (await inspector.get(f"/lots/{lot['id']}/inspections")).json()["items"]
    assert listed == [created]


async def test_inspection_validation(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(inspector, quantity=10)
    path = f"/lots/{lot['id']}/inspections"
    too_many = {**LAB_RESULT, "sample_size": 2, "defects": [{"code": "poor_fit", "count": 3}]}
    assert (
        "more than the sample" in problem(await inspector.post(path, json=too_many), 422)["detail"]
    )
    bigger_than_lot = {**LAB_RESULT, "sample_size": 11, "defects": []}
    assert fields(problem(await inspector.post(path, json=bigger_than_lot), 422)) == {
        "body.sample_size"
    }
    bad_code = {**LAB_RESULT, "defects": [{"code": "smudge", "count": 1}]}
    body = problem(await inspector.post(path, json=bad_code), 422)
    assert fields(body) == {"body.defects.0.code"}
    assert "membrane_fault" in body["errors"][0]["reason"]
    bad_pct = {
        **LAB_RESULT,
        "measurements": [{"characteristic": "filtration_efficiency_pct", "value": 101}],
    }
    assert "percentage" in problem(await inspector.post(path, json=bad_pct), 422)["detail"]
    zero_sample = {**LAB_RESULT, "sample_size": 0}
    assert fields(problem(await inspector.post(path, json=zero_sample), 422)) == {
        "body.sample_size"
    }
    assert (await inspector.get(path)).json()["items"] == []


async def test_a_measurement_of_true_or_false_is_refused(inspector: httpx.AsyncClient) -> None:
    lot = await factories.lot(inspector)
    path = f"/lots/{lot['id']}/inspections"
    for flag in (False, True):
        measured = [{"characteristic": "filtration_efficiency_pct", "value": flag}]
        body = problem(
            await inspector.post(path, json={**LAB_RESULT, "measurements": measured}), 422
        )
        assert fields(body) == {"body.measurements.0.value"}, body
    counted = {**LAB_RESULT, "defects": [{"code": "membrane_fault", "count": False}]}
    body = problem(await inspector.post(path, json=counted), 422)
    assert fields(body) == {"body.defects.0.count"}, body
    body = problem(await inspector.post(path, json={**LAB_RESULT, "sample_size": True}), 422)
    assert fields(body) == {"body.sample_size"}, body
    assert (await inspector.get(path)).json()["items"] == []
