"""SQLite (one process, no job queue): the purge on its schedule, in the API's event loop."""

import asyncio
import logging
import time

from croniter import croniter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.maintenance.purge import purge

logger = logging.getLogger("lotgate.maintenance")


async def run_purge_loop(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    schedule = croniter(settings.purge_schedule, time.time())
    while True:
        await asyncio.sleep(max(0.0, schedule.get_next(float) - time.time()))
        try:
            await purge(sessionmaker, settings)
        except (SQLAlchemyError, OSError):
            logger.exception("purge failed; trying again at the next scheduled time")
