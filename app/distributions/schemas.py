from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from app.decisions.schemas import Use
from app.schemas import InputModel, LongText, OutputModel, Quantity, ShortText, Timestamp


class SiteOutcome(StrEnum):
    returned = "returned"
    destroyed = "destroyed"
    consumed = "consumed"


class DistributionCreate(InputModel):
    destination: ShortText
    quantity: Quantity
    shipped_at: Timestamp
    intended_use: Use = Field(
        description=(
            "What the units are for at the destination: one of the catalogue's uses. It must "
            "be among the lot's allowed_uses (409 naming them otherwise)."
        )
    )
    override_reason: LongText | None = Field(
        default=None,
        description=(
            "Admin only: ship although the lot's decision does not allow it, or not for "
            "this use (recorded and audited, e.g. to record units that left before testing)."
        ),
    )


class DistributionOut(OutputModel):
    id: int
    lot_id: int
    destination: str
    quantity: int
    shipped_at: datetime
    intended_use: str | None = Field(
        description="null on distributions recorded before uses were named"
    )
    override_reason: str | None
    created_at: datetime


class SiteReturnCreate(InputModel):
    destination: ShortText
    quantity: Quantity
    outcome: SiteOutcome
    reported_at: Annotated[Timestamp | None, Field(description="Defaults to now")] = None


class SiteReturnOut(OutputModel):
    id: int
    lot_id: int
    destination: str
    quantity: int
    outcome: SiteOutcome
    reported_at: datetime
    created_at: datetime
