"""Lot filters shared by the lot list and the dashboards, and keyset pagination.

Order: by the sort column then id, both in the sort's direction. decided_at may be
NULL (a lot never decided); NULL sorts before every time: first when ascending, last
when descending. Each page continues strictly after the last row of the previous one
(keyset, with app.paging's cursor), so rows added while a client pages appear at most
once and never displace the rows that were already there.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import ColumnElement, Row, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import invalid
from app.lots.models import Lot
from app.paging import KeyPart, PageParams, decode_cursor, encode_cursor
from app.quality.decision import Disposition, Status
from app.quality.products import PRODUCT_CODES
from app.schemas import MAX_ID, Timestamp

STATUSES: tuple[str, ...] = tuple(Status)
DISPOSITIONS: tuple[str, ...] = tuple(Disposition)
SORTS: tuple[str, ...] = ("received_at", "-received_at", "decided_at", "-decided_at")


@dataclass(frozen=True)
class LotFilters:
    """Every filter is optional; set ones combine with AND (statuses with OR).

    Time ranges are half-open: ``*_from`` <= t < ``*_to``.
    """

    status: tuple[str, ...] = ()
    disposition: str | None = None
    supplier_id: int | None = None
    manufacturer_id: int | None = None
    product: str | None = None
    ordered_as: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    decided_from: datetime | None = None
    decided_to: datetime | None = None
    q: str | None = None

    def used(self) -> frozenset[str]:
        return frozenset(name for name, value in asdict(self).items() if value not in (None, ()))

    def uses_only(self, allowed: frozenset[str]) -> bool:
        return self.used() <= allowed

    def source_conditions(self, table: Any) -> list[ColumnElement[bool]]:
        """The filters a rollup keyed by (some of) supplier, product, status and disposition
        can apply; the caller checks the table has the columns of the filters in use."""
        conditions: list[ColumnElement[bool]] = []
        if self.status:
            conditions.append(table.status.in_(self.status))
        if self.disposition is not None:
            conditions.append(table.disposition == self.disposition)
        if self.supplier_id is not None:
            conditions.append(table.supplier_id == self.supplier_id)
        if self.product is not None:
            conditions.append(table.product == self.product)
        return conditions

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        conditions = self.source_conditions(Lot)
        if self.manufacturer_id is not None:
            conditions.append(Lot.manufacturer_id == self.manufacturer_id)
        if self.ordered_as is not None:
            conditions.append(Lot.ordered_as == self.ordered_as)
        for column, low, high in (
            (Lot.received_at, self.received_from, self.received_to),
            (Lot.decided_at, self.decided_from, self.decided_to),
        ):
            if low is not None:
                conditions.append(column >= low)
            if high is not None:
                conditions.append(column < high)
        if self.q is not None:
            conditions.append(lot_number_prefix(self.q, dialect))
        return conditions


def lot_number_prefix(
    prefix: str, dialect: str, column: Any = Lot.lot_number
) -> ColumnElement[bool]:
    """Case-sensitive prefix match. PostgreSQL: LIKE with the default backslash escape, which
    the varchar_pattern_ops index serves; SQLite's LIKE ignores case, so compare the head."""
    if dialect == "postgresql":
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped + "%")  # type: ignore[no-any-return]
    return func.substr(column, 1, len(prefix)) == prefix


