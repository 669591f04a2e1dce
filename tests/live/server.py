"""A real lotgate server process (uvicorn) on a free loopback port, for tests and drills."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import pooler_settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    admin_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_server(
    database_url: str,
    log_dir: Path,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 60.0,
) -> LiveServer:
    port = free_port()
    admin_key = "lg_" + secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "LOTGATE_DATABASE_URL": database_url,
        "LOTGATE_ADMIN_KEY": admin_key,
        **{
            f"LOTGATE_{name.upper()}": value
            for name, value in pooler_settings(database_url).items()
        },
        **(extra_env or {}),
    }
    subprocess.run(
        [sys.executable, "-m", "app.cli", "bootstrap"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    log_path = log_dir / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--timeout-graceful-shutdown",
        "20",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    server = LiveServer(f"http://127.0.0.1:{port}", admin_key, process, log_path)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server not ready after {ready_timeout}s:\n{server.log()}")
