"""Reads from a streaming replica (LOTGATE_DATABASE_READ_URL), never older than asked.

Dashboard lists, summaries, scorecards and the reject-list export may be answered by a
replica; decisions, locks, writes and every other read stay on the primary.

The rule: an answer is tagged with a data version (its ETag; at least the X-Data-Version
the client sent, see app.http.data_version) before it is computed. The replica computes
it only if the ``data_versions`` row it has replayed is at least that version: one
primary-key read on the replica. Otherwise (replay lagging or paused) the primary
computes it. A replica that cannot be reached, or fails during a read, is left alone for
``retry_seconds`` and the primary answers: a replica never causes a 503.
"""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Literal, TypeVar

from prometheus_client import Counter
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.dashboard.models import DataVersion
from app.db import READ_FROM, make_engine
from app.errors import is_connection_error

log = logging.getLogger("lotgate.replica")
T = TypeVar("T")

READS = Counter(
    "lotgate_replica_reads_total",
    "Reads that could come from the replica, by where they ran: replica (it had replayed "
    "the version asked for); primary because the replica was behind, or down",
    ["target"],
)
Target = Literal["replica", "behind", "down"]

_REPLAYED = select(DataVersion.value).where(DataVersion.name == bindparam("name"))


class Replica:
    """A read replica, or none (``engine`` None): then everything reads the primary."""

    def __init__(self, engine: AsyncEngine | None = None, *, retry_seconds: float = 5.0) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT") if engine else None
        self.retry_seconds = retry_seconds
        self._down_until = 0.0

    async def target(self, name: str, version: int) -> Target:
        """Where a read of data version ``version`` of ``name`` may run."""
        if self.engine is None or time.monotonic() < self._down_until:
            return "down"
        try:
            async with self.engine.connect() as connection:
                replayed = int(await connection.scalar(_REPLAYED, {"name": name}) or 0)
        except (OSError, TimeoutError, DBAPIError) as error:
            if isinstance(error, DBAPIError) and not is_connection_error(error):
                raise
            self._went_down(error)
            return "down"
        return "replica" if replayed >= version else "behind"

    def _went_down(self, error: BaseException) -> None:
        self._down_until = time.monotonic() + self.retry_seconds
        log.warning("read replica unavailable (%s); reading the primary", error)

    async def read(
        self, session: AsyncSession, name: str, version: int, work: Callable[[], Awaitable[T]]
    ) -> T:
        """``work()`` (which reads through ``session``, a read session) on the replica when
        it has replayed ``version``, else on the primary."""
        target = await self.target(name, version)
        READS.labels(target).inc()
        if target != "replica":
            return await work()
        try:
            async with self._routed(session):
                return await work()
        except (OSError, TimeoutError, DBAPIError) as error:
            if isinstance(error, DBAPIError) and not is_connection_error(error):
                raise
            self._went_down(error)
            READS.labels("down").inc()
            await session.rollback()  # lets go of the failed connection; no data changed
            return await work()

    @asynccontextmanager
    async def _routed(self, session: AsyncSession) -> AsyncIterator[None]:
        assert self.engine is not None
        session.sync_session.info[READ_FROM] = self.engine.sync_engine
        try:
            yield
        finally:
            session.sync_session.info.pop(READ_FROM, None)

    async def engine_for(self, name: str, version: int, primary: AsyncEngine) -> AsyncEngine:
        """For reads that take an engine (streamed exports): the replica's or ``primary``."""
        target = await self.target(name, version)
        READS.labels(target).inc()
        return self.engine if target == "replica" and self.engine is not None else primary

    async def dispose(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()


def replica_for(settings: Settings) -> Replica:
    if not settings.database_read_url:
        return Replica()
    return Replica(make_engine(settings, settings.database_read_url))
