"""Paging a large collection to its end by Link headers, through a real server process.

    .venv/bin/python bench/paging.py --rows 200000

Uses ONLY the database ``lotgate_bench_paging`` on the server given by --server (created
if missing, migrated with Alembic, refilled when its audit record count differs from
--rows). A client follows ``Link: rel="next"`` from ``GET /api/v1/audit?limit=500`` to the
last page; printed: the median time of a page near the start and near the end (keyset
pages should cost the same anywhere), next to the floor measured in the same run: the
same keyset SQL sent by hand with asyncpg at the same positions, and, for contrast, the
OFFSET query a page at the end would need. The machine is shared (2 cores): expect noise;
the load average is printed.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from alembic import command

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.migrations_state import alembic_config  # noqa: E402
from tests.live.server import start_server  # noqa: E402 (the suite's server launcher)

DATABASE = "lotgate_bench_paging"
PAGE = 500
EDGE = 20  # pages measured at each end
COLUMNS = "id, at, actor, action, entity_type, entity_id, before, after"
KEYSET = f"SELECT {COLUMNS} FROM audit_records WHERE id < $1 ORDER BY id DESC LIMIT {PAGE + 1}"
OFFSET = f"SELECT {COLUMNS} FROM audit_records ORDER BY id DESC OFFSET $1 LIMIT {PAGE + 1}"


async def prepare(server: str, rows: int) -> None:
    admin = await asyncpg.connect(f"postgresql://{server}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    config = alembic_config(f"postgresql+asyncpg://{server}/{DATABASE}")
    config.attributes["configure_logging"] = False
    await asyncio.to_thread(command.upgrade, config, "head")
    connection = await asyncpg.connect(f"postgresql://{server}/{DATABASE}")
    try:
        if await connection.fetchval("SELECT count(*) FROM audit_records") != rows:
            await connection.execute("TRUNCATE audit_records RESTART IDENTITY")
            await connection.execute(
                "INSERT INTO audit_records (at, actor, action, entity_type, entity_id, after) "
                "SELECT now(), 'bench', 'supplier.update', 'supplier', (i % 5000)::text, "
                "json_build_object('name', 'Supplier ' || i, 'country', 'NL') "
                "FROM generate_series(1, $1) AS i",
                rows,
            )
            await connection.execute("ANALYZE audit_records")
    finally:
        await connection.close()


def follow(base_url: str, headers: dict[str, str]) -> tuple[list[float], list[int], int]:
    """Seconds per page, the id each page continued after, and the rows seen."""
    seconds, after, seen = [], [], 0
    last_id = 2**31 - 1  # above every id (an integer column)
    url: str | None = f"/api/v1/audit?limit={PAGE}"
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        while url is not None:
            started = time.perf_counter()
            response = client.get(url)
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()
            items = response.json()["items"]
            after.append(last_id)
            seen += len(items)
            last_id = items[-1]["id"] if items else last_id
            link = response.links.get("next")
            url = link["url"] if link else None
    return seconds, after, seen


async def floor(server: str, after: list[int]) -> tuple[list[float], list[float]]:
    """Per page, the keyset SQL by hand and the OFFSET SQL, at the same positions."""
    connection = await asyncpg.connect(f"postgresql://{server}/{DATABASE}")
    keyset, offset = [], []
    try:
        for page, last_id in enumerate(after):
            started = time.perf_counter()
            await connection.fetch(KEYSET, last_id)
            keyset.append(time.perf_counter() - started)
            started = time.perf_counter()
            await connection.fetch(OFFSET, page * PAGE)
            offset.append(time.perf_counter() - started)
    finally:
        await connection.close()
    return keyset, offset


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--server", default="postgres@127.0.0.1:5432")
    args = parser.parse_args()
    asyncio.run(prepare(args.server, args.rows))
    log_dir = ROOT / ".bench-logs"
    log_dir.mkdir(exist_ok=True)
    server = start_server(f"postgresql+asyncpg://{args.server}/{DATABASE}", log_dir)
    try:
        seconds, after, seen = follow(server.base_url, server.admin_headers)
    finally:
        server.stop()
    keyset, offset = asyncio.run(floor(args.server, after))
    assert seen == args.rows, (seen, args.rows)
    print(f"load average {os.getloadavg()[0]:.2f}; {seen} rows in {len(seconds)} pages of {PAGE}")
    print(f"{'median per page':24} {'first ' + str(EDGE):>12} {'last ' + str(EDGE):>12}")
    rows = (
        ("HTTP, following Link", seconds),
        ("floor: keyset SQL", keyset),
        ("contrast: OFFSET SQL", offset),
    )
    for name, values in rows:
        print(f"{name:24} {ms(values[:EDGE]):>12} {ms(values[-EDGE:]):>12}")
    ratio = statistics.median(seconds[-EDGE:]) / statistics.median(keyset[-EDGE:])
    print(f"HTTP / floor at the end: {ratio:.1f}x; whole walk {sum(seconds):.2f} s")


if __name__ == "__main__":
    main()
