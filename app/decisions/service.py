"""Recompute a lot's decision from its facts, store it, and keep the history.

Called by every write that touches a lot, inside that write's transaction and
with the lot's row locked, so the decision always matches the facts committed
with it.
"""

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate
from app.db import utcnow
from app.decisions.metrics import count_after_commit
from app.decisions.models import Concession, DecisionEvent, SourceQuality
from app.inspections.models import Inspection
from app.lots.models import Lot
from app.quality.certificates import CertificateFacts
from app.quality.decision import Decision, Status, decide
from app.quality.facts import Concession as ConcessionFacts
from app.quality.facts import InspectionFacts, LotFacts, Policy
from app.quality.quantities import Quantities
from app.quality.sampling import LotOutcome, SwitchingEvent, SwitchingState, advance


def lot_quantities(lot: Lot) -> Quantities:
    return Quantities(
        received=lot.quantity,
        distributed=lot.distributed,
        site_returned=lot.site_returned,
        site_destroyed=lot.site_destroyed,
        site_consumed=lot.site_consumed,
        returned_to_supplier=lot.returned_to_supplier,
    )


async def load_facts(session: AsyncSession, lot: Lot) -> LotFacts:
    certificates = await session.scalars(
        select(Certificate).where(Certificate.lot_id == lot.id).order_by(Certificate.id)
    )
    inspections = await session.scalars(
        select(Inspection)
        .where(Inspection.lot_id == lot.id)
        .order_by(Inspection.performed_at, Inspection.id)
    )
    concessions = await session.scalars(
        select(Concession).where(Concession.lot_id == lot.id).order_by(Concession.id)
    )
    return LotFacts(
        product=lot.product,
        ordered_as=lot.ordered_as,
        quantity=lot.quantity,
        received_at=lot.received_at,
        certificates=tuple(
            CertificateFacts(
                type=c.type,
                number=c.number,
                issuer=c.issuer,
                notified_body_number=c.notified_body_number,
                standard=c.standard,
                product_scope=c.product_scope,
                valid_from=c.valid_from,
                valid_until=c.valid_until,
                verification=c.verification,
                issuer_country=c.issuer_country,
            )
            for c in certificates
        ),
        inspections=tuple(
            InspectionFacts(
                reference=f"inspection {i.id}"
                + (f" ({i.report_number})" if i.report_number else ""),
                kind=i.kind,
                sample_size=i.sample_size,
                performed_at=i.performed_at,
                defects=dict(i.defects),
                measurements=dict(i.measurements),
                confirms=i.confirms,
            )
            for i in inspections
        ),
        quantities=lot_quantities(lot),
        severity=lot.severity,
        supplier_discontinued=lot.supplier_discontinued,
        concessions=tuple(
            ConcessionFacts(c.reason, c.legal_basis, tuple(c.allowed_uses), c.expires_at)
            for c in concessions
        ),
        ear_loops=lot.ear_loops,
    )


def quantities_snapshot(lot: Lot) -> dict[str, int]:
    return {
        "received": lot.quantity,
        "distributed": lot.distributed,
        "site_returned": lot.site_returned,
        "site_destroyed": lot.site_destroyed,
        "site_consumed": lot.site_consumed,
        "returned_to_supplier": lot.returned_to_supplier,
        "outstanding_at_sites": lot.outstanding_at_sites,
        "on_hand": lot.on_hand,
        "to_recall": lot.to_recall,
        "to_return": lot.to_return,
        "releasable": lot.releasable,
    }


def reasons_json(decision: Decision) -> list[dict[str, Any]]:
    return [
        {
            "code": r.code,
            "severity": str(r.severity),
            "message": r.message,
            "evidence": dict(r.evidence),
        }
        for r in decision.reasons
    ]


def _fingerprint(lot: Lot) -> tuple[object, ...]:
    codes = tuple(r["code"] for r in lot.reasons or [])
    return (lot.status, lot.disposition, codes, tuple(quantities_snapshot(lot).items()))


async def source_state(session: AsyncSession, supplier_id: int, product: str) -> SourceQuality:
    """The switching state of a supplier/product, locked for update (created at normal)."""
    state = await session.scalar(
        select(SourceQuality)
        .where(SourceQuality.supplier_id == supplier_id, SourceQuality.product == product)
        .with_for_update()
    )
    if state is None:
        state = SourceQuality(supplier_id=supplier_id, product=product, recent=[])
        session.add(state)
        await session.flush()
    return state


def as_switching_state(row: SourceQuality) -> SwitchingState:
    return SwitchingState(
        severity=row.severity,
        discontinued=row.discontinued,
        consecutive_accepted=row.consecutive_accepted,
        not_accepted_on_tightened=row.not_accepted_on_tightened,
        recent=tuple(row.recent),
    )


def store_switching_state(row: SourceQuality, state: SwitchingState) -> None:
    for name, value in asdict(state).items():
        setattr(row, name, list(value) if name == "recent" else value)
    row.updated_at = utcnow()


async def apply_switching_event(
    session: AsyncSession, supplier_id: int, product: str, event: SwitchingEvent, policy: Policy
) -> SourceQuality:
    row = await source_state(session, supplier_id, product)
    state = advance(as_switching_state(row), event, policy.reduced_inspection_enabled)
    store_switching_state(row, state)
    return row


async def stamp_source_state(session: AsyncSession, lot: Lot) -> None:
    """A new lot is inspected at its source's current severity; discontinued sources fail."""
    row = await source_state(session, lot.supplier_id, lot.product)
    lot.severity = row.severity
    lot.supplier_discontinued = row.discontinued


def _concession_expiry(decision: Decision, facts: LotFacts, now: datetime) -> datetime | None:
    if decision.status != Status.accepted:
        return None
    in_force = [c.expires_at for c in facts.concessions if c.in_force(now)]
    return min(in_force) if in_force else None


async def refresh_decision(
    session: AsyncSession,
    lot: Lot,
    *,
    policy: Policy,
    trigger: str,
    actor: str,
    now: datetime | None = None,
) -> Decision:
    """Decide a locked lot again; store the decision and append an event if it changed."""
    now = now or utcnow()
    facts = await load_facts(session, lot)
    decision = decide(facts, policy, now)
    before = _fingerprint(lot) if lot.decided_at is not None else None

    lot.status = decision.status.value
    lot.disposition = decision.disposition.value
    lot.reasons = reasons_json(decision)
    lot.allowed_uses = list(decision.allowed_uses)
    lot.to_recall = decision.to_recall
    lot.to_return = decision.to_return
    lot.releasable = decision.releasable
    lot.policy_version = policy.version
    lot.decision_valid_until = _concession_expiry(decision, facts, now)

    verdict = decision.original_inspection_accepted
    if lot.inspection_accepted is None and verdict is not None and not lot.supplier_discontinued:
        lot.inspection_accepted = verdict
        outcome = LotOutcome(accepted=verdict, between_ac_and_re=decision.between_ac_and_re)
        await apply_switching_event(session, lot.supplier_id, lot.product, outcome, policy)

    if before is None or _fingerprint(lot) != before:
        lot.decided_at = now
        count_after_commit(session, lot.status)
        session.add(
            DecisionEvent(
                lot_id=lot.id,
                at=now,
                trigger=trigger,
                actor=actor,
                status=lot.status,
                disposition=lot.disposition,
                reasons=lot.reasons,
                allowed_uses=lot.allowed_uses,
                quantities=quantities_snapshot(lot),
                policy_version=policy.version,
            )
        )
    await session.flush()
    return decision
