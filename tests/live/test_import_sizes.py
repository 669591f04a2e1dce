"""Imports at the documented size through a real server process: over the 1 MiB body
limit of every other route, up to LOTGATE_IMPORT_MAX_BYTES, and through `lotgate import`."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.api.imports_helpers import LOT_HEADER, csv_file
from tests.live.server import ROOT, LiveServer, start_server

MANIFEST_ROWS = 30_000
IMPORT_LIMIT = 4 * 1024 * 1024  # small enough for a test to send more than it
POLLS = 6_000  # a bound for a broken worker, not a time limit on a working one


@pytest.fixture(scope="module")
def server(live_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        live_database,
        tmp_path_factory.mktemp("imports"),
        extra_env={"LOTGATE_IMPORT_MAX_BYTES": str(IMPORT_LIMIT)},
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def supplier_id(server: LiveServer) -> int:
    response = httpx.post(
        f"{server.base_url}/api/v1/suppliers",
        headers=server.admin_headers,
        json={"name": "Manifest Sender", "country": "CN", "roles": ["manufacturer"]},
    )
    assert response.status_code == 201, response.text
    supplier: int = response.json()["id"]
    return supplier


MANIFEST_HEADER = [*LOT_HEADER, "manufacturer_id", "unit", "purchase_order", "ear_loops"]


def manifest(supplier_id: int, prefix: str, rows: int = MANIFEST_ROWS) -> bytes:
    """A shipping manifest as a supplier sends it: every column filled (~87 bytes a row)."""
    lines = [
        [
            f"{prefix}-{n:06d}",
            supplier_id,
            "FFP2",
            "FFP2",
            10000 + n,
            "2020-03-21T09:00:00Z",
            supplier_id,
            "pieces",
            f"PO-2020-{n % 977:05d}",
            "false",
        ]
        for n in range(rows)
    ]
    return csv_file(MANIFEST_HEADER, lines)


def lot_count(server: LiveServer) -> int:
    response = httpx.get(
        f"{server.base_url}/api/v1/dashboard/summary", headers=server.admin_headers, timeout=30
    )
    assert response.status_code == 200, response.text
    total: int = response.json()["lots"]
    return total


def import_rows(database_url: str) -> int:
    async def count() -> int:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                return int(await connection.scalar(text("SELECT count(*) FROM imports")) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(count())


def finished(client: httpx.Client, location: str) -> dict[str, Any]:
    for _ in range(POLLS):
        job: dict[str, Any] = client.get(location).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"the import never finished: {job}")


def test_manifest_over_one_mebibyte_is_imported(server: LiveServer, supplier_id: int) -> None:
    content = manifest(supplier_id, "HTTP")
    assert len(content) > 2 * 1024 * 1024
    before = lot_count(server)
    with httpx.Client(base_url=server.base_url, headers=server.admin_headers, timeout=120) as c:
        response = c.post(
            "/api/v1/imports",
            data={"kind": "lots"},
            files={"file": ("manifest.csv", content, "text/csv")},
        )
        assert response.status_code == 202, response.text
        job = finished(c, response.headers["location"])
    assert job["state"] == "done", job["errors"][:5]
    assert job["rows_total"] == job["result"]["created"] == MANIFEST_ROWS
    assert lot_count(server) == before + MANIFEST_ROWS


def test_cli_imports_a_manifest_over_one_mebibyte(
    server: LiveServer, supplier_id: int, tmp_path: Path
) -> None:
    path = tmp_path / "manifest.csv"
    path.write_bytes(manifest(supplier_id, "CLI"))
    before = lot_count(server)
    env = {**os.environ, "LOTGATE_API_KEY": server.admin_key}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "import",
            str(path),
            "--kind",
            "lots",
            "--url",
            server.base_url,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done" in result.stdout
    assert lot_count(server) == before + MANIFEST_ROWS


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_file_over_the_import_limit_is_refused_and_nothing_written(
    server: LiveServer, live_database: str, supplier_id: int, declared: bool
) -> None:
    rows = IMPORT_LIMIT // 80 + 1_000
    content = manifest(supplier_id, f"BIG{int(declared)}", rows)
    assert len(content) > IMPORT_LIMIT
    before, imports_before = lot_count(server), import_rows(live_database)
    boundary = "lotgate-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlots\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**server.admin_headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    response = httpx.post(
        f"{server.base_url}/api/v1/imports",
        headers=headers,
        content=body if declared else chunked(),
        timeout=120,
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert str(IMPORT_LIMIT) in problem["detail"], problem
    assert lot_count(server) == before
    assert import_rows(live_database) == imports_before
