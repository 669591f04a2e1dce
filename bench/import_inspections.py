"""Import 100,000 inspection rows into a database of 1,000,000 lots; compare with COPY.

    .venv/bin/python bench/import_inspections.py [--lots 1000000] [--rows 100000] [--runs 3]

Uses the PostgreSQL database lotgate_bench_import on 127.0.0.1 (created, migrated and
filled with lots on first use; kept for later runs). Each run writes a fresh CSV of lab
results for `rows` distinct lots not inspected before, then measures in the same run:

- baseline: asyncpg COPY of that CSV into an unlogged scratch table with the file's columns
  (no validation, no lookups, no decisions);
- import: the job function itself (app.imports.jobs.run_import) on the stored file: parse,
  validate every row, set-based checks, one transaction of multi-row INSERTs, decision
  recompute of every touched lot with its events, marking the import done.

Each run is undone afterwards (not measured): its inspections and decision events are
deleted and its lots get their set-up decision columns back, so every run starts from the
same database and the lots last for any number of runs. (The dashboard rollups of this
benchmark database are not restored.) The touched tables are vacuumed before the first
run and after each undo (not measured either): the server runs with autovacuum off, and
the dead rows an undo leaves would otherwise slow every later run's updates.

It prints medians, the ratio and the load average. The machine has 2 cores shared with
others: expect noise.
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import make_url

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.decisions.policy import policy_from_settings
from app.imports import apply as apply_module
from app.imports import jobs as jobs_module
from app.imports import off_loop
from app.imports.jobs import ImportContext, run_import
from app.imports.models import ImportJob
from app.migrations_state import alembic_config

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "lotgate_bench_import"
URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"
SUPPLIERS = 50
HEADER = [
    "lot_id",
    "kind",
    "sample_size",
    "performed_at",
    "inspector",
    "lab",
    "report_number",
    "defect_membrane_fault",
    "filtration_efficiency_pct",
    "total_inward_leakage_pct",
]
SCRATCH = """CREATE UNLOGGED TABLE IF NOT EXISTS bench_copy_inspections (
    lot_id integer, kind text, sample_size integer, performed_at timestamptz, inspector text,
    lab text, report_number text, defect_membrane_fault integer,
    filtration_efficiency_pct double precision, total_inward_leakage_pct double precision)"""


async def ensure_database() -> None:
    connection = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", DATABASE):
            await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    config = alembic_config(URL)
    config.attributes["configure_logging"] = False
    await asyncio.to_thread(command.upgrade, config, "head")


async def ensure_lots(connection: asyncpg.Connection, wanted: int) -> None:
    """Suppliers and `wanted` lots, written with COPY (the benchmark's set-up, not measured)."""
    have = await connection.fetchval("SELECT count(*) FROM lots")
    if have >= wanted:
        return
    now = datetime.now(UTC)
    if not await connection.fetchval("SELECT count(*) FROM suppliers"):
        await connection.copy_records_to_table(
            "suppliers",
            records=[(f"Supplier {i}", "CN", '["manufacturer"]', now) for i in range(SUPPLIERS)],
            columns=["name", "country", "roles", "created_at"],
        )
    supplier_ids = [r[0] for r in await connection.fetch("SELECT id FROM suppliers ORDER BY id")]
    received = datetime(2020, 3, 1, tzinfo=UTC)
    columns = [
        "lot_number", "supplier_id", "product", "ordered_as", "quantity", "unit",
        "received_at", "ear_loops", "created_at", "distributed", "site_returned",
        "site_destroyed", "site_consumed", "returned_to_supplier", "status", "disposition",
        "to_recall", "to_return", "releasable", "reasons", "allowed_uses", "decided_at",
        "policy_version", "severity", "supplier_discontinued",
    ]  # fmt: skip
    batch = 100_000
    for start in range(have, wanted, batch):
        records = [
            (
                f"BENCH-{n:08d}",
                supplier_ids[n % SUPPLIERS],
                "FFP2",
                "FFP2",
                10_000 + n % 90_000,
                "pieces",
                received + timedelta(minutes=n % 50_000),
                False,
                now,
                0,
                0,
                0,
                0,
                0,
                "on_hold",
                "hold",
                0,
                0,
                0,
                "[]",
                "[]",
                now,
                "bench",
                "normal",
                False,
            )
            for n in range(start, min(start + batch, wanted))
        ]
        await connection.copy_records_to_table("lots", records=records, columns=columns)
        print(f"  lots: {min(start + batch, wanted):,}", flush=True)
    await connection.execute("ANALYZE lots")


async def uninspected_lots(connection: asyncpg.Connection, rows: int) -> list[int]:
    ids = await connection.fetch(
        "SELECT id FROM lots l WHERE NOT EXISTS "
        "(SELECT 1 FROM inspections i WHERE i.lot_id = l.id) ORDER BY random() LIMIT $1",
        rows,
    )
    return [r[0] for r in ids]


def lab_results_csv(lot_ids: list[int]) -> bytes:
    """Lab results for these lots, one in ten failing filtration."""
    rng = random.Random(len(lot_ids))
    lines = [",".join(HEADER)]
    for lot_id in lot_ids:
        failing = rng.random() < 0.1
        filtration = round(rng.uniform(60, 90) if failing else rng.uniform(95, 99.5), 1)
        lines.append(
            f"{lot_id},lab,20,2020-03-24T10:00:00Z,Bench Lab,Bench Lab,R-{lot_id},"
            f"{rng.randint(0, 3)},{filtration},{round(rng.uniform(1, 7), 1)}"
        )
    return ("\n".join(lines) + "\n").encode()


def write_csv(path: Path, lot_ids: list[int]) -> bytes:
    content = lab_results_csv(lot_ids)
    path.write_bytes(content)
    return content


async def copy_baseline(connection: asyncpg.Connection, path: Path) -> float:
    await connection.execute(SCRATCH)
    await connection.execute("TRUNCATE bench_copy_inspections")
    started = time.perf_counter()
    await connection.copy_to_table(
        "bench_copy_inspections", source=path, format="csv", header=True, columns=HEADER
    )
    return time.perf_counter() - started


async def high_water_marks(connection: asyncpg.Connection) -> tuple[int, int]:
    inspections = await connection.fetchval("SELECT coalesce(max(id), 0) FROM inspections")
    events = await connection.fetchval("SELECT coalesce(max(id), 0) FROM decision_events")
    return inspections, events


async def undo_run(
    connection: asyncpg.Connection, lot_ids: list[int], marks: tuple[int, int]
) -> None:
    """Back to the set-up state of ensure_lots for these lots (the bench lots are FFP2)."""
    async with connection.transaction():
        await connection.execute("DELETE FROM inspections WHERE id > $1", marks[0])
        await connection.execute("DELETE FROM decision_events WHERE id > $1", marks[1])
        await connection.execute(
            "UPDATE lots SET status = 'on_hold', disposition = 'hold', to_recall = 0, "
            "to_return = 0, releasable = 0, reasons = '[]', allowed_uses = '[]', "
            "policy_version = 'bench', decision_valid_until = NULL, inspection_accepted = NULL "
            "WHERE id = ANY($1::int[])",
            lot_ids,
        )


async def vacuum(connection: asyncpg.Connection) -> None:
    await connection.execute("VACUUM (ANALYZE) lots, inspections, decision_events")


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def timed(phases: dict[str, float], name: str, function: Any) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

    return wrapper


async def import_once(context: ImportContext, content: bytes) -> tuple[float, dict[str, Any]]:
    async with context.sessionmaker() as session, session.begin():
        job = ImportJob(
            kind="inspections",
            format="csv",
            filename="bench.csv",
            sha256=hashlib.sha256(content).hexdigest(),
            sha256_claim=None,
            state="queued",
            forced=True,
            errors=[],
            created_by="bench",
            content=content,
        )
        session.add(job)
    started = time.perf_counter()
    await run_import(context, job.id)
    elapsed = time.perf_counter() - started
    async with context.sessionmaker() as session:
        done = await session.get(ImportJob, job.id)
        assert done is not None and done.state == "done", (done.state, done.errors[:3])
        return elapsed, dict(done.result or {})


async def main(lots: int, rows: int, runs: int) -> None:
    print(f"database {DATABASE}: migrating, ensuring {lots:,} lots", flush=True)
    await ensure_database()
    connection = await asyncpg.connect(f"{SERVER}/{DATABASE}")
    await ensure_lots(connection, lots)
    settings = Settings(database_url=URL)
    engine = make_engine(settings)
    context = ImportContext(make_sessionmaker(engine), policy_from_settings(settings), settings)
    phases: dict[str, float] = {}
    off_loop.read = timed(phases, "parse (thread)", off_loop.read)  # type: ignore[assignment]
    off_loop.validate = timed(phases, "validate rows (thread)", off_loop.validate)  # type: ignore[assignment]
    jobs_module.check_against_database = timed(
        phases, "database checks", jobs_module.check_against_database
    )  # type: ignore[assignment]
    jobs_module.apply_rows = timed(phases, "write transaction", jobs_module.apply_rows)  # type: ignore[assignment]
    apply_module.refresh_decisions = timed(
        phases, "  of which decisions", apply_module.refresh_decisions
    )  # type: ignore[assignment]
    copy_rates, import_rates = [], []
    await vacuum(connection)
    with tempfile.TemporaryDirectory() as folder:
        for run in range(1, runs + 1):
            path = Path(folder) / f"inspections-{run}.csv"
            lot_ids = await uninspected_lots(connection, rows)
            content = write_csv(path, lot_ids)
            marks = await high_water_marks(connection)
            print(f"run {run}: load average before {load()}", flush=True)
            copy_seconds = await copy_baseline(connection, path)
            phases.clear()
            import_seconds, result = await import_once(context, content)
            copy_rates.append(rows / copy_seconds)
            import_rates.append(rows / import_seconds)
            print(
                f"run {run}: COPY {copy_seconds:.2f} s ({rows / copy_seconds:,.0f} rows/s); "
                f"import {import_seconds:.2f} s ({rows / import_seconds:,.0f} rows/s); "
                f"{result['lots_decided']:,} lots decided, "
                f"{result['decision_events']:,} decision events",
                flush=True,
            )
            print("  " + json.dumps({k: round(v, 2) for k, v in phases.items()}), flush=True)
            print(f"  load average after {load()}", flush=True)
            await undo_run(connection, lot_ids, marks)
            await vacuum(connection)
    await connection.execute("DROP TABLE IF EXISTS bench_copy_inspections")
    await connection.close()
    await engine.dispose()
    copy_median, import_median = statistics.median(copy_rates), statistics.median(import_rates)
    print(
        f"\nmedian of {runs}: COPY {copy_median:,.0f} rows/s, import {import_median:,.0f} rows/s,"
        f" ratio {import_median / copy_median:.3f} (target >= 0.25); load average {load()}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    assert make_url(URL).database == DATABASE
    asyncio.run(main(arguments.lots, arguments.rows, arguments.runs))
