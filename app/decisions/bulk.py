"""Decide many lots again at once, with the same rules and events as refresh_decision.

For bulk writes (imports): the facts of all touched lots are loaded with a few set-based
queries per chunk of lots, each lot is decided in memory (decisions.service.redecide), and
the lots whose decision columns changed and the decision events are written with COPY
(app.bulk_writes), the switching states through the ORM. The lots are locked in id order,
as the single-lot path locks one at a time. A chunk is written while the next one is
decided, so that the database's work and Python's overlap (two cores); the connection is
used by one of them at a time (the write is awaited before the next chunk loads).
"""

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.bulk_writes import append_rows, update_rows
from app.certificates.models import Certificate
from app.dashboard.rollup import contribution, note_lot_change
from app.db import utcnow
from app.decisions.metrics import count_after_commit
from app.decisions.models import Concession, DecisionEvent, SourceQuality
from app.decisions.service import (
    as_switching_state,
    lot_facts,
    redecide,
    source_state,
    store_switching_state,
)
from app.id_lists import among
from app.inspections.models import Inspection
from app.lots.models import Lot
from app.quality.facts import Policy
from app.quality.quantities import MOVEMENTS
from app.quality.sampling import LotOutcome, advance
from app.signals.facts import signals_by_lot

# Bound parameters per IN (...) list: below SQLite's 32,766 and asyncpg's 32,767.
CHUNK = 5_000
# Lots decided between two turns of the event loop (~0.2 ms of CPU each).
YIELD_EVERY = 100

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class BulkRefresh:
    lots: int
    events: int


# What deciding (decisions.service.LotRecord) and the dashboard rollup read of a lot, and
# what lot_facts reads of an inspection: not every column (JSON is decoded per row).
_LOT_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (
    Lot.id,
    Lot.lot_number,
    Lot.supplier_id,
    Lot.product,
    Lot.ordered_as,
    Lot.quantity,
    Lot.received_at,
    Lot.ear_loops,
    Lot.severity,
    Lot.supplier_discontinued,
    Lot.inspection_accepted,
    *(getattr(Lot, movement) for movement in MOVEMENTS),
    Lot.status,
    Lot.disposition,
    Lot.reasons,
    Lot.reason_codes,
    Lot.allowed_uses,
    Lot.policy_version,
    Lot.decision_valid_until,
    Lot.to_recall,
    Lot.to_return,
    Lot.releasable,
    Lot.decided_at,
)
_INSPECTION_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (
    Inspection.id,
    Inspection.lot_id,
    Inspection.report_number,
    Inspection.kind,
    Inspection.sample_size,
    Inspection.performed_at,
    Inspection.defects,
    Inspection.measurements,
    Inspection.confirms,
)


