"""Keyset pages by id, newest first, for the signal lists: ``{items, next_cursor}``.

The cursor is the last id shown, bound to the filters it was made for, with an HMAC so an
edited or foreign cursor is refused (422) instead of paging wrongly (as app/lots/query.py).
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query

from app.errors import invalid

MAX_PAGE = 500
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[
    str | None, Query(min_length=1, max_length=500, description="next_cursor of a page")
]
_KEY = hashlib.sha256(b"lotgate signals cursor v1").digest()
T = TypeVar("T")


def _digest(filters: dict[str, Any]) -> str:
    text = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(last_id: int, filters: dict[str, Any]) -> str:
    payload = json.dumps({"i": last_id, "f": _digest(filters)}, separators=(",", ":")).encode()
    signature = hmac.new(_KEY, payload, hashlib.sha256).digest()[:12]
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in (payload, signature))


def decode(cursor: str, filters: dict[str, Any]) -> int:
    try:
        payload, signature = (
            base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in cursor.split(".")
        )
        expected = hmac.new(_KEY, payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(signature, expected):
            raise ValueError("signature")
        data = json.loads(payload)
        last_id, digest = int(data["i"]), data["f"]
    except (ValueError, KeyError, TypeError):
        raise invalid("query.cursor", "is not a cursor returned by this endpoint") from None
    if digest != _digest(filters):
        raise invalid("query.cursor", "was made for other filters; start again without a cursor")
    return last_id


def page_query(
    query: Any,
    id_column: Any,
    *,
    limit: int,
    cursor: str | None,
    filters: dict[str, Any],
) -> Any:
    """Newest first; one row more than the page, to know whether another follows."""
    if cursor is not None:
        query = query.where(id_column < decode(cursor, filters))
    return query.order_by(id_column.desc()).limit(limit + 1)


def split_page(
    rows: Sequence[T], limit: int, last_id: Any, filters: dict[str, Any]
) -> tuple[Sequence[T], str | None]:
    """The page's rows and the cursor for the next page (None on the last)."""
    if len(rows) <= limit:
        return rows, None
    shown = rows[:limit]
    return shown, encode(last_id(shown[-1]), filters)
