from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field, model_validator

from app.returns.states import ReturnState
from app.schemas import (
    InputModel,
    LongText,
    OutputModel,
    Quantity,
    ReferenceId,
    ShortText,
    Timestamp,
)


class ClaimKind(StrEnum):
    refund = "refund"
    replacement = "replacement"


def _currency(code: str) -> str:
    code = code.upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError("not an ISO 4217 currency code")
    return code


Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class Claim(InputModel):
    kind: ClaimKind
    amount: Amount | None = None
    currency: Currency | None = None

    @model_validator(mode="after")
    def _amount_has_currency(self) -> "Claim":
        if (self.amount is None) != (self.currency is None):
            raise ValueError("amount and currency go together")
        if self.kind == ClaimKind.refund and self.amount is None:
            raise ValueError("a refund claim needs amount and currency")
        return self


class ReturnCreate(InputModel):
    lot_id: ReferenceId
    quantity: Quantity = Field(
        description="At most the lot's to_return minus what open returns already reserve"
    )
    carrier_reference: ShortText | None = Field(
        default=None, description="Optional now; required by the time the return ships"
    )
    claim: Claim | None = None
    opened_at: Annotated[Timestamp | None, Field(description="Defaults to now")] = None


class TransitionCreate(InputModel):
    to: ReturnState
    at: Annotated[Timestamp | None, Field(description="When it happened; defaults to now")] = None
    note: LongText | None = None
    carrier_reference: ShortText | None = Field(
        default=None,
        description=(
            "Only with to=shipped: the carrier's consignment reference, if the return was "
            "opened without one (a return cannot ship without it)"
        ),
    )


class ClaimOut(OutputModel):
    kind: ClaimKind
    amount: Decimal | None
    currency: str | None


class TransitionOut(OutputModel):
    id: int
    from_state: str | None
    to_state: str
    at: datetime
    note: str | None
    actor: str
    created_at: datetime


class ReturnOut(OutputModel):
    id: int
    lot_id: int
    supplier_id: int
    quantity: int
    carrier_reference: str | None
    claim: ClaimOut | None
    state: ReturnState
    version: int
    allowed_transitions: list[ReturnState]
    opened_at: datetime
    shipped_at: datetime | None
    received_by_supplier_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    created_by: str
    created_at: datetime


class ReturnDetailOut(ReturnOut):
    transitions: list[TransitionOut]
