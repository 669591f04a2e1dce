from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from app.lots.schemas import ProductCode, ReasonOut
from app.quality.products import USES
from app.schemas import InputModel, LongText, OutputModel, Timestamp, member_of

Use = Annotated[str, AfterValidator(member_of(USES)), Field(json_schema_extra={"enum": list(USES)})]


class SamplingPlanOut(OutputModel):
    code_letter: str
    sample_size: int
    acceptance_number: int
    rejection_number: int
    inspect_all: bool


class LotSamplingPlans(OutputModel):
    lot_id: int
    lot_size: int
    inspection_level: str
    severity: str
    aql: dict[str, str | None]
    plans: dict[str, SamplingPlanOut]
    policy_version: str


class DecisionOut(OutputModel):
    lot_id: int
    status: str
    disposition: str
    reasons: list[ReasonOut]
    allowed_uses: list[str]
    quantities: dict[str, int]
    decided_at: datetime | None
    valid_until: datetime | None
    policy_version: str | None
    sampling: LotSamplingPlans


class DecisionEventOut(OutputModel):
    id: int
    lot_id: int
    at: datetime
    trigger: str
    actor: str
    status: str
    disposition: str
    reasons: list[ReasonOut]
    allowed_uses: list[str]
    quantities: dict[str, int]
    policy_version: str


class ConcessionCreate(InputModel):
    reason: LongText
    legal_basis: Annotated[str, Field(min_length=1, max_length=500)]
    allowed_uses: Annotated[list[Use], Field(min_length=1, max_length=len(USES))]
    expires_at: Timestamp


class ConcessionOut(OutputModel):
    id: int
    lot_id: int
    reason: str
    legal_basis: str
    allowed_uses: list[str]
    expires_at: datetime
    granted_by: str
    created_at: datetime


class ReinstatementCreate(InputModel):
    product: ProductCode
    reason: LongText


class ReinstatementOut(OutputModel):
    id: int
    supplier_id: int
    product: str
    reason: str
    granted_by: str
    created_at: datetime
    severity: str
    discontinued: bool


class LotOutcomeOut(OutputModel):
    lot_id: int
    lot_number: str
    received_at: datetime
    accepted: bool
    status: str


class SourceQualityOut(OutputModel):
    product: str
    severity: str
    discontinued: bool
    consecutive_accepted: int
    not_accepted_on_tightened: int
    lots_decided: int
    lots_accepted: int
    acceptance_rate: float | None
    recent_outcomes: list[LotOutcomeOut]


class SupplierQualityOut(OutputModel):
    supplier_id: int
    products: list[SourceQualityOut]


def reasons_out(reasons: list[dict[str, Any]]) -> list[ReasonOut]:
    return [ReasonOut.model_validate(r) for r in reasons]
