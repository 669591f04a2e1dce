"""PgBouncer (transaction mode) against a direct connection: the same API, the same run.

    .venv/bin/python bench/pooler.py                    # lotgate_bench_dash, 3 rounds
    .venv/bin/python bench/pooler.py --rounds 5 --seconds 8

Starts a PgBouncer of its own (ops/pgbouncer.sh) on a free loopback port in front of the
PostgreSQL server. Round after round (alternating which goes first) it starts the API
(uvicorn, one worker, answer cache off so every list is computed) connected directly,
then through PgBouncer with LOTGATE_DATABASE_POOLER=pgbouncer (no statement cache; read
requests in a transaction), one at a time, and drives GET /lots/{id} and a dashboard list
with --clients keep-alive clients (bench/load.py's driver). It prints req/s, p50 and p99
(medians over the rounds) next to two floors measured in the same rounds: GET /healthz
(no database) and the raw driver (asyncpg, one connection per client, the lot's row by
primary key) directly and through the same PgBouncer.
"""

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import uvloop
from load import ROOT, Connection, Result, cpu_probe, drive, prepare
from serving import uvicorn_command
from sqlalchemy import make_url

from app.quality.products import PRODUCT_CODES

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/lotgate_bench_dash"
LOG_DIR = Path(tempfile.gettempdir())
RAW_QUERY = "SELECT id, lot_number, status, quantity FROM lots WHERE id = $1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def with_port(url: str, port: int) -> str:
    return make_url(url).set(port=port).render_as_string(hide_password=False)


def start_pgbouncer(server_url: str, pool_size: int) -> tuple[Path, int]:
    directory = Path(tempfile.mkdtemp(prefix="lotgate-bench-pgbouncer-"))
    directory.chmod(0o755)
    port = free_port()
    server = make_url(server_url)
    env = {
        **os.environ,
        "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin",
        "PGBOUNCER_POOL_SIZE": str(pool_size),
    }
    subprocess.run(  # noqa: S603 - our own script, arguments we made
        [
            str(ROOT / "ops" / "pgbouncer.sh"),
            str(directory),
            str(port),
            server.host or "127.0.0.1",
            str(server.port or 5432),
        ],
        check=True,
        env=env,
    )
    return directory, port


async def start_api(
    port: int, database_url: str, extra: dict[str, str], log: Path
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "LOTGATE_DATABASE_URL": database_url,
        "LOTGATE_ANSWER_CACHE_ENTRIES": "0",
        **extra,
    }
    server = await asyncio.create_subprocess_exec(
        *uvicorn_command(port),
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
    )
    for _ in range(1200):  # start-up takes a while on a loaded machine
        if server.returncode is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode}; its log: {log}")
        with contextlib.suppress(OSError):
            if await Connection("127.0.0.1", port, "-").get("/readyz") == 200:
                return server
        await asyncio.sleep(0.1)
    server.terminate()
    await server.wait()
    raise SystemExit("the API did not become ready")


async def connect(dsn: str, statement_cache_size: int) -> asyncpg.Connection:
    """A connection, waiting while the server has none to spare (it is shared)."""
    for _ in range(100):
        try:
            return await asyncpg.connect(dsn, statement_cache_size=statement_cache_size)
        except asyncpg.TooManyConnectionsError:
            await asyncio.sleep(0.5)
    raise SystemExit("the server never had a connection to spare")


async def raw_driver(
    name: str, dsn: str, ids: Sequence[int], clients: int, seconds: float
) -> Result:
    """The floor: one row by primary key with asyncpg alone, one connection per client."""
    result = Result(name)
    through_pooler = "pgbouncer" in name
    connections = [
        await connect(dsn, statement_cache_size=0 if through_pooler else 100)
        for _ in range(clients)
    ]
    deadline = 0.0

    async def client(connection: asyncpg.Connection, number: int) -> None:
        rng = random.Random(number)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await connection.fetchrow(RAW_QUERY, ids[rng.randrange(len(ids))])
            result.latencies.append(time.perf_counter() - started)

    try:
        deadline = time.perf_counter() + min(2.0, seconds / 3)
        await asyncio.gather(*(client(c, n) for n, c in enumerate(connections)))
        result.latencies.clear()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(client(c, n) for n, c in enumerate(connections)))
        result.seconds = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return result


