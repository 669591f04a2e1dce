"""Reading and checking a file in a worker thread, so that the server keeps answering.

Parsing a 200,000-row file and validating every row is seconds of CPU work; on the event
loop it would hold every other request of the process for that long. The loop only
waits for the thread here and reports its progress meanwhile.
"""

import asyncio
import hashlib
from typing import BinaryIO

from app import collector
from app.config import Settings
from app.imports.columns import ImportKind
from app.imports.files import FileFormat, Table, TableLimits, read_table
from app.imports.validation import Checked, Progress, RowCounter, validate_rows

PROGRESS_SECONDS = 0.5


def table_limits(settings: Settings) -> TableLimits:
    return TableLimits(
        rows=settings.import_max_rows,
        xlsx_uncompressed_bytes=settings.import_xlsx_max_uncompressed_bytes,
    )


async def file_bytes(spooled: BinaryIO) -> bytes:
    """The uploaded file's content: the server spooled it to a temporary file while it
    arrived; it is read once here, to be stored with the import."""

    def whole() -> bytes:
        spooled.seek(0)
        return spooled.read()

    return await asyncio.to_thread(whole)


async def sha256(content: bytes) -> str:
    return await asyncio.to_thread(lambda: hashlib.sha256(content).hexdigest())


async def read(content: bytes, file_format: FileFormat, settings: Settings) -> Table:
    """The file's table (UnreadableFile as read_table raises it)."""

    def work() -> Table:
        with collector.paused():
            return read_table(content, file_format, table_limits(settings))

    return await asyncio.to_thread(work)


async def validate(kind: ImportKind, table: Table, progress: Progress | None = None) -> Checked:
    """Every row through its model, with the rows done so far reported every half second."""
    counter = RowCounter()

    def rows() -> Checked:
        with collector.paused():
            return validate_rows(kind, table, counter)

    work = asyncio.ensure_future(asyncio.to_thread(rows))
    while True:
        done, _ = await asyncio.wait({work}, timeout=PROGRESS_SECONDS)
        if done:
            return work.result()
        if progress is not None:
            await progress(counter.rows)
