"""A range cut into what a rollup by period holds and what only the lots hold.

``[received_from, received_to)`` at any timestamp becomes, for LotPeriodTotals: the lots of
the partial day at each end (a few hundred rows, read through ix_lots_received_at_id),
whole days up to the first of a month and from the last one, and whole months in between
(for totals and reasons; the weekly series reads weeks the same way). An open end reaches
every month on that side. A decided range is cut the same way for
LotDecidedTotals, in calendar months instead of weeks (partial days through
ix_lots_decided_at_id). LotSupplierWeeks has weeks only: one supplier's lots of the partial
weeks at the ends are read through ix_lots_supplier_received. LotPrefixWeeks answers short
lot-number prefixes without a range (every week).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true

from app.dashboard.models import (
    LotDecidedTotals,
    LotPeriodTotals,
    LotPrefixWeekReasons,
    LotPrefixWeeks,
    LotSupplierWeeks,
)
from app.dashboard.rollup import MONTH, PREFIX_LENGTH, REASONS_OF, WEEK, day_of, monday_of, month_of
from app.lots.query import LotFilters, lot_number_prefix

_PRODUCT_FILTERS = frozenset({"status", "disposition", "product"})
_BUCKET_FILTERS = _PRODUCT_FILTERS | {"ordered_as"}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _day_after(moment: datetime) -> date:
    """The first whole day at or after a moment."""
    day = day_of(moment)
    return day if _midnight(day) == moment.astimezone(UTC) else day + timedelta(days=1)


def _start(grain: int, day: date) -> date:
    """The first day of the week (grain 7) or month (MONTH) of a day."""
    return monday_of(day) if grain == WEEK else month_of(day)


def _next_start(grain: int, day: date) -> date:
    """The first day of a week or month at or after a day."""
    start = _start(grain, day)
    return start if start == day else _start(grain, start + timedelta(days=grain))


@dataclass(frozen=True)
class Span:
    """Half-open pieces; None is an open end. ``whole`` is a range of periods of ``grain``
    days (WEEK or MONTH) and ``days`` two ranges of days (either possibly empty); ``edges``
    are ranges read from the lots."""

    grain: int
    whole: tuple[date | None, date | None] | None
    days: tuple[tuple[date, date], ...]
    edges: tuple[tuple[datetime, datetime], ...]

    @property
    def uses_rollup(self) -> bool:
        return self.whole is not None or bool(self.days)


def split(low: datetime | None, high: datetime | None, grain: int, by_day: bool) -> Span:
    """``[low, high)`` in whole periods of ``grain`` days, then (``by_day``) whole days,
    then the lots of what is left at each end."""
    first = _day_after(low) if low is not None else None
    last = day_of(high) if high is not None else None  # whole days end before this one
    if not by_day:
        first = _next_start(grain, first) if first is not None else None
        last = _start(grain, last) if last is not None else None
    if first is not None and last is not None and first >= last:
        assert low is not None and high is not None
        return Span(grain, None, (), ((low, high),))  # within a day (or a period)
    edges = []
    if low is not None and first is not None and _midnight(first) != low:
        edges.append((low, _midnight(first)))
    if high is not None and last is not None and _midnight(last) != high:
        edges.append((_midnight(last), high))
    whole_from = _next_start(grain, first) if first is not None else None
    whole_to = _start(grain, last) if last is not None else None
    if whole_from is not None and whole_to is not None and whole_from >= whole_to:
        assert first is not None and last is not None
        return Span(grain, None, ((first, last),), tuple(edges))
    days = []
    if first is not None and whole_from is not None and first < whole_from:
        days.append((first, whole_from))
    if last is not None and whole_to is not None and whole_to < last:
        days.append((whole_to, last))
    return Span(grain, (whole_from, whole_to), tuple(days), tuple(edges))


def period_conditions(table: Any, span: Span) -> ColumnElement[bool]:
    """The rows of ``table`` (a rollup by period or its reasons) the span reads."""
    pieces: list[ColumnElement[bool]] = []
    if span.whole is not None:
        start, end = span.whole
        by_day = hasattr(table, "days")  # LotSupplierWeeks, LotPrefixWeeks: weeks only
        whole = [table.days == span.grain] if by_day else []
        if start is not None:
            whole.append((table.period if by_day else table.week) >= start)
        if end is not None:
            whole.append((table.period if by_day else table.week) < end)
        pieces.append(and_(true(), *whole))
    for start, end in span.days:
        pieces.append(and_(table.days == 1, table.period >= start, table.period < end))
    return or_(*pieces)


@dataclass(frozen=True)
class Rollup:
    """A table of totals by period (with its reasons table) and the range it cuts."""

    totals: Any
    reasons: Any
    moment: str  # "received" or "decided": the range split into its periods
    filters: frozenset[str]  # the filters it applies
    grain: int  # its longest periods (WEEK or MONTH), for totals and reasons
    weekly_grain: int  # its longest periods by week received, for the weekly series
    by_day: bool  # whether it has periods of a day too

    def span(self, filters: LotFilters, grain: int) -> Span:
        low, high = getattr(filters, f"{self.moment}_from"), getattr(filters, f"{self.moment}_to")
        return split(low, high, grain, self.by_day)

    def conditions(
        self, table: Any, filters: LotFilters, span: Span, dialect: str
    ) -> list[ColumnElement[bool]]:
        conditions = [*filters.source_conditions(table), period_conditions(table, span)]
        if filters.ordered_as is not None:
            conditions.append(table.ordered_as == filters.ordered_as)
        if filters.q is not None:  # the lot numbers that start with q start the same
            conditions.append(lot_number_prefix(filters.q, dialect, table.prefix))
        return conditions

    def edges(self, filters: LotFilters, span: Span) -> list[LotFilters]:
        """The filters that read each partial day (or week) at the ends from the lots."""
        names = (f"{self.moment}_from", f"{self.moment}_to")
        edges: list[dict[str, Any]] = [dict(zip(names, edge, strict=True)) for edge in span.edges]
        return [replace(filters, **edge) for edge in edges]


def _rollup(totals: Any, moment: str, grains: tuple[int, int], also: str = "") -> Rollup:
    filters = _BUCKET_FILTERS | {f"{moment}_from", f"{moment}_to", also} - {""}
    by_day = totals is not LotSupplierWeeks
    return Rollup(totals, REASONS_OF[totals], moment, frozenset(filters), *grains, by_day)


# In order of preference.
ROLLUPS = (
    _rollup(LotPeriodTotals, "received", (MONTH, WEEK)),
    _rollup(LotDecidedTotals, "decided", (MONTH, MONTH)),
    _rollup(LotSupplierWeeks, "received", (WEEK, WEEK), "supplier_id"),
    # Every week (no range: the lots of partial weeks would be too many to read).
    Rollup(
        LotPrefixWeeks, LotPrefixWeekReasons, "received", _BUCKET_FILTERS | {"q"}, WEEK, WEEK, False
    ),
)


@dataclass(frozen=True)
class Plan:
    """A rollup and the spans it reads: ``span`` for totals and reasons, ``weekly`` for
    the weekly series (the same partial days at the ends)."""

    rollup: Rollup
    span: Span
    weekly: Span

    def conditions(
        self, table: Any, filters: LotFilters, dialect: str, weekly: bool = False
    ) -> list[ColumnElement[bool]]:
        span = self.weekly if weekly else self.span
        return self.rollup.conditions(table, filters, span, dialect)

    def edges(self, filters: LotFilters) -> list[LotFilters]:
        return self.rollup.edges(filters, self.span)


def plan(filters: LotFilters, by: Sequence[str] = ()) -> Plan | None:
    """The rollup by period that answers these filters (grouped by ``by``), if any; none
    for filters the totals by product answer from fewer rows."""
    used = filters.used()
    if used <= _PRODUCT_FILTERS or len(filters.q or "") > PREFIX_LENGTH:
        return None
    if "supplier_id" in by and filters.supplier_id is None and _short(filters):
        return None
    for rollup in ROLLUPS:
        if used <= rollup.filters and all(hasattr(rollup.totals, name) for name in by):
            grains = (rollup.grain, rollup.weekly_grain)
            return Plan(rollup, *(rollup.span(filters, grain) for grain in grains))
    return None


# Every supplier's weeks (scorecards without a supplier) cost more than the lots of a range
# shorter than this, and the lots of its partial weeks at the ends are many (measured on
# 1,000,000 lots: a received month 77 ms from the lots, 171 ms from the weeks; a year about
# even; everything since 2020 1,044 ms against 567 ms).
_EVERY_SUPPLIER_FROM = timedelta(days=300)


def _short(filters: LotFilters) -> bool:
    low, high = filters.received_from, filters.received_to
    return low is not None and high is not None and high - low < _EVERY_SUPPLIER_FROM
