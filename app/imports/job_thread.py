"""Import jobs on an event loop of their own, in a thread of the API process.

A job's writes and decisions are seconds of Python between database round trips; on the
API's event loop they would hold every other request for as long. Here they run on a
second loop with its own connection pool (asyncpg connections belong to one loop), and
the API's loop only waits for the result. Both threads still share the interpreter: the
API gets its turn at least every switch interval (5 ms), instead of after each chunk.
"""

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from app.db import make_engine, make_sessionmaker
from app.imports.jobs import ImportContext

Job = Callable[[ImportContext, int], Coroutine[Any, Any, None]]


class JobThread:
    def __init__(self, parent: ImportContext) -> None:
        self.parent = parent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: ImportContext | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            engine = make_engine(self.parent.settings)
            self._loop = loop
            self._context = ImportContext(
                make_sessionmaker(engine),
                self.parent.policy,
                self.parent.settings,
                live=self.parent.live,  # progress shown by the API's GET /imports/{id}
            )
            ready.set()
            try:
                loop.run_forever()
                loop.run_until_complete(engine.dispose())
            finally:
                loop.close()

        self._thread = threading.Thread(target=serve, name="lotgate-import-jobs", daemon=True)
        self._thread.start()
        ready.wait()

    async def run(self, job: Job, import_id: int) -> None:
        """Run the job on the thread's loop; its outcome (or exception) comes back here."""
        assert self._loop is not None and self._context is not None
        future = asyncio.run_coroutine_threadsafe(job(self._context, import_id), self._loop)
        await asyncio.wrap_future(future)

    async def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join)
