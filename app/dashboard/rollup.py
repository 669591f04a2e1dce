"""Keep the dashboard totals in step with the lots, inside the writing transaction.

What they are for: a summary or scorecard reads a few thousand rollup rows instead of up
to a million lots (app/dashboard/service.py and periods.py say which filters read which).
The rollups: totals by source (LotTotals, LotProductTotals, LotReasonTotals, LotWeekly) and
the rollups by period (REASONS_OF: by received day/week/month, by decided day/month, by
supplier and week, by lot-number prefix and week; each with its reason counts).

How they stay exact: each lot counts at one Place (its bucket, days, codes, prefix) with
its sums (a Contribution). After every flush the lots that changed are compared with their
previous state (or with what they added at an earlier flush of the same transaction:
``Deltas.seen``); the difference, summed per place, is expanded into rollup rows and
written, sorted by key so concurrent writers lock rows in the same order, just before
commit, together with a bump of the data version. A rollback drops it.

This covers every ORM write to a lot (every service goes through the ORM and
refresh_decision). Bulk decisions (imports) report each lot through note_lot_change;
bulk loads that bypass both (the seed, migrations) call rebuild_rollups (or the part of it
they add). tests/api/test_summary_exactness.py checks every read path against the lots,
and the rollups kept write by write against a rebuild.
"""

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from operator import add, itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    TIMESTAMP,
    ColumnElement,
    Date,
    Insert,
    cast,
    delete,
    event,
    func,
    inspect,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstanceState, Session, UOWTransaction

from app.bulk_writes import add_to_rows
from app.dashboard.models import (
    DataVersion,
    LotDecidedReasons,
    LotDecidedTotals,
    LotPeriodReasons,
    LotPeriodTotals,
    LotPrefixWeekReasons,
    LotPrefixWeeks,
    LotProductTotals,
    LotReasonTotals,
    LotSupplierWeekReasons,
    LotSupplierWeeks,
    LotTotals,
    LotWeekly,
)
from app.decisions.models import SourceQuality
from app.lots.models import Lot
from app.quality.products import PRODUCT_CODES
from app.suppliers.models import Supplier

VERSION_NAME = "lots"


def version_name(product: str | None = None) -> str:
    """The data version an answer depends on: every change ("lots"), or only changes to
    lots of one product ("lots/FFP2"; moved with "lots" by every change to such a lot)."""
    return VERSION_NAME if product is None else f"{VERSION_NAME}/{product}"


# Summed per bucket: the rollup column and the lot attribute it sums (lots counts 1 each).
SUMS: Mapping[str, str] = {
    "units": "quantity",
    "distributed": "distributed",
    "site_returned": "site_returned",
    "site_destroyed": "site_destroyed",
    "site_consumed": "site_consumed",
    "returned_to_supplier": "returned_to_supplier",
    "to_recall": "to_recall",
    "to_return": "to_return",
    "releasable": "releasable",
}
TOTAL_FIELDS: tuple[str, ...] = ("lots", *SUMS)
REASON_SEVERITIES = ("warning", "critical")
_VERSIONED = (Lot, SourceQuality, Supplier)
# The rollups by period, each with the reason counts kept beside it in its keys (but the
# week received in LotDecidedReasons).
REASONS_OF: Mapping[Any, Any] = {
    LotPeriodTotals: LotPeriodReasons,
    LotDecidedTotals: LotDecidedReasons,
    LotSupplierWeeks: LotSupplierWeekReasons,
    LotPrefixWeeks: LotPrefixWeekReasons,
}
# LotPrefixWeeks counts each lot under its lot number's first PREFIX_LENGTH characters.
PREFIX_LENGTH = 8


def _key_names(table: Any) -> tuple[str, ...]:
    """A rollup table's key columns (its primary key, with "code" last in a reasons table)."""
    names = [column.name for column in table.__table__.primary_key.columns]
    return (*(n for n in names if n != "code"), *(n for n in names if n == "code"))


# The key of a reasons table's row from its totals' key (the same, or some of its parts).
_REASON_KEY: Mapping[Any, Callable[[tuple[Any, ...]], tuple[Any, ...]]] = {
    table: (lambda key: key)
    if _key_names(reasons)[:-1] == _key_names(table)
    else itemgetter(*(_key_names(table).index(name) for name in _key_names(reasons)[:-1]))
    for table, reasons in REASONS_OF.items()
}

