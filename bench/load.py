"""Load benchmark: the dashboards' reads at 16 concurrent clients, against a no-database
baseline measured in the same run.

    .venv/bin/python bench/load.py                       # lotgate_bench_dash, 1 worker
    .venv/bin/python bench/load.py --workers 2 --seconds 15   # a worker per core
    .venv/bin/python bench/load.py --workers 2 --rounds 3     # medians of 3 rounds
    .venv/bin/python bench/load.py --only /lots       # the baseline and the lot reads only
    .venv/bin/python bench/load.py --writes-per-second 5   # reads while lots are written

Starts the API with uvicorn as a subprocess on 127.0.0.1 against a seeded PostgreSQL
database (make seed LOTS=1000000 LOTGATE_DATABASE_URL=...), then drives each endpoint
in turn for --seconds with --clients keep-alive connections: a minimal HTTP/1.1 client
on asyncio streams, so the driver costs as little CPU as possible -- it runs on the same
machine and shares its cores with the server and PostgreSQL. Prints requests/s, p50,
p99 and each endpoint's throughput as a ratio of GET /healthz (no database: the
framework's ceiling here). Then, since other work on the machine moves req/s a lot, the CPU
time each request cost the server processes, PostgreSQL's backends (Linux /proc) and the
driver.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from serving import uvicorn_command
from sqlalchemy import func, make_url, select

from app.auth.keys import ensure_key
from app.auth.models import Role
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.lots.models import Lot
from app.quality.products import PRODUCT_CODES

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/lotgate_bench_dash"
# The floor of a lot read: bench/raw_lot.py, its own uvicorn process, asyncpg alone.
RAW_LOT = "GET /lots/{id} raw asyncpg app (floor)"
RAW_PREFIX = "/raw/lots/"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # seconds: server, PostgreSQL, driver

    def cpu_ms_per_request(self, part: int) -> float:
        return self.cpu[part] * 1000 / len(self.latencies) if self.latencies else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


CpuProbe = Callable[[], tuple[float, float]]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0  # gone, or not Linux
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            pids.extend(_process_tree(int(child)))
    return pids


def _backends(database: str) -> list[int]:
    """PostgreSQL backend processes serving this database (their title names it)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            found.append(int(cmdline.parent.name))
    return found


def cpu_probe(server_pid: int, database: str) -> CpuProbe:
    """Seconds of CPU used so far by the server's processes and by the database's backends.

    A backend that exits between two probes (the pool closes overflow connections) takes
    its CPU time with it: the PostgreSQL figure is a lower bound.
    """
    seen: dict[int, float] = {}

    def probe() -> tuple[float, float]:
        server = sum(_cpu_seconds(pid) for pid in _process_tree(server_pid))
        for pid in _backends(database):
            seen[pid] = max(seen.get(pid, 0.0), _cpu_seconds(pid))
        return server, sum(seen.values())

    return probe


class Connection:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for uvicorn's answers."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        return await self.request(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.key}\r\n\r\n".encode()
        )

    async def post(self, path: str, body: bytes) -> int:
        return await self.request(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    async def request(self, message: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(message)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


@dataclass
class Writes:
    """Lots posted while the reads run, so that cached answers go stale as in real use."""

    per_second: float
    key: str
    supplier_id: int
    done: int = 0
    failed: int = 0

    async def run(self, connection: "Connection") -> None:
        products = itertools.cycle(PRODUCT_CODES)  # every product in turn, as in use
        while True:
            product = next(products)
            body = json.dumps(
                {
                    "lot_number": f"BENCH-{secrets.token_hex(8)}",
                    "supplier_id": self.supplier_id,
                    "product": product,
                    "ordered_as": product,
                    "quantity": 1000,
                    "received_at": datetime.now(UTC).isoformat(),
                }
            ).encode()
            if await connection.post("/api/v1/lots", body) == 201:
                self.done += 1
            else:
                self.failed += 1
            await asyncio.sleep(1 / self.per_second)


async def drive(
    name: str,
    paths: Sequence[str],
    clients: int,
    seconds: float,
    port: int,
    key: str,
    probe: CpuProbe,
    writes: Writes | None = None,
) -> Result:
    result = Result(name)
    deadline = 0.0

    async def client(connection: Connection, number: int) -> None:
        rng = random.Random(number)
        while time.perf_counter() < deadline:
            path = paths[rng.randrange(len(paths))]
            started = time.perf_counter()
            status = await connection.get(path)
            if status == 200:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    # Clients connect one after the other, as dashboards do, not in one burst: the first
    # worker to wake up would accept a whole burst and serve it alone.
    connections = [Connection("127.0.0.1", port, key) for _ in range(clients)]
    for connection in connections:
        await connection.get(paths[0])
    writer = None
    if writes is not None:
        writer = asyncio.create_task(writes.run(Connection("127.0.0.1", port, writes.key)))
    # Warm-up (caches, prepared statements), then the measured run.
    deadline = time.perf_counter() + min(2.0, seconds / 3)
    await asyncio.gather(*(client(c, n) for n, c in enumerate(connections)))
    result.latencies.clear()
    result.errors = 0
    cpu_before = (*probe(), time.process_time())
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(c, n) for n, c in enumerate(connections)))
    result.seconds = time.perf_counter() - started
    cpu_after = (*probe(), time.process_time())
    if writer is not None:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    result.cpu = (
        cpu_after[0] - cpu_before[0],
        cpu_after[1] - cpu_before[1],
        cpu_after[2] - cpu_before[2],
    )
    return result


