"""The reject list: one row per lot the returns team must act on, in one streamed query.

Per-lot aggregates (certificates, last inspection) are correlated subqueries in
the same SELECT, answered from the lot_id indexes, so rows leave as soon as
they are read: no per-row queries, no grouping of the whole table first.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    String,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.certificates.models import Certificate
from app.inspections.models import Inspection
from app.lots.models import Lot
from app.quality.statuses import ON_REJECT_LIST
from app.suppliers.models import Supplier

COLUMNS = (
    "lot_id",
    "lot_number",
    "supplier",
    "manufacturer",
    "product",
    "ordered_as",
    "received_at",
    "quantity_received",
    "to_return",
    "to_recall",
    "returned_to_supplier",
    "status",
    "disposition",
    "reason_codes",
    "reasons",
    "certificates",
    "last_inspection_reference",
    "last_inspection_at",
    "model",
    "batch",
    "gtin",
    "expiry",
    "decided_at",
    "policy_version",
)

# Separators of the aggregated certificate text: ASCII record/unit separators, which the
# API's text fields never carry in practice and which are split off before any output.
FIELD_SEP = "\x1e"
ITEM_SEP = "\x1f"
LIST_SEP = "; "
# Reason messages contain "; " themselves.
REASONS_SEP = " | "


@dataclass(frozen=True)
class RejectListFilters:
    statuses: tuple[str, ...] = ON_REJECT_LIST
    dispositions: tuple[str, ...] = ()
    decided_from: datetime | None = None
    decided_to: datetime | None = None
    supplier_id: int | None = None
    manufacturer_id: int | None = None
    product: str | None = None


def _certificates_text(dialect_name: str) -> ColumnElement[Any]:
    item = Certificate.number + FIELD_SEP + Certificate.verification
    if dialect_name == "postgresql":
        aggregated = func.string_agg(item, aggregate_order_by(literal(ITEM_SEP), Certificate.id))
    else:  # SQLite: group_concat follows the lot_id index, i.e. id order within a lot
        aggregated = func.group_concat(item, ITEM_SEP)
    return select(aggregated).where(Certificate.lot_id == Lot.id).scalar_subquery()


def last_inspection(column: SQLColumnExpression[Any]) -> ScalarSelect[Any]:
    return (
        select(column)
        .where(Inspection.lot_id == Lot.id)
        .order_by(Inspection.performed_at.desc(), Inspection.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def inspection_reference() -> ColumnElement[str]:
    return func.coalesce(
        Inspection.report_number, literal("inspection ") + cast(Inspection.id, String)
    )


def supplier_name(supplier_id: SQLColumnExpression[Any]) -> ScalarSelect[Any]:
    return select(Supplier.name).where(Supplier.id == supplier_id).scalar_subquery()


def lot_conditions(filters: RejectListFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Lot.status.in_(filters.statuses)]
    if filters.dispositions:
        conditions.append(Lot.disposition.in_(filters.dispositions))
    if filters.decided_from is not None:
        conditions.append(Lot.decided_at >= filters.decided_from)
    if filters.decided_to is not None:
        conditions.append(Lot.decided_at < filters.decided_to)
    if filters.supplier_id is not None:
        conditions.append(Lot.supplier_id == filters.supplier_id)
    if filters.manufacturer_id is not None:
        conditions.append(Lot.manufacturer_id == filters.manufacturer_id)
    if filters.product is not None:
        conditions.append(Lot.product == filters.product)
    return conditions


def reject_list_query(filters: RejectListFilters, dialect_name: str) -> Select[*tuple[Any, ...]]:
    """Only scalar subqueries around one scan of lots in id order: no join or sort holds
    rows back, so the first rows leave while the last are still being read."""
    return (
        select(
            Lot.id,
            Lot.lot_number,
            supplier_name(Lot.supplier_id).label("supplier"),
            supplier_name(Lot.manufacturer_id).label("manufacturer"),
            Lot.product,
            Lot.ordered_as,
            Lot.received_at,
            Lot.quantity,
            Lot.to_return,
            Lot.to_recall,
            Lot.returned_to_supplier,
            Lot.status,
            Lot.disposition,
            Lot.reasons,
            _certificates_text(dialect_name).label("certificates"),
            last_inspection(inspection_reference()).label("last_inspection_reference"),
            last_inspection(Inspection.performed_at).label("last_inspection_at"),
            Lot.model,
            Lot.batch,
            Lot.gtin,
            Lot.expiry,
            Lot.decided_at,
            Lot.policy_version,
        )
        .where(*lot_conditions(filters))
        .order_by(Lot.id)
    )


def _certificates(text: str | None) -> list[dict[str, str]]:
    if not text:
        return []
    items = (item.split(FIELD_SEP, 1) for item in text.split(ITEM_SEP))
    return [{"number": number, "verification": verification} for number, verification in items]


def _codes(reasons: list[dict[str, Any]]) -> list[str]:
    """Each code once, in the decision's order (a code can back several reasons)."""
    return list(dict.fromkeys(r["code"] for r in reasons))


def json_row(row: Row[*tuple[Any, ...]]) -> tuple[Any, ...]:
    """Structured: reason codes, reasons and certificates as lists."""
    reasons = row.reasons or []
    return (
        *row[:13],
        _codes(reasons),
        [r["message"] for r in reasons],
        _certificates(row.certificates),
        *row[15:],
    )


def flat_row(row: Row[*tuple[Any, ...]]) -> tuple[Any, ...]:
    """One cell per column: codes and certificates ('number (verification)') joined with
    '; ', reasons in words with ' | '."""
    reasons = row.reasons or []
    certificates = _certificates(row.certificates)
    return (
        *row[:13],
        LIST_SEP.join(_codes(reasons)),
        REASONS_SEP.join(r["message"] for r in reasons),
        LIST_SEP.join(f"{c['number']} ({c['verification']})" for c in certificates),
        *row[15:],
    )
