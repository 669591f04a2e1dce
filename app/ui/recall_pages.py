"""Recalls: the lots under recall, one lot's destinations, acknowledging a site's recall."""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import ValidationError

from app.auth.models import Role
from app.deps import SessionDep
from app.errors import Forbidden, Unprocessable, field_error
from app.exports.streaming import attachment_response
from app.exports.tabular import ExportFormat, single_chunk
from app.lots.service import get_lot, lock_lot
from app.recalls import service
from app.recalls.schemas import AcknowledgementCreate
from app.schemas import EntityId
from app.ui.rendering import (
    CheckedForm,
    PageRoute,
    SignedIn,
    Visitor,
    page_of,
    query_with,
    render,
)

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)

RECALLS_PER_PAGE = 50


@router.get("/recalls", name="ui_recalls")
async def recalls_page(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
) -> Response:
    recalls = await service.recall_list(session, page_of(request, RECALLS_PER_PAGE, cursor))
    next_query = query_with(request, cursor=recalls.next_cursor) if recalls.next_cursor else None
    return render(
        request,
        "recalls.html",
        {"recalls": recalls, "next_query": next_query, "first": cursor is None},
        visitor=visitor,
    )


@router.get("/recalls/{lot_id:int}", name="ui_recall")
async def recall_page(
    lot_id: EntityId,
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    acknowledged: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    recall = await service.lot_recall(session, await get_lot(session, lot_id))
    return render(
        request,
        "recall.html",
        {
            "recall": recall,
            "acknowledged": acknowledged,
            "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        },
        visitor=visitor,
    )


@router.get("/recalls/{lot_id:int}/recall.csv", name="ui_recall_csv")
async def recall_csv(lot_id: EntityId, session: SessionDep, visitor: SignedIn) -> StreamingResponse:
    """The same file as GET /api/v1/lots/{id}/recall?format=csv."""
    recall = await service.lot_recall(session, await get_lot(session, lot_id))
    return attachment_response(
        ExportFormat.csv,
        service.DESTINATION_COLUMNS,
        single_chunk(service.destination_rows(recall)),
        stem=f"recall-lot-{lot_id}",
    )


def _acknowledgement(form: CheckedForm) -> AcknowledgementCreate:
    try:
        return AcknowledgementCreate.model_validate(
            {
                "destination": form.get("destination", ""),
                "contact": str(form.get("contact", "")).strip(),
                "acknowledged_at": form.get("acknowledged_at", ""),
            }
        )
    except ValidationError as error:
        errors = [field_error(".".join(str(p) for p in e["loc"]), e["msg"]) for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise Unprocessable(detail, errors=errors) from None


def _require_returns(visitor: Visitor) -> None:
    if not visitor.may_acknowledge:
        raise Forbidden(
            f"Your key's role ({visitor.actor.role.value}) may not acknowledge recalls; "
            f"a {Role.returns.value} or {Role.admin.value} key may."
        )


@router.post("/recalls/{lot_id:int}/acknowledgements", name="ui_acknowledge")
async def acknowledge(
    lot_id: EntityId, session: SessionDep, visitor: SignedIn, form: CheckedForm
) -> Response:
    """The form's answer: back to the recall page (303), which shows the acknowledgement."""
    _require_returns(visitor)
    data = _acknowledgement(form)
    lot = await lock_lot(session, lot_id)
    await service.acknowledge(session, visitor.actor, lot, data)
    return RedirectResponse(
        f"/ui/recalls/{lot_id}?acknowledged={quote(data.destination)}", status_code=303
    )
