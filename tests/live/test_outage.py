"""PostgreSQL goes away and comes back while the server keeps running."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_DATABASE_URL, migrate
from tests.live import private_postgres
from tests.live.private_postgres import PrivatePostgres
from tests.live.server import start_server

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="the outage drill runs in the PostgreSQL pass"
)


@pytest.fixture
def cluster() -> Iterator[PrivatePostgres]:
    with private_postgres.scratch("outage drill") as room:
        yield room.primary()


def watch_events(client: httpx.Client, event: str) -> float:
    metrics = client.get("/metrics").text
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if name == "lotgate_data_version_watch_events_total" and labels == {"event": event}:
                return sample.value
    return 0.0


def test_outage_fails_fast_and_recovers_without_restart(
    cluster: PrivatePostgres, tmp_path: Path
) -> None:
    server = start_server(migrate(cluster.url), tmp_path)
    client = httpx.Client(base_url=server.base_url, headers=server.admin_headers, timeout=30)
    try:
        acknowledged = []
        for i in range(20):
            response = client.post(
                "/api/v1/suppliers",
                json={"name": f"Before outage {i}", "country": "NL", "roles": ["donor"]},
            )
            assert response.status_code == 201
            acknowledged.append(response.json()["id"])

        cluster.stop()
        started = time.monotonic()
        read = client.get("/api/v1/suppliers")
        read_seconds = time.monotonic() - started
        assert read.status_code == 503, read.text
        assert read.headers["content-type"].startswith("application/problem+json")
        assert read.headers["retry-after"] == "5"
        write = client.post(
            "/api/v1/suppliers",
            json={"name": "During outage", "country": "NL", "roles": ["donor"]},
            headers={"Idempotency-Key": "outage-write"},
        )
        assert write.status_code == 503, write.text
        assert client.get("/readyz").status_code == 503
        print(f"\nfirst request during the outage answered 503 in {read_seconds:.3f} s")

        cluster.start()
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "did not recover after PostgreSQL came back"
            time.sleep(0.5)
        # The connection that learns of data changes was cut too; it comes back by itself.
        while watch_events(client, "connected") < 2:
            assert time.monotonic() < deadline, "the data version watch did not reconnect"
            time.sleep(0.5)
        assert watch_events(client, "lost") >= 1
        listed = client.get("/api/v1/suppliers", params={"limit": 500}).json()["items"]
        assert [s["id"] for s in listed] == acknowledged
        retried = client.post(
            "/api/v1/suppliers",
            json={"name": "During outage", "country": "NL", "roles": ["donor"]},
            headers={"Idempotency-Key": "outage-write"},
        )
        assert retried.status_code == 201
        assert "idempotent-replayed" not in retried.headers
    finally:
        client.close()
        server.stop()
