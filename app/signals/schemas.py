from datetime import date, datetime
from typing import Annotated, Self

from pydantic import Field, model_validator

from app.certificates.schemas import NioshApprovalNumber
from app.lots.schemas import Gtin
from app.paging import Page
from app.quality.signals import AlertSource, ComplaintCategory
from app.schemas import InputModel, OutputModel, ShortText, Timestamp
from app.suppliers.schemas import CountryCode

Text = Annotated[str, Field(min_length=1, max_length=4000)]


class ComplaintCreate(InputModel):
    destination: ShortText = Field(description="The site that received the units")
    category: ComplaintCategory
    units_affected: Annotated[int, Field(ge=0, le=1_000_000_000)]
    reporter: ShortText
    text: Text
    reported_at: Timestamp = Field(description="When the site reported it")


class ComplaintOut(OutputModel):
    id: int
    lot_id: int
    destination: str
    category: str
    units_affected: int
    reporter: str
    text: str
    reported_at: datetime
    recorded_by: str
    created_at: datetime


ComplaintPage = Page[ComplaintOut]


Name = Annotated[str, Field(min_length=1, max_length=200)]
Names = Annotated[list[Name], Field(max_length=1000)]


class NamedGtin(InputModel):
    gtin: Gtin
    batch: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class AlertNames(InputModel):
    """What the notice names; at least one thing."""

    manufacturers: Names = []
    models: Names = []
    certificate_numbers: Names = []
    notified_body_numbers: Annotated[
        list[Annotated[str, Field(pattern=r"^[0-9]{4}$")]], Field(max_length=1000)
    ] = []
    niosh_approval_numbers: Annotated[list[NioshApprovalNumber], Field(max_length=1000)] = []
    gtins: Annotated[list[NamedGtin], Field(max_length=1000)] = []
    products: Names = []

    @model_validator(mode="after")
    def _names_something(self) -> Self:
        identifying = (
            self.manufacturers,
            self.certificate_numbers,
            self.notified_body_numbers,
            self.niosh_approval_numbers,
            self.gtins,
        )
        if not any(identifying):
            raise ValueError(
                "an alert names at least one manufacturer, certificate number, notified body "
                "number, NIOSH approval number or GTIN"
            )
        return self


class AlertCreate(InputModel):
    source: AlertSource
    issuing_body: ShortText
    country: CountryCode | None = None
    published_on: date
    url: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^https?://")] | None = None
    reference: ShortText | None = Field(default=None, description="e.g. a recall number")
    text: Annotated[str, Field(min_length=1, max_length=20000)]
    names: AlertNames


class MatchCounts(OutputModel):
    strong: int
    weak: int
    reopened: int


class AlertOut(OutputModel):
    id: int
    source: str
    issuing_body: str
    country: str | None
    published_on: date
    url: str | None
    reference: str | None
    text: str
    names: AlertNames
    recorded_by: str
    created_at: datetime
    matched_at: datetime | None


class AlertRecorded(AlertOut):
    matches: MatchCounts


class AlertsRecorded(OutputModel):
    items: list[AlertRecorded]


AlertPage = Page[AlertOut]


class MatchOut(OutputModel):
    id: int
    alert_id: int
    lot_id: int
    lot_number: str
    lot_status: str
    strength: str
    matched_by: str
    matched_value: str
    score: float | None
    state: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime


MatchPage = Page[MatchOut]


class ReviewDecision(InputModel):
    decision: Annotated[str, Field(pattern=r"^(confirm|dismiss)$")] = Field(
        description="confirm (the lot re-opens) or dismiss"
    )
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
