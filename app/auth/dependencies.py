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
