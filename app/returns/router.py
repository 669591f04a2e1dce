from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.dependencies import ReturnsRole
from app.deps import PolicyDep, SessionDep
from app.exports.streaming import attachment_response, snapshot_chunks
from app.exports.tabular import ExportFormat, file_responses
from app.paging import Page, PageQuery, keyset_page, paged_responses
from app.preconditions import IfMatch, set_etag
from app.returns import export, service
from app.returns.schemas import (
    ReturnCreate,
    ReturnDetailOut,
    ReturnOut,
    TransitionCreate,
    TransitionOut,
)
from app.returns.states import ReturnState
from app.schemas import MAX_ID, EntityId

router = APIRouter(prefix="/returns", tags=["returns"])

QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


async def _detail(
    session: SessionDep, response: Response, rma_id: int, *, base: ReturnOut | None = None
) -> ReturnDetailOut:
    rma = base or service.return_out(await service.get_return(session, rma_id))
    transitions = await service.list_transitions(session, rma_id)
    set_etag(response, rma.version)
    return ReturnDetailOut(
        **rma.model_dump(), transitions=[TransitionOut.model_validate(t) for t in transitions]
    )


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="create_return")
async def create_return(
    body: ReturnCreate, session: SessionDep, actor: ReturnsRole, response: Response
) -> ReturnDetailOut:
    """Authorise returning units of a lot to its supplier; they stay reserved while open."""
    rma = await service.create_return(session, actor, body)
    response.headers["Location"] = f"/api/v1/returns/{rma.id}"
    return await _detail(session, response, rma.id, base=service.return_out(rma))


@router.get(
    "",
    operation_id="list_returns",
    response_model=Page[ReturnOut],
    responses=paged_responses(file_responses("A JSON page, or a CSV or XLSX attachment")),
)
async def list_returns(
    request: Request,
    session: SessionDep,
    _actor: ReturnsRole,
    page: PageQuery,
    state: ReturnState | None = None,
    supplier_id: QueryId = None,
    lot_id: QueryId = None,
    format: Annotated[
        ExportFormat,
        Query(description="json: a page; csv/xlsx: every match, as a file (no paging)"),
    ] = ExportFormat.json,
    excel: Annotated[bool, Query(description="CSV only: start with a UTF-8 BOM")] = False,
) -> Page[ReturnOut] | StreamingResponse:
    """Return authorisations by id."""
    query = service.returns_query(state=state, supplier_id=supplier_id, lot_id=lot_id)
    if format != ExportFormat.json:
        engine: AsyncEngine = request.app.state.engine
        chunks = snapshot_chunks(engine, export.export_query(query), export.export_row)
        return attachment_response(format, export.COLUMNS, chunks, stem="returns", excel=excel)
    return await keyset_page(session, query, service.BY_ID, page, service.return_out)


@router.get("/{return_id:int}", operation_id="get_return")
async def get_return(
    return_id: EntityId, session: SessionDep, _actor: ReturnsRole, response: Response
) -> ReturnDetailOut:
    """The return with its transitions; the ETag is what a transition's If-Match must send."""
    return await _detail(session, response, return_id)


@router.post("/{return_id:int}/transitions", operation_id="transition_return")
async def transition_return(
    return_id: EntityId,
    body: TransitionCreate,
    session: SessionDep,
    actor: ReturnsRole,
    policy: PolicyDep,
    response: Response,
    if_match: IfMatch = None,
) -> ReturnDetailOut:
    """open -> shipped -> received_by_supplier -> closed, or open -> cancelled.

    Needs If-Match with the return's ETag (428 without, 412 when stale); a state that
    may not follow is 409 naming the allowed ones. Shipping moves the units out of the
    lot (returned_to_supplier grows) and decides the lot again.
    """
    rma = await service.transition(
        session, actor, return_id, body, if_match=if_match, policy=policy
    )
    return await _detail(session, response, rma.id, base=service.return_out(rma))
