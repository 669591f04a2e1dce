"""Recompute a lot's decision from its facts, store it, and keep the history.

Called by every write that touches a lot, inside that write's transaction and
with the lot's row locked, so the decision always matches the facts committed
with it.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate
from app.dashboard.rollup import reason_code_text
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
from app.quality.signals import Signal
from app.signals.facts import signals_by_lot


class DecidedLot(Protocol):
    """What redecide() reads of a lot besides its facts: the decision stored with it."""

    @property
    def id(self) -> int: ...
    @property
    def supplier_discontinued(self) -> bool: ...
    @property
    def inspection_accepted(self) -> bool | None: ...
    @property
    def status(self) -> str: ...
    @property
    def disposition(self) -> str: ...
    @property
    def reasons(self) -> list[dict[str, Any]]: ...
    @property
    def to_recall(self) -> int: ...
    @property
    def to_return(self) -> int: ...
    @property
    def releasable(self) -> int: ...
    @property
    def decided_at(self) -> datetime | None: ...


class LotRecord(DecidedLot, Protocol):
    """What a decision reads from a lot: an ORM Lot, or a row of the lots table."""

    @property
    def product(self) -> str: ...
    @property
    def ordered_as(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def ear_loops(self) -> bool: ...
    @property
    def severity(self) -> str: ...
    @property
    def distributed(self) -> int: ...
    @property
    def site_returned(self) -> int: ...
    @property
    def site_destroyed(self) -> int: ...
    @property
    def site_consumed(self) -> int: ...
    @property
    def returned_to_supplier(self) -> int: ...


class CertificateRecord(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def notified_body_number(self) -> str | None: ...
    @property
    def standard(self) -> str | None: ...
    @property
    def product_scope(self) -> str | None: ...
    @property
    def valid_from(self) -> date | None: ...
    @property
    def valid_until(self) -> date | None: ...
    @property
    def verification(self) -> str: ...
    @property
    def issuer_country(self) -> str | None: ...


class InspectionRecord(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def report_number(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def sample_size(self) -> int: ...
    @property
    def performed_at(self) -> datetime: ...
    @property
    def defects(self) -> dict[str, int]: ...
    @property
    def measurements(self) -> dict[str, float]: ...
    @property
    def confirms(self) -> bool: ...


class ConcessionRecord(Protocol):
    @property
    def reason(self) -> str: ...
    @property
    def legal_basis(self) -> str: ...
    @property
    def allowed_uses(self) -> list[str]: ...
    @property
    def expires_at(self) -> datetime: ...


def lot_quantities(lot: LotRecord) -> Quantities:
    return Quantities(
        received=lot.quantity,
        distributed=lot.distributed,
        site_returned=lot.site_returned,
        site_destroyed=lot.site_destroyed,
        site_consumed=lot.site_consumed,
        returned_to_supplier=lot.returned_to_supplier,
    )


def lot_facts(
    lot: LotRecord,
    certificates: Iterable[CertificateRecord],
    inspections: Iterable[InspectionRecord],
    concessions: Iterable[ConcessionRecord],
    signals: Iterable[Signal] = (),
) -> LotFacts:
    """The facts decide() reads; inspections oldest first, the others in id order."""
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
        signals=tuple(signals),
    )


async def lot_evidence(
    session: AsyncSession, lot: Lot
) -> tuple[list[Certificate], list[Inspection]]:
    """The lot's certificates (by id) and inspections (oldest first), as decide() reads them."""
    certificates = await session.scalars(
        select(Certificate).where(Certificate.lot_id == lot.id).order_by(Certificate.id)
    )
    inspections = await session.scalars(
        select(Inspection)
        .where(Inspection.lot_id == lot.id)
        .order_by(Inspection.performed_at, Inspection.id)
    )
    return list(certificates), list(inspections)


async def load_facts(session: AsyncSession, lot: Lot) -> LotFacts:
    certificates, inspections = await lot_evidence(session, lot)
    concessions = await session.scalars(
        select(Concession).where(Concession.lot_id == lot.id).order_by(Concession.id)
    )
    signals = (await signals_by_lot(session, [lot.id])).get(lot.id, ())
    return lot_facts(lot, certificates, inspections, concessions, signals)


