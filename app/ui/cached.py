"""Page data through the dashboards' answer cache: the same ETag (data version, path and
query) and the same per-process cache as the JSON routes, so a page whose data did not
change costs no query. Only the data is kept; each visitor's page is rendered afresh."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.etag import answer_cache, query_etag
from app.dashboard.rollup import VERSION_NAME

M = TypeVar("M", bound=BaseModel)


async def cached(
    session: AsyncSession,
    request: Request,
    model: type[M],
    compute: Callable[[], Awaitable[M]],
    *,
    version: str = VERSION_NAME,
) -> M:
    etag = await query_etag(session, request, version)

    async def serialized() -> bytes:
        return (await compute()).model_dump_json().encode()

    body = await answer_cache(request).get_or_compute(etag, serialized)
    return model.model_validate_json(body)
