"""A lot's statuses and dispositions, and the groups of statuses features act on.

Every feature that asks "may this ship?", "is it under recall?", "is it on the reject
list?" or "has it been decided?" asks here, so no two features can disagree.
"""

from enum import StrEnum


class Status(StrEnum):
    on_hold = "on_hold"
    suspect = "suspect"
    accepted = "accepted"
    restricted = "restricted"
    rejected = "rejected"


# Best first: the lot takes the worst status any rule forces (see decision.decide).
STATUS_ORDER: tuple[Status, ...] = (
    Status.accepted,
    Status.restricted,
    Status.on_hold,
    Status.suspect,
    Status.rejected,
)


class Disposition(StrEnum):
    hold = "hold"
    release = "release"
    release_under_concession = "release_under_concession"
    restrict_use = "restrict_use"
    return_to_supplier = "return_to_supplier"
    recall_and_return = "recall_and_return"


def _in_order(*statuses: Status) -> tuple[Status, ...]:
    """A group of statuses in STATUS_ORDER, so queries and messages list them alike."""
    return tuple(status for status in STATUS_ORDER if status in statuses)


# Units may leave the warehouse (for the decision's allowed uses only).
DISTRIBUTABLE = _in_order(Status.accepted, Status.restricted)
# Units at sites come back: for good when rejected, provisionally while suspect.
UNDER_RECALL = _in_order(Status.suspect, Status.rejected)
PROVISIONAL_RECALL = _in_order(Status.suspect)
# Not usable as ordered: what a buyer's reject list shows.
ON_REJECT_LIST = _in_order(Status.restricted, Status.suspect, Status.rejected)
# The inspections have spoken (on_hold and suspect still wait for evidence).
DECIDED = _in_order(Status.accepted, Status.restricted, Status.rejected)
# Decided against, in part or whole: what a concession may release for some uses.
NONCONFORMING = tuple(status for status in DECIDED if status in ON_REJECT_LIST)


def is_distributable(status: str) -> bool:
    return status in DISTRIBUTABLE


def under_recall(status: str) -> bool:
    return status in UNDER_RECALL


def recall_is_provisional(status: str) -> bool:
    return status in PROVISIONAL_RECALL


def on_reject_list(status: str) -> bool:
    return status in ON_REJECT_LIST


def is_decided(status: str) -> bool:
    return status in DECIDED


def is_nonconforming(status: str) -> bool:
    return status in NONCONFORMING