def _by_lot(rows: Iterable[Row[Any]]) -> dict[int, list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        grouped[row.lot_id].append(row)
    return grouped


async def _facts_rows(
    session: AsyncSession, lot_ids: Sequence[int]
) -> tuple[dict[int, list[Row[Any]]], dict[int, list[Row[Any]]], dict[int, list[Row[Any]]]]:
    certificates = await session.execute(
        select(Certificate.__table__)
        .where(among(session, Certificate.lot_id, lot_ids))
        .order_by(Certificate.lot_id, Certificate.id)
    )
    inspections = await session.execute(
        select(*_INSPECTION_COLUMNS)
        .where(among(session, Inspection.lot_id, lot_ids))
        .order_by(Inspection.lot_id, Inspection.performed_at, Inspection.id)
    )
    concessions = await session.execute(
        select(Concession.__table__)
        .where(among(session, Concession.lot_id, lot_ids))
        .order_by(Concession.lot_id, Concession.id)
    )
    return _by_lot(certificates), _by_lot(inspections), _by_lot(concessions)


def _differs(stored: Mapping[Any, Any], columns: Mapping[str, Any]) -> bool:
    """Whether storing ``columns`` changes the lot: unchanged lots are not written."""
    return any(stored[name] != value for name, value in columns.items())


async def _apply_outcomes(
    session: AsyncSession, outcomes: list[tuple[int, str, LotOutcome]], policy: Policy
) -> None:
    """Advance each source's switching state by its lots' verdicts, in lot order."""
    rows: dict[tuple[int, str], SourceQuality] = {}
    for supplier_id, product, outcome in outcomes:
        key = (supplier_id, product)
        if key not in rows:
            rows[key] = await source_state(session, supplier_id, product)
        state = advance(as_switching_state(rows[key]), outcome, policy.reduced_inspection_enabled)
        store_switching_state(rows[key], state)
    await session.flush()


@dataclass
class _Decided:
    """A chunk decided in memory, to be written."""

    updates: list[dict[str, Any]]
    events: list[dict[str, Any]]


async def _load(session: AsyncSession, chunk: Sequence[int]) -> tuple[Any, ...]:
    """The chunk's lots, locked in id order, and their facts."""
    lots = (
        await session.execute(
            select(*_LOT_COLUMNS)
            .where(among(session, Lot.id, chunk))
            .order_by(Lot.id)
            .with_for_update()
        )
    ).all()
    certificates, inspections, concessions = await _facts_rows(session, chunk)
    return lots, certificates, inspections, concessions, await signals_by_lot(session, chunk)


async def _store(session: AsyncSession, decided: _Decided) -> None:
    encoded: dict[int, str] = {}  # JSON text of values in updates and events
    await update_rows(session, Lot, decided.updates, encoded)
    if decided.events:
        await append_rows(session, DecisionEvent, decided.events, encoded)
        for event in decided.events:
            count_after_commit(session, event["status"])


async def refresh_decisions(
    session: AsyncSession,
    lot_ids: Iterable[int],
    *,
    policy: Policy,
    trigger: str,
    actor: str,
    now: datetime | None = None,
    new_lot_ids: frozenset[int] = frozenset(),
) -> BulkRefresh:
    """Decide the given lots again; store each decision and append events where they changed.

    ``new_lot_ids``: lots inserted in this transaction without the ORM, which the
    dashboard totals do not count yet.
    """
    now = now or utcnow()
    ids = sorted(set(lot_ids))
    events = 0
    outcomes: list[tuple[int, str, LotOutcome]] = []
    previous: _Decided | None = None
    for chunk in chunks(ids, CHUNK):
        lots, certificates, inspections, concessions, signals = await _load(session, chunk)
        writing = None if previous is None else asyncio.ensure_future(_store(session, previous))
        try:
            decided = _Decided([], [])
            for done, lot in enumerate(lots, start=1):
                if done % YIELD_EVERY == 0:
                    # Deciding is CPU work: let the server answer, the write go on.
                    await asyncio.sleep(0)
                facts = lot_facts(
                    lot,
                    certificates.get(lot.id, ()),
                    inspections.get(lot.id, ()),
                    concessions.get(lot.id, ()),
                    signals.get(lot.id, ()),
                )
                result = redecide(lot, facts, policy=policy, trigger=trigger, actor=actor, now=now)
                stored = lot._mapping
                if lot.id in new_lot_ids or _differs(stored, result.columns):
                    decided.updates.append({"id": lot.id, **result.columns})
                before = None if lot.id in new_lot_ids else contribution(stored.__getitem__)
                after = contribution(lambda name: result.columns.get(name, stored[name]))  # noqa: B023
                note_lot_change(session.sync_session, before, after)
                if result.event is not None:
                    decided.events.append(result.event)
                if result.outcome is not None:
                    outcomes.append((lot.supplier_id, lot.product, result.outcome))
        finally:
            if writing is not None:
                await writing  # an error in the write wins over one in deciding
        events += len(decided.events)
        previous = decided
    if previous is not None:
        await _store(session, previous)
    if outcomes:
        await _apply_outcomes(session, outcomes, policy)
    return BulkRefresh(lots=len(ids), events=events)
