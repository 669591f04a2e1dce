from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.actor import Actor
from app.auth.dependencies import AnyRole, InspectorRole, require
from app.auth.models import Role
from app.deps import PolicyDep, SessionDep
from app.errors import Unprocessable, field_error, invalid
from app.exports.streaming import attachment_response, snapshot_chunks
from app.exports.tabular import ExportFormat, file_responses
from app.lots.models import Lot
from app.lots.service import get_lot, lock_lot
from app.paging import PAGED, Keyset, PageQuery, keyset_page, keyset_rows, paged_responses
from app.quality.signals import ComplaintCategory, MatchState, MatchStrength
from app.schemas import MAX_ID, EntityId, Timestamp
from app.signals import alerts, complaints
from app.signals.models import Alert, AlertMatch, Complaint
from app.signals.readers import AlertFormat, UnreadableFile, read_alerts
from app.signals.schemas import (
    AlertCreate,
    AlertOut,
    AlertPage,
    AlertRecorded,
    AlertsRecorded,
    ComplaintCreate,
    ComplaintOut,
    ComplaintPage,
    MatchOut,
    MatchPage,
    ReviewDecision,
)

router = APIRouter(tags=["signals"])

ComplaintWriter = Annotated[Actor, Depends(require(Role.inspector, Role.returns))]
COMPLAINT_COLUMNS = tuple(ComplaintOut.model_fields)


@router.post(
    "/lots/{lot_id:int}/complaints",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_complaint",
)
async def create_complaint(
    lot_id: EntityId,
    body: ComplaintCreate,
    session: SessionDep,
    actor: ComplaintWriter,
    policy: PolicyDep,
) -> ComplaintOut:
    """A site's complaint about a lot shipped to it. A critical category, or complaints
    from LOTGATE_POLICY_COMPLAINT_DESTINATIONS different sites, make the lot suspect
    (distribution stops, units at sites are provisionally recalled) until a confirming
    inspection decides; the decision event's trigger is `complaint:<id>`."""
    lot = await lock_lot(session, lot_id)
    complaint = await complaints.record_complaint(session, actor, lot, body, policy)
    return ComplaintOut.model_validate(complaint)


NEWEST_FIRST = Keyset((Complaint.id,), descending=True)


@router.get("/lots/{lot_id:int}/complaints", operation_id="list_lot_complaints", responses=PAGED)
async def list_lot_complaints(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, page: PageQuery
) -> ComplaintPage:
    """The lot's complaints, newest first."""
    await get_lot(session, lot_id)
    query = complaints.complaints_query(lot_id=lot_id)
    return await keyset_page(session, query, NEWEST_FIRST, page, ComplaintOut.model_validate)


@router.get(
    "/complaints",
    operation_id="list_complaints",
    response_model=ComplaintPage,
    responses=paged_responses(
        file_responses("format=csv: every matching complaint as a CSV attachment")
    ),
)
async def list_complaints(
    request: Request,
    session: SessionDep,
    _actor: AnyRole,
    lot_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    category: ComplaintCategory | None = None,
    destination: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    reported_from: Annotated[Timestamp | None, Query(description="Inclusive")] = None,
    reported_to: Annotated[Timestamp | None, Query(description="Exclusive")] = None,
    format: Annotated[str, Query(pattern=r"^(json|csv)$")] = "json",
    *,
    page: PageQuery,
) -> Response:
    """Complaints across lots, newest first: `{items, next_cursor}` pages, or with
    `format=csv` all of them (newest first) as one streamed file."""
    query = complaints.complaints_query(
        lot_id=lot_id,
        category=category.value if category else None,
        destination=destination,
        reported_from=reported_from,
        reported_to=reported_to,
    )
    if format == "csv":
        engine: AsyncEngine = request.app.state.engine
        columns = [getattr(Complaint, name) for name in COMPLAINT_COLUMNS]
        rows = query.with_only_columns(*columns).order_by(Complaint.id.desc())
        return attachment_response(
            ExportFormat.csv,
            COMPLAINT_COLUMNS,
            snapshot_chunks(engine, rows, tuple),
            stem="complaints",
        )
    answer = await keyset_page(session, query, NEWEST_FIRST, page, ComplaintOut.model_validate)
    # A Response returned as is does not carry the Link header set on the injected one.
    link = page.response.headers.get("link")
    headers = {"Link": link} if link else None
    return Response(answer.model_dump_json(), media_type="application/json", headers=headers)


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_alert",
)
async def create_alert(
    body: AlertCreate, session: SessionDep, actor: InspectorRole, policy: PolicyDep
) -> AlertRecorded:
    """Record a notice and match it against every lot, whatever its status. Strong matches
    (GTIN + batch, certificate number, NIOSH approval number, the notified body number of
    an `authorisation_withdrawn` notice) make the lot suspect at once; weak ones (maker's
    name and model, a GTIN without batch, a notified body otherwise) wait for review."""
    alert, counts = await alerts.record_alert(session, actor, body, policy)
    return AlertRecorded(**AlertOut.model_validate(alert).model_dump(), matches=counts)


