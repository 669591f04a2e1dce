"""Every 4xx/5xx leaves as RFC 9457 application/problem+json.

Features raise a ProblemError subclass; the handlers below also translate
FastAPI's validation errors, Starlette's HTTP errors, database outages and any
unexpected exception, so that nothing reaches a client as a stack trace.
"""

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://lotgate.example/problems/"

logger = logging.getLogger("lotgate.errors")


class ProblemError(Exception):
    status: int = 500
    title: str = "Internal server error"
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})
        self.extensions = extensions


class BadRequest(ProblemError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(ProblemError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(ProblemError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ProblemError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ProblemError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(ProblemError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(ProblemError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class Unprocessable(ProblemError):
    status, title, slug = 422, "Unprocessable content", "validation-error"


class ServiceUnavailable(ProblemError):
    status, title, slug = 503, "Service unavailable", "service-unavailable"


def field_error(field: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {"field": field, "reason": reason, **extra}


def invalid(field: str, reason: str, **extra: Any) -> Unprocessable:
    """A 422 about one field, the most common refusal."""
    return Unprocessable(f"{field}: {reason}", errors=[field_error(field, reason, **extra)])


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    if extensions:
        body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"} and len(parts) > 1:
        return f"{parts[0]}." + ".".join(parts[1:])
    return ".".join(parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def problem_from(exc: ProblemError, instance: str) -> JSONResponse:
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        slug=exc.slug,
        instance=instance,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_from(exc, request.url.path)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        item: dict[str, Any] = {
            "field": _location(err.get("loc", ())),
            "reason": err.get("msg", "invalid"),
            "type": err.get("type", "value_error"),
        }
        ctx = err.get("ctx")
        if ctx and "expected" in ctx:
            item["allowed"] = _jsonable(ctx["expected"])
        errors.append(item)
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or "invalid request"
    return problem_response(
        422,
        "Unprocessable content",
        detail,
        slug="validation-error",
        instance=request.url.path,
        errors=errors,
    )


def _template_pattern(template: str) -> str:
    """/lots/{lot_id}/x -> a regex; ids are digits, as the routes' :int convertor demands."""
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join(
        (r"\d+" if part.endswith("_id}") else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the API documents for a concrete path (for 405's Allow header)."""
    patterns: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allow_patterns", None
    )
    if patterns is None:
        patterns = [
            (
                re.compile("^" + _template_pattern(template) + "$"),
                [method.upper() for method in item],
            )
            for template, item in app.openapi()["paths"].items()
        ]
        app.state.allow_patterns = patterns
    return sorted({m for pattern, methods in patterns if pattern.match(path) for m in methods})


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}
    title = titles.get(exc.status_code, "HTTP error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    detail, extensions = str(exc.detail), None
    limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    if exc.status_code == 413 and limit is not None:  # a body cut off mid-stream
        detail = f"The request body exceeds the limit of {limit} bytes."
        extensions = {"limit_bytes": limit}
    return problem_response(
        exc.status_code,
        title,
        detail,
        slug=title.lower().replace(" ", "-"),
        instance=request.url.path,
        headers=headers,
        extensions=extensions,
    )


def database_unavailable(path: str, exc: BaseException) -> JSONResponse:
    logger.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        503,
        "Service unavailable",
        "The database is not reachable; retry shortly.",
        slug="service-unavailable",
        instance=path,
        headers={"Retry-After": "5"},
    )


async def _database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    return database_unavailable(request.url.path, exc)


async def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "Internal server error",
        "An unexpected error occurred; it has been logged.",
        slug="internal-error",
        instance=request.url.path,
    )


# The server refuses a new connection: too_many_connections, cannot_connect_now (starting
# up or shutting down). Both pass; the request can be retried (a 503, not a 500).
REFUSED_CONNECTION_STATES = frozenset({"53300", "57P03"})


def is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeoutError | InterfaceError):
        return True
    if isinstance(exc, OperationalError | DBAPIError):
        refused = getattr(exc.orig, "sqlstate", None) in REFUSED_CONNECTION_STATES
        return (
            refused
            or bool(getattr(exc, "connection_invalidated", False))
            or isinstance(exc.orig, OSError | ConnectionError)
        )
    return isinstance(exc, OSError | ConnectionError)


async def _dbapi_handler(request: Request, exc: Exception) -> JSONResponse:
    if is_connection_error(exc):
        return await _database_unavailable_handler(request, exc)
    if isinstance(exc, IntegrityError):
        # A uniqueness or reference rule the service checks first, lost to a parallel request.
        return problem_response(
            409,
            "Conflict",
            "The change conflicts with data written at the same time; retry.",
            slug="conflict",
            instance=request.url.path,
        )
    if isinstance(exc, DataError):
        # A value the database cannot store (validation should have caught it first).
        logger.warning("database refused a value: %s", type(exc.orig).__name__)
        return problem_response(
            422,
            "Unprocessable content",
            "A value cannot be stored as sent.",
            slug="validation-error",
            instance=request.url.path,
        )
    return await _unexpected_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(DBAPIError, _dbapi_handler)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable_handler)
    app.add_exception_handler(ConnectionError, _database_unavailable_handler)
    app.add_exception_handler(TimeoutError, _database_unavailable_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
