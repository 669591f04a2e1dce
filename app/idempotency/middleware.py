"""Idempotency-Key on POST: a retry gets the first answer instead of a second write.

Order of work, so that nobody without a valid key costs a row or a buffered body, and so
that an answer is durable before the client can see it:

1. the API key is checked (401/429 straight away, the body unread);
2. the body is read (up to the route's own limit; spooled to a temporary file above the
   normal limit) and hashed with the request line: the request's fingerprint;
3. the key is claimed with a lease in a short transaction (app/idempotency/store.py): a
   stored answer is replayed, a live lease answers 409 with Retry-After, an expired one
   is taken over (its holder died or is too slow);
4. the app runs; its transaction is left open (app/idempotency/transaction.py) and the
   response is held back;
5. the answer is written into that transaction, on condition the lease is still ours,
   and committed with the request's writes; only then is the response sent.

A crash before 5 leaves a lease that runs out; a crash after it leaves an answer to
replay. 401/403/429 and 5xx answers are never stored: the key is given up instead.
Keys are scoped to the API key that sent them (its digest) and kept for the configured
retention (at least 24 hours), then purged (app/maintenance).
"""

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.gate import bearer_token, client_address, verified_key
from app.auth.keys import ActiveKey, find_active_key
from app.dashboard.rollup import committed_versions
from app.errors import ProblemError, database_unavailable, problem_from, problem_response
from app.idempotency import store
from app.idempotency.body import SpooledBody, TooLarge
from app.idempotency.store import Claim, StoredResponse
from app.idempotency.transaction import TRANSACTION_KEY

HEADER = b"idempotency-key"
_ACCEPTABLE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
STATE_KEY = "idempotency_claim"
NEVER_STORED = frozenset({401, 403, 413, 429})
logger = logging.getLogger("lotgate.idempotency")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _problem(scope: Scope, status: int, detail: str, reason: str, **headers: str) -> ASGIApp:
    title = {409: "Conflict", 422: "Unprocessable content"}[status]
    return problem_response(
        status,
        title,
        detail,
        slug=title.lower().replace(" ", "-"),
        instance=scope["path"],
        errors=[{"field": "header.Idempotency-Key", "reason": reason}],
        headers=headers or None,
    )


def _too_large(scope: Scope, limit: int) -> ASGIApp:
    return problem_response(
        413,
        "Content too large",
        f"The request body exceeds the limit of {limit} bytes.",
        slug="content-too-large",
        instance=scope["path"],
        errors=[{"field": "body", "reason": f"at most {limit} bytes"}],
        extensions={"limit_bytes": limit},
    )


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        retention_hours: float,
        lease_seconds: float,
        max_body_bytes: int,
        body_limits: Mapping[str, int],
    ) -> None:
        """``body_limits``: the paths whose routes take more than ``max_body_bytes`` (the
        file import); their bodies are spooled to a temporary file past max_body_bytes."""
        self.app = app
        self.retention = timedelta(hours=retention_hours)
        self.lease = timedelta(seconds=lease_seconds)
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        try:
            api_key = await self._authenticate(scope)
        except ProblemError as refusal:
            await problem_from(refusal, scope["path"])(scope, receive, send)
            return
        except (SQLAlchemyError, OSError) as error:
            await database_unavailable(scope["path"], error)(scope, receive, send)
            return
        if not _ACCEPTABLE_KEY.match(key):
            detail = "Idempotency-Key must be 1-255 visible ASCII characters."
            await _problem(scope, 422, detail, "1-255 visible ASCII characters")(
                scope, receive, send
            )
            return
        limit = self.body_limits.get(scope["path"], self.max_body_bytes)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(scope, limit)(scope, receive, send)
            return
        request_line = (
            f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
        )
        try:
            body = await SpooledBody.read(
                receive,
                prefix=request_line.encode() + b"\n",
                limit=limit,
                spool_above=self.max_body_bytes,
            )
        except TooLarge:
            await _too_large(scope, limit)(scope, receive, send)
            return
        claim = Claim(api_key.key_hash, key, body.fingerprint, scope["method"], scope["path"])
        try:
            await self._serve(scope, receive, send, claim, body, state)
        finally:
            body.close()

    async def _authenticate(self, scope: Scope) -> ActiveKey:
        state = scope["app"].state

        async def lookup(digest: str) -> ActiveKey | None:
            async with state.read_sessionmaker() as session:
                return await find_active_key(session, digest)

        return await verified_key(state, bearer_token(scope), client_address(scope), lookup)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        claim: Claim,
        body: SpooledBody,
        state: Any,
    ) -> None:
        try:
            outcome = await store.claim_key(
                state.sessionmaker, claim, retention=self.retention, lease=self.lease
            )
        except (SQLAlchemyError, OSError) as error:
            await database_unavailable(scope["path"], error)(scope, receive, send)
            return
        if isinstance(outcome, store.Mismatch):
            detail = "This Idempotency-Key was used for a different request; use a new key."
            await _problem(scope, 422, detail, "reused with a different request")(
                scope, receive, send
            )
        elif isinstance(outcome, store.InProgress):
            wait = outcome.retry_after_seconds
            detail = f"A request with this Idempotency-Key is being processed; retry in {wait} s."
            await _problem(scope, 409, detail, "request in progress", **{"Retry-After": str(wait)})(
                scope, receive, send
            )
        elif isinstance(outcome, store.Replay):
            await _replay(outcome.response, send)
        else:
            await self._run(scope, receive, send, claim, body, outcome.token)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        claim: Claim,
        body: SpooledBody,
        token: str,
    ) -> None:
        scope.setdefault("state", {})[STATE_KEY] = claim
        held = _HeldResponse()
        try:
            await self.app(scope, body.replay(receive), held.send)
        except BaseException:
            await _abandon(scope, claim, token)
            raise
        try:
            kept = await _settle(scope, claim, token, held.stored())
        except (SQLAlchemyError, OSError) as error:
            logger.warning("could not store the answer for an Idempotency-Key; nothing committed")
            await database_unavailable(scope["path"], error)(scope, receive, send)
            return
        if kept:
            await held.forward(send)
            return
        detail = (
            "A retry took this Idempotency-Key over after its lease ran out; this request "
            "wrote nothing. Retry to get the answer."
        )
        await _problem(scope, 409, detail, "taken over by a retry")(scope, receive, send)


