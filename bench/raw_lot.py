"""The floor for GET /lots/{id}: a bare ASGI app that reads the same row with asyncpg and
answers it as JSON; no framework, no key, no validation. bench/load.py starts it with
uvicorn as its own process (same worker count) and drives it like the API.

    LOTGATE_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.raw_lot:app --port 8770
"""

import os
from typing import Any

import asyncpg
from pydantic_core import to_json

_URL = os.environ.get("LOTGATE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_DSN = _URL.replace("postgresql+asyncpg://", "postgresql://", 1)
_LOT = (
    "SELECT id, lot_number, supplier_id, manufacturer_id, product, ordered_as, quantity, unit,"
    " received_at, purchase_order, ear_loops, created_at, distributed, site_returned,"
    " site_destroyed, site_consumed, returned_to_supplier, status, disposition, to_recall,"
    " to_return, releasable, reasons, allowed_uses, decided_at, policy_version,"
    " decision_valid_until, severity, supplier_discontinued, inspection_accepted"
    " FROM lots WHERE id = $1"
)
_pool: Any = None


async def _respond(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Any, receive: Any, send: Any) -> None:
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = await asyncpg.create_pool(_DSN, min_size=16, max_size=20)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/readyz":
        await _respond(send, 200, b"{}")
        return
    try:
        lot_id = int(path.rsplit("/", 1)[1])
    except ValueError:
        await _respond(send, 404, b"{}")
        return
    row = await _pool.fetchrow(_LOT, lot_id)
    await _respond(send, 200 if row else 404, to_json(dict(row)) if row else b"{}")
