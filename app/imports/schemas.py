from datetime import datetime
from typing import Any

from app.schemas import OutputModel


class ImportErrorOut(OutputModel):
    field: str
    line: int | None
    column: str | None
    reason: str


class ImportOut(OutputModel):
    id: int
    kind: str
    format: str
    filename: str
    sha256: str
    forced: bool
    state: str
    rows_total: int
    rows_processed: int
    errors: list[ImportErrorOut]
    result: dict[str, Any] | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
