"""Browser tests: Debian's chromium driven by Playwright against a real server process.

Chromium missing skips them, with the reason, except where LOTGATE_REQUIRE_BROWSER=1 (CI
sets it): there a missing browser fails the run instead of passing it unseen.
"""

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.api import factories, lot_states
from tests.conftest import TEST_DATABASE_URL, fresh_database, migrate
from tests.live.server import LiveServer, start_server

CHROMIUM = os.environ.get("LOTGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHIPMENTS = {"UMC Utrecht": 3000, "Hospital Nijmegen": 1000}


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("LOTGATE_REQUIRE_BROWSER") == "1":
        pytest.fail(message + "; LOTGATE_REQUIRE_BROWSER=1 demands the browser tests run")
    pytest.skip(message)


@dataclass(frozen=True)
class World:
    """The server, a key per role, and the lots the tests look at."""

    server: LiveServer
    keys: dict[str, str]
    key_ids: dict[str, int]
    rejected_lot: dict[str, Any]
    held_lot: dict[str, Any]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self, role: str = "admin") -> httpx.Client:
        key = self.server.admin_key if role == "admin" else self.keys[role]
        return httpx.Client(
            base_url=self.base_url + "/api/v1", headers={"Authorization": f"Bearer {key}"}
        )


async def _populate(server: LiveServer) -> tuple[dict[str, str], dict[str, int], Any, Any]:
    async with httpx.AsyncClient(
        base_url=server.base_url + "/api/v1", headers=server.admin_headers, timeout=30
    ) as admin:
        keys, key_ids = {}, {}
        for role in ("viewer", "returns", "inspector"):
            made = await factories.create(admin, "/keys", {"name": f"Browser {role}", "role": role})
            keys[role], key_ids[role] = made["key"], made["id"]
        supplier = await factories.supplier(admin, name="Shenzhen Example Medical")
        rejected = await lot_states.rejected_lot(
            admin, shipments=SHIPMENTS, supplier_id=supplier["id"], lot_number="RJ-2020-001"
        )
        await factories.create(
            admin,
            f"/lots/{rejected['id']}/certificates",
            {
                "type": "certificate_of_compliance",
                "number": "CoC-7781",
                "issuer": "Example Certification Ltd",
            },
        )
        held = None
        for number in range(1, 8):
            held = await factories.lot(admin, supplier["id"], lot_number=f"HOLD-{number:03d}")
        return keys, key_ids, rejected, held


# Per module: the server and its connections go when a module's tests are done, not at the
# end of the whole run (PostgreSQL's connection slots are shared with later tests).
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _require_browser()
    with fresh_database(tmp_path_factory) as url:
        server = start_server(migrate(url), tmp_path_factory.mktemp("browser-server"))
        try:
            keys, key_ids, rejected, held = asyncio.run(_populate(server))
            yield World(server, keys, key_ids, rejected, held)
        finally:
            server.stop()


@pytest.fixture(autouse=True)
def _clean_database() -> Iterator[None]:
    """The suite's async table cleaner cannot run beside Playwright's loop; these tests
    have a database of their own and clean nothing."""
    yield


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Browser]:
    """Started after the world and stopped after each module: Playwright's sync API keeps
    an event loop running in this thread meanwhile, where neither asyncio.run (migrations,
    test data) nor the async tests of other folders can run."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each page's picture goes (printed, to be looked at)."""
    database = "postgresql" if TEST_DATABASE_URL else "sqlite"
    folder = Path(os.environ.get("LOTGATE_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder = folder / database
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"\nscreenshots of the pages: {folder}")
    return folder


@pytest.fixture
def page(browser: Browser, world: World) -> Iterator[Page]:
    expect.set_options(timeout=30_000)
    context = browser.new_context(base_url=world.base_url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    # A loaded 2-core CI machine renders Swagger UI's whole schema in seconds, not in the
    # default 5: waits only, nothing asserts on time.
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def sign_in(page: Page, key: str, target: str = "/ui/lots") -> None:
    page.goto(target)
    assert "/ui/sign-in" in page.url
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{target}")
