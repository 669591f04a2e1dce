"""X-Data-Version: read-your-writes across processes.

A write's response carries ``X-Data-Version``: the data version ("lots", see
app.dashboard.rollup) its commit moved to; so does every answer tagged with that version.
A client that sends it back on a later read is never answered from an older version by
any process: a process that knows only an older one (its notification is still on the
way) reads the version from the primary first (app.dashboard.etag.data_version), and a
replica is read only once it has replayed that far (app.replica).

This middleware sends back what a write left in ``request.state.data_version``. Reads
(GET, HEAD) pass straight through: the routes that use the header set it themselves,
and the hot read paths pay nothing for it.
"""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import invalid

HEADER = "X-Data-Version"
_HEADER_KEY = HEADER.lower().encode()
_WHOLE_NUMBER = re.compile(r"\s*[0-9]{1,18}\s*")
REASON = "must be a whole number (the X-Data-Version of an earlier response)"
ANSWERED = "data_version"  # request.state: the version a write's response sends back
_READS = frozenset({"GET", "HEAD"})


def parse_required(value: str | None) -> int:
    """The version a client sent (0 without one); a malformed one is a 422."""
    if value is None:
        return 0
    if not _WHOLE_NUMBER.fullmatch(value):
        raise invalid(f"header.{HEADER}", REASON)
    return int(value)


class DataVersionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_version(message: Message) -> None:
            version = state.get(ANSWERED)
            if message["type"] == "http.response.start" and version is not None:
                headers = [*message.get("headers", []), (_HEADER_KEY, str(version).encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)