def _snapshot(
    quantities: Quantities, to_recall: int, to_return: int, releasable: int
) -> dict[str, int]:
    return {
        "received": quantities.received,
        "distributed": quantities.distributed,
        "site_returned": quantities.site_returned,
        "site_destroyed": quantities.site_destroyed,
        "site_consumed": quantities.site_consumed,
        "returned_to_supplier": quantities.returned_to_supplier,
        "outstanding_at_sites": quantities.outstanding_at_sites,
        "on_hand": quantities.on_hand,
        "to_recall": to_recall,
        "to_return": to_return,
        "releasable": releasable,
    }


def quantities_snapshot(lot: LotRecord) -> dict[str, int]:
    return _snapshot(lot_quantities(lot), lot.to_recall, lot.to_return, lot.releasable)


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


def _fingerprint(
    status: str, disposition: str, reasons: list[dict[str, Any]], quantities: dict[str, int]
) -> tuple[object, ...]:
    codes = tuple(r["code"] for r in reasons or [])
    return (status, disposition, codes, tuple(quantities.items()))


@dataclass(frozen=True)
class Redecision:
    """A lot decided again: the lot columns to store, the event to append if it changed, and
    the original inspection's verdict for the switching rules the first time it is known."""

    decision: Decision
    columns: dict[str, Any]
    event: dict[str, Any] | None
    outcome: LotOutcome | None


def redecide(
    lot: DecidedLot,
    facts: LotFacts,
    *,
    policy: Policy,
    trigger: str,
    actor: str,
    now: datetime,
) -> Redecision:
    """Decide a lot from its facts, without touching the database (the single and bulk paths)."""
    decision = decide(facts, policy, now)
    reasons = reasons_json(decision)
    snapshot = _snapshot(
        facts.quantities, decision.to_recall, decision.to_return, decision.releasable
    )
    after = _fingerprint(decision.status.value, decision.disposition.value, reasons, snapshot)
    # facts.quantities are the lot's own (lot_facts), so the snapshot before differs only
    # in the stored decision's figures.
    before = _snapshot(facts.quantities, lot.to_recall, lot.to_return, lot.releasable)
    changed = lot.decided_at is None or after != _fingerprint(
        lot.status, lot.disposition, lot.reasons, before
    )
    columns: dict[str, Any] = {
        "status": decision.status.value,
        "disposition": decision.disposition.value,
        "reasons": reasons,
        "reason_codes": reason_code_text(reasons),
        "allowed_uses": list(decision.allowed_uses),
        "to_recall": decision.to_recall,
        "to_return": decision.to_return,
        "releasable": decision.releasable,
        "policy_version": policy.version,
        "decision_valid_until": _concession_expiry(decision, facts, now),
        "decided_at": now if changed else lot.decided_at,
        "inspection_accepted": lot.inspection_accepted,
    }
    outcome = None
    verdict = decision.original_inspection_accepted
    if lot.inspection_accepted is None and verdict is not None and not lot.supplier_discontinued:
        columns["inspection_accepted"] = verdict
        outcome = LotOutcome(accepted=verdict, between_ac_and_re=decision.between_ac_and_re)
    event = None
    if changed:
        event = {
            "lot_id": lot.id,
            "at": now,
            "trigger": trigger,
            "actor": actor,
            "status": columns["status"],
            "disposition": columns["disposition"],
            "reasons": reasons,
            "allowed_uses": columns["allowed_uses"],
            "quantities": snapshot,
            "policy_version": policy.version,
        }
    return Redecision(decision, columns, event, outcome)


async def source_state(session: AsyncSession, supplier_id: int, product: str) -> SourceQuality:
    """The switching state of a supplier/product, locked for update (created at normal).

    The row is created with ON CONFLICT DO NOTHING, so that the first lots of a new source
    arriving at the same moment do not collide on its primary key.
    """
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    dialect_insert = postgresql_insert if on_postgresql else sqlite_insert
    await session.execute(
        dialect_insert(SourceQuality)
        .values(supplier_id=supplier_id, product=product, recent=[])
        .on_conflict_do_nothing(index_elements=["supplier_id", "product"])
    )
    state = await session.scalar(
        select(SourceQuality)
        .where(SourceQuality.supplier_id == supplier_id, SourceQuality.product == product)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert state is not None
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
    result = redecide(lot, facts, policy=policy, trigger=trigger, actor=actor, now=now)
    for column, value in result.columns.items():
        setattr(lot, column, value)
    if result.outcome is not None:
        await apply_switching_event(session, lot.supplier_id, lot.product, result.outcome, policy)
    if result.event is not None:
        session.add(DecisionEvent(**result.event))
        count_after_commit(session, lot.status)
    await session.flush()
    return result.decision