Bucket = tuple[int, str, str, str]  # supplier_id, product, status, disposition
ProductBucket = tuple[str, str, str]  # product, status, disposition
WeekBucket = tuple[date, str, str, str]  # week, product, status, disposition
# The days column of the rollups by period: 1 (a day), WEEK (from a Monday), MONTH (a
# calendar month, from its first day).
WEEK, MONTH = 7, 31


def day_of(moment: datetime) -> date:
    """The day (UTC) a moment falls in."""
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    return day.replace(day=1)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week a moment falls in."""
    return monday_of(day_of(moment))


def reason_codes(reasons: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    return frozenset(str(r["code"]) for r in reasons if r.get("severity") in REASON_SEVERITIES)


def reason_code_text(reasons: Iterable[Mapping[str, Any]]) -> str:
    """Lot.reason_codes: the warning and critical codes, sorted, comma-separated."""
    return ",".join(sorted(reason_codes(reasons)))


class Place(NamedTuple):
    """Where a lot counts in the rollups: everything about it but its sums."""

    bucket: Bucket
    day: date
    ordered_as: str
    codes: frozenset[str]
    decided: date | None  # the day it was last decided
    prefix: str  # the start of its lot number (LotPrefixWeeks)

    @property
    def week(self) -> date:
        return monday_of(self.day)

    def rows(self) -> dict[Any, list[tuple[Any, ...]]]:
        """The keys of the rows it adds to, in each rollup by period (REASONS_OF)."""
        supplier, product, status, disposition = self.bucket
        week, rest = self.week, (product, self.ordered_as, status, disposition)
        decided = self.decided
        month = month_of(self.day)
        return {
            LotPeriodTotals: [
                (WEEK, week, *rest, week),
                (1, self.day, *rest, week),
                (MONTH, month, *rest, month),  # by month: not by week (see models)
            ],
            LotDecidedTotals: []
            if decided is None
            else [(MONTH, month_of(decided), *rest, week), (1, decided, *rest, week)],
            LotSupplierWeeks: [(supplier, week, *rest)],
            LotPrefixWeeks: [(self.prefix, week, *rest)],
        }


@dataclass(frozen=True)
class Contribution:
    """What one lot adds to the rollups."""

    place: Place
    sums: tuple[int, ...]

    @property
    def bucket(self) -> Bucket:
        return self.place.bucket


def contribution(value: Callable[[str], Any]) -> Contribution:
    decided_at = value("decided_at")
    place = Place(
        bucket=(value("supplier_id"), value("product"), value("status"), value("disposition")),
        day=day_of(value("received_at")),
        ordered_as=value("ordered_as"),
        codes=reason_codes(value("reasons") or ()),
        decided=None if decided_at is None else day_of(decided_at),
        prefix=value("lot_number")[:PREFIX_LENGTH],
    )
    return Contribution(place, (1, *(int(value(attribute) or 0) for attribute in SUMS.values())))


def _add_sums(totals: dict[Any, list[int]], key: Any, signed: Sequence[int]) -> None:
    """Add ``signed`` (sums, possibly negated) to the row of ``key``."""
    current = totals.get(key)
    totals[key] = list(signed) if current is None else list(map(add, current, signed))


Codes = frozenset[str]


@dataclass
class Rows:
    """Changes to the rollups' rows (reasons by key and set of codes: one count for a lot
    however many codes it has, split by code at the end, by_code)."""

    totals: dict[Bucket, list[int]] = field(default_factory=dict)
    reasons: Counter[tuple[ProductBucket, Codes]] = field(default_factory=Counter)
    weekly: Counter[WeekBucket] = field(default_factory=Counter)
    # Per rollup by period: its rows' changes, and its reasons rows'.
    periods: defaultdict[Any, dict[tuple[Any, ...], list[int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    period_reasons: defaultdict[Any, Counter[tuple[tuple[Any, ...], Codes]]] = field(
        default_factory=lambda: defaultdict(Counter)
    )

    def add(self, place: Place, sums: Sequence[int]) -> None:
        """Lots counting at ``place`` added (``sums[0]`` of them; removed if negative)."""
        lots, codes = sums[0], place.codes
        _add_sums(self.totals, place.bucket, sums)
        product_bucket = place.bucket[1:]
        if codes:
            self.reasons[(product_bucket, codes)] += lots
        self.weekly[(place.week, *product_bucket)] += lots
        for table, keys in place.rows().items():
            totals = self.periods[table]
            for key in keys:
                _add_sums(totals, key, sums)
            if codes:
                reasons = self.period_reasons[table]
                for key in keys:
                    reasons[(key, codes)] += lots

    def product_totals(self) -> dict[ProductBucket, list[int]]:
        collapsed: dict[ProductBucket, list[int]] = {}
        for bucket, sums in self.totals.items():
            _add_sums(collapsed, bucket[1:], sums)
        return collapsed


@dataclass
class Deltas:
    # What the lots that changed add, less what they added before, summed per place: many
    # lots share one (a bulk decision notes thousands), each expanded into rows once.
    places: dict[Place, list[int]] = field(default_factory=dict)
    # Lots flushed in this transaction and what they add now (the history of an attribute
    # set from a value never loaded, such as a new lot's decided_at, does not give it).
    seen: dict[Lot, Contribution] = field(default_factory=dict)
    changed: bool = False
    products: set[str] = field(default_factory=set)  # of the lots that changed

    def add(self, part: Contribution, sign: int) -> None:
        signed = part.sums if sign == 1 else tuple(-amount for amount in part.sums)
        _add_sums(self.places, part.place, signed)

    def rows(self) -> Rows:
        rows = Rows()
        for place, sums in self.places.items():
            if any(sums):
                rows.add(place, sums)
        return rows


def _previous(state: InstanceState[Lot], name: str) -> Any:
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return history.added[0] if history.added else None


_KEY = "lotgate.rollup"
_NEW_VERSION = "lotgate.new_data_version"


def _deltas(session: Session) -> Deltas:
    found = session.info.get(_KEY)
    if found is None:
        found = session.info[_KEY] = Deltas()
    assert isinstance(found, Deltas)
    return found


def note_lot_change(
    session: Session, before: Contribution | None, after: Contribution | None
) -> None:
    """One lot moved between buckets (None: it did not exist / no longer exists)."""
    deltas = _deltas(session)
    deltas.changed = True
    deltas.products.update(part.bucket[1] for part in (before, after) if part is not None)
    if before != after:
        if before is not None:
            deltas.add(before, -1)
        if after is not None:
            deltas.add(after, +1)


def note_other_change(session: Session) -> None:
    """Something every dashboard answer may show changed, besides lots (alert review items):
    the commit moves every data version."""
    deltas = _deltas(session)
    deltas.changed = True
    deltas.products.update(PRODUCT_CODES)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: UOWTransaction) -> None:
    # Here new/dirty and attribute history still describe the flush that just ran.
    for obj in chain(session.new, session.dirty):
        if not isinstance(obj, _VERSIONED):
            continue
        _deltas(session).changed = True
        if not isinstance(obj, Lot):
            continue
        after = contribution(lambda name: getattr(obj, name))  # noqa: B023 - used at once
        seen = _deltas(session).seen
        if obj in seen:  # flushed before in this transaction: what it added then
            before = seen[obj]
        elif obj in session.new:
            before = None
        else:  # loaded: its history holds the values it was loaded with
            state = inspect(obj)
            before = contribution(lambda n: _previous(state, n))  # noqa: B023
        seen[obj] = after
        note_lot_change(session, before, after)


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    session.flush()  # before_commit runs before the commit's own flush
    deltas = session.info.pop(_KEY, None)
    if isinstance(deltas, Deltas) and deltas.changed:
        session.info[_NEW_VERSION] = apply_deltas(session, deltas)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_NEW_VERSION, None)


def committed_versions(session: Any) -> dict[str, int] | None:
    """The data versions the last commit of ``session`` (a Session or AsyncSession) moved
    to, once; None if it changed nothing versioned."""
    values: dict[str, int] | None = session.info.pop(_NEW_VERSION, None)
    return values


Executor = Session | Connection


def dialect_of(executor: Executor) -> str:
    if isinstance(executor, Session):
        return executor.get_bind().dialect.name
    return executor.dialect.name


def _insert(executor: Executor, table: Any) -> Any:
    dialect = dialect_of(executor)
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _upsert(executor: Executor, table: Any, keys: Sequence[str], fields: Sequence[str]) -> Insert:
    statement = _insert(executor, table)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=list(keys),
        set_={f: getattr(table, f) + statement.excluded[f] for f in fields},
    )


def bump_version(executor: Executor, products: Iterable[str] | None = None) -> dict[str, int]:
    """Move the data version on, and that of each product given (None: of every product,
    for a write that does not say which lots it touched); the new values by name."""
    names = [version_name(), *(version_name(p) for p in sorted(products or ()))]
    if products is None:
        names += [version_name(p) for p in PRODUCT_CODES]
    # A new row (fresh or emptied database) starts from the clock, not from 1, so a version
    # number never comes back with other data behind it (ETags and cached answers use it).
    first = time.time_ns() // 1000
    statement = _insert(executor, DataVersion).values(
        [{"name": name, "value": first} for name in sorted(set(names))]
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["name"], set_={"value": DataVersion.value + 1}
    )
    rows = executor.execute(upsert.returning(DataVersion.name, DataVersion.value))
    return {name: value for name, value in rows}


_BUCKET = ("supplier_id", "product", "status", "disposition")
_PRODUCT_BUCKET = _BUCKET[1:]
_REASON_KEYS = (*_PRODUCT_BUCKET, "code")
_WEEK_KEYS = ("week", *_PRODUCT_BUCKET)
_PERIOD_KEYS = ("days", "period", "product", "ordered_as", "status", "disposition", "week")


def _upsert_rows(
    executor: Executor,
    table: Any,
    keys: Sequence[str],
    fields: Sequence[str],
    changes: Iterable[tuple[tuple[Any, ...], Sequence[int]]],
) -> None:
    """Add the changes to the rows, in key order (so concurrent writers lock alike)."""
    ordered = [(key, amounts) for key, amounts in sorted(changes) if any(amounts)]
    if ordered and dialect_of(executor) == "postgresql":
        add_to_rows(executor, table.__table__, keys, fields, ordered)
    elif ordered:
        rows = [
            {**dict(zip(keys, key, strict=True)), **dict(zip(fields, amounts, strict=True))}
            for key, amounts in ordered
        ]
        executor.execute(_upsert(executor, table, keys, fields), rows)


def by_code(
    counts: Counter[tuple[tuple[Any, ...], Codes]], table: Any = None
) -> list[tuple[tuple[Any, ...], tuple[int]]]:
    """Counts by key and set of codes as rows of a reasons table: (key + code, (lots,))
    (the key cut to the reasons table's of ``table``, a rollup by period)."""
    reason_key = _REASON_KEY[table] if table is not None else None
    found: Counter[tuple[Any, ...]] = Counter()
    for (key, codes), lots in counts.items():
        if lots:
            cut = key if reason_key is None else reason_key(key)
            for code in codes:
                found[(*cut, code)] += lots
    return [(key, (lots,)) for key, lots in found.items()]


def apply_deltas(session: Session, deltas: Deltas) -> dict[str, int]:
    """Write the changes to the rollups; the data versions they moved to, by name."""
    rows = deltas.rows()
    _upsert_rows(session, LotTotals, _BUCKET, TOTAL_FIELDS, rows.totals.items())
    _upsert_rows(
        session, LotProductTotals, _PRODUCT_BUCKET, TOTAL_FIELDS, rows.product_totals().items()
    )
    _upsert_rows(session, LotReasonTotals, _REASON_KEYS, ("lots",), by_code(rows.reasons))
    weekly = ((key, (n,)) for key, n in rows.weekly.items())
    _upsert_rows(session, LotWeekly, _WEEK_KEYS, ("lots",), weekly)
    for table, changes in rows.periods.items():
        _upsert_rows(session, table, _key_names(table), TOTAL_FIELDS, changes.items())
        reasons, counts = REASONS_OF[table], rows.period_reasons[table]
        _upsert_rows(session, reasons, _key_names(reasons), ("lots",), by_code(counts, table))
    return bump_version(session, deltas.products)


def reason_elements(dialect: str) -> tuple[Any, ColumnElement[Any], ColumnElement[Any]]:
    """Lots x their reasons: the table-valued JSON function, the code and the severity."""
    if dialect == "postgresql":
        element = func.json_array_elements(Lot.reasons).table_valued("value", joins_implicitly=True)
        return element, element.c.value.op("->>")("code"), element.c.value.op("->>")("severity")
    element = func.json_each(Lot.reasons).table_valued("value", joins_implicitly=True)
    return (
        element,
        func.json_extract(element.c.value, "$.code"),
        func.json_extract(element.c.value, "$.severity"),
    )


def week_expression(dialect: str, moment: Any = Lot.received_at) -> ColumnElement[Any]:
    """The Monday (UTC) of a lot's moment (received_at by default), computed by the database.

    Literal SQL (no bind parameters) so that PostgreSQL sees the same expression in the
    select list and in GROUP BY.
    """
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), moment)
        return cast(func.date_trunc(literal_column("'week'"), utc), Date)
    return func.date(moment, literal_column("'-6 days'"), literal_column("'weekday 1'"))


