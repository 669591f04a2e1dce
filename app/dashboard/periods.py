"""A range cut into what a rollup by period holds and what only the lots hold.

``[received_from, received_to)`` at any timestamp becomes, for LotPeriodTotals: the lots of
the partial day at each end (a few hundred rows, read through ix_lots_received_at_id),
whole days up to the first Monday and from the last one, and whole weeks in between. An
open end reaches every week on that side. A decided range is cut the same way for
LotDecidedTotals (partial days through ix_lots_decided_at_id). LotSupplierWeeks has weeks
only: one supplier's lots of the partial weeks at the ends are read through
ix_lots_supplier_received.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true

from app.dashboard.models import LotDecidedTotals, LotPeriodTotals, LotSupplierWeeks
from app.dashboard.rollup import REASONS_OF, day_of, monday_of
from app.lots.query import LotFilters

_PRODUCT_FILTERS = frozenset({"status", "disposition", "product"})
_BUCKET_FILTERS = _PRODUCT_FILTERS | {"ordered_as"}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _day_after(moment: datetime) -> date:
    """The first whole day at or after a moment."""
    day = day_of(moment)
    return day if _midnight(day) == moment.astimezone(UTC) else day + timedelta(days=1)


def _next_monday(day: date) -> date:
    monday = monday_of(day)
    return monday if monday == day else monday + timedelta(days=7)


@dataclass(frozen=True)
class Span:
    """Half-open pieces; None is an open end. ``weeks`` and ``days`` are ranges of
    LotPeriodTotals.period (``days`` two of them, either possibly empty); ``edges`` are
    received ranges read from the lots."""

    weeks: tuple[date | None, date | None] | None
    days: tuple[tuple[date, date], ...]
    edges: tuple[tuple[datetime, datetime], ...]

    @property
    def uses_rollup(self) -> bool:
        return self.weeks is not None or bool(self.days)


def split(low: datetime | None, high: datetime | None) -> Span:
    first = _day_after(low) if low is not None else None
    last = day_of(high) if high is not None else None  # whole days end before this one
    if first is not None and last is not None and first >= last:
        assert low is not None and high is not None
        return Span(None, (), ((low, high),))  # within a day, or across one midnight
    edges = []
    if low is not None and first is not None and _midnight(first) != low:
        edges.append((low, _midnight(first)))
    if high is not None and last is not None and _midnight(last) != high:
        edges.append((_midnight(last), high))
    week_from = _next_monday(first) if first is not None else None
    week_to = monday_of(last) if last is not None else None
    if week_from is not None and week_to is not None and week_from >= week_to:
        assert first is not None and last is not None
        return Span(None, ((first, last),), tuple(edges))
    days = []
    if first is not None and week_from is not None and first < week_from:
        days.append((first, week_from))
    if last is not None and week_to is not None and week_to < last:
        days.append((week_to, last))
    return Span((week_from, week_to), tuple(days), tuple(edges))


def split_weeks(low: datetime | None, high: datetime | None) -> Span:
    """As split, in whole weeks and the partial weeks at the ends."""
    first = _next_monday(_day_after(low)) if low is not None else None
    last = monday_of(day_of(high)) if high is not None else None
    if first is not None and last is not None and first >= last:
        assert low is not None and high is not None
        return Span(None, (), ((low, high),))
    edges = []
    if low is not None and first is not None and _midnight(first) != low:
        edges.append((low, _midnight(first)))
    if high is not None and last is not None and _midnight(last) != high:
        edges.append((_midnight(last), high))
    return Span((first, last), (), tuple(edges))


def period_conditions(table: Any, span: Span) -> ColumnElement[bool]:
    """The rows of ``table`` (a rollup by period or its reasons) the span reads."""
    pieces: list[ColumnElement[bool]] = []
    if span.weeks is not None:
        start, end = span.weeks
        by_day = hasattr(table, "days")
        period = table.period if by_day else table.week
        week = [table.days == 7] if by_day else []
        if start is not None:
            week.append(period >= start)
        if end is not None:
            week.append(period < end)
        pieces.append(and_(true(), *week))
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
    by_day: bool  # days and weeks (split), or weeks only (split_weeks)

    def span(self, filters: LotFilters) -> Span:
        low, high = getattr(filters, f"{self.moment}_from"), getattr(filters, f"{self.moment}_to")
        return (split if self.by_day else split_weeks)(low, high)

    def conditions(self, table: Any, filters: LotFilters, span: Span) -> list[ColumnElement[bool]]:
        conditions = [*filters.source_conditions(table), period_conditions(table, span)]
        if filters.ordered_as is not None:
            conditions.append(table.ordered_as == filters.ordered_as)
        return conditions

    def edges(self, filters: LotFilters, span: Span) -> list[LotFilters]:
        """The filters that read each partial day (or week) at the ends from the lots."""
        names = (f"{self.moment}_from", f"{self.moment}_to")
        edges: list[dict[str, Any]] = [dict(zip(names, edge, strict=True)) for edge in span.edges]
        return [replace(filters, **edge) for edge in edges]


def _rollup(totals: Any, moment: str, also: frozenset[str] = frozenset()) -> Rollup:
    filters = _BUCKET_FILTERS | {f"{moment}_from", f"{moment}_to"} | also
    return Rollup(
        totals, REASONS_OF[totals], moment, filters, by_day=totals is not LotSupplierWeeks
    )


# In order of preference.
ROLLUPS = (
    _rollup(LotPeriodTotals, "received"),
    _rollup(LotDecidedTotals, "decided"),
    _rollup(LotSupplierWeeks, "received", frozenset({"supplier_id"})),
)


@dataclass(frozen=True)
class Plan:
    rollup: Rollup
    span: Span

    def conditions(self, table: Any, filters: LotFilters) -> list[ColumnElement[bool]]:
        return self.rollup.conditions(table, filters, self.span)

    def edges(self, filters: LotFilters) -> list[LotFilters]:
        return self.rollup.edges(filters, self.span)


def plan(filters: LotFilters, by: Sequence[str] = ()) -> Plan | None:
    """The rollup by period that answers these filters (grouped by ``by``), if any; none
    for filters the totals by product answer from fewer rows."""
    used = filters.used()
    if used <= _PRODUCT_FILTERS:
        return None
    for rollup in ROLLUPS:
        if used <= rollup.filters and all(hasattr(rollup.totals, name) for name in by):
            return Plan(rollup, rollup.span(filters))
    return None
