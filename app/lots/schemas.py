from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, model_validator

from app.paging import Page
from app.quality.identifiers import gtin14, parse_gs1
from app.quality.products import PRODUCT_CODES
from app.schemas import InputModel, OutputModel, Quantity, ReferenceId, Timestamp, member_of

ProductCode = Annotated[
    str,
    AfterValidator(member_of(PRODUCT_CODES)),
    Field(json_schema_extra={"enum": list(PRODUCT_CODES)}),
]


def _gtin(value: str) -> str:
    return gtin14(value)


def _gs1(value: str) -> str:
    parse_gs1(value)  # refused here, so that the error names the gs1 field
    return value


Gtin = Annotated[
    str,
    Field(min_length=8, max_length=14, pattern=r"^[0-9]+$", examples=["04050598000582"]),
    AfterValidator(_gtin),
]


class LotCreate(InputModel):
    lot_number: Annotated[str, Field(min_length=1, max_length=100)]
    supplier_id: ReferenceId
    manufacturer_id: ReferenceId | None = None
    product: ProductCode = Field(description="Product code actually delivered")
    ordered_as: ProductCode = Field(description="Product code the buyer ordered")
    quantity: Quantity
    unit: Annotated[str, Field(min_length=1, max_length=20)] = "pieces"
    received_at: Timestamp
    purchase_order: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    ear_loops: bool = Field(
        default=False, description="The respirators have ear loops (a red flag on a claimed N95)"
    )
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The manufacturer's model designation"
    )
    batch: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="The manufacturer's own batch number (GS1 AI 10)"
    )
    gtin: Gtin | None = Field(
        default=None,
        description="GS1 GTIN-8, -12, -13 or -14 (check digit verified); stored as GTIN-14",
    )
    expiry: date | None = Field(default=None, description="Use-by date (GS1 AI 17)")
    gs1: Annotated[str, Field(min_length=4, max_length=200), AfterValidator(_gs1)] | None = Field(
        default=None,
        exclude=True,
        description="A GS1 element string from a label scan, e.g. "
        "(01)04050598000582(10)220706(17)240504: fills gtin, batch and expiry (a value "
        "also given on its own must agree)",
    )

    @model_validator(mode="after")
    def _label_scan(self) -> Self:
        if self.gs1 is None:
            return self
        scan = parse_gs1(self.gs1)
        for name in ("gtin", "batch", "expiry"):
            scanned, given = getattr(scan, name), getattr(self, name)
            if scanned is not None and given is not None and scanned != given:
                raise ValueError(f"{name} {given} disagrees with the gs1 scan's {scanned}")
            if given is None:
                setattr(self, name, scanned)
        return self


class LotQuantities(OutputModel):
    received: int
    distributed: int
    site_returned: int
    site_destroyed: int
    site_consumed: int
    outstanding_at_sites: int
    on_hand: int
    returned_to_supplier: int
    to_recall: int
    to_return: int
    releasable: int


class ReasonOut(OutputModel):
    code: str
    severity: str
    message: str
    evidence: dict[str, Any]


class LotOut(OutputModel):
    id: int
    lot_number: str
    supplier_id: int
    manufacturer_id: int | None
    product: str
    ordered_as: str
    quantity: int
    unit: str
    received_at: datetime
    purchase_order: str | None
    ear_loops: bool
    model: str | None
    batch: str | None
    gtin: str | None
    expiry: date | None
    created_at: datetime
    status: str
    disposition: str
    reasons: list[ReasonOut]
    allowed_uses: list[str]
    decided_at: datetime | None
    policy_version: str | None
    quantities: LotQuantities


class LotPage(Page[LotOut]):
    pass
