"""A PgBouncer of our own in transaction mode (ops/pgbouncer.sh) in front of a server."""

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from tests.live.server import ROOT, free_port


def available() -> str | None:
    """None when PgBouncer can be started here; otherwise why not."""
    if shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists():
        return "pgbouncer is not installed (Debian: apt-get install pgbouncer)"
    return None


@dataclass
class PrivatePgBouncer:
    directory: Path
    port: int

    def url(self, server_url: str) -> str:
        """``server_url``'s database, through this PgBouncer."""
        parsed = make_url(server_url).set(host="127.0.0.1", port=self.port)
        return parsed.render_as_string(hide_password=False)

    def stop(self) -> None:
        pid = int((self.directory / "pgbouncer.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        shutil.rmtree(self.directory, ignore_errors=True)


def start(server_url: str) -> PrivatePgBouncer:
    server = make_url(server_url)
    directory = Path(tempfile.mkdtemp(prefix="lotgate-pgbouncer-"))
    directory.chmod(0o755)
    port = free_port()
    command = [
        str(ROOT / "ops" / "pgbouncer.sh"),
        str(directory),
        str(port),
        server.host or "127.0.0.1",
        str(server.port or 5432),
    ]
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin"}
    subprocess.run(command, check=True, capture_output=True, timeout=60, env=env)
    return PrivatePgBouncer(directory, port)
