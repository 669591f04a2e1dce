"""A streaming replica of a private cluster: which reads it serves, and what happens when
its replay is paused (it lags) or it is down. Nothing here may ever be a 503."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_DATABASE_URL, migrate
from tests.live import private_postgres
from tests.live.private_postgres import PrivatePostgres
from tests.live.server import start_server

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="the replica drill runs in the PostgreSQL pass"
)

HEADER = "X-Data-Version"


@pytest.fixture
def clusters() -> Iterator[tuple[PrivatePostgres, PrivatePostgres]]:
    with private_postgres.scratch("replica drill") as room:
        primary = room.primary()
        yield primary, room.standby(primary)


def sql(cluster: PrivatePostgres, statement: str) -> object:
    async def run() -> object:
        connection = await asyncpg.connect(
            f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        )
        try:
            return await connection.fetchval(statement)
        finally:
            await connection.close()

    return asyncio.run(run())


def wait_until_replayed(primary: PrivatePostgres, standby: PrivatePostgres) -> None:
    target = str(sql(primary, "SELECT pg_current_wal_lsn()::text"))
    for _ in range(2_000):  # a bound for a broken replica, not a time limit
        if sql(standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            return
        sql(standby, "SELECT pg_sleep(0.01)")
    pytest.fail("the standby never replayed the primary's WAL")


def replica_reads(c: httpx.Client, target: str) -> float:
    for family in text_string_to_metric_families(c.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "lotgate_replica_reads_total" and sample.labels == {"target": target}:
                return sample.value
    return 0.0


def test_dashboards_read_the_replica_unless_it_lags_or_is_down(
    clusters: tuple[PrivatePostgres, PrivatePostgres], tmp_path: Path
) -> None:
    primary, standby = clusters
    server = start_server(
        migrate(primary.url), tmp_path, extra_env={"LOTGATE_DATABASE_READ_URL": standby.url}
    )
    c = httpx.Client(base_url=server.base_url, headers=server.admin_headers, timeout=60)
    try:
        supplier = c.post(
            "/api/v1/suppliers",
            json={"name": "Replicated", "country": "NL", "roles": ["manufacturer"]},
        ).json()["id"]
        lot = {
            "supplier_id": supplier,
            "product": "FFP2",
            "ordered_as": "FFP2",
            "quantity": 100,
            "received_at": "2020-03-21T00:00:00Z",
        }
        first = c.post("/api/v1/lots", json={**lot, "lot_number": "REP-1"})
        assert first.status_code == 201, first.text
        wait_until_replayed(primary, standby)
        sql(standby, "SELECT pg_wal_replay_pause()")
        # A change only the primary has (raw SQL: it moves no data version), so that an
        # answer shows where it was read.
        sql(primary, f"UPDATE lots SET quantity = 777 WHERE id = {first.json()['id']}")

        def quantities(query: dict[str, object], headers: dict[str, str] | None = None) -> list:
            response = c.get("/api/v1/lots", params=query, headers=headers or {})
            assert response.status_code == 200, response.text
            return [item["quantity"] for item in response.json()["items"]]

        # The replica has replayed the version the list is tagged with: it answers.
        assert quantities({"supplier_id": supplier, "limit": 11}) == [100]
        assert replica_reads(c, "replica") >= 1
        for path in (
            "/api/v1/dashboard/summary",
            "/api/v1/suppliers/scorecards",
            "/api/v1/exports/reject-list",
        ):
            served = replica_reads(c, "replica")
            assert c.get(path, params={"supplier_id": supplier}).status_code == 200
            assert replica_reads(c, "replica") == served + 1, path

        # A write the replica has not replayed (replay paused): reads of that version go
        # to the primary, which also shows the change the replica lacks.
        second = c.post("/api/v1/lots", json={**lot, "lot_number": "REP-2"})
        assert second.status_code == 201, second.text
        version = {HEADER: second.headers[HEADER]}
        assert sorted(quantities({"supplier_id": supplier, "limit": 12}, version)) == [100, 777]
        assert replica_reads(c, "behind") >= 1

        # Replica down: the primary answers, no 503.
        standby.stop()
        assert sorted(quantities({"supplier_id": supplier, "limit": 13})) == [100, 777]
        summary = c.get("/api/v1/dashboard/summary", params={"supplier_id": supplier})
        assert summary.status_code == 200, summary.text
        assert replica_reads(c, "down") >= 1
        export = c.get("/api/v1/exports/reject-list")
        assert export.status_code == 200, export.text
    finally:
        c.close()
        server.stop()
