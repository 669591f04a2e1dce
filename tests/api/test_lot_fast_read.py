"""GET /lots/{id} below FastAPI (app/lots/fast_read.py) answers exactly as the route."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.db import is_sqlite
from app.lots import service
from tests.api import factories
from tests.api.factories import problem
from tests.api.test_decisions import post


async def answers(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[Any, ...]:
    response = await client.get(path, headers=headers)
    shown = {k: v for k, v in response.headers.items() if k not in ("x-request-id",)}
    return response.status_code, response.content, shown


async def test_the_fast_path_answers_as_the_route(
    app: FastAPI, admin: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    held = await factories.lot(admin)  # on hold, with reasons
    path = f"/lots/{held['id']}"
    under_concession = await factories.lot(admin, supplier_id=held["supplier_id"], lot_number="C")
    await post(
        admin,
        f"/lots/{under_concession['id']}/concessions",
        {
            "reason": "Shortage",
            "legal_basis": "Ministerial order 12",
            "allowed_uses": ["non_medical"],
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
    )
    await viewer.get("/lots")  # the viewer's key is now known to the process
    etag = (await viewer.get(path)).headers["ETag"]
    cases = [
        (path, {}),
        (f"/lots/{under_concession['id']}", {}),
        (path, {"If-None-Match": etag}),
        (path, {"If-None-Match": f'"other", {etag}'}),
        (path, {"If-None-Match": '"other"'}),
        (path, {"If-None-Match": "*"}),
        ("/lots/999999", {}),
    ]
    fast = [await answers(viewer, p, **h) for p, h in cases]
    async with route_only_block(app):
        routed = [await answers(viewer, p, **h) for p, h in cases]
    assert fast == routed
    assert [status for status, _, _ in fast] == [200, 200, 304, 304, 200, 200, 404]
    assert fast[0][1] != b"" and fast[2][1] == b""


class route_only_block:
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __aenter__(self) -> None:
        self.settings = self.app.state.settings
        self.app.state.settings = self.settings.model_copy(update={"lot_read_fast_path": False})

    async def __aexit__(self, *_: object) -> None:
        self.app.state.settings = self.settings


async def test_the_fast_path_answers_without_the_route_on_postgresql(
    app: FastAPI, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe: with the route's read broken, only the fast path can answer."""
    lot = await factories.lot(admin)

    async def broken(*_: object) -> None:
        raise AssertionError("the route read the lot")

    monkeypatch.setattr(service, "read_lot", broken)
    if is_sqlite(str(app.state.engine.url)):
        with pytest.raises(AssertionError):  # SQLite: always the route
            await admin.get(f"/lots/{lot['id']}")
        return
    response = await admin.get(f"/lots/{lot['id']}")
    assert response.status_code == 200 and response.json() == lot


async def test_keys_and_writes_count_as_on_the_route(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    lot = await factories.lot(admin, quantity=1000)
    path = f"/lots/{lot['id']}"
    before = await admin.get(path)
    problem(await anonymous.get(f"/api/v1{path}"), 401)
    unknown = {"Authorization": "Bearer lg_not_a_key"}
    problem(await anonymous.get(f"/api/v1{path}", headers=unknown), 401)
    problem(await admin.get("/lots/0"), 422)
    await post(
        admin,
        f"{path}/distributions",
        {
            "destination": "UMC",
            "quantity": 10,
            "shipped_at": "2020-03-22T09:00:00Z",
            "intended_use": "healthcare_respiratory_protection",
            "override_reason": "Emergency before testing",
        },
    )
    after = await admin.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.json()["quantities"]["distributed"] == 10