def _check_choice(field: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise invalid(field, f"must be one of: {', '.join(allowed)}", allowed=list(allowed))
    return value


def _check_range(name: str, low: datetime | None, high: datetime | None) -> None:
    if low is not None and high is not None and high <= low:
        raise invalid(f"query.{name}_to", f"must be after {name}_from")


async def lot_filters(  # async: FastAPI runs a sync dependency in a thread
    status: Annotated[
        list[str] | None,
        Query(description="Repeat for several: status=suspect&status=rejected"),
    ] = None,
    disposition: Annotated[str | None, Query(max_length=40)] = None,
    supplier_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    manufacturer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    product: Annotated[str | None, Query(max_length=40)] = None,
    ordered_as: Annotated[str | None, Query(max_length=40)] = None,
    received_from: Annotated[Timestamp | None, Query()] = None,
    received_to: Annotated[Timestamp | None, Query(description="Exclusive")] = None,
    decided_from: Annotated[Timestamp | None, Query()] = None,
    decided_to: Annotated[Timestamp | None, Query(description="Exclusive")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Lot number prefix")
    ] = None,
) -> LotFilters:
    """The lot filters from the query string, validated (422 naming the parameter)."""
    statuses = tuple(dict.fromkeys(status or ()))
    for value in statuses:
        _check_choice("query.status", value, STATUSES)
    if disposition is not None:
        _check_choice("query.disposition", disposition, DISPOSITIONS)
    for name, code in (("product", product), ("ordered_as", ordered_as)):
        if code is not None:
            _check_choice(f"query.{name}", code, PRODUCT_CODES)
    _check_range("received", received_from, received_to)
    _check_range("decided", decided_from, decided_to)
    return LotFilters(
        status=tuple(sorted(statuses)),
        disposition=disposition,
        supplier_id=supplier_id,
        manufacturer_id=manufacturer_id,
        product=product,
        ordered_as=ordered_as,
        received_from=received_from,
        received_to=received_to,
        decided_from=decided_from,
        decided_to=decided_to,
        q=q,
    )


# --- Keyset pagination ----------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """The last row of a page: its sort key (None: a NULL decided_at) and id."""

    key: datetime | None
    id: int


@dataclass(frozen=True)
class Sort:
    column: InstrumentedAttribute[Any]
    descending: bool
    nullable: bool

    @classmethod
    def parse(cls, text: str) -> "Sort":
        _check_choice("query.sort", text, SORTS)
        name = text.removeprefix("-")
        return cls(getattr(Lot, name), text.startswith("-"), nullable=name == "decided_at")

    def key_parts(self) -> tuple[KeyPart, KeyPart]:
        return (KeyPart(datetime, nullable=self.nullable), KeyPart(int))

    def segments(self) -> tuple[bool, ...]:
        """The order of the NULL (True) and non-NULL (False) parts of the column."""
        if not self.nullable:
            return (False,)
        return (False, True) if self.descending else (True, False)

    def page_part(
        self, base: Select[Any], null_part: bool, after: Position | None, limit: int
    ) -> Select[Any]:
        query = base
        if self.nullable:
            query = query.where(self.column.is_(None) if null_part else self.column.is_not(None))
        keys: tuple[Any, ...] = (Lot.id,) if null_part else (self.column, Lot.id)
        if after is not None:
            row = tuple_(*keys)
            bound = (after.id,) if null_part else (after.key, after.id)
            query = query.where(row < bound if self.descending else row > bound)
        order = [k.desc() if self.descending else k.asc() for k in keys]
        return query.order_by(*order).limit(limit)


# Reads that only show lots select plain rows: no ORM identity map, no entity to build.
LOT_ROWS: Select[Any] = select(*Lot.__table__.columns)


@dataclass(frozen=True)
class LotPageRows:
    lots: list[Row[Any]]
    next_cursor: str | None


async def lot_page(
    session: AsyncSession, filters: LotFilters, *, sort: str, page: PageParams
) -> LotPageRows:
    """One keyset page; the cursor (app.paging) holds the last lot's sort key and id."""
    order = Sort.parse(sort)
    scope = page.scope()
    after = None
    if page.cursor is not None:
        key, last_id = decode_cursor(page.cursor, scope, order.key_parts())
        after = Position(key, last_id)
    dialect = session.get_bind().dialect.name
    base: Select[Any] = LOT_ROWS.where(*filters.conditions(dialect))
    segments = order.segments()
    start = 0
    if after is not None and order.nullable:
        start = segments.index(after.key is None)
    limit = page.limit
    lots: list[Row[Any]] = []
    connection = await session.connection()
    for index in range(start, len(segments)):
        part_after = after if index == start else None
        query = order.page_part(base, segments[index], part_after, limit + 1 - len(lots))
        lots.extend(await connection.execute(query))
        if len(lots) > limit:
            break
    if len(lots) <= limit:
        return LotPageRows(lots, None)
    last = lots[limit - 1]
    key = getattr(last, order.column.key)
    return LotPageRows(lots[:limit], encode_cursor(scope, (key, last.id)))
