"""Who runs import jobs: procrastinate on PostgreSQL, an asyncio task on SQLite.

PostgreSQL: jobs go to procrastinate's queue (its tables live in the same database), so
every API process (and any `lotgate worker`) takes work from one queue. The API runs a
worker in its lifespan unless LOTGATE_IMPORT_WORKER_IN_API=false.
SQLite (embedded, one process): the API runs the same job function in an asyncio task.
Either way, at start-up every import not yet done or failed is run again (a restart
recovery); the job function makes a second run harmless.
"""

import asyncio
import logging
from contextlib import suppress
from typing import Protocol

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from app.db import libpq_url
from app.imports.job_thread import JobThread
from app.imports.jobs import ImportContext, ImportNotReady, run_import, unfinished_imports
from app.maintenance.purge import purge

logger = logging.getLogger("lotgate.imports")

QUEUE = "imports"
TASK_NAME = "lotgate.run_import"
MAINTENANCE_QUEUE = "maintenance"
PURGE_TASK_NAME = "lotgate.purge"
NOT_READY_RETRIES = 20
NOT_READY_WAIT_SECONDS = 0.25


class ImportRunner(Protocol):
    context: ImportContext

    async def start(self) -> None: ...

    async def submit(self, import_id: int) -> None: ...

    async def stop(self) -> None: ...


class InProcessRunner:
    def __init__(self, context: ImportContext) -> None:
        self.context = context
        self.tasks: dict[int, asyncio.Task[None]] = {}

    async def start(self) -> None:
        for import_id in await unfinished_imports(self.context.sessionmaker):
            await self.submit(import_id)

    async def submit(self, import_id: int) -> None:
        running = self.tasks.get(import_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._run(import_id), name=f"import-{import_id}")
        self.tasks[import_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(import_id, None))

    async def _run(self, import_id: int) -> None:
        for _ in range(NOT_READY_RETRIES):
            try:
                await run_import(self.context, import_id)
                return
            except ImportNotReady:
                await asyncio.sleep(NOT_READY_WAIT_SECONDS)
            except Exception:  # the task must not die silently; the next start retries
                logger.exception("import %s could not run", import_id)
                return
        logger.warning("import %s never became visible; given up", import_id)

    async def wait(self) -> None:
        """Until every submitted import has run (tests, and a graceful stop)."""
        while self.tasks:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        with suppress(asyncio.CancelledError):
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)


class ProcrastinateRunner:
    def __init__(self, context: ImportContext, *, run_worker: bool) -> None:
        self.context = context
        self.run_worker = run_worker
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=libpq_url(context.settings.direct_url),
                min_size=1,
                max_size=4,
            )
        )
        self.task = self.app.task(
            name=TASK_NAME,
            queue=QUEUE,
            # Deferred inside the request's transaction: the worker may see the job first.
            retry=procrastinate.RetryStrategy(
                max_attempts=NOT_READY_RETRIES,
                wait=1,
                retry_exceptions={ImportNotReady},
            ),
        )(self._handle)
        # Deferred by every worker's periodic deferrer, once per scheduled time whatever
        # the number of workers (procrastinate keeps one row per task and timestamp).
        self.purge_task = self.app.periodic(
            cron=context.settings.purge_schedule, periodic_id="purge"
        )(self.app.task(name=PURGE_TASK_NAME, queue=MAINTENANCE_QUEUE)(self._purge))
        self._worker: asyncio.Task[None] | None = None
        # In the API process, jobs run on a loop of their own (see job_thread.py); a
        # `lotgate worker` process has nothing else to serve and runs them on its loop.
        self._jobs = JobThread(context) if run_worker else None

    async def _handle(self, import_id: int) -> None:
        if self._jobs is None:
            await run_import(self.context, import_id)
        else:
            await self._jobs.run(run_import, import_id)

    async def _purge(self, timestamp: int) -> None:
        await purge(self.context.sessionmaker, self.context.settings)

    async def start(self) -> None:
        await self.app.open_async()
        for import_id in await unfinished_imports(self.context.sessionmaker):
            await self.submit(import_id)
        if self._jobs is not None:
            self._jobs.start()
        if self.run_worker:
            self._worker = asyncio.create_task(self.work(), name="procrastinate-worker")

    async def work(self) -> None:
        await self.app.run_worker_async(
            queues=[QUEUE, MAINTENANCE_QUEUE], install_signal_handlers=False, name="lotgate-imports"
        )

    async def submit(self, import_id: int) -> None:
        with suppress(AlreadyEnqueued):  # the same import is waiting in the queue already
            await self.task.configure(queueing_lock=f"import-{import_id}").defer_async(
                import_id=import_id
            )

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with suppress(asyncio.CancelledError):
                await self._worker
        if self._jobs is not None:
            await self._jobs.stop()
        await self.app.close_async()


def make_runner(context: ImportContext, *, run_worker: bool) -> ImportRunner:
    if context.sqlite:
        return InProcessRunner(context)
    return ProcrastinateRunner(context, run_worker=run_worker)
