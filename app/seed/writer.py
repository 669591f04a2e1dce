"""Bulk writers for seed rows: COPY on PostgreSQL, multi-row Core inserts elsewhere."""

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import asyncpg
from sqlalchemy import JSON, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from app import models  # noqa: F401 - every table in Base.metadata
from app.db import Base

# Parents before children, so foreign keys hold at every step.
TABLE_ORDER: tuple[str, ...] = (
    "suppliers",
    "reinstatements",
    "lots",
    "certificates",
    "inspections",
    "distributions",
    "site_returns",
    "concessions",
    "decision_events",
    "source_quality",
)

Rows = Mapping[str, Sequence[dict[str, Any]]]


class Writer(Protocol):
    async def write(self, tables: Rows) -> None: ...


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _ordered(tables: Rows) -> list[tuple[Table, Sequence[dict[str, Any]]]]:
    unknown = set(tables) - set(TABLE_ORDER)
    assert not unknown, f"no write order for {unknown}"
    return [(_table(name), tables[name]) for name in TABLE_ORDER if tables.get(name)]


def _scalar_defaults(table: Table) -> dict[str, Any]:
    """Column defaults for columns the generator does not set (added by later migrations)."""
    return {
        column.name: column.default.arg
        for column in table.columns
        if isinstance(column.default, ScalarElementColumnDefault)
    }


class CopyWriter:
    """PostgreSQL COPY through asyncpg: the fastest way in (JSON columns sent as text)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def write(self, tables: Rows) -> None:
        for table, rows in _ordered(tables):
            columns = [c.name for c in table.columns]
            as_text = {c.name for c in table.columns if isinstance(c.type, JSON)}
            defaults = _scalar_defaults(table)
            records = [
                tuple(
                    json.dumps(row[c]) if c in as_text else row.get(c, defaults.get(c))
                    for c in columns
                )
                for row in rows
            ]
            await self.connection.copy_records_to_table(
                table.name, records=records, columns=columns
            )


class InsertWriter:
    """Core insert() with many rows per statement, for SQLite."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def write(self, tables: Rows) -> None:
        for table, rows in _ordered(tables):
            await self.connection.execute(insert(table), list(rows))
