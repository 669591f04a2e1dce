"""Recall reconciliation: per destination, what was shipped, what came back, who was told.

A lot is under recall while it is rejected, or suspect (then the recall is
provisional: sites are warned before the failure is confirmed).
"""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.db import utcnow
from app.distributions.models import Distribution, SiteReturn
from app.errors import Conflict, invalid
from app.lots.models import Lot, under_recall_clause
from app.paging import Keyset, PageParams, keyset_rows
from app.quality.statuses import (
    PROVISIONAL_RECALL,
    UNDER_RECALL,
    recall_is_provisional,
    under_recall,
)
from app.recalls.models import RecallAcknowledgement
from app.recalls.schemas import (
    AcknowledgementCreate,
    AcknowledgementOut,
    DestinationRecall,
    LotRecall,
    RecallList,
    RecallListTotals,
    RecallSummary,
    RecallTotals,
)
from app.suppliers.models import Supplier

OUTCOME_FIELD = {"returned": "returned", "destroyed": "destroyed", "consumed": "consumed"}
# How many destinations a refusal lists (a lot may have been shipped to hundreds).
LISTED_DESTINATIONS = 20


async def _destinations(session: AsyncSession, lot_id: int) -> dict[str, DestinationRecall]:
    rows: dict[str, DestinationRecall] = {}
    shipped = await session.execute(
        select(Distribution.destination, func.sum(Distribution.quantity))
        .where(Distribution.lot_id == lot_id)
        .group_by(Distribution.destination)
    )
    for destination, quantity in shipped:
        rows[destination] = DestinationRecall(destination=destination, shipped=quantity)
    came_back = await session.execute(
        select(SiteReturn.destination, SiteReturn.outcome, func.sum(SiteReturn.quantity))
        .where(SiteReturn.lot_id == lot_id)
        .group_by(SiteReturn.destination, SiteReturn.outcome)
    )
    for destination, outcome, quantity in came_back:
        row = rows[destination]
        field = OUTCOME_FIELD[outcome]
        setattr(row, field, getattr(row, field) + quantity)
    acknowledgements = await session.scalars(
        select(RecallAcknowledgement)
        .where(RecallAcknowledgement.lot_id == lot_id)
        .order_by(RecallAcknowledgement.acknowledged_at, RecallAcknowledgement.id)
    )
    for ack in acknowledgements:  # the latest acknowledgement of each destination wins
        row = rows[ack.destination]
        row.acknowledged, row.acknowledged_at, row.contact = True, ack.acknowledged_at, ack.contact
    for row in rows.values():
        row.outstanding = row.shipped - row.returned - row.destroyed - row.consumed
    return dict(sorted(rows.items()))


async def lot_recall(session: AsyncSession, lot: Lot) -> LotRecall:
    destinations = list((await _destinations(session, lot.id)).values())
    totals = RecallTotals(destinations=len(destinations))
    for row in destinations:
        for field in ("shipped", "returned", "destroyed", "consumed", "outstanding"):
            setattr(totals, field, getattr(totals, field) + getattr(row, field))
        totals.acknowledged += row.acknowledged
    return LotRecall(
        lot_id=lot.id,
        lot_number=lot.lot_number,
        supplier_id=lot.supplier_id,
        product=lot.product,
        status=lot.status,
        disposition=lot.disposition,
        under_recall=under_recall(lot.status),
        provisional=recall_is_provisional(lot.status),
        to_recall=lot.to_recall,
        totals=totals,
        destinations=destinations,
    )


async def acknowledge(
    session: AsyncSession, actor: Actor, lot: Lot, data: AcknowledgementCreate
) -> RecallAcknowledgement:
    if not under_recall(lot.status):
        raise Conflict(
            f"Lot {lot.id} is {lot.status}: it is not under recall, there is nothing to "
            "acknowledge.",
            lot_status=lot.status,
            recall_statuses=list(UNDER_RECALL),
        )
    if data.acknowledged_at > utcnow():
        raise invalid("body.acknowledged_at", "is in the future")
    shipped_to = list(
        await session.scalars(
            select(Distribution.destination)
            .where(Distribution.lot_id == lot.id)
            .group_by(Distribution.destination)
            .order_by(Distribution.destination)
        )
    )
    if data.destination not in shipped_to:
        listed = shipped_to[:LISTED_DESTINATIONS]
        raise invalid(
            "body.destination",
            f"lot {lot.id} was never shipped to {data.destination!r}",
            shipped_to=listed,
        )
    ack = RecallAcknowledgement(
        lot_id=lot.id,
        destination=data.destination,
        acknowledged_at=data.acknowledged_at,
        contact=data.contact,
        lot_status=lot.status,
        recorded_by=actor.name,
    )
    session.add(ack)
    await session.flush()
    audit.record(
        session,
        actor,
        "recall.acknowledge",
        "recall_acknowledgement",
        ack.id,
        after=AcknowledgementOut.model_validate(ack).model_dump(mode="json"),
    )
    return ack


