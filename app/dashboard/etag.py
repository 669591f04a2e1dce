"""ETags for query answers that are costly to compute, and for single lots.

The tag hashes a data version (app.dashboard.models.DataVersion: as PostgreSQL last
announced it, see version_watch, else one primary-key read) with the path and the query
string, so it changes whenever the answer could, and a matching If-None-Match is answered
304 before the query runs. The version is taken before the answer is computed: a change
committed in between makes the body newer than its tag, never older, so a client is
never stuck with a stale answer.
"""

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request, Response
from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.models import DataVersion
from app.dashboard.rollup import VERSION_NAME
from app.dashboard.version_watch import VersionWatch
from app.http.data_version import HEADER as DATA_VERSION_HEADER
from app.http.data_version import parse_required
from app.replica import Replica

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified since the ETag sent in If-None-Match"}
}

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=2000,
        description="An ETag from an earlier answer: 304 without a body if nothing changed",
    ),
]


# Built once (read on every conditional request): compiled and cached by SQLAlchemy.
_DATA_VERSION = select(DataVersion.value).where(DataVersion.name == bindparam("name"))


async def data_version(
    session: AsyncSession, watch: VersionWatch, name: str, at_least: int = 0
) -> int:
    """As PostgreSQL last announced it, else read; read too when the client has seen a
    newer "lots" version (X-Data-Version) than this process knows of (its notification
    is still on the way), so that it never gets an answer older than its own write."""
    known = watch.known(name)
    if known is not None and (at_least == 0 or (watch.known(VERSION_NAME) or 0) >= at_least):
        return known
    # Core on the session's connection: a plain value needs no ORM execution.
    connection = await session.connection()
    value = int(await connection.scalar(_DATA_VERSION, {"name": name}) or 0)
    watch.saw({name: value})
    return value


def required_version(request: Request) -> int:
    """The X-Data-Version the client sent (app.http.data_version), else 0."""
    return parse_required(request.headers.get(DATA_VERSION_HEADER))


def etag_of(version: str, value: int, path: str, query: list[tuple[str, str]]) -> str:
    """The tag of an answer: the data version it was read at, the path and the query."""
    text = repr((version, value, path, sorted(query)))
    return f'W/"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


async def query_etag(session: AsyncSession, request: Request, version: str) -> str:
    watch = request.app.state.version_watch
    value = await data_version(session, watch, version, required_version(request))
    request.state.etag_version = value
    return etag_of(version, value, request.url.path, request.query_params.multi_items())


def matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as If-None-Match requires (RFC 9110 13.1.2)."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


class AnswerCache:
    """Serialized answers by ETag, least recently used dropped first.

    An ETag names the data version, path and query, so a cached body is exactly what
    computing it again would give: polling clients that send no If-None-Match cost no
    query. When the version moves, the clients polling one query all miss at once; only
    the first computes the new answer and the others wait for it (in this process).
    """

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self.bodies: OrderedDict[str, bytes] = OrderedDict()
        # Answers being computed; None is set when that computation failed.
        self.computing: dict[str, asyncio.Future[bytes | None]] = {}

    def get(self, etag: str) -> bytes | None:
        body = self.bodies.get(etag)
        if body is not None:
            self.bodies.move_to_end(etag)
        return body

    def put(self, etag: str, body: bytes) -> None:
        if self.entries:
            self.bodies[etag] = body
            while len(self.bodies) > self.entries:
                self.bodies.popitem(last=False)

    async def get_or_compute(self, etag: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached answer, or the one another request is computing, or compute it.

        If the request computing it fails (its error is its own: a lost connection, a
        timeout), each waiting request computes the answer itself.
        """
        if not self.entries:
            return await compute()
        body = self.get(etag)
        if body is not None:
            return body
        computing = self.computing.get(etag)
        if computing is not None:
            body = await asyncio.shield(computing)
            return body if body is not None else await compute()
        computing = self.computing[etag] = asyncio.get_running_loop().create_future()
        body = None
        try:
            body = await compute()
            self.put(etag, body)
            return body
        finally:
            del self.computing[etag]
            computing.set_result(body)


def answer_cache(request: Request) -> AnswerCache:
    state = request.app.state
    if not hasattr(state, "answer_cache"):
        state.answer_cache = AnswerCache(state.settings.answer_cache_entries)
    cache: AnswerCache = state.answer_cache
    return cache


async def conditional(
    session: AsyncSession,
    request: Request,
    if_none_match: str | None,
    compute: Callable[[], Awaitable[BaseModel]],
    *,
    version: str = VERSION_NAME,
    cache: bool = True,
    replica: bool = False,
) -> Response:
    """304 when the client's ETag is current; else the answer, cached or computed, tagged.

    ``version``: the data version the answer depends on (rollup.version_name: all lots,
    suppliers and sources by default; the lots of one product only, for an answer made
    from them alone). ``cache=False`` for answers that are cheap and many (one lot each):
    kept, they would push the costly ones out of the cache. ``replica=True``: ``compute``
    may run on the read replica, if it has replayed the tagged version (app.replica).
    """
    etag = await query_etag(session, request, version)
    headers = {"ETag": etag}
    if version == VERSION_NAME:  # comparable with a write's X-Data-Version
        headers[DATA_VERSION_HEADER] = str(request.state.etag_version)
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)

    async def serialized() -> bytes:
        if replica:
            tagged = int(request.state.etag_version)
            replica_reads: Replica = request.app.state.replica
            answer = await replica_reads.read(session, version, tagged, compute)
        else:
            answer = await compute()
        return answer.model_dump_json().encode()

    body = await (answer_cache(request).get_or_compute(etag, serialized) if cache else serialized())
    return Response(body, media_type="application/json", headers=headers)
