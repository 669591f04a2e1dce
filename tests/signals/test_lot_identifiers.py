"""Lots carry what outside notices name: model, batch, GTIN, expiry; certificates a NIOSH
approval. Through the API, imports and the reject list."""

import csv
import io

import httpx

from tests.api import factories
from tests.api.factories import problem
from tests.api.imports_helpers import csv_file, post_import
from tests.api.lot_states import rejected_lot

SCAN = "(01)04050598000582(10)220706(17)240504"


async def test_a_label_scan_fills_gtin_batch_and_expiry(admin: httpx.AsyncClient) -> None:
    lot = await factories.lot(admin, gs1=SCAN, model="KN95-9501")
    assert (lot["gtin"], lot["batch"], lot["expiry"], lot["model"]) == (
        "04050598000582",
        "220706",
        "2024-05-04",
        "KN95-9501",
    )
    again = (await admin.get(f"/lots/{lot['id']}")).json()
    assert again["gtin"] == "04050598000582" and "gs1" not in again


async def test_a_gtin_is_stored_as_gtin_14(admin: httpx.AsyncClient) -> None:
    lot = await factories.lot(admin, gtin="4050598000582")
    assert lot["gtin"] == "04050598000582"


async def test_bad_identifiers_are_refused_naming_the_field(admin: httpx.AsyncClient) -> None:
    supplier = await factories.supplier(admin)
    for field, value in (("gtin", "4050598000583"), ("gs1", "(01)04050598000583(10)X")):
        response = await admin.post(
            "/lots", json=factories.lot_body(supplier["id"], **{field: value})
        )
        assert f"body.{field}" in factories.fields(problem(response, 422)), response.text
    disagreeing = factories.lot_body(supplier["id"], gs1=SCAN, batch="OTHER")
    body = problem(await admin.post("/lots", json=disagreeing), 422)
    assert "disagrees" in str(body)
    assert (await admin.get("/lots")).json()["items"] == []


async def test_certificates_carry_a_niosh_approval_number(admin: httpx.AsyncClient) -> None:
    lot = await factories.lot(admin, product="N95", ordered_as="N95")
    body = {"type": "niosh_approval", "number": "84A-9221", "issuer": "NIOSH"}
    created = await factories.create(
        admin, f"/lots/{lot['id']}/certificates", {**body, "niosh_approval_number": "tc-84a-9221"}
    )
    assert created["niosh_approval_number"] == "TC-84A-9221"
    bad = await admin.post(
        f"/lots/{lot['id']}/certificates", json={**body, "niosh_approval_number": "TC-84A-92"}
    )
    assert "body.niosh_approval_number" in factories.fields(problem(bad, 422))


async def test_lot_imports_take_the_identifiers(admin: httpx.AsyncClient) -> None:
    supplier = await factories.supplier(admin)
    header = ["lot_number", "supplier_id", "product", "ordered_as", "quantity", "received_at"]
    header += ["model", "gtin", "gs1"]
    base = [supplier["id"], "KN95", "FFP2", 1000, "2020-05-01T00:00:00Z"]
    rows = [["A", *base, "9501", "", SCAN], ["B", *base, "", "96385074", ""]]
    response = await post_import(admin, "lots", csv_file(header, rows))
    assert response.status_code == 201, response.text
    lots = {lot["lot_number"]: lot for lot in (await admin.get("/lots")).json()["items"]}
    assert (lots["A"]["gtin"], lots["A"]["batch"], lots["A"]["model"]) == (
        "04050598000582",
        "220706",
        "9501",
    )
    assert lots["B"]["gtin"] == "00000096385074"
    bad = [["C", *base, "", "96385075", ""]]
    refused = problem(await post_import(admin, "lots", csv_file(header, bad)), 422)
    assert "gtin" in str(refused)


async def test_the_reject_list_carries_the_identifiers(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    await rejected_lot(admin, gs1=SCAN, model="KN95-9501")
    response = await returns.get("/exports/reject-list", params={"format": "csv"})
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["model"], row["batch"], row["gtin"], row["expiry"]) == (
        "KN95-9501",
        "220706",
        "04050598000582",
        "2024-05-04",
    )