def monday_expression(dialect: str, day: Any) -> ColumnElement[Any]:
    """The Monday of a date column (literal SQL, as week_expression)."""
    if dialect == "postgresql":
        return cast(func.date_trunc(literal_column("'week'"), cast(day, TIMESTAMP)), Date)
    return func.date(day, literal_column("'-6 days'"), literal_column("'weekday 1'"))


def month_expression(dialect: str, day: Any) -> ColumnElement[Any]:
    """The first day of the month of a date column (literal SQL, as week_expression)."""
    if dialect == "postgresql":
        return cast(func.date_trunc(literal_column("'month'"), cast(day, TIMESTAMP)), Date)
    return func.date(day, literal_column("'start of month'"))


def day_expression(dialect: str, moment: Any = Lot.received_at) -> ColumnElement[Any]:
    """The day (UTC) of a lot's moment, computed by the database (literal SQL, as
    week_expression)."""
    if dialect == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), moment), Date)
    return func.date(moment)


def rebuild_rollups(session: Executor) -> None:
    """Recompute every rollup from the lots (after a bulk load, or to repair drift)."""
    rebuild_source_rollups(session)
    rebuild_period_rollups(session)
    rebuild_filter_rollups(session)
    bump_version(session)


def _sums() -> list[Any]:
    return [func.count().label("lots")] + [
        func.sum(getattr(Lot, attribute)).label(name) for name, attribute in SUMS.items()
    ]


