from datetime import datetime
from enum import StrEnum
from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field

from app.schemas import InputModel, OutputModel, ShortText


class SupplierRole(StrEnum):
    manufacturer = "manufacturer"
    exporter = "exporter"
    distributor = "distributor"
    broker = "broker"
    donor = "donor"


def _iso_country(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. CN, NL, DE")
    return code


CountryCode = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_iso_country)]


class SupplierCreate(InputModel):
    name: ShortText
    country: CountryCode
    roles: Annotated[list[SupplierRole], Field(min_length=1, max_length=5)]
    registration_ref: ShortText | None = None


class SupplierUpdate(InputModel):
    """Only the fields sent are changed."""

    name: ShortText | None = None
    country: CountryCode | None = None
    roles: Annotated[list[SupplierRole], Field(min_length=1, max_length=5)] | None = None
    registration_ref: ShortText | None = None


class SupplierOut(OutputModel):
    id: int
    name: str
    country: str
    roles: list[SupplierRole]
    registration_ref: str | None
    created_at: datetime
    version: int
