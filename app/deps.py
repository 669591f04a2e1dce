"""Request-scoped dependencies shared by every feature."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.rollup import VERSION_NAME, committed_versions
from app.db import session_scope
from app.http.data_version import ANSWERED as ANSWERED_VERSION
from app.idempotency.middleware import STATE_KEY
from app.idempotency.transaction import handed_over_transaction
from app.quality.facts import Policy

SAFE_METHODS = frozenset({"GET", "HEAD"})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # scope="function": the commit runs when the endpoint returns, before the
    # response is sent, so a client never sees a 2xx for a write that failed.
    if request.method in SAFE_METHODS:
        # No transaction to begin and commit; a write here must use write_transaction().
        async with request.app.state.read_sessionmaker() as session:
            yield session
        return
    if getattr(request.state, STATE_KEY, None) is not None:
        # Committed by IdempotencyMiddleware together with the answer, before it is sent.
        async for session in handed_over_transaction(request.app.state.sessionmaker, request.scope):
            yield session
        return
    async for session in session_scope(request.app.state.sessionmaker):
        yield session
    # This process answers from the new version at once: a client reads its own writes.
    versions = committed_versions(session)
    request.app.state.version_watch.saw(versions)
    if versions and VERSION_NAME in versions:  # sent back as X-Data-Version
        setattr(request.state, ANSWERED_VERSION, versions[VERSION_NAME])


SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def _policy(request: Request) -> Policy:  # async: a sync one would run in a thread
    policy: Policy = request.app.state.policy
    return policy


PolicyDep = Annotated[Policy, Depends(_policy)]
