"""Imports through HTTP on 1,000,000 lots: upload to `done`, next to the same database
changes by plain SQL; and how the server answers while a large import runs.

    .venv/bin/python bench/import_http.py [--rows 100000] [--runs 3] [--latency-rows 200000]

Starts the API (uvicorn, one worker, the import worker inside it as by default) on the
PostgreSQL database lotgate_bench_import (1,000,000 lots; built by bench/import_inspections.py
or the seed), then:

1. Import, per run: a CSV of `rows` lab results for distinct random lots, posted to
   POST /api/v1/imports (multipart, one file), timed from the first byte of the upload to
   the moment GET /api/v1/imports/{id} shows `done` (polled every 0.25 s).
   Floor, same run: the changes that import made (captured into temporary tables, not
   timed) applied again by plain SQL in one transaction: lock the lots (SELECT ... FOR
   UPDATE), UPDATE the decision columns of those whose columns changed, INSERT the
   inspections and the decision events; then rolled back. The import is undone too (not
   timed: its rows deleted, the lots' decision columns, switching states and dashboard
   rollups restored from a snapshot, then VACUUM of every table it touched), so runs
   repeat.
   With --separate-worker the API runs no import worker (LOTGATE_IMPORT_WORKER_IN_API=false)
   and a `lotgate worker` process does the imports.
2. Latency: GET /healthz and GET /api/v1/lots/{id} polled one after the other by one client
   for 10 s with no import, then during an import of `latency_rows` rows (upload to done);
   p50/p99/max of each. Undone as above.

The machine has 2 cores shared with others: expect noise; the load average is printed.
"""

import argparse
import asyncio
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from import_inspections import lab_results_csv  # bench/ is on the path when run as a script
from serving import uvicorn_command

from app.auth.keys import ensure_key
from app.auth.models import Role
from app.config import Settings
from app.db import make_engine, make_sessionmaker

DATABASE = os.environ.get("BENCH_DATABASE", "lotgate_bench_import")
DSN = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"
ROOT = Path(__file__).resolve().parent.parent
# The API process answering these polls also runs the import job (one GIL): polls every
# 0.25 s (not 50 ms) take less from the job; `done` is seen at most 0.25 s late.
POLL_SECONDS = 0.25
LOG = Path(tempfile.gettempdir()) / "bench-import-http.log"  # the server's output
# What an import of lab results changes on a lot (decisions.service.redecide's columns).
DECISION_COLUMNS = (
    "status",
    "disposition",
    "reasons",
    "reason_codes",
    "allowed_uses",
    "to_recall",
    "to_return",
    "releasable",
    "policy_version",
    "decision_valid_until",
    "decided_at",
    "inspection_accepted",
)
SNAPSHOT_TABLES = (
    "source_quality",
    "lot_totals",
    "lot_product_totals",
    "lot_reason_totals",
    "lot_weekly",
    "lot_period_totals",
    "lot_period_reasons",
)


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def random_lots(connection: asyncpg.Connection, rows: int) -> list[int]:
    """Distinct lots, inspected before or not (a seeded database has inspected most)."""
    ids = await connection.fetch(
        "SELECT id FROM lots WHERE quantity >= 20 ORDER BY random() LIMIT $1", rows
    )
    if len(ids) < rows:
        raise SystemExit(f"only {len(ids)} lots; the benchmark needs {rows}")
    return sorted(r[0] for r in ids)


@dataclass
class Marks:
    inspections: int
    events: int
    audit: int


async def vacuum(connection: asyncpg.Connection) -> None:
    """The tables an import and its undo leave dead rows in (this server runs without
    autovacuum): without it every later run would write past more of them."""
    tables = ", ".join(["lots", "inspections", "decision_events", *await rollup_tables(connection)])
    await connection.execute(f"VACUUM (ANALYZE) {tables}")


async def rollup_tables(connection: asyncpg.Connection) -> list[str]:
    """The SNAPSHOT_TABLES this database has (the period rollups came with 0014)."""
    names = await connection.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_name = ANY($1::text[])",
        list(SNAPSHOT_TABLES),
    )
    return sorted(row[0] for row in names)


async def snapshot(connection: asyncpg.Connection, lot_ids: list[int]) -> Marks:
    """What an undo needs: the lots' decision columns, small tables, the id high-water marks."""
    columns = ", ".join(DECISION_COLUMNS)
    await connection.execute("DROP TABLE IF EXISTS bench_lots_before")
    await connection.execute(
        f"CREATE TEMPORARY TABLE bench_lots_before AS SELECT id, {columns} FROM lots "
        "WHERE id = ANY($1::int[])",
        lot_ids,
    )
    for table in await rollup_tables(connection):
        await connection.execute(f"DROP TABLE IF EXISTS bench_{table}_before")
        await connection.execute(f"CREATE TEMPORARY TABLE bench_{table}_before AS TABLE {table}")
    values = []
    for table in ("inspections", "decision_events", "audit_records"):
        values.append(await connection.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}"))
    return Marks(*values)


