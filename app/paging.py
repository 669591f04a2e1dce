"""One way to page every collection of the API.

A collection answers ``{"items": [...], "next_cursor": "..." | null}`` (plus any totals
of its own), takes ``limit`` (1..MAX_LIMIT, default DEFAULT_LIMIT) and ``cursor`` (the
``next_cursor`` of the previous page), and sends ``Link: <...>; rel="next"`` when there is
a next page. Pages are keyset pages: each continues strictly after the sort key of the
previous page's last row, so rows added while a client pages never make another row go
missing or come twice.

The cursor is opaque: base64url(JSON) + "." + base64url(HMAC). It names the collection
(the request path) and the query it was made for (every query parameter except ``limit``
and ``cursor``: filters and sort), and the key of the last row. The HMAC catches edits
and truncation; the key's values are checked against the key's column types as well, so
that even a cursor forged with the (public) HMAC key cannot reach the database with a
value of the wrong type. Any refusal is a 422 naming ``query.cursor``.

For a new collection, in its router::

    @router.get("", operation_id="list_things", responses=PAGED)
    async def list_things(session: SessionDep, page: PageQuery) -> Page[ThingOut]:
        query = select(Thing).where(...)          # filtered, neither ordered nor limited
        return await keyset_page(session, query, BY_THING_ID, page, ThingOut.model_validate)

with ``BY_THING_ID = Keyset((Thing.id,))`` (or ``Keyset((Thing.at, Thing.id), descending=
True)``: the last column must be unique). Extra top-level fields: subclass ``Page[ThingOut]``
and build it from ``keyset_rows``.
"""

import base64
import hashlib
import hmac
import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import invalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
CURSOR_FIELD = "query.cursor"
# Parameters that may change from one page to the next without changing the collection.
_PAGE_PARAMETERS = frozenset({"limit", "cursor"})

T = TypeVar("T")
# A query selecting one entity or any columns.
AnySelect = Select[*tuple[Any, ...]]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= (with the same filters and sort) for the next page; "
        'null on the last page. Also sent as a Link: rel="next" header.'
    )


Responses = dict[int | str, dict[str, Any]]
_LINK_HEADER = {
    "Link": {
        "description": 'The next page, as <url>; rel="next" (absent on the last page)',
        "schema": {"type": "string"},
    }
}


def paged_responses(*others: Responses) -> Responses:
    """A route's extra OpenAPI responses, with the Link header added to its 200."""
    merged: Responses = {}
    for responses in others:
        for code, response in responses.items():
            merged[code] = {**merged.get(code, {}), **response}
    ok = merged.get(200, {})
    merged[200] = {**ok, "headers": {**ok.get("headers", {}), **_LINK_HEADER}}
    return merged


PAGED = paged_responses()


# --- The query parameters ---------------------------------------------------------------


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None
    request: Request
    response: Response

    def scope(self) -> "Scope":
        return Scope.of(self.request)


def _query_names(dependant: Dependant) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


_KNOWN_QUERY: dict[int, frozenset[str]] = {}


def _refuse_unknown_parameters(request: Request) -> None:
    """A cursor is bound to every query parameter, so a misspelt one (``limt``) would not
    only be ignored but carried from page to page: refuse it instead."""
    route = request.scope.get("route")
    if route is None:
        return
    known = _KNOWN_QUERY.get(id(route))
    if known is None:
        known = _KNOWN_QUERY[id(route)] = _query_names(route.dependant)
    for name in request.query_params:
        if name not in known:
            raise invalid(
                f"query.{name}", "is not a parameter of this collection", known=sorted(known)
            )


async def page_params(  # async: FastAPI runs a sync dependency in a thread
    request: Request,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(min_length=1, max_length=1000, description="next_cursor of the previous page"),
    ] = None,
) -> PageParams:
    _refuse_unknown_parameters(request)
    return PageParams(limit, cursor, request, response)


PageQuery = Annotated[PageParams, Depends(page_params)]


