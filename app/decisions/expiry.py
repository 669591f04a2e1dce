"""Concessions end by themselves: lots whose stored decision has expired are decided again."""

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.decisions.service import refresh_decision
from app.lots.models import Lot
from app.lots.service import lock_lot
from app.quality.facts import Policy

logger = logging.getLogger("lotgate.decisions")
BATCH = 500


async def refresh_expired_decisions(
    sessionmaker: async_sessionmaker[AsyncSession], policy: Policy, now: datetime | None = None
) -> int:
    """Decide again every lot whose decision ran out; one transaction per lot."""
    now = now or utcnow()
    async with sessionmaker() as session:
        due = list(
            await session.scalars(
                select(Lot.id).where(Lot.decision_valid_until <= now).limit(BATCH)
            )
        )
    for lot_id in due:
        async with sessionmaker() as session, session.begin():
            lot = await lock_lot(session, lot_id)
            if lot.decision_valid_until is not None and lot.decision_valid_until <= now:
                await refresh_decision(
                    session,
                    lot,
                    policy=policy,
                    trigger="concession.expired",
                    actor="system",
                    now=now,
                )
    return len(due)


async def run_expiry_loop(
    sessionmaker: async_sessionmaker[AsyncSession], policy: Policy, interval_seconds: float
) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            refreshed = await refresh_expired_decisions(sessionmaker, policy)
            if refreshed:
                logger.info("decided %d lots again after their concessions expired", refreshed)
        except Exception:  # the loop must outlive a database outage
            logger.exception("concession expiry sweep failed; retrying next interval")
