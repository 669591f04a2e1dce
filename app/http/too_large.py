"""The framework refuses an over-long Content-Length with a plain-text 413; make it a problem.

The limit named is the route's own (Starlette keeps it in the scope while the route runs),
the application-wide one otherwise.
"""

from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem_response


class ContentTooLargeAsProblem:
    def __init__(self, app: ASGIApp, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_problem_instead(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413:
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if not content_type.startswith(b"application/problem+json"):
                    replaced = True
                    limit = int(scope.get(MAX_BODY_SIZE_SCOPE_KEY, self.limit_bytes))
                    await problem_response(
                        413,
                        "Content too large",
                        f"The request body exceeds the limit of {limit} bytes.",
                        slug="content-too-large",
                        instance=scope["path"],
                        extensions={"limit_bytes": limit},
                    )(scope, receive, send)
                    return
            if not replaced:
                await send(message)

        await self.app(scope, receive, send_problem_instead)
