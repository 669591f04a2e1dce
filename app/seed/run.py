"""`lotgate seed`: fill a database with synthetic lots, in bulk.

Runs against a migrated database and adds to what is there (ids continue after the
current maximum). On PostgreSQL the lots are split by source over worker processes,
each writing with COPY; then sequences, rollups and planner statistics are brought up
to date. The same seed and lot count give the same data whatever the worker count.
"""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.dashboard.rollup import rebuild_rollups
from app.db import Base, is_sqlite, libpq_url, make_engine
from app.decisions.policy import policy_from_settings
from app.quality.facts import Policy
from app.seed.generate import (
    Batch,
    IdPlan,
    LotMaker,
    SupplierProfile,
    arrivals,
    make_suppliers,
    sources_of,
    supplier_rows,
)
from app.seed.writer import CopyWriter, InsertWriter, Writer

BATCH_LOTS = 5_000
ID_TABLES = tuple(IdPlan.SLOTS)


@dataclass(frozen=True)
class Plan:
    database_url: str
    lots: int
    seed: int
    workers: int
    ids: IdPlan
    suppliers: tuple[SupplierProfile, ...]
    policy: Policy


@dataclass
class Report:
    lots: int = 0
    suppliers: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def merge(self, counts: dict[str, int]) -> None:
        for table, n in counts.items():
            self.rows[table] = self.rows.get(table, 0) + n


def supplier_count(lots: int) -> int:
    return max(8, min(2_000, lots // 500))


async def _next_ids(connection: AsyncConnection) -> dict[str, int]:
    tables = Base.metadata.tables
    found = {}
    for name in ("lots", "suppliers", *ID_TABLES):
        highest = await connection.scalar(select(func.max(tables[name].c.id)))
        found[name] = int(highest or 0) + 1
    return found


async def _write_partition(plan: Plan, part: int, writer: Writer) -> dict[str, int]:
    """Build and write the lots of every source with index % workers == part."""
    suppliers = list(plan.suppliers)
    sources = sources_of(suppliers)
    maker = LotMaker(suppliers, sources, plan.ids, plan.policy, plan.seed)
    counts: dict[str, int] = {}
    batch = Batch()

    async def flush() -> None:
        nonlocal batch
        for table, rows in batch.tables.items():
            counts[table] = counts.get(table, 0) + len(rows)
        await writer.write(batch.tables)
        batch = Batch()

    for arrival in arrivals(plan.lots, plan.seed, len(sources)):
        if arrival.source % plan.workers == part:
            maker.make(arrival, batch)
            if len(batch) >= BATCH_LOTS:
                await flush()
    batch.tables["source_quality"] = maker.source_quality_rows()
    await flush()
    return counts


async def _copy_partition(plan: Plan, part: int) -> dict[str, int]:
    connection = await asyncpg.connect(libpq_url(plan.database_url))
    try:
        async with connection.transaction():
            return await _write_partition(plan, part, CopyWriter(connection))
    finally:
        await connection.close()


def _copy_partition_in_process(plan: Plan, part: int) -> dict[str, int]:
    return asyncio.run(_copy_partition(plan, part))


async def _finish_postgresql(connection: AsyncConnection) -> None:
    for name in ("lots", "suppliers", *ID_TABLES):
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - our names
                f"(SELECT max(id) FROM {name}))"
            )
        )


async def seed(
    database_url: str,
    lots: int,
    seed_value: int = 1,
    workers: int = 1,
    say: Callable[[str], None] = print,
) -> Report:
    started = time.perf_counter()
    # One statement here (the rollup rebuild over a million lots) outlasts a request's
    # command timeout on a loaded machine: the seed waits as long as the setting allows.
    settings = Settings(database_url=database_url, db_command_timeout_seconds=3600)
    engine = make_engine(settings, database_url)
    sqlite = is_sqlite(database_url)
    workers = 1 if sqlite else max(1, workers)
    report = Report(lots=lots)
    try:
        async with engine.begin() as connection:
            first = await _next_ids(connection)
        ids = IdPlan(
            lots=first["lots"],
            suppliers=first["suppliers"],
            base={name: first[name] for name in ID_TABLES},
        )
        suppliers = make_suppliers(supplier_count(lots), seed_value, ids.suppliers)
        report.suppliers = len(suppliers)
        plan = Plan(
            database_url,
            lots,
            seed_value,
            workers,
            ids,
            tuple(suppliers),
            policy_from_settings(settings),
        )
        async with engine.begin() as connection:
            await InsertWriter(connection).write({"suppliers": supplier_rows(suppliers)})
        say(f"{len(suppliers)} suppliers; building {lots} lots with {workers} worker(s)")
        if sqlite:
            async with engine.begin() as connection:
                report.merge(await _write_partition(plan, 0, InsertWriter(connection)))
        elif workers == 1:
            report.merge(await _copy_partition(plan, 0))
        else:
            loop = asyncio.get_running_loop()
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                parts = await asyncio.gather(
                    *(
                        loop.run_in_executor(pool, _copy_partition_in_process, plan, part)
                        for part in range(workers)
                    )
                )
            for counts in parts:
                report.merge(counts)
        say(f"lots written after {time.perf_counter() - started:.1f} s; rollups and statistics")
        async with engine.begin() as connection:
            if not sqlite:
                await _finish_postgresql(connection)
            await connection.run_sync(rebuild_rollups)
        if not sqlite:
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
                await connection.commit()
    finally:
        await engine.dispose()
    report.seconds = time.perf_counter() - started
    return report
