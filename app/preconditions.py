"""Optimistic concurrency for resources that change: ETag out, If-Match in.

A changeable row carries an integer ``version`` bumped by every change. Its
ETag is the strong tag ``"<version>"``; a change must send it back in If-Match
(428 without it, 412 when it is stale, with the current tag in the body).
"""

from typing import Annotated

from fastapi import Header, Response

from app.errors import PreconditionFailed, PreconditionRequired

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=200,
        description="The ETag you last read; the change is refused (412) if it is stale",
    ),
]


def entity_etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = entity_etag(version)


def check_if_match(if_match: str | None, version: int, *, what: str) -> None:
    current = entity_etag(version)
    if if_match is None:
        raise PreconditionRequired(
            f"Changing {what} needs an If-Match header with its current ETag ({current}).",
            current_etag=current,
            current_version=version,
        )
    tags = {tag.strip() for tag in if_match.split(",")}  # strong comparison (RFC 9110)
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(
        f"{what} changed since you read it: it is now at version {version}. "
        "Read it again and retry.",
        current_etag=current,
        current_version=version,
    )
