from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth.dependencies import AnyRole
from app.dashboard import service
from app.dashboard.etag import NOT_MODIFIED, IfNoneMatch, conditional
from app.dashboard.rollup import version_name
from app.dashboard.schemas import ScorecardPage, Summary
from app.deps import SessionDep
from app.errors import invalid
from app.lots.query import LotFilters, lot_filters
from app.paging import PageQuery, link_answered_page, paged_responses

router = APIRouter(tags=["dashboard"])

BY = ("source", "supplier")
Filters = Annotated[LotFilters, Depends(lot_filters)]


@router.get(
    "/dashboard/summary",
    operation_id="dashboard_summary",
    response_model=Summary,
    responses=NOT_MODIFIED,
)
async def dashboard_summary(
    request: Request,
    session: SessionDep,
    _actor: AnyRole,
    filters: Filters,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Lots and units by status and disposition, unit movements, rejection rates, the most
    frequent reasons and a weekly series, over the lots matching the filters."""
    # Made from lots alone (not suppliers or sources): filtered by product, only that
    # product's lots move it.
    return await conditional(
        session,
        request,
        if_none_match,
        lambda: service.summary(session, filters),
        version=version_name(filters.product),
        replica=True,
    )


@router.get(
    "/suppliers/scorecards",
    operation_id="supplier_scorecards",
    response_model=ScorecardPage,
    responses=paged_responses(NOT_MODIFIED),
)
async def supplier_scorecards(
    request: Request,
    session: SessionDep,
    _actor: AnyRole,
    filters: Filters,
    page: PageQuery,
    if_none_match: IfNoneMatch = None,
    by: Annotated[
        str,
        Query(
            max_length=20,
            description="source: one card per supplier and product; supplier: one per supplier",
            json_schema_extra={"enum": list(BY)},
        ),
    ] = "source",
    sort: Annotated[
        str, Query(max_length=30, json_schema_extra={"enum": list(service.SCORECARD_SORTS)})
    ] = "-lots_received",
) -> Response:
    """Per supplier (and product): lots received, accepted, restricted, rejected, the
    rejection rate, units to recall, and the sampling severity and discontinuation in force.
    Ties are broken by supplier id and product."""
    if by not in BY:
        raise invalid("query.by", f"must be one of: {', '.join(BY)}", allowed=list(BY))
    if sort not in service.SCORECARD_SORTS:
        raise invalid(
            "query.sort",
            f"must be one of: {', '.join(service.SCORECARD_SORTS)}",
            allowed=list(service.SCORECARD_SORTS),
        )

    async def cards() -> ScorecardPage:
        per_product = by == "source"
        return await service.scorecards(
            session, filters, per_product=per_product, sort=sort, page=page
        )

    answer = await conditional(session, request, if_none_match, cards, replica=True)
    return link_answered_page(request, answer)