# --- Cursors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a cursor is valid for: a collection (path) and a query (its other parameters)."""

    path: str
    query: str

    @classmethod
    def of(cls, request: Request) -> "Scope":
        kept = sorted(
            (name, value)
            for name, value in request.query_params.multi_items()
            if name not in _PAGE_PARAMETERS
        )
        return cls(_digest(request.url.path), _digest(json.dumps(kept)))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# An integrity check, not a secret: a cursor only says where a page ends and grants
# nothing a query could not; the HMAC makes an edited or truncated cursor a clear 422.
_CURSOR_KEY = hashlib.sha256(b"lotgate keyset cursor v1").digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: bytes) -> bytes:
    return hmac.new(_CURSOR_KEY, payload, hashlib.sha256).digest()[:12]


def _to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(scope: Scope, key: Sequence[Any]) -> str:
    """The cursor after a row whose sort key is ``key`` (ints, floats, text, bools,
    datetimes, None)."""
    payload = json.dumps(
        {"p": scope.path, "q": scope.query, "k": [_to_json(v) for v in key]},
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_b64(_sign(payload))}"


_INT64 = 2**63


@dataclass(frozen=True)
class KeyPart:
    """The type one value of a sort key must have, and whether it may be None."""

    type: type
    nullable: bool = False

    def read(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if self.type is datetime and isinstance(value, str):
            return datetime.fromisoformat(value)
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if self.type is int and isinstance(value, int) and not -_INT64 <= value < _INT64:
            raise TypeError(f"{value} is out of range")
        if isinstance(value, self.type) and (self.type is bool or not isinstance(value, bool)):
            return value
        raise TypeError(f"{value!r} is not a {self.type.__name__}")


_NOT_A_CURSOR = "is not a cursor returned by this endpoint (altered or truncated)"


def decode_cursor(cursor: str, scope: Scope, parts: Sequence[KeyPart]) -> tuple[Any, ...]:
    """The sort key a cursor continues after; a 422 naming query.cursor if it was altered,
    or made for another collection or other filters."""
    try:
        payload_text, signature_text = cursor.split(".")
        payload = _unb64(payload_text)
        if not hmac.compare_digest(_unb64(signature_text), _sign(payload)):
            raise ValueError("signature")
        data = json.loads(payload)
        path, query, values = data["p"], data["q"], data["k"]
    except (ValueError, KeyError, TypeError):
        raise invalid(CURSOR_FIELD, _NOT_A_CURSOR) from None
    if path != scope.path:
        raise invalid(CURSOR_FIELD, "was made for another collection; start without a cursor")
    if query != scope.query:
        raise invalid(
            CURSOR_FIELD,
            "was made for other filters or another sort; start again without a cursor",
        )
    try:
        if not isinstance(values, list) or len(values) != len(parts):
            raise ValueError("key length")
        return tuple(part.read(value) for part, value in zip(parts, values, strict=True))
    except (ValueError, TypeError):
        raise invalid(CURSOR_FIELD, _NOT_A_CURSOR) from None


# --- Pages ------------------------------------------------------------------------------


def next_link(request: Request, next_cursor: str) -> str:
    """The Link header value for the next page: this request with the new cursor."""
    url = request.url.include_query_params(cursor=next_cursor)
    return f'<{url.path}?{url.query}>; rel="next"'


def set_next_link(params: PageParams, next_cursor: str | None) -> None:
    if next_cursor is not None:
        params.response.headers["Link"] = next_link(params.request, next_cursor)


_AFTER_ITEMS = b'],"next_cursor":"'


def link_answered_page(request: Request, response: Response) -> Response:
    """Add the Link header to a page answered as bytes (the answer cache keeps bodies only).

    ``next_cursor`` is found right after the items (Page serializes it next), and a
    cursor is plain base64url text.
    """
    if response.status_code != 200:
        return response
    body = bytes(response.body)
    at = body.rfind(_AFTER_ITEMS)
    if at != -1:
        start = at + len(_AFTER_ITEMS)
        cursor = body[start : body.index(b'"', start)].decode()
        response.headers["Link"] = next_link(request, cursor)
    return response


def _key_part(column: InstrumentedAttribute[Any]) -> KeyPart:
    sql_type = column.type
    python_type = getattr(sql_type, "impl", sql_type).python_type  # a TypeDecorator's own
    if python_type not in (int, float, str, bool, datetime):
        raise TypeError(f"{column}: a keyset column must hold numbers, text or times")
    return KeyPart(python_type, bool(column.expression.nullable))


@dataclass(frozen=True)
class Keyset:
    """A keyset order: by these columns (the last one unique), all in one direction."""

    columns: tuple[InstrumentedAttribute[Any], ...]
    descending: bool = False

    @cached_property
    def parts(self) -> tuple[KeyPart, ...]:
        return tuple(_key_part(column) for column in self.columns)

    def key_of(self, row: Any) -> tuple[Any, ...]:
        return tuple(getattr(row, column.key) for column in self.columns)

    def page_query(self, query: AnySelect, after: tuple[Any, ...] | None, limit: int) -> AnySelect:
        if after is not None:
            row = tuple_(*self.columns) if len(self.columns) > 1 else self.columns[0]
            # A plain tuple: each value is bound with its column's type (a TypeDecorator's too).
            bound = after if len(after) > 1 else after[0]
            query = query.where(row < bound if self.descending else row > bound)
        order = [c.desc() if self.descending else c.asc() for c in self.columns]
        return query.order_by(None).order_by(*order).limit(limit + 1)


@dataclass(frozen=True)
class Rows:
    rows: list[Any]
    next_cursor: str | None


def _selects_one_entity(query: AnySelect) -> bool:
    described = query.column_descriptions
    return len(described) == 1 and described[0]["expr"] is described[0]["entity"]


async def keyset_rows(
    session: AsyncSession, query: AnySelect, keyset: Keyset, params: PageParams
) -> Rows:
    """One page of ``query`` (filtered, not limited; any order it has is replaced) in the
    keyset's order, and the Link header on the response. ``query`` selects one ORM entity
    (the page holds entities) or named columns that include the keyset's (the page holds
    rows).

    The key columns must not hold NULL (see app.lots.query for a nullable sort column).
    """
    scope = params.scope()
    after = None
    if params.cursor is not None:
        after = decode_cursor(params.cursor, scope, keyset.parts)
    query = keyset.page_query(query, after, params.limit)
    if _selects_one_entity(query):
        rows: list[Any] = list(await session.scalars(query))
    else:
        rows = list(await session.execute(query))
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        next_cursor = encode_cursor(scope, keyset.key_of(rows[-1]))
    set_next_link(params, next_cursor)
    return Rows(rows, next_cursor)


async def keyset_page(
    session: AsyncSession,
    query: AnySelect,
    keyset: Keyset,
    params: PageParams,
    item: Callable[[Any], T],
) -> Page[T]:
    """The answer of a collection endpoint: one page of ``query``, each row made an item."""
    page = await keyset_rows(session, query, keyset, params)
    return Page(items=[item(row) for row in page.rows], next_cursor=page.next_cursor)


def sorted_page(
    items: Sequence[T],
    key: Callable[[T], tuple[Any, ...]],
    parts: Sequence[KeyPart],
    params: PageParams,
) -> Rows:
    """A keyset page of a list computed in memory, ``items`` already sorted by ``key``
    (unique per item)."""
    scope = params.scope()
    start = 0
    if params.cursor is not None:
        after = decode_cursor(params.cursor, scope, parts)
        start = bisect_right(items, after, key=key)
    page = list(items[start : start + params.limit + 1])
    next_cursor = None
    if len(page) > params.limit:
        page = page[: params.limit]
        next_cursor = encode_cursor(scope, key(page[-1]))
    set_next_link(params, next_cursor)
    return Rows(page, next_cursor)
