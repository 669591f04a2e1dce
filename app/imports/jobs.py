"""The import job: validate a stored file whole, then write it in one transaction.

States: queued -> validating -> importing -> done, or failed (with the error report).
The write and the switch to done commit together, so a crash leaves either the whole
import and state done, or nothing and a state before done; a job found before done is
simply run again (see runners.py: restart recovery). Two runs of one import never both
write: on PostgreSQL the write transaction takes an advisory lock on the import and reads
its state again under it; on SQLite every transaction holds the database's write lock.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer

from app.config import Settings
from app.db import is_sqlite, utcnow
from app.imports import off_loop
from app.imports.apply import apply_rows
from app.imports.columns import ImportKind
from app.imports.files import FileFormat, UnreadableFile
from app.imports.models import ImportJob
from app.imports.validation import (
    by_line,
    check_against_database,
    check_header,
    row_error,
)
from app.quality.facts import Policy

logger = logging.getLogger("lotgate.imports")

TERMINAL = frozenset({"done", "failed"})
ADVISORY_LOCK_NAMESPACE = 7_001  # pg_advisory_xact_lock(namespace, import id)
UNEXPECTED = "the import stopped on an unexpected error; nothing was written; submit it again"


class ImportNotReady(Exception):
    """The import row is not visible (yet): the request that made it has not committed."""


@dataclass
class ImportContext:
    """What a job needs, in the API process or a separate worker."""

    sessionmaker: async_sessionmaker[AsyncSession]
    policy: Policy
    settings: Settings
    live: dict[int, int] = field(default_factory=dict)  # rows processed, this process's jobs

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.settings.database_url)


async def _set(ctx: ImportContext, import_id: int, **values: Any) -> None:
    """Record a step of a run; never on an import already done or failed (a second run that
    read the import before the first finished must not move it back and write it again)."""
    async with ctx.sessionmaker() as session, session.begin():
        await session.execute(
            update(ImportJob)
            .where(ImportJob.id == import_id, ImportJob.state.not_in(TERMINAL))
            .values(updated_at=utcnow(), **values)
        )


async def fail(ctx: ImportContext, import_id: int, errors: list[dict[str, Any]]) -> None:
    """Failed imports wrote nothing and release their file hash: it may be sent again."""
    ctx.live.pop(import_id, None)
    await _set(
        ctx,
        import_id,
        state="failed",
        errors=by_line(errors),
        sha256_claim=None,
        finished_at=utcnow(),
    )


class _Progress:
    """Rows processed: kept in memory, and in the database when another connection may write.

    While the import transaction is open SQLite lets no other writer in, so there the
    figure lives in this process only (the embedded setup has one process).
    """

    def __init__(self, ctx: ImportContext, import_id: int, durable: bool) -> None:
        self.ctx, self.import_id, self.durable = ctx, import_id, durable

    async def __call__(self, rows: int) -> None:
        self.ctx.live[self.import_id] = rows
        if self.durable:
            await _set(self.ctx, self.import_id, rows_processed=rows)


async def _write(ctx: ImportContext, job: ImportJob, rows: list[Any]) -> None:
    kind = ImportKind(job.kind)
    durable = not ctx.sqlite
    async with ctx.sessionmaker() as session, session.begin():
        if not ctx.sqlite:
            await session.execute(
                select(func.pg_advisory_xact_lock(ADVISORY_LOCK_NAMESPACE, job.id))
            )
        state = await session.scalar(select(ImportJob.state).where(ImportJob.id == job.id))
        if state in TERMINAL:
            return
        now = utcnow()
        summary = await apply_rows(
            session,
            kind,
            rows,
            import_id=job.id,
            actor=job.created_by,
            policy=ctx.policy,
            now=now,
            batch_rows=ctx.settings.import_batch_rows,
            progress=_Progress(ctx, job.id, durable),
        )
        await session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id)
            .values(
                state="done",
                rows_processed=len(rows),
                result=summary,
                updated_at=now,
                finished_at=now,
            )
        )


async def _run(ctx: ImportContext, job: ImportJob) -> None:
    kind = ImportKind(job.kind)
    await _set(ctx, job.id, state="validating", rows_processed=0, errors=[])
    try:
        table = await off_loop.read(job.content, FileFormat(job.format), ctx.settings)
    except UnreadableFile as exc:
        await fail(ctx, job.id, [row_error(None, None, str(exc))])
        return
    errors = check_header(kind, table.header)
    if errors:
        await fail(ctx, job.id, errors)
        return
    await _set(ctx, job.id, rows_total=len(table.rows))
    checked = await off_loop.validate(kind, table, _Progress(ctx, job.id, durable=True))
    async with ctx.sessionmaker() as session:
        errors = checked.errors + await check_against_database(session, kind, checked.rows)
    if errors:
        await fail(ctx, job.id, errors)
        return
    await _set(ctx, job.id, state="importing", rows_processed=0)
    await _write(ctx, job, checked.rows)
    ctx.live.pop(job.id, None)


async def run_import(ctx: ImportContext, import_id: int) -> None:
    """Run (or run again) one import until done or failed; a no-op once it is either."""
    async with ctx.sessionmaker() as session:
        job = await session.get(ImportJob, import_id, options=[undefer(ImportJob.content)])
    if job is None:
        raise ImportNotReady(f"import {import_id} is not visible")
    if job.state in TERMINAL:
        return
    try:
        await _run(ctx, job)
    except Exception:
        logger.exception("import %s failed", import_id)
        await fail(ctx, import_id, [row_error(None, None, UNEXPECTED)])


async def unfinished_imports(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessionmaker() as session:
        ids = await session.scalars(
            select(ImportJob.id).where(ImportJob.state.not_in(TERMINAL)).order_by(ImportJob.id)
        )
        return list(ids)
