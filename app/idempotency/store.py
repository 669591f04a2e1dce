"""Reading and writing idempotency records.

A key is claimed in a short transaction of its own, with a lease; the answer is stored by
``finish_in_transaction`` in the request's own transaction (or, for a request that wrote
nothing, by ``save_response``), each on condition that the lease is still the request's.
"""

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
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


@dataclass(frozen=True)
class Leased:
    """This request holds the key until the lease ends; ``token`` proves it."""

    token: str


@dataclass(frozen=True)
class Replay:
    response: StoredResponse


@dataclass(frozen=True)
class InProgress:
    retry_after_seconds: int


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request."""


Outcome = Leased | Replay | InProgress | Mismatch


def _stored(record: IdempotencyRecord) -> StoredResponse:
    assert record.status_code is not None
    return StoredResponse(
        record.status_code, record.content_type, record.location, record.response_body or b""
    )


def _lease(record: IdempotencyRecord, now: datetime, lease: timedelta) -> Leased:
    record.lease_token = secrets.token_hex(16)
    record.lease_expires_at = now + lease
    return Leased(record.lease_token)


def _decide(
    record: IdempotencyRecord, claim: Claim, now: datetime, retention: timedelta, lease: timedelta
) -> Outcome:
    if record.created_at < now - retention:  # expired: the key starts a new life
        record.fingerprint, record.method, record.path = claim.fingerprint, claim.method, claim.path
        record.status_code = record.content_type = record.location = None
        record.response_body = None
        record.created_at = now
        return _lease(record, now, lease)
    if record.fingerprint != claim.fingerprint:
        return Mismatch()
    if record.status_code is not None:
        return Replay(_stored(record))
    if record.lease_expires_at is None or record.lease_expires_at > now:
        held_until = record.lease_expires_at or record.created_at + retention
        return InProgress(max(1, math.ceil((held_until - now).total_seconds())))
    return _lease(record, now, lease)  # the holder died (or is that slow): take it over


async def claim_key(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: Claim,
    *,
    retention: timedelta,
    lease: timedelta,
) -> Outcome:
    """Lease the key, or say why not, in one short committed transaction."""
    while True:
        async with sessionmaker() as session, session.begin():
            now = utcnow()
            record = await session.scalar(
                select(IdempotencyRecord)
                .where(IdempotencyRecord.scope == claim.scope, IdempotencyRecord.key == claim.key)
                .with_for_update()
            )
            if record is not None:
                return _decide(record, claim, now, retention, lease)
            record = IdempotencyRecord(
                scope=claim.scope,
                key=claim.key,
                fingerprint=claim.fingerprint,
                method=claim.method,
                path=claim.path,
                created_at=now,
            )
            leased = _lease(record, now, lease)
            try:
                async with session.begin_nested():
                    session.add(record)
            except IntegrityError:
                continue  # a twin claimed it first: read its record
            return leased


def _answered(claim: Claim, token: str, response: StoredResponse) -> object:
    return (
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.scope == claim.scope,
            IdempotencyRecord.key == claim.key,
            IdempotencyRecord.lease_token == token,
            IdempotencyRecord.status_code.is_(None),
        )
        .values(
            status_code=response.status_code,
            content_type=response.content_type,
            location=response.location,
            response_body=response.body,
            lease_token=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )


def _released(claim: Claim, token: str) -> object:
    return delete(IdempotencyRecord).where(
        IdempotencyRecord.scope == claim.scope,
        IdempotencyRecord.key == claim.key,
        IdempotencyRecord.lease_token == token,
        IdempotencyRecord.status_code.is_(None),
    )


async def finish_in_transaction(
    session: AsyncSession, claim: Claim, token: str, response: StoredResponse | None
) -> bool:
    """Store the answer (or, with None, give the key up) in the request's transaction;
    False if the lease is no longer this request's (a retry took the key over)."""
    statement = _answered(claim, token, response) if response else _released(claim, token)
    result = await session.execute(statement)  # type: ignore[call-overload]
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def save_response(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: Claim,
    token: str,
    response: StoredResponse | None,
) -> bool:
    """The same for a request that wrote nothing, in a transaction of its own."""
    async with sessionmaker() as session, session.begin():
        return await finish_in_transaction(session, claim, token, response)


async def find_answer(
    sessionmaker: async_sessionmaker[AsyncSession], claim: Claim
) -> StoredResponse | None:
    async with sessionmaker() as session:
        record = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == claim.scope,
                IdempotencyRecord.key == claim.key,
                IdempotencyRecord.fingerprint == claim.fingerprint,
                IdempotencyRecord.status_code.is_not(None),
            )
        )
        return _stored(record) if record is not None else None


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
