from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import Field
from sqlalchemy import func, select

from app.audit import service as audit
from app.auth.dependencies import AdminRole, key_cache
from app.auth.keys import issue_key
from app.auth.models import ApiKey, Role
from app.db import after_commit, utcnow
from app.deps import SessionDep
from app.errors import Conflict, NotFound
from app.paging import PAGED, Keyset, Page, PageQuery, keyset_page
from app.schemas import EntityId, InputModel, OutputModel


class KeyCreate(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role


class KeyOut(OutputModel):
    id: int
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="Shown only in this response; only its hash is stored")


router = APIRouter(prefix="/keys", tags=["keys"])


@router.get("", operation_id="list_keys", responses=PAGED)
async def list_keys(session: SessionDep, _actor: AdminRole, page: PageQuery) -> Page[KeyOut]:
    """API keys by id, revoked ones included."""
    return await keyset_page(
        session, select(ApiKey), Keyset((ApiKey.id,)), page, KeyOut.model_validate
    )


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="create_key")
async def create_api_key(body: KeyCreate, session: SessionDep, actor: AdminRole) -> NewKeyOut:
    stored, plain = await issue_key(session, name=body.name, role=body.role)
    out = KeyOut.model_validate(stored)
    audit.record(
        session, actor, "key.create", "api_key", stored.id, after=out.model_dump(mode="json")
    )
    return NewKeyOut(**out.model_dump(), key=plain)


@router.delete("/{key_id:int}", status_code=status.HTTP_204_NO_CONTENT, operation_id="revoke_key")
async def revoke_key(
    key_id: EntityId, request: Request, session: SessionDep, actor: AdminRole
) -> Response:
    """Revoke a key: refused from the next request on by this process, and within
    LOTGATE_KEY_CACHE_SECONDS by the others."""
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist.")
    if key.revoked_at is None and key.role == Role.admin.value:
        active_admins = await session.scalar(
            select(func.count()).where(ApiKey.role == Role.admin.value, ApiKey.revoked_at.is_(None))
        )
        if (active_admins or 0) <= 1:
            raise Conflict("This is the last active admin key; create another admin key first.")
    before = KeyOut.model_validate(key).model_dump(mode="json")
    key.revoked_at = key.revoked_at or utcnow()
    await session.flush()
    after_commit(session, partial(key_cache(request).forget, key.id))
    audit.record(
        session,
        actor,
        "key.revoke",
        "api_key",
        key.id,
        before=before,
        after=KeyOut.model_validate(key).model_dump(mode="json"),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
