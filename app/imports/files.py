"""Reading uploaded CSV and XLSX files into rows of text cells, and writing templates.

Rows are numbered as a spreadsheet shows them: the header is line 1. Every cell becomes
text (XLSX numbers and dates included) so that both formats go through the same
validation; empty cells are left out, so a model's default applies.
"""

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.imports.columns import COLUMNS, ImportKind

XLSX_MAGIC = b"PK\x03\x04"
XML_ENTITIES_REFUSED = (
    "the XLSX file declares XML entities, which spreadsheets never need; "
    "refused as a possible entity-expansion attack"
)


class FileFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class UnreadableFile(ValueError):
    """The file cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line, cells)


def detect_format(content: bytes) -> FileFormat:
    return FileFormat.xlsx if content.startswith(XLSX_MAGIC) else FileFormat.csv


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"the file is neither XLSX nor UTF-8 CSV text ({exc.reason})") from exc
    try:  # spreadsheets set to a European locale export with ";"
        delimiter = csv.Sniffer().sniff(text[:4096], ",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield [cell.strip() for cell in row]
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV is malformed: {exc}") from exc


@dataclass(frozen=True)
class TableLimits:
    """What an uploaded file may hold, checked before and while it is read."""

    rows: int
    columns: int = 256
    blank_lines: int = 10_000
    xlsx_uncompressed_bytes: int = 512 * 1024 * 1024

    @property
    def lines(self) -> int:
        """Lines read at most: the header, the rows and some blank lines between them."""
        return 1 + self.rows + self.blank_lines


def check_xlsx_archive(content: bytes, limit: int) -> None:
    """Refuse a decompression bomb before parsing: the sizes the zip declares for its members.

    zipfile (which openpyxl reads through) never returns more of a deflated member than it
    declares: it inflates with an output bound and stops at the declared size, and data
    that do not match the declared size and CRC fail to read. So bounding the declared
    total bounds what the parser can be made to inflate.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(f"the XLSX file cannot be read: {exc}") from exc
    for member in members:
        # Excel writes deflate only; other methods decompress without an output bound.
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableFile(
                f"the XLSX member {member.filename!r} uses an unsupported compression method"
            )
    declared = sum(member.file_size for member in members)
    if declared > limit:
        raise UnreadableFile(
            f"the XLSX file would expand to {declared} bytes, more than the limit of "
            f"{limit} bytes (LOTGATE_IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES); "
            "save it as CSV or split it"
        )


def _xlsx_rows(content: bytes, limits: TableLimits) -> Iterator[list[str]]:
    check_xlsx_archive(content, limits.xlsx_uncompressed_bytes)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _unreadable(exc) from exc
    try:
        sheet = workbook.worksheets[0]
        # Read-only sheets are padded to their declared dimension: at most one column more
        # than allowed (enough to tell a too-wide row), never the 16,384 columns a crafted
        # dimension may claim. Rows: the explicit bound replaces the declared one, which
        # could otherwise cut a file short without a word; read_table stops past it.
        declared = sheet.max_column
        columns = min(declared, limits.columns + 1) if declared else limits.columns + 1
        rows = sheet.iter_rows(values_only=True, max_col=columns, max_row=limits.lines + 1)
        for row in _guarded(rows):
            yield [_cell_text(value) for value in row] if any(row) else []
    finally:
        workbook.close()


def _guarded(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    """The sheet's XML is parsed while it is iterated: refuse entities there too."""
    try:
        yield from rows
    except (ParseError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable(exc) from exc


def _unreadable(exc: BaseException) -> UnreadableFile:
    """Why an XLSX cannot be read; entity declarations named as such (openpyxl reports
    defusedxml's refusal as the cause of its own ValueError)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            return UnreadableFile(XML_ENTITIES_REFUSED)
        cause = cause.__cause__
    return UnreadableFile(f"the XLSX file cannot be read: {exc}")


def read_table(content: bytes, file_format: FileFormat, limits: TableLimits) -> Table:
    """The header and the non-empty rows; UnreadableFile if it is not a table we can read."""
    rows = _xlsx_rows(content, limits) if file_format == FileFormat.xlsx else _csv_rows(content)
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    for line, cells in enumerate(rows, start=1):
        if line > limits.lines:
            raise UnreadableFile(
                f"the file has more than {limits.lines} lines (at most {limits.rows} rows, "
                f"a header and {limits.blank_lines} blank lines); split it"
            )
        if len(cells) > limits.columns and any(cells[limits.columns :]):
            raise UnreadableFile(
                f"line {line} has more than {limits.columns} columns; "
                "the import knows far fewer: remove the extra columns"
            )
        if header is None:
            header = [cell.lower() for cell in cells]
            while header and not header[-1]:
                header.pop()
            continue
        if not any(cells):
            continue
        if len(body) == limits.rows:
            raise UnreadableFile(f"the file has more than {limits.rows} rows; split it")
        body.append((line, cells))
    if not header:
        raise UnreadableFile("the file is empty: the first line must name the columns")
    return Table(header, body)


def template_csv(kind: ImportKind) -> bytes:
    columns = COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerow([c.example for c in columns])
    return buffer.getvalue().encode()


def template_xlsx(kind: ImportKind) -> bytes:
    """Sheet 1 is the data (header and an example row); sheet 2 documents the columns."""
    columns = COLUMNS[kind]
    workbook = Workbook(write_only=True)
    data = workbook.create_sheet(kind.value)
    data.append([c.name for c in columns])
    data.append([c.example for c in columns])
    notes = workbook.create_sheet("columns")
    notes.append(["column", "required", "meaning"])
    for column in columns:
        notes.append([column.name, "yes" if column.required else "no", column.meaning])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
