"""Summaries and supplier scorecards over the lots matching a filter.

Filters a rollup can apply (supplier, product, status, disposition) are answered from
the rollup tables, a few thousand rows whatever the number of lots; any other filter
(time ranges, manufacturer, ordered_as, lot number) aggregates the matching lots, which
those filters' indexes keep to the rows concerned.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.models import LotReasonTotals, LotTotals, LotWeekly
from app.dashboard.rollup import (
    REASON_SEVERITIES,
    SUMS,
    TOTAL_FIELDS,
    reason_elements,
    week_expression,
)
from app.dashboard.schemas import (
    Count,
    ReasonCount,
    RejectionRate,
    Scorecard,
    Summary,
    UnitTotals,
    WeekPoint,
)
from app.decisions.models import SourceQuality
from app.lots.models import Lot
from app.lots.query import DISPOSITIONS, STATUSES, LotFilters
from app.quality.decision import Status
from app.quality.sampling import Severity
from app.suppliers.models import Supplier

SOURCE_ROLLUP_FILTERS = frozenset({"status", "disposition", "supplier_id", "product"})
WEEKLY_ROLLUP_FILTERS = frozenset({"status", "disposition", "product"})
TOP_REASONS = 10
DECIDED = (Status.accepted, Status.restricted, Status.rejected)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


@dataclass
class Totals:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTAL_FIELDS, 0))

    def add(self, row: Any) -> None:
        for name in TOTAL_FIELDS:
            self.values[name] += int(getattr(row, name) or 0)

    def __getitem__(self, name: str) -> int:
        return self.values[name]


async def grouped_totals(
    session: AsyncSession, filters: LotFilters, by: Sequence[str]
) -> Sequence[Any]:
    """Rows of the ``by`` columns with lots, units and every unit counter summed."""
    if filters.uses_only(SOURCE_ROLLUP_FILTERS):
        sums = [func.sum(getattr(LotTotals, name)).label(name) for name in TOTAL_FIELDS]
        keys = [getattr(LotTotals, name) for name in by]
        conditions = filters.source_conditions(LotTotals)
    else:
        sums = [func.count().label("lots")] + [
            func.sum(getattr(Lot, attribute)).label(name) for name, attribute in SUMS.items()
        ]
        keys = [getattr(Lot, name) for name in by]
        conditions = filters.conditions(_dialect(session))
    query = select(*keys, *sums).where(*conditions).group_by(*keys)
    return (await session.execute(query)).all()


async def top_reasons(session: AsyncSession, filters: LotFilters) -> list[ReasonCount]:
    if filters.uses_only(SOURCE_ROLLUP_FILTERS):
        lots = func.sum(LotReasonTotals.lots)
        query = (
            select(LotReasonTotals.code, lots)
            .where(*filters.source_conditions(LotReasonTotals))
            .group_by(LotReasonTotals.code)
            .having(lots > 0)
            .order_by(lots.desc(), LotReasonTotals.code)
        )
    else:
        dialect = _dialect(session)
        element, code, severity = reason_elements(dialect)
        per_lot = (
            select(Lot.id, code.label("code"))
            .select_from(Lot)
            .join(element, true())
            .where(*filters.conditions(dialect), severity.in_(REASON_SEVERITIES))
            .distinct()
            .subquery()
        )
        count = func.count()
        query = (
            select(per_lot.c.code, count)
            .group_by(per_lot.c.code)
            .order_by(count.desc(), per_lot.c.code)
        )
    rows = await session.execute(query.limit(TOP_REASONS))
    return [ReasonCount(code=str(code), lots=int(n)) for code, n in rows]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def weekly(session: AsyncSession, filters: LotFilters) -> list[WeekPoint]:
    if filters.uses_only(WEEKLY_ROLLUP_FILTERS):
        week: Any = LotWeekly.week
        lots: Any = LotWeekly.lots
        status: Any = LotWeekly.status
        conditions = filters.source_conditions(LotWeekly)
    else:
        dialect = _dialect(session)
        week, lots, status = week_expression(dialect), 1, Lot.status
        conditions = filters.conditions(dialect)
    query = (
        select(
            week,
            func.sum(lots),
            func.sum(case((status == Status.accepted.value, lots), else_=0)),
            func.sum(case((status == Status.rejected.value, lots), else_=0)),
        )
        .where(*conditions)
        .group_by(week)
        .order_by(week)
    )
    found = {
        _as_date(w): (int(n), int(a), int(r))
        for w, n, a, r in await session.execute(query)
        if int(n)
    }
    if not found:
        return []
    points, monday, last = [], min(found), max(found)
    while monday <= last:
        received, accepted, rejected = found.get(monday, (0, 0, 0))
        points.append(
            WeekPoint(week=monday, received=received, accepted=accepted, rejected=rejected)
        )
        monday += timedelta(days=7)
    return points


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def summary(session: AsyncSession, filters: LotFilters) -> Summary:
    rows = await grouped_totals(session, filters, ("status", "disposition"))
    overall = Totals()
    by_status = {s: Totals() for s in STATUSES}
    by_disposition = {d: Totals() for d in DISPOSITIONS}
    for row in rows:
        overall.add(row)
        by_status.setdefault(row.status, Totals()).add(row)
        by_disposition.setdefault(row.disposition, Totals()).add(row)
    decided_lots = sum(by_status[s]["lots"] for s in DECIDED)
    decided_units = sum(by_status[s]["units"] for s in DECIDED)
    rejected = by_status[Status.rejected]
    return Summary(
        lots=overall["lots"],
        by_status={k: Count(lots=t["lots"], units=t["units"]) for k, t in by_status.items()},
        by_disposition={
            k: Count(lots=t["lots"], units=t["units"]) for k, t in by_disposition.items()
        },
        units=UnitTotals(
            received=overall["units"],
            distributed=overall["distributed"],
            outstanding_at_sites=overall["distributed"]
            - overall["site_returned"]
            - overall["site_destroyed"]
            - overall["site_consumed"],
            recalled=overall["to_recall"],
            returned_by_sites=overall["site_returned"],
            destroyed_at_sites=overall["site_destroyed"],
            consumed_at_sites=overall["site_consumed"],
            returned_to_suppliers=overall["returned_to_supplier"],
            to_return=overall["to_return"],
            releasable=overall["releasable"],
        ),
        rejection_rate=RejectionRate(
            by_lots=_rate(rejected["lots"], decided_lots),
            by_units=_rate(rejected["units"], decided_units),
            decided_lots=decided_lots,
            decided_units=decided_units,
        ),
        top_reasons=await top_reasons(session, filters),
        weekly=await weekly(session, filters),
    )


# --- Scorecards ---------------------------------------------------------------------

SCORECARD_SORTS: tuple[str, ...] = tuple(
    f"{sign}{name}"
    for name in ("lots_received", "rejected", "rejection_rate", "units_recalled", "supplier_id")
    for sign in ("", "-")
)
# The strictest severity wins when a supplier's products are summed up.
_STRICTNESS = (Severity.reduced, Severity.normal, Severity.tightened)


@dataclass
class _Card:
    supplier_id: int
    product: str | None
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    units_received: int = 0
    units_recalled: int = 0
    severity: str = Severity.normal
    discontinued: bool = False

    def merge(self, other: "_Card") -> None:
        for status, n in other.by_status.items():
            self.by_status[status] += n
        self.units_received += other.units_received
        self.units_recalled += other.units_recalled
        self.severity = max(self.severity, other.severity, key=_STRICTNESS.index)
        self.discontinued = self.discontinued or other.discontinued


async def _cards(session: AsyncSession, filters: LotFilters) -> dict[tuple[int, str], _Card]:
    cards: dict[tuple[int, str], _Card] = {}
    for row in await grouped_totals(session, filters, ("supplier_id", "product", "status")):
        card = cards.setdefault((row.supplier_id, row.product), _Card(row.supplier_id, row.product))
        card.by_status[row.status] = card.by_status.get(row.status, 0) + int(row.lots)
        card.units_received += int(row.units or 0)
        card.units_recalled += int(row.to_recall or 0)
    states = await session.execute(
        select(
            SourceQuality.supplier_id,
            SourceQuality.product,
            SourceQuality.severity,
            SourceQuality.discontinued,
        )
    )
    for supplier_id, product, severity, discontinued in states:
        found = cards.get((supplier_id, product))
        if found is not None:
            found.severity, found.discontinued = severity, discontinued
    return {key: card for key, card in cards.items() if sum(card.by_status.values())}


def _sort_key(sort: str) -> Any:
    name = sort.removeprefix("-")
    descending = sort.startswith("-")

    def key(card: Scorecard) -> tuple[Any, ...]:
        value = getattr(card, name)
        missing = value is None  # no rate yet: always last
        number = 0 if missing else (-value if descending else value)
        return (missing, number, card.supplier_id, card.product or "")

    return key


async def scorecards(
    session: AsyncSession, filters: LotFilters, *, per_product: bool, sort: str
) -> list[Scorecard]:
    cards = await _cards(session, filters)
    if not per_product:
        merged: dict[int, _Card] = {}
        for (supplier_id, _product), card in sorted(cards.items()):
            merged.setdefault(
                supplier_id, _Card(supplier_id, None, severity=Severity.reduced)
            ).merge(card)
        cards = {(k, ""): v for k, v in merged.items()}
    suppliers = {
        row.id: row
        for row in await session.execute(
            select(Supplier.id, Supplier.name, Supplier.country).where(
                Supplier.id.in_({card.supplier_id for card in cards.values()})
            )
        )
    }
    out = []
    for card in cards.values():
        counts = card.by_status
        decided = sum(counts[s] for s in DECIDED)
        supplier = suppliers[card.supplier_id]
        out.append(
            Scorecard(
                supplier_id=card.supplier_id,
                supplier_name=supplier.name,
                country=supplier.country,
                product=card.product,
                lots_received=sum(counts.values()),
                accepted=counts[Status.accepted],
                restricted=counts[Status.restricted],
                rejected=counts[Status.rejected],
                on_hold=counts[Status.on_hold],
                suspect=counts[Status.suspect],
                rejection_rate=_rate(counts[Status.rejected], decided),
                units_received=card.units_received,
                units_recalled=card.units_recalled,
                severity=card.severity,
                discontinued=card.discontinued,
            )
        )
    return sorted(out, key=_sort_key(sort))
