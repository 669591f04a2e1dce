"""The lot list and a lot's page: the same services as GET /lots and /lots/{id}/..."""

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response

from app.dashboard.service import grouped_totals
from app.decisions.service import lot_evidence, lot_facts
from app.decisions.views import decision_history, decision_out, refresh_if_expired
from app.deps import PolicyDep, SessionDep
from app.errors import ProblemError
from app.inspections.service import inspection_out
from app.lots.query import DISPOSITIONS, STATUSES, lot_page
from app.lots.service import get_lot, lot_out
from app.paging import MAX_LIMIT
from app.quality.certificates import red_flags
from app.quality.decision import visual_sampled
from app.quality.products import PRODUCT_CODES
from app.schemas import EntityId
from app.suppliers.service import get_supplier
from app.ui.forms import PAGE_SIZE, LotListQuery, lot_list_query
from app.ui.rendering import PageRoute, SignedIn, page_of, query_with, render

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)

SORT_LABELS = {
    "-received_at": "Received, newest first",
    "received_at": "Received, oldest first",
    "-decided_at": "Decided, newest first (undecided last)",
    "decided_at": "Decided, oldest first (undecided first)",
}


async def _status_counts(session: SessionDep, query: LotListQuery) -> dict[str, int]:
    """Lots per status under the other filters, so each count can be a filter to pick."""
    rows = await grouped_totals(session, replace(query.filters, status=()), ["status"], ["lots"])
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({row.status: int(row.lots) for row in rows})
    return counts


@router.get("/lots", name="ui_lots")
async def lots_page(request: Request, session: SessionDep, visitor: SignedIn) -> Response:
    """The lot list: the API's filters as a GET form, keyset pages, counts by status.

    Asked by htmx (HX-Request), only the results part is sent."""
    context: dict[str, Any] = {
        "statuses": STATUSES,
        "dispositions": DISPOSITIONS,
        "products": PRODUCT_CODES,
        "sorts": SORT_LABELS,
        "params": request.query_params,
        "chosen_statuses": set(request.query_params.getlist("status")),
    }
    try:
        query = await lot_list_query(request.query_params)
        rows = await lot_page(
            session, query.filters, sort=query.sort, page=page_of(request, PAGE_SIZE, query.cursor)
        )
    except ProblemError as error:
        context["error"] = error.detail
        template = "lots_results.html" if "HX-Request" in request.headers else "lots.html"
        return render(request, template, context, visitor=visitor, status_code=error.status)
    context.update(
        lots=[lot_out(row) for row in rows.lots],
        counts=await _status_counts(session, query),
        next_query=query_with(request, cursor=rows.next_cursor) if rows.next_cursor else None,
        first_query=query_with(request, cursor=None) if query.cursor else None,
        status_query=lambda status: query_with(request, status=status, cursor=None),
    )
    template = "lots_results.html" if "HX-Request" in request.headers else "lots.html"
    return render(request, template, context, visitor=visitor)


@router.get("/lots/{lot_id:int}", name="ui_lot")
async def lot_page_view(
    lot_id: EntityId,
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    policy: PolicyDep,
) -> Response:
    lot = await refresh_if_expired(session, await get_lot(session, lot_id), policy)
    certificates, inspections = await lot_evidence(session, lot)
    facts = lot_facts(lot, certificates, inspections, ())
    decision = decision_out(lot, policy)
    needed = decision.sampling.plans["critical"].sample_size
    return render(
        request,
        "lot.html",
        {
            "lot": lot_out(lot),
            "supplier": await get_supplier(session, lot.supplier_id),
            "manufacturer": (  # most lots name none: no query then
                await get_supplier(session, lot.manufacturer_id) if lot.manufacturer_id else None
            ),
            "certificates": [
                (certificate, red_flags(certificate_facts))
                for certificate, certificate_facts in zip(
                    certificates, facts.certificates, strict=True
                )
            ],
            "inspections": [inspection_out(i) for i in inspections],
            "decision": decision,
            "history": (await decision_history(session, lot_id, page_of(request, MAX_LIMIT))).items,
            "shipped": lot.distributed > 0,
            "sampled": visual_sampled(facts.inspections),
            "needed": needed,
        },
        visitor=visitor,
    )
