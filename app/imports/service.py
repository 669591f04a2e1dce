"""Receive an upload: refuse what cannot be a valid import at once, import small files in
the request, and leave larger ones to a job."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.config import Settings
from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.imports import off_loop
from app.imports.apply import apply_rows
from app.imports.columns import ImportKind
from app.imports.files import UnreadableFile, detect_format
from app.imports.models import ImportJob
from app.imports.validation import (
    by_line,
    check_against_database,
    check_header,
    row_error,
)
from app.quality.facts import Policy


@dataclass(frozen=True)
class Upload:
    kind: ImportKind
    filename: str
    content: bytes
    force: bool


def _refused(errors: list[dict[str, Any]], rows: int | None = None) -> Unprocessable:
    lines = {e["line"] for e in errors if e["line"] is not None}
    if rows is None or lines == {1}:
        detail = "The file cannot be imported; nothing was written."
    else:
        detail = f"{len(lines)} of {rows} rows have errors; nothing was imported."
    return Unprocessable(detail, errors=by_line(errors))


async def _claim(session: AsyncSession, job: ImportJob) -> None:
    """Refuse a file already imported (or on its way), unless forced."""
    if job.forced:
        return
    earlier = await session.scalar(select(ImportJob).where(ImportJob.sha256_claim == job.sha256))
    if earlier is None:
        job.sha256_claim = job.sha256
        try:
            async with session.begin_nested():
                session.add(job)
                await session.flush()
            return
        except IntegrityError:  # a concurrent upload of the same file committed first
            earlier = await session.scalar(
                select(ImportJob).where(ImportJob.sha256_claim == job.sha256)
            )
    state = earlier.state if earlier is not None else "queued"
    raise Conflict(
        f"This file was imported already (import {earlier.id if earlier else '?'}, {state}); "
        "send force=true to import it again.",
        errors=[{"field": "body.file", "reason": "same content (SHA-256) as an earlier import"}],
        existing_import_id=earlier.id if earlier else None,
    )


async def receive(
    session: AsyncSession, actor: Actor, upload: Upload, *, settings: Settings, policy: Policy
) -> ImportJob:
    """The import row: done already for a small file, queued for a job otherwise."""
    file_format = detect_format(upload.content)
    try:
        table = await off_loop.read(upload.content, file_format, settings)
    except UnreadableFile as exc:
        raise _refused([{**row_error(None, None, str(exc)), "field": "body.file"}]) from exc
    header_errors = check_header(upload.kind, table.header)
    if header_errors:
        raise _refused(header_errors)
    job = ImportJob(
        kind=upload.kind.value,
        format=file_format.value,
        filename=upload.filename[:255],
        sha256=await off_loop.sha256(upload.content),
        state="queued",
        rows_total=len(table.rows),
        rows_processed=0,
        errors=[],
        forced=upload.force,
        created_by=actor.name,
        content=upload.content,
    )
    await _claim(session, job)
    session.add(job)
    await session.flush()
    if len(table.rows) > settings.import_sync_max_rows:
        return job
    checked = await off_loop.validate(upload.kind, table)
    errors = checked.errors + await check_against_database(session, upload.kind, checked.rows)
    if errors:
        raise _refused(errors, len(table.rows))
    now = utcnow()
    job.result = await apply_rows(
        session,
        upload.kind,
        checked.rows,
        import_id=job.id,
        actor=actor.name,
        policy=policy,
        now=now,
        batch_rows=settings.import_batch_rows,
    )
    job.state = "done"
    job.rows_processed = len(checked.rows)
    job.updated_at = job.finished_at = now
    await session.flush()
    return job


async def get_import(session: AsyncSession, import_id: int) -> ImportJob:
    job = await session.get(ImportJob, import_id)
    if job is None:
        raise NotFound(f"Import {import_id} does not exist.")
    return job