@router.post(
    "/alerts/import",
    status_code=status.HTTP_201_CREATED,
    operation_id="import_alerts",
)
async def import_alerts(
    file: Annotated[UploadFile, File(description="The notice file as received")],
    format: Annotated[AlertFormat, Form(description="openfda, safety_gate or csv")],
    session: SessionDep,
    actor: InspectorRole,
    policy: PolicyDep,
) -> AlertsRecorded:
    """Record every alert in an openFDA `device/enforcement` JSON file, an EU Safety Gate
    alert XML file or the CSV template (columns: source, issuing_body, country,
    published_on, url, reference, text, manufacturers, models, certificate_numbers,
    notified_body_numbers, niosh_approval_numbers, gtins, products; lists separated by
    `;`, GTINs as `gtin` or `gtin:batch`), each matched as by POST /alerts.
    All or nothing: one unreadable alert refuses the file, naming it."""
    content = await file.read()
    try:
        bodies = read_alerts(format, content)
    except UnreadableFile as error:
        raise invalid(f"body.file.{error.where}", str(error)) from None
    checked: list[AlertCreate] = []
    problems = []
    for index, body in enumerate(bodies):
        try:
            checked.append(AlertCreate.model_validate(body))
        except ValidationError as error:
            problems += [
                field_error(".".join(["body.file", str(index), *map(str, e["loc"])]), e["msg"])
                for e in error.errors()
            ]
    if problems:
        raise Unprocessable(f"{len(problems)} problems in the file.", errors=problems)
    recorded = []
    for data in checked:
        alert, counts = await alerts.record_alert(session, actor, data, policy)
        recorded.append(
            AlertRecorded(**AlertOut.model_validate(alert).model_dump(), matches=counts)
        )
    return AlertsRecorded(items=recorded)


@router.get("/alerts", operation_id="list_alerts", responses=PAGED)
async def list_alerts(session: SessionDep, _actor: AnyRole, page: PageQuery) -> AlertPage:
    """Alerts, newest first."""
    newest_first = Keyset((Alert.id,), descending=True)
    return await keyset_page(session, select(Alert), newest_first, page, AlertOut.model_validate)


@router.get("/alerts/{alert_id:int}", operation_id="get_alert")
async def get_alert(alert_id: EntityId, session: SessionDep, _actor: AnyRole) -> AlertOut:
    return AlertOut.model_validate(await alerts.get_alert(session, alert_id))


@router.get("/alerts/{alert_id:int}/matches", operation_id="list_alert_matches", responses=PAGED)
async def list_alert_matches(
    alert_id: EntityId,
    session: SessionDep,
    _actor: AnyRole,
    state: MatchState | None = None,
    strength: MatchStrength | None = None,
    *,
    page: PageQuery,
) -> MatchPage:
    """Each lot the alert named: how (which identifier, score) and what happened
    (`applied`: re-opened; `pending_review`; `confirmed`; `dismissed`, with who and why)."""
    await alerts.get_alert(session, alert_id)
    query = (
        select(AlertMatch.id, AlertMatch, Lot.lot_number, Lot.status)
        .join(Lot, Lot.id == AlertMatch.lot_id)
        .where(AlertMatch.alert_id == alert_id)
    )
    if state is not None:
        query = query.where(AlertMatch.state == state.value)
    if strength is not None:
        query = query.where(AlertMatch.strength == strength.value)
    rows = await keyset_rows(session, query, Keyset((AlertMatch.id,)), page)
    return MatchPage(
        items=[_match_out(row.AlertMatch, row.lot_number, row.status) for row in rows.rows],
        next_cursor=rows.next_cursor,
    )


def _match_out(match: AlertMatch, lot_number: str, lot_status: str) -> MatchOut:
    return MatchOut.model_validate(
        {
            **{
                name: getattr(match, name) for name in MatchOut.model_fields if hasattr(match, name)
            },
            "lot_number": lot_number,
            "lot_status": lot_status,
        }
    )


@router.post(
    "/alerts/{alert_id:int}/matches/{match_id:int}/review",
    operation_id="review_alert_match",
)
async def review_alert_match(
    alert_id: EntityId,
    match_id: EntityId,
    body: ReviewDecision,
    session: SessionDep,
    actor: InspectorRole,
    policy: PolicyDep,
) -> MatchOut:
    """Confirm a weak match (the lot re-opens, as for a strong one) or dismiss it; both
    record who and why. Only a match waiting for review can be decided (else 409)."""
    match = await alerts.review_match(session, actor, alert_id, match_id, body, policy)
    lot = await get_lot(session, match.lot_id)
    return _match_out(match, lot.lot_number, lot.status)
