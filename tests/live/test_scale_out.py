"""Several API processes and a separate job worker on one PostgreSQL, as real processes.

Process B's LISTEN goes through PgBouncer in transaction mode, where notifications never
arrive: B learns of A's writes only from its periodic check (every 5 s), the worst case
of a notification on its way. A client that sends back the X-Data-Version of its write's
response must still never get an older answer from B.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.imports_helpers import LOT_HEADER, csv_file
from tests.conftest import TEST_DATABASE_URL, direct_url_for, pooler_settings
from tests.live import private_pgbouncer
from tests.live.server import ROOT, LiveServer, start_server

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="several processes share a PostgreSQL database"
)

HEADER = "X-Data-Version"


@pytest.fixture(scope="module")
def bouncer(live_database: str) -> Iterator[private_pgbouncer.PrivatePgBouncer]:
    why_not = private_pgbouncer.available()
    if why_not:
        pytest.fail(f"cannot run the multi-process drill: {why_not}")
    started = private_pgbouncer.start(direct_url_for(live_database))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def servers(
    live_database: str,
    bouncer: private_pgbouncer.PrivatePgBouncer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, LiveServer]]:
    logs = tmp_path_factory.mktemp("scale-out")
    # Neither API process runs import jobs: a separate `lotgate worker` does.
    apart = {"LOTGATE_IMPORT_WORKER_IN_API": "false", "LOTGATE_IMPORT_SYNC_MAX_ROWS": "0"}
    first = start_server(live_database, logs, extra_env=apart)
    deaf = {**apart, "LOTGATE_DATABASE_DIRECT_URL": bouncer.url(direct_url_for(live_database))}
    second = start_server(live_database, logs, extra_env=deaf)
    yield first, second
    first.stop()
    second.stop()


def client(server: LiveServer, key: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.Client(base_url=f"{server.base_url}/api/v1", headers=headers, timeout=60)


def new_lot(c: httpx.Client, supplier: int, number: str) -> httpx.Response:
    body = {
        "supplier_id": supplier,
        "lot_number": number,
        "product": "FFP2",
        "ordered_as": "FFP2",
        "quantity": 1000,
        "received_at": "2020-03-21T00:00:00Z",
    }
    response = c.post("/lots", json=body)
    assert response.status_code == 201, response.text
    return response


def test_a_client_never_reads_older_than_its_write_from_another_process(
    servers: tuple[LiveServer, LiveServer],
) -> None:
    a_server, b_server = servers
    with client(a_server, a_server.admin_key) as a, client(b_server, a_server.admin_key) as b:
        supplier = a.post(
            "/suppliers", json={"name": "Across", "country": "NL", "roles": ["manufacturer"]}
        ).json()["id"]
        new_lot(a, supplier, "ACROSS-0")
        query = {"supplier_id": supplier}
        # B answers (and caches) the summary at whatever version it knows now.
        before = b.get("/dashboard/summary", params=query, headers={HEADER: "0"})
        assert before.status_code == 200, before.text

        written = new_lot(a, supplier, "ACROSS-1")
        version = written.headers[HEADER]
        assert int(version) > 0

        after_b = b.get("/dashboard/summary", params=query, headers={HEADER: version})
        after_a = a.get("/dashboard/summary", params=query, headers={HEADER: version})
        assert after_b.status_code == after_a.status_code == 200
        assert after_b.json()["lots"] == after_a.json()["lots"], "B answered an older version"
        assert after_b.headers["etag"] == after_a.headers["etag"]
        assert after_b.headers["etag"] != before.headers["etag"]
        assert int(after_b.headers[HEADER]) >= int(version)
        # A's ETag is current in B too: B's cache and A's agree.
        tag = {"If-None-Match": after_a.headers["etag"], HEADER: version}
        assert b.get("/dashboard/summary", params=query, headers=tag).status_code == 304

        listed = b.get("/lots", params={**query, "limit": 10}, headers={HEADER: version})
        numbers = {lot["lot_number"] for lot in listed.json()["items"]}
        assert numbers == {"ACROSS-0", "ACROSS-1"}


def test_a_bad_data_version_is_refused_with_a_problem(
    servers: tuple[LiveServer, LiveServer],
) -> None:
    a_server, _ = servers
    with client(a_server, a_server.admin_key) as a:
        response = a.get("/lots", headers={HEADER: "yesterday"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == f"header.{HEADER}"


def test_import_jobs_run_in_a_separate_worker(
    servers: tuple[LiveServer, LiveServer], live_database: str, tmp_path: Path
) -> None:
    a_server, _ = servers
    with client(a_server, a_server.admin_key) as a:
        supplier = a.post(
            "/suppliers", json={"name": "Imported", "country": "NL", "roles": ["manufacturer"]}
        ).json()["id"]
        rows = [
            [f"JOB-{i}", supplier, "FFP2", "FFP2", 100, "2020-03-21T09:00:00Z"] for i in range(5)
        ]
        queued = a.post(
            "/imports",
            data={"kind": "lots"},
            files={"file": ("manifest.csv", csv_file(LOT_HEADER, rows))},
        )
        assert queued.status_code == 202, queued.text
        location = queued.headers["location"]
        # No API process runs jobs: it waits for a worker.
        assert a.get(location).json()["state"] == "queued"

        env = {**os.environ, "LOTGATE_DATABASE_URL": live_database}
        env.update({f"LOTGATE_{k.upper()}": v for k, v in pooler_settings(live_database).items()})
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            state = {}
            for _ in range(2_000):  # a bound for a broken worker, not a time limit
                state = a.get(location).json()
                if state["state"] in ("done", "failed"):
                    break
                time.sleep(0.05)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert state["state"] == "done", (state, (tmp_path / "worker.log").read_text())
        assert state["result"]["created"] == 5
        listed = a.get("/lots", params={"supplier_id": supplier, "limit": 10}).json()
        assert len(listed["items"]) == 5
