"""`lotgate seed` on a small database: consistent, decided by the real engine, reproducible."""

from collections import defaultdict
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db import make_sessionmaker
from app.decisions.models import DecisionEvent, Reinstatement, SourceQuality
from app.decisions.policy import policy_from_settings
from app.decisions.service import load_facts, quantities_snapshot, reasons_json
from app.distributions.models import Distribution, SiteReturn
from app.lots.models import Lot
from app.quality.decision import decide
from app.quality.sampling import LotOutcome, SwitchingEvent, SwitchingState, advance
from app.quality.sampling import Reinstatement as ReinstatementEvent
from app.seed.generate import (
    AS_OF,
    Batch,
    IdPlan,
    LotMaker,
    arrivals,
    make_suppliers,
    sources_of,
)
from app.seed.run import seed
from tests.api.test_dashboard import EVERYTHING, rollup_snapshot, summary

LOTS = 200


async def test_seeded_data_is_consistent(
    settings: Settings, engine: AsyncEngine, viewer: httpx.AsyncClient
) -> None:
    report = await seed(settings.direct_url, LOTS, seed_value=7, say=lambda _: None)
    assert report.rows["lots"] == LOTS and report.rows["decision_events"] >= LOTS
    policy = policy_from_settings(settings)
    async with make_sessionmaker(engine)() as session:
        lots = list(await session.scalars(select(Lot).order_by(Lot.id)))
        assert len(lots) == LOTS
        assert len({lot.product for lot in lots}) >= 8
        assert {lot.status for lot in lots} >= {"accepted", "on_hold", "rejected", "restricted"}

        shipped = {
            lot_id: int(n)
            for lot_id, n in await session.execute(
                select(Distribution.lot_id, func.sum(Distribution.quantity)).group_by(
                    Distribution.lot_id
                )
            )
        }
        reported: dict[tuple[int, str], int] = {
            (lot_id, outcome): int(n)
            for lot_id, outcome, n in await session.execute(
                select(
                    SiteReturn.lot_id, SiteReturn.outcome, func.sum(SiteReturn.quantity)
                ).group_by(SiteReturn.lot_id, SiteReturn.outcome)
            )
        }
        events: dict[int, list[DecisionEvent]] = defaultdict(list)
        for event in await session.scalars(select(DecisionEvent).order_by(DecisionEvent.id)):
            events[event.lot_id].append(event)

        for lot in lots:
            # Quantities are conserved: the counters are the sums of the recorded movements.
            assert lot.distributed == shipped.get(lot.id, 0)
            assert lot.site_returned == reported.get((lot.id, "returned"), 0)
            assert lot.site_destroyed == reported.get((lot.id, "destroyed"), 0)
            assert lot.site_consumed == reported.get((lot.id, "consumed"), 0)
            assert lot.on_hand >= 0 and lot.outstanding_at_sites >= 0
            assert lot.quantity == (
                lot.on_hand
                + lot.outstanding_at_sites
                + lot.site_destroyed
                + lot.site_consumed
                + lot.returned_to_supplier
            )
            # The stored decision is what decide() gives on the stored facts.
            decision = decide(await load_facts(session, lot), policy, AS_OF)
            stored = (lot.status, lot.disposition, lot.allowed_uses, lot.reasons)
            computed = (
                decision.status.value,
                decision.disposition.value,
                list(decision.allowed_uses),
                reasons_json(decision),
            )
            assert stored == computed, lot.id
            assert (lot.to_recall, lot.to_return, lot.releasable) == (
                decision.to_recall,
                decision.to_return,
                decision.releasable,
            )
            # Its history ends with it.
            last = events[lot.id][-1]
            assert (last.status, last.disposition, last.at) == (
                lot.status,
                lot.disposition,
                lot.decided_at,
            )
            assert last.quantities == quantities_snapshot(lot)

        await _check_switching_states(session, lots)

    assert await rollup_snapshot(engine) == await rollup_snapshot(engine, rebuilt=True)
    assert (await summary(viewer))["lots"] == LOTS
    assert await summary(viewer) == await summary(viewer, **EVERYTHING)


async def _check_switching_states(session: Any, lots: list[Lot]) -> None:
    """Folding each source's verdicts and reinstatements in time order gives the stored
    source_quality row, and each lot was stamped with the state in force on arrival."""
    timeline: dict[tuple[int, str], list[tuple[datetime, int, SwitchingEvent | Lot]]] = defaultdict(
        list
    )
    for lot in lots:
        timeline[(lot.supplier_id, lot.product)].append((lot.received_at, 1, lot))
    for r in await session.scalars(select(Reinstatement)):
        timeline[(r.supplier_id, r.product)].append((r.created_at, 0, ReinstatementEvent()))
    stored = {
        (row.supplier_id, row.product): row for row in await session.scalars(select(SourceQuality))
    }
    assert set(stored) == set(timeline)
    for source, entries in timeline.items():
        state = SwitchingState()
        for _, _, entry in sorted(entries, key=lambda e: (e[0], e[1])):
            if not isinstance(entry, Lot):
                state = advance(state, entry, False)
                continue
            assert (entry.severity, entry.supplier_discontinued) == (
                state.severity,
                state.discontinued,
            )
            if entry.inspection_accepted is not None:
                state = advance(state, LotOutcome(entry.inspection_accepted), False)
        row = stored[source]
        assert (row.severity, row.discontinued, row.not_accepted_on_tightened) == (
            state.severity,
            state.discontinued,
            state.not_accepted_on_tightened,
        ), source


def _rows(lots: int, seed_value: int, workers: int) -> dict[str, list[dict[str, Any]]]:
    suppliers = make_suppliers(8, seed_value, 1)
    sources = sources_of(suppliers)
    ids = IdPlan(lots=1, suppliers=1, base=dict.fromkeys(IdPlan.SLOTS, 1))
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for part in range(workers):
        maker = LotMaker(suppliers, sources, ids, policy_from_settings(Settings()), seed_value)
        batch = Batch()
        for arrival in arrivals(lots, seed_value, len(sources)):
            if arrival.source % workers == part:
                maker.make(arrival, batch)
        for table, rows in batch.tables.items():
            tables[table] += rows
    return {table: sorted(rows, key=lambda r: r["id"]) for table, rows in tables.items()}


def test_same_seed_same_data_whatever_the_workers() -> None:
    one = _rows(150, 3, workers=1)
    assert one == _rows(150, 3, workers=3)
    assert one["lots"] != _rows(150, 4, workers=1)["lots"]
