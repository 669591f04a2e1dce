"""X-Data-Version: read-your-writes across processes.

A write's response carries ``X-Data-Version``: the data version ("lots", see
app.dashboard.rollup) its commit moved to. A client that sends it back on a later request
is never answered from an older version by any process: a process that knows only an
older one (its notification is still on the way) reads the version from the primary
first (app.dashboard.etag.data_version), and a replica is read only once it has replayed
that far (app.replica).

This middleware checks the request header (a whole number, else 422) and leaves it in
``request.state.required_data_version``; whatever sets ``request.state.data_version``
before the response starts has it sent back.
"""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem_response

HEADER = "X-Data-Version"
_HEADER_KEY = HEADER.lower().encode()
_WHOLE_NUMBER = re.compile(rb"\s*[0-9]{1,18}\s*")
REASON = "must be a whole number (the X-Data-Version of an earlier response)"

REQUIRED = "required_data_version"  # request.state: what the client sent, else 0
ANSWERED = "data_version"  # request.state: the version to send back


class DataVersionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = [value for key, value in scope["headers"] if key == _HEADER_KEY]
        if sent and not all(_WHOLE_NUMBER.fullmatch(value) for value in sent):
            field = f"header.{HEADER}"
            response = problem_response(
                422,
                "Unprocessable content",
                f"{field}: {REASON}",
                slug="validation-error",
                instance=scope["path"],
                errors=[{"field": field, "reason": REASON}],
            )
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[REQUIRED] = max((int(value) for value in sent), default=0)

        async def send_with_version(message: Message) -> None:
            version = state.get(ANSWERED)
            if message["type"] == "http.response.start" and version is not None:
                headers = [*message.get("headers", []), (_HEADER_KEY, str(version).encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)
