"""What is kept only for a while: idempotency records (LOTGATE_IDEMPOTENCY_RETENTION_HOURS
after their first request) and the uploaded files of finished imports
(LOTGATE_IMPORT_FILE_RETENTION_HOURS after they finished).

An import's file is cleared, not its row: the report, the summary and the content hash
(which still refuses the same file sent again) stay. Run on a schedule (LOTGATE_PURGE_
SCHEDULE) by a procrastinate periodic task on PostgreSQL and by a loop in the API on SQLite.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.idempotency.store import purge_expired
from app.imports.jobs import TERMINAL
from app.imports.models import ImportJob

logger = logging.getLogger("lotgate.maintenance")


@dataclass(frozen=True)
class Purged:
    idempotency_records: int
    import_files: int


async def clear_import_files(
    sessionmaker: async_sessionmaker[AsyncSession], retention: timedelta, now: datetime
) -> int:
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(ImportJob)
            .where(
                ImportJob.state.in_(TERMINAL),
                ImportJob.finished_at < now - retention,
                func.length(ImportJob.content) > 0,
            )
            .values(content=b"")
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime | None = None,
) -> Purged:
    now = now or utcnow()
    purged = Purged(
        idempotency_records=await purge_expired(
            sessionmaker, timedelta(hours=settings.idempotency_retention_hours), now
        ),
        import_files=await clear_import_files(
            sessionmaker, timedelta(hours=settings.import_file_retention_hours), now
        ),
    )
    logger.info(
        "purged %d idempotency records and %d import files",
        purged.idempotency_records,
        purged.import_files,
    )
    return purged
