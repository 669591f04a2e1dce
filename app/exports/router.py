from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.dependencies import ReturnsRole
from app.config import Settings
from app.dashboard.etag import data_version, required_version
from app.dashboard.rollup import VERSION_NAME
from app.errors import invalid
from app.exports.copy_csv import copy_csv
from app.exports.reject_list import (
    COLUMNS,
    RejectListFilters,
    flat_row,
    json_row,
    reject_list_query,
)
from app.exports.reject_list_copy import reject_list_copy_query
from app.exports.streaming import (
    attachment_response,
    encoded_attachment_response,
    snapshot_chunks,
)
from app.exports.tabular import ExportFormat, file_responses
from app.lots.schemas import ProductCode
from app.quality.decision import Disposition
from app.quality.statuses import ON_REJECT_LIST
from app.replica import Replica
from app.schemas import MAX_ID, Timestamp

router = APIRouter(prefix="/exports", tags=["exports"])

DISPOSITIONS = tuple(Disposition)
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Choices = Annotated[list[str] | None, Query(max_length=10)]


def _choices(field: str, values: list[str] | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    for value in values or ():
        if value not in allowed:
            raise invalid(field, f"must be one of: {', '.join(allowed)}", allowed=list(allowed))
    return tuple(dict.fromkeys(values or ()))


async def _reading_engine(request: Request) -> AsyncEngine:
    """The replica's, when it has replayed the data version this process knows of (and
    the client sent, X-Data-Version); else the primary's."""
    primary: AsyncEngine = request.app.state.engine
    replica: Replica = request.app.state.replica
    if replica.engine is None:
        return primary
    async with request.app.state.read_sessionmaker() as session:
        watch = request.app.state.version_watch
        version = await data_version(session, watch, VERSION_NAME, required_version(request))
    return await replica.engine_for(VERSION_NAME, version, primary)


@router.get(
    "/reject-list",
    operation_id="export_reject_list",
    response_class=StreamingResponse,
    responses=file_responses("The reject list as an attachment (streamed)"),
)
async def export_reject_list(
    request: Request,
    _actor: ReturnsRole,
    format: ExportFormat = ExportFormat.csv,
    excel: Annotated[bool, Query(description="CSV only: start with a UTF-8 BOM")] = False,
    status: Choices = None,
    disposition: Choices = None,
    decided_from: Annotated[Timestamp | None, Query(description="Inclusive")] = None,
    decided_to: Annotated[Timestamp | None, Query(description="Exclusive")] = None,
    supplier_id: QueryId = None,
    manufacturer_id: QueryId = None,
    product: Annotated[ProductCode | None, Query()] = None,
) -> StreamingResponse:
    """Every lot rejected, suspect or restricted (or the `status` values given), by lot id.

    Streams from one read-only snapshot of the database; text cells a spreadsheet would
    run as formulas start with an apostrophe in CSV and XLSX (JSON is left exact).
    """
    if decided_from and decided_to and decided_to <= decided_from:
        raise invalid("query.decided_to", "must be after decided_from")
    filters = RejectListFilters(
        statuses=_choices("query.status", status, ON_REJECT_LIST) or ON_REJECT_LIST,
        dispositions=_choices("query.disposition", disposition, DISPOSITIONS),
        decided_from=decided_from,
        decided_to=decided_to,
        supplier_id=supplier_id,
        manufacturer_id=manufacturer_id,
        product=product,
    )
    return await reject_list_response(request, filters, format, excel=excel)


async def reject_list_response(
    request: Request, filters: RejectListFilters, format: ExportFormat, *, excel: bool
) -> StreamingResponse:
    """The reject list streamed as a file (also offered by the pages)."""
    engine = await _reading_engine(request)
    if format == ExportFormat.csv and engine.dialect.name == "postgresql":
        # PostgreSQL writes the same CSV several times faster than Python formats it.
        settings: Settings = request.app.state.settings
        body = copy_csv(
            engine,
            reject_list_copy_query(filters),
            excel=excel,
            limit_seconds=settings.export_timeout_seconds,
        )
        return encoded_attachment_response(format, body, stem="reject-list")
    query = reject_list_query(filters, engine.dialect.name)
    transform = json_row if format == ExportFormat.json else flat_row
    return attachment_response(
        format,
        COLUMNS,
        snapshot_chunks(engine, query, transform),
        stem="reject-list",
        excel=excel,
    )
