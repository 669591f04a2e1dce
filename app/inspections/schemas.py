from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from app.quality.products import CHARACTERISTICS, DEFECT_CODES
from app.schemas import InputModel, OutputModel, ShortText, Timestamp, member_of, not_a_bool

DefectCode = Annotated[
    str,
    AfterValidator(member_of(DEFECT_CODES)),
    Field(json_schema_extra={"enum": list(DEFECT_CODES)}),
]
Characteristic = Annotated[
    str,
    AfterValidator(member_of(CHARACTERISTICS)),
    Field(json_schema_extra={"enum": list(CHARACTERISTICS)}),
]
MAX_SAMPLE = 1_000_000_000


class InspectionKind(StrEnum):
    visual = "visual"
    lab = "lab"


class DefectCount(InputModel):
    code: DefectCode
    count: Annotated[int, BeforeValidator(not_a_bool), Field(ge=0, le=MAX_SAMPLE)]


class Measurement(InputModel):
    characteristic: Characteristic
    value: Annotated[float, BeforeValidator(not_a_bool), Field(ge=0, le=1000, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _percentages_at_most_100(self) -> Self:
        if self.characteristic.endswith("_pct") and self.value > 100:
            raise ValueError(f"{self.characteristic} is a percentage: at most 100")
        return self


class InspectionCreate(InputModel):
    kind: InspectionKind
    sample_size: Annotated[int, BeforeValidator(not_a_bool), Field(gt=0, le=MAX_SAMPLE)]
    performed_at: Timestamp
    inspector: ShortText
    lab: ShortText | None = None
    report_number: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    confirms: bool = Field(
        default=False,
        description="This inspection was run to confirm an earlier failure on the same lot",
    )
    defects: Annotated[list[DefectCount], Field(max_length=len(DEFECT_CODES))] = []
    measurements: Annotated[list[Measurement], Field(max_length=len(CHARACTERISTICS))] = []

    @model_validator(mode="after")
    def _counts_fit_the_sample(self) -> Self:
        codes = [d.code for d in self.defects]
        if len(set(codes)) != len(codes):
            raise ValueError("defects: each code may appear once; add the counts together")
        characteristics = [m.characteristic for m in self.measurements]
        if len(set(characteristics)) != len(characteristics):
            raise ValueError("measurements: each characteristic may appear once")
        for defect in self.defects:
            if defect.count > self.sample_size:
                raise ValueError(
                    f"defects: {defect.count} {defect.code} is more than the sample of "
                    f"{self.sample_size}"
                )
        return self


class InspectionOut(OutputModel):
    id: int
    lot_id: int
    kind: InspectionKind
    sample_size: int
    performed_at: datetime
    inspector: str
    lab: str | None
    report_number: str | None
    confirms: bool
    defects: list[dict[str, str | int]]
    measurements: list[dict[str, str | float]]
    created_at: datetime
