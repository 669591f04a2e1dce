from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor, Role
from app.auth.cache import KeyCache
from app.auth.gate import client_address, verified_key
from app.auth.keys import ActiveKey, find_active_key
from app.deps import SessionDep
from app.errors import Forbidden

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


def key_cache(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


async def authenticate(
    request: Request, session: AsyncSession, credentials: HTTPAuthorizationCredentials | None
) -> Actor:
    async def lookup(digest: str) -> ActiveKey | None:
        return await find_active_key(session, digest)

    token = credentials.credentials if credentials is not None else None
    key = await verified_key(request.app.state, token, client_address(request.scope), lookup)
    request.state.actor = key.name
    return Actor(key_id=key.id, name=key.name, role=Role(key.role))


async def actor_for_digest(request: Request, session: AsyncSession, digest: str) -> Actor | None:
    """The holder of the active key with this digest (see hash_key), or None if the key is
    unknown or revoked; the key is read through the process's key cache."""
    cache = key_cache(request)
    key = cache.get(digest)
    if key is None:
        key = await find_active_key(session, digest)
        if key is None:
            return None
        cache.put(digest, key)
    request.state.actor = key.name
    return Actor(key_id=key.id, name=key.name, role=Role(key.role))


def role_allows(role: Role, *roles: Role) -> bool:
    """Whether a key of ``role`` may do what ``roles`` may; admin may do everything."""
    return role == Role.admin or role in roles


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """Dependency allowing the given roles; admin is always allowed."""
    allowed = {Role.admin, *roles}

    # One dependency, not one per step: FastAPI's cost is per dependency, on every request.
    async def dependency(
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Actor:
        actor = await authenticate(request, session, credentials)
        if not role_allows(actor.role, *roles):
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(
                f"Role '{actor.role.value}' may not do this; allowed roles: {names}.",
                allowed_roles=sorted(r.value for r in allowed),
            )
        return actor

    return dependency


AnyRole = Annotated[Actor, Depends(require(Role.inspector, Role.returns, Role.viewer))]
InspectorRole = Annotated[Actor, Depends(require(Role.inspector))]
ReturnsRole = Annotated[Actor, Depends(require(Role.returns))]
AdminRole = Annotated[Actor, Depends(require())]
