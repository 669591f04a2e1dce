"""Paging as a client does it against a real server: follow Link: rel="next" to the end."""

from typing import Any

import httpx

from tests.live.server import LiveServer


def follow_links(client: httpx.Client, url: str, between: Any = None) -> list[dict[str, Any]]:
    """Every item of a collection, one request per page, by the Link headers alone."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        link = response.links.get("next")
        next_url = link["url"] if link else None
        assert (next_url is None) == (body["next_cursor"] is None), response.headers
        if next_url is not None and between is not None:
            between()
    return items


def test_a_client_pages_by_following_link_headers(live_server: LiveServer) -> None:
    with httpx.Client(
        base_url=live_server.base_url, headers=live_server.admin_headers, timeout=30
    ) as client:
        supplier_ids = []
        for i in range(7):
            body = {"name": f"Linked {i}", "country": "NL", "roles": ["distributor"]}
            created = client.post("/api/v1/suppliers", json=body)
            assert created.status_code == 201, created.text
            supplier_ids.append(created.json()["id"])
        lot_ids = []
        for i in range(5):
            body = {
                "lot_number": f"LINK-{i}",
                "supplier_id": supplier_ids[0],
                "product": "FFP2",
                "ordered_as": "FFP2",
                "quantity": 100,
                "received_at": f"2020-03-0{i + 1}T00:00:00Z",
            }
            lot_ids.append(client.post("/api/v1/lots", json=body).json()["id"])

        added = []

        def add_supplier() -> None:
            body = {"name": f"Added {len(added)}", "country": "NL", "roles": ["distributor"]}
            added.append(client.post("/api/v1/suppliers", json=body).json()["id"])

        paged = follow_links(client, "/api/v1/suppliers?limit=2", between=add_supplier)
        ids = [supplier["id"] for supplier in paged]
        assert ids == sorted(set(ids)) and set(supplier_ids) <= set(ids)
        assert added and set(ids) - set(supplier_ids) <= set(added)

        # Filters and sort travel in the Link: oldest first, this supplier's lots only.
        lots = follow_links(
            client, f"/api/v1/lots?supplier_id={supplier_ids[0]}&sort=received_at&limit=2"
        )
        assert [lot["id"] for lot in lots] == lot_ids

        first = client.get("/api/v1/lots", params={"limit": 2})
        cursor = first.json()["next_cursor"]
        altered = "A" if cursor[-1] != "A" else "B"
        tampered = client.get("/api/v1/lots", params={"cursor": cursor[:-1] + altered})
        assert tampered.status_code == 422
        assert tampered.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in tampered.json()["errors"]] == ["query.cursor"]
        too_many = client.get("/api/v1/suppliers", params={"limit": 501})
        assert too_many.status_code == 422
