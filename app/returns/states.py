"""The life of a return authorisation: which state may follow which."""

from enum import StrEnum


class ReturnState(StrEnum):
    open = "open"
    shipped = "shipped"
    received_by_supplier = "received_by_supplier"
    closed = "closed"
    cancelled = "cancelled"


NEXT_STATES: dict[ReturnState, tuple[ReturnState, ...]] = {
    ReturnState.open: (ReturnState.shipped, ReturnState.cancelled),
    ReturnState.shipped: (ReturnState.received_by_supplier,),
    ReturnState.received_by_supplier: (ReturnState.closed,),
    ReturnState.closed: (),
    ReturnState.cancelled: (),
}

# Column holding the time each state was entered.
ENTERED_AT = {
    ReturnState.open: "opened_at",
    ReturnState.shipped: "shipped_at",
    ReturnState.received_by_supplier: "received_by_supplier_at",
    ReturnState.closed: "closed_at",
    ReturnState.cancelled: "cancelled_at",
}


def allowed_next(state: str) -> tuple[str, ...]:
    return tuple(s.value for s in NEXT_STATES[ReturnState(state)])
