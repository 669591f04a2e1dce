"""Idempotency-Key on POST: a retry gets the first answer instead of a second write.

Keys are scoped to the API key that sent them (its digest), live in the
database (so every server process sees them) and are kept for the configured
retention, at least 24 hours.
"""

import hashlib
import logging
import re
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.keys import hash_key
from app.errors import database_unavailable, problem_response
from app.idempotency import store
from app.idempotency.store import Claim, StoredResponse

HEADER = b"idempotency-key"
_ACCEPTABLE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
STATE_KEY = "idempotency_claim"
logger = logging.getLogger("lotgate.idempotency")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    authorization = _header(scope, b"authorization")
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip() or None


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _problem(scope: Scope, status: int, title: str, detail: str, reason: str) -> ASGIApp:
    return problem_response(
        status,
        title,
        detail,
        slug=title.lower().replace(" ", "-"),
        instance=scope["path"],
        errors=[{"field": "header.Idempotency-Key", "reason": reason}],
    )


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, retention_hours: float, max_body_bytes: int) -> None:
        self.app = app
        self.retention = timedelta(hours=retention_hours)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" else None
        api_key = _bearer(scope) if key is not None else None
        if key is None or scope["method"] != "POST" or api_key is None:
            await self.app(scope, receive, send)
            return
        if not _ACCEPTABLE_KEY.match(key):
            await _problem(
                scope,
                422,
                "Unprocessable content",
                "Idempotency-Key must be 1-255 visible ASCII characters.",
                "1-255 visible ASCII characters",
            )(scope, receive, send)
            return
        try:
            body = await _read_body(receive, self.max_body_bytes)
        except _TooLarge:
            await problem_response(
                413,
                "Content too large",
                f"The request body exceeds the limit of {self.max_body_bytes} bytes.",
                slug="content-too-large",
                instance=scope["path"],
            )(scope, receive, send)
            return
        request_line = (
            f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
        )
        fingerprint = hashlib.sha256(request_line.encode() + b"\n" + body).hexdigest()
        claim = Claim(hash_key(api_key), key, fingerprint, scope["method"], scope["path"])
        sessionmaker = scope["app"].state.sessionmaker

        try:
            existing = await store.find(sessionmaker, claim.scope, key, self.retention)
        except (SQLAlchemyError, OSError) as error:
            await database_unavailable(scope["path"], error)(scope, receive, send)
            return
        if existing is not None:
            if existing.fingerprint != fingerprint:
                await _problem(
                    scope,
                    422,
                    "Unprocessable content",
                    "This Idempotency-Key was used for a different request; use a new key.",
                    "reused with a different request",
                )(scope, receive, send)
            elif existing.status_code is None:
                await _problem(
                    scope,
                    409,
                    "Conflict",
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    "request in progress",
                )(scope, receive, send)
            else:
                await self._replay(existing_response(existing), send)
            return

        scope.setdefault("state", {})[STATE_KEY] = claim
        captured = _Capture(send)
        await self.app(scope, _replaying(body), captured.send)
        if captured.status is not None and captured.status < 500:
            claimed = bool(scope["state"].get("idempotency_committed"))
            try:
                await store.save_response(sessionmaker, claim, captured.stored(), claimed=claimed)
            except (SQLAlchemyError, OSError):
                # The client has its answer; a retry finds the claim and gets a 409
                # rather than a second write.
                logger.exception("could not store the response for an Idempotency-Key")

    @staticmethod
    async def _replay(response: StoredResponse, send: Send) -> None:
        headers = [
            (b"idempotent-replayed", b"true"),
            (b"content-length", str(len(response.body)).encode()),
        ]
        if response.content_type:
            headers.append((b"content-type", response.content_type.encode("latin-1")))
        if response.location:
            headers.append((b"location", response.location.encode("latin-1")))
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": response.body})


def existing_response(record: store.IdempotencyRecord) -> StoredResponse:
    assert record.status_code is not None
    return StoredResponse(
        record.status_code, record.content_type, record.location, record.response_body or b""
    )


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class _Capture:
    """Forwards the response to the client and keeps a copy to store."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self.headers: dict[bytes, bytes] = {}
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.lower(): v for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))
        await self._send(message)

    def stored(self) -> StoredResponse:
        assert self.status is not None
        content_type = self.headers.get(b"content-type")
        location = self.headers.get(b"location")
        return StoredResponse(
            self.status,
            content_type.decode("latin-1") if content_type else None,
            location.decode("latin-1") if location else None,
            bytes(self.body),
        )
