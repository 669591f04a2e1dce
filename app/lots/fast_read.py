"""GET /api/v1/lots/{id} answered below FastAPI, the most frequent read (dashboards poll it).

Profiled on the running server, a lot read spent most of its time in the framework's
routing and dependency machinery and in SQLAlchemy's execution, not in PostgreSQL. This
ASGI layer (inside the request id, access log and metrics middleware) answers the common
case itself: a key this process has already checked (any role may read a lot), a lot
whose decision holds (no concession has run out), PostgreSQL. It reads the row with
asyncpg on a connection of the app's pool, and builds the same body and ETag
(app.dashboard.etag) as the route, so the two cannot be told apart.

Anything else goes on to the route unchanged: no or unknown key, a query string, a lot
that does not exist (its 404 problem) or whose concession has expired (the route
re-decides it), SQLite, or a database error (the route answers 503 as usual).
"""

import re
from types import SimpleNamespace
from typing import Any

import asyncpg
from pydantic_core import from_json, to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.keys import hash_key
from app.config import Settings
from app.dashboard.etag import etag_of, matches
from app.dashboard.rollup import VERSION_NAME
from app.db import behind_pgbouncer, is_sqlite, libpq_url, utcnow
from app.http.data_version import HEADER as DATA_VERSION_HEADER
from app.lots.models import Lot
from app.lots.service import lot_out_of
from app.schemas import MAX_ID

PATH = re.compile(r"/api/v1/lots/([0-9]{1,10})")
ROUTE = SimpleNamespace(path="/api/v1/lots/{lot_id:int}")  # for the metrics' route label
_COLUMNS = ", ".join(column.name for column in Lot.__table__.columns)
_LOT = f"SELECT {_COLUMNS} FROM lots WHERE id = $1"  # noqa: S608 - column names, no input
_VERSION = "SELECT value FROM data_versions WHERE name = $1"
_MAX_IF_NONE_MATCH = 2000  # as the route's header parameter
APPLICATION_NAME = "lotgate-lot-reads"  # its connections in pg_stat_activity


_DATA_VERSION = DATA_VERSION_HEADER.lower().encode()


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    """The bearer credentials and If-None-Match, as sent; no credentials (the route
    answers) when the client names a data version it must not read below."""
    credentials = if_none_match = None
    for name, value in scope["headers"]:
        if name == _DATA_VERSION:
            return None, None
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                credentials = rest.strip()
        elif name == b"if-none-match":
            if_none_match = value.decode("latin-1")
    return credentials, if_none_match


class LotReadFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            found = PATH.fullmatch(scope["path"])
            if found is not None and await self._answer(scope, int(found[1]), send):
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, lot_id: int, send: Send) -> bool:
        """Send the answer and True, or False (nothing sent) for the route to answer."""
        state = scope["app"].state
        credentials, if_none_match = _headers(scope)
        if not state.settings.lot_read_fast_path or credentials is None:
            return False
        if not 1 <= lot_id <= MAX_ID:
            return False
        if if_none_match is not None and len(if_none_match) > _MAX_IF_NONE_MATCH:
            return False
        key = state.key_cache.get(hash_key(credentials))
        pool = getattr(state, "lot_read_pool", None)
        if key is None or pool is None:
            return False
        try:
            row, version = await self._read(pool, state.version_watch, lot_id)
        except Exception:  # the route meets it again and answers it properly (503)
            return False
        valid_until = row["decision_valid_until"] if row is not None else None
        if row is None or (valid_until is not None and valid_until <= utcnow()):
            return False
        scope.setdefault("state", {})["actor"] = key.name
        scope["route"] = ROUTE
        etag = etag_of(VERSION_NAME, version, scope["path"], [])
        tags = [(b"etag", etag.encode()), (_DATA_VERSION, str(version).encode())]
        if if_none_match is not None and "*" not in if_none_match and matches(if_none_match, etag):
            await _send(send, 304, b"", tags)
            return True
        body = lot_out_of(row).model_dump_json().encode()
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            *tags,
        ]
        await _send(send, 200, body, headers)
        return True

    @staticmethod
    async def _read(pool: asyncpg.Pool, watch: Any, lot_id: int) -> tuple[Any, int]:
        """The lot's row (None if there is none) and the data version, as the route reads
        them: the version first, so the body is never older than its tag."""
        async with pool.acquire() as connection:
            version = watch.known(VERSION_NAME)
            if version is None:
                version = int(await connection.fetchval(_VERSION, VERSION_NAME) or 0)
            return await connection.fetchrow(_LOT, lot_id), version


async def _json_as_the_app_reads_it(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name,
            encoder=lambda value: to_json(value).decode(),
            decoder=from_json,
            schema="pg_catalog",
        )


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """Only autocommit SELECTs run on these connections: no state to undo on release."""


async def open_pool(settings: Settings) -> asyncpg.Pool | None:
    """The fast path's pool (no connection until the first read); None on SQLite, where
    the route answers every read."""
    if is_sqlite(settings.database_url):
        return None
    pool: asyncpg.Pool = await asyncpg.create_pool(
        libpq_url(settings.database_url),
        min_size=0,
        max_size=settings.lot_read_pool_size,
        init=_json_as_the_app_reads_it,
        reset=_nothing_to_reset,
        timeout=settings.db_connect_timeout_seconds,
        command_timeout=settings.db_command_timeout_seconds,
        statement_cache_size=0 if behind_pgbouncer(settings) else 100,
        server_settings={"application_name": APPLICATION_NAME},
    )
    return pool


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
