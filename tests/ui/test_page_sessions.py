"""Sign-in, the session cookie, CSRF and the docs' assets, in process (the browser suite
in tests/browser drives the same through Chromium against a real server)."""

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app.auth.models import Role
from app.ui.sessions import COOKIE
from tests.api import lot_states

SITES = {"UMC Utrecht": 300}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@asynccontextmanager
async def signed_in(
    app: FastAPI, key: str, base_url: str = "http://test"
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client signed in with ``key``, and the Set-Cookie header that did it."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        form = await client.get("/ui/sign-in")
        answer = await client.post(
            "/ui/sign-in", data={"api_key": key, "csrf_token": csrf_of(form.text)}
        )
        assert answer.status_code == 303, answer.text
        yield client, answer.headers["set-cookie"]


async def test_the_session_cookie_is_httponly_strict_and_secure_over_https(
    app: FastAPI, keys: dict[Role, str]
) -> None:
    for base_url, secure in (("http://test", False), ("https://test", True)):
        async with signed_in(app, keys[Role.viewer], base_url) as (client, set_cookie):
            attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
            assert set_cookie.startswith(COOKIE + "=")
            assert {"httponly", "max-age", "path"} <= attributes
            assert "samesite=strict" in set_cookie.lower()
            assert ("secure" in attributes) is secure
            assert keys[Role.viewer] not in set_cookie
            assert (await client.get("/ui/lots")).status_code == 200


async def test_sign_in_without_the_forms_token_is_refused(
    anonymous: httpx.AsyncClient, keys: dict[Role, str]
) -> None:
    await anonymous.get("/ui/sign-in")
    answer = await anonymous.post(
        "/ui/sign-in", data={"api_key": keys[Role.admin], "csrf_token": "guessed"}
    )
    assert answer.status_code == 403
    assert (await anonymous.get("/ui/lots")).status_code == 303


async def test_sign_in_goes_back_only_to_a_page_of_this_site(
    app: FastAPI, keys: dict[Role, str]
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        token = csrf_of((await client.get("/ui/sign-in")).text)
        answer = await client.post(
            "/ui/sign-in",
            data={"api_key": keys[Role.viewer], "csrf_token": token, "next": "//evil.example/"},
        )
        assert answer.headers["location"] == "/ui/lots"


async def test_an_acknowledgement_without_the_token_writes_nothing(
    app: FastAPI, admin: httpx.AsyncClient, keys: dict[Role, str]
) -> None:
    lot = await lot_states.rejected_lot(admin, shipments=SITES)
    async with signed_in(app, keys[Role.returns]) as (client, _):
        path = f"/ui/recalls/{lot['id']}/acknowledgements"
        form = {
            "destination": "UMC Utrecht",
            "contact": "J.",
            "acknowledged_at": "2020-03-28T09:00",
        }
        refused = await client.post(path, data=form)
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        recall = (await admin.get(f"/lots/{lot['id']}/recall")).json()
        assert recall["totals"]["acknowledged"] == 0

        page = await client.get(f"/ui/recalls/{lot['id']}")
        accepted = await client.post(path, data={**form, "csrf_token": csrf_of(page.text)})
        assert accepted.status_code == 303
        recall = (await admin.get(f"/lots/{lot['id']}/recall")).json()
        assert recall["totals"]["acknowledged"] == 1


async def test_an_expired_or_forged_session_is_sent_to_sign_in(
    app: FastAPI, keys: dict[Role, str]
) -> None:
    async with signed_in(app, keys[Role.viewer]) as (client, _):
        real = app.state.session_cookies
        value = real.serializer.loads(client.cookies[COOKIE])
        hours = real.max_age / 3600

        class SignedLongAgo(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time() - (hours + 1) * 3600)

        old = URLSafeTimedSerializer(
            real.serializer.secret_keys[-1], salt=real.serializer.salt, signer=SignedLongAgo
        )
        forged = URLSafeTimedSerializer("another secret", salt=real.serializer.salt)
        for cookie in (old.dumps(value), forged.dumps(value)):
            client.cookies.set(COOKIE, cookie)
            answer = await client.get("/ui/lots")
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/ui/sign-in")


async def test_a_bad_filter_is_a_page_naming_the_field(app: FastAPI, keys: dict[Role, str]) -> None:
    async with signed_in(app, keys[Role.viewer]) as (client, _):
        answer = await client.get("/ui/lots", params={"supplier_id": "abc", "status": "lost"})
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("text/html")
        assert "query.supplier_id" in answer.text or "query.status" in answer.text


async def test_the_api_docs_load_nothing_from_outside(anonymous: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        html = (await anonymous.get(path)).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, html
        assert all(s.startswith("/") for s in sources), sources
        for source in sources:
            assert (await anonymous.get(source)).status_code == 200, source


async def test_the_start_page_links_the_pages_and_docs(anonymous: httpx.AsyncClient) -> None:
    html = (await anonymous.get("/")).text
    for link in ("/ui/lots", "/ui/recalls", "/ui/suppliers", "/ui/summary", "/docs", "/redoc"):
        assert f'href="{link}"' in html


async def test_keys_guessed_at_the_sign_in_page_are_throttled_as_at_the_api(
    app: FastAPI, keys: dict[Role, str]
) -> None:
    """Past LOTGATE_AUTH_FAILURE_RATE (20/minute in tests) an address gets 429 with
    Retry-After, on the page as on the API, and a good key does not get in meanwhile."""
    # An address of its own: the app (and its throttle) is shared by the whole session.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.77", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        statuses = []
        for attempt in range(21):
            token = csrf_of((await client.get("/ui/sign-in")).text)
            answer = await client.post(
                "/ui/sign-in", data={"api_key": f"lg_guess_{attempt}", "csrf_token": token}
            )
            statuses.append(answer.status_code)
        assert statuses == [401] * 20 + [429], statuses
        assert int(answer.headers["retry-after"]) >= 1
        token = csrf_of((await client.get("/ui/sign-in")).text)
        good = await client.post(
            "/ui/sign-in", data={"api_key": keys[Role.viewer], "csrf_token": token}
        )
        assert good.status_code == 429
        api = await client.get("/api/v1/lots", headers={"Authorization": "Bearer lg_guess"})
        assert api.status_code == 429