def _rebuild_from_lots(
    session: Executor,
    totals: Any,
    fixed: Sequence[Any],
    keys: Sequence[Any],
    names: Sequence[str],
    where: Any,
) -> None:
    """Fill ``totals`` and its reasons table (emptied first) with the lots of ``where``
    grouped by ``keys``; ``names`` names the ``fixed`` values (such as days = 1)
    and then the keys. The reasons table takes the keys it has."""
    dialect = dialect_of(session)
    reasons = REASONS_OF[totals]
    for table in (totals, reasons):
        session.execute(delete(table))
    session.execute(
        _insert(session, totals).from_select(
            [*names, *TOTAL_FIELDS], select(*fixed, *keys, *_sums()).where(where).group_by(*keys)
        )
    )
    named = [
        (key, name)
        for key, name in zip(keys, names[len(fixed) :], strict=True)
        if hasattr(reasons, name)
    ]
    key_names = [name for _, name in named]
    per_lot = _codes_per_lot(dialect, [key for key, _ in named], key_names, where)
    by_code = [per_lot.c[name] for name in (*key_names, "code")]
    session.execute(
        _insert(session, reasons).from_select(
            [*names[: len(fixed)], *key_names, "code", "lots"],
            select(*fixed, *by_code, func.count()).group_by(*by_code),
        )
    )


