"""Summary benchmark: GET /dashboard/summary (and scorecards) uncached for a fixed set of
filter combinations, each beside one hand-written SQL query computing the same totals
over the lots in the same run.

    .venv/bin/python bench/summary.py                       # lotgate_bench_rollup
    .venv/bin/python bench/summary.py --requests 30 --only received

Starts the API with uvicorn (one worker, answer cache off: LOTGATE_ANSWER_CACHE_ENTRIES=0)
against a seeded PostgreSQL database, then for each combination sends --requests
requests one after the other, each with a query string of its own, and prints p50 and
p99. The floor beside it is the median time of one SQL query (asyncpg, no framework)
grouping the same lots by status and disposition with the same sums: what any answer
computed from the lots at request time costs at least. The API's lot count is checked
against that query's.
"""

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import uvloop
from load import Connection, wait_ready  # bench/ is on sys.path when run as a script
from serving import uvicorn_command
from sqlalchemy import make_url

from app.auth.keys import ensure_key
from app.auth.models import Role
from app.config import Settings
from app.db import make_engine, make_sessionmaker

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/lotgate_bench_rollup"
ROOT = Path(__file__).resolve().parent.parent

# Seeded lots arrive from 2020-03-01 to 2025-12-01 (app/seed/generate.py).
MONTH = {"received_from": "2025-10-01T00:00:00Z", "received_to": "2025-11-01T00:00:00Z"}
ODD_MONTH = {"received_from": "2025-09-14T13:27:41Z", "received_to": "2025-10-19T08:05:13Z"}
QUARTER = {"received_from": "2025-07-01T00:00:00Z", "received_to": "2025-10-01T00:00:00Z"}
YEAR = {"received_from": "2024-01-01T00:00:00Z", "received_to": "2025-01-01T00:00:00Z"}
SINCE = {"received_from": "2021-06-17T10:30:00Z"}
UNTIL = {"received_to": "2023-02-02T16:45:00Z"}
EVERYTHING = {"received_from": "2020-01-01T00:00:00Z"}
HOURS = {"received_from": "2025-11-03T08:00:00Z", "received_to": "2025-11-03T17:00:00Z"}
DECIDED_MONTH = {"decided_from": "2025-10-01T00:00:00Z", "decided_to": "2025-11-01T00:00:00Z"}
DECIDED_SINCE = {"decided_from": "2022-03-09T12:00:00Z"}

Params = dict[str, Any]


def combinations(supplier: int, manufacturer: int) -> list[tuple[str, Params]]:
    """The fixed set: what dashboards ask, and what reads the rollups worst."""
    return [
        ("no filter", {}),
        ("product", {"product": "FFP2"}),
        ("status", {"status": "rejected"}),
        ("supplier", {"supplier_id": supplier}),
        ("received month", MONTH),
        ("received month, odd ends", ODD_MONTH),
        ("received quarter", QUARTER),
        ("received year", YEAR),
        ("received since (open end)", SINCE),
        ("received until (open start)", UNTIL),
        ("received since 2020 (everything)", EVERYTHING),
        ("received within one day", HOURS),
        ("received month + product", {**MONTH, "product": "KN95"}),
        ("received year + product", {**YEAR, "product": "KN95"}),
        ("received everything + product", {**EVERYTHING, "product": "SURGICAL_II"}),
        ("received month + status", {**MONTH, "status": "rejected"}),
        ("received year + 2 statuses", {**YEAR, "status": ["rejected", "suspect"]}),
        ("received quarter + disposition", {**QUARTER, "disposition": "recall_and_return"}),
        ("ordered_as", {"ordered_as": "FFP2"}),
        ("ordered_as + product", {"ordered_as": "FFP2", "product": "KN95"}),
        ("received year + ordered_as", {**YEAR, "ordered_as": "FFP2"}),
        ("received odd month + ordered_as + status", {**ODD_MONTH, "ordered_as": "FFP2"}),
        ("received month + supplier", {**MONTH, "supplier_id": supplier}),
        ("received everything + supplier", {**EVERYTHING, "supplier_id": supplier}),
        ("manufacturer", {"manufacturer_id": manufacturer}),
        ("manufacturer + received year", {**YEAR, "manufacturer_id": manufacturer}),
        ("q long prefix", {"q": "CN-2024-0071"}),
        ("q country-year prefix", {"q": "DE-2023"}),
        ("q country prefix", {"q": "TR"}),
        ("q country-decade prefix", {"q": "TR-202"}),
        ("q country prefix + received month", {**MONTH, "q": "CN"}),
        ("decided month", DECIDED_MONTH),
        ("decided since (open end)", DECIDED_SINCE),
        ("decided month + product", {**DECIDED_MONTH, "product": "FFP2"}),
        ("decided month + received quarter", {**DECIDED_MONTH, **QUARTER}),
        (
            "everything filtered at once",
            {
                **YEAR,
                **DECIDED_SINCE,
                "product": "KN95",
                "ordered_as": "FFP2",
                "status": "accepted",
            },
        ),
    ]


