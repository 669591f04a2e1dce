"""Read models and admin actions around decisions: plans, history, concessions, sources."""

from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.db import utcnow, write_transaction
from app.decisions.models import Concession, DecisionEvent, Reinstatement, SourceQuality
from app.decisions.schemas import (
    ConcessionCreate,
    ConcessionOut,
    DecisionEventOut,
    DecisionOut,
    LotOutcomeOut,
    LotSamplingPlans,
    ReinstatementCreate,
    ReinstatementOut,
    SamplingPlanOut,
    SourceQualityOut,
    SupplierQualityOut,
    reasons_out,
)
from app.decisions.service import (
    apply_switching_event,
    as_switching_state,
    lot_quantities,
    quantities_snapshot,
    refresh_decision,
)
from app.errors import Conflict, invalid
from app.lots.models import Lot
from app.lots.service import lock_lot
from app.paging import Keyset, Page, PageParams, keyset_page
from app.quality.decision import sampling_plans
from app.quality.facts import LotFacts, Policy
from app.quality.sampling import Reinstatement as ReinstatementEvent
from app.quality.sampling import SwitchingState

RECENT_OUTCOMES = 10


def lot_sampling_plans(lot: Lot, policy: Policy) -> LotSamplingPlans:
    facts = LotFacts(
        product=lot.product,
        ordered_as=lot.ordered_as,
        quantity=lot.quantity,
        received_at=lot.received_at,
        certificates=(),
        inspections=(),
        quantities=lot_quantities(lot),
        severity=lot.severity,
    )
    plans = sampling_plans(facts, policy)
    return LotSamplingPlans(
        lot_id=lot.id,
        lot_size=lot.quantity,
        inspection_level=policy.inspection_level,
        severity=lot.severity,
        aql={"critical": None, "major": policy.major_aql, "minor": policy.minor_aql},
        plans={k: SamplingPlanOut.model_validate(p) for k, p in plans.items()},
        policy_version=policy.version,
    )


class ExpiringDecision(Protocol):
    """An ORM Lot, or a row of the lots table."""

    @property
    def id(self) -> int: ...
    @property
    def decision_valid_until(self) -> datetime | None: ...


L = TypeVar("L", bound=ExpiringDecision)


async def refresh_if_expired(
    session: AsyncSession, lot: L, policy: Policy, now: datetime | None = None
) -> L | Lot:
    """A concession ends by itself: past its expiry the computed decision returns (and the
    lot comes back as an ORM Lot, freshly decided)."""
    now = now or utcnow()
    if lot.decision_valid_until is None or lot.decision_valid_until > now:
        return lot
    async with write_transaction(session) as writer:
        locked = await lock_lot(writer, lot.id)
        await refresh_decision(
            writer, locked, policy=policy, trigger="concession.expired", actor="system", now=now
        )
    return locked


def decision_out(lot: Lot, policy: Policy) -> DecisionOut:
    return DecisionOut(
        lot_id=lot.id,
        status=lot.status,
        disposition=lot.disposition,
        reasons=reasons_out(lot.reasons),
        allowed_uses=lot.allowed_uses,
        quantities=quantities_snapshot(lot),
        decided_at=lot.decided_at,
        valid_until=lot.decision_valid_until,
        policy_version=lot.policy_version,
        sampling=lot_sampling_plans(lot, policy),
    )


def decision_event_out(event: DecisionEvent) -> DecisionEventOut:
    return DecisionEventOut.model_validate(
        {
            **{c: getattr(event, c) for c in DecisionEventOut.model_fields if c != "reasons"},
            "reasons": reasons_out(event.reasons),
        }
    )


async def decision_history(
    session: AsyncSession, lot_id: int, page: PageParams
) -> Page[DecisionEventOut]:
    query = select(DecisionEvent).where(DecisionEvent.lot_id == lot_id)
    return await keyset_page(session, query, Keyset((DecisionEvent.id,)), page, decision_event_out)


