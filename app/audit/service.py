from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit.models import AuditRecord


def record(
    session: AsyncSession,
    actor: Actor | str,
    action: str,
    entity_type: str,
    entity_id: int | str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append an audit record to the request's transaction (kept only if it commits).

    ``actor`` is a name for work done on someone's behalf outside their request (a job).
    """
    session.add(
        AuditRecord(
            actor=actor if isinstance(actor, str) else actor.name,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )
