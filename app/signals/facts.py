"""The signals decide() reads for lots: their complaints and the alert matches in force."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.id_lists import among
from app.quality.signals import ACTIVE_MATCH_STATES, Signal
from app.signals.models import Alert, AlertMatch, Complaint


def complaint_reference(complaint_id: int) -> str:
    return f"complaint {complaint_id}"


def alert_reference(alert_id: int, issuing_body: str, reference: str | None) -> str:
    return f"alert {alert_id} ({issuing_body}{', ' + reference if reference else ''})"


async def signals_by_lot(
    session: AsyncSession, lot_ids: Sequence[int]
) -> dict[int, tuple[Signal, ...]]:
    found: dict[int, list[Signal]] = defaultdict(list)
    complaints = await session.execute(
        select(
            Complaint.lot_id,
            Complaint.id,
            Complaint.category,
            Complaint.destination,
            Complaint.reported_at,
        )
        .where(among(session, Complaint.lot_id, lot_ids))
        .order_by(Complaint.lot_id, Complaint.id)
    )
    for lot_id, complaint_id, category, destination, reported_at in complaints:
        found[lot_id].append(
            Signal(
                complaint_reference(complaint_id),
                "complaint",
                reported_at,
                category=category,
                destination=destination,
            )
        )
    alerts = await session.execute(
        select(AlertMatch.lot_id, Alert.id, Alert.issuing_body, Alert.reference, Alert.published_on)
        .join(Alert, Alert.id == AlertMatch.alert_id)
        .where(
            among(session, AlertMatch.lot_id, lot_ids),
            AlertMatch.state.in_([state.value for state in ACTIVE_MATCH_STATES]),
        )
        .order_by(AlertMatch.lot_id, Alert.id)
    )
    for lot_id, alert_id, issuing_body, reference, published_on in alerts:
        at = datetime.combine(published_on, time(), tzinfo=UTC)
        found[lot_id].append(
            Signal(alert_reference(alert_id, issuing_body, reference), "alert", at)
        )
    return {lot_id: tuple(signals) for lot_id, signals in found.items()}
