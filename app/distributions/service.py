from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.db import utcnow
from app.distributions.models import Distribution, SiteReturn
from app.distributions.schemas import (
    DistributionCreate,
    DistributionOut,
    SiteOutcome,
    SiteReturnCreate,
    SiteReturnOut,
)
from app.errors import Conflict, Forbidden
from app.lots.models import Lot
from app.lots.service import lot_snapshot
from app.paging import Keyset, Page, PageParams, keyset_page
from app.quality.decision import distribution_allowed


def _decision(lot: Lot) -> dict[str, Any]:
    return {
        "status": lot.status,
        "disposition": lot.disposition,
        "reasons": lot.reasons,
        "allowed_uses": lot.allowed_uses,
    }


def _refusal(lot: Lot, data: DistributionCreate) -> Conflict | None:
    """Why the lot's decision forbids this shipment, None when the core allows it."""
    if distribution_allowed(lot, data.intended_use):
        return None
    if not distribution_allowed(lot):
        return Conflict(
            f"Lot {lot.id} is {lot.status} (disposition {lot.disposition}); "
            "it may not be distributed until it passes inspection.",
            decision=_decision(lot),
        )
    allowed = ", ".join(lot.allowed_uses)
    return Conflict(
        f"Lot {lot.id} is {lot.status}: its units may serve only {allowed}, "
        f"not {data.intended_use}.",
        errors=[{"field": "body.intended_use", "reason": f"not an allowed use ({allowed})"}],
        intended_use=data.intended_use,
        allowed_uses=lot.allowed_uses,
        decision=_decision(lot),
    )


def _check_decision_allows(actor: Actor, lot: Lot, data: DistributionCreate) -> Conflict | None:
    """Raise when the shipment is refused; an admin's override returns what it overrode."""
    if data.override_reason is not None and not actor.is_admin:
        raise Forbidden("Only an admin may distribute with override_reason.")
    refusal = _refusal(lot, data)
    if refusal is not None and data.override_reason is None:
        raise refusal
    return refusal


async def distribute(
    session: AsyncSession, actor: Actor, lot: Lot, data: DistributionCreate
) -> Distribution:
    """Ship units from a locked lot to a destination."""
    overridden = _check_decision_allows(actor, lot, data)
    if data.quantity > lot.on_hand:
        raise Conflict(
            f"Cannot distribute {data.quantity} from lot {lot.id}: only {lot.on_hand} on hand.",
            errors=[{"field": "body.quantity", "reason": f"exceeds on_hand ({lot.on_hand})"}],
            requested=data.quantity,
            on_hand=lot.on_hand,
        )
    before = lot_snapshot(lot)
    distribution = Distribution(lot_id=lot.id, **data.model_dump())
    session.add(distribution)
    lot.distributed += data.quantity
    await session.flush()
    audit.record(
        session,
        actor,
        "distribution.create",
        "distribution",
        distribution.id,
        after=DistributionOut.model_validate(distribution).model_dump(mode="json"),
    )
    audit.record(
        session, actor, "lot.distribute", "lot", lot.id, before=before, after=lot_snapshot(lot)
    )
    if data.override_reason is not None:
        audit.record(
            session,
            actor,
            "distribution.override",
            "distribution",
            distribution.id,
            before=_decision(lot),
            after={
                "intended_use": data.intended_use,
                "override_reason": data.override_reason,
                "overrode": overridden.detail if overridden else None,
            },
        )
    return distribution


async def outstanding_at(session: AsyncSession, lot_id: int, destination: str) -> int:
    shipped = await session.scalar(
        select(func.coalesce(func.sum(Distribution.quantity), 0)).where(
            Distribution.lot_id == lot_id, Distribution.destination == destination
        )
    )
    came_back = await session.scalar(
        select(func.coalesce(func.sum(SiteReturn.quantity), 0)).where(
            SiteReturn.lot_id == lot_id, SiteReturn.destination == destination
        )
    )
    return int(shipped or 0) - int(came_back or 0)


_COUNTER_BY_OUTCOME = {
    SiteOutcome.returned: "site_returned",
    SiteOutcome.destroyed: "site_destroyed",
    SiteOutcome.consumed: "site_consumed",
}


async def record_site_return(
    session: AsyncSession, actor: Actor, lot: Lot, data: SiteReturnCreate
) -> SiteReturn:
    """Units a destination sent back, destroyed or used up, from a locked lot."""
    outstanding = await outstanding_at(session, lot.id, data.destination)
    if data.quantity > outstanding:
        raise Conflict(
            f"Destination {data.destination!r} has {outstanding} units of lot {lot.id} "
            f"outstanding; cannot report {data.quantity}.",
            errors=[{"field": "body.quantity", "reason": f"exceeds outstanding ({outstanding})"}],
            requested=data.quantity,
            outstanding=outstanding,
        )
    before = lot_snapshot(lot)
    site_return = SiteReturn(
        lot_id=lot.id,
        destination=data.destination,
        quantity=data.quantity,
        outcome=data.outcome.value,
        reported_at=data.reported_at or utcnow(),
    )
    session.add(site_return)
    counter = _COUNTER_BY_OUTCOME[data.outcome]
    setattr(lot, counter, getattr(lot, counter) + data.quantity)
    await session.flush()
    audit.record(
        session,
        actor,
        "site_return.create",
        "site_return",
        site_return.id,
        after=SiteReturnOut.model_validate(site_return).model_dump(mode="json"),
    )
    audit.record(
        session, actor, "lot.site_return", "lot", lot.id, before=before, after=lot_snapshot(lot)
    )
    return site_return


async def list_distributions(
    session: AsyncSession, lot_id: int, page: PageParams
) -> Page[DistributionOut]:
    query = select(Distribution).where(Distribution.lot_id == lot_id)
    return await keyset_page(
        session, query, Keyset((Distribution.id,)), page, DistributionOut.model_validate
    )


async def list_site_returns(
    session: AsyncSession, lot_id: int, page: PageParams
) -> Page[SiteReturnOut]:
    query = select(SiteReturn).where(SiteReturn.lot_id == lot_id)
    return await keyset_page(
        session, query, Keyset((SiteReturn.id,)), page, SiteReturnOut.model_validate
    )
