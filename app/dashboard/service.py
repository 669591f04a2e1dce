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

from sqlalchemy import BigInteger, case, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.models import LotProductTotals, LotReasonTotals, LotTotals, LotWeekly
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
    ScorecardPage,
    Summary,
    UnitTotals,
    WeekPoint,
)
from app.decisions.models import SourceQuality
from app.lots.models import Lot
from app.lots.query import DISPOSITIONS, STATUSES, LotFilters
from app.paging import KeyPart, PageParams, sorted_page
from app.quality.decision import Status
from app.quality.sampling import Severity
from app.quality.signals import OPEN_REVIEW_STATE
from app.quality.statuses import DECIDED
from app.signals.models import AlertMatch
from app.suppliers.models import Supplier

# Filters the rollup tables can apply; any other filter reads the lots.
SOURCE_ROLLUP_FILTERS = frozenset({"status", "disposition", "supplier_id", "product"})
PRODUCT_ROLLUP_FILTERS = frozenset({"status", "disposition", "product"})
TOP_REASONS = 10


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


def _total(column: Any, name: str) -> Any:
    # As bigint: a numeric sum would reach Python as Decimal, several times slower to read.
    return cast(func.sum(column), BigInteger).label(name)


async def grouped_totals(
    session: AsyncSession,
    filters: LotFilters,
    by: Sequence[str],
    fields: Sequence[str] = TOTAL_FIELDS,
) -> Sequence[Any]:
    """Rows of the ``by`` columns with ``fields`` (lots, units, unit counters) summed."""
    if filters.uses_only(SOURCE_ROLLUP_FILTERS):
        by_product = filters.uses_only(PRODUCT_ROLLUP_FILTERS) and "supplier_id" not in by
        table: Any = LotProductTotals if by_product else LotTotals
        sums = [_total(getattr(table, name), name) for name in fields]
        conditions = filters.source_conditions(table)
    else:
        table = Lot
        sums = [
            func.count().label(name) if name == "lots" else _total(getattr(Lot, SUMS[name]), name)
            for name in fields
        ]
        conditions = filters.conditions(_dialect(session))
    keys = [getattr(table, name) for name in by]
    query = select(*keys, *sums).where(*conditions).group_by(*keys)
    return (await session.execute(query)).all()


async def top_reasons(session: AsyncSession, filters: LotFilters) -> list[ReasonCount]:
    if filters.uses_only(PRODUCT_ROLLUP_FILTERS):
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
    if filters.uses_only(PRODUCT_ROLLUP_FILTERS):
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


async def open_reviews(session: AsyncSession) -> int:
    query = select(func.count()).where(AlertMatch.state == OPEN_REVIEW_STATE.value)
    return int(await session.scalar(query) or 0)


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
        open_alert_reviews=await open_reviews(session),
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

    @property
    def lots_received(self) -> int:
        return sum(self.by_status.values())

    @property
    def rejected(self) -> int:
        return self.by_status[Status.rejected]

    @property
    def rejection_rate(self) -> float | None:
        return _rate(self.rejected, sum(self.by_status[s] for s in DECIDED))

    def merge(self, other: "_Card") -> None:
        for status, n in other.by_status.items():
            self.by_status[status] += n
        self.units_received += other.units_received
        self.units_recalled += other.units_recalled
        self.severity = max(self.severity, other.severity, key=_STRICTNESS.index)
        self.discontinued = self.discontinued or other.discontinued

    def out(self, supplier: Any) -> Scorecard:
        counts = self.by_status
        return Scorecard(
            supplier_id=self.supplier_id,
            supplier_name=supplier.name,
            country=supplier.country,
            product=self.product,
            lots_received=self.lots_received,
            accepted=counts[Status.accepted],
            restricted=counts[Status.restricted],
            rejected=self.rejected,
            on_hold=counts[Status.on_hold],
            suspect=counts[Status.suspect],
            rejection_rate=self.rejection_rate,
            units_received=self.units_received,
            units_recalled=self.units_recalled,
            severity=self.severity,
            discontinued=self.discontinued,
        )


async def _cards(session: AsyncSession, filters: LotFilters) -> list[_Card]:
    cards: dict[tuple[int, str], _Card] = {}
    by = ("supplier_id", "product", "status")
    for row in await grouped_totals(session, filters, by, ("lots", "units", "to_recall")):
        card = cards.get((row.supplier_id, row.product))
        if card is None:
            card = cards[(row.supplier_id, row.product)] = _Card(row.supplier_id, row.product)
        card.by_status[row.status] += int(row.lots)
        card.units_received += row.units or 0
        card.units_recalled += row.to_recall or 0
    states = select(
        SourceQuality.supplier_id,
        SourceQuality.product,
        SourceQuality.severity,
        SourceQuality.discontinued,
    )
    if filters.supplier_id is not None:
        states = states.where(SourceQuality.supplier_id == filters.supplier_id)
    for supplier_id, product, severity, discontinued in await session.execute(states):
        found = cards.get((supplier_id, product))
        if found is not None:
            found.severity, found.discontinued = severity, discontinued
    return [card for _, card in sorted(cards.items()) if card.lots_received]


def _by_supplier(cards: list[_Card]) -> list[_Card]:
    merged: dict[int, _Card] = {}
    for card in cards:
        total = merged.get(card.supplier_id)
        if total is None:
            total = merged[card.supplier_id] = _Card(
                card.supplier_id, None, severity=Severity.reduced
            )
        total.merge(card)
    return list(merged.values())


# The sort key's parts: no value (sorts last), the value (negated when descending),
# supplier id, product ("" for a supplier's card).
_SORT_KEY_PARTS = (KeyPart(bool), KeyPart(float), KeyPart(int), KeyPart(str))


def _sort_key(sort: str) -> Any:
    name = sort.removeprefix("-")
    descending = sort.startswith("-")

    def key(card: _Card) -> tuple[Any, ...]:
        value = getattr(card, name)
        missing = value is None  # no rate yet: always last
        number = 0 if missing else (-value if descending else value)
        return (missing, number, card.supplier_id, card.product or "")

    return key


async def scorecards(
    session: AsyncSession,
    filters: LotFilters,
    *,
    per_product: bool,
    sort: str,
    page: PageParams,
) -> ScorecardPage:
    """The page of cards in the requested order, and how many cards match."""
    cards = await _cards(session, filters)
    if not per_product:
        cards = _by_supplier(cards)
    key = _sort_key(sort)
    rows = sorted_page(sorted(cards, key=key), key, _SORT_KEY_PARTS, page)
    wanted = {card.supplier_id for card in rows.rows}
    query = select(Supplier.id, Supplier.name, Supplier.country)
    if len(wanted) <= 100:  # a page; an IN list beyond that costs more than it saves
        query = query.where(Supplier.id.in_(wanted))
    suppliers = {row.id: row for row in await session.execute(query)}
    items = [card.out(suppliers[card.supplier_id]) for card in rows.rows]
    return ScorecardPage(items=items, next_cursor=rows.next_cursor, total=len(cards))
