"""Request-scoped dependencies shared by every feature."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import session_scope
from app.quality.facts import Policy


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # scope="function": the commit runs when the endpoint returns, before the
    # response is sent, so a client never sees a 2xx for a write that failed.
    async for session in session_scope(request.app.state.sessionmaker):
        yield session


SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def _policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


PolicyDep = Annotated[Policy, Depends(_policy)]
