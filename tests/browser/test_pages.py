"""The pages as a person uses them, in Chromium, against a real server process."""

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import World, sign_in


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def test_sign_in_filter_open_history_acknowledge_sign_out(
    page: Page, world: World, screenshots: Path
) -> None:
    page.goto("/")
    shot(page, screenshots, "home")
    page.get_by_role("link", name="Lots", exact=True).click()
    shot(page, screenshots, "sign-in")
    sign_in(page, world.keys["returns"])
    expect(page.get_by_role("heading", name="Lots", exact=True)).to_be_visible()
    shot(page, screenshots, "lots")

    # Filter by status: only the rejected lot is left (htmx swaps the results in).
    page.get_by_label("Rejected").check()
    page.get_by_role("button", name="Show lots").click()
    expect(page.locator("table.lots tbody tr")).to_have_count(1)
    assert "status=rejected" in page.url
    lot_link = page.get_by_role("link", name="RJ-2020-001")
    expect(lot_link).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("HOLD-"))).to_have_count(0)

    lot_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lot RJ-2020-001")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rejected")
    expect(page.locator(".flag").first).to_contain_text("certificate of compliance")
    shot(page, screenshots, "lot")

    page.get_by_role("link", name=re.compile(r"Decision history \(\d+\)")).click()
    assert page.url.endswith("#history")
    timeline = page.locator("#history .timeline > li")
    expect(timeline.first).to_contain_text("Lot received")
    expect(timeline.last).to_contain_text("Certificate added")
    expect(page.locator("#history")).to_contain_text("Inspection")

    page.get_by_role("link", name="Recall by site").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recall of lot RJ-2020-001")
    page.get_by_label("Contact at UMC Utrecht").fill("J. de Vries, pharmacy")
    row = page.get_by_role("row", name=re.compile("UMC Utrecht"))
    row.get_by_role("button", name="Record acknowledgement").click()
    expect(page.get_by_role("status")).to_contain_text("UMC Utrecht acknowledged the recall")
    expect(page.get_by_role("row", name=re.compile("UMC Utrecht"))).to_contain_text(
        "J. de Vries, pharmacy"
    )
    shot(page, screenshots, "recall")
    with world.api("viewer") as api:
        recall = api.get(f"/lots/{world.rejected_lot['id']}/recall").json()
    acknowledged = {d["destination"]: d["acknowledged"] for d in recall["destinations"]}
    assert acknowledged == {"Hospital Nijmegen": False, "UMC Utrecht": True}

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download as CSV")).click()
    csv_text = Path(download.value.path()).read_text()
    assert "UMC Utrecht" in csv_text and "J. de Vries, pharmacy" in csv_text

    for name in ("Recalls", "Suppliers", "Summary"):
        page.get_by_role("navigation", name="Pages").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        shot(page, screenshots, name.lower())
    expect(page.get_by_role("link", name="CSV", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    page.goto("/ui/lots")
    assert "/ui/sign-in" in page.url


def test_a_viewer_sees_a_recall_but_cannot_acknowledge(page: Page, world: World) -> None:
    sign_in(page, world.keys["viewer"], f"/ui/recalls/{world.rejected_lot['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recall of lot")
    expect(page.get_by_role("button", name="Record acknowledgement")).to_have_count(0)
    expect(page.get_by_text("may look but not record acknowledgements")).to_be_visible()
    page.goto("/ui/summary")
    expect(page.get_by_text("may not export it")).to_be_visible()
    expect(page.get_by_role("link", name="CSV", exact=True)).to_have_count(0)

    # Sent anyway, with the viewer's own valid CSRF token: refused, nothing recorded.
    token = page.locator("form.who input[name=csrf_token]").input_value()
    answer = page.request.post(
        f"/ui/recalls/{world.rejected_lot['id']}/acknowledgements",
        form={"csrf_token": token, "destination": "Hospital Nijmegen", "contact": "X"},
    )
    assert answer.status == 403
    assert "may not acknowledge" in answer.text()
    with world.api("viewer") as api:
        recall = api.get(f"/lots/{world.rejected_lot['id']}/recall").json()
    assert not any(
        d["acknowledged"] for d in recall["destinations"] if d["destination"] == "Hospital Nijmegen"
    )


def test_pages_work_with_javascript_off(browser: Browser, world: World) -> None:
    context = browser.new_context(base_url=world.base_url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, world.keys["viewer"])
        page.get_by_label("Lot number starts with").fill("HOLD-")
        page.get_by_role("button", name="Show lots").click()
        expect(page.locator("table.lots tbody tr")).to_have_count(7)
        assert "q=HOLD-" in page.url
        expect(page.get_by_role("link", name="Next page")).to_have_count(0)
        page.get_by_role("link", name="HOLD-007").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("On hold")
    finally:
        context.close()


def test_a_revoked_keys_session_stops_working(page: Page, world: World) -> None:
    with world.api("admin") as api:
        made = api.post("/keys", json={"name": "Soon revoked", "role": "inspector"}).json()
    sign_in(page, made["key"])
    expect(page.get_by_role("heading", name="Lots", exact=True)).to_be_visible()
    with world.api("admin") as api:
        assert api.delete(f"/keys/{made['id']}").status_code == 204
    page.goto("/ui/lots")
    assert "/ui/sign-in" in page.url
    expect(page.get_by_role("status")).to_contain_text("revoked")


def test_a_wrong_key_is_refused_and_no_page_shows_a_key(page: Page, world: World) -> None:
    page.goto("/ui/sign-in")
    page.get_by_label("API key").fill("lg_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    sign_in(page, world.keys["returns"])
    for path in ("/ui/lots", f"/ui/lots/{world.rejected_lot['id']}", "/ui/summary"):
        page.goto(path)
        assert world.keys["returns"] not in page.content()
    cookie = next(c for c in page.context.cookies() if c["name"] == "lotgate_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert world.keys["returns"] not in cookie["value"]
