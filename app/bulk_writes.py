"""Set-based writes inside the session's transaction: COPY on PostgreSQL, Core elsewhere.

Imports write and re-decide up to 100,000 rows in one transaction. On PostgreSQL the rows
go through asyncpg's binary COPY on the session's own connection (so they commit or roll
back with everything else): new rows straight into their table, changed rows into a
temporary table and from there with one ``UPDATE ... FROM``. On SQLite the same calls
are multi-row Core statements. COPY bypasses SQLAlchemy's types, so the values are
converted here as the Core path would: JSON columns become JSON text (pydantic-core's
encoder, measured 2.5-8x faster than json.dumps on reasons, defects and measurements:
the same values, without the spaces), Python-side column defaults (``default=utcnow``...)
are filled in.

Counters kept per key (the dashboard rollups) are added to with ``add_to_rows``: on
PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT DO UPDATE`` whatever
the number of keys (one array per column, so one statement compiled once), rows taken in
the caller's key order so that concurrent writers lock alike.
"""

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
from pydantic_core import to_json
from sqlalchemy import JSON, Column, Table, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db import Base

Row = dict[str, Any]
_COLLATION = re.compile(r' COLLATE "[^"]*"')


async def copy_connection(session: AsyncSession) -> asyncpg.Connection | None:
    """The asyncpg connection of the session's transaction; None when not on PostgreSQL."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    # A statement through SQLAlchemy first: the driver's transaction begins lazily with one.
    await session.execute(text("SELECT 1"))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


async def _target(
    session: AsyncSession, model: type[Base]
) -> tuple[Table, asyncpg.Connection | None]:
    table = model.__table__
    assert isinstance(table, Table)
    return table, await copy_connection(session)


def _python_default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        raise KeyError(column.name)
    if default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if default.is_callable:
        return default.arg(None)  # type: ignore[attr-defined]
    raise KeyError(column.name)  # pragma: no cover - no SQL-expression defaults in use


def _records(
    table: Table, rows: Sequence[Row], names: list[str], encoded: dict[int, str] | None = None
) -> list[tuple[Any, ...]]:
    """Rows as COPY records in the order of ``names``; missing values take the column's
    Python default (columns without one must be present in every row). ``encoded``: JSON
    text by id() of values the caller keeps alive, so a value shared by several rows
    (a lot's reasons and its event's) is encoded once."""
    columns = [table.c[name] for name in names]
    json_at = [index for index, column in enumerate(columns) if isinstance(column.type, JSON)]
    defaults = {c.name: _python_default(c) for c in columns if c.default is not None}
    memo: dict[int, str] = {} if encoded is None else encoded
    records = []
    for row in rows:
        values = [row[name] if name in row else defaults[name] for name in names]
        for index in json_at:
            value = values[index]
            text_ = memo.get(id(value))
            if text_ is None:
                text_ = memo[id(value)] = to_json(value).decode()
            values[index] = text_
        records.append(tuple(values))
    return records


def _copy_columns(table: Table, rows: Sequence[Row], *, with_id: bool) -> list[str]:
    """The columns the rows give plus those with a Python default (server defaults apply
    to the rest, as with INSERT)."""
    given = set(rows[0])
    return [
        column.name
        for column in table.columns
        if (column.name == "id" and with_id)
        or (column.name != "id" and (column.name in given or column.default is not None))
    ]


async def insert_rows(session: AsyncSession, model: type[Base], rows: Sequence[Row]) -> list[int]:
    """Insert the rows; their new ids, in the order of ``rows``."""
    if not rows:
        return []
    table, driver = await _target(session, model)
    if driver is None:
        statement = insert(model).returning(table.c.id, sort_by_parameter_order=True)
        return list((await session.scalars(statement, list(rows))).all())
    ids = [
        row[0]
        for row in await driver.fetch(
            "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
            table.name,
            len(rows),
        )
    ]
    names = _copy_columns(table, rows, with_id=True)
    with_ids = [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]
    await driver.copy_records_to_table(
        table.name, records=_records(table, with_ids, names), columns=names
    )
    return ids


async def append_rows(
    session: AsyncSession,
    model: type[Base],
    rows: Sequence[Row],
    encoded: dict[int, str] | None = None,
) -> None:
    """Insert the rows when their ids are not needed (e.g. history); ``encoded`` as in
    _records."""
    if not rows:
        return
    table, driver = await _target(session, model)
    if driver is None:
        await session.execute(insert(model), list(rows))
        return
    names = _copy_columns(table, rows, with_id=False)
    await driver.copy_records_to_table(
        table.name, records=_records(table, rows, names, encoded), columns=names
    )


async def update_rows(
    session: AsyncSession,
    model: type[Base],
    rows: Sequence[Row],
    encoded: dict[int, str] | None = None,
) -> None:
    """Set the given columns of each row, found by ``id``; every row names the same columns;
    ``encoded`` as in _records."""
    if not rows:
        return
    table, driver = await _target(session, model)
    if driver is None:  # the ORM's bulk UPDATE by primary key
        await session.execute(update(model), list(rows))
        return
    names = ["id", *(name for name in rows[0] if name != "id")]
    staging = f"bulk_update_{table.name}"
    columns = ", ".join(f'"{name}"' for name in names)
    await driver.execute(
        f'CREATE TEMPORARY TABLE "{staging}" ON COMMIT DROP AS '  # noqa: S608 - names from the model
        f'SELECT {columns} FROM "{table.name}" WITH NO DATA'
    )
    await driver.copy_records_to_table(
        staging, records=_records(table, rows, names, encoded), columns=names
    )
    # Statistics for the planner: without them it may scan the whole target table.
    await driver.execute(f'ANALYZE "{staging}"')
    assignments = ", ".join(f'"{name}" = s."{name}"' for name in names if name != "id")
    await driver.execute(
        f'UPDATE "{table.name}" AS t SET {assignments} '  # noqa: S608 - names from the model
        f'FROM "{staging}" AS s WHERE t.id = s.id'
    )
    await driver.execute(f'DROP TABLE "{staging}"')


def _array_element_type(column: Column[Any]) -> str:
    """The column's PostgreSQL type as an array's element type: without a collation, which
    an array cast cannot name (the column's own applies once the value is stored)."""
    compiled = column.type.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return _COLLATION.sub("", compiled)


def add_to_rows(
    executor: Session | Connection,
    table: Table,
    keys: Sequence[str],
    fields: Sequence[str],
    changes: Sequence[tuple[Sequence[Any], Sequence[int]]],
) -> None:
    """PostgreSQL: add each change's amounts to the row of its key (created at the amounts),
    in the order given, with one statement."""
    names = [*keys, *fields]
    arrays = ", ".join(
        f"CAST(:c{i} AS {_array_element_type(table.c[name])}[])" for i, name in enumerate(names)
    )
    columns = ", ".join(f'"{name}"' for name in names)
    statement = (
        f'INSERT INTO "{table.name}" ({columns}) '  # noqa: S608 - names from the model
        f"SELECT {columns} FROM unnest({arrays}) WITH ORDINALITY AS u({columns}, position) "
        "ORDER BY position "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f'"{f}" = "{table.name}"."{f}" + EXCLUDED."{f}"' for f in fields)
    )
    by_column = zip(*([*key, *amounts] for key, amounts in changes), strict=True)
    parameters = {f"c{i}": list(values) for i, values in enumerate(by_column)}
    executor.execute(text(statement), parameters)
