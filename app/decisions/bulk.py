"""Decide many lots again at once, with the same rules and events as refresh_decision.

For bulk writes (imports): the facts of all touched lots are loaded with a few set-based
queries per chunk of lots, each lot is decided in memory (decisions.service.redecide), and
the lots, decision events and switching states are written with executemany statements.
The lots are locked in id order, as the single-lot path locks one at a time.
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
    for chunk in chunks(ids):
        lots = (
            await session.execute(
                select(*_LOT_COLUMNS)
                .where(among(session, Lot.id, chunk))
                .order_by(Lot.id)
                .with_for_update()
            )
        ).all()
        certificates, inspections, concessions = await _facts_rows(session, chunk)
        signals = await signals_by_lot(session, chunk)
        updates: list[dict[str, Any]] = []
        new_events: list[dict[str, Any]] = []
        for done, lot in enumerate(lots, start=1):
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # deciding is CPU work: let the server answer between
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
                updates.append({"id": lot.id, **result.columns})
            before = None if lot.id in new_lot_ids else contribution(stored.__getitem__)
            after = contribution(lambda name: result.columns.get(name, stored[name]))  # noqa: B023
            note_lot_change(session.sync_session, before, after)
            if result.event is not None:
                new_events.append(result.event)
            if result.outcome is not None:
                outcomes.append((lot.supplier_id, lot.product, result.outcome))
        encoded: dict[int, str] = {}  # JSON text of values in updates and new_events
        await update_rows(session, Lot, updates, encoded)
        if new_events:
            await append_rows(session, DecisionEvent, new_events, encoded)
            for event in new_events:
                count_after_commit(session, event["status"])
        events += len(new_events)
    if outcomes:
        await _apply_outcomes(session, outcomes, policy)
    return BulkRefresh(lots=len(ids), events=events)
