from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependencies import AnyRole, InspectorRole
from app.decisions.service import refresh_decision
from app.decisions.views import refresh_if_expired
from app.deps import PolicyDep, SessionDep
from app.lots import service
from app.lots.schemas import LotCreate, LotOut
from app.schemas import MAX_ID, EntityId

router = APIRouter(prefix="/lots", tags=["lots"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="create_lot")
async def create_lot(
    body: LotCreate, session: SessionDep, actor: InspectorRole, policy: PolicyDep
) -> LotOut:
    lot = await service.create_lot(session, actor, body)
    await refresh_decision(session, lot, policy=policy, trigger="lot.create", actor=actor.name)
    return service.lot_out(lot)


@router.get("", operation_id="list_lots")
async def list_lots(
    session: SessionDep,
    _actor: AnyRole,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> list[LotOut]:
    lots = await service.list_lots_page(session, limit=limit, after_id=after_id)
    return [service.lot_out(lot) for lot in lots]


@router.get("/{lot_id}", operation_id="get_lot")
async def get_lot(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, policy: PolicyDep
) -> LotOut:
    lot = await refresh_if_expired(session, await service.get_lot(session, lot_id), policy)
    return service.lot_out(lot)
