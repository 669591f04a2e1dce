"""Every endpoint, every role, and no key: 401 without a key, 403 for a role not allowed,
and neither for a role that is. New endpoints must be added to EXPECTED."""

import httpx
import pytest
from fastapi import FastAPI

from app.auth.models import Role

PUBLIC = "public"
ALL = {Role.admin, Role.inspector, Role.returns, Role.viewer}
ADMIN = {Role.admin}
INSPECT = {Role.admin, Role.inspector}
RETURNS = {Role.admin, Role.returns}

EXPECTED: dict[tuple[str, str], set[Role] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/v1/suppliers"): INSPECT,
    ("GET", "/api/v1/suppliers"): ALL,
    ("GET", "/api/v1/suppliers/{supplier_id}"): ALL,
    ("PATCH", "/api/v1/suppliers/{supplier_id}"): INSPECT,
    ("GET", "/api/v1/products"): ALL,
    ("POST", "/api/v1/lots"): INSPECT,
    ("GET", "/api/v1/lots"): ALL,
    ("GET", "/api/v1/lots/{lot_id}"): ALL,
    ("POST", "/api/v1/lots/{lot_id}/certificates"): INSPECT,
    ("GET", "/api/v1/lots/{lot_id}/certificates"): ALL,
    ("PUT", "/api/v1/lots/{lot_id}/certificates/{certificate_id}/verification"): INSPECT,
    ("POST", "/api/v1/lots/{lot_id}/inspections"): INSPECT,
    ("GET", "/api/v1/lots/{lot_id}/inspections"): ALL,
    ("POST", "/api/v1/lots/{lot_id}/distributions"): INSPECT,
    ("GET", "/api/v1/lots/{lot_id}/distributions"): ALL,
    ("POST", "/api/v1/lots/{lot_id}/site-returns"): RETURNS,
    ("GET", "/api/v1/lots/{lot_id}/site-returns"): ALL,
    ("GET", "/api/v1/sampling-plans"): ALL,
    ("GET", "/api/v1/lots/{lot_id}/sampling-plan"): ALL,
    ("GET", "/api/v1/lots/{lot_id}/decision"): ALL,
    ("GET", "/api/v1/lots/{lot_id}/decisions"): ALL,
    ("POST", "/api/v1/lots/{lot_id}/concessions"): ADMIN,
    ("GET", "/api/v1/lots/{lot_id}/concessions"): ALL,
    ("GET", "/api/v1/suppliers/{supplier_id}/quality"): ALL,
    ("POST", "/api/v1/suppliers/{supplier_id}/reinstatements"): ADMIN,
    ("GET", "/api/v1/audit"): ADMIN,
    ("GET", "/api/v1/keys"): ADMIN,
    ("POST", "/api/v1/keys"): ADMIN,
    ("DELETE", "/api/v1/keys/{key_id}"): ADMIN,
    ("POST", "/api/v1/returns"): RETURNS,
    ("GET", "/api/v1/returns"): RETURNS,
    ("GET", "/api/v1/returns/{return_id}"): RETURNS,
    ("POST", "/api/v1/returns/{return_id}/transitions"): RETURNS,
    ("GET", "/api/v1/recalls"): ALL,
    ("GET", "/api/v1/lots/{lot_id}/recall"): ALL,
    ("POST", "/api/v1/lots/{lot_id}/recall/acknowledgements"): RETURNS,
    ("GET", "/api/v1/exports/reject-list"): RETURNS,
    ("GET", "/api/v1/dashboard/summary"): ALL,
    ("GET", "/api/v1/suppliers/scorecards"): ALL,
    ("POST", "/api/v1/imports"): INSPECT,
    ("GET", "/api/v1/imports/{import_id}"): ALL,
    ("GET", "/api/v1/imports/templates/{kind}"): ALL,
    ("POST", "/api/v1/lots/{lot_id}/complaints"): {Role.admin, Role.inspector, Role.returns},
    ("GET", "/api/v1/lots/{lot_id}/complaints"): ALL,
    ("GET", "/api/v1/complaints"): ALL,
    ("POST", "/api/v1/alerts"): INSPECT,
    ("POST", "/api/v1/alerts/import"): INSPECT,
    ("GET", "/api/v1/alerts"): ALL,
    ("GET", "/api/v1/alerts/{alert_id}"): ALL,
    ("GET", "/api/v1/alerts/{alert_id}/matches"): ALL,
    ("POST", "/api/v1/alerts/{alert_id}/matches/{match_id}/review"): INSPECT,
}


def api_operations(app: FastAPI) -> set[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


async def test_every_endpoint_is_in_the_matrix(app: FastAPI) -> None:
    assert api_operations(app) == set(EXPECTED)


def _url(path: str) -> str:
    return "/".join("1" if part.startswith("{") else part for part in path.split("/"))


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
async def test_roles(
    anonymous: httpx.AsyncClient, keys: dict[Role, str], method: str, path: str
) -> None:
    allowed = EXPECTED[(method, path)]
    url = _url(path)
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    unauthenticated = await anonymous.request(method, url, json=body)
    if allowed == PUBLIC:
        assert unauthenticated.status_code not in (401, 403), unauthenticated.text
        return
    assert unauthenticated.status_code == 401, unauthenticated.text
    for role, key in keys.items():
        response = await anonymous.request(
            method, url, json=body, headers={"Authorization": f"Bearer {key}"}
        )
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["allowed_roles"] == sorted(r.value for r in allowed)
