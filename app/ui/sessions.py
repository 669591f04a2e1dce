"""The pages' session: one signed cookie, set when an API key is exchanged for it.

The cookie holds the key's digest (never the key) and a CSRF token, signed with the
session secret and stamped with the time it was made; it is refused after
``session_hours``. Each request looks the digest up through the same key cache as a
Bearer key, so a revoked key's session stops working as soon as its API requests would.

Visitors who are not signed in get a cookie without a digest, so that the sign-in form
carries a CSRF token too (no one can sign a browser in with their own key).
"""

import hmac
import logging
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.config import Settings

COOKIE = "lotgate_session"
CSRF_FIELD = "csrf_token"
_SALT = "lotgate.ui.session"

logger = logging.getLogger("lotgate.ui")


@dataclass(frozen=True)
class PageSession:
    csrf: str
    key_digest: str | None = None

    @classmethod
    def anonymous(cls) -> "PageSession":
        return cls(csrf=secrets.token_urlsafe(32))

    @classmethod
    def signed_in(cls, key_digest: str) -> "PageSession":
        # A fresh token at sign-in: one seen before it is worth nothing after.
        return cls(csrf=secrets.token_urlsafe(32), key_digest=key_digest)

    def csrf_matches(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token, self.csrf)


class SessionCookies:
    def __init__(self, settings: Settings) -> None:
        secret = settings.session_secret.get_secret_value() if settings.session_secret else None
        if secret is None:
            logger.warning(
                "LOTGATE_SESSION_SECRET is not set: page sessions are signed with a key made "
                "by this process; they end when it stops and work with one process only"
            )
            secret = secrets.token_urlsafe(32)
        self.serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age = int(settings.session_hours * 3600)

    def read(self, request: Request) -> PageSession | None:
        """The request's session, or None if it has none, or a forged or expired one."""
        text = request.cookies.get(COOKIE)
        if not text:
            return None
        try:
            data = self.serializer.loads(text, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is one
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        digest = data.get("d")
        return PageSession(csrf=data["c"], key_digest=digest if isinstance(digest, str) else None)

    def write(self, request: Request, response: Response, session: PageSession) -> None:
        response.set_cookie(
            COOKIE,
            self.serializer.dumps({"c": session.csrf, "d": session.key_digest}),
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


def session_cookies(request: Request) -> SessionCookies:
    cookies: SessionCookies = request.app.state.session_cookies
    return cookies
