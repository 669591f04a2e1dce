"""Matching one alert against every lot, through the real app in a uvicorn process.

    .venv/bin/python bench/alert_matching.py --database lotgate_bench_signals

Uses ONLY the database given (a seeded one: ``make seed LOTS=1000000``), migrated to head.
The seed gives lots no GTIN, batch or model: the first run gives every lot a GTIN (one of
40 valid ones, by supplier), a batch (from its id) and a model (one of 50), in one UPDATE.

Each round POSTs a new alert naming a GTIN + batch of one lot, the certificate number of
another (both strong: those lots re-open) and a maker's name, spelled differently from
the suppliers table, with one model (weak: review items for that maker's lots of that
model). The POST answers after the matches are recorded and committed, so its time is
the time until the matches are recorded. The floor, measured in the same run between the
rounds: the same two identifier lookups by hand (asyncpg, the indexes the app uses), and
GET /healthz over HTTP (what any request costs). Medians of --repeat; the machine is
shared (2 cores): expect noise; the load average is printed.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from alembic import command

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.migrations_state import alembic_config  # noqa: E402
from app.quality.identifiers import gtin14  # noqa: E402
from tests.live.server import start_server  # noqa: E402


def valid_gtins() -> list[str]:
    """Payloads 4050598000000.. with their correct check digit, as GTIN-14."""
    found = []
    for n in range(40):
        payload = f"405059800{n:03d}"
        for digit in "0123456789":
            try:
                found.append(gtin14(payload + digit))
                break
            except ValueError:
                continue
    return found


def dsn(server: str, database: str) -> str:
    return f"postgresql://{server}/{database}"


def migrate(server: str, database: str) -> None:
    config = alembic_config(f"postgresql+asyncpg://{server}/{database}")
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


async def give_identifiers(connection: asyncpg.Connection) -> None:
    if await connection.fetchval("SELECT 1 FROM lots WHERE gtin IS NULL LIMIT 1") is None:
        return
    started = time.perf_counter()
    await connection.execute(
        "UPDATE lots SET gtin = ($1::text[])[1 + supplier_id % 40], "
        "batch = 'B' || lpad(id::text, 7, '0'), model = 'M-' || (id % 50)::text "
        "WHERE gtin IS NULL",
        valid_gtins(),
    )
    await connection.execute("ANALYZE lots")
    print(f"gave every lot a GTIN, batch and model in {time.perf_counter() - started:.0f} s")


async def targets(connection: asyncpg.Connection, round_number: int) -> dict[str, object]:
    """Lots and names for one round's alert, different each round."""
    lot = await connection.fetchrow(
        "SELECT id, gtin, batch FROM lots ORDER BY id OFFSET $1 LIMIT 1", 1000 + round_number * 7919
    )
    certificate = await connection.fetchrow(
        "SELECT lot_id, number FROM certificates ORDER BY id OFFSET $1 LIMIT 1",
        2000 + round_number * 6007,
    )
    maker = await connection.fetchrow(
        "SELECT s.id, s.name FROM suppliers s ORDER BY s.id OFFSET $1 LIMIT 1", round_number
    )
    assert lot and certificate and maker
    return {"lot": lot, "certificate": certificate, "maker": maker}


def alert_body(target: dict[str, object], round_number: int) -> dict[str, object]:
    lot, certificate, maker = target["lot"], target["certificate"], target["maker"]
    return {
        "source": "regulator",
        "issuing_body": "Benchmark Authority",
        "published_on": "2020-05-07",
        "reference": f"BENCH-{round_number}-{time.time_ns()}",
        "text": "benchmark",
        "names": {
            "gtins": [{"gtin": lot["gtin"], "batch": lot["batch"]}],  # type: ignore[index]
            "certificate_numbers": [certificate["number"]],  # type: ignore[index]
            "manufacturers": [str(maker["name"]).upper() + " CO., LTD."],  # type: ignore[index]
            "models": [f"M {round_number % 50}"],
        },
    }


async def floor_lookup(connection: asyncpg.Connection, target: dict[str, object]) -> float:
    lot, certificate = target["lot"], target["certificate"]
    started = time.perf_counter()
    by_gtin = await connection.fetch(
        "SELECT id FROM lots WHERE gtin = $1 AND batch = $2",
        lot["gtin"],  # type: ignore[index]
        lot["batch"],  # type: ignore[index]
    )
    by_number = await connection.fetch(
        "SELECT lot_id FROM certificates WHERE number = $1",
        certificate["number"],  # type: ignore[index]
    )
    elapsed = time.perf_counter() - started
    assert by_gtin and by_number
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lotgate_bench_signals")
    parser.add_argument("--server", default="postgres@127.0.0.1:5432")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    await asyncio.to_thread(migrate, args.server, args.database)
    connection = await asyncpg.connect(dsn(args.server, args.database))
    lots = await connection.fetchval("SELECT count(*) FROM lots")
    suppliers = await connection.fetchval("SELECT count(*) FROM suppliers")
    await give_identifiers(connection)
    url = f"postgresql+asyncpg://{args.server}/{args.database}"
    server = start_server(url, Path(tempfile.mkdtemp()))
    posts, floors, healthz, outcomes = [], [], [], []
    load_before = os.getloadavg()
    try:
        headers = server.admin_headers
        async with httpx.AsyncClient(base_url=server.base_url, timeout=600) as client:
            await client.get("/healthz")
            for round_number in range(args.repeat):
                target = await targets(connection, round_number)
                floors.append(await floor_lookup(connection, target))
                started = time.perf_counter()
                response = await client.get("/healthz")
                healthz.append(time.perf_counter() - started)
                assert response.status_code == 200
                body = alert_body(target, round_number)
                started = time.perf_counter()
                response = await client.post("/api/v1/alerts", json=body, headers=headers)
                posts.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
                recorded = response.json()
                outcomes.append(recorded["matches"])
                matches = await client.get(
                    f"/api/v1/alerts/{recorded['id']}/matches",
                    params={"strength": "strong"},
                    headers=headers,
                )
                assert len(matches.json()["items"]) == recorded["matches"]["strong"]
    finally:
        server.stop()
        await connection.close()
    load_after = os.getloadavg()
    post_s, floor_s, health_s = (statistics.median(x) for x in (posts, floors, healthz))
    print(f"lots: {lots:,}  suppliers: {suppliers:,}  rounds: {args.repeat} (medians)")
    print("shared 2-core machine: expect noise")
    print(
        "load average before: "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "  after: "
        + ", ".join(f"{x:.2f}" for x in load_after)
    )
    for number, outcome in enumerate(outcomes):
        print(f"  round {number}: {posts[number] * 1000:.0f} ms  matches {outcome}")
    print(f"POST /alerts, matches recorded: {post_s * 1000:.1f} ms")
    print(f"floor, the same indexed lookups by hand (asyncpg): {floor_s * 1000:.2f} ms")
    print(f"floor, GET /healthz over HTTP: {health_s * 1000:.2f} ms")
    print(f"ratio alert/lookups: {post_s / floor_s:.0f}x   alert/healthz: {post_s / health_s:.0f}x")


if __name__ == "__main__":
    asyncio.run(main())
