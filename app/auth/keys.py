"""API keys: random tokens shown once, stored only as SHA-256 digests.

A key carries 256 bits of randomness, so a fast digest is enough (no password
stretching needed); lookups go by digest, and the final comparison is constant
time.
"""

import hashlib
import hmac
import secrets
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role

KEY_PREFIX = "lg_"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def issue_key(
    session: AsyncSession, *, name: str, role: Role, key: str | None = None
) -> tuple[ApiKey, str]:
    """Store a key's digest; the plain key is returned once and never stored."""
    plain = key or generate_key()
    record = ApiKey(name=name, role=role.value, key_hash=hash_key(plain))
    session.add(record)
    await session.flush()
    return record, plain


async def create_key(
    session: AsyncSession, *, name: str, role: Role, key: str | None = None
) -> str:
    return (await issue_key(session, name=name, role=role, key=key))[1]


class ActiveKey(NamedTuple):
    id: int
    name: str
    role: str
    key_hash: str


# Built once: its compiled form and cache key are reused (this runs on every request).
_ACTIVE_KEY = select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.key_hash).where(
    ApiKey.key_hash == bindparam("digest"), ApiKey.revoked_at.is_(None)
)


async def find_active_key(session: AsyncSession, digest: str) -> ActiveKey | None:
    """The active key with this digest (see hash_key), or None."""
    # Core on the session's connection: no ORM entities to load for a plain row.
    connection = await session.connection()
    row = (await connection.execute(_ACTIVE_KEY, {"digest": digest})).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return ActiveKey(*row)


class KeyState(StrEnum):
    created = "created"
    active = "active"
    revoked = "revoked"
    other_role = "other_role"


async def ensure_key(session: AsyncSession, *, name: str, role: Role, key: str) -> KeyState:
    """Create this exact key with ``role`` unless it exists. An existing key is never
    changed: a revoked one stays revoked, and one with another role keeps it."""
    existing = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if existing is None:
        await create_key(session, name=name, role=role, key=key)
        return KeyState.created
    if existing.revoked_at is not None:
        return KeyState.revoked
    return KeyState.active if existing.role == role.value else KeyState.other_role


async def has_active_admin(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(ApiKey.id).where(ApiKey.role == Role.admin.value, ApiKey.revoked_at.is_(None))
    )
    return found is not None
