"""ETags for query answers that are costly to compute.

The tag hashes the data version (app.dashboard.models.DataVersion, one primary-key
read) with the path and the query string, so it changes whenever the answer could,
and a matching If-None-Match is answered 304 before the query runs. The version is
read before the answer is computed: a change committed in between makes the body
newer than its tag, never older, so a client is never stuck with a stale answer.
"""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Header, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.models import DataVersion
from app.dashboard.rollup import VERSION_NAME

T = TypeVar("T")

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=2000,
        description="An ETag from an earlier answer: 304 without a body if nothing changed",
    ),
]


async def data_version(session: AsyncSession) -> int:
    value = await session.scalar(select(DataVersion.value).where(DataVersion.name == VERSION_NAME))
    return int(value or 0)


async def query_etag(session: AsyncSession, request: Request) -> str:
    version = await data_version(session)
    query = sorted(request.query_params.multi_items())
    text = repr((version, request.url.path, query))
    return f'W/"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as If-None-Match requires (RFC 9110 13.1.2)."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


async def conditional(
    session: AsyncSession,
    request: Request,
    response: Response,
    if_none_match: str | None,
    compute: Callable[[], Awaitable[T]],
) -> T | Response:
    """304 when the client's ETag is current; otherwise compute the answer and tag it."""
    etag = await query_etag(session, request)
    if matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    answer = await compute()
    response.headers["ETag"] = etag
    return answer
