"""The status groups every feature asks, and distribution_allowed with an intended use."""

from dataclasses import dataclass

import pytest

from app.quality.decision import Policy, Status, decide, distribution_allowed
from app.quality.products import USES
from app.quality.statuses import (
    DECIDED,
    DISTRIBUTABLE,
    NONCONFORMING,
    ON_REJECT_LIST,
    PROVISIONAL_RECALL,
    STATUS_ORDER,
    UNDER_RECALL,
    is_decided,
    is_distributable,
    is_nonconforming,
    on_reject_list,
    recall_is_provisional,
    under_recall,
)

from .builders import NOW, lot


@dataclass
class StoredLot:
    """A lot as the database keeps it: plain strings, a list of uses."""

    status: str
    allowed_uses: list[str]


def test_groups_as_the_features_rely_on_them() -> None:
    assert (Status.accepted, Status.restricted) == DISTRIBUTABLE
    assert (Status.suspect, Status.rejected) == UNDER_RECALL
    assert (Status.suspect,) == PROVISIONAL_RECALL
    assert set(ON_REJECT_LIST) == {Status.restricted, Status.suspect, Status.rejected}
    assert (Status.accepted, Status.restricted, Status.rejected) == DECIDED
    assert (Status.restricted, Status.rejected) == NONCONFORMING


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_no_status_may_ship_while_under_recall(status: Status) -> None:
    assert not (is_distributable(status) and under_recall(status))
    assert recall_is_provisional(status) <= under_recall(status)
    assert is_nonconforming(status) == (is_decided(status) and on_reject_list(status))
    # The predicates take the stored text as well as the enum.
    assert is_distributable(status.value) == is_distributable(status)


def test_a_restricted_lot_serves_only_its_allowed_uses() -> None:
    decision = decide(lot("KN95", ordered_as="FFP2"), Policy(), NOW)
    assert (decision.status, decision.allowed_uses) == (Status.restricted, ("non_medical",))
    assert distribution_allowed(decision)
    assert distribution_allowed(decision, "non_medical")
    for use in set(USES) - {"non_medical"}:
        assert not distribution_allowed(decision, use), use


def test_an_accepted_lot_serves_only_its_products_uses() -> None:
    decision = decide(lot("MEDICAL_YYT0969"), Policy(), NOW)
    assert decision.status == Status.accepted
    assert distribution_allowed(decision, "patient_care")
    assert not distribution_allowed(decision, "surgical")  # "not for surgical purposes"


def test_the_rule_reads_a_stored_lot_as_it_reads_a_decision() -> None:
    assert distribution_allowed(StoredLot("restricted", ["non_medical"]), "non_medical")
    assert not distribution_allowed(StoredLot("restricted", ["non_medical"]), "surgical")
    assert not distribution_allowed(StoredLot("restricted", []))
    assert not distribution_allowed(StoredLot("suspect", ["non_medical"]), "non_medical")
    assert not distribution_allowed(StoredLot("on_hold", list(USES)))
