"""On PostgreSQL the reject list's CSV comes from COPY: it must be the Python path's CSV.

Both paths export the same awkward data (formula starts, quotes, commas, CR/LF in
cells, empty strings, JSON null reasons, repeated codes, timestamps with and
without microseconds) with the same filters, and the bytes must be equal.
"""

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.exports.copy_csv import copy_csv
from app.exports.reject_list import COLUMNS, RejectListFilters, flat_row, reject_list_query
from app.exports.reject_list_copy import reject_list_copy_query
from app.exports.streaming import snapshot_chunks
from app.exports.tabular import ExportFormat, encode, neutralise
from app.inspections.models import Inspection
from app.lots.models import Lot
from app.suppliers.models import Supplier
from tests.api import factories, lot_states
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="COPY is PostgreSQL's: this runs in the PostgreSQL pass"
)

NAMES = [
    '=HYPERLINK("http://evil","x")',
    "+31 supplier",
    "-minus",
    "@sum",
    "\ttab first",
    "\rcarriage return first",
    'Acme, "Quoted"\r\nLine two\nthree',
    "Zoë Århus Médical",
    "",
]
REASONS = [
    {"code": "-dash_code", "message": 'first "quoted", with | a bar'},
    {"code": "b", "message": "second\nline"},
    {"code": "-dash_code", "message": "third; repeats the first code"},
]


async def _collect(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in body])


async def python_csv(engine: AsyncEngine, filters: RejectListFilters, excel: bool) -> bytes:
    chunks = snapshot_chunks(engine, reject_list_query(filters, "postgresql"), flat_row)
    return await _collect(encode(ExportFormat.csv, COLUMNS, chunks, excel=excel))


async def postgres_csv(engine: AsyncEngine, filters: RejectListFilters, excel: bool) -> bytes:
    query = reject_list_copy_query(filters)
    return await _collect(copy_csv(engine, query, excel=excel, limit_seconds=60))


def parsed(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def _awkward_lots(admin: httpx.AsyncClient, engine: AsyncEngine) -> list[dict[str, Any]]:
    lots = []
    for index, name in enumerate(NAMES):
        supplier = await factories.supplier(admin, name=f"Supplier {index}")
        lot = await lot_states.rejected_lot(
            admin, supplier_id=supplier["id"], lot_number=f"LOT-{index}"
        )
        lots.append(lot)
        async with engine.begin() as connection:
            await connection.execute(
                update(Supplier).where(Supplier.id == supplier["id"]).values(name=name)
            )
    suspect = await lot_states.suspect_lot(admin, lot_number="=SUSPECT", product="KN95")
    lots.append(suspect)
    for number in ("GB2626-2020-17", '=SUM(A1), "quoted"'):
        await factories.create(
            admin,
            f"/lots/{lots[0]['id']}/certificates",
            {"type": "test_report", "number": number, "issuer": "Lab", "standard": "GB 2626"},
        )
    changes: list[dict[str, Any]] = [
        {"reasons": None},  # JSON null
        {"reasons": []},
        {"reasons": REASONS, "policy_version": None, "ordered_as": ""},
        {"decided_at": datetime(2020, 4, 1, 12, 0, 0, 1, tzinfo=UTC)},
        {"decided_at": datetime(2020, 4, 1, 12, 0, 0, 0, tzinfo=UTC)},
        {"received_at": datetime(999, 1, 2, 3, 4, 5, 120000, tzinfo=UTC), "decided_at": None},
        {"lot_number": "-1", "product": "@P"},
    ]
    async with engine.begin() as connection:
        for lot, values in zip(lots, changes, strict=False):
            await connection.execute(update(Lot).where(Lot.id == lot["id"]).values(**values))
        # The last inspection of one lot without a report number, of another an empty one.
        for lot, report in ((lots[1], None), (lots[2], "")):
            last = (
                select(func.max(Inspection.id))
                .where(Inspection.lot_id == lot["id"])
                .scalar_subquery()
            )
            await connection.execute(
                update(Inspection).where(Inspection.id == last).values(report_number=report)
            )
    return lots


async def test_copy_writes_the_python_paths_csv(
    admin: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    lots = await _awkward_lots(admin, engine)
    filter_sets = [
        RejectListFilters(),
        RejectListFilters(statuses=("suspect",)),
        RejectListFilters(statuses=("rejected",), product="FFP2"),
        RejectListFilters(supplier_id=lots[6]["supplier_id"]),
        RejectListFilters(
            decided_from=datetime(2020, 4, 1, 12, tzinfo=UTC),
            decided_to=datetime(2020, 4, 1, 12, 0, 1, tzinfo=UTC),
        ),
        RejectListFilters(dispositions=("return_to_supplier", "hold")),
    ]
    for filters in filter_sets:
        for excel in (False, True):
            expected = await python_csv(engine, filters, excel)
            written = await postgres_csv(engine, filters, excel)
            assert parsed(written) == parsed(expected), filters
            assert written == expected, filters  # byte for byte, CRLF and quoting included
    everything = parsed(await postgres_csv(engine, RejectListFilters(), excel=False))
    assert len(everything) == 1 + len(lots)
    cells = [dict(zip(COLUMNS, row, strict=True)) for row in everything[1:]]
    assert [c["supplier"] for c in cells[: len(NAMES)]] == [neutralise(n) for n in NAMES]
    assert cells[0]["certificates"] == (
        'GB2626-2020-17 (unverified); =SUM(A1), "quoted" (unverified)'
    )
    assert (cells[2]["reason_codes"], cells[2]["reasons"]) == (
        "'-dash_code; b",
        'first "quoted", with | a bar | second\nline | third; repeats the first code',
    )
    assert cells[1]["last_inspection_reference"].startswith("inspection ")
    assert cells[3]["decided_at"] == "2020-04-01T12:00:00.000001+00:00"
    assert cells[4]["decided_at"] == "2020-04-01T12:00:00+00:00"
    assert cells[5]["received_at"] == "0999-01-02T03:04:05.120000+00:00"
    assert cells[-1]["lot_number"] == "'=SUSPECT"


async def test_an_abandoned_copy_frees_its_connection(engine: AsyncEngine) -> None:
    """A client that goes away mid-export: the COPY stops and its connection is dropped."""
    numbers = select(func.generate_series(1, 2_000_000).label("n"))
    body = copy_csv(engine, numbers, excel=True, limit_seconds=60)
    assert await anext(body) == b"\xef\xbb\xbf"
    assert (await anext(body)).startswith(b"n\r\n1\r\n2\r\n")
    await body.aclose()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    few = select(func.generate_series(1, 3).label("n"))
    again = await _collect(copy_csv(engine, few, excel=False, limit_seconds=60))
    assert again == b"n\r\n1\r\n2\r\n3\r\n"
