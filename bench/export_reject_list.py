"""Reject list export against PostgreSQL COPY, through the real app in a uvicorn process.

    .venv/bin/python bench/export_reject_list.py --rows 100000
    .venv/bin/python bench/export_reject_list.py --rows 1000000

Uses ONLY the database ``lotgate_bench_export`` on the server given by --server
(created if missing, migrated with Alembic, refilled when its lot count differs
from --rows). Each lot is rejected, with one certificate and two inspections, so
the per-lot subqueries have work to do.

Per run (median of --repeat, export and COPY interleaved): the app's CSV export
over HTTP (rows/s, time to first byte, peak RSS growth of the server process from
/proc VmHWM) and, as the baseline, ``COPY (the same SELECT) TO STDOUT WITH CSV``
via asyncpg's copy_from_query. The machine is shared (2 cores): expect noise; the
load average is printed.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from alembic import command
from sqlalchemy.dialects import postgresql

from app.exports.reject_list import RejectListFilters, reject_list_query
from app.migrations_state import alembic_config

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "lotgate_bench_export"
ADMIN_KEY = "lg_bench_export_admin_key_not_secret_0123456789"
BATCH = 50_000
REASONS = json.dumps(
    [
        {
            "code": "critical_failure",
            "severity": "critical",
            "message": "filtration 81.0 % against >= 94 %; inward leakage 25.0 % against <= 8 %",
            "evidence": {"filtration_efficiency_pct": 81.0},
        },
        {
            "code": "whole_lot_rejected",
            "severity": "critical",
            "message": "Whole lot rejected: recall 0 units from sites and return 10000 on hand",
            "evidence": {},
        },
    ]
)


def dsn(server: str, database: str) -> str:
    return f"postgresql://{server}/{database}"


async def ensure_database(server: str) -> None:
    admin = await asyncpg.connect(dsn(server, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()


def migrate(server: str) -> None:
    config = alembic_config(f"postgresql+asyncpg://{server}/{DATABASE}")
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


async def fill(server: str, rows: int) -> None:
    """Bulk-load ``rows`` rejected lots with COPY, unless they are already there."""
    connection = await asyncpg.connect(dsn(server, DATABASE))
    try:
        if await connection.fetchval("SELECT count(*) FROM lots") == rows:
            print(f"database already holds {rows} lots")
            return
        started = time.perf_counter()
        tables = "inspections, certificates, decision_events, lots, source_quality, suppliers"
        await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        now = datetime.now(UTC)
        await connection.copy_records_to_table(
            "suppliers",
            records=[
                (1, 'Shenzhen "Example", Medical', "CN", '["manufacturer"]', now),
                (2, '=HYPERLINK("http://x")', "CN", '["manufacturer"]', now),
            ],
            columns=["id", "name", "country", "roles", "created_at"],
        )
        received = datetime(2020, 3, 21, 9, tzinfo=UTC)
        for start in range(1, rows + 1, BATCH):
            ids = range(start, min(start + BATCH, rows + 1))
            await connection.copy_records_to_table(
                "lots",
                records=[
                    (
                        i, f"LOT-{i:08d}", 1 + i % 2, 1, "KN95", "FFP2", 10_000, "pieces",
                        received + timedelta(minutes=i), False, now,
                        0, 0, 0, 0, 0,
                        "rejected", "return_to_supplier", 0, 10_000, 0, REASONS, "[]",
                        now - timedelta(seconds=rows - i), "2026-11-default", None,
                        "normal", False, False,
                    )
                    for i in ids
                ],
                columns=[
                    "id", "lot_number", "supplier_id", "manufacturer_id", "product",
                    "ordered_as", "quantity", "unit", "received_at", "ear_loops", "created_at",
                    "distributed", "site_returned", "site_destroyed", "site_consumed",
                    "returned_to_supplier", "status", "disposition", "to_recall", "to_return",
                    "releasable", "reasons", "allowed_uses", "decided_at", "policy_version",
                    "decision_valid_until", "severity", "supplier_discontinued",
                    "inspection_accepted",
                ],
            )  # fmt: skip
            await connection.copy_records_to_table(
                "certificates",
                records=[
                    (i, i, "test_report", f"GB2626-{i}", "Guangzhou", "unverified", now)
                    for i in ids
                ],
                columns=["id", "lot_id", "type", "number", "issuer", "verification", "created_at"],
            )
            await connection.copy_records_to_table(
                "inspections",
                records=[
                    (
                        2 * i - k, i, "lab", 20, received + timedelta(days=3 + k), "Lab",
                        f"R-{i}-{k}", k == 1, "{}", "{}", now,
                    )
                    for i in ids
                    for k in (0, 1)
                ],
                columns=[
                    "id", "lot_id", "kind", "sample_size", "performed_at", "inspector",
                    "report_number", "confirms", "defects", "measurements", "created_at",
                ],
            )  # fmt: skip
        for table in ("suppliers", "lots", "certificates", "inspections"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await connection.execute("VACUUM ANALYZE lots")
        await connection.execute("ANALYZE certificates")
        await connection.execute("ANALYZE inspections")
        elapsed = time.perf_counter() - started
        print(f"loaded {rows} lots (+certificates, inspections) in {elapsed:.1f} s")
    finally:
        await connection.close()


def copy_sql() -> str:
    query = reject_list_query(RejectListFilters(), "postgresql")
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


async def copy_baseline(server: str) -> tuple[float, int]:
    received = 0

    async def sink(data: bytes) -> None:
        nonlocal received
        received += len(data)

    connection = await asyncpg.connect(dsn(server, DATABASE))
    try:
        started = time.perf_counter()
        await connection.copy_from_query(copy_sql(), output=sink, format="csv", header=True)
        return time.perf_counter() - started, received
    finally:
        await connection.close()


def proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def export_once(base_url: str) -> tuple[float, float, int, int]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    timeout = httpx.Timeout(600.0)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout) as client:
        started = time.perf_counter()
        first_byte = None
        size = lines = 0
        async with client.stream("GET", "/api/v1/exports/reject-list") as response:
            response.raise_for_status()
            async for piece in response.aiter_raw():
                size += len(piece)
                lines += piece.count(b"\n")  # the bench data has no line breaks in cells
                if first_byte is None and lines >= 2:  # the header and a first data row
                    first_byte = time.perf_counter() - started
        return time.perf_counter() - started, first_byte or 0.0, size, lines - 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(server: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LOTGATE_DATABASE_URL": f"postgresql+asyncpg://{server}/{DATABASE}",
        "LOTGATE_ADMIN_KEY": ADMIN_KEY,
    }
    bin_dir = Path(sys.executable).parent
    bootstrap = [bin_dir / "lotgate", "bootstrap"]
    subprocess.run(bootstrap, env=env, check=True, capture_output=True)  # noqa: S603
    return subprocess.Popen(  # noqa: S603
        [
            bin_dir / "uvicorn", "app.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ],
        env=env,
        cwd=ROOT,
    )  # fmt: skip


async def wait_ready(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(200):
            try:
                if (await client.get("/health")).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server", default="postgres@127.0.0.1:5432")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()

    await ensure_database(args.server)
    await asyncio.to_thread(migrate, args.server)
    await fill(args.server, args.rows)

    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_server(args.server, port)
    try:
        await wait_ready(base_url)
        await export_once(base_url)  # warm-up: imports, pool, plan cache
        exports, growth, copies = [], [], []
        load_before = os.getloadavg()
        for _ in range(args.repeat):  # interleaved, so drifting load hits both alike
            baseline_rss = proc_kib(server.pid, "VmRSS")
            reset_peak(server.pid)
            exports.append(await export_once(base_url))
            growth.append(proc_kib(server.pid, "VmHWM") - baseline_rss)
            copies.append(await copy_baseline(args.server))
        load_after = os.getloadavg()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)

    export_s = statistics.median(e[0] for e in exports)
    ttfb_ms = statistics.median(e[1] for e in exports) * 1000
    rows = exports[0][3]
    copy_s = statistics.median(c[0] for c in copies)
    assert rows == args.rows, f"exported {rows} rows, expected {args.rows}"
    print(f"rows: {rows}   (median of {args.repeat}; shared 2-core machine, expect noise)")
    print(
        "load average (1, 5, 15 min) before: "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "  after: "
        + ", ".join(f"{x:.2f}" for x in load_after)
    )
    print(
        f"app export (HTTP, CSV): {export_s:.2f} s  {rows / export_s:,.0f} rows/s  "
        f"first row {ttfb_ms:.0f} ms  {exports[0][2] / 1e6:.1f} MB"
    )
    print(
        f"COPY TO STDOUT (CSV):   {copy_s:.2f} s  {rows / copy_s:,.0f} rows/s  "
        f"{copies[0][1] / 1e6:.1f} MB"
    )
    print(f"ratio export/COPY: {export_s / copy_s:.2f}x")
    print(
        "server peak RSS growth per export (KiB): "
        + ", ".join(str(g) for g in growth)
        + f"  (median {statistics.median(growth) / 1024:.1f} MiB)"
    )


if __name__ == "__main__":
    asyncio.run(main())
