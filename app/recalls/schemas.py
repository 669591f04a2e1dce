from datetime import datetime

from pydantic import Field

from app.paging import Page
from app.schemas import InputModel, OutputModel, ShortText, Timestamp


class AcknowledgementCreate(InputModel):
    destination: ShortText
    acknowledged_at: Timestamp
    contact: ShortText


class AcknowledgementOut(OutputModel):
    id: int
    lot_id: int
    destination: str
    acknowledged_at: datetime
    contact: str
    lot_status: str
    recorded_by: str
    created_at: datetime


class SiteCounts(OutputModel):
    shipped: int = 0
    returned: int = 0
    destroyed: int = 0
    consumed: int = 0
    outstanding: int = 0


class DestinationRecall(SiteCounts):
    destination: str
    acknowledged: bool = False
    acknowledged_at: datetime | None = None
    contact: str | None = None


class RecallTotals(SiteCounts):
    destinations: int = 0
    acknowledged: int = 0


class LotRecall(OutputModel):
    lot_id: int
    lot_number: str
    supplier_id: int
    product: str
    status: str
    disposition: str
    under_recall: bool
    provisional: bool
    to_recall: int
    totals: RecallTotals
    destinations: list[DestinationRecall]


class RecallSummary(SiteCounts):
    lot_id: int
    lot_number: str
    supplier_id: int
    supplier: str
    product: str
    status: str
    disposition: str
    provisional: bool
    to_recall: int
    destinations: int
    acknowledged: int


class RecallListTotals(SiteCounts):
    lots: int
    provisional_lots: int


class RecallList(Page[RecallSummary]):
    totals: RecallListTotals = Field(description="Over every lot under recall, not one page")
