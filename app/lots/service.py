from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.decisions.service import LotRecord, stamp_source_state
from app.errors import Conflict, NotFound, invalid
from app.lots.models import Lot
from app.lots.query import LOT_ROWS
from app.lots.schemas import LotCreate, LotOut
from app.quality.quantities import MOVEMENTS, Quantities
from app.suppliers.models import Supplier
from app.suppliers.schemas import SupplierRole

_SHOWN_COLUMNS = tuple(name for name in LotOut.model_fields if name != "quantities")
_COUNTERS = (*MOVEMENTS, "to_recall", "to_return", "releasable")
_READ_COLUMNS = (*_SHOWN_COLUMNS, *_COUNTERS)


def lot_out(lot: LotRecord) -> LotOut:
    """A lot as the API shows it, from an ORM Lot or a row of the lots table."""
    # One validation per lot (pages hold hundreds); a row hands over its columns at once.
    return lot_out_of(
        lot._mapping if isinstance(lot, Row) else {c: getattr(lot, c) for c in _READ_COLUMNS}
    )


def lot_out_of(columns: Mapping[Any, Any]) -> LotOut:
    """A lot as the API shows it, from the columns of its row (by name)."""
    units = Quantities(received=columns["quantity"], **{m: columns[m] for m in MOVEMENTS})
    return LotOut.model_validate(
        {
            **columns,
            "quantities": {
                "received": units.received,
                "distributed": units.distributed,
                "site_returned": units.site_returned,
                "site_destroyed": units.site_destroyed,
                "site_consumed": units.site_consumed,
                "outstanding_at_sites": units.outstanding_at_sites,
                "on_hand": units.on_hand,
                "returned_to_supplier": units.returned_to_supplier,
                "to_recall": columns["to_recall"],
                "to_return": columns["to_return"],
                "releasable": columns["releasable"],
            },
        }
    )


_LOT_ROW_BY_ID = LOT_ROWS.where(Lot.__table__.c.id == bindparam("lot_id"))


async def read_lot(session: AsyncSession, lot_id: int) -> Row[Any]:
    """A lot to show (not to change): a row of the lots table, 404 if there is none."""
    connection = await session.connection()
    row: Row[Any] | None = (await connection.execute(_LOT_ROW_BY_ID, {"lot_id": lot_id})).first()
    if row is None:
        raise NotFound(f"Lot {lot_id} does not exist.")
    return row


def lot_snapshot(lot: Lot) -> dict[str, object]:
    return lot_out(lot).model_dump(mode="json")


async def get_lot(session: AsyncSession, lot_id: int) -> Lot:
    lot = await session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"Lot {lot_id} does not exist.")
    return lot


async def lock_lot(session: AsyncSession, lot_id: int) -> Lot:
    """Load a lot for writing: every write touching a lot is serialised on its row."""
    lot = await session.scalar(
        select(Lot)
        .where(Lot.id == lot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if lot is None:
        raise NotFound(f"Lot {lot_id} does not exist.")
    return lot


async def _check_parties(session: AsyncSession, data: LotCreate) -> None:
    if await session.get(Supplier, data.supplier_id) is None:
        raise invalid("body.supplier_id", f"no supplier with id {data.supplier_id}")
    if data.manufacturer_id is None:
        return
    manufacturer = await session.get(Supplier, data.manufacturer_id)
    if manufacturer is None:
        raise invalid("body.manufacturer_id", f"no supplier with id {data.manufacturer_id}")
    if SupplierRole.manufacturer.value not in manufacturer.roles:
        raise invalid(
            "body.manufacturer_id",
            f"supplier {manufacturer.id} ({manufacturer.name}) does not have the manufacturer role",
        )


async def create_lot(session: AsyncSession, actor: Actor, data: LotCreate) -> Lot:
    await _check_parties(session, data)
    duplicate = await session.scalar(
        select(Lot.id).where(Lot.supplier_id == data.supplier_id, Lot.lot_number == data.lot_number)
    )
    if duplicate is not None:
        raise Conflict(
            f"Supplier {data.supplier_id} already has a lot numbered {data.lot_number!r}.",
            errors=[{"field": "body.lot_number", "reason": "already used for this supplier"}],
            existing_lot_id=duplicate,
        )
    lot = Lot(**data.model_dump())
    session.add(lot)
    await stamp_source_state(session, lot)
    await session.flush()
    audit.record(session, actor, "lot.create", "lot", lot.id, after=lot_snapshot(lot))
    return lot
