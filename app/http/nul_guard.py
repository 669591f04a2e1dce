"""Refuse NUL characters in the URL: PostgreSQL text cannot hold them (it would be a 500)."""

from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import problem_response

NUL = "\x00"


def _nul_field(scope: Scope) -> str | None:
    if NUL in unquote(scope.get("raw_path", b"").decode("latin-1")) or NUL in scope["path"]:
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if NUL in key or NUL in value:
            return f"query.{key.replace(NUL, '')}"
    return None


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        field = _nul_field(scope) if scope["type"] == "http" else None
        if field is None:
            await self.app(scope, receive, send)
            return
        response = problem_response(
            422,
            "Unprocessable content",
            f"{field}: NUL characters are not allowed",
            slug="validation-error",
            instance=scope["path"].replace(NUL, ""),
            errors=[{"field": field, "reason": "NUL characters are not allowed"}],
        )
        await response(scope, receive, send)
