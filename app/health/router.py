from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from app.errors import problem_response
from app.metrics import render
from app.migrations_state import current_revisions, head_revisions

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no database involved)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    responses={503: {"description": "Database unreachable or schema not at head"}},
)
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the migration head."""
    try:
        async with request.app.state.engine.connect() as connection:
            current = await current_revisions(connection)
    except (SQLAlchemyError, OSError, TimeoutError):
        return problem_response(
            503,
            "Service unavailable",
            "The database is not reachable.",
            slug="service-unavailable",
            instance="/readyz",
        )
    expected = request.app.state.head_revisions
    if current != expected:
        return problem_response(
            503,
            "Service unavailable",
            f"Database schema is at {sorted(current)}, expected {sorted(expected)}: "
            "run the migrations.",
            slug="schema-not-at-head",
            instance="/readyz",
        )
    return JSONResponse({"status": "ready", "schema": sorted(current)})


@router.get("/metrics", operation_id="metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics (aggregated over worker processes)."""
    body, content_type = render()
    return Response(body, media_type=content_type)


__all__ = ["head_revisions", "router"]
