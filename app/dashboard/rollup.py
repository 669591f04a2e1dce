"""Keep the dashboard totals in step with the lots, inside the writing transaction.

After every flush the lots that changed are compared with their previous state; the
difference (one lot leaving one bucket and entering another) is collected on the
session and written, sorted by key so concurrent writers lock rows in the same order,
just before commit, together with a bump of the data version. A rollback drops it.

This covers every ORM write to a lot (every service goes through the ORM and
refresh_decision). Bulk decisions (imports) report each lot through note_lot_change;
bulk loads that bypass both (the seed) call rebuild_rollups.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import (
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
    LotPeriodReasons,
    LotPeriodTotals,
    LotProductTotals,
    LotReasonTotals,
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
_LOT_ATTRIBUTES = (
    "supplier_id",
    "product",
    "ordered_as",
    "status",
    "disposition",
    "received_at",
    "reasons",
    *SUMS.values(),
)
_VERSIONED = (Lot, SourceQuality, Supplier)

Bucket = tuple[int, str, str, str]  # supplier_id, product, status, disposition
ProductBucket = tuple[str, str, str]  # product, status, disposition
WeekBucket = tuple[date, str, str, str]  # week, product, status, disposition
# days (1 or 7), period, product, ordered_as, status, disposition, week
PeriodBucket = tuple[int, date, str, str, str, str, date]
GRAINS = (7, 1)  # LotPeriodTotals.days: weeks, days


def day_of(moment: datetime) -> date:
    """The day (UTC) a moment falls in."""
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week a moment falls in."""
    return monday_of(day_of(moment))


def reason_codes(reasons: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    return frozenset(str(r["code"]) for r in reasons if r.get("severity") in REASON_SEVERITIES)


def reason_code_text(reasons: Iterable[Mapping[str, Any]]) -> str:
    """Lot.reason_codes: the warning and critical codes, sorted, comma-separated."""
    return ",".join(sorted(reason_codes(reasons)))


@dataclass(frozen=True)
class Contribution:
    """What one lot adds to the rollups."""

    bucket: Bucket
    day: date
    ordered_as: str
    sums: tuple[int, ...]
    codes: frozenset[str]

    @property
    def week(self) -> date:
        return monday_of(self.day)

    def periods(self) -> list[PeriodBucket]:
        _, product, status, disposition = self.bucket
        week, rest = self.week, (product, self.ordered_as, status, disposition)
        return [(7, week, *rest, week), (1, self.day, *rest, week)]


def contribution(value: Callable[[str], Any]) -> Contribution:
    return Contribution(
        bucket=(value("supplier_id"), value("product"), value("status"), value("disposition")),
        day=day_of(value("received_at")),
        ordered_as=value("ordered_as"),
        sums=(1, *(int(value(attribute) or 0) for attribute in SUMS.values())),
        codes=reason_codes(value("reasons") or ()),
    )


def _add_sums(totals: dict[Any, list[int]], key: Any, sums: Sequence[int], sign: int) -> None:
    current = totals.setdefault(key, [0] * len(TOTAL_FIELDS))
    for index, amount in enumerate(sums):
        current[index] += sign * amount


@dataclass
class Deltas:
    totals: dict[Bucket, list[int]] = field(default_factory=dict)
    reasons: Counter[tuple[ProductBucket, str]] = field(default_factory=Counter)
    weekly: Counter[WeekBucket] = field(default_factory=Counter)
    periods: dict[PeriodBucket, list[int]] = field(default_factory=dict)
    period_reasons: Counter[tuple[PeriodBucket, str]] = field(default_factory=Counter)
    changed: bool = False
    products: set[str] = field(default_factory=set)  # of the lots that changed

    def add(self, part: Contribution, sign: int) -> None:
        _add_sums(self.totals, part.bucket, part.sums, sign)
        for period in part.periods():
            _add_sums(self.periods, period, part.sums, sign)
        product_bucket = part.bucket[1:]
        for code in part.codes:
            self.reasons[(product_bucket, code)] += sign
            for period in part.periods():
                self.period_reasons[(period, code)] += sign
        self.weekly[(part.week, *product_bucket)] += sign

    def product_totals(self) -> dict[ProductBucket, list[int]]:
        collapsed: dict[ProductBucket, list[int]] = {}
        for bucket, sums in self.totals.items():
            current = collapsed.setdefault(bucket[1:], [0] * len(TOTAL_FIELDS))
            for index, amount in enumerate(sums):
                current[index] += amount
        return collapsed


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
        state = inspect(obj)
        after = contribution(lambda name: getattr(obj, name))  # noqa: B023 - used at once
        before = None if obj in session.new else contribution(lambda n: _previous(state, n))  # noqa: B023
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


def apply_deltas(session: Session, deltas: Deltas) -> dict[str, int]:
    """Write the changes to the rollups; the data versions they moved to, by name."""
    _upsert_rows(session, LotTotals, _BUCKET, TOTAL_FIELDS, deltas.totals.items())
    _upsert_rows(
        session, LotProductTotals, _PRODUCT_BUCKET, TOTAL_FIELDS, deltas.product_totals().items()
    )
    reasons = (((*bucket, code), (n,)) for (bucket, code), n in deltas.reasons.items())
    _upsert_rows(session, LotReasonTotals, _REASON_KEYS, ("lots",), reasons)
    weekly = ((key, (n,)) for key, n in deltas.weekly.items())
    _upsert_rows(session, LotWeekly, _WEEK_KEYS, ("lots",), weekly)
    _upsert_rows(session, LotPeriodTotals, _PERIOD_KEYS, TOTAL_FIELDS, deltas.periods.items())
    period_reasons = (((*key, code), (n,)) for (key, code), n in deltas.period_reasons.items())
    _upsert_rows(session, LotPeriodReasons, (*_PERIOD_KEYS, "code"), ("lots",), period_reasons)
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


def week_expression(dialect: str) -> ColumnElement[Any]:
    """The Monday (UTC) of Lot.received_at, computed by the database.

    Literal SQL (no bind parameters) so that PostgreSQL sees the same expression in the
    select list and in GROUP BY.
    """
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), Lot.received_at)
        return cast(func.date_trunc(literal_column("'week'"), utc), Date)
    return func.date(Lot.received_at, literal_column("'-6 days'"), literal_column("'weekday 1'"))


