"""The lot filter form: a browser sends every field, empty ones as "", dates without a
time. Empty fields mean "any"; the rest goes through the API's own filter validation."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from starlette.datastructures import QueryParams

from app.errors import invalid
from app.lots.query import SORTS, LotFilters, lot_filters
from app.schemas import MAX_ID

PAGE_SIZE = 50


def _text(params: QueryParams, name: str, max_length: int = 100) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if len(value) > max_length:
        raise invalid(f"query.{name}", f"at most {max_length} characters")
    return value


def _whole_number(params: QueryParams, name: str) -> int | None:
    value = _text(params, name, 20)
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise invalid(f"query.{name}", "must be a whole number from 1")
    return int(value)


def _day_start(params: QueryParams, name: str) -> datetime | None:
    value = _text(params, name, 30)
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        raise invalid(f"query.{name}", "must be a date, e.g. 2026-11-29") from None


@dataclass(frozen=True)
class LotListQuery:
    filters: LotFilters
    sort: str
    cursor: str | None


async def lot_list_query(params: QueryParams) -> LotListQuery:
    """The list page's query string, validated as the API validates its own (422)."""
    filters = await lot_filters(
        status=[s for s in params.getlist("status") if s] or None,
        disposition=_text(params, "disposition", 40),
        supplier_id=_whole_number(params, "supplier_id"),
        manufacturer_id=_whole_number(params, "manufacturer_id"),
        product=_text(params, "product", 40),
        ordered_as=_text(params, "ordered_as", 40),
        # Dates on the form: "received on or after" and "received before" (half-open).
        received_from=_day_start(params, "received_from"),
        received_to=_day_start(params, "received_to"),
        q=_text(params, "q"),
    )
    sort = _text(params, "sort", 20) or "-received_at"
    if sort not in SORTS:
        raise invalid("query.sort", f"must be one of: {', '.join(SORTS)}")
    return LotListQuery(filters, sort, _text(params, "cursor", 1000))
