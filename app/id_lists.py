"""Rows whose column is one of many ids: `= ANY(array)` on PostgreSQL, `IN (...)` elsewhere.

An IN list of 5,000 bound parameters costs SQLAlchemy milliseconds of compiling per
statement (every parameter named and rendered) and asyncpg a 5,000-parameter prepare; one
array parameter costs neither, and its statement text is the same for any number of ids.
SQLite has no arrays: there the caller's chunks keep IN lists under its parameter limit.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


def among(session: AsyncSession, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    return column.in_(ids)  # type: ignore[no-any-return]
