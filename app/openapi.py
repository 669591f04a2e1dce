"""Document every refusal: problem+json bodies on every operation's 4xx/5xx responses."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from app.errors import PROBLEM_JSON


class FieldProblem(BaseModel):
    field: str = Field(description="Where: body.quantity, query.aql, header.If-Match ...")
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None

    model_config = {"extra": "allow"}


_DESCRIPTIONS = {
    400: "Bad request",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role may not do this",
    404: "No such resource",
    405: "Method not allowed",
    409: "Conflicts with the current state (quantities, decision, duplicates)",
    412: "If-Match is stale",
    413: "Request body too large",
    422: "Invalid input; errors[] names each field and reason",
    428: "If-Match required",
    429: "Too many failed authentications from this address; see Retry-After",
    500: "Unexpected error (logged; nothing leaked)",
    503: "Database unreachable",
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "model": Problem} for status, text in _DESCRIPTIONS.items()
}


def install_problem_openapi(app: FastAPI) -> None:
    """Error responses are served as application/problem+json: say so in the schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in {"4", "5"} and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
