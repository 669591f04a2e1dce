from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from app.quality.certificates import CertificateType, Verification
from app.quality.identifiers import niosh_approval
from app.schemas import InputModel, OutputModel, ShortText, Timestamp
from app.suppliers.schemas import CountryCode

NotifiedBodyNumber = Annotated[str, Field(pattern=r"^[0-9]{4}$", description="Exactly 4 digits")]
NioshApprovalNumber = Annotated[
    str,
    Field(max_length=20, examples=["TC-84A-9221"], description="TC-84A- followed by 4 digits"),
    AfterValidator(niosh_approval),
]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


def _require_verifier(
    verification: Verification, verified_by: str | None, method: str | None
) -> None:
    if verification == Verification.unverified:
        return
    missing = [
        name for name, value in (("verified_by", verified_by), ("method", method)) if not value
    ]
    if missing:
        raise ValueError(f"{' and '.join(missing)} required when verification is {verification}")


class VerificationIn(InputModel):
    verification: Verification
    verified_by: ShortText | None = None
    verified_at: Timestamp | None = None
    method: ShortText | None = Field(
        default=None, description="How it was checked, e.g. 'NANDO lookup', 'issuer phoned'"
    )

    @model_validator(mode="after")
    def _checked_by_someone(self) -> Self:
        _require_verifier(self.verification, self.verified_by, self.method)
        return self


class CertificateCreate(InputModel):
    type: CertificateType
    number: Annotated[str, Field(min_length=1, max_length=100)]
    issuer: ShortText
    issuer_country: CountryCode | None = Field(
        default=None, description="Where the issuer sits (ISO 3166 alpha-2)"
    )
    notified_body_number: NotifiedBodyNumber | None = None
    niosh_approval_number: NioshApprovalNumber | None = None
    standard: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    product_scope: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    file_sha256: Sha256 | None = None
    verification: Verification = Verification.unverified
    verified_by: ShortText | None = None
    verified_at: Timestamp | None = None
    method: ShortText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        _require_verifier(self.verification, self.verified_by, self.method)
        return self


class CertificateOut(OutputModel):
    id: int
    lot_id: int
    type: CertificateType
    number: str
    issuer: str
    issuer_country: str | None
    notified_body_number: str | None
    niosh_approval_number: str | None
    standard: str | None
    product_scope: str | None
    valid_from: date | None
    valid_until: date | None
    file_sha256: str | None
    verification: Verification
    verified_by: str | None
    verified_at: datetime | None
    method: str | None = Field(validation_alias="verification_method")
    created_at: datetime
    version: int