async def capture(connection: asyncpg.Connection, marks: Marks) -> None:
    """The import's changes, kept to be applied again by plain SQL (the floor)."""
    columns = ", ".join(f"l.{name}" for name in DECISION_COLUMNS)
    changed = " OR ".join(
        f"l.{name}::text IS DISTINCT FROM b.{name}::text" for name in DECISION_COLUMNS
    )
    for statement in (
        "DROP TABLE IF EXISTS bench_new_inspections, bench_new_events, bench_new_lots",
        f"CREATE TEMPORARY TABLE bench_new_inspections AS "
        f"SELECT * FROM inspections WHERE id > {marks.inspections}",
        f"CREATE TEMPORARY TABLE bench_new_events AS "
        f"SELECT * FROM decision_events WHERE id > {marks.events}",
        # The lots the import changed (it leaves a lot whose decision columns would not
        # change unwritten).
        f"CREATE TEMPORARY TABLE bench_new_lots AS SELECT l.id, {columns} "
        f"FROM lots l JOIN bench_lots_before b USING (id) WHERE {changed}",
        "ANALYZE bench_new_inspections, bench_new_events, bench_new_lots",
    ):
        await connection.execute(statement)


async def undo(connection: asyncpg.Connection, marks: Marks) -> None:
    assignments = ", ".join(f"{name} = b.{name}" for name in DECISION_COLUMNS)
    async with connection.transaction():
        await connection.execute("DELETE FROM inspections WHERE id > $1", marks.inspections)
        await connection.execute("DELETE FROM decision_events WHERE id > $1", marks.events)
        await connection.execute("DELETE FROM audit_records WHERE id > $1", marks.audit)
        await connection.execute(
            f"UPDATE lots l SET {assignments} FROM bench_lots_before b WHERE l.id = b.id"
        )
        for table in await rollup_tables(connection):
            await connection.execute(f"DELETE FROM {table}")
            await connection.execute(f"INSERT INTO {table} TABLE bench_{table}_before")
    await vacuum(connection)


async def floor(connection: asyncpg.Connection) -> float:
    """The captured changes by plain SQL in one transaction, rolled back; seconds."""
    assignments = ", ".join(f"{name} = s.{name}" for name in DECISION_COLUMNS)
    steps = {
        "lock": "SELECT l.id FROM lots l JOIN bench_lots_before s USING (id) ORDER BY l.id "
        "FOR UPDATE OF l",
        "update lots": f"UPDATE lots l SET {assignments} FROM bench_new_lots s WHERE l.id = s.id",
        "insert inspections": "INSERT INTO inspections TABLE bench_new_inspections",
        "insert events": "INSERT INTO decision_events TABLE bench_new_events",
    }
    took: dict[str, float] = {}
    transaction = connection.transaction()
    await transaction.start()
    try:
        for name, statement in steps.items():
            started = time.perf_counter()
            status = await connection.execute(statement)
            took[name] = time.perf_counter() - started
            if name == "update lots":
                updated = int(status.split()[-1])
                hot = await connection.fetchval(
                    "SELECT pg_stat_get_xact_tuples_hot_updated('lots'::regclass)"
                )
    finally:
        await transaction.rollback()
    await vacuum(connection)
    split = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in took.items())
    print(f"  floor: {split} ({updated:,} lots changed, {hot:,} of them HOT)", flush=True)
    return sum(took.values())


@dataclass
class Import:
    accepted_after: float  # seconds from the upload's start to its 202
    done_after: float  # seconds from the upload's start to `done`
    result: dict[str, Any]


async def import_over_http(client: httpx.AsyncClient, content: bytes) -> Import:
    started = time.perf_counter()
    response = await client.post(
        "/api/v1/imports",
        data={"kind": "inspections", "force": "true"},
        files={"file": ("inspections.csv", content, "text/csv")},
    )
    accepted = time.perf_counter() - started
    if response.status_code != 202:
        raise SystemExit(f"upload answered {response.status_code}: {response.text[:500]}")
    location = response.headers["location"]
    while True:
        job = (await client.get(location)).json()
        if job["state"] == "done":
            return Import(accepted, time.perf_counter() - started, job["result"])
        if job["state"] == "failed":
            raise SystemExit(f"the import failed: {job['errors'][:5]}")
        await asyncio.sleep(POLL_SECONDS)


