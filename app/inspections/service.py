from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.errors import invalid
from app.inspections.models import Inspection
from app.inspections.schemas import InspectionCreate, InspectionKind, InspectionOut
from app.lots.models import Lot
from app.paging import Keyset, Page, PageParams, keyset_page


def inspection_out(inspection: Inspection) -> InspectionOut:
    return InspectionOut(
        id=inspection.id,
        lot_id=inspection.lot_id,
        kind=InspectionKind(inspection.kind),
        sample_size=inspection.sample_size,
        performed_at=inspection.performed_at,
        inspector=inspection.inspector,
        lab=inspection.lab,
        report_number=inspection.report_number,
        confirms=inspection.confirms,
        defects=[{"code": c, "count": n} for c, n in inspection.defects.items()],
        measurements=[
            {"characteristic": c, "value": v} for c, v in inspection.measurements.items()
        ],
        created_at=inspection.created_at,
    )


def inspection_values(lot_id: int, data: InspectionCreate) -> dict[str, Any]:
    """The inspections row for a validated request (also used by bulk imports)."""
    return {
        "lot_id": lot_id,
        "kind": data.kind.value,
        "sample_size": data.sample_size,
        "performed_at": data.performed_at,
        "inspector": data.inspector,
        "lab": data.lab,
        "report_number": data.report_number,
        "confirms": data.confirms,
        "defects": {d.code: d.count for d in data.defects},
        "measurements": {m.characteristic: m.value for m in data.measurements},
    }


async def add_inspection(
    session: AsyncSession, actor: Actor, lot: Lot, data: InspectionCreate
) -> Inspection:
    if data.sample_size > lot.quantity:
        raise invalid(
            "body.sample_size",
            f"sample of {data.sample_size} is larger than the lot of {lot.quantity}",
        )
    inspection = Inspection(**inspection_values(lot.id, data))
    session.add(inspection)
    await session.flush()
    audit.record(
        session,
        actor,
        "inspection.create",
        "inspection",
        inspection.id,
        after=inspection_out(inspection).model_dump(mode="json"),
    )
    return inspection


BY_PERFORMED_AT = Keyset((Inspection.performed_at, Inspection.id))


async def list_inspections(
    session: AsyncSession, lot_id: int, page: PageParams
) -> Page[InspectionOut]:
    query = select(Inspection).where(Inspection.lot_id == lot_id)
    return await keyset_page(session, query, BY_PERFORMED_AT, page, inspection_out)
