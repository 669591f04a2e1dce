from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.auth.dependencies import AdminRole
from app.deps import SessionDep
from app.schemas import MAX_ID, OutputModel


class AuditOut(OutputModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", operation_id="list_audit_records")
async def list_audit_records(
    session: SessionDep,
    _actor: AdminRole,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Older than this record")
    ] = None,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[str | None, Query(max_length=40)] = None,
) -> list[AuditOut]:
    """Audit records, newest first."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    if entity_type is not None:
        query = query.where(AuditRecord.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditRecord.entity_id == entity_id)
    return [AuditOut.model_validate(r) for r in await session.scalars(query)]
