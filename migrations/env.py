"""Alembic environment: the URL comes from the app's settings unless a caller set one."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import get_settings
from app.db import UTCDateTime
from app.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().direct_url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Migrations spell the app's column types in plain SQLAlchemy terms."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    """procrastinate's job-queue tables are its own (applied from its schema SQL), not models."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def _configure(connection: Connection | None = None) -> None:
    options = {
        "target_metadata": target_metadata,
        "include_name": _include_name,
        "compare_type": True,
        "render_item": _render_item,
        "render_as_batch": database_url().startswith("sqlite"),
    }
    if connection is None:
        context.configure(url=database_url(), literal_binds=True, **options)
    else:
        context.configure(connection=connection, **options)


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    _configure()
    with context.begin_transaction():
        context.run_migrations()
else:
    existing = config.attributes.get("connection")
    if existing is not None:
        _run_sync(existing)
    else:
        asyncio.run(_run_online())
