"""Return authorisations as a spreadsheet: one row each, with lot number and supplier name."""

from typing import Any

from sqlalchemy import Row, Select

from app.lots.models import Lot
from app.returns.models import ReturnAuthorisation
from app.suppliers.models import Supplier

COLUMNS = (
    "return_id",
    "lot_id",
    "lot_number",
    "supplier_id",
    "supplier",
    "quantity",
    "carrier_reference",
    "claim_kind",
    "claim_amount",
    "claim_currency",
    "state",
    "opened_at",
    "shipped_at",
    "received_by_supplier_at",
    "closed_at",
    "cancelled_at",
    "created_by",
)


def export_query(filtered: Select[ReturnAuthorisation]) -> Select[*tuple[Any, ...]]:
    """The same filters and order as the list, with the columns above."""
    r = ReturnAuthorisation
    return (
        filtered.with_only_columns(
            r.id,
            r.lot_id,
            Lot.lot_number,
            r.supplier_id,
            Supplier.name,
            r.quantity,
            r.carrier_reference,
            r.claim_kind,
            r.claim_amount,
            r.claim_currency,
            r.state,
            r.opened_at,
            r.shipped_at,
            r.received_by_supplier_at,
            r.closed_at,
            r.cancelled_at,
            r.created_by,
        )
        .join_from(r, Lot, Lot.id == r.lot_id)
        .join(Supplier, Supplier.id == r.supplier_id)
    )


def export_row(row: Row[*tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(row)
