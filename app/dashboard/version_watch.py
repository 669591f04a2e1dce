"""The data version as PostgreSQL announces it, so a cached answer costs no database read.

A trigger (migration 0007) sends ``NOTIFY lotgate_data_version`` with the new value each
time the version row changes, delivered when the writing transaction commits and in
commit order; deleting the row or emptying the table sends 0. Each process keeps one
connection (outside the pool) LISTENing and remembers the last value announced, and its
own commits tell it their value at once (``saw``), so a client reads its own writes.

What that costs: another process may answer with the previous version for the moment a
notification takes to arrive (well under a millisecond on one host). While the
connection is down or not yet made, ``known()`` is None and readers read the version
from the database, as they do on SQLite, where nothing announces it.
"""

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dashboard.models import DataVersion
from app.dashboard.rollup import VERSION_NAME
from app.metrics import DATA_VERSION_WATCH

CHANNEL = "lotgate_data_version"
log = logging.getLogger("lotgate.version_watch")

_CURRENT = select(DataVersion.value).where(DataVersion.name == VERSION_NAME)


class VersionWatch:
    """The last data version this process knows of, pushed by PostgreSQL.

    ``engine`` (app.db.make_listener_engine) should not pool: the connection lives as long
    as the watch. Without one (SQLite, or push turned off) nothing is ever known.
    """

    def __init__(
        self,
        engine: AsyncEngine | None = None,
        *,
        retry_seconds: float = 1.0,
        check_seconds: float = 5.0,
    ) -> None:
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self._current: int | None = None
        self._announced_early = 0  # while connecting: the highest value announced
        self._last_read = 0  # by the last periodic check
        self._task: asyncio.Task[None] | None = None
        self.connections_made = 0

    def known(self) -> int | None:
        """The current version, or None when it must be read from the database."""
        return self._current

    def saw(self, value: int | None) -> None:
        """A commit of this process moved the version to ``value``."""
        if value is not None and self._current is not None:
            self._current = max(self._current, value)

    def start(self) -> None:
        if self.engine is not None:
            self._task = asyncio.create_task(self._run(), name="lotgate-version-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._current = None
        if self.engine is not None:
            await self.engine.dispose()

    def _announced(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        value = int(payload)
        if self._current is None:
            self._announced_early = value if value == 0 else max(self._announced_early, value)
        elif value == 0:  # the row was deleted or the table emptied
            self._current = self._last_read = 0
        else:
            self._current = max(self._current, value)

    async def _run(self) -> None:
        delay = self.retry_seconds
        while True:
            made = self.connections_made
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: unknown, then retry
                DATA_VERSION_WATCH.labels("lost").inc()
                log.warning("data version watch lost (%s); reading the version per request", error)
            finally:
                self._current = None
            # Retry at once-a-second pace after a working connection; back off while the
            # database stays away (every attempt would log a line in every process).
            delay = self.retry_seconds if self.connections_made > made else min(delay * 2, 15)
            await asyncio.sleep(delay)

    async def _listen(self) -> None:
        assert self.engine is not None
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            lost = asyncio.Event()
            driver.add_termination_listener(lambda _connection: lost.set())
            # LISTEN before reading: a change committed in between is announced, not missed.
            self._announced_early = 0
            await driver.add_listener(CHANNEL, self._announced)
            value = await connection.scalar(_CURRENT)
            self._current = max(int(value or 0), self._announced_early)
            self.connections_made += 1
            DATA_VERSION_WATCH.labels("connected").inc()
            self._last_read = self._current
            # A connection that dies without a word (a network cut) is found by asking.
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self.check_seconds)
                if not lost.is_set():
                    read = await asyncio.wait_for(connection.scalar(_CURRENT), self.check_seconds)
                    self._checked(int(read or 0))
            raise ConnectionError("the listening connection closed")

    def _checked(self, read: int) -> None:
        """The version the periodic check read. One read a whole check earlier and still
        not announced means notifications do not arrive (a pooler in transaction mode
        drops LISTEN, say): say so, and take the read, so that the version is never more
        than two checks behind."""
        if self._current is not None and self._current < self._last_read:
            DATA_VERSION_WATCH.labels("missed").inc()
            log.warning(
                "data version %s was never announced; is LISTEN reaching PostgreSQL? "
                "(LOTGATE_DATA_VERSION_PUSH=false reads it per request)",
                self._last_read,
            )
            self._current = max(self._current, read)
        self._last_read = read
