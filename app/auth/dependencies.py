from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor, Role
from app.auth.cache import KeyCache
from app.auth.keys import find_active_key, hash_key
from app.deps import SessionDep
from app.errors import Forbidden, Unauthorized

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def key_cache(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


async def authenticate(
    request: Request, session: AsyncSession, credentials: HTTPAuthorizationCredentials | None
) -> Actor:
    if credentials is None or not credentials.credentials:
        raise Unauthorized(
            "An API key is required: send 'Authorization: Bearer <key>'.", headers=CHALLENGE
        )
    cache = key_cache(request)
    digest = hash_key(credentials.credentials)
    key = cache.get(digest)
    if key is None:
        key = await find_active_key(session, digest)
        if key is None:
            raise Unauthorized("The API key is unknown or revoked.", headers=CHALLENGE)
        cache.put(digest, key)
    request.state.actor = key.name
    return Actor(key_id=key.id, name=key.name, role=Role(key.role))


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
        if actor.role not in allowed:
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
