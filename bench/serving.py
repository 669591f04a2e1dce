"""The API (or a floor app) as every benchmark starts it: uvicorn on loopback, no access log.

The benchmarks run as scripts (``python bench/x.py``), so this sibling module is imported
as ``serving``.
"""

import sys

API = "app.main:create_app"


def uvicorn_command(
    port: int, *, workers: int = 1, app: str = API, quiet: bool = True
) -> list[str]:
    command = [sys.executable, "-m", "uvicorn", app]
    if app == API:
        command.append("--factory")
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command.append("--no-access-log")
    if quiet:
        command += ["--log-level", "warning"]
    return command
