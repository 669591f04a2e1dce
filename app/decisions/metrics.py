"""Count decisions once their transaction commits (a rolled-back request counts nothing)."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.metrics import DECISIONS

_PENDING = "lotgate_decided_statuses"


def count_after_commit(session: Any, status: str) -> None:
    """``session`` is an AsyncSession or Session; the count lands when it commits."""
    session.info.setdefault(_PENDING, []).append(status)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for status in session.info.pop(_PENDING, []):
        DECISIONS.labels(status).inc()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
