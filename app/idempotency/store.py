"""Reading and writing idempotency records, each in its own short transaction."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.errors import Conflict
from app.idempotency.models import IdempotencyRecord

__all__ = ["Claim", "IdempotencyRecord", "StoredResponse"]


@dataclass(frozen=True)
class Claim:
    """The idempotency facts of the request being served."""

    scope: str
    key: str
    fingerprint: str
    method: str
    path: str


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    content_type: str | None
    location: str | None
    body: bytes


async def find(
    sessionmaker: async_sessionmaker[AsyncSession], scope: str, key: str, retention: timedelta
) -> IdempotencyRecord | None:
    """The live record for this key; an expired one is deleted so the key can be reused."""
    async with sessionmaker() as session, session.begin():
        record = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
        if record is not None and record.created_at < utcnow() - retention:
            await session.delete(record)
            return None
        return record


async def claim_in_transaction(session: AsyncSession, claim: Claim) -> None:
    """Part of the request's own transaction: a concurrent twin fails on the unique key."""
    session.add(
        IdempotencyRecord(
            scope=claim.scope,
            key=claim.key,
            fingerprint=claim.fingerprint,
            method=claim.method,
            path=claim.path,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            "Another request with this Idempotency-Key was processed at the same time; "
            "retry to get its response.",
            errors=[{"field": "header.Idempotency-Key", "reason": "in use by a parallel request"}],
        ) from None


async def save_response(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: Claim,
    response: StoredResponse,
    *,
    claimed: bool,
) -> None:
    """Fill in the response of a request that committed its claim (``claimed``), or
    record the answer of one that wrote nothing, unless a parallel twin got there first."""
    values = {
        "status_code": response.status_code,
        "content_type": response.content_type,
        "location": response.location,
        "response_body": response.body,
    }
    if claimed:
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.scope == claim.scope,
                    IdempotencyRecord.key == claim.key,
                    IdempotencyRecord.status_code.is_(None),
                )
                .values(**values)
            )
        return
    try:
        async with sessionmaker() as session, session.begin():
            session.add(
                IdempotencyRecord(
                    scope=claim.scope,
                    key=claim.key,
                    fingerprint=claim.fingerprint,
                    method=claim.method,
                    path=claim.path,
                    **values,
                )
            )
    except IntegrityError:
        pass  # a parallel twin stored its response first; the first answer stands


async def purge_expired(
    sessionmaker: async_sessionmaker[AsyncSession],
    retention: timedelta,
    now: datetime | None = None,
) -> int:
    cutoff = (now or utcnow()) - retention
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)
