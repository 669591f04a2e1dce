"""axe-core (shipped with axe-playwright-python) on every page: no serious or critical
violations. The API documentation too: it must load its assets from the app."""

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import World, sign_in

SIGNED_IN_PAGES = {
    "lots": "/ui/lots",
    "lots-filtered": "/ui/lots?status=on_hold&q=HOLD",
    "lot": "/ui/lots/{lot}",
    "recalls": "/ui/recalls",
    "recall": "/ui/recalls/{lot}",
    "suppliers": "/ui/suppliers",
    "summary": "/ui/summary",
    "not-found": "/ui/lots/999999",
}
SERIOUS = {"serious", "critical"}


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("name", list(SIGNED_IN_PAGES))
def test_signed_in_pages_have_no_serious_violations(
    page: Page, world: World, screenshots: Path, name: str
) -> None:
    sign_in(page, world.keys["returns"])
    page.goto(SIGNED_IN_PAGES[name].format(lot=world.rejected_lot["id"]))
    page.screenshot(path=screenshots / f"a11y-{name}.png", full_page=True)
    assert serious_violations(page) == []


@pytest.mark.parametrize("path", ["/", "/ui/sign-in"])
def test_public_pages_have_no_serious_violations(page: Page, path: str) -> None:
    page.goto(path)
    assert serious_violations(page) == []


def outside_responses(page: Page, world: World, path: str) -> list[str]:
    """Open a page and list what answered it from anywhere but the app (nothing should:
    an intranet has no internet)."""
    answered: list[str] = []
    page.on("response", lambda response: answered.append(response.url))
    page.goto(path)
    return [url for url in answered if not url.startswith((world.base_url, "blob:", "data:"))]


def test_swagger_ui_works_offline_and_passes_axe(
    page: Page, world: World, screenshots: Path
) -> None:
    outside = outside_responses(page, world, "/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/lots").first).to_be_visible()
    expect(page.get_by_role("heading", name="Schemas")).to_be_visible()
    page.screenshot(path=screenshots / "docs.png")
    assert outside == []
    assert serious_violations(page) == []


def test_redoc_works_offline_and_passes_axe(page: Page, world: World, screenshots: Path) -> None:
    outside = outside_responses(page, world, "/redoc")
    expect(
        page.get_by_role("heading", name="list_lots")
        .or_(page.get_by_role("heading", name="List Lots"))
        .first
    ).to_be_visible()
    page.screenshot(path=screenshots / "redoc.png")
    assert outside == []
    assert serious_violations(page) == []
