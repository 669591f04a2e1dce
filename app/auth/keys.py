"""API keys: random tokens shown once, stored only as SHA-256 digests.

A key carries 256 bits of randomness, so a fast digest is enough (no password
stretching needed); lookups go by digest, and the final comparison is constant
time.
"""

import hashlib
import hmac
import secrets

from sqlalchemy import select
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


async def find_active_key(session: AsyncSession, presented: str) -> ApiKey | None:
    digest = hash_key(presented)
    stored = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if stored is None or stored.revoked_at is not None:
        return None
    if not hmac.compare_digest(stored.key_hash, digest):
        return None
    return stored


async def ensure_key(session: AsyncSession, *, name: str, role: Role, key: str) -> bool:
    """Make sure this exact key exists and is active; True when it was created."""
    existing = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if existing is not None:
        existing.revoked_at = None
        existing.role = role.value
        return False
    await create_key(session, name=name, role=role, key=key)
    return True


async def has_active_admin(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(ApiKey.id).where(ApiKey.role == Role.admin.value, ApiKey.revoked_at.is_(None))
    )
    return found is not None
