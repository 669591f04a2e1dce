"""API keys from outside: bootstrap never brings a revoked admin key back, short admin
keys are refused, and an address that keeps failing to authenticate is slowed down."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live.server import ROOT, start_server


def bootstrap(database_url: str, admin_key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOTGATE_DATABASE_URL": database_url, "LOTGATE_ADMIN_KEY": admin_key}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "bootstrap"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_bootstrap_leaves_a_revoked_admin_key_revoked(live_database: str, tmp_path: Path) -> None:
    server = start_server(live_database, tmp_path)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            made = client.post(
                "/api/v1/keys",
                json={"name": "second admin", "role": "admin"},
                headers=server.admin_headers,
            )
            assert made.status_code == 201, made.text
            second = {"Authorization": f"Bearer {made.json()['key']}"}
            first_id = next(
                k["id"]
                for k in client.get("/api/v1/keys", headers=second).json()["items"]
                if k["name"] == "admin (LOTGATE_ADMIN_KEY)"
            )
            assert client.delete(f"/api/v1/keys/{first_id}", headers=second).status_code == 204

            again = bootstrap(live_database, server.admin_key)
            assert again.returncode != 0
            assert "revoked" in again.stderr

            refused = client.get("/api/v1/lots", headers=server.admin_headers)
            assert refused.status_code == 401
            listed = {
                k["id"]: k for k in client.get("/api/v1/keys", headers=second).json()["items"]
            }
            assert listed[first_id]["revoked_at"] is not None
    finally:
        server.stop()


def test_bootstrap_refuses_a_short_admin_key(live_database: str) -> None:
    refused = bootstrap(live_database, "change-me")
    assert refused.returncode != 0
    assert "at least 32 characters" in refused.stderr


def test_failed_authentications_are_throttled_per_address(
    live_database: str, tmp_path: Path
) -> None:
    server = start_server(
        live_database, tmp_path, extra_env={"LOTGATE_AUTH_FAILURE_RATE": "3/minute"}
    )
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            assert client.get("/api/v1/lots", headers=server.admin_headers).status_code == 200
            garbage = {"Authorization": "Bearer not-a-key"}
            for _ in range(3):
                assert client.get("/api/v1/lots", headers=garbage).status_code == 401
            for attempt in (
                client.get("/api/v1/lots", headers=garbage),
                client.post(
                    "/api/v1/suppliers",
                    json={"name": "X", "country": "NL", "roles": ["manufacturer"]},
                    headers={**garbage, "Idempotency-Key": "throttled-1"},
                ),
                client.get("/api/v1/lots", headers=server.admin_headers),
            ):
                assert attempt.status_code == 429, attempt.text
                assert attempt.headers["content-type"].startswith("application/problem+json")
                assert 1 <= int(attempt.headers["retry-after"]) <= 60
                assert attempt.json()["errors"][0]["field"] == "header.Authorization"
            # Asking no key is not a failed authentication; health checks need none.
            assert client.get("/healthz").status_code == 200
    finally:
        server.stop()
