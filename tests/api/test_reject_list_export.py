"""The reject list export: formats, filters, quoting, formula neutralisation, roles."""

import csv
import io
import json
from typing import Any

import httpx
from openpyxl import load_workbook

from app.exports.reject_list import COLUMNS
from tests.api import factories, lot_states
from tests.api.factories import fields, problem

CERTIFICATE = {
    "type": "test_report",
    "number": "GB2626-2020-17",
    "issuer": "Guangzhou test centre",
    "standard": "GB 2626-2006",
}


async def export(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    response = await client.get("/exports/reject-list", params=params)
    assert response.status_code == 200, response.text
    return response


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def test_csv_default_row_per_lot(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    manufacturer = await factories.supplier(admin, name="Maker Co")
    lot = await lot_states.suspect_lot(
        admin, shipments={"UMC": 100}, manufacturer_id=manufacturer["id"]
    )
    await factories.create(admin, f"/lots/{lot['id']}/certificates", CERTIFICATE)
    await lot_states.confirm_rejection(admin, lot["id"])
    response = await export(returns)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="reject-list-20') and disposition.endswith(
        '.csv"'
    )
    assert not response.content.startswith(b"\xef\xbb\xbf")
    assert response.content.splitlines()[0].decode() == ",".join(COLUMNS)
    assert b"\r\n" in response.content
    [row] = csv_rows(response)
    assert row == {
        **row,
        "lot_id": str(lot["id"]),
        "lot_number": "LOT-001",
        "supplier": "Shenzhen Example Medical",
        "manufacturer": "Maker Co",
        "product": "FFP2",
        "received_at": "2020-03-21T09:00:00+00:00",
        "quantity_received": "10000",
        "to_return": "9900",
        "to_recall": "100",
        "returned_to_supplier": "0",
        "status": "rejected",
        "disposition": "recall_and_return",
        "certificates": "GB2626-2020-17 (unverified)",
        "last_inspection_reference": "R-2",
        "last_inspection_at": "2020-03-27T10:00:00+00:00",
        "policy_version": "2026-11-default",
    }
    codes = row["reason_codes"].split("; ")
    assert "whole_lot_rejected" in codes and len(codes) == len(set(codes))
    assert "Whole lot rejected" in row["reasons"] and " | " in row["reasons"]
    assert row["decided_at"].startswith("20")


async def test_json_and_xlsx_carry_the_same_rows(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    lot = await lot_states.rejected_lot(admin)
    await factories.create(admin, f"/lots/{lot['id']}/certificates", CERTIFICATE)
    await factories.create(
        admin, f"/lots/{lot['id']}/certificates", {**CERTIFICATE, "number": "=SUM(A1)"}
    )
    as_json = await export(returns, format="json")
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.headers["content-disposition"].endswith('.json"')
    [item] = json.loads(as_json.content)
    assert list(item) == list(COLUMNS)
    assert item["certificates"] == [
        {"number": "GB2626-2020-17", "verification": "unverified"},
        {"number": "=SUM(A1)", "verification": "unverified"},
    ]
    assert "whole_lot_rejected" in item["reason_codes"]
    assert any("Whole lot rejected" in reason for reason in item["reasons"])
    assert item["quantity_received"] == 10_000

    as_xlsx = await export(returns, format="xlsx")
    assert as_xlsx.headers["content-disposition"].endswith('.xlsx"')
    assert as_xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True)["reject-list"]
    header, row = list(sheet.iter_rows(values_only=True))
    assert header == COLUMNS
    cells = dict(zip(header, row, strict=True))
    assert cells["quantity_received"] == 10_000  # numbers stay numbers
    assert cells["certificates"] == "GB2626-2020-17 (unverified); =SUM(A1) (unverified)"
    assert cells["lot_number"] == "LOT-001"


async def test_empty_export_in_each_format(returns: httpx.AsyncClient) -> None:
    assert (await export(returns)).content.decode().splitlines() == [",".join(COLUMNS)]
    assert json.loads((await export(returns, format="json")).content) == []
    sheet = load_workbook(io.BytesIO((await export(returns, format="xlsx")).content)).active
    assert sheet is not None
    assert [tuple(r) for r in sheet.iter_rows(values_only=True)] == [COLUMNS]


async def test_formulas_are_neutralised_and_quoting_holds(
    admin: httpx.AsyncClient, returns: httpx.AsyncClient
) -> None:
    names = {
        '=HYPERLINK("http://evil","x")': '\'=HYPERLINK("http://evil","x")',
        "+31 supplier": "'+31 supplier",
        "-minus": "'-minus",
        "@sum": "'@sum",
        'Acme, "Quoted"\nLine two': 'Acme, "Quoted"\nLine two',
        "Zoë Århus Médical": "Zoë Århus Médical",
    }
    made = {}
    for name in names:
        supplier = await factories.supplier(admin, name=name)
        made[name] = await lot_states.rejected_lot(admin, supplier_id=supplier["id"])
    rows = csv_rows(await export(returns))
    assert {r["supplier"] for r in rows} == set(names.values())
    assert all(r["quantity_received"] == "10000" for r in rows)  # numbers untouched
    raw = (await export(returns)).content.decode()
    assert '"Acme, ""Quoted""\nLine two"' in raw
    assert '"\'=HYPERLINK(""http://evil"",""x"")"' in raw

    sheet = load_workbook(io.BytesIO((await export(returns, format="xlsx")).content)).active
    assert sheet is not None
    column = COLUMNS.index("supplier") + 1
    cells = [sheet.cell(row=i, column=column) for i in range(2, sheet.max_row + 1)]
    assert {c.value for c in cells} == set(names.values())
    assert all(c.data_type == "s" for c in cells)  # no formula cell

    exact = json.loads((await export(returns, format="json")).content)
    assert {r["supplier"] for r in exact} == set(names)


async def test_excel_flag_adds_a_bom(admin: httpx.AsyncClient, returns: httpx.AsyncClient) -> None:
    supplier = await factories.supplier(admin, name="Zoë Médical")
    await lot_states.rejected_lot(admin, supplier_id=supplier["id"])
    body = (await export(returns, excel="true")).content
    assert body.startswith(b"\xef\xbb\xbf" + b"lot_id,")
    assert "Zoë Médical" in body.decode("utf-8-sig")


async def test_filters(admin: httpx.AsyncClient, returns: httpx.AsyncClient) -> None:
    maker = await factories.supplier(admin, name="Maker")
    other = await factories.supplier(admin, name="Other supplier")
    rejected = await lot_states.rejected_lot(admin, lot_number="REJ", manufacturer_id=maker["id"])
    suspect = await lot_states.suspect_lot(
        admin, lot_number="SUS", supplier_id=other["id"], product="KN95", ordered_as="KN95"
    )
    await factories.lot(admin, other["id"], lot_number="HELD")  # on hold: never listed

    async def lots(**params: Any) -> list[str]:
        return [r["lot_number"] for r in csv_rows(await export(returns, **params))]

    assert await lots() == ["REJ", "SUS"]
    assert await lots(status="rejected") == ["REJ"]
    assert await lots(status=["suspect", "rejected"]) == ["REJ", "SUS"]
    assert await lots(status="restricted") == []
    assert await lots(disposition="recall_and_return") == []
    assert await lots(disposition=["return_to_supplier", "hold"]) == ["REJ", "SUS"]
    assert await lots(disposition="hold") == ["SUS"]
    assert await lots(supplier_id=other["id"]) == ["SUS"]
    assert await lots(manufacturer_id=maker["id"]) == ["REJ"]
    assert await lots(product="KN95") == ["SUS"]
    decided = {r["lot_number"]: r["decided_at"] for r in csv_rows(await export(returns))}
    assert await lots(decided_from=decided["SUS"]) == (
        ["REJ", "SUS"] if decided["REJ"] >= decided["SUS"] else ["SUS"]
    )
    assert await lots(decided_to=decided["REJ"]) == (
        [] if decided["REJ"] <= decided["SUS"] else ["SUS"]
    )
    assert await lots(decided_from="2000-01-01T00:00:00Z", decided_to="2001-01-01T00:00:00Z") == []
    assert rejected["id"] < suspect["id"]


async def test_bad_parameters_are_problems_before_streaming(
    returns: httpx.AsyncClient,
) -> None:
    cases = {
        "query.format": {"format": "pdf"},
        "query.status": {"status": "accepted"},
        "query.disposition": {"disposition": "burn"},
        "query.product": {"product": "FFP9"},
        "query.supplier_id": {"supplier_id": "0"},
        "query.decided_from": {"decided_from": "yesterday"},
        "query.decided_to": {
            "decided_from": "2020-02-01T00:00:00Z",
            "decided_to": "2020-01-01T00:00:00Z",
        },
    }
    for field, params in cases.items():
        body = problem(await returns.get("/exports/reject-list", params=params), 422)
        assert field in fields(body), body


async def test_only_returns_and_admin_export(
    admin: httpx.AsyncClient,
    inspector: httpx.AsyncClient,
    viewer: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    for client in (inspector, viewer):
        assert problem(await client.get("/exports/reject-list"), 403)["allowed_roles"] == [
            "admin",
            "returns",
        ]
    problem(await anonymous.get("/api/v1/exports/reject-list"), 401)
    assert (await admin.get("/exports/reject-list")).status_code == 200
