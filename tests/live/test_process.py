"""Behaviour of a real server process: graceful shutdown and metrics across workers."""

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.live.server import start_server


async def test_sigterm_lets_in_flight_requests_finish(live_database: str, tmp_path: Path) -> None:
    server = start_server(live_database, tmp_path)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=server.admin_headers, timeout=30
    ) as client:
        supplier = (
            await client.post(
                "/api/v1/suppliers",
                json={"name": "Shutdown Test", "country": "NL", "roles": ["manufacturer"]},
            )
        ).json()
        lot = {
            "supplier_id": supplier["id"],
            "product": "FFP2",
            "ordered_as": "FFP2",
            "quantity": 100,
            "received_at": "2020-03-21T00:00:00Z",
        }

        async def create(i: int) -> tuple[int | None, float]:
            try:
                response = await client.post("/api/v1/lots", json={**lot, "lot_number": f"SIG-{i}"})
                return response.status_code, time.monotonic()
            except httpx.TransportError:
                return None, time.monotonic()

        tasks = [asyncio.create_task(create(i)) for i in range(40)]
        await asyncio.sleep(0.05)
        signalled_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*tasks)
    exit_code = server.process.wait(timeout=30)
    # uvicorn finishes its graceful shutdown, then exits by the signal it got.
    assert exit_code in (0, -signal.SIGTERM), server.log()
    log = server.log()
    assert log.index('"Shutting down"') < log.index('"Application shutdown complete."')

    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 503, None}, statuses
    finished_after_signal = [s for s, at in results if s == 201 and at > signalled_at]
    assert finished_after_signal, "no request was in flight when SIGTERM arrived"

    after = start_server(live_database, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=after.base_url, headers=after.admin_headers) as c:
            listed = (await c.get("/api/v1/lots", params={"limit": 500})).json()
    finally:
        after.stop()
    items = listed["items"] if isinstance(listed, dict) else listed
    stored = {lot["lot_number"] for lot in items if lot["lot_number"].startswith("SIG-")}
    acknowledged = {f"SIG-{i}" for i, s in enumerate(statuses) if s == 201}
    assert acknowledged <= stored


def test_metrics_are_aggregated_over_worker_processes(live_database: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    server = start_server(
        live_database, tmp_path, workers=2, extra_env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    )
    try:
        for _ in range(40):
            with httpx.Client(base_url=server.base_url, headers=server.admin_headers) as c:
                assert c.get("/api/v1/products").status_code == 200
        text = httpx.get(f"{server.base_url}/metrics").text
    finally:
        server.stop()
    wanted = 'lotgate_http_requests_total{method="GET",route="/products",status="200"}'
    counts = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(wanted)
    ]
    assert counts == [40.0], text
    assert len(list(metrics_dir.glob("counter_*.db"))) == 2, "both workers served requests"


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