async def _settle(scope: Scope, claim: Claim, token: str, response: StoredResponse) -> bool:
    """Commit the request's transaction with its answer; False if the lease was lost
    (then nothing it wrote is committed)."""
    sessionmaker = scope["app"].state.sessionmaker
    session: AsyncSession | None = scope["state"].pop(TRANSACTION_KEY, None)
    storable = response.status_code < 500 and response.status_code not in NEVER_STORED
    if session is None:  # the request wrote nothing (it was refused, or failed)
        kept = await store.save_response(sessionmaker, claim, token, response if storable else None)
        return kept or not storable
    try:
        if response.status_code >= 500:
            await session.rollback()
            await store.save_response(sessionmaker, claim, token, None)
            return True
        kept = await store.finish_in_transaction(
            session, claim, token, response if storable else None
        )
        if not kept:
            await session.rollback()
            return False
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()
    scope["app"].state.version_watch.saw(committed_versions(session))
    return True


async def _abandon(scope: Scope, claim: Claim, token: str) -> None:
    """The app raised: nothing of it is committed, and the key is given up at once (if
    even that fails, the lease runs out)."""
    session: AsyncSession | None = scope["state"].pop(TRANSACTION_KEY, None)
    try:
        if session is not None:
            await session.rollback()
            await session.close()
        await store.save_response(scope["app"].state.sessionmaker, claim, token, None)
    except (SQLAlchemyError, OSError):
        logger.warning("could not give up an Idempotency-Key; its lease will run out")


async def _replay(response: StoredResponse, send: Send) -> None:
    headers = [
        (b"idempotent-replayed", b"true"),
        (b"content-length", str(len(response.body)).encode()),
    ]
    if response.content_type:
        headers.append((b"content-type", response.content_type.encode("latin-1")))
    if response.location:
        headers.append((b"location", response.location.encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class _HeldResponse:
    """The app's response, kept back until its answer is committed."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    def stored(self) -> StoredResponse:
        assert self.start is not None, "the app sent no response"
        headers = {k.lower(): v for k, v in self.start.get("headers", [])}
        content_type = headers.get(b"content-type")
        location = headers.get(b"location")
        return StoredResponse(
            self.start["status"],
            content_type.decode("latin-1") if content_type else None,
            location.decode("latin-1") if location else None,
            bytes(self.body),
        )

    async def forward(self, send: Send) -> None:
        assert self.start is not None
        await send(self.start)
        await send({"type": "http.response.body", "body": bytes(self.body)})
