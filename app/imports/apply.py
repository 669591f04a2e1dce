"""Write validated rows in bulk, decide every touched lot again, and audit the import once.

Runs inside one transaction owned by the caller: a failure anywhere leaves nothing.
Rows go in with multi-row INSERT statements (SQLAlchemy's insertmanyvalues), a batch at a
time; one audit record (import.apply) names the import, its counts and the created ids
as ranges, rather than one record per row.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app import collector
from app.audit import service as audit
from app.bulk_writes import insert_rows
from app.certificates.models import Certificate
from app.certificates.service import certificate_values
from app.decisions.bulk import chunks, refresh_decisions
from app.decisions.service import source_state
from app.imports.columns import CertificateRow, ImportKind, InspectionRow
from app.imports.validation import Progress
from app.inspections.models import Inspection
from app.inspections.service import inspection_values
from app.lots.models import Lot
from app.lots.schemas import LotCreate
from app.quality.facts import Policy
from app.signals.alerts import match_new_lots


def id_ranges(ids: Sequence[int]) -> list[list[int]]:
    """[[first, last], ...] of consecutive ids: compact in the audit, exact."""
    ranges: list[list[int]] = []
    for value in sorted(ids):
        if ranges and value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges


async def _insert(
    session: AsyncSession,
    model: type[Lot] | type[Inspection] | type[Certificate],
    values: list[dict[str, Any]],
    batch_rows: int,
    progress: Progress | None,
) -> list[int]:
    ids: list[int] = []
    for batch in chunks(values, batch_rows):
        ids.extend(await insert_rows(session, model, batch))
        if progress is not None:
            await progress(len(ids))
    return ids


async def _lot_values(session: AsyncSession, rows: list[LotCreate]) -> list[dict[str, Any]]:
    """New lots are inspected at their source's current severity (as lots.create_lot does)."""
    sources = {}
    for key in sorted({(lot.supplier_id, lot.product) for lot in rows}):
        state = await source_state(session, *key)
        sources[key] = {"severity": state.severity, "supplier_discontinued": state.discontinued}
    return [{**lot.model_dump(), **sources[(lot.supplier_id, lot.product)]} for lot in rows]


async def _insert_rows_of(
    session: AsyncSession,
    kind: ImportKind,
    models: list[BaseModel],
    batch_rows: int,
    progress: Progress | None,
) -> tuple[list[int], set[int]]:
    """The ids of the new rows, and the lots they touch."""
    if kind == ImportKind.lots:
        values = await _lot_values(session, cast(list[LotCreate], models))
        created = await _insert(session, Lot, values, batch_rows, progress)
        return created, set(created)
    if kind == ImportKind.inspections:
        inspections = cast(list[InspectionRow], models)
        values = [inspection_values(row.lot_id, row) for row in inspections]
        created = await _insert(session, Inspection, values, batch_rows, progress)
        return created, {row.lot_id for row in inspections}
    certificates = cast(list[CertificateRow], models)
    values = [certificate_values(row.lot_id, row) for row in certificates]
    created = await _insert(session, Certificate, values, batch_rows, progress)
    return created, {row.lot_id for row in certificates}


async def apply_rows(
    session: AsyncSession,
    kind: ImportKind,
    rows: list[tuple[int, BaseModel]],
    *,
    import_id: int,
    actor: str,
    policy: Policy,
    now: datetime,
    batch_rows: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Insert the rows, decide the touched lots again; the import's summary."""
    models = [model for _, model in rows]
    with collector.paused():
        created, touched = await _insert_rows_of(session, kind, models, batch_rows, progress)
        if kind != ImportKind.inspections:
            await match_new_lots(session, sorted(touched))
        refreshed = await refresh_decisions(
            session,
            touched,
            policy=policy,
            trigger=f"import:{import_id}",
            actor=actor,
            now=now,
            new_lot_ids=frozenset(created) if kind == ImportKind.lots else frozenset(),
        )
    summary = {
        "kind": kind.value,
        "rows": len(rows),
        "created": len(created),
        "created_ids": id_ranges(created),
        "lots_decided": refreshed.lots,
        "decision_events": refreshed.events,
    }
    audit.record(session, actor, "import.apply", "import", import_id, after=summary)
    await session.flush()
    return summary
