"""A received range cut into what LotPeriodTotals holds and what only the lots hold.

``[received_from, received_to)`` at any timestamp becomes: the lots of the partial day at
each end (a few hundred rows, read through ix_lots_received_at_id), whole days up to the
first Monday and from the last one, and whole weeks in between. An open end reaches every
week on that side.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from app.dashboard.rollup import day_of, monday_of
from app.lots.query import LotFilters

# Filters LotPeriodTotals can apply (its keys, and the received range by its periods).
PERIOD_FILTERS = frozenset(
    {"status", "disposition", "product", "ordered_as", "received_from", "received_to"}
)


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


def period_conditions(table: Any, span: Span) -> ColumnElement[bool]:
    """The rows of ``table`` (LotPeriodTotals or LotPeriodReasons) the span reads."""
    pieces: list[ColumnElement[bool]] = []
    if span.weeks is not None:
        start, end = span.weeks
        week = [table.days == 7]
        if start is not None:
            week.append(table.period >= start)
        if end is not None:
            week.append(table.period < end)
        pieces.append(and_(*week))
    for start, end in span.days:
        pieces.append(and_(table.days == 1, table.period >= start, table.period < end))
    return or_(*pieces)


def edge_filters(filters: LotFilters, span: Span) -> list[LotFilters]:
    """The filters that read each partial day at the ends from the lots."""
    return [replace(filters, received_from=low, received_to=high) for low, high in span.edges]
