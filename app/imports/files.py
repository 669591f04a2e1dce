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

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.imports.columns import COLUMNS, ImportKind

XLSX_MAGIC = b"PK\x03\x04"


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


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"the XLSX file cannot be read: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(value) for value in row]
    finally:
        workbook.close()


def read_table(content: bytes, file_format: FileFormat, max_rows: int) -> Table:
    """The header and the non-empty rows; UnreadableFile if it is not a table we can read."""
    rows = _xlsx_rows(content) if file_format == FileFormat.xlsx else _csv_rows(content)
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    for line, cells in enumerate(rows, start=1):
        if header is None:
            header = [cell.lower() for cell in cells]
            while header and not header[-1]:
                header.pop()
            continue
        if not any(cells):
            continue
        if len(body) == max_rows:
            raise UnreadableFile(f"the file has more than {max_rows} rows; split it")
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
