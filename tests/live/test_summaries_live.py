"""A real server: summaries by received range (rollups by day and week, partial days from
the lots) equal the lots' own totals, written and read over HTTP; and GET /lots/{id}
(answered below FastAPI on PostgreSQL) equals the lot the server returned on creation."""

from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from tests.api import summary_oracle
from tests.live.server import start_server

RECEIVED = [
    "2020-03-01T23:59:59Z",  # a Sunday night: the week before
    "2020-03-02T00:00:00Z",  # Monday midnight
    "2020-03-04T13:30:00Z",
    "2020-03-09T08:00:00Z",
    "2020-03-17T21:15:00Z",
    "2020-03-31T23:00:00Z",
]
RANGES = [
    {},
    {"received_from": "2020-03-02T00:00:00Z"},
    {"received_from": "2020-03-01T12:00:00Z", "received_to": "2020-03-17T21:15:00Z"},
    {"received_from": "2020-03-04T13:30:00Z", "received_to": "2020-03-04T13:30:01Z"},
    {"received_to": "2020-03-09T08:00:00Z", "product": "KN95"},
    {"received_from": "2020-03-03T00:00:00Z", "ordered_as": "FFP2", "status": "on_hold"},
]


async def test_summaries_and_lot_reads_from_a_real_server(
    live_database: str, tmp_path: Path
) -> None:
    server = start_server(live_database, tmp_path, extra_env={"LOTGATE_ANSWER_CACHE_ENTRIES": "0"})
    try:
        async with httpx.AsyncClient(
            base_url=f"{server.base_url}/api/v1", headers=server.admin_headers, timeout=30
        ) as client:
            supplier = (
                await client.post(
                    "/suppliers", json={"name": "Live", "country": "CN", "roles": ["manufacturer"]}
                )
            ).json()
            created = []
            for n, received in enumerate(RECEIVED):
                product = ("FFP2", "KN95")[n % 2]
                response = await client.post(
                    "/lots",
                    json={
                        "lot_number": f"LIVE-{n}",
                        "supplier_id": supplier["id"],
                        "product": product,
                        "ordered_as": "FFP2",
                        "quantity": 100 * (n + 1),
                        "received_at": received,
                    },
                )
                assert response.status_code == 201, response.text
                created.append(response.json())
            for lot in created:
                for _ in range(2):  # the first may be the route's, the second the fast path's
                    read = await client.get(f"/lots/{lot['id']}")
                    assert read.status_code == 200 and read.json() == lot
            engine = create_async_engine(live_database)
            try:
                lots = await summary_oracle.lot_rows(engine)
            finally:
                await engine.dispose()
            for params in RANGES:
                response = await client.get("/dashboard/summary", params=params)
                assert response.status_code == 200, response.text
                assert response.json() == summary_oracle.summary(lots, params), params
    finally:
        server.stop()
