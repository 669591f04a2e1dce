"""Summaries and supplier scorecards over the lots matching a filter.

Filters a rollup can apply are answered from the rollup tables: supplier, product,
status and disposition from the totals by source; product, ordered_as, status,
disposition and a received range, or a decided range, from the totals by day, week and
month, with the lots of the partial days at the ends; a supplier with those from its totals
by week, with its lots of the partial weeks; a lot-number prefix of up to 8 characters from
the totals by prefix (app/dashboard/periods.py). Other filters (manufacturer, longer
prefixes, a prefix or a supplier with others, received and decided ranges together)
aggregate the matching lots, which those filters' indexes keep to the rows concerned.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.models import LotProductTotals, LotReasonTotals, LotTotals, LotWeekly
from app.dashboard.periods import Plan, plan
from app.dashboard.rollup import (
    SUMS,
    TOTAL_FIELDS,
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


def _merged(rows: Sequence[Any], by: Sequence[str], fields: Sequence[str]) -> list[Any]:
    """Rows of the same ``by`` values (from the rollup and from partial days) added up."""
    merged: dict[tuple[Any, ...], dict[str, int]] = {}
    for row in rows:
        sums = merged.setdefault(tuple(getattr(row, n) for n in by), dict.fromkeys(fields, 0))
        for name in fields:
            sums[name] += int(getattr(row, name) or 0)
    return [
        SimpleNamespace(**dict(zip(by, key, strict=True)), **sums) for key, sums in merged.items()
    ]


async def grouped_totals(
    session: AsyncSession,
    filters: LotFilters,
    by: Sequence[str],
    fields: Sequence[str] = TOTAL_FIELDS,
) -> Sequence[Any]:
    """Rows of the ``by`` columns with ``fields`` (lots, units, unit counters) summed."""
    found = None if filters.uses_only(SOURCE_ROLLUP_FILTERS) else plan(filters, by)
    if found is None:
        return await _grouped_totals(session, filters, by, fields)
    rows: list[Any] = []
    if found.span.uses_rollup:
        table = found.rollup.totals
        sums = [_total(getattr(table, name), name) for name in fields]
        keys = [getattr(table, name) for name in by]
        conditions = found.conditions(table, filters, _dialect(session))
        query = select(*keys, *sums).where(*conditions).group_by(*keys)
        rows.extend(await session.execute(query))
    for edge in found.edges(filters):
        rows.extend(await _grouped_totals(session, edge, by, fields))
    return _merged(rows, by, fields)


async def _grouped_totals(
    session: AsyncSession, filters: LotFilters, by: Sequence[str], fields: Sequence[str]
) -> Sequence[Any]:
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
    return _ranked(await reason_counts(session, filters))


def _ranked(counts: Counter[str]) -> list[ReasonCount]:
    ranked = sorted((-n, code) for code, n in counts.items() if n > 0)[:TOP_REASONS]
    return [ReasonCount(code=code, lots=-n) for n, code in ranked]


async def reason_counts(session: AsyncSession, filters: LotFilters) -> Counter[str]:
    """How many of the matching lots carry each warning or critical reason code."""
    if filters.uses_only(PRODUCT_ROLLUP_FILTERS):
        return await _rollup_reasons(
            session, LotReasonTotals, filters.source_conditions(LotReasonTotals)
        )
    found = plan(filters)
    if found is None:
        return await _lot_reasons(session, filters)
    counts: Counter[str] = Counter()
    if found.span.uses_rollup:
        table = found.rollup.reasons
        conditions = found.conditions(table, filters, _dialect(session))
        counts = await _rollup_reasons(session, table, conditions)
    for edge in found.edges(filters):
        counts.update(await _lot_reasons(session, edge))
    return counts


async def _rollup_reasons(
    session: AsyncSession, table: Any, conditions: list[ColumnElement[bool]]
) -> Counter[str]:
    query = select(table.code, func.sum(table.lots)).where(*conditions).group_by(table.code)
    return Counter({str(code): int(n) for code, n in await session.execute(query)})


async def _lot_reasons(session: AsyncSession, filters: LotFilters) -> Counter[str]:
    # Lots with the same codes counted together: a few groups, and no JSON parsed.
    query = (
        select(Lot.reason_codes, func.count())
        .where(*filters.conditions(_dialect(session)), Lot.reason_codes != "")
        .group_by(Lot.reason_codes)
    )
    counts: Counter[str] = Counter()
    for codes, n in await session.execute(query):
        counts.update(dict.fromkeys(codes.split(","), int(n)))
    return counts


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


WeekCounts = dict[date, tuple[int, int, int]]  # received, accepted, rejected


async def weekly(session: AsyncSession, filters: LotFilters) -> list[WeekPoint]:
    found = None if filters.uses_only(PRODUCT_ROLLUP_FILTERS) else plan(filters)
    if found is None:
        weeks = await _weekly(session, filters, None)
    else:
        weeks = await _weekly(session, filters, found) if found.weekly.uses_rollup else {}
        for edge in found.edges(filters):
            for monday, counts in (await _weekly(session, edge, None)).items():
                received, accepted, rejected = weeks.get(monday, (0, 0, 0))
                weeks[monday] = (
                    received + counts[0],
                    accepted + counts[1],
                    rejected + counts[2],
                )
    return _series(weeks)


async def _weekly(session: AsyncSession, filters: LotFilters, found: Plan | None) -> WeekCounts:
    week: Any
    lots: Any
    status: Any
    if found is not None:
        table: Any = found.rollup.totals
        week, lots, status = table.week, table.lots, table.status
        conditions = found.conditions(table, filters, _dialect(session), weekly=True)
    elif filters.uses_only(PRODUCT_ROLLUP_FILTERS):
        week, lots, status = LotWeekly.week, LotWeekly.lots, LotWeekly.status
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
    return {
        _as_date(w): (int(n), int(a), int(r))
        for w, n, a, r in await session.execute(query)
        if int(n)
    }


def _series(found: WeekCounts) -> list[WeekPoint]:
    """Every week from the first to the last with lots, empty ones included."""
    found = {monday: counts for monday, counts in found.items() if counts[0]}
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


async def lot_groups(session: AsyncSession, filters: LotFilters, sums: bool) -> list[Any]:
    """The matching lots grouped by status, disposition, week received and reason codes, in
    one pass (with the totals of TOTAL_FIELDS when ``sums``): what a summary needs of them."""
    dialect = _dialect(session)
    keys = [Lot.status, Lot.disposition, week_expression(dialect).label("week"), Lot.reason_codes]
    totals = [func.count().label("lots")]
    if sums:
        totals += [_total(getattr(Lot, SUMS[name]), name) for name in TOTAL_FIELDS[1:]]
    query = select(*keys, *totals).where(*filters.conditions(dialect)).group_by(*keys)
    return list(await session.execute(query))


def _reasons_of(groups: list[Any]) -> list[ReasonCount]:
    counts: Counter[str] = Counter()
    for group in groups:
        if group.reason_codes:
            counts.update(dict.fromkeys(group.reason_codes.split(","), int(group.lots)))
    return _ranked(counts)


def _weeks_of(groups: list[Any]) -> list[WeekPoint]:
    found: WeekCounts = {}
    for group in groups:
        monday, n = _as_date(group.week), int(group.lots)
        received, accepted, rejected = found.get(monday, (0, 0, 0))
        found[monday] = (
            received + n,
            accepted + n * (group.status == Status.accepted),
            rejected + n * (group.status == Status.rejected),
        )
    return _series(found)


async def summary(session: AsyncSession, filters: LotFilters) -> Summary:
    # Filters no rollup answers read the lots once for totals, reasons and weeks.
    from_lots = plan(filters) is None and not filters.uses_only(PRODUCT_ROLLUP_FILTERS)
    totals_from_lots = from_lots and not filters.uses_only(SOURCE_ROLLUP_FILTERS)
    groups = await lot_groups(session, filters, totals_from_lots) if from_lots else []
    if totals_from_lots:
        rows: Sequence[Any] = _merged(groups, ("status", "disposition"), TOTAL_FIELDS)
    else:
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
        top_reasons=_reasons_of(groups) if from_lots else await top_reasons(session, filters),
        weekly=_weeks_of(groups) if from_lots else await weekly(session, filters),
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
