"""Complaints from sites: recorded against a lot shipped to the complaining site, and the
lot decided again (app/quality/signals.py says what they mean)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.db import utcnow
from app.decisions.service import refresh_decision
from app.distributions.models import Distribution
from app.errors import invalid
from app.lots.models import Lot
from app.quality.facts import Policy
from app.signals.models import Complaint
from app.signals.schemas import ComplaintCreate, ComplaintOut

# How many destinations a refusal lists (a lot may have been shipped to hundreds).
LISTED_DESTINATIONS = 20


async def record_complaint(
    session: AsyncSession, actor: Actor, lot: Lot, data: ComplaintCreate, policy: Policy
) -> Complaint:
    """On a locked lot: the complaint, its audit record and the lot decided again."""
    if data.reported_at > utcnow():
        raise invalid("body.reported_at", "is in the future")
    shipped = await session.scalar(
        select(Distribution.id)
        .where(Distribution.lot_id == lot.id, Distribution.destination == data.destination)
        .limit(1)
    )
    if shipped is None:
        destinations = await session.scalars(
            select(Distribution.destination)
            .where(Distribution.lot_id == lot.id)
            .group_by(Distribution.destination)
            .order_by(Distribution.destination)
            .limit(LISTED_DESTINATIONS)
        )
        raise invalid(
            "body.destination",
            f"lot {lot.id} was never shipped to {data.destination!r}: only a site that "
            "received it can complain about it",
            shipped_to=list(destinations),
        )
    if data.units_affected > lot.quantity:
        raise invalid("body.units_affected", f"is more than the lot's {lot.quantity} units")
    complaint = Complaint(lot_id=lot.id, recorded_by=actor.name, **data.model_dump())
    session.add(complaint)
    await session.flush()
    audit.record(
        session,
        actor,
        "complaint.create",
        "complaint",
        complaint.id,
        after=ComplaintOut.model_validate(complaint).model_dump(mode="json"),
    )
    await refresh_decision(
        session, lot, policy=policy, trigger=f"complaint:{complaint.id}", actor=actor.name
    )
    return complaint


def complaints_query(
    *,
    lot_id: int | None = None,
    category: str | None = None,
    destination: str | None = None,
    reported_from: datetime | None = None,
    reported_to: datetime | None = None,
) -> Select[Any]:
    """The complaints matching the filters (half-open time range)."""
    query = select(Complaint)
    if lot_id is not None:
        query = query.where(Complaint.lot_id == lot_id)
    if category is not None:
        query = query.where(Complaint.category == category)
    if destination is not None:
        query = query.where(Complaint.destination == destination)
    if reported_from is not None:
        query = query.where(Complaint.reported_at >= reported_from)
    if reported_to is not None:
        query = query.where(Complaint.reported_at < reported_to)
    return query
