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
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import Row as DbRow
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import READ_ONLY_SNAPSHOT, is_sqlite, utcnow
from app.exports.tabular import MEDIA_TYPES, Chunks, ExportFormat, Row, attachment_headers, encode

CHUNK_ROWS = 2000
PREFETCH_CHUNKS = 2

logger = logging.getLogger("lotgate.exports")


async def _snapshot(engine: AsyncEngine, connection: AsyncConnection) -> None:
    if is_sqlite(str(engine.url)):
        await connection.execution_options(**{READ_ONLY_SNAPSHOT: True})
    else:
        await connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )


async def snapshot_chunks(
    engine: AsyncEngine,
    query: Select[*tuple[Any, ...]],
    transform: Callable[[DbRow[*tuple[Any, ...]]], Row],
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> AsyncIterator[Sequence[Row]]:
    """The query's rows, ``chunk_rows`` at a time, from one read-only snapshot.

    A reader task fetches the next chunks (at most PREFETCH_CHUNKS ahead) while the
    caller formats this one, so the database and the encoder work at the same time.
    """
    chunks: asyncio.Queue[Sequence[DbRow[*tuple[Any, ...]]] | None] = asyncio.Queue(PREFETCH_CHUNKS)

    async def read() -> None:
        try:
            async with engine.connect() as connection:
                await _snapshot(engine, connection)
                async with connection.begin():
                    result = await connection.stream(query.execution_options(yield_per=chunk_rows))
                    async for partition in result.partitions(chunk_rows):
                        await chunks.put(partition)
        except Exception:
            await chunks.put(None)
            raise
        await chunks.put(None)  # not on cancellation: then nobody is reading any more

    reader = asyncio.create_task(read())
    try:
        while (partition := await chunks.get()) is not None:
            yield [transform(row) for row in partition]
        await reader  # re-raises what stopped the reader early
    finally:
        if not reader.done():
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader


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
    return StreamingResponse(
        _logged(body, stem),
        media_type=MEDIA_TYPES[export_format],
        headers=attachment_headers(stem, export_format, utcnow().date()),
    )
