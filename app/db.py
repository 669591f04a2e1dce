"""Engine, sessions and the declarative base shared by every feature's models."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic_core import from_json
from sqlalchemy import DateTime, MetaData, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

from app.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


_AFTER_COMMIT = "lotgate_after_commit"


def after_commit(session: Any, action: Callable[[], None]) -> None:
    """Run ``action`` once the transaction of ``session`` (an AsyncSession or Session)
    commits; a rollback drops it."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


# Connection execution option: the transaction only reads, from one consistent snapshot.
READ_ONLY_SNAPSHOT = "lotgate_read_only_snapshot"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def libpq_url(database_url: str) -> str:
    """The app's SQLAlchemy URL (postgresql+asyncpg://...) as the plain postgresql:// URI
    that asyncpg and psycopg connect with themselves."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _make_sqlite_transactions_immediate(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """SQLite: take the write lock when a transaction begins.

    A deferred transaction that reads and then writes fails at once with
    "database is locked" when another writer got there first; BEGIN IMMEDIATE
    waits for the lock instead (up to busy_timeout), which serialises writers
    the way a row lock does on PostgreSQL.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A read-only snapshot (an export) must not hold the write lock while it streams.
        read_only = connection.get_execution_options().get(READ_ONLY_SNAPSHOT, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _discard_closed_connections(engine: AsyncEngine) -> None:
    """Check out only connections the server has not closed, without a round trip.

    pool_pre_ping costs three (BEGIN, ping, ROLLBACK) on every checkout. asyncpg reads
    its sockets all the time, so a connection PostgreSQL closed (restart, shutdown,
    pg_terminate_backend) already reports is_closed(); the pool replaces it with a new
    one. A connection that dies silently fails its query instead: that request gets a
    503 and SQLAlchemy invalidates the whole pool, as it does for any disconnect.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(
        dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")


def make_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """The pool requests use: ``settings.database_url`` (through the pooler, if any), or
    ``url``, which is taken to be a server unless it is database_url itself."""
    database_url = url or settings.database_url
    if is_sqlite(database_url):
        engine = create_async_engine(database_url, json_deserializer=from_json)
        _make_sqlite_transactions_immediate(engine, settings.sqlite_busy_timeout_ms)
        return engine
    engine = create_async_engine(
        database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size // 2,
        pool_timeout=settings.db_connect_timeout_seconds,
        connect_args={
            **_connect_args(settings),
            **pooler_connect_args(settings, database_url),
        },
        # JSON columns (a rejected lot's reasons) parsed by pydantic's parser: twice as
        # fast as the standard library's, which pages of lots feel.
        json_deserializer=from_json,
    )
    _discard_closed_connections(engine)
    return engine


def _connect_args(settings: Settings) -> dict[str, Any]:
    return {
        "timeout": settings.db_connect_timeout_seconds,
        "command_timeout": settings.db_command_timeout_seconds,
    }


def behind_pgbouncer(settings: Settings) -> bool:
    return settings.database_pooler == "pgbouncer" and not is_sqlite(settings.database_url)


def pooler_connect_args(settings: Settings, url: str) -> dict[str, Any]:
    """asyncpg through PgBouncer in transaction mode: consecutive transactions of one
    client connection may run on different server connections, so a statement prepared
    under a name in one may be missing (or another client's) in the next. No statement
    cache in asyncpg or SQLAlchemy, and a unique name for the statements SQLAlchemy still
    prepares (SQLAlchemy's asyncpg documentation, "Prepared Statement Name with PGBouncer").
    """
    if not behind_pgbouncer(settings) or url != settings.database_url:
        return {}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__lotgate_{uuid.uuid4().hex}__"


LISTENER_APPLICATION_NAME = "lotgate-version-watch"


def make_listener_engine(settings: Settings) -> AsyncEngine:
    """PostgreSQL: one connection at a time, kept as long as it is used, in autocommit
    (a LISTEN inside a transaction would wait for its commit); pg_stat_activity shows it
    under its own application_name."""
    return create_async_engine(
        settings.direct_url,  # LISTEN needs a session of its own, not a pooler's
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={
            **_connect_args(settings),
            "server_settings": {"application_name": LISTENER_APPLICATION_NAME},
        },
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# --- Sessions for requests that only read ------------------------------------------------

_WRITER = "lotgate_writer"


# Session info: the engine a read session reads from instead of its own (app.replica).
READ_FROM = "lotgate_read_from"


class ReadOnlySession(Session):
    """A session that refuses to write: it has no transaction to write in."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        routed = self.info.get(READ_FROM)
        return routed if routed is not None else super().get_bind(*args, **kwargs)


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only session cannot write; use write_transaction()")


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    locks = state.is_select and getattr(state.statement, "_for_update_arg", None) is not None
    if not state.is_select or locks:
        raise RuntimeError("a read-only session cannot write or lock; use write_transaction()")


def make_read_sessionmaker(
    engine: AsyncEngine, writer: async_sessionmaker[AsyncSession], *, autocommit: bool = True
) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe (GET) requests, which cost no BEGIN and COMMIT round trips.

    PostgreSQL: autocommit, each statement on its own snapshot, as under READ COMMITTED
    inside a transaction. SQLite: a deferred transaction, which does not take the write
    lock. Code that must write during such a request uses write_transaction().

    ``autocommit=False`` behind PgBouncer in transaction mode: SQLAlchemy prepares each
    statement (Parse, Sync) before it runs it, and outside a transaction PgBouncer may
    send the two halves to different server connections. A transaction keeps them on one.
    """
    if is_sqlite(str(engine.url)):
        reader = engine.execution_options(**{READ_ONLY_SNAPSHOT: True})
    elif not autocommit:
        reader = engine
    else:
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(
        reader,
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ReadOnlySession,
        info={_WRITER: writer},
    )


@asynccontextmanager
async def write_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A session to write in: the request's own when it runs a transaction; next to a
    read-only session, a new transaction, committed when the block ends (before the
    response) or rolled back if it raises."""
    writer: async_sessionmaker[AsyncSession] | None = session.info.get(_WRITER)
    if writer is None:
        yield session
        return
    async with writer() as transactional, transactional.begin():
        yield transactional


async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
    before_commit: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the caller finishes, rolled back if it raises."""
    async with sessionmaker() as session:
        try:
            yield session
            if before_commit is not None:
                await before_commit(session)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
