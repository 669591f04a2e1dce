from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.auth.dependencies import AnyRole, InspectorRole
from app.dashboard.etag import NOT_MODIFIED, IfNoneMatch, conditional
from app.dashboard.rollup import version_name
from app.decisions.service import refresh_decision
from app.decisions.views import refresh_if_expired
from app.deps import PolicyDep, SessionDep
from app.lots import service
from app.lots.query import SORTS, LotFilters, lot_filters, lot_page
from app.lots.schemas import LotCreate, LotOut, LotPage
from app.paging import PageQuery, link_answered_page, paged_responses
from app.schemas import EntityId
from app.signals.alerts import match_new_lots

router = APIRouter(prefix="/lots", tags=["lots"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="create_lot")
async def create_lot(
    body: LotCreate, session: SessionDep, actor: InspectorRole, policy: PolicyDep
) -> LotOut:
    lot = await service.create_lot(session, actor, body)
    await match_new_lots(session, [lot.id])
    await refresh_decision(session, lot, policy=policy, trigger="lot.create", actor=actor.name)
    return service.lot_out(lot)


@router.get(
    "",
    operation_id="list_lots",
    response_model=LotPage,
    responses=paged_responses(NOT_MODIFIED),
)
async def list_lots(
    request: Request,
    session: SessionDep,
    _actor: AnyRole,
    filters: Annotated[LotFilters, Depends(lot_filters)],
    page: PageQuery,
    if_none_match: IfNoneMatch = None,
    sort: Annotated[
        str,
        Query(
            max_length=20,
            description="received_at or decided_at; prefix - for descending. "
            "A NULL decided_at sorts before every time.",
            json_schema_extra={"enum": list(SORTS)},
        ),
    ] = "-received_at",
) -> Response:
    """Lots matching the filters, one keyset page at a time."""

    async def lots() -> LotPage:
        rows = await lot_page(session, filters, sort=sort, page=page)
        return LotPage(
            items=[service.lot_out(lot) for lot in rows.lots], next_cursor=rows.next_cursor
        )

    # Lots are all a page shows: filtered by product, only that product's lots move it.
    version = version_name(filters.product)
    answer = await conditional(session, request, if_none_match, lots, version=version, replica=True)
    return link_answered_page(request, answer)


@router.get(
    "/{lot_id:int}",
    operation_id="get_lot",
    response_model=LotOut,
    responses=NOT_MODIFIED,
)
async def get_lot(
    lot_id: EntityId,
    request: Request,
    session: SessionDep,
    _actor: AnyRole,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One lot, with an ETag: polling it with If-None-Match costs a 304 while nothing
    changed. (If-None-Match: * is answered in full: a 304 would claim the lot exists
    before it was read.)"""

    async def lot() -> LotOut:
        # The policy is read from the app only when a concession has run out: every
        # dependency costs FastAPI time on every request, and dashboards poll this route.
        row = await service.read_lot(session, lot_id)
        return service.lot_out(await refresh_if_expired(session, row, request.app.state.policy))

    tags = None if if_none_match is None or "*" in if_none_match else if_none_match
    return await conditional(session, request, tags, lot, cache=False)