def day_expression(dialect: str) -> ColumnElement[Any]:
    """The day (UTC) of Lot.received_at, computed by the database (literal SQL, as
    week_expression)."""
    if dialect == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), Lot.received_at), Date)
    return func.date(Lot.received_at)


def rebuild_rollups(session: Executor) -> None:
    """Recompute every rollup from the lots (after a bulk load, or to repair drift)."""
    rebuild_source_rollups(session)
    rebuild_period_rollups(session)
    bump_version(session)


def rebuild_period_rollups(session: Executor) -> None:
    """Recompute LotPeriodTotals and LotPeriodReasons from the lots: the days from the
    lots, the weeks from the days."""
    dialect = dialect_of(session)
    for table in (LotPeriodTotals, LotPeriodReasons):
        session.execute(delete(table))
    keys: list[Any] = [day_expression(dialect), Lot.product, Lot.ordered_as, Lot.status]
    keys += [Lot.disposition, week_expression(dialect)]
    sums = [func.count().label("lots")] + [
        func.sum(getattr(Lot, attribute)).label(name) for name, attribute in SUMS.items()
    ]
    day: ColumnElement[int] = literal_column("1")
    session.execute(
        _insert(session, LotPeriodTotals).from_select(
            [*_PERIOD_KEYS, *TOTAL_FIELDS], select(day, *keys, *sums).group_by(*keys)
        )
    )
    per_lot = _codes_per_lot(dialect, keys)
    by_code = [per_lot.c[name] for name in (*_PERIOD_KEYS[1:], "code")]
    session.execute(
        _insert(session, LotPeriodReasons).from_select(
            [*_PERIOD_KEYS, "code", "lots"],
            select(day, *by_code, func.count()).group_by(*by_code),
        )
    )
    week: ColumnElement[int] = literal_column("7")
    for table, fields in ((LotPeriodTotals, TOTAL_FIELDS), (LotPeriodReasons, ("lots",))):
        names = [name for name in _PERIOD_KEYS if name not in ("days", "period")]
        if table is LotPeriodReasons:
            names.append("code")
        by = [getattr(table, name) for name in names]
        session.execute(
            _insert(session, table).from_select(
                ["days", "period", *names, *fields],
                select(week, table.week, *by, *(func.sum(getattr(table, f)) for f in fields))
                .where(table.days == 1)
                .group_by(*by),
            )
        )


def _codes_per_lot(dialect: str, keys: Sequence[Any]) -> Any:
    """A subquery: per lot and reason code, the lot's period keys (_PERIOD_KEYS[1:])."""
    labelled = [key.label(name) for key, name in zip(keys, _PERIOD_KEYS[1:], strict=True)]
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
            .where(Lot.reason_codes != "")
            .subquery()
        )
    element, code, severity = reason_elements(dialect)
    return (
        select(Lot.id, *labelled, code.label("code"))
        .select_from(Lot)
        .join(element, true())
        .where(severity.in_(REASON_SEVERITIES))
        .distinct()
        .subquery()
    )


def rebuild_source_rollups(session: Executor) -> None:
    """Recompute the rollups by source and product (not by period) from the lots."""
    dialect = dialect_of(session)
    for table in (LotTotals, LotProductTotals, LotReasonTotals, LotWeekly):
        session.execute(delete(table))
    sums = [func.count().label("lots")] + [
        func.sum(getattr(Lot, attribute)).label(name) for name, attribute in SUMS.items()
    ]
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
