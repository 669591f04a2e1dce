"""Test database and app.

The schema is built by running the Alembic migrations, never create_all. On
PostgreSQL (LOTGATE_TEST_DATABASE_URL) each run gets a fresh database of its
own, so concurrent runs cannot disturb each other; every test starts from
empty tables.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.keys import create_key
from app.auth.models import Role
from app.config import Settings
from app.dashboard.version_watch import VersionWatch
from app.db import Base, is_sqlite, make_sessionmaker
from app.main import create_app
from app.migrations_state import alembic_config

TEST_DATABASE_URL = os.environ.get("LOTGATE_TEST_DATABASE_URL", "").strip()
# Set when LOTGATE_TEST_DATABASE_URL is a PgBouncer in transaction mode: the same server
# without it, for what needs a session (LISTEN, the job worker, migrations, CREATE DATABASE).
TEST_DIRECT_URL = os.environ.get("LOTGATE_TEST_DATABASE_DIRECT_URL", "").strip()


def _through_pooler(url: str) -> bool:
    """Whether ``url`` names a database behind the test run's pooler (a private cluster
    of a live test is not)."""
    if not TEST_DIRECT_URL or is_sqlite(url):
        return False
    parsed, pooler = make_url(url), make_url(TEST_DATABASE_URL)
    return (parsed.host, parsed.port) == (pooler.host, pooler.port)


def direct_url_for(url: str) -> str:
    """``url``'s database on the server itself (not through the pooler)."""
    if not _through_pooler(url):
        return url
    database = make_url(url).database
    return make_url(TEST_DIRECT_URL).set(database=database).render_as_string(False)


def pooler_settings(url: str) -> dict[str, str]:
    """Settings (LOTGATE_ names in lower case) that route ``url`` like the test run does."""
    if not _through_pooler(url):
        return {}
    return {"database_direct_url": direct_url_for(url), "database_pooler": "pgbouncer"}


def _asyncpg_dsn(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin_execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url, make_url(url).database or "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of its own: a temporary SQLite file, or a new PostgreSQL database."""
    if not TEST_DATABASE_URL:
        path = Path(tmp_path_factory.mktemp("db")) / "lotgate-test.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"lotgate_test_{uuid.uuid4().hex[:12]}"
    admin_url = TEST_DIRECT_URL or TEST_DATABASE_URL
    asyncio.run(_admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_execute(admin_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


def migrate(database_url: str) -> str:
    config = alembic_config(direct_url_for(database_url))
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    return database_url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    return migrate(database_url)


@pytest.fixture(scope="session")
def settings(migrated: str) -> Settings:
    return Settings(database_url=migrated, admin_key=None, **pooler_settings(migrated))


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def engine(app: FastAPI) -> AsyncEngine:
    engine: AsyncEngine = app.state.engine
    return engine


async def _empty_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if is_sqlite(str(engine.url)):
            for table in tables:
                await connection.execute(text(f'DELETE FROM "{table}"'))
        else:
            names = ", ".join(f'"{t}"' for t in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def _announced_empty(watch: VersionWatch) -> None:
    """Wait until the app has heard the tables were emptied (PostgreSQL announces it), so
    that the next test does not start from the previous one's data version."""
    for _ in range(400):
        if watch.known("lots") in (None, 0):
            return
        await asyncio.sleep(0.005)
    pytest.fail("the app's data version watch never heard that the tables were emptied")


@pytest.fixture(autouse=True)
async def _clean_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        await _empty_tables(app.state.engine)
        await _announced_empty(app.state.version_watch)


@pytest.fixture
async def keys(app: FastAPI) -> dict[Role, str]:
    made: dict[Role, str] = {}
    async with make_sessionmaker(app.state.engine)() as session, session.begin():
        for role in Role:
            made[role] = await create_key(session, name=f"test-{role.value}", role=role)
    return made


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _client_for(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test/api/v1",
        headers={"Authorization": f"Bearer {key}"},
    )


@pytest.fixture
async def admin(app: FastAPI, keys: dict[Role, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with _client_for(app, keys[Role.admin]) as client:
        yield client


@pytest.fixture
async def inspector(app: FastAPI, keys: dict[Role, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with _client_for(app, keys[Role.inspector]) as client:
        yield client


@pytest.fixture
async def returns(app: FastAPI, keys: dict[Role, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with _client_for(app, keys[Role.returns]) as client:
        yield client


@pytest.fixture
async def viewer(app: FastAPI, keys: dict[Role, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with _client_for(app, keys[Role.viewer]) as client:
        yield client
