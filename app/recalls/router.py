from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from app.auth.dependencies import AnyRole, ReturnsRole
from app.deps import SessionDep
from app.exports.streaming import attachment_response
from app.exports.tabular import ExportFormat, file_responses, single_chunk
from app.lots.service import get_lot, lock_lot
from app.paging import PAGED, PageQuery
from app.recalls import service
from app.recalls.schemas import AcknowledgementCreate, AcknowledgementOut, LotRecall, RecallList
from app.schemas import EntityId

router = APIRouter(tags=["recalls"])


@router.get("/recalls", operation_id="list_recalls", responses=PAGED)
async def list_recalls(session: SessionDep, _actor: AnyRole, page: PageQuery) -> RecallList:
    """Lots rejected or suspect (provisional) with units still at sites, by lot id; totals
    cover all of them."""
    return await service.recall_list(session, page)


@router.get(
    "/lots/{lot_id:int}/recall",
    operation_id="get_lot_recall",
    response_model=LotRecall,
    responses=file_responses("JSON, or one row per site as a CSV or XLSX attachment"),
)
async def get_lot_recall(
    lot_id: EntityId,
    session: SessionDep,
    _actor: AnyRole,
    format: Annotated[
        ExportFormat, Query(description="csv/xlsx: one row per destination, as a file")
    ] = ExportFormat.json,
    excel: Annotated[bool, Query(description="CSV only: start with a UTF-8 BOM")] = False,
) -> LotRecall | StreamingResponse:
    recall = await service.lot_recall(session, await get_lot(session, lot_id))
    if format == ExportFormat.json:
        return recall
    return attachment_response(
        format,
        service.DESTINATION_COLUMNS,
        single_chunk(service.destination_rows(recall)),
        stem=f"recall-lot-{lot_id}",
        excel=excel,
    )


@router.post(
    "/lots/{lot_id:int}/recall/acknowledgements",
    status_code=status.HTTP_201_CREATED,
    operation_id="acknowledge_recall",
)
async def acknowledge_recall(
    lot_id: EntityId, body: AcknowledgementCreate, session: SessionDep, actor: ReturnsRole
) -> AcknowledgementOut:
    """A destination the lot was shipped to confirmed it got the recall notice."""
    lot = await lock_lot(session, lot_id)
    ack = await service.acknowledge(session, actor, lot, body)
    return AcknowledgementOut.model_validate(ack)