def _outstanding() -> Any:
    return Lot.distributed - Lot.site_returned - Lot.site_destroyed - Lot.site_consumed


BY_LOT_ID = Keyset((Lot.id,))


async def recall_list(session: AsyncSession, page: PageParams) -> RecallList:
    """Lots under recall with units still at sites, by lot id, and totals over all of them."""
    totals_row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Lot.status.in_(PROVISIONAL_RECALL)),
                func.coalesce(func.sum(Lot.distributed), 0),
                func.coalesce(func.sum(Lot.site_returned), 0),
                func.coalesce(func.sum(Lot.site_destroyed), 0),
                func.coalesce(func.sum(Lot.site_consumed), 0),
                func.coalesce(func.sum(_outstanding()), 0),
            ).where(under_recall_clause())
        )
    ).one()
    totals = RecallListTotals(
        lots=totals_row[0],
        provisional_lots=totals_row[1],
        shipped=totals_row[2],
        returned=totals_row[3],
        destroyed=totals_row[4],
        consumed=totals_row[5],
        outstanding=totals_row[6],
    )
    destinations = (
        select(func.count(func.distinct(Distribution.destination)))
        .where(Distribution.lot_id == Lot.id)
        .scalar_subquery()
    )
    acknowledged = (
        select(func.count(func.distinct(RecallAcknowledgement.destination)))
        .where(RecallAcknowledgement.lot_id == Lot.id)
        .scalar_subquery()
    )
    query = (
        select(
            Lot.id,
            Lot.lot_number,
            Lot.supplier_id,
            Supplier.name.label("supplier"),
            Lot.product,
            Lot.status,
            Lot.disposition,
            Lot.to_recall,
            Lot.distributed,
            Lot.site_returned,
            Lot.site_destroyed,
            Lot.site_consumed,
            _outstanding().label("outstanding"),
            destinations.label("destinations"),
            acknowledged.label("acknowledged"),
        )
        .join(Supplier, Supplier.id == Lot.supplier_id)
        .where(under_recall_clause())
    )
    rows = await keyset_rows(session, query, BY_LOT_ID, page)
    lots = [
        RecallSummary(
            lot_id=row.id,
            lot_number=row.lot_number,
            supplier_id=row.supplier_id,
            supplier=row.supplier,
            product=row.product,
            status=row.status,
            disposition=row.disposition,
            provisional=recall_is_provisional(row.status),
            to_recall=row.to_recall,
            shipped=row.distributed,
            returned=row.site_returned,
            destroyed=row.site_destroyed,
            consumed=row.site_consumed,
            outstanding=row.outstanding,
            destinations=row.destinations,
            acknowledged=row.acknowledged,
        )
        for row in rows.rows
    ]
    return RecallList(items=lots, next_cursor=rows.next_cursor, totals=totals)


DESTINATION_COLUMNS = (
    "lot_id",
    "lot_number",
    "status",
    "provisional",
    "destination",
    "shipped",
    "returned",
    "destroyed",
    "consumed",
    "outstanding",
    "acknowledged",
    "acknowledged_at",
    "contact",
)


def destination_rows(recall: LotRecall) -> list[tuple[Any, ...]]:
    """One row per destination, for the letters and calls."""
    return [
        (
            recall.lot_id,
            recall.lot_number,
            recall.status,
            "yes" if recall.provisional else "no",
            d.destination,
            d.shipped,
            d.returned,
            d.destroyed,
            d.consumed,
            d.outstanding,
            "yes" if d.acknowledged else "no",
            d.acknowledged_at,
            d.contact,
        )
        for d in recall.destinations
    ]
