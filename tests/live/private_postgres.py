"""A throw-away PostgreSQL cluster of our own, so a test can stop and start it freely."""

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live.server import free_port

BIN_CANDIDATES = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14")]


def _bin_dir() -> Path | None:
    for candidate in BIN_CANDIDATES:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def available() -> str | None:
    """None when a private cluster can be made here; otherwise why not."""
    if _bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop to the postgres user"
    return None


@dataclass
class PrivatePostgres:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        bin_dir = _bin_dir()
        assert bin_dir is not None
        command = [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        self._pg_ctl("-o", options, "-l", str(self.data_dir / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def create(parent: Path) -> PrivatePostgres:
    bin_dir = _bin_dir()
    assert bin_dir is not None
    data_dir = parent / "pgdata"
    data_dir.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(parent, "postgres")
        shutil.chown(data_dir, "postgres")
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster = PrivatePostgres(data_dir, free_port())
    cluster.start()
    return cluster


def create_standby(primary: PrivatePostgres, parent: Path) -> PrivatePostgres:
    """A streaming replica of ``primary`` (pg_basebackup -R), started on a port of its own."""
    bin_dir = _bin_dir()
    assert bin_dir is not None
    data_dir = parent / "standby"
    backup = [
        str(bin_dir / "pg_basebackup"),
        *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
        *("-D", str(data_dir), "-R", "-X", "stream", "--no-sync"),
    ]
    subprocess.run(_as_postgres(backup), check=True, capture_output=True, timeout=300)
    standby = PrivatePostgres(data_dir, free_port())
    standby.start()
    return standby


@dataclass
class Scratch:
    """Where one drill's clusters live; they are stopped and removed when it ends."""

    parent: Path
    made: list[PrivatePostgres]

    def primary(self) -> PrivatePostgres:
        self.made.append(create(self.parent))
        return self.made[-1]

    def standby(self, primary: PrivatePostgres) -> PrivatePostgres:
        self.made.append(create_standby(primary, self.parent))
        return self.made[-1]


@contextmanager
def scratch(drill: str) -> Iterator[Scratch]:
    """Clusters for one drill, in a directory the postgres user can reach (not under
    pytest's own temp root)."""
    why_not = available()
    if why_not:
        pytest.fail(f"cannot run the {drill}: {why_not}")
    parent = Path(tempfile.mkdtemp(prefix=f"lotgate-{drill.replace(' ', '-')}-"))
    parent.chmod(0o755)
    room = Scratch(parent, [])
    try:
        yield room
    finally:
        for cluster in reversed(room.made):
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop()
        shutil.rmtree(parent, ignore_errors=True)
