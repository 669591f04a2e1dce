from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from app.paging import Page
from app.quality.products import PRODUCT_CODES
from app.schemas import InputModel, OutputModel, Quantity, ReferenceId, Timestamp, member_of

ProductCode = Annotated[
    str,
    AfterValidator(member_of(PRODUCT_CODES)),
    Field(json_schema_extra={"enum": list(PRODUCT_CODES)}),
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