async def prepare(database_url: str, key: str, writer_key: str) -> tuple[int, list[int], int]:
    """Keys (a viewer to read, an inspector to write); the lot count, 2,000 lot ids to
    read and a supplier to write lots for."""
    engine = make_engine(Settings(database_url=database_url), database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await ensure_key(session, name="bench (load.py)", role=Role.viewer, key=key)
            await ensure_key(
                session, name="bench writer (load.py)", role=Role.inspector, key=writer_key
            )
            low, high, count = (
                await session.execute(select(func.min(Lot.id), func.max(Lot.id), func.count()))
            ).one()
            supplier_id = await session.scalar(select(func.min(Lot.supplier_id)))
    finally:
        await engine.dispose()
    rng = random.Random(5)
    return int(count), [rng.randint(low, high) for _ in range(2000)], int(supplier_id or 0)


async def wait_ready(port: int, server: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if server.returncode is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode}")
        try:
            if await Connection("127.0.0.1", port, "-").get("/readyz") == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the API did not become ready")


def scenarios(ids: Sequence[int]) -> list[tuple[str, list[str]]]:
    rng = random.Random(7)
    filtered = [
        f"/api/v1/lots?product={product}&status={status}&limit=50"
        for product in PRODUCT_CODES
        for status in ("rejected", "on_hold", "accepted")
    ]
    rng.shuffle(filtered)
    return [
        ("GET /healthz (no database)", ["/healthz"]),
        ("GET /lots/{id}", [f"/api/v1/lots/{i}" for i in ids]),
        (RAW_LOT, [f"{RAW_PREFIX}{i}" for i in ids]),
        ("GET /lots?product=&status=&limit=50", filtered),
        ("GET /dashboard/summary", ["/api/v1/dashboard/summary"]),
        (
            "GET /dashboard/summary?product=",
            [f"/api/v1/dashboard/summary?product={p}" for p in PRODUCT_CODES],
        ),
        (
            "GET /dashboard/summary?received_from= (12 weeks, from lots)",
            ["/api/v1/dashboard/summary?received_from=2025-09-08T00:00:00Z"],
        ),
    ]


def report(rounds: list[list[Result]]) -> None:
    """Each figure is the median over the rounds; a ratio is taken within its round."""
    median = statistics.median
    title = f"median of {len(rounds)} rounds" if len(rounds) > 1 else "one round"
    print(
        f"\n{'endpoint (' + title + ')':<60} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'ratio':>6} {'err':>4}"
    )
    for runs in zip(*rounds, strict=True):
        ratios = [r.rate / round_[0].rate for r, round_ in zip(runs, rounds, strict=True)]
        print(
            f"{runs[0].name:<60} {median(r.rate for r in runs):>8.0f} "
            f"{median(r.percentile(0.5) for r in runs):>8.1f} "
            f"{median(r.percentile(0.99) for r in runs):>8.1f} {median(ratios):>6.2f} "
            f"{sum(r.errors for r in runs):>4}"
        )
    names = [r.name for r in rounds[0]]
    if RAW_LOT in names and "GET /lots/{id}" in names:
        api, raw = names.index("GET /lots/{id}"), names.index(RAW_LOT)
        shares = [round_[api].rate / round_[raw].rate for round_ in rounds]
        print(
            "\nGET /lots/{id} req/s / raw asyncpg req/s, per round: "
            + " ".join(f"{share:.2f}" for share in shares)
            + f"; median {median(shares):.2f}"
        )
    if len(rounds) > 1:
        print(f"\n{'p99 ms in each round':<60}")
        for runs in zip(*rounds, strict=True):
            print(f"{runs[0].name:<60} " + " ".join(f"{r.percentile(0.99):.1f}" for r in runs))
    mean = statistics.fmean(os.getloadavg())
    print(f"\nratio = req/s / GET /healthz req/s in the same round; load average after: {mean:.2f}")
    print(
        f"\n{'CPU time per request, ms (median)':<60} {'server':>8} {'postgres':>8} {'driver':>8}"
    )
    for runs in zip(*rounds, strict=True):
        cpu = [median(r.cpu_ms_per_request(part) for r in runs) for part in range(3)]
        print(f"{runs[0].name:<60} {cpu[0]:>8.2f} {cpu[1]:>8.2f} {cpu[2]:>8.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every endpoint this many times, round after round, and print medians",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--no-answer-cache",
        action="store_true",
        help="compute every dashboard answer (LOTGATE_ANSWER_CACHE_ENTRIES=0)",
    )
    parser.add_argument(
        "--writes-per-second",
        type=float,
        default=0.0,
        metavar="W",
        help="post W new lots a second while each endpoint runs (they stay in the database), "
        "so cached answers go stale as they do in use; the CPU figures include the writes",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="run only the endpoints whose name contains TEXT (repeatable); "
        "the no-database baseline always runs",
    )
    args = parser.parse_args()

    key = "lg_bench_" + secrets.token_urlsafe(24)
    writer_key = "lg_bench_" + secrets.token_urlsafe(24)
    lots, ids, supplier_id = await prepare(args.database_url, key, writer_key)
    writes = None
    if args.writes_per_second > 0:
        writes = Writes(args.writes_per_second, writer_key, supplier_id)
    env = {**os.environ, "LOTGATE_DATABASE_URL": args.database_url}
    if args.no_answer_cache:
        env["LOTGATE_ANSWER_CACHE_ENTRIES"] = "0"
    server = await asyncio.create_subprocess_exec(
        *uvicorn_command(args.port, workers=args.workers),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,  # the access log is still written, to nowhere
    )
    raw_port = args.port + 1
    raw = await asyncio.create_subprocess_exec(
        *uvicorn_command(raw_port, workers=args.workers, app="bench.raw_lot:app"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_ready(args.port, server)
        await wait_ready(raw_port, raw)
        print(
            f"{lots:,} lots; uvicorn {args.workers} worker(s); {args.clients} clients; "
            f"{args.seconds:.0f} s per endpoint; answer cache "
            f"{'off' if args.no_answer_cache else 'on'}; "
            f"{args.writes_per_second:g} lot writes/s alongside; {os.cpu_count()} cores shared "
            f"by driver, server and PostgreSQL; load average before: {os.getloadavg()[0]:.2f}"
        )
        chosen = [
            (name, paths)
            for index, (name, paths) in enumerate(scenarios(ids))
            if index == 0 or not args.only or any(text in name for text in args.only)
        ]
        database = make_url(args.database_url).database or ""
        probe = cpu_probe(server.pid, database)
        raw_probe = cpu_probe(raw.pid, database)
        rounds: list[list[Result]] = []
        for _ in range(args.rounds):
            results = []
            for name, paths in chosen:
                port, cpu = (raw_port, raw_probe) if name == RAW_LOT else (args.port, probe)
                results.append(
                    await drive(name, paths, args.clients, args.seconds, port, key, cpu, writes)
                )
            rounds.append(results)
        report(rounds)
        if writes is not None:
            print(f"\nlots written alongside: {writes.done} ({writes.failed} refused)")
    finally:
        for process in (server, raw):
            with contextlib.suppress(ProcessLookupError):  # already gone
                process.terminate()
            await asyncio.wait_for(process.wait(), timeout=10)


if __name__ == "__main__":
    uvloop.run(main())  # the driver shares the cores: the cheapest event loop there is
