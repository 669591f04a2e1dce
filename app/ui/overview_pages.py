"""Suppliers' scorecards, the summary with its weekly chart, the reject-list files."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.auth.models import Role
from app.dashboard.rollup import version_name
from app.dashboard.schemas import ScorecardPage, Summary
from app.dashboard.service import scorecards, summary
from app.deps import SessionDep
from app.errors import Forbidden
from app.exports.reject_list import RejectListFilters
from app.exports.router import reject_list_response
from app.exports.tabular import ExportFormat
from app.lots.query import LotFilters
from app.ui.cached import cached
from app.ui.chart import weekly_chart
from app.ui.rendering import PageRoute, SignedIn, page_of, query_with, render

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)

CARDS_PER_PAGE = 50


def switching_state(severity: str, discontinued: bool) -> str:
    return "discontinued" if discontinued else severity


@router.get("/suppliers", name="ui_suppliers")
async def suppliers_page(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
) -> Response:
    async def page() -> ScorecardPage:
        return await scorecards(
            session,
            LotFilters(),
            per_product=True,
            sort="-lots_received",
            page=page_of(request, CARDS_PER_PAGE, cursor),
        )

    # Scorecards show suppliers and sampling states too: the default version, as the API's.
    answer = await cached(session, request, ScorecardPage, page)
    return render(
        request,
        "suppliers.html",
        {
            "cards": answer.items,
            "total": answer.total,
            "first": cursor is None,
            "switching_state": switching_state,
            "next_query": (
                query_with(request, cursor=answer.next_cursor) if answer.next_cursor else None
            ),
        },
        visitor=visitor,
    )


@router.get("/summary", name="ui_summary")
async def summary_page(request: Request, session: SessionDep, visitor: SignedIn) -> Response:
    filters = LotFilters()
    answer = await cached(
        session,
        request,
        Summary,
        lambda: summary(session, filters),
        version=version_name(filters.product),
    )
    return render(
        request,
        "summary.html",
        {"summary": answer, "chart": weekly_chart(answer.weekly)},
        visitor=visitor,
    )


@router.get("/exports/reject-list", name="ui_reject_list")
async def reject_list_file(
    request: Request, visitor: SignedIn, format: ExportFormat = ExportFormat.csv
) -> StreamingResponse:
    """The same file as GET /api/v1/exports/reject-list (every lot rejected, suspect or
    restricted), for the roles that may fetch it there."""
    if not visitor.may_export:
        raise Forbidden(
            f"Your key's role ({visitor.actor.role.value}) may not export the reject list; "
            f"a {Role.returns.value} or {Role.admin.value} key may."
        )
    return await reject_list_response(request, RejectListFilters(), format, excel=False)
