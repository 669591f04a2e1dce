"""Base classes every feature's request and response models derive from."""

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


def _may_have_nul(value: object) -> bool:
    """False when no text in ``value`` holds a NUL character; a fast screen, in C: repr()
    writes a NUL as the four characters \\x00, so a NUL anywhere shows up there (and
    text that merely spells \\x00 only costs the exact search that follows)."""
    return "\\x00" in repr(value)


def _nul_path(value: object, path: str) -> str | None:
    """Where the first NUL character is (None: nowhere)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)  # type: ignore[assignment]
    else:
        return None
    for key, item in items:
        found = _nul_path(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


class InputModel(BaseModel):
    """A request body: unknown fields are refused rather than silently dropped, and text
    may not hold NUL characters (PostgreSQL cannot store them)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: object) -> object:
        # Bulk imports validate every row through here: screen first, search if needed.
        where = _nul_path(data, "") if _may_have_nul(data) else None
        if where is not None:
            raise ValueError(f"{where}: NUL characters are not allowed")
        return data


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


_ISO_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def _iso_text(value: object) -> object:
    """Timestamps are ISO 8601 text; numbers (Unix times) are refused as ambiguous."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value.strip()):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2020-03-21T09:00:00Z")
    return value


def _aware(value: datetime) -> datetime:
    """Timestamps without an offset are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_aware)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]


def not_a_bool(value: object) -> object:
    # JSON false/true would otherwise be read as the number 0 or 1.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


Quantity = Annotated[int, BeforeValidator(not_a_bool), Field(gt=0, le=1_000_000_000)]


MAX_ID = 2_147_483_647
EntityId = Annotated[int, Path(ge=1, le=MAX_ID)]
ReferenceId = Annotated[int, BeforeValidator(not_a_bool), Field(ge=1, le=MAX_ID)]


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
