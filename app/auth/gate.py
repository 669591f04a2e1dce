"""Who may come in: an API key checked (process cache, then the database), and an address
that keeps failing answered 429 for a while. Used by the route dependency and by the
Idempotency-Key middleware, which must know the caller before it claims a key."""

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Scope

from app.auth.cache import KeyCache
from app.auth.keys import ActiveKey, hash_key
from app.auth.throttle import FailedAuthThrottle
from app.errors import ProblemError, Unauthorized

CHALLENGE = {"WWW-Authenticate": "Bearer"}

KeyLookup = Callable[[str], Awaitable[ActiveKey | None]]


class TooManyFailures(ProblemError):
    status, title, slug = 429, "Too many requests", "too-many-failed-authentications"


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


async def verified_key(state: Any, token: str | None, address: str, lookup: KeyLookup) -> ActiveKey:
    """The active key ``token`` names; Unauthorized or TooManyFailures otherwise.

    ``state`` is the app's state (key_cache, auth_throttle). A missing key is not counted
    as a failure (nothing was guessed); an unknown or revoked one is.
    """
    if not token:
        raise Unauthorized(
            "An API key is required: send 'Authorization: Bearer <key>'.", headers=CHALLENGE
        )
    throttle: FailedAuthThrottle = state.auth_throttle
    wait = throttle.retry_after(address)
    if wait is not None:
        raise TooManyFailures(
            f"Too many failed authentications from this address; retry in {wait} s.",
            headers={"Retry-After": str(wait)},
            errors=[{"field": "header.Authorization", "reason": "too many failed attempts"}],
            retry_after_seconds=wait,
        )
    cache: KeyCache = state.key_cache
    digest = hash_key(token)
    key = cache.get(digest)
    if key is None:
        key = await lookup(digest)
        if key is None:
            throttle.failed(address)
            raise Unauthorized("The API key is unknown or revoked.", headers=CHALLENGE)
        cache.put(digest, key)
    return key