def _periods_from_days(session: Executor, totals: Any, grain: int, week_received: bool) -> None:
    """The rows of ``grain`` days (WEEK, MONTH) of a by-day table (LotPeriodTotals,
    LotDecidedTotals and their reasons), summed from its rows of 1 day (any already there
    replaced). ``week_received``: whether they keep the week received (what the weekly
    series reads), or carry their period's first day there (fewer rows)."""
    dialect = dialect_of(session)
    days: ColumnElement[int] = literal_column(str(grain))
    for table, fields in ((totals, TOTAL_FIELDS), (REASONS_OF[totals], ("lots",))):
        session.execute(delete(table).where(table.days == grain))
        names = [
            column.name
            for column in table.__table__.primary_key.columns
            if column.name not in ("days", "period")
        ]
        start = (monday_expression if grain == WEEK else month_expression)(dialect, table.period)
        keys = [start if n == "week" and not week_received else getattr(table, n) for n in names]
        session.execute(
            _insert(session, table).from_select(
                ["days", "period", *names, *fields],
                select(days, start, *keys, *(func.sum(getattr(table, f)) for f in fields))
                .where(table.days == 1)
                .group_by(start, *keys),
            )
        )


def _by_day(session: Executor, totals: Any, moment: Any) -> None:
    dialect = dialect_of(session)
    keys = [day_expression(dialect, moment), Lot.product, Lot.ordered_as, Lot.status]
    keys += [Lot.disposition, week_expression(dialect)]
    day: ColumnElement[int] = literal_column("1")
    _rebuild_from_lots(session, totals, [day], keys, _PERIOD_KEYS, moment.is_not(None))


