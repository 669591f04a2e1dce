"""Small helpers that create records through the API, as a client would."""

from typing import Any

import httpx


async def create(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def supplier(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Shenzhen Example Medical", "country": "CN", "roles": ["manufacturer"]}
    return await create(client, "/suppliers", {**body, **overrides})


def lot_body(supplier_id: int, **overrides: Any) -> dict[str, Any]:
    """What POST /lots takes: an FFP2 lot of 10,000 unless told otherwise."""
    body = {
        "lot_number": "LOT-001",
        "supplier_id": supplier_id,
        "product": "FFP2",
        "ordered_as": "FFP2",
        "quantity": 10_000,
        "received_at": "2020-03-21T09:00:00Z",
    }
    return {**body, **overrides}


async def lot(
    client: httpx.AsyncClient, supplier_id: int | None = None, **overrides: Any
) -> dict[str, Any]:
    if supplier_id is None:
        supplier_id = (await supplier(client))["id"]
    return await create(client, "/lots", lot_body(supplier_id, **overrides))


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem of that status and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    return body


def fields(problem_body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem_body.get("errors", [])}
