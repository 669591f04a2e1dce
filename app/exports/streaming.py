"""Stream a query's rows out of the database into an attachment response.

The request's session closes when the endpoint returns, before the body is
sent, so the stream opens its own connection from the engine inside the
response's generator: on PostgreSQL a REPEATABLE READ READ ONLY transaction
(one snapshot for the whole export) read through a server-side cursor; on
SQLite a deferred transaction, which reads one WAL snapshot without taking the
write lock.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, suppress
from typing import Any, TypeVar

from fastapi.responses import StreamingResponse
from sqlalchemy import Row as DbRow
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import READ_ONLY_SNAPSHOT, is_sqlite, utcnow
from app.exports.tabular import MEDIA_TYPES, Chunks, ExportFormat, Row, attachment_headers, encode

CHUNK_ROWS = 2000
PREFETCH_CHUNKS = 2

T = TypeVar("T")

logger = logging.getLogger("lotgate.exports")


async def _snapshot(engine: AsyncEngine, connection: AsyncConnection) -> None:
    if is_sqlite(str(engine.url)):
        await connection.execution_options(**{READ_ONLY_SNAPSHOT: True})
    else:
        await connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )


async def prefetched(
    produce: Callable[[Callable[[T], Awaitable[None]]], Awaitable[None]], ahead: int
) -> AsyncGenerator[T]:
    """What ``produce`` puts, in order, from a task of its own that runs at most ``ahead``
    items ahead of the consumer (backpressure: memory stays flat)."""
    queue: asyncio.Queue[T | None] = asyncio.Queue(ahead)

    async def run() -> None:
        try:
            await produce(queue.put)
        except Exception:
            await queue.put(None)
            raise
        await queue.put(None)  # not on cancellation: then nobody is reading any more

    producer = asyncio.create_task(run())
    try:
        while (item := await queue.get()) is not None:
            yield item
        await producer  # re-raises what stopped the producer early
    finally:
        if not producer.done():
            producer.cancel()
            with suppress(asyncio.CancelledError):
                await producer


async def snapshot_chunks(
    engine: AsyncEngine,
    query: Select[*tuple[Any, ...]],
    transform: Callable[[DbRow[*tuple[Any, ...]]], Row],
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> AsyncIterator[Sequence[Row]]:
    """The query's rows, ``chunk_rows`` at a time, from one read-only snapshot.

    The database is read (at most PREFETCH_CHUNKS ahead) while the caller formats
    this chunk, so the database and the encoder work at the same time.
    """

    async def read(put: Callable[[Sequence[DbRow[*tuple[Any, ...]]]], Awaitable[None]]) -> None:
        async with engine.connect() as connection:
            await _snapshot(engine, connection)
            async with connection.begin():
                result = await connection.stream(query.execution_options(yield_per=chunk_rows))
                async for partition in result.partitions(chunk_rows):
                    await put(partition)

    async with aclosing(prefetched(read, PREFETCH_CHUNKS)) as partitions:
        async for partition in partitions:
            yield [transform(row) for row in partition]


async def _logged(body: AsyncIterator[bytes], what: str) -> AsyncIterator[bytes]:
    # Once the first byte is out the status is sent: a failure can only cut the stream.
    try:
        async for piece in body:
            yield piece
    except Exception:
        logger.exception("export %s failed while streaming", what)
        raise


def attachment_response(
    export_format: ExportFormat,
    columns: Sequence[str],
    chunks: Chunks,
    *,
    stem: str,
    excel: bool = False,
) -> StreamingResponse:
    body = encode(export_format, columns, chunks, excel=excel, sheet_title=stem)
    return encoded_attachment_response(export_format, body, stem=stem)


def encoded_attachment_response(
    export_format: ExportFormat, body: AsyncIterator[bytes], *, stem: str
) -> StreamingResponse:
    return StreamingResponse(
        _logged(body, stem),
        media_type=MEDIA_TYPES[export_format],
        headers=attachment_headers(stem, export_format, utcnow().date()),
    )
