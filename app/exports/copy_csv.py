"""CSV written by PostgreSQL itself: ``COPY (query) TO STDOUT`` streamed to the client.

Formatting millions of cells in Python costs several times what the database
takes to produce them; COPY produces RFC 4180 CSV at the server's speed. The
query's cells must already be the export's text (see reject_list_copy). The
COPY runs in a REPEATABLE READ READ ONLY transaction (one snapshot) on a pooled
asyncpg connection, and asyncpg stops reading from the server while the
client is slower than the database, so memory stays flat.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from app.exports.streaming import prefetched
from app.exports.tabular import UTF8_BOM

# asyncpg hands over whatever one socket read held (up to a few hundred KiB).
PREFETCH_PIECES = 4


def positional_sql(query: Select[Any], dialect: Dialect) -> tuple[str, list[Any]]:
    """The query as $n SQL and its parameters, processed as SQLAlchemy would send them.

    asyncpg's copy_from_query quotes the parameters into the COPY statement on the
    server (quote_literal), so client values are never spliced in by us.
    """
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    processors = compiled._bind_processors  # what SQLAlchemy's own execution applies
    args = []
    for name in compiled.positiontup or ():
        process = processors.get(name)
        args.append(process(params[name]) if callable(process) else params[name])
    return str(compiled), args


class CrlfRecords:
    """COPY ends CSV records with LF; RFC 4180 (and the csv module's path) with CRLF.

    An LF inside a quoted field is data and stays as it is. Outside quotes COPY writes
    no CR (a field holding one is quoted), so each LF outside quotes ends a record.
    Quotes toggle the state ("" inside a field toggles it twice); it carries over from
    one piece to the next. Only ASCII bytes are looked at, which never occur inside a
    multi-byte UTF-8 character, so pieces may split characters anywhere.
    """

    def __init__(self) -> None:
        self.in_quotes = False

    def __call__(self, data: bytes | bytearray) -> bytes:
        data = bytes(data)  # asyncpg hands over bytearrays; responses take bytes
        if b'"' not in data:
            return data if self.in_quotes else data.replace(b"\n", b"\r\n")
        parts = data.split(b'"')
        outside = 1 if self.in_quotes else 0
        parts[outside::2] = [part.replace(b"\n", b"\r\n") for part in parts[outside::2]]
        if len(parts) % 2 == 0:  # an odd number of quotes
            self.in_quotes = not self.in_quotes
        return b'"'.join(parts)


async def copy_csv(
    engine: AsyncEngine, query: Select[Any], *, excel: bool, limit_seconds: float
) -> AsyncIterator[bytes]:
    """The query's rows as CSV with a header row, CRLF line ends, from one snapshot.

    ``limit_seconds`` bounds the whole COPY, including the time spent waiting for a slow
    client: asyncpg would otherwise apply its per-command timeout to all of it.
    """
    sql, args = positional_sql(query, engine.dialect)

    async def copy(put: Callable[[bytes], Awaitable[None]]) -> None:
        records = CrlfRecords()

        async def sink(data: bytearray) -> None:
            await put(records(data))

        async with engine.connect() as connection:
            pooled = await connection.get_raw_connection()
            driver = pooled.driver_connection
            if driver is None:
                raise RuntimeError("the pooled connection has no asyncpg connection")
            snapshot = driver.transaction(isolation="repeatable_read", readonly=True)
            await snapshot.start()
            try:
                # Measured on the reject list: compiling its cell expressions (JIT) costs
                # more than it saves in one pass over the rows.
                await driver.execute("SET LOCAL jit = off")
                await driver.copy_from_query(
                    sql, *args, output=sink, format="csv", header=True, timeout=limit_seconds
                )
            except BaseException:
                # A COPY cut short (client gone, timeout) leaves the connection in the
                # middle of the protocol, where even ROLLBACK fails: close it (the server
                # ends the transaction) and keep the pool from handing it out again.
                driver.terminate()
                await connection.invalidate()
                raise
            await snapshot.commit()

    if excel:
        yield UTF8_BOM
    async with aclosing(prefetched(copy, PREFETCH_PIECES)) as pieces:
        async for piece in pieces:
            yield piece