@dataclass
class Latencies:
    samples: dict[str, list[float]] = field(default_factory=dict)

    def line(self, label: str) -> str:
        parts = []
        for name, values in self.samples.items():
            ordered = sorted(values)
            p50 = ordered[len(ordered) // 2] * 1000
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
            parts.append(
                f"{name} n={len(ordered)} p50 {p50:.1f} ms p99 {p99:.1f} ms "
                f"max {ordered[-1] * 1000:.1f} ms"
            )
        return f"{label}: " + "; ".join(parts)


async def poll_while(
    client: httpx.AsyncClient, lot_ids: list[int], until: Callable[[], bool]
) -> Latencies:
    """GET /healthz then GET a random lot, over and over, until ``until()``."""
    result = Latencies({"/healthz": [], "GET /lots/{id}": []})
    rng = random.Random(7)
    while not until():
        for name, path in (
            ("/healthz", "/healthz"),
            ("GET /lots/{id}", f"/api/v1/lots/{rng.choice(lot_ids)}"),
        ):
            started = time.perf_counter()
            response = await client.get(path)
            result.samples[name].append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        await asyncio.sleep(0.01)
    return result


async def latency_under_import(
    client: httpx.AsyncClient, reader: httpx.AsyncClient, connection: asyncpg.Connection, rows: int
) -> None:
    lot_ids = await random_lots(connection, rows)
    content = lab_results_csv(lot_ids)
    idle_until = time.monotonic() + 10
    idle = await poll_while(reader, lot_ids, lambda: time.monotonic() > idle_until)
    print(idle.line("no import"), flush=True)
    marks = await snapshot(connection, lot_ids)
    task = asyncio.create_task(import_over_http(client, content))
    busy = await poll_while(reader, lot_ids, task.done)
    outcome = await task
    print(
        busy.line(f"during a {rows:,}-row import ({outcome.done_after:.1f} s)")
        + f"; load average {load()}",
        flush=True,
    )
    await undo(connection, marks)


async def prepare_keys(writer: str, reader: str) -> None:
    engine = make_engine(Settings(database_url=URL), URL)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await ensure_key(
                session, name="bench (import_http.py)", role=Role.inspector, key=writer
            )
            await ensure_key(
                session, name="bench reader (import_http.py)", role=Role.viewer, key=reader
            )
    finally:
        await engine.dispose()


async def wait_ready(base_url: str, server: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(600):
            if server.returncode is not None:
                raise SystemExit(f"uvicorn exited with {server.returncode}; see {LOG}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not become ready")


async def with_server(work: Callable[[str], Awaitable[None]], separate_worker: bool) -> None:
    """The API; with ``separate_worker`` its imports run in a `lotgate worker` process."""
    port = 18_000 + secrets.randbelow(2_000)
    env = {"LOTGATE_LOG_LEVEL": "WARNING", **os.environ, "LOTGATE_DATABASE_URL": URL}
    processes = []
    with LOG.open("wb") as output:
        if separate_worker:
            env["LOTGATE_IMPORT_WORKER_IN_API"] = "false"
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "app.cli",
                    "worker",
                    cwd=ROOT,
                    env=env,
                    stdout=output,
                    stderr=output,
                )
            )
        server = await asyncio.create_subprocess_exec(
            *uvicorn_command(port, quiet=False),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
        processes.append(server)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", server)
        await work(f"http://127.0.0.1:{port}")
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
            await process.wait()


async def main(rows: int, runs: int, latency_rows: int, separate_worker: bool) -> None:
    writer, reader_key = ("lg_bench_" + secrets.token_urlsafe(24) for _ in range(2))
    await prepare_keys(writer, reader_key)
    connection = await asyncpg.connect(DSN)
    lots = await connection.fetchval("SELECT count(*) FROM lots")
    where = "a separate `lotgate worker` process" if separate_worker else "the API process"
    print(f"{DATABASE}: {lots:,} lots; imports run in {where}; load average {load()}")
    await vacuum(connection)

    async def work(base_url: str) -> None:
        async with (
            httpx.AsyncClient(
                base_url=base_url, headers={"Authorization": f"Bearer {writer}"}, timeout=600
            ) as client,
            httpx.AsyncClient(
                base_url=base_url, headers={"Authorization": f"Bearer {reader_key}"}, timeout=60
            ) as reader,
        ):
            ratios, imports, floors = [], [], []
            for run in range(1, runs + 1):
                lot_ids = await random_lots(connection, rows)
                content = lab_results_csv(lot_ids)
                marks = await snapshot(connection, lot_ids)
                print(f"run {run}: {len(content):,} bytes; load average {load()}", flush=True)
                outcome = await import_over_http(client, content)
                await capture(connection, marks)
                await undo(connection, marks)
                floor_seconds = await floor(connection)
                imports.append(outcome.done_after)
                floors.append(floor_seconds)
                ratios.append(outcome.done_after / floor_seconds)
                print(
                    f"run {run}: HTTP import {outcome.done_after:.2f} s (202 after "
                    f"{outcome.accepted_after:.2f} s; {outcome.result['lots_decided']:,} lots "
                    f"decided, {outcome.result['decision_events']:,} events); floor by SQL "
                    f"{floor_seconds:.2f} s; ratio {ratios[-1]:.2f}",
                    flush=True,
                )
            if runs:
                print(
                    f"median of {runs}: HTTP import {statistics.median(imports):.2f} s, floor "
                    f"{statistics.median(floors):.2f} s, ratio {statistics.median(ratios):.2f} "
                    f"(target <= 2); load average {load()}",
                    flush=True,
                )
            if latency_rows:
                await latency_under_import(client, reader, connection, latency_rows)

    try:
        await with_server(work, separate_worker)
    finally:
        await connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-rows", type=int, default=200_000, help="0: skip")
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="LOTGATE_IMPORT_WORKER_IN_API=false and a `lotgate worker` process",
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.rows, arguments.runs, arguments.latency_rows, arguments.separate_worker)
    )