async def grant_concession(
    session: AsyncSession, actor: Actor, lot: Lot, data: ConcessionCreate, policy: Policy
) -> Concession:
    now = utcnow()
    if data.expires_at <= now:
        raise invalid("body.expires_at", "must be in the future")
    concession = Concession(
        lot_id=lot.id,
        reason=data.reason,
        legal_basis=data.legal_basis,
        allowed_uses=list(data.allowed_uses),
        expires_at=data.expires_at,
        granted_by=actor.name,
    )
    session.add(concession)
    await session.flush()
    audit.record(
        session,
        actor,
        "concession.create",
        "concession",
        concession.id,
        after=ConcessionOut.model_validate(concession).model_dump(mode="json"),
    )
    await refresh_decision(
        session,
        lot,
        policy=policy,
        trigger=f"concession.create:{concession.id}",
        actor=actor.name,
        now=now,
    )
    return concession


async def list_concessions(
    session: AsyncSession, lot_id: int, page: PageParams
) -> Page[ConcessionOut]:
    query = select(Concession).where(Concession.lot_id == lot_id)
    return await keyset_page(
        session, query, Keyset((Concession.id,)), page, ConcessionOut.model_validate
    )


async def _source_quality(
    session: AsyncSession, supplier_id: int, row: SourceQuality
) -> SourceQualityOut:
    decided = (
        Lot.supplier_id == supplier_id,
        Lot.product == row.product,
        Lot.inspection_accepted.is_not(None),
    )
    counts = (
        await session.execute(
            select(func.count(), func.count().filter(Lot.inspection_accepted.is_(True))).where(
                *decided
            )
        )
    ).one()
    recent = await session.scalars(
        select(Lot)
        .where(*decided)
        .order_by(Lot.received_at.desc(), Lot.id.desc())
        .limit(RECENT_OUTCOMES)
    )
    total, accepted = int(counts[0]), int(counts[1])
    state: SwitchingState = as_switching_state(row)
    return SourceQualityOut(
        product=row.product,
        severity=state.severity,
        discontinued=state.discontinued,
        consecutive_accepted=state.consecutive_accepted,
        not_accepted_on_tightened=state.not_accepted_on_tightened,
        lots_decided=total,
        lots_accepted=accepted,
        acceptance_rate=round(accepted / total, 4) if total else None,
        recent_outcomes=[
            LotOutcomeOut(
                lot_id=lot.id,
                lot_number=lot.lot_number,
                received_at=lot.received_at,
                accepted=bool(lot.inspection_accepted),
                status=lot.status,
            )
            for lot in recent
        ],
    )


async def supplier_quality(session: AsyncSession, supplier_id: int) -> SupplierQualityOut:
    rows = await session.scalars(
        select(SourceQuality)
        .where(SourceQuality.supplier_id == supplier_id)
        .order_by(SourceQuality.product)
    )
    return SupplierQualityOut(
        supplier_id=supplier_id,
        products=[await _source_quality(session, supplier_id, row) for row in rows],
    )


async def reinstate(
    session: AsyncSession,
    actor: Actor,
    supplier_id: int,
    data: ReinstatementCreate,
    policy: Policy,
) -> ReinstatementOut:
    current = await session.scalar(
        select(SourceQuality)
        .where(SourceQuality.supplier_id == supplier_id, SourceQuality.product == data.product)
        .with_for_update()
    )
    if current is None or not current.discontinued:
        raise Conflict(
            f"Supplier {supplier_id} is not discontinued for {data.product}; "
            "there is nothing to reinstate.",
            severity=current.severity if current else "normal",
        )
    before = {"severity": current.severity, "discontinued": current.discontinued}
    row = await apply_switching_event(
        session, supplier_id, data.product, ReinstatementEvent(note=data.reason), policy
    )
    reinstatement = Reinstatement(
        supplier_id=supplier_id, product=data.product, reason=data.reason, granted_by=actor.name
    )
    session.add(reinstatement)
    await session.flush()
    audit.record(
        session,
        actor,
        "supplier.reinstate",
        "supplier",
        supplier_id,
        before={"product": data.product, **before},
        after={
            "product": data.product,
            "severity": row.severity,
            "discontinued": row.discontinued,
            "reason": data.reason,
        },
    )
    return ReinstatementOut(
        id=reinstatement.id,
        supplier_id=supplier_id,
        product=data.product,
        reason=data.reason,
        granted_by=actor.name,
        created_at=reinstatement.created_at,
        severity=row.severity,
        discontinued=row.discontinued,
    )
