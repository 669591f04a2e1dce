from fastapi import APIRouter, status

from app.auth.dependencies import AnyRole, InspectorRole
from app.decisions.service import refresh_decision
from app.deps import PolicyDep, SessionDep
from app.inspections import service
from app.inspections.schemas import InspectionCreate, InspectionOut
from app.lots.service import get_lot, lock_lot
from app.paging import PAGED, Page, PageQuery
from app.schemas import EntityId

router = APIRouter(prefix="/lots/{lot_id:int}/inspections", tags=["inspections"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="add_inspection")
async def add_inspection(
    lot_id: EntityId,
    body: InspectionCreate,
    session: SessionDep,
    actor: InspectorRole,
    policy: PolicyDep,
) -> InspectionOut:
    lot = await lock_lot(session, lot_id)
    inspection = await service.add_inspection(session, actor, lot, body)
    await refresh_decision(
        session, lot, policy=policy, trigger=f"inspection.create:{inspection.id}", actor=actor.name
    )
    return service.inspection_out(inspection)


@router.get("", operation_id="list_inspections", responses=PAGED)
async def list_inspections(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, page: PageQuery
) -> Page[InspectionOut]:
    """The lot's inspections, by the time they were performed."""
    await get_lot(session, lot_id)
    return await service.list_inspections(session, lot_id, page)
