from fastapi import APIRouter, status

from app.auth.dependencies import AnyRole, InspectorRole, ReturnsRole
from app.decisions.service import refresh_decision
from app.deps import PolicyDep, SessionDep
from app.distributions import service
from app.distributions.schemas import (
    DistributionCreate,
    DistributionOut,
    SiteReturnCreate,
    SiteReturnOut,
)
from app.lots.service import get_lot, lock_lot
from app.paging import PAGED, Page, PageQuery
from app.schemas import EntityId

router = APIRouter(prefix="/lots/{lot_id:int}", tags=["distributions"])


@router.post(
    "/distributions", status_code=status.HTTP_201_CREATED, operation_id="create_distribution"
)
async def create_distribution(
    lot_id: EntityId,
    body: DistributionCreate,
    session: SessionDep,
    actor: InspectorRole,
    policy: PolicyDep,
) -> DistributionOut:
    lot = await lock_lot(session, lot_id)
    distribution = await service.distribute(session, actor, lot, body)
    await refresh_decision(
        session,
        lot,
        policy=policy,
        trigger=f"distribution.create:{distribution.id}",
        actor=actor.name,
    )
    return DistributionOut.model_validate(distribution)


@router.get("/distributions", operation_id="list_distributions", responses=PAGED)
async def list_distributions(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, page: PageQuery
) -> Page[DistributionOut]:
    """The lot's distributions, oldest first."""
    await get_lot(session, lot_id)
    return await service.list_distributions(session, lot_id, page)


@router.post(
    "/site-returns", status_code=status.HTTP_201_CREATED, operation_id="create_site_return"
)
async def create_site_return(
    lot_id: EntityId,
    body: SiteReturnCreate,
    session: SessionDep,
    actor: ReturnsRole,
    policy: PolicyDep,
) -> SiteReturnOut:
    lot = await lock_lot(session, lot_id)
    site_return = await service.record_site_return(session, actor, lot, body)
    await refresh_decision(
        session,
        lot,
        policy=policy,
        trigger=f"site_return.create:{site_return.id}",
        actor=actor.name,
    )
    return SiteReturnOut.model_validate(site_return)


@router.get("/site-returns", operation_id="list_site_returns", responses=PAGED)
async def list_site_returns(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, page: PageQuery
) -> Page[SiteReturnOut]:
    """What came back from, or was used up at, the lot's destinations, oldest first."""
    await get_lot(session, lot_id)
    return await service.list_site_returns(session, lot_id, page)
