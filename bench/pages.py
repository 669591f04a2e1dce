"""Pages benchmark: each page's p50 next to the JSON endpoint it shows, in the same run.

    .venv/bin/python bench/pages.py                  # lotgate_bench_dash (1,000,000 lots)
    .venv/bin/python bench/pages.py --requests 200   # more samples per endpoint
    .venv/bin/python bench/pages.py --no-answer-cache  # JSON answers computed every time

Starts the API with uvicorn (one worker) on 127.0.0.1 against a seeded PostgreSQL
database, signs a browser-like client in (a viewer key kept in the database as
"bench (pages.py)": the only write), then asks each page and its JSON endpoint in turn,
one request at a time, alternating between the two, for --requests each after a warm-up.
Prints p50 and p90 in milliseconds, the page's p50 as a ratio of the JSON one, and GET
/healthz (no database) as the floor. Target: every page under 100 ms p50.

The JSON list, summary and scorecard answers come from the per-process answer cache while
the data version stands still (nothing writes during the run); pages compute theirs every
time. --no-answer-cache turns the cache off so both compute.
"""

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import httpx
from serving import uvicorn_command
from sqlalchemy import func, select

from app.auth.keys import ensure_key
from app.auth.models import Role
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.lots.models import Lot

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/lotgate_bench_dash"
ROOT = Path(__file__).resolve().parent.parent
KEY = "lg_bench-pages-viewer-0123456789abcdefghijklmnopqrstuv"
TARGET_MS = 100.0


async def prepare(database_url: str) -> int:
    engine = make_engine(Settings(database_url=database_url), database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await ensure_key(session, name="bench (pages.py)", role=Role.viewer, key=KEY)
            return int(await session.scalar(select(func.count()).select_from(Lot)) or 0)
    finally:
        await engine.dispose()


def start(database_url: str, port: int, cache: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOTGATE_DATABASE_URL": database_url}
    if not cache:
        env["LOTGATE_ANSWER_CACHE_ENTRIES"] = "0"
    server = subprocess.Popen(  # noqa: S603 (our own fixed command)
        uvicorn_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit("uvicorn did not become ready")


def sign_in(client: httpx.Client) -> None:
    form = client.get("/ui/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "no CSRF token on the sign-in page"
    answer = client.post(
        "/ui/sign-in", data={"api_key": KEY, "csrf_token": token.group(1), "next": "/ui/lots"}
    )
    assert answer.status_code == 303, answer.text


def pairs(client: httpx.Client, api: httpx.Client) -> list[tuple[str, str, str]]:
    """(what, page path, JSON path): the page and the endpoint whose data it shows."""
    first = api.get("/api/v1/lots", params={"limit": 50}).json()
    lot_id = first["items"][len(first["items"]) // 2]["id"]
    cursor = first["next_cursor"]
    # A cursor is bound to the collection that made it: the page's own next link.
    page_next = re.search(r'rel="next" href="/ui/lots\?([^"]+)"', client.get("/ui/lots").text)
    assert page_next, "no next page link on /ui/lots"
    page_query = page_next.group(1).replace("&amp;", "&")
    recalls = api.get("/api/v1/recalls", params={"limit": 5}).json()["items"]
    recall_id = recalls[0]["lot_id"] if recalls else lot_id
    rejected = "status=rejected&product=FFP2"
    window = "received_from=2020-04-01&received_to=2020-04-08"
    window_api = "received_from=2020-04-01T00:00:00Z&received_to=2020-04-08T00:00:00Z"
    return [
        ("lots, first page", "/ui/lots", "/api/v1/lots?limit=50"),
        (
            "lots, second page",
            f"/ui/lots?{page_query}",
            f"/api/v1/lots?limit=50&cursor={cursor}",
        ),
        ("lots, rejected FFP2", f"/ui/lots?{rejected}", f"/api/v1/lots?limit=50&{rejected}"),
        ("lots, received in a week", f"/ui/lots?{window}", f"/api/v1/lots?limit=50&{window_api}"),
        ("a lot", f"/ui/lots/{lot_id}", f"/api/v1/lots/{lot_id}/decision"),
        ("recalls", "/ui/recalls", "/api/v1/recalls?limit=50"),
        ("a lot's recall", f"/ui/recalls/{recall_id}", f"/api/v1/lots/{recall_id}/recall"),
        ("suppliers", "/ui/suppliers", "/api/v1/suppliers/scorecards?limit=50"),
        ("summary", "/ui/summary", "/api/v1/dashboard/summary"),
    ]


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    return elapsed


def measure(
    client: httpx.Client, api: httpx.Client, page: str, json_path: str, n: int
) -> tuple[list[float], list[float]]:
    for _ in range(3):
        timed(client, page), timed(api, json_path)
    pages, answers = [], []
    for _ in range(n):
        pages.append(timed(client, page))
        answers.append(timed(api, json_path))
    return pages, answers


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--requests", type=int, default=60, help="per page and per endpoint")
    parser.add_argument("--no-answer-cache", action="store_true")
    args = parser.parse_args()

    lots = asyncio.run(prepare(args.database_url))
    server = start(args.database_url, args.port, cache=not args.no_answer_cache)
    base = f"http://127.0.0.1:{args.port}"
    try:
        with (
            httpx.Client(base_url=base, timeout=60) as client,
            httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {KEY}"}
            ) as api,
        ):
            sign_in(client)
            floor = [timed(api, "/healthz") for _ in range(args.requests)]
            print(
                f"{lots:,} lots; 1 uvicorn worker; one request at a time, {args.requests} per "
                f"endpoint; answer cache {'off' if args.no_answer_cache else 'on'}; "
                f"load average before: {os.getloadavg()[0]:.2f}"
            )
            print(f"floor GET /healthz (no database): p50 {p(floor, 0.5):.1f} ms\n")
            header = (
                f"{'page':26} {'page p50':>9} {'p90':>7} {'JSON p50':>9} {'p90':>7} "
                f"{'ratio':>6}  verdict"
            )
            print(header)
            print("-" * len(header))
            for name, page, json_path in pairs(client, api):
                pages, answers = measure(client, api, page, json_path, args.requests)
                page_p50, json_p50 = p(pages, 0.5), p(answers, 0.5)
                verdict = "ok" if page_p50 < TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
                print(
                    f"{name:26} {page_p50:9.1f} {p(pages, 0.9):7.1f} {json_p50:9.1f} "
                    f"{p(answers, 0.9):7.1f} {page_p50 / json_p50:6.1f}  {verdict}"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
