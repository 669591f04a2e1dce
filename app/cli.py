"""`lotgate` command line: API keys and start-up chores."""

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import httpx
import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import KeyState, create_key, ensure_key, has_active_admin
from app.auth.models import Role
from app.config import get_settings
from app.db import is_sqlite, make_engine, make_sessionmaker
from app.decisions.policy import policy_from_settings
from app.imports import client as import_client
from app.imports.columns import ImportKind
from app.imports.jobs import ImportContext
from app.imports.runners import ProcrastinateRunner
from app.seed.run import seed as seed_database

cli = typer.Typer(help="lotgate: quality-inspection tracker", no_args_is_help=True)
keys = typer.Typer(help="Manage API keys", no_args_is_help=True)
cli.add_typer(keys, name="keys")

T = TypeVar("T")

REFUSED_ADMIN_KEY = {
    KeyState.revoked: "LOTGATE_ADMIN_KEY names a key that was revoked; it stays revoked. "
    "Set LOTGATE_ADMIN_KEY to a new key (or unset it and use another admin key).",
    KeyState.other_role: "LOTGATE_ADMIN_KEY names a key whose role is not admin; it is "
    "not promoted. Set LOTGATE_ADMIN_KEY to a new key.",
}


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = make_engine(get_settings())
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@keys.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, inspector, returns or viewer")],
    name: Annotated[str, typer.Option(help="Who or what uses this key (shown in the audit)")],
) -> None:
    """Create an API key and print it once: only its hash is stored."""

    async def work(session: AsyncSession) -> str:
        return await create_key(session, name=name, role=role)

    key = _in_transaction(work)
    typer.echo(f"Created {role.value} key '{name}'. It is shown only now:\n{key}")


@cli.command("bootstrap")
def bootstrap(
    url: Annotated[str, typer.Option(help="Where the API will be served")] = (
        "http://127.0.0.1:8000"
    ),
) -> None:
    """Make sure an admin key exists (LOTGATE_ADMIN_KEY, or a new one) and say how to use it."""
    settings = get_settings()
    admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None

    async def work(session: AsyncSession) -> str | KeyState | None:
        if admin_key:
            return await ensure_key(
                session, name="admin (LOTGATE_ADMIN_KEY)", role=Role.admin, key=admin_key
            )
        if await has_active_admin(session):
            return None
        return await create_key(session, name="admin (bootstrap)", role=Role.admin)

    created = _in_transaction(work)
    if created in REFUSED_ADMIN_KEY:
        typer.echo(REFUSED_ADMIN_KEY[KeyState(created)], err=True)
        raise typer.Exit(1)
    if admin_key:
        typer.echo("Admin key from LOTGATE_ADMIN_KEY is active.")
        shown = "$LOTGATE_ADMIN_KEY"
    elif created:
        typer.echo(f"Created an admin API key; it is shown only now:\n\n    {created}\n")
        shown = created
    else:
        typer.echo("An admin key already exists; create more with `lotgate keys create`.")
        shown = "<your key>"
    typer.echo(
        "Use it as:  curl -H 'Authorization: Bearer "
        f"{shown}' {url}/api/v1/lots\nOpenAPI docs: {url}/docs"
    )


@cli.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX")
    ],
    kind: Annotated[ImportKind, typer.Option(help="lots, inspections or certificates")],
    url: Annotated[str, typer.Option(help="The lotgate API")] = "http://127.0.0.1:8000",
    key: Annotated[
        str, typer.Option(envvar="LOTGATE_API_KEY", help="API key (or LOTGATE_API_KEY)")
    ] = "",
    force: Annotated[bool, typer.Option(help="Import even if this file was imported")] = False,
) -> None:
    """Import a file through the API: a progress bar while it runs, then the report."""
    if not key:
        raise typer.BadParameter("an API key is needed: --key or LOTGATE_API_KEY", param_hint="key")
    console = Console()
    try:
        imported = import_client.run(
            file, kind=kind.value, url=url, key=key, force=force, console=console
        )
    except httpx.HTTPError as exc:
        console.print(f"[bold red]Cannot reach {url}[/]: {exc}")
        raise typer.Exit(2) from exc
    raise typer.Exit(0 if imported else 1)


@cli.command("worker")
def worker() -> None:
    """Run import jobs from the PostgreSQL queue (start as many as you like, on any machine).

    Set LOTGATE_IMPORT_WORKER_IN_API=false on the API to leave the work to these.
    """
    settings = get_settings()
    if is_sqlite(settings.database_url):
        typer.echo("SQLite: the API runs imports itself; no worker is needed.")
        raise typer.Exit(1)

    async def work() -> None:
        engine = make_engine(settings)
        context = ImportContext(make_sessionmaker(engine), policy_from_settings(settings), settings)
        runner = ProcrastinateRunner(context, run_worker=False)
        await runner.start()
        try:
            await runner.work()
        finally:
            await runner.stop()
            await engine.dispose()

    asyncio.run(work())


@cli.command("seed")
def seed_command(
    lots: Annotated[int, typer.Option(min=1, max=50_000_000, help="How many lots to create")],
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same data")] = 1,
    database_url: Annotated[
        str | None, typer.Option(help="Default: LOTGATE_DATABASE_URL (must be migrated)")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="PostgreSQL: processes building lots")
    ] = max(1, os.cpu_count() or 1),
) -> None:
    """Fill the database with realistic synthetic lots, decided by the real engine."""
    url = database_url or get_settings().direct_url
    report = asyncio.run(seed_database(url, lots, seed, workers, say=typer.echo))
    rows = ", ".join(f"{n} {table}" for table, n in sorted(report.rows.items()))
    typer.echo(
        f"Seeded {report.lots} lots from {report.suppliers} suppliers in "
        f"{report.seconds:.1f} s ({report.lots / report.seconds:,.0f} lots/s): {rows}"
    )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
