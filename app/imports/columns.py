"""The documented column sets of each import kind, and how a row becomes a request body.

Each row is validated by the same pydantic model as the single-record endpoint
(LotCreate, InspectionCreate, CertificateCreate), plus the lot it belongs to. Inspection
files are flat: one ``defect_<code>`` column per defect code (a count) and one column per
measured characteristic (e.g. ``filtration_efficiency_pct``).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from app.certificates.schemas import CertificateCreate
from app.inspections.schemas import InspectionCreate
from app.lots.schemas import LotCreate
from app.quality.certificates import CertificateType, Verification
from app.quality.products import CHARACTERISTICS, DEFECT_CODES, PRODUCT_CODES
from app.schemas import ReferenceId

DEFECT_PREFIX = "defect_"


class ImportKind(StrEnum):
    lots = "lots"
    inspections = "inspections"
    certificates = "certificates"


class InspectionRow(InspectionCreate):
    lot_id: ReferenceId


class CertificateRow(CertificateCreate):
    lot_id: ReferenceId


ROW_MODELS: dict[ImportKind, type[BaseModel]] = {
    ImportKind.lots: LotCreate,
    ImportKind.inspections: InspectionRow,
    ImportKind.certificates: CertificateRow,
}


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: str
    example: str = ""


def _one_of(values: tuple[str, ...] | list[str]) -> str:
    return "one of " + ", ".join(values)


LOT_COLUMNS = (
    Column("lot_number", True, "the supplier's lot number (unique per supplier)", "LOT-2020-001"),
    Column("supplier_id", True, "id of the supplier (see /suppliers)", "1"),
    Column("manufacturer_id", False, "id of the manufacturer, a supplier with that role", ""),
    Column("product", True, f"product delivered: {_one_of(PRODUCT_CODES)}", "KN95"),
    Column("ordered_as", True, f"product ordered: {_one_of(PRODUCT_CODES)}", "FFP2"),
    Column("quantity", True, "units received, 1 to 1,000,000,000", "1300000"),
    Column("unit", False, "unit of the quantity (default pieces)", "pieces"),
    Column(
        "received_at", True, "ISO 8601 time; without an offset it is UTC", "2020-03-21T09:00:00Z"
    ),
    Column("purchase_order", False, "purchase order reference", "PO-17"),
    Column("ear_loops", False, "true if the respirators have ear loops", "false"),
    Column("model", False, "the manufacturer's model designation", "KN95-9501"),
    Column("batch", False, "the manufacturer's batch number", "220706"),
    Column("gtin", False, "GS1 GTIN-8/12/13/14, check digit verified", "04050598000582"),
    Column("expiry", False, "ISO date the units expire", "2024-05-04"),
    Column(
        "gs1",
        False,
        "GS1 element string from a label scan; fills gtin, batch and expiry",
        "(01)04050598000582(10)220706(17)240504",
    ),
)

INSPECTION_COLUMNS = (
    Column("lot_id", True, "id of the inspected lot", "1"),
    Column("kind", True, "visual (AQL sample) or lab (destructive test)", "lab"),
    Column("sample_size", True, "units inspected; at most the lot's quantity", "20"),
    Column("performed_at", True, "ISO 8601 time", "2020-03-24T10:00:00Z"),
    Column("inspector", True, "who inspected", "Example Lab"),
    Column("lab", False, "laboratory", "Example Lab"),
    Column("report_number", False, "the lab's report number", "R-2020-17"),
    Column("confirms", False, "true if run to confirm an earlier failure", "false"),
    *(
        Column(f"{DEFECT_PREFIX}{code}", False, f"units with defect {code}; at most sample_size")
        for code in DEFECT_CODES
    ),
    *(
        Column(
            name,
            False,
            "measured value" + (" in %" if name.endswith("_pct") else ""),
            "93.5" if name == "filtration_efficiency_pct" else "",
        )
        for name in CHARACTERISTICS
    ),
)

CERTIFICATE_COLUMNS = (
    Column("lot_id", True, "id of the lot the certificate is for", "1"),
    Column("type", True, _one_of([t.value for t in CertificateType]), "eu_type_examination"),
    Column("number", True, "certificate number", "2163-PPE-0001"),
    Column("issuer", True, "issuing body", "Example NB"),
    Column("issuer_country", False, "ISO 3166 alpha-2 country of the issuer", "DE"),
    Column("notified_body_number", False, "4-digit notified body number", "2163"),
    Column("niosh_approval_number", False, "NIOSH approval, TC-84A- and 4 digits", ""),
    Column("standard", False, "standard with edition", "EN 149:2001+A1:2009"),
    Column("product_scope", False, "products and models covered", "FFP2 NR"),
    Column("valid_from", False, "ISO date", "2019-01-01"),
    Column("valid_until", False, "ISO date", "2029-01-01"),
    Column("file_sha256", False, "SHA-256 of the certificate file (64 hex digits)", ""),
    Column("verification", False, _one_of([v.value for v in Verification]), "unverified"),
    Column("verified_by", False, "who verified (required unless unverified)", ""),
    Column("verified_at", False, "ISO 8601 time of verification", ""),
    Column("method", False, "how it was verified (required unless unverified)", ""),
)

COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.lots: LOT_COLUMNS,
    ImportKind.inspections: INSPECTION_COLUMNS,
    ImportKind.certificates: CERTIFICATE_COLUMNS,
}


def describe_columns() -> str:
    """Markdown for the OpenAPI description: every kind's columns."""
    parts = []
    for kind, columns in COLUMNS.items():
        lines = [f"- `{c.name}`{' (required)' if c.required else ''}: {c.meaning}" for c in columns]
        parts.append(f"**{kind.value}**\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def row_input(kind: ImportKind, cells: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The request body for one row, and for inspections the column behind each list item.

    Returns (body, item_columns): item_columns[i] names the column of defects[i] or
    measurements[i - len(defects)], so that an error on a list item names its column.
    """
    if kind != ImportKind.inspections:
        return dict(cells), []
    body: dict[str, Any] = {}
    defects: list[dict[str, str]] = []
    measurements: list[dict[str, str]] = []
    defect_columns: list[str] = []
    measurement_columns: list[str] = []
    for name, value in cells.items():
        if name.startswith(DEFECT_PREFIX):
            defects.append({"code": name[len(DEFECT_PREFIX) :], "count": value})
            defect_columns.append(name)
        elif name in CHARACTERISTICS:
            measurements.append({"characteristic": name, "value": value})
            measurement_columns.append(name)
        else:
            body[name] = value
    body["defects"] = defects
    body["measurements"] = measurements
    return body, defect_columns + measurement_columns


def error_column(loc: tuple[int | str, ...], item_columns: list[str]) -> str | None:
    """The file column a pydantic error location points at (None: the row as a whole)."""
    if not loc:
        return None
    head = str(loc[0])
    if head in ("defects", "measurements") and len(loc) > 1 and isinstance(loc[1], int):
        offset = 0 if head == "defects" else sum(c.startswith(DEFECT_PREFIX) for c in item_columns)
        index = offset + loc[1]
        return item_columns[index] if index < len(item_columns) else head
    return head
