"""Return authorisations: reserve units of a rejected lot, ship them, follow them to the end.

What a new return may take: the lot's ``to_return`` (units on hand to go back to the
supplier, from the lot's decision) minus the quantities of returns still ``open``.
Once a return ships its units leave the lot (returned_to_supplier grows, on_hand and
so to_return shrink), so it stops reserving; a cancelled return never reserved.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.db import utcnow
from app.decisions.service import refresh_decision
from app.errors import Conflict, NotFound, invalid
from app.lots.models import Lot
from app.lots.service import lock_lot, lot_snapshot
from app.paging import Keyset
from app.preconditions import check_if_match
from app.quality.facts import Policy
from app.returns.models import ReturnAuthorisation, ReturnTransition
from app.returns.schemas import ClaimOut, ReturnCreate, ReturnOut, TransitionCreate
from app.returns.states import ENTERED_AT, ReturnState, allowed_next

# Clients' clocks may run a little ahead of ours; a transition further ahead is refused.
CLOCK_SKEW = timedelta(minutes=5)


def return_out(rma: ReturnAuthorisation) -> ReturnOut:
    claim = (
        ClaimOut(kind=rma.claim_kind, amount=rma.claim_amount, currency=rma.claim_currency)
        if rma.claim_kind
        else None
    )
    computed = {"claim": claim, "allowed_transitions": allowed_next(rma.state)}
    stored = {name: getattr(rma, name) for name in ReturnOut.model_fields if name not in computed}
    return ReturnOut.model_validate({**stored, **computed})


def _snapshot(rma: ReturnAuthorisation) -> dict[str, Any]:
    return return_out(rma).model_dump(mode="json")


async def reserved_by_open_returns(session: AsyncSession, lot_id: int) -> int:
    reserved = await session.scalar(
        select(func.coalesce(func.sum(ReturnAuthorisation.quantity), 0)).where(
            ReturnAuthorisation.lot_id == lot_id,
            ReturnAuthorisation.state == ReturnState.open.value,
        )
    )
    return int(reserved or 0)


def _not_future(field: str, at: datetime, now: datetime) -> None:
    if at > now + CLOCK_SKEW:
        raise invalid(field, "is in the future")


async def create_return(
    session: AsyncSession, actor: Actor, data: ReturnCreate
) -> ReturnAuthorisation:
    now = utcnow()
    opened_at = data.opened_at or now
    _not_future("body.opened_at", opened_at, now)
    try:
        lot = await lock_lot(session, data.lot_id)
    except NotFound:
        raise invalid("body.lot_id", f"no lot with id {data.lot_id}") from None
    reserved = await reserved_by_open_returns(session, lot.id)
    available = max(lot.to_return - reserved, 0)
    if data.quantity > available:
        raise Conflict(
            f"Lot {lot.id} has {available} units left to return "
            f"(to_return {lot.to_return}, {reserved} reserved by open returns); "
            f"cannot authorise {data.quantity}.",
            errors=[{"field": "body.quantity", "reason": f"exceeds what is left ({available})"}],
            requested=data.quantity,
            to_return=lot.to_return,
            reserved_by_open_returns=reserved,
            available=available,
        )
    claim = data.claim
    rma = ReturnAuthorisation(
        lot_id=lot.id,
        supplier_id=lot.supplier_id,
        quantity=data.quantity,
        carrier_reference=data.carrier_reference,
        claim_kind=claim.kind.value if claim else None,
        claim_amount=claim.amount if claim else None,
        claim_currency=claim.currency if claim else None,
        state=ReturnState.open.value,
        version=1,
        opened_at=opened_at,
        created_by=actor.name,
    )
    session.add(rma)
    await session.flush()
    session.add(
        ReturnTransition(
            return_id=rma.id, from_state=None, to_state=rma.state, at=opened_at, actor=actor.name
        )
    )
    await session.flush()
    audit.record(session, actor, "return.create", "return", rma.id, after=_snapshot(rma))
    return rma


async def get_return(session: AsyncSession, return_id: int) -> ReturnAuthorisation:
    rma = await session.get(ReturnAuthorisation, return_id)
    if rma is None:
        raise NotFound(f"Return authorisation {return_id} does not exist.")
    return rma


async def _lock_return(session: AsyncSession, return_id: int) -> ReturnAuthorisation:
    rma = await session.scalar(
        select(ReturnAuthorisation)
        .where(ReturnAuthorisation.id == return_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if rma is None:
        raise NotFound(f"Return authorisation {return_id} does not exist.")
    return rma


def _check_allowed(rma: ReturnAuthorisation, to: ReturnState) -> None:
    allowed = allowed_next(rma.state)
    if to.value not in allowed:
        options = ", ".join(allowed) or "none (it is final)"
        raise Conflict(
            f"Return {rma.id} is {rma.state}: it cannot become {to.value}; allowed: {options}.",
            errors=[{"field": "body.to", "reason": f"not allowed from {rma.state}"}],
            state=rma.state,
            allowed=list(allowed),
        )


def _check_time(rma: ReturnAuthorisation, at: datetime, now: datetime) -> None:
    _not_future("body.at", at, now)
    entered: datetime = getattr(rma, ENTERED_AT[ReturnState(rma.state)])
    if at < entered:
        raise invalid("body.at", f"is before the return became {rma.state} ({entered.isoformat()})")


async def _ship(
    session: AsyncSession, actor: Actor, rma: ReturnAuthorisation, lot: Lot, policy: Policy
) -> None:
    """The units leave the warehouse for the supplier."""
    if rma.quantity > lot.to_return:
        raise Conflict(
            f"Lot {lot.id} has only {lot.to_return} units to return now (its decision or stock "
            f"changed since return {rma.id} was opened); cannot ship {rma.quantity}.",
            errors=[{"field": "body.to", "reason": f"exceeds to_return ({lot.to_return})"}],
            to_return=lot.to_return,
            on_hand=lot.on_hand,
            quantity=rma.quantity,
        )
    before = lot_snapshot(lot)
    lot.returned_to_supplier += rma.quantity
    await refresh_decision(
        session, lot, policy=policy, trigger=f"return.shipped:{rma.id}", actor=actor.name
    )
    audit.record(
        session,
        actor,
        "lot.return_to_supplier",
        "lot",
        lot.id,
        before=before,
        after=lot_snapshot(lot),
    )


def _check_carrier_reference(rma: ReturnAuthorisation, data: TransitionCreate) -> None:
    """A return may open before the carrier is booked, but never ships without its reference."""
    field = "body.carrier_reference"
    if data.carrier_reference is not None and data.to != ReturnState.shipped:
        raise invalid(field, "is given only when the return moves to shipped")
    if data.to != ReturnState.shipped:
        return
    if data.carrier_reference is None and rma.carrier_reference is None:
        raise invalid(field, "is required when the return moves to shipped")


async def transition(
    session: AsyncSession,
    actor: Actor,
    return_id: int,
    data: TransitionCreate,
    *,
    if_match: str | None,
    policy: Policy,
) -> ReturnAuthorisation:
    """Move a return to its next state; the lot first, then the return, are locked."""
    lot_id = (await get_return(session, return_id)).lot_id
    lot = await lock_lot(session, lot_id)
    rma = await _lock_return(session, return_id)
    check_if_match(if_match, rma.version, what=f"return {rma.id}")
    _check_allowed(rma, data.to)
    now = utcnow()
    at = data.at or now
    _check_time(rma, at, now)
    _check_carrier_reference(rma, data)
    before = _snapshot(rma)
    if data.carrier_reference is not None:
        rma.carrier_reference = data.carrier_reference
    if data.to == ReturnState.shipped:
        await _ship(session, actor, rma, lot, policy)
    from_state = rma.state
    rma.state = data.to.value
    setattr(rma, ENTERED_AT[data.to], at)
    rma.version += 1
    session.add(
        ReturnTransition(
            return_id=rma.id,
            from_state=from_state,
            to_state=rma.state,
            at=at,
            note=data.note,
            actor=actor.name,
        )
    )
    await session.flush()
    audit.record(
        session,
        actor,
        f"return.{data.to.value}",
        "return",
        rma.id,
        before=before,
        after={**_snapshot(rma), "note": data.note},
    )
    return rma


async def list_transitions(session: AsyncSession, return_id: int) -> list[ReturnTransition]:
    query = (
        select(ReturnTransition)
        .where(ReturnTransition.return_id == return_id)
        .order_by(ReturnTransition.id)
    )
    return list(await session.scalars(query))


BY_ID = Keyset((ReturnAuthorisation.id,))


def returns_query(
    *,
    state: ReturnState | None,
    supplier_id: int | None,
    lot_id: int | None,
) -> Select[ReturnAuthorisation]:
    query = select(ReturnAuthorisation).order_by(ReturnAuthorisation.id)
    if state is not None:
        query = query.where(ReturnAuthorisation.state == state.value)
    if supplier_id is not None:
        query = query.where(ReturnAuthorisation.supplier_id == supplier_id)
    if lot_id is not None:
        query = query.where(ReturnAuthorisation.lot_id == lot_id)
    return query
