"""The transaction of a request that holds an Idempotency-Key: left open when the route
returns, so that the middleware commits the answer with the request's writes."""

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Scope

TRANSACTION_KEY = "idempotency_transaction"


async def handed_over_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], scope: Scope
) -> AsyncIterator[AsyncSession]:
    """Like db.session_scope, but on success the session is flushed and left, open, in the
    request's state for IdempotencyMiddleware to commit or roll back (and close)."""
    session = sessionmaker()
    try:
        yield session
        await session.flush()
    except BaseException:
        try:
            await session.rollback()
        finally:
            await session.close()
        raise
    scope.setdefault("state", {})[TRANSACTION_KEY] = session
