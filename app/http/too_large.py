"""The framework refuses an over-long Content-Length with a plain-text 413; make it a problem."""

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
                    await problem_response(
                        413,
                        "Content too large",
                        f"The request body exceeds the limit of {self.limit_bytes} bytes.",
                        slug="content-too-large",
                        instance=scope["path"],
                        extensions={"limit_bytes": self.limit_bytes},
                    )(scope, receive, send)
                    return
            if not replaced:
                await send(message)

        await self.app(scope, receive, send_problem_instead)
