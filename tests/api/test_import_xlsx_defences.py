"""Untrusted XLSX files: entity bombs, decompression bombs, lying zips and over-wide sheets
are refused with a problem naming the reason, and nothing is written."""

import io
import struct
import zipfile

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.imports.files import (
    FileFormat,
    TableLimits,
    UnreadableFile,
    check_xlsx_archive,
    read_table,
)
from app.imports.models import ImportJob
from tests.api.factories import problem
from tests.api.imports_helpers import LOT_HEADER, post_import, xlsx_file

SHEET = "xl/worksheets/sheet1.xml"
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def with_member(content: bytes, name: str, data: bytes) -> bytes:
    """The workbook with one member's data replaced (the others copied as they are)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            target.writestr(member, data if member.filename == name else source.read(member))
    return out.getvalue()


def sheet_xml(rows_xml: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f'<worksheet xmlns="{SHEET_NS}"><sheetData>{rows_xml}</sheetData></worksheet>'
    ).encode()


def header_row() -> str:
    cells = "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for name in LOT_HEADER)
    return f"<row>{cells}</row>"


def entity_bomb() -> bytes:
    """Billion laughs: ten levels of ten references, a gigabyte once expanded."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    prolog = f"<!DOCTYPE worksheet [{''.join(entities)}]>"
    row = '<row><c t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return with_member(xlsx_file(LOT_HEADER, []), SHEET, sheet_xml(header_row() + row, prolog))


def decompression_bomb(expanded_bytes: int) -> bytes:
    """A valid sheet padded with whitespace: tiny compressed, huge once inflated."""
    padding = " " * expanded_bytes
    return with_member(
        xlsx_file(LOT_HEADER, []), SHEET, sheet_xml(header_row() + padding + "<row/>")
    )


def understated_sizes(content: bytes, member: str, declared: int) -> bytes:
    """The zip with ``member``'s uncompressed size understated in both of its headers."""
    data = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        offset = archive.getinfo(member).header_offset
    struct.pack_into("<I", data, offset + 22, declared)  # local file header
    entry = data.find(b"PK\x01\x02")
    while entry != -1:  # central directory entries: the one pointing at that header
        if struct.unpack_from("<I", data, entry + 42)[0] == offset:
            struct.pack_into("<I", data, entry + 24, declared)
            return bytes(data)
        entry = data.find(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"{member} has no central directory entry")


async def import_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(ImportJob)) or 0)


async def test_entity_bomb_is_refused_naming_entities(
    inspector: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await post_import(inspector, "lots", entity_bomb(), filename="bomb.xlsx")
    body = problem(response, 422)
    assert body["errors"][0]["field"] == "body.file"
    assert "XML entities" in body["errors"][0]["reason"], body
    assert await import_rows(engine) == 0


async def test_decompression_bomb_is_refused_before_parsing(
    inspector: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 1024 * 1024
    monkeypatch.setattr(app.state.settings, "import_xlsx_max_uncompressed_bytes", limit)
    bomb = decompression_bomb(20 * limit)
    assert len(bomb) < limit // 10  # the upload itself is small
    response = await post_import(inspector, "lots", bomb, filename="bomb.xlsx")
    reason = problem(response, 422)["errors"][0]["reason"]
    assert f"more than the limit of {limit} bytes" in reason, reason
    assert await import_rows(engine) == 0


def test_a_zip_understating_its_sizes_cannot_inflate_past_them() -> None:
    """Declared sizes are what the archive check bounds: a member holding more than it
    declares must fail to read rather than inflate beyond the check."""
    limit = 1024 * 1024
    bomb = understated_sizes(decompression_bomb(20 * limit), SHEET, 1_000)
    check_xlsx_archive(bomb, limit)  # the declared sizes pass
    with pytest.raises(UnreadableFile):
        read_table(bomb, FileFormat.xlsx, TableLimits(rows=10, xlsx_uncompressed_bytes=limit))


async def test_too_many_columns_are_refused(inspector: httpx.AsyncClient) -> None:
    wide = xlsx_file([*LOT_HEADER, *(f"extra_{i}" for i in range(300))], [])
    reason = problem(await post_import(inspector, "lots", wide, filename="wide.xlsx"), 422)[
        "errors"
    ][0]["reason"]
    assert "more than 256 columns" in reason, reason


async def test_too_many_rows_are_refused(
    inspector: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "import_max_rows", 3)
    rows = [[f"L-{n}", 1, "FFP2", "FFP2", 10, "2020-03-21T00:00:00Z"] for n in range(4)]
    response = await post_import(inspector, "lots", xlsx_file(LOT_HEADER, rows), filename="a.xlsx")
    assert "more than 3 rows" in problem(response, 422)["errors"][0]["reason"]


async def test_a_sheet_claiming_every_cell_is_read_within_the_column_cap(
    inspector: httpx.AsyncClient,
) -> None:
    """A 5 KB sheet with a cell in the last column of the last row (A1:XFD1048576) must not
    be expanded into 17 billion cells: a reader that builds a dense grid (python-calamine
    0.9 aborts the process on it) would take the server down."""
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    sheet = sheet_xml(header_row() + far)
    content = with_member(xlsx_file(LOT_HEADER, []), SHEET, sheet)
    assert len(content) < 10_000
    response = await post_import(inspector, "lots", content, filename="sparse.xlsx")
    assert "more than 210001 lines" in problem(response, 422)["errors"][0]["reason"]


async def test_a_sheet_declaring_fewer_rows_than_it_has_is_read_whole(
    inspector: httpx.AsyncClient,
) -> None:
    """Read-only openpyxl stops at the declared dimension: a file claiming A1:F2 while
    holding three rows must not be imported as one row."""
    rows = [[f"L-{n}", 999, "FFP2", "FFP2", 10, "2020-03-21T00:00:00Z"] for n in range(3)]
    content = xlsx_file(LOT_HEADER, rows)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read(SHEET).decode()
    assert '<dimension ref="A1:F4" />' in sheet, sheet[:300]
    content = with_member(content, SHEET, sheet.replace("A1:F4", "A1:F2").encode())
    response = await post_import(inspector, "lots", content, filename="short.xlsx")
    lines = {e["line"] for e in problem(response, 422)["errors"]}
    assert lines == {2, 3, 4}  # every row read (all name an unknown supplier)
