"""Check every row of a file before anything is written; report each problem by line and column.

Rows go through the single-record endpoints' pydantic models, then set-based checks
against the database: one query per chunk of keys for all rows, never one per row.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.decisions.bulk import chunks
from app.id_lists import among
from app.imports.columns import (
    COLUMNS,
    DEFECT_PREFIX,
    ROW_MODELS,
    CertificateRow,
    ImportKind,
    InspectionRow,
    error_column,
    row_input,
)
from app.imports.files import Table
from app.lots.models import Lot
from app.lots.schemas import LotCreate
from app.quality.products import DEFECT_CODES
from app.suppliers.models import Supplier
from app.suppliers.schemas import SupplierRole

Progress = Callable[[int], Awaitable[None]]
PROGRESS_EVERY = 500


def row_error(line: int | None, column: str | None, reason: str) -> dict[str, Any]:
    where = "file" if line is None else f"file[{line}]"
    return {
        "field": f"{where}.{column}" if column else where,
        "line": line,
        "column": column,
        "reason": reason,
    }


@dataclass
class Checked:
    rows: list[tuple[int, BaseModel]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def check_header(kind: ImportKind, header: Sequence[str]) -> list[dict[str, Any]]:
    columns = COLUMNS[kind]
    known = {c.name for c in columns}
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            errors.append(row_error(1, f"#{position}", "a column without a name"))
        elif name in seen:
            errors.append(row_error(1, name, "this column appears twice"))
        elif name.startswith(DEFECT_PREFIX) and name not in known:
            errors.append(
                row_error(1, name, f"unknown defect code; allowed: {', '.join(DEFECT_CODES)}")
            )
        elif name not in known:
            allowed = ", ".join(c.name for c in columns)
            errors.append(
                row_error(1, name, f"unknown column for {kind.value}; allowed: {allowed}")
            )
        seen.add(name)
    for column in columns:
        if column.required and column.name not in seen:
            errors.append(row_error(1, column.name, "required column missing"))
    return errors


def _counts_above_sample(body: dict[str, Any], item_columns: list[str]) -> list[tuple[str, str]]:
    try:
        sample = int(body.get("sample_size", ""))
    except ValueError:
        return []
    found = []
    for defect, column in zip(body.get("defects", []), item_columns, strict=False):
        try:
            count = int(defect["count"])
        except ValueError:
            continue
        if count > sample:
            found.append((column, f"{count} {defect['code']} is more than the sample of {sample}"))
    return found


def _reason(error: Any) -> str:
    message = str(error["msg"])
    value = error.get("input")
    if error["type"] != "missing" and isinstance(value, str) and len(value) <= 60:
        return f"{message} (got {value!r})"
    return message


def _row_errors(
    kind: ImportKind, line: int, exc: ValidationError, body: dict[str, Any], items: list[str]
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        column = error_column(tuple(error["loc"]), items)
        precise = _counts_above_sample(body, items) if column is None else []
        if precise:
            errors.extend(row_error(line, c, reason) for c, reason in precise)
        else:
            errors.append(row_error(line, column, _reason(error)))
    return errors


@dataclass
class RowCounter:
    """Rows validated so far, read by the event loop while a worker thread validates."""

    rows: int = 0


def validate_rows(kind: ImportKind, table: Table, counter: RowCounter | None = None) -> Checked:
    """Each row through its model; rows that pass are kept, the others reported.

    CPU work without I/O: callers on the event loop run it in a thread (off_loop.validate).
    """
    model = ROW_MODELS[kind]
    header = table.header
    checked = Checked()
    for done, (line, cells) in enumerate(table.rows, start=1):
        if len(cells) > len(header) and any(cells[len(header) :]):
            checked.errors.append(row_error(line, None, "more cells than the header has columns"))
            continue
        values = {name: cell for name, cell in zip(header, cells, strict=False) if cell}
        body, items = row_input(kind, values)
        try:
            checked.rows.append((line, model.model_validate(body)))
        except ValidationError as exc:
            checked.errors.extend(_row_errors(kind, line, exc, body, items))
        if counter is not None and done % PROGRESS_EVERY == 0:
            counter.rows = done
    return checked


async def _suppliers(session: AsyncSession, ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for chunk in chunks(sorted(ids)):
        rows = await session.execute(
            select(Supplier.id, Supplier.roles).where(Supplier.id.in_(chunk))
        )
        found.update({row.id: list(row.roles) for row in rows})
    return found


async def _existing_lot_numbers(
    session: AsyncSession, supplier_ids: set[int], numbers: set[str]
) -> set[tuple[int, str]]:
    existing: set[tuple[int, str]] = set()
    for supplier_chunk in chunks(sorted(supplier_ids), 1_000):
        for number_chunk in chunks(sorted(numbers), 4_000):
            rows = await session.execute(
                select(Lot.supplier_id, Lot.lot_number).where(
                    Lot.supplier_id.in_(supplier_chunk), Lot.lot_number.in_(number_chunk)
                )
            )
            existing.update((row.supplier_id, row.lot_number) for row in rows)
    return existing


async def _check_lots(
    session: AsyncSession, rows: list[tuple[int, LotCreate]]
) -> list[dict[str, Any]]:
    parties = {lot.supplier_id for _, lot in rows}
    parties |= {lot.manufacturer_id for _, lot in rows if lot.manufacturer_id is not None}
    roles = await _suppliers(session, parties)
    supplier_ids = {lot.supplier_id for _, lot in rows if lot.supplier_id in roles}
    existing = await _existing_lot_numbers(
        session, supplier_ids, {lot.lot_number for _, lot in rows}
    )
    errors: list[dict[str, Any]] = []
    first_line: dict[tuple[int, str], int] = {}
    for line, lot in rows:
        if lot.supplier_id not in roles:
            errors.append(row_error(line, "supplier_id", f"no supplier with id {lot.supplier_id}"))
        manufacturer = lot.manufacturer_id
        if manufacturer is not None and manufacturer not in roles:
            errors.append(row_error(line, "manufacturer_id", f"no supplier with id {manufacturer}"))
        elif (
            manufacturer is not None and SupplierRole.manufacturer.value not in roles[manufacturer]
        ):
            errors.append(
                row_error(line, "manufacturer_id", f"supplier {manufacturer} is not a manufacturer")
            )
        key = (lot.supplier_id, lot.lot_number)
        if key in existing:
            errors.append(
                row_error(
                    line,
                    "lot_number",
                    f"supplier {lot.supplier_id} already has a lot numbered {lot.lot_number!r}",
                )
            )
        elif key in first_line:
            errors.append(
                row_error(
                    line,
                    "lot_number",
                    f"lot number {lot.lot_number!r} of supplier {lot.supplier_id} "
                    f"is also on line {first_line[key]}",
                )
            )
        else:
            first_line[key] = line
    return errors


async def lot_quantities(session: AsyncSession, lot_ids: set[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in chunks(sorted(lot_ids)):
        rows = await session.execute(
            select(Lot.id, Lot.quantity).where(among(session, Lot.id, chunk))
        )
        found.update({row.id: row.quantity for row in rows})
    return found


async def _check_lot_rows(
    session: AsyncSession, rows: list[tuple[int, InspectionRow | CertificateRow]]
) -> list[dict[str, Any]]:
    quantities = await lot_quantities(session, {row.lot_id for _, row in rows})
    errors: list[dict[str, Any]] = []
    for line, row in rows:
        quantity = quantities.get(row.lot_id)
        if quantity is None:
            errors.append(row_error(line, "lot_id", f"no lot with id {row.lot_id}"))
        elif isinstance(row, InspectionRow) and row.sample_size > quantity:
            errors.append(
                row_error(
                    line,
                    "sample_size",
                    f"sample of {row.sample_size} is larger than the lot of {quantity}",
                )
            )
    return errors


async def check_against_database(
    session: AsyncSession, kind: ImportKind, rows: list[tuple[int, BaseModel]]
) -> list[dict[str, Any]]:
    """Unknown suppliers and lots, lot numbers already used, samples larger than their lot."""
    if not rows:
        return []
    if kind == ImportKind.lots:
        return await _check_lots(session, cast(list[tuple[int, LotCreate]], rows))
    return await _check_lot_rows(
        session, cast(list[tuple[int, InspectionRow | CertificateRow]], rows)
    )


def by_line(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(errors, key=lambda e: (e["line"] or 0, e["column"] or ""))