def report(rounds: list[list[Result]]) -> None:
    median = statistics.median
    print(
        f"\n{'median of ' + str(len(rounds)) + ' rounds':<52} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'err':>4}"
    )
    for runs in zip(*rounds, strict=True):
        print(
            f"{runs[0].name:<52} {median(r.rate for r in runs):>8.0f} "
            f"{median(r.percentile(0.5) for r in runs):>8.1f} "
            f"{median(r.percentile(0.99) for r in runs):>8.1f} {sum(r.errors for r in runs):>4}"
        )
    by_name = {runs[0].name: runs for runs in zip(*rounds, strict=True)}
    print("\nPgBouncer / direct, req/s (median of the per-round ratios):")
    for direct_name, runs in by_name.items():
        if not direct_name.endswith("direct"):
            continue
        pooled = by_name[direct_name.removesuffix("direct") + "pgbouncer"]
        ratios = [p.rate / d.rate for p, d in zip(pooled, runs, strict=True) if d.rate]
        print(f"  {direct_name.removesuffix(', direct'):<50} {median(ratios):.2f}")
    print(f"\nload average after: {statistics.fmean(os.getloadavg()):.2f} (a shared machine)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=16, help="PgBouncer's server pool")
    args = parser.parse_args()
    if shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin") is None:
        raise SystemExit("pgbouncer is not installed (Debian: apt-get install pgbouncer)")

    # Fixed keys: runs against a shared bench database add two api_keys rows, once.
    key = "lg_bench_pooler_reader_4f1c9e2a7b"
    lots, ids, _supplier = await prepare(
        args.database_url, key, "lg_bench_pooler_writer_8d3b6a1f0c"
    )
    bouncer_dir, bouncer_port = start_pgbouncer(args.database_url, args.pool_size)
    rng = random.Random(3)
    lists = [
        f"/api/v1/lots?product={product}&status={status}&limit=50"
        for product in PRODUCT_CODES
        for status in ("rejected", "on_hold", "accepted")
    ]
    rng.shuffle(lists)
    scenarios = (
        ("GET /healthz (no database)", ["/healthz"]),
        ("GET /lots/{id}", [f"/api/v1/lots/{i}" for i in ids]),
        ("GET /lots?product=&status=&limit=50", lists),
    )
    pooled = {
        "LOTGATE_DATABASE_URL": with_port(args.database_url, bouncer_port),
        "LOTGATE_DATABASE_POOLER": "pgbouncer",
        "LOTGATE_DATABASE_DIRECT_URL": args.database_url,
    }
    # One API at a time, stopped before the raw driver runs: the server's connection
    # limit is shared with everything else on the machine.
    apis: dict[str, dict[str, str]] = {"direct": {}, "pgbouncer": pooled}
    raw_dsn = make_url(args.database_url).set(drivername="postgresql")
    dsns = {
        "direct": raw_dsn.render_as_string(hide_password=False),
        "pgbouncer": raw_dsn.set(port=bouncer_port).render_as_string(hide_password=False),
    }
    print(
        f"{lots:,} lots; {args.clients} clients; {args.seconds:.0f} s per measurement; "
        f"API pool {args.clients} (+{args.clients // 2}); PgBouncer pool {args.pool_size}; "
        f"answer cache off; {os.cpu_count()} cores shared by driver, API, PgBouncer and "
        f"PostgreSQL; load average before: {os.getloadavg()[0]:.2f}"
    )
    database = make_url(args.database_url).database or ""
    rounds: list[list[Result]] = []
    try:
        for number in range(args.rounds):
            order = ["direct", "pgbouncer"] if number % 2 == 0 else ["pgbouncer", "direct"]
            results: dict[str, Result] = {}
            for route in order:
                port = free_port()
                env = {"LOTGATE_DB_POOL_SIZE": str(args.clients), **apis[route]}
                server = await start_api(
                    port, args.database_url, env, LOG_DIR / f"lotgate-bench-pooler-{route}.log"
                )
                try:
                    probe = cpu_probe(server.pid, database)
                    for label, paths in scenarios:
                        name = f"{label}, {route}"
                        results[name] = await drive(
                            name, paths, args.clients, args.seconds, port, key, probe
                        )
                finally:
                    server.terminate()
                    await asyncio.wait_for(server.wait(), timeout=30)
                name = f"raw asyncpg, one row by id, {route}"
                results[name] = await raw_driver(name, dsns[route], ids, args.clients, args.seconds)
            rounds.append([results[name] for name in sorted(results)])
        report(rounds)
    finally:
        pid = int((bouncer_dir / "pgbouncer.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        shutil.rmtree(bouncer_dir, ignore_errors=True)


if __name__ == "__main__":
    uvloop.run(main())
