from datetime import date

from pydantic import Field

from app.paging import Page
from app.schemas import OutputModel


class Count(OutputModel):
    lots: int
    units: int = Field(description="Units received in those lots")


class UnitTotals(OutputModel):
    received: int
    distributed: int = Field(description="Units ever shipped to sites")
    outstanding_at_sites: int = Field(
        description="Distributed and not yet returned, destroyed or consumed"
    )
    recalled: int = Field(
        description="Units to bring back from sites now: those outstanding at sites of "
        "suspect or rejected lots (a lot's to_recall; 0 while a concession is in force)"
    )
    returned_by_sites: int
    destroyed_at_sites: int
    consumed_at_sites: int
    returned_to_suppliers: int
    to_return: int = Field(description="Units on hand of rejected lots still to ship back")
    releasable: int


class RejectionRate(OutputModel):
    """Rejected among decided lots (accepted, restricted or rejected; on hold and suspect
    lots are not decided yet). None when nothing is decided."""

    by_lots: float | None
    by_units: float | None
    decided_lots: int
    decided_units: int


class ReasonCount(OutputModel):
    code: str
    lots: int = Field(description="Lots whose current decision carries this reason")


class WeekPoint(OutputModel):
    week: date = Field(description="Monday (UTC) of the week the lots were received")
    received: int
    accepted: int = Field(description="Of those lots, how many are accepted now")
    rejected: int = Field(description="Of those lots, how many are rejected now")


class Summary(OutputModel):
    lots: int
    by_status: dict[str, Count]
    by_disposition: dict[str, Count]
    units: UnitTotals
    rejection_rate: RejectionRate
    top_reasons: list[ReasonCount] = Field(
        description="Warning and critical reason codes, most frequent first (at most 10)"
    )
    weekly: list[WeekPoint] = Field(description="Every week from the first to the last lot")
    open_alert_reviews: int = Field(
        default=0,
        description="Alert matches waiting for a person to confirm or dismiss (all lots, "
        "whatever the filters)",
    )


class Scorecard(OutputModel):
    supplier_id: int
    supplier_name: str
    country: str
    product: str | None = Field(description="None when the card sums all the supplier's products")
    lots_received: int
    accepted: int
    restricted: int
    rejected: int
    on_hold: int
    suspect: int
    rejection_rate: float | None = Field(description="Rejected among decided lots")
    units_received: int
    units_recalled: int = Field(description="Units to bring back from sites now")
    severity: str = Field(
        description="Sampling severity in force (per supplier: the strictest of its products)"
    )
    discontinued: bool = Field(description="Per supplier: any of its products discontinued")


class ScorecardPage(Page[Scorecard]):
    total: int = Field(description="Cards matching the filters, on every page")
