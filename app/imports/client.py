"""`lotgate import`: send a file to a lotgate API, follow its job, show the report."""

import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

POLL_SECONDS = 0.5
TERMINAL = ("done", "failed")


def error_table(errors: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("line", justify="right")
    table.add_column("column")
    table.add_column("reason")
    for error in errors:
        line = error.get("line")
        column = error.get("column") or error.get("field", "")
        table.add_row("" if line is None else str(line), str(column), str(error["reason"]))
    return table


def summary_table(job: dict[str, Any]) -> Table:
    table = Table(title=f"import {job['id']}: {job['state']}", show_header=False)
    result = job.get("result") or {}
    for label, value in (
        ("file", f"{job['filename']} ({job['format']}, {job['kind']})"),
        ("rows", f"{job['rows_processed']} of {job['rows_total']}"),
        ("created", result.get("created", "")),
        ("lots decided", result.get("lots_decided", "")),
        ("decision events", result.get("decision_events", "")),
    ):
        table.add_row(label, str(value))
    return table


def _follow(
    client: httpx.Client, location: str, job: dict[str, Any], console: Console
) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(job["state"], total=job["rows_total"] or None)
        while job["state"] not in TERMINAL:
            time.sleep(POLL_SECONDS)
            response = client.get(location)
            response.raise_for_status()
            job = response.json()
            progress.update(
                task,
                description=job["state"],
                completed=job["rows_processed"],
                total=job["rows_total"] or None,
            )
    return job


def run(path: Path, *, kind: str, url: str, key: str, force: bool, console: Console) -> bool:
    """Import the file; True when it was imported."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=300) as client:
        with path.open("rb") as handle:
            response = client.post(
                "/api/v1/imports",
                data={"kind": kind, "force": "true" if force else "false"},
                files={"file": (path.name, handle)},
            )
        body: dict[str, Any] = response.json()
        if response.status_code >= 400:
            title = f"{response.status_code} {body.get('title', '')}"
            console.print(f"[bold red]{title}[/]: {body.get('detail', '')}")
            if body.get("errors"):
                console.print(error_table(body["errors"], "problems"))
            return False
        if response.status_code == 202:
            body = _follow(client, response.headers["location"], body, console)
    console.print(summary_table(body))
    if body["state"] != "done":
        console.print(error_table(body["errors"], "nothing was imported; fix these rows"))
        return False
    return True
