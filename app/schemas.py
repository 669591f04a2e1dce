"""Base classes every feature's request and response models derive from."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError


class InputModel(BaseModel):
    """A request body: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _aware(value: datetime) -> datetime:
    """Timestamps without an offset are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_aware)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
Quantity = Annotated[int, Field(gt=0, le=1_000_000_000)]


MAX_ID = 2_147_483_647
EntityId = Annotated[int, Path(ge=1, le=MAX_ID)]
ReferenceId = Annotated[int, Field(ge=1, le=MAX_ID)]


def member_of(allowed: Sequence[str]) -> Callable[[str], str]:
    """A validator refusing values outside a closed list, naming the allowed ones."""
    choices = tuple(allowed)

    def check(value: str) -> str:
        if value not in choices:
            raise PydanticCustomError(
                "enum", "must be one of: {expected}", {"expected": ", ".join(choices)}
            )
        return value

    return check
