"""Count decisions once their transaction commits (a rolled-back request counts nothing)."""

from functools import partial
from typing import Any

from app.db import after_commit
from app.metrics import DECISIONS


def count_after_commit(session: Any, status: str) -> None:
    """``session`` is an AsyncSession or Session; the count lands when it commits."""
    after_commit(session, partial(DECISIONS.labels(status).inc))
