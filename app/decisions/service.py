from sqlalchemy.ext.asyncio import AsyncSession

from app.lots.models import Lot


async def refresh_decision(session: AsyncSession, lot: Lot, *, trigger: str) -> None:
    """Recompute a locked lot's decision. Placeholder until the domain core lands."""
    del session, trigger
    lot.status = "on_hold"
    lot.disposition = "hold"
