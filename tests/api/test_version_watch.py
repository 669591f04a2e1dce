"""The data version pushed by PostgreSQL (LISTEN/NOTIFY) instead of read per request."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.dashboard.etag import data_version
from app.dashboard.version_watch import VersionWatch
from app.db import LISTENER_APPLICATION_NAME, make_listener_engine, make_sessionmaker
from app.suppliers.models import Supplier
from tests.api import factories
from tests.conftest import TEST_DATABASE_URL

on_postgresql = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="SQLite has no NOTIFY: the version is read per request"
)


async def stored_versions(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT name, value FROM data_versions"))
    return {name: int(value) for name, value in rows}


async def stored_version(engine: AsyncEngine, name: str = "lots") -> int:
    return (await stored_versions(engine)).get(name, 0)


def watch_events(event: str) -> float:
    value = REGISTRY.get_sample_value("lotgate_data_version_watch_events_total", {"event": event})
    return value or 0.0


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """A notification arrives when PostgreSQL delivers it; wait for it, within reason."""
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.025)
    pytest.fail(f"never happened: {what}")


async def add_supplier_behind_the_apps_back(engine: AsyncEngine, name: str) -> None:
    """A commit made outside any request of the app (another process, as far as the
    app's own bookkeeping knows): only the notification can tell the app about it."""
    async with make_sessionmaker(engine)() as session, session.begin():
        session.add(Supplier(name=name, country="NL", roles=["donor"]))


@pytest.fixture
async def watch(settings: Settings) -> AsyncIterator[VersionWatch]:
    own = VersionWatch(make_listener_engine(settings), retry_seconds=0.05, check_seconds=0.2)
    own.start()
    yield own
    await own.stop()


async def test_without_postgresql_nothing_is_known_and_the_version_is_read(
    app: FastAPI, admin: httpx.AsyncClient
) -> None:
    idle = VersionWatch()
    idle.start()
    idle.saw({"lots": 5})
    assert idle.known("lots") is None
    before = await stored_versions(app.state.engine)
    await factories.lot(admin)  # an FFP2 lot
    after = await stored_versions(app.state.engine)
    async with app.state.read_sessionmaker() as session:
        for name in ("lots", "lots/FFP2", "lots/KN95"):
            assert await data_version(session, idle, name) == after.get(name, 0)
    assert after["lots/FFP2"] > before.get("lots/FFP2", 0)
    assert after.get("lots/KN95", 0) == before.get("lots/KN95", 0)
    await idle.stop()


class RecordingWatch(VersionWatch):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, int] | None] = []

    def saw(self, values: Mapping[str, int] | None) -> None:
        self.seen.append(None if values is None else dict(values))


@pytest.fixture
def recording(app: FastAPI) -> Iterator[RecordingWatch]:
    running = app.state.version_watch
    app.state.version_watch = RecordingWatch()
    yield app.state.version_watch
    app.state.version_watch = running


async def test_a_request_that_wrote_tells_the_watch_its_version_at_once(
    app: FastAPI, admin: httpx.AsyncClient, recording: RecordingWatch
) -> None:
    supplier = await factories.supplier(admin)  # changes suppliers: every answer may move
    assert recording.seen == [{"lots": await stored_version(app.state.engine)}]
    await factories.lot(admin, supplier_id=supplier["id"])  # an FFP2 lot
    stored = await stored_versions(app.state.engine)
    assert recording.seen[-1] == {"lots": stored["lots"], "lots/FFP2": stored["lots/FFP2"]}
    again = await admin.post("/lots", json=factories.lot_body(supplier["id"]))
    assert again.status_code == 409  # rolled back: the watch is not told anything
    await admin.post("/keys", json={"name": "changes no lot", "role": "viewer"})
    assert len(recording.seen) == 3 and recording.seen[-1] is None  # committed, no new version


@on_postgresql
async def test_a_commit_elsewhere_is_announced_and_cached_answers_follow_it(
    app: FastAPI, admin: httpx.AsyncClient
) -> None:
    watch: VersionWatch = app.state.version_watch
    await eventually(lambda: watch.known("lots") is not None, "the app's watch connected")
    supplier = await factories.supplier(admin)
    await factories.lot(admin, supplier_id=supplier["id"])
    before = await admin.get("/suppliers/scorecards")
    assert [row["supplier_id"] for row in before.json()["items"]] == [supplier["id"]]

    await add_supplier_behind_the_apps_back(app.state.engine, "Announced BV")
    current = await stored_version(app.state.engine)
    await eventually(lambda: watch.known("lots") == current, "the new version announced")
    after = await admin.get(
        "/suppliers/scorecards", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]


@on_postgresql
async def test_a_lost_connection_makes_the_version_unknown_until_it_is_back(
    settings: Settings, engine: AsyncEngine
) -> None:
    lost_before = watch_events("lost")
    watch = VersionWatch(make_listener_engine(settings), retry_seconds=0.5, check_seconds=0.2)
    watch.start()
    try:
        await eventually(lambda: watch.connections_made == 1, "the watch connected")
        assert watch.known("lots") == await stored_version(engine)
        async with engine.connect() as connection:
            killed = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": LISTENER_APPLICATION_NAME},
            )
        assert killed >= 1  # the app's own watch is cut too; it reconnects the same way
        await eventually(lambda: watch.known("lots") is None, "the version unknown")
        assert watch_events("lost") >= lost_before + 1
        # Committed while nobody listens: read on reconnecting, not missed.
        await add_supplier_behind_the_apps_back(engine, "Committed while away BV")
        current = await stored_version(engine)
        await eventually(lambda: watch.connections_made == 2, "the watch reconnected")
        assert watch.known("lots") == current
    finally:
        await watch.stop()


class DeafWatch(VersionWatch):
    """Hears no notification, as behind a pooler in transaction mode."""

    def _announced(self, *_args: Any) -> None:
        pass


@on_postgresql
async def test_notifications_that_never_arrive_are_noticed_and_the_check_catches_up(
    settings: Settings, engine: AsyncEngine
) -> None:
    missed_before = watch_events("missed")
    deaf = DeafWatch(make_listener_engine(settings), check_seconds=0.05)
    deaf.start()
    try:
        await eventually(lambda: deaf.connections_made == 1, "the watch connected")
        await add_supplier_behind_the_apps_back(engine, "Never announced BV")
        current = await stored_version(engine)
        await eventually(lambda: deaf.known("lots") == current, "the checks caught up")
        assert watch_events("missed") >= missed_before + 1
    finally:
        await deaf.stop()


@on_postgresql
async def test_emptying_the_table_announces_version_zero(
    watch: VersionWatch, engine: AsyncEngine
) -> None:
    await add_supplier_behind_the_apps_back(engine, "Soon gone BV")
    current = await stored_version(engine)
    await eventually(lambda: watch.known("lots") == current, "the version announced")
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE data_versions"))
    await eventually(lambda: watch.known("lots") == 0, "the emptied table announced")
