"""Building import files and waiting for import jobs in tests."""

import asyncio
import csv
import io
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI
from openpyxl import Workbook

from app.imports.runners import ImportRunner, InProcessRunner

INSPECTION_HEADER = [
    "lot_id",
    "kind",
    "sample_size",
    "performed_at",
    "inspector",
    "lab",
    "report_number",
    "defect_membrane_fault",
    "filtration_efficiency_pct",
    "total_inward_leakage_pct",
]
LOT_HEADER = ["lot_number", "supplier_id", "product", "ordered_as", "quantity", "received_at"]
CERTIFICATE_HEADER = [
    "lot_id",
    "type",
    "number",
    "issuer",
    "notified_body_number",
    "standard",
    "valid_from",
    "valid_until",
]
POLLS = 4_000  # a bound for a broken worker, not a time limit on a working one


def csv_file(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def xlsx_file(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def lab_row(
    lot_id: int, filtration: float, header: Sequence[str] = INSPECTION_HEADER, **overrides: Any
) -> list[object]:
    values = {
        "lot_id": lot_id,
        "kind": "lab",
        "sample_size": 20,
        "performed_at": "2020-03-24T10:00:00Z",
        "inspector": "Example Lab",
        "lab": "Example Lab",
        "report_number": f"R-{lot_id}",
        "defect_membrane_fault": "",
        "filtration_efficiency_pct": filtration,
        "total_inward_leakage_pct": 3,
        "confirms": "",
        **overrides,
    }
    return [values[name] for name in header]


async def post_import(
    client: httpx.AsyncClient,
    kind: str,
    content: bytes,
    *,
    filename: str = "upload.csv",
    force: bool | None = None,
) -> httpx.Response:
    data = {"kind": kind}
    if force is not None:
        data["force"] = "true" if force else "false"
    return await client.post("/imports", data=data, files={"file": (filename, content)})


def runner(app: FastAPI) -> ImportRunner:
    current: ImportRunner = app.state.import_runner
    return current


async def settle(client: httpx.AsyncClient, app: FastAPI, import_id: int) -> dict[str, Any]:
    """The import once it is done or failed."""
    current = runner(app)
    if isinstance(current, InProcessRunner):
        await current.wait()
    for _ in range(POLLS):
        response = await client.get(f"/imports/{import_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["state"] in ("done", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"import {import_id} never finished: {body}")