def sql_for(params: Params) -> tuple[str, list[Any]]:
    """One hand-written query: the summary's totals by status and disposition."""
    conditions, values = [], []

    def value(v: Any) -> str:
        values.append(v)
        return f"${len(values)}"

    statuses = params.get("status")
    if statuses:
        listed = [statuses] if isinstance(statuses, str) else statuses
        conditions.append(f"status = ANY({value(listed)}::text[])")
    for name in ("disposition", "supplier_id", "manufacturer_id", "product", "ordered_as"):
        if name in params:
            conditions.append(f"{name} = {value(params[name])}")
    for column, low, high in (
        ("received_at", "received_from", "received_to"),
        ("decided_at", "decided_from", "decided_to"),
    ):
        if low in params:
            conditions.append(f"{column} >= {value(_moment(params[low]))}")
        if high in params:
            conditions.append(f"{column} < {value(_moment(params[high]))}")
    if "q" in params:
        conditions.append(f"lot_number LIKE {value(params['q'] + '%')}")
    where = " AND ".join(conditions) or "true"
    return (
        "SELECT status, disposition, count(*), sum(quantity), sum(distributed),"
        " sum(site_returned), sum(site_destroyed), sum(site_consumed),"
        " sum(returned_to_supplier), sum(to_recall), sum(to_return), sum(releasable)"
        f" FROM lots WHERE {where} GROUP BY status, disposition",
        values,
    )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def floor(connection: Any, params: Params, repeats: int) -> tuple[float, int]:
    """Median seconds of the hand-written query, and the lots it counted."""
    query, values = sql_for(params)
    times, lots = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        rows = await connection.fetch(query, *values)
        times.append(time.perf_counter() - started)
        lots = sum(row[2] for row in rows)
    return statistics.median(times), lots


class Client(Connection):
    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def body(self, path: str) -> tuple[int, bytes]:
        """GET with the body kept (load.Connection reads and drops it)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.key}\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return int(head[9:12]), await self.reader.readexactly(length)


async def measure(
    client: Client, path: str, params: Params, requests: int, run: str
) -> tuple[list[float], dict[str, Any]]:
    """Latencies of ``requests`` requests, each with a query string of its own."""
    latencies, answer = [], {}
    for n in range(requests):
        # The summary takes any parameter; scorecards refuse unknown ones (the answer
        # cache is off either way).
        unique = {"bench": f"{run}-{n}"} if path.endswith("summary") else {}
        query = urlencode({**params, **unique}, doseq=True)
        started = time.perf_counter()
        status, body = await client.body(f"{path}?{query}")
        latencies.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"{path}?{query}: {status} {body[:300]!r}")
        answer = json.loads(body)
    return latencies, answer


async def prepare(database_url: str, key: str) -> tuple[int, int]:
    """A viewer key; a busy supplier and manufacturer to filter by."""
    engine = make_engine(Settings(database_url=database_url), database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await ensure_key(session, name="bench (summary.py)", role=Role.viewer, key=key)
            connection = await session.connection()
            supplier = await connection.exec_driver_sql(
                "SELECT supplier_id FROM lot_totals GROUP BY supplier_id"
                " ORDER BY sum(lots) DESC LIMIT 1"
            )
            manufacturer = await connection.exec_driver_sql(
                "SELECT manufacturer_id FROM lots WHERE manufacturer_id IS NOT NULL"
                " AND id < 20000 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
            return int(supplier.scalar_one()), int(manufacturer.scalar_one())
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--requests", type=int, default=20, help="per combination")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--only", action="append", metavar="TEXT")
    parser.add_argument("--scorecards", action="store_true", help="also GET /suppliers/scorecards")
    args = parser.parse_args()

    key = "lg_bench_" + secrets.token_urlsafe(24)
    supplier, manufacturer = await prepare(args.database_url, key)
    url = make_url(args.database_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    env = {
        **os.environ,
        "LOTGATE_DATABASE_URL": args.database_url,
        "LOTGATE_ANSWER_CACHE_ENTRIES": "0",
        # One request at a time: few connections (the server is shared).
        "LOTGATE_DB_POOL_SIZE": "2",
        "LOTGATE_IMPORT_WORKER_IN_API": "false",
    }
    server = await asyncio.create_subprocess_exec(
        *uvicorn_command(args.port),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    paths = ["/api/v1/dashboard/summary"] + (["/api/v1/suppliers/scorecards"] * args.scorecards)
    run = secrets.token_hex(3)
    database = None
    try:
        for attempt in range(3):  # up to a minute: start-up is slow on a loaded machine
            try:
                await wait_ready(args.port, server)
                break
            except SystemExit:
                if server.returncode is not None or attempt == 2:
                    raise
        client = Client("127.0.0.1", args.port, key)
        database = await asyncpg.connect(dsn)  # one for the run: the server is shared
        print(
            f"uvicorn 1 worker, answer cache off, {args.requests} requests per combination, "
            f"one after the other; {os.cpu_count()} cores shared; "
            f"load average before: {os.getloadavg()[0]:.2f}\n"
        )
        print(
            f"{'combination':<44} {'endpoint':<11} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'SQL ms':>7} {'lots':>9} {'same':>5}"
        )
        p50s, p99s = [], []
        for name, params in combinations(supplier, manufacturer):
            if args.only and not any(text in name for text in args.only):
                continue
            sql_seconds, sql_lots = await floor(database, params, 3)
            for path in paths:
                client.close()  # uvicorn drops a connection idle for 5 s (the floor's time)
                latencies, answer = await measure(client, path, params, args.requests, run)
                p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
                p50s.append(p50)
                p99s.append(p99)
                if path.endswith("summary"):
                    lots = answer["lots"]
                else:
                    lots = sum(card["lots_received"] for card in answer["items"])
                same = "yes" if lots == sql_lots or "scorecards" in path else "NO"
                print(
                    f"{name:<44} {path.rsplit('/', 1)[1][:11]:<11} {p50:>7.1f} {p99:>7.1f} "
                    f"{sql_seconds * 1000:>7.1f} {lots:>9,} {same:>5}"
                )
        print(
            f"\nover every combination: median p50 {statistics.median(p50s):.1f} ms, "
            f"worst p50 {max(p50s):.1f} ms, worst p99 {max(p99s):.1f} ms; "
            f"load average after: {os.getloadavg()[0]:.2f}"
        )
    finally:
        if database is not None:
            await database.close()
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)


if __name__ == "__main__":
    uvloop.run(main())
