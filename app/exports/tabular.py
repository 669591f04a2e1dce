"""Rows out as CSV, JSON or XLSX, a chunk at a time.

Every encoder takes an async iterator of row chunks (each row a tuple in the
order of ``columns``) and yields bytes, so a response never holds more than a
chunk of rows. Spreadsheet formats (CSV, XLSX) neutralise text a spreadsheet
would run as a formula; JSON keeps values exactly as they are.
"""

import asyncio
import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

Row = Sequence[Any]
Chunks = AsyncIterator[Sequence[Row]]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)
UTF8_BOM = "\ufeff".encode()
# XLSX sheets hold 1,048,576 rows; longer exports continue on the next sheet.
XLSX_MAX_DATA_ROWS = 1_048_575
XLSX_READ_BYTES = 256 * 1024


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.json: "application/json",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


XLSX_MEDIA_TYPE = MEDIA_TYPES[ExportFormat.xlsx]


def file_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: a 200 that is JSON, or a CSV or XLSX attachment."""
    return {
        200: {
            "description": description,
            "content": {"application/json": {}, "text/csv": {}, XLSX_MEDIA_TYPE: {}},
        }
    }


def neutralise(text: str) -> str:
    """A leading apostrophe keeps =, +, -, @, tab and CR from starting a formula."""
    return "'" + text if text[:1] in _FORMULA_FIRST else text


def _iso(value: datetime | date) -> str:
    return value.isoformat()


# Exact-type dispatch: the hot path of every export (millions of cells).
_AS_IS = (type(None), bool, int, float, Decimal)
_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    **{kind: lambda value: value for kind in _AS_IS},
    str: neutralise,
    datetime: _iso,
    date: _iso,
}


def spreadsheet_value(value: Any) -> Any:
    """A cell for CSV/XLSX: text neutralised, timestamps as ISO 8601, numbers left as numbers."""
    convert = _CONVERTERS.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, _AS_IS):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(str(value))


def _spreadsheet_row(row: Row) -> list[Any]:
    # spreadsheet_value inlined for the two commonest cells (text, numbers): ~2x faster.
    return [
        ("'" + v if v[:1] in _FORMULA_FIRST else v)
        if type(v) is str
        else (v if type(v) in _AS_IS else spreadsheet_value(v))
        for v in row
    ]


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


async def csv_stream(
    columns: Sequence[str], chunks: Chunks, *, excel: bool
) -> AsyncIterator[bytes]:
    """RFC 4180: CRLF line ends, fields with commas, quotes or line breaks quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    head = buffer.getvalue().encode()
    yield UTF8_BOM + head if excel else head
    async for chunk in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_spreadsheet_row(row) for row in chunk])
        yield buffer.getvalue().encode()


async def json_stream(columns: Sequence[str], chunks: Chunks) -> AsyncIterator[bytes]:
    """A JSON array of objects, one per row."""
    separator = "[\n"
    async for chunk in chunks:
        if not chunk:
            continue
        encoded = ",\n".join(
            json.dumps(
                {c: json_value(v) for c, v in zip(columns, row, strict=True)}, ensure_ascii=False
            )
            for row in chunk
        )
        yield (separator + encoded).encode()
        separator = ",\n"
    yield b"[]\n" if separator == "[\n" else b"\n]\n"


def _xlsx_value(value: Any) -> Any:
    value = spreadsheet_value(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


class _XlsxWriter:
    """openpyxl in write-only mode: rows go to temporary files, never to a tree in memory."""

    def __init__(self, columns: Sequence[str], sheet_title: str) -> None:
        self.workbook = Workbook(write_only=True)
        self.columns = list(columns)
        self.sheet_title = sheet_title
        self.sheets = 0
        self.rows_on_sheet = XLSX_MAX_DATA_ROWS

    def append(self, chunk: Sequence[Row]) -> None:
        for row in chunk:
            if self.rows_on_sheet == XLSX_MAX_DATA_ROWS:
                self.sheets += 1
                title = (
                    self.sheet_title if self.sheets == 1 else f"{self.sheet_title}-{self.sheets}"
                )
                self.sheet = self.workbook.create_sheet(title)
                self.sheet.append(self.columns)
                self.rows_on_sheet = 0
            self.sheet.append([_xlsx_value(v) for v in row])
            self.rows_on_sheet += 1

    def save(self, target: IO[bytes]) -> None:
        if self.sheets == 0:
            self.workbook.create_sheet(self.sheet_title).append(self.columns)
        self.workbook.save(target)
        target.seek(0)


async def xlsx_stream(
    columns: Sequence[str], chunks: Chunks, *, sheet_title: str
) -> AsyncIterator[bytes]:
    """An XLSX is a zip finished only at the end: rows are written in a worker thread to
    a temporary file, which is then sent in pieces."""
    writer = _XlsxWriter(columns, sheet_title)
    with tempfile.TemporaryFile() as target:
        async for chunk in chunks:
            await asyncio.to_thread(writer.append, chunk)
        await asyncio.to_thread(writer.save, target)
        while piece := await asyncio.to_thread(target.read, XLSX_READ_BYTES):
            yield piece


def encode(
    export_format: ExportFormat,
    columns: Sequence[str],
    chunks: Chunks,
    *,
    excel: bool = False,
    sheet_title: str = "export",
) -> AsyncIterator[bytes]:
    if export_format == ExportFormat.csv:
        return csv_stream(columns, chunks, excel=excel)
    if export_format == ExportFormat.json:
        return json_stream(columns, chunks)
    return xlsx_stream(columns, chunks, sheet_title=sheet_title)


def attachment_headers(stem: str, export_format: ExportFormat, day: date) -> dict[str, str]:
    filename = f"{stem}-{day.isoformat()}.{export_format.value}"
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


async def single_chunk(rows: Sequence[Row]) -> AsyncIterator[Sequence[Row]]:
    """Rows already in memory (a short list) as the chunk iterator the encoders take."""
    yield rows
