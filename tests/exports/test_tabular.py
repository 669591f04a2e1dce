"""The encoders alone: no database, no web server."""

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from app.exports import tabular
from app.exports.tabular import ExportFormat, encode, neutralise, spreadsheet_value


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_formula_starts_are_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["", "plain", " =x", "x=1", "'=already"])
def test_other_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_only_text_is_neutralised() -> None:
    assert spreadsheet_value(-5) == -5
    assert spreadsheet_value(Decimal("-1.50")) == Decimal("-1.50")
    assert spreadsheet_value(None) is None
    assert spreadsheet_value(datetime(2020, 3, 21, tzinfo=UTC)) == "2020-03-21T00:00:00+00:00"


async def _chunks(*chunks: Sequence[Sequence[Any]]) -> AsyncIterator[Sequence[Sequence[Any]]]:
    for chunk in chunks:
        yield chunk


async def _collect(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in body])


async def test_csv_round_trips_awkward_text_across_chunks() -> None:
    awkward = ["a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "=cmd"]
    body = await _collect(
        encode(
            ExportFormat.csv,
            ("n", "text"),
            _chunks([(1, awkward[0])], [(i, t) for i, t in enumerate(awkward[1:], 2)]),
        )
    )
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert rows == [
        ["n", "text"],
        ["1", "a,b"],
        ["2", 'say "hi"'],
        ["3", "two\nlines"],
        ["4", "cr\r\nlf"],
        ["5", "'=cmd"],
    ]


async def test_json_is_exact_and_valid_across_chunks() -> None:
    body = await _collect(
        encode(ExportFormat.json, ("n", "t"), _chunks([(1, "=x")], [], [(2, None)]))
    )
    assert json.loads(body) == [{"n": 1, "t": "=x"}, {"n": 2, "t": None}]


async def test_xlsx_continues_on_a_new_sheet_when_one_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tabular, "XLSX_MAX_DATA_ROWS", 2)
    rows = [(i, f"row {i}\x00") for i in range(5)]
    body = await _collect(
        encode(ExportFormat.xlsx, ("n", "t"), _chunks(rows[:3], rows[3:]), sheet_title="s")
    )
    workbook = load_workbook(io.BytesIO(body))
    assert workbook.sheetnames == ["s", "s-2", "s-3"]
    values = [list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets]
    assert values[0] == [("n", "t"), (0, "row 0"), (1, "row 1")]
    assert values[2] == [("n", "t"), (4, "row 4")]
