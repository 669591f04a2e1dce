"""Alerts: recorded, matched against every lot, re-opening lots named strongly and
leaving weak matches for a person to confirm or dismiss."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.certificates.models import Certificate
from app.dashboard.rollup import note_other_change
from app.db import utcnow
from app.decisions.bulk import chunks, refresh_decisions
from app.decisions.service import refresh_decision
from app.errors import Conflict, NotFound
from app.lots.models import Lot
from app.lots.service import lock_lot
from app.quality.facts import Policy
from app.quality.identifiers import certificate_key
from app.quality.signals import AlertTermKind as K
from app.quality.signals import MatchState, MatchStrength, initial_state
from app.signals.matching import AlertSpec, Candidate, alert_spec, find_candidates
from app.signals.models import Alert, AlertMatch, AlertTerm
from app.signals.schemas import AlertCreate, AlertOut, MatchCounts, ReviewDecision


async def record_alert(
    session: AsyncSession, actor: Actor, data: AlertCreate, policy: Policy
) -> tuple[Alert, MatchCounts]:
    """The alert, its lookup terms, its matches against every lot; strongly named lots are
    decided again (suspect, the alert as reason) in this transaction."""
    names = data.names.model_dump()
    alert = Alert(**data.model_dump(exclude={"names"}), names=names, recorded_by=actor.name)
    session.add(alert)
    await session.flush()
    spec = alert_spec(alert.id, alert.source, names)
    await _store_terms(session, spec)
    candidates = await find_candidates(session, [spec], None)
    reopened = await _store_matches(session, candidates)
    alert.matched_at = utcnow()
    audit.record(
        session,
        actor,
        "alert.create",
        "alert",
        alert.id,
        after=AlertOut.model_validate(alert).model_dump(mode="json"),
    )
    if reopened:
        await refresh_decisions(
            session, reopened, policy=policy, trigger=f"alert:{alert.id}", actor=actor.name
        )
    strong = sum(c.strength == MatchStrength.strong for c in candidates)
    counts = MatchCounts(strong=strong, weak=len(candidates) - strong, reopened=len(reopened))
    return alert, counts


async def _store_terms(session: AsyncSession, spec: AlertSpec) -> None:
    rows = [
        {"alert_id": spec.id, "kind": kind.value, "value": value, "batch": batch}
        for kind, value, batch in spec.terms()
    ]
    if rows:
        await session.execute(insert(AlertTerm), rows)


async def _store_matches(session: AsyncSession, candidates: Sequence[Candidate]) -> list[int]:
    """Insert the matches not recorded yet; the lots strongly named (to decide again)."""
    if not candidates:
        return []
    lot_ids = sorted({c.lot_id for c in candidates})
    alert_ids = sorted({c.alert_id for c in candidates})
    known: set[tuple[int, int]] = set()
    for start in range(0, len(lot_ids), 5_000):
        recorded = await session.execute(
            select(AlertMatch.alert_id, AlertMatch.lot_id).where(
                AlertMatch.alert_id.in_(alert_ids),
                AlertMatch.lot_id.in_(lot_ids[start : start + 5_000]),
            )
        )
        known |= {(alert_id, lot_id) for alert_id, lot_id in recorded}
    now = utcnow()
    rows = [
        {
            "alert_id": c.alert_id,
            "lot_id": c.lot_id,
            "strength": c.strength.value,
            "matched_by": c.kind.value,
            "matched_value": c.value[:300],
            "score": c.score,
            "state": initial_state(c.strength).value,
            "created_at": now,
        }
        for c in candidates
        if (c.alert_id, c.lot_id) not in known
    ]
    for start in range(0, len(rows), 5_000):
        await session.execute(insert(AlertMatch), rows[start : start + 5_000])
    if rows:
        note_other_change(session.sync_session)
    return sorted(
        {
            c.lot_id
            for c in candidates
            if c.strength == MatchStrength.strong and (c.alert_id, c.lot_id) not in known
        }
    )


async def match_new_lots(session: AsyncSession, lot_ids: Sequence[int]) -> None:
    """Lots or certificates just added, against every alert recorded before them (a notice
    published before a lot arrived still counts); the caller decides the lots again."""
    if not lot_ids:
        return
    naming = await _alerts_that_may_name(session, lot_ids)
    if not naming:
        return
    alerts = await session.execute(
        select(Alert.id, Alert.source, Alert.names).where(Alert.id.in_(naming))
    )
    specs = [alert_spec(alert_id, source, names) for alert_id, source, names in alerts]
    await _store_matches(session, await find_candidates(session, specs, lot_ids))


async def _alerts_that_may_name(session: AsyncSession, lot_ids: Sequence[int]) -> list[int]:
    """Alerts whose terms (ix_alert_terms_kind_value) name an identifier of these lots or
    their certificates, and every alert naming a maker (names are compared fuzzily)."""
    found: set[int] = set()
    for chunk in chunks(lot_ids):
        gtins = select(Lot.gtin).where(Lot.id.in_(chunk), Lot.gtin.is_not(None))
        on_certificates = select(
            Certificate.number, Certificate.notified_body_number, Certificate.niosh_approval_number
        ).where(Certificate.lot_id.in_(chunk))
        numbers: set[str] = set()
        bodies: set[str] = set()
        approvals: set[str] = set()
        for number, body, approval in await session.execute(on_certificates):
            numbers.add(certificate_key(number))
            bodies.update([body] if body else [])
            approvals.update([approval] if approval else [])
        lot_gtins: set[str] = {gtin for gtin in await session.scalars(gtins) if gtin}
        by_kind: dict[tuple[K, ...], set[str]] = {
            (K.gtin_batch, K.gtin): lot_gtins,
            (K.certificate_number,): numbers,
            (K.notified_body_number,): bodies,
            (K.niosh_approval_number,): approvals,
        }
        conditions: list[ColumnElement[bool]] = [
            AlertTerm.kind.in_([k.value for k in kinds]) & AlertTerm.value.in_(sorted(values))
            for kinds, values in by_kind.items()
            if values
        ]
        conditions.append(AlertTerm.kind == K.manufacturer.value)
        found.update(await session.scalars(select(AlertTerm.alert_id).where(or_(*conditions))))
    return sorted(found)


async def get_alert(session: AsyncSession, alert_id: int) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"Alert {alert_id} does not exist.")
    return alert


async def review_match(
    session: AsyncSession,
    actor: Actor,
    alert_id: int,
    match_id: int,
    data: ReviewDecision,
    policy: Policy,
) -> AlertMatch:
    """A person's verdict on a weak match: confirmed, the lot re-opens; dismissed, nothing
    changes. Who and why are kept on the match and in the audit log."""
    match = await session.get(AlertMatch, match_id)
    if match is None or match.alert_id != alert_id:
        raise NotFound(f"Alert {alert_id} has no match {match_id}.")
    lot = await lock_lot(session, match.lot_id)
    await session.refresh(match, with_for_update=True)
    if match.state != MatchState.pending_review:
        raise Conflict(
            f"Match {match_id} is {match.state}: only a match waiting for review is decided.",
            state=match.state,
        )
    before = _match_snapshot(match)
    confirmed = data.decision == "confirm"
    match.state = (MatchState.confirmed if confirmed else MatchState.dismissed).value
    match.decided_by, match.decided_at, match.note = actor.name, utcnow(), data.reason
    await session.flush()
    note_other_change(session.sync_session)
    audit.record(
        session,
        actor,
        f"alert_match.{match.state}",
        "alert_match",
        match.id,
        before=before,
        after=_match_snapshot(match),
    )
    await refresh_decision(
        session,
        lot,
        policy=policy,
        trigger=f"alert:{alert_id}:review:{match.id}",
        actor=actor.name,
    )
    return match


def _match_snapshot(match: AlertMatch) -> dict[str, Any]:
    decided_at: datetime | None = match.decided_at
    return {
        "state": match.state,
        "decided_by": match.decided_by,
        "decided_at": decided_at.isoformat() if decided_at else None,
        "note": match.note,
    }
