"""The data versions as PostgreSQL announces them, so a cached answer costs no database read.

A trigger (migration 0007) sends ``NOTIFY lotgate_data_version`` with a version's name and
new value each time its row changes, delivered when the writing transaction commits and
in commit order; deleting a row announces its name with 0, emptying the table ``*``. Each
process keeps one connection (outside the pool) LISTENing and remembers the last value of
every name, and its own commits tell it their values at once (``saw``), so a client reads
its own writes.

What that costs: another process may answer from the previous version for the moment a
notification takes to arrive (well under a millisecond on one host). While the
connection is down or not yet made, ``known()`` is None and readers read the version
from the database, as they do on SQLite, where nothing announces it.
"""

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dashboard.models import DataVersion
from app.metrics import DATA_VERSION_WATCH

CHANNEL = "lotgate_data_version"
EVERY_NAME = "*"
log = logging.getLogger("lotgate.version_watch")

_ALL = select(DataVersion.name, DataVersion.value)


class VersionWatch:
    """The last data versions this process knows of, pushed by PostgreSQL.

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
        self._current: dict[str, int] | None = None  # a name not in it: no row, version 0
        self._announced_early: dict[str, int] = {}  # while connecting
        self._last_read: dict[str, int] = {}  # by the last periodic check
        self._task: asyncio.Task[None] | None = None
        self.connections_made = 0

    def known(self, name: str) -> int | None:
        """The version of ``name``, or None when it must be read from the database."""
        return None if self._current is None else self._current.get(name, 0)

    def saw(self, values: Mapping[str, int] | None) -> None:
        """A commit of this process moved these versions."""
        if values and self._current is not None:
            _raise(self._current, values.items())

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
        name, _, value = payload.rpartition(" ")
        versions = self._announced_early if self._current is None else self._current
        if payload == EVERY_NAME:  # the table was emptied
            versions.clear()
            self._last_read.clear()
        elif int(value) == 0:  # the row was deleted
            versions[name] = self._last_read[name] = 0
        else:
            _raise(versions, [(name, int(value))])

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
                log.warning("data version watch lost (%s); reading versions per request", error)
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
            self._announced_early = {}
            await driver.add_listener(CHANNEL, self._announced)
            current = _versions(await connection.execute(_ALL))
            _raise(current, self._announced_early.items())
            self._current, self._last_read = current, dict(current)
            self.connections_made += 1
            DATA_VERSION_WATCH.labels("connected").inc()
            # A connection that dies without a word (a network cut) is found by asking.
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self.check_seconds)
                if not lost.is_set():
                    read = await asyncio.wait_for(connection.execute(_ALL), self.check_seconds)
                    self._checked(_versions(read))
            raise ConnectionError("the listening connection closed")

    def _checked(self, read: dict[str, int]) -> None:
        """The versions the periodic check read. One read a whole check earlier and still
        not announced means notifications do not arrive (a pooler in transaction mode
        drops LISTEN, say): say so, and take the read, so that no version is ever more
        than two checks behind."""
        current = self._current
        if current is None:
            return
        unannounced = {n: v for n, v in self._last_read.items() if current.get(n, 0) < v}
        if unannounced:
            DATA_VERSION_WATCH.labels("missed").inc()
            log.warning(
                "data versions %s were never announced; is LISTEN reaching PostgreSQL? "
                "(LOTGATE_DATA_VERSION_PUSH=false reads them per request)",
                unannounced,
            )
            _raise(current, read.items())
        self._last_read = read


def _versions(rows: Iterable[Any]) -> dict[str, int]:
    return {name: int(value) for name, value in rows}


def _raise(versions: dict[str, int], values: Iterable[tuple[str, int]]) -> None:
    """Versions only move forward (an emptied table is announced apart)."""
    for name, value in values:
        if value > versions.get(name, 0):
            versions[name] = value
