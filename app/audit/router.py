from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.auth.dependencies import AdminRole
from app.deps import SessionDep
from app.paging import PAGED, Keyset, Page, PageQuery, keyset_page
from app.schemas import OutputModel


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


NEWEST_FIRST = Keyset((AuditRecord.id,), descending=True)


@router.get("", operation_id="list_audit_records", responses=PAGED)
async def list_audit_records(
    session: SessionDep,
    _actor: AdminRole,
    page: PageQuery,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[AuditOut]:
    """Audit records, newest first."""
    query = select(AuditRecord)
    if entity_type is not None:
        query = query.where(AuditRecord.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditRecord.entity_id == entity_id)
    return await keyset_page(session, query, NEWEST_FIRST, page, AuditOut.model_validate)