def rebuild_period_rollups(session: Executor) -> None:
    """Recompute LotPeriodTotals and LotPeriodReasons from the lots: the days from the
    lots, the weeks and months from the days."""
    _by_day(session, LotPeriodTotals, Lot.received_at)
    _periods_from_days(session, LotPeriodTotals, WEEK, week_received=True)
    rebuild_received_months(session)


def rebuild_received_months(session: Executor) -> None:
    """The rows of LotPeriodTotals and LotPeriodReasons by month (from their days)."""
    _periods_from_days(session, LotPeriodTotals, MONTH, week_received=False)


def rebuild_filter_rollups(session: Executor) -> None:
    """Recompute from the lots the rollups (and their reasons) that 0017 added:
    LotDecidedTotals (as LotPeriodTotals, by decided_at), LotSupplierWeeks, LotPrefixWeeks."""
    _by_day(session, LotDecidedTotals, Lot.decided_at)
    _periods_from_days(session, LotDecidedTotals, MONTH, week_received=True)
    dialect = dialect_of(session)
    rest = [week_expression(dialect), Lot.product, Lot.ordered_as, Lot.status, Lot.disposition]
    names = _key_names(LotSupplierWeeks)
    _rebuild_from_lots(session, LotSupplierWeeks, [], [Lot.supplier_id, *rest], names, true())
    prefix = func.substr(Lot.lot_number, 1, literal_column(str(PREFIX_LENGTH)))  # as GROUP BY
    names = _key_names(LotPrefixWeeks)
    _rebuild_from_lots(session, LotPrefixWeeks, [], [prefix, *rest], names, true())


def _codes_per_lot(dialect: str, keys: Sequence[Any], names: Sequence[str], where: Any) -> Any:
    """A subquery: per lot (of ``where``) and reason code, the lot's ``keys`` as ``names``."""
    labelled = [key.label(name) for key, name in zip(keys, names, strict=True)]
    if dialect == "postgresql":  # Lot.reason_codes: no JSON to parse
        codes = (
            func.unnest(func.string_to_array(Lot.reason_codes, ","))
            .table_valued("code", joins_implicitly=True)
            .render_derived()
        )
        return (
            select(Lot.id, *labelled, codes.c.code.label("code"))
            .select_from(Lot)
            .join(codes, true())
            .where(Lot.reason_codes != "", where)
            .subquery()
        )
    element, code, severity = reason_elements(dialect)
    return (
        select(Lot.id, *labelled, code.label("code"))
        .select_from(Lot)
        .join(element, true())
        .where(severity.in_(REASON_SEVERITIES), where)
        .distinct()
        .subquery()
    )


def rebuild_source_rollups(session: Executor) -> None:
    """Recompute the rollups by source and product (not by period) from the lots."""
    dialect = dialect_of(session)
    for table in (LotTotals, LotProductTotals, LotReasonTotals, LotWeekly):
        session.execute(delete(table))
    sums = _sums()
    for table, names in ((LotTotals, _BUCKET), (LotProductTotals, _PRODUCT_BUCKET)):
        keys = [getattr(Lot, name) for name in names]
        session.execute(
            _insert(session, table).from_select(
                [*names, *TOTAL_FIELDS], select(*keys, *sums).group_by(*keys)
            )
        )
    element, code, severity = reason_elements(dialect)
    distinct_codes = (
        select(Lot.id, Lot.product, Lot.status, Lot.disposition, code.label("code"))
        .select_from(Lot)
        .join(element, true())
        .where(severity.in_(REASON_SEVERITIES))
        .distinct()
        .subquery()
    )
    by_code = [distinct_codes.c[name] for name in _REASON_KEYS]
    session.execute(
        _insert(session, LotReasonTotals).from_select(
            [*_REASON_KEYS, "lots"], select(*by_code, func.count()).group_by(*by_code)
        )
    )
    weekly_keys = [week_expression(dialect), Lot.product, Lot.status, Lot.disposition]
    session.execute(
        _insert(session, LotWeekly).from_select(
            [*_WEEK_KEYS, "lots"], select(*weekly_keys, func.count()).group_by(*weekly_keys)
        )
    )
