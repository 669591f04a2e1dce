"""A request body read whole before the app sees it: hashed as it arrives, kept in memory
up to a threshold and in a temporary file above it, refused past the route's limit."""

import hashlib
from tempfile import SpooledTemporaryFile

from starlette.types import Message, Receive

REPLAY_CHUNK_BYTES = 256 * 1024


class TooLarge(Exception):
    pass


class SpooledBody:
    def __init__(self, prefix: bytes, spool_above: int) -> None:
        self._hash = hashlib.sha256(prefix)
        self._file: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=spool_above)  # noqa: SIM115 (closed by close())
        self.size = 0

    @classmethod
    async def read(
        cls, receive: Receive, *, prefix: bytes, limit: int, spool_above: int
    ) -> "SpooledBody":
        """The whole body; TooLarge past ``limit`` bytes (the file is closed then)."""
        body = cls(prefix, spool_above)
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                body.size += len(chunk)
                if body.size > limit:
                    raise TooLarge
                body._hash.update(chunk)
                body._file.write(chunk)
                if not message.get("more_body", False):
                    break
        except BaseException:
            body.close()
            raise
        body._file.seek(0)
        return body

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the prefix and the body."""
        return self._hash.hexdigest()

    def replay(self, receive: Receive) -> Receive:
        """The body again, chunk by chunk, as the app asks for it; then the client's own
        messages (a disconnect)."""

        async def replaying() -> Message:
            if self._file.closed:
                return await receive()
            chunk = self._file.read(REPLAY_CHUNK_BYTES)
            more = self._file.tell() < self.size
            if not more:
                self.close()
            return {"type": "http.request", "body": chunk, "more_body": more}

        return replaying

    def close(self) -> None:
        self._file.close()
