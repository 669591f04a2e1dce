"""Alerts from the formats people receive, as POST /alerts bodies (validated there).

- openFDA ``device/enforcement`` JSON (``{"results": [...]}``): one alert per recall;
  ``code_info`` is free text, read for GTINs (UDI ``(01)``/UDI-DI) and lot numbers.
- EU Safety Gate alert XML: one alert per element that has a case number or reference;
  child elements are read by name, whatever their case (brand, model, batchNumber,
  barcode, notifyingCountry, publicationDate, ...). Parsed with defusedxml.
- The CSV template (``TEMPLATE_COLUMNS``): one alert per row, lists separated by ``;``,
  GTINs as ``gtin`` or ``gtin:batch``.

Nothing is fetched: the caller hands over the file it received.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from app.quality.identifiers import gtin14


class AlertFormat(StrEnum):
    openfda = "openfda"
    safety_gate = "safety_gate"
    csv = "csv"


class UnreadableFile(ValueError):
    """The file is not in the format named (``where``: which record, if known)."""

    def __init__(self, reason: str, where: str = "file") -> None:
        super().__init__(reason)
        self.where = where


TEMPLATE_COLUMNS = (
    "source",
    "issuing_body",
    "country",
    "published_on",
    "url",
    "reference",
    "text",
    "manufacturers",
    "models",
    "certificate_numbers",
    "notified_body_numbers",
    "niosh_approval_numbers",
    "gtins",
    "products",
)
_LISTS = TEMPLATE_COLUMNS[7:]
MAX_TEXT = 20_000

_GTIN_IN_UDI = re.compile(r"\(01\)\s*(\d{14})|UDI-DI[^0-9(]{0,20}(\d{14})")
_LOT_SECTION = re.compile(r"(?i)\blots?\b(.*?)(?=\bP/N\b|\bUDI\b|\bcatalog\b|$)", re.S)
_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}")
_BATCH = re.compile(r"\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,}\b")
_MODEL = re.compile(
    r"(?i)(?:cat(?:alog)?\s*(?:#|number|no\.?)|REF|model|P/N)\s*[:#]?\s*([A-Z0-9][\w.-]+)"
)


def read_alerts(alert_format: AlertFormat, content: bytes) -> list[dict[str, Any]]:
    """POST /alerts bodies for every alert in the file."""
    readers = {
        AlertFormat.openfda: _openfda,
        AlertFormat.safety_gate: _safety_gate,
        AlertFormat.csv: _csv,
    }
    alerts = list(readers[alert_format](content))
    if not alerts:
        raise UnreadableFile("holds no alert")
    return alerts


# --- openFDA ---------------------------------------------------------------------------


def _openfda(content: bytes) -> Iterator[dict[str, Any]]:
    try:
        document = json.loads(content)
        results = document["results"]
    except (ValueError, KeyError, TypeError):
        raise UnreadableFile("is not openFDA JSON with a results list") from None
    if not isinstance(results, list):
        raise UnreadableFile("results is not a list")
    for index, record in enumerate(results):
        if not isinstance(record, dict):
            raise UnreadableFile("is not a record", f"results.{index}")
        yield _openfda_alert(record, f"results.{index}")


def _openfda_alert(record: dict[str, Any], where: str) -> dict[str, Any]:
    firm = _text(record.get("recalling_firm"))
    reported = _text(record.get("report_date")) or _text(record.get("recall_initiation_date"))
    if not firm or not reported:
        raise UnreadableFile("needs recalling_firm and report_date", where)
    try:
        published = datetime.strptime(reported, "%Y%m%d").date()
    except ValueError:
        raise UnreadableFile(f"report_date {reported!r} is not YYYYMMDD", where) from None
    code_info = _text(record.get("code_info"))
    description = _text(record.get("product_description"))
    parts = [
        _text(record.get("classification")),
        _text(record.get("reason_for_recall")),
        description,
        code_info,
    ]
    return {
        "source": "regulator",
        "issuing_body": "U.S. Food and Drug Administration",
        "country": "US",
        "published_on": published.isoformat(),
        "reference": _text(record.get("recall_number")) or None,
        "text": " | ".join(p for p in parts if p)[:MAX_TEXT],
        "names": {
            "manufacturers": [firm],
            "models": sorted(set(_MODEL.findall(f"{description} {code_info}"))),
            "gtins": udi_gtins(code_info),
        },
    }


def udi_gtins(code_info: str) -> list[dict[str, str | None]]:
    """GTINs (valid check digits only) in openFDA code_info text, each with every lot
    number the text lists (GTIN + batch), or alone when it lists none."""
    gtins: list[str] = []
    for match in _GTIN_IN_UDI.finditer(code_info):
        digits = match.group(1) or match.group(2)
        try:
            gtins.append(gtin14(digits))
        except ValueError:
            continue
    lots: list[str] = []
    for section in _LOT_SECTION.findall(code_info):
        for token in _BATCH.findall(_DATE.sub(" ", section)):
            if token not in lots:
                lots.append(token)
    named: list[dict[str, str | None]] = []
    for gtin in dict.fromkeys(gtins):
        named += [{"gtin": gtin, "batch": lot} for lot in lots] or [{"gtin": gtin, "batch": None}]
    return named


# --- EU Safety Gate ---------------------------------------------------------------------

_CASE = ("casenumber", "reference", "alertnumber")
_PRODUCT = ("product", "name", "brand", "barcode")


def _safety_gate(content: bytes) -> Iterator[dict[str, Any]]:
    try:
        root = SafeElementTree.fromstring(content)
    except (SafeElementTree.ParseError, DefusedXmlException) as error:
        raise UnreadableFile(f"is not well-formed, safe XML: {error}") from None
    index = 0
    for element in root.iter():
        fields = _children(element)
        if not any(name in fields for name in _CASE):
            continue
        if not any(name in fields for name in _PRODUCT):
            continue  # a report's own reference, not an alert
        yield _safety_gate_alert(fields, f"alert {index}")
        index += 1


def _children(element: Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for child in element:
        name = child.tag.rsplit("}", 1)[-1].lower().replace("_", "")
        text = " ".join("".join(child.itertext()).split())
        if text and len(child) == 0:
            found.setdefault(name, text)
    return found


def _safety_gate_alert(fields: dict[str, str], where: str) -> dict[str, Any]:
    reference = next(fields[name] for name in _CASE if name in fields)
    published = _iso_date(fields.get("publicationdate") or fields.get("date"), where)
    brand = fields.get("brand")
    if not brand or brand.lower() in ("unknown", "none"):
        brand = None
    barcodes = re.findall(r"\d{8,14}", fields.get("barcode", ""))
    batches = [b.strip() for b in re.split(r"[;,]", fields.get("batchnumber", "")) if b.strip()]
    gtins: list[dict[str, str | None]] = []
    for barcode in barcodes:
        try:
            gtin = gtin14(barcode)
        except ValueError:
            continue
        gtins += [{"gtin": gtin, "batch": b} for b in batches] or [{"gtin": gtin, "batch": None}]
    model = fields.get("model") or fields.get("typenumberofmodel")
    parts = [fields.get(k) for k in ("product", "name", "risktype", "danger", "measures")]
    return {
        "source": "regulator",
        "issuing_body": "EU Safety Gate"
        + (f" ({fields['notifyingcountry']})" if "notifyingcountry" in fields else ""),
        "country": None,
        "published_on": published.isoformat(),
        "url": fields.get("alerturl"),
        "reference": reference[:200],
        "text": " | ".join(p for p in parts if p)[:MAX_TEXT] or reference,
        "names": {
            "manufacturers": [brand] if brand else [],
            "models": [model] if model else [],
            "gtins": gtins,
        },
    }


def _iso_date(text: str | None, where: str) -> date:
    if not text:
        raise UnreadableFile("has no publication date", where)
    for form in ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text[:10], form).date()
        except ValueError:
            continue
    raise UnreadableFile(f"publication date {text!r} is not a date", where)


# --- CSV template --------------------------------------------------------------------------


def _csv(content: bytes) -> Iterator[dict[str, Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c
        for c in ("source", "issuing_body", "published_on", "text")
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise UnreadableFile(
            f"lacks the columns {', '.join(missing)} (template: {', '.join(TEMPLATE_COLUMNS)})"
        )
    for line, row in enumerate(reader, start=2):
        unknown = [k for k in row if k not in TEMPLATE_COLUMNS]
        if unknown:
            raise UnreadableFile(f"unknown columns {unknown}", f"line {line}")
        yield {
            **{k: (row.get(k) or None) for k in TEMPLATE_COLUMNS[:7]},
            "names": {
                **{k: _split(row.get(k)) for k in _LISTS if k != "gtins"},
                "gtins": [_named_gtin(item) for item in _split(row.get("gtins"))],
            },
        }


def _split(cell: str | None) -> list[str]:
    return [item.strip() for item in (cell or "").split(";") if item.strip()]


def _named_gtin(item: str) -> dict[str, str | None]:
    gtin, _, batch = item.partition(":")
    return {"gtin": gtin.strip(), "batch": batch.strip() or None}


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value not in (None, "N/A") else ""
