"""Counterfeit and substituted material: critical for every product family.

Spring 2020: masks "made of underwear" were delivered as medical masks, and CE marks and
NIOSH approval numbers were printed on units that held neither. Either finding means the
units are not what the lot claims to be, so they are critical defects: no unit allowed
(Ac 0), the lot held and distributed units provisionally recalled on the first finding,
the whole lot rejected when a second inspection confirms it (or at once when the policy
needs no confirmation). Unlike wrong_category they leave no lesser use: a counterfeit
FFP2 is not a sound mask of another kind.
"""

from dataclasses import replace

import pytest

from app.quality.decision import (
    Disposition,
    Policy,
    Quantities,
    Status,
    decide,
    distribution_allowed,
)
from app.quality.facts import InspectionFacts
from app.quality.products import CATALOGUE, DEFECT_CODES, DefectClass, Family

from .builders import NOW, lot, passing_lab, visual, visual_sample_needed

SUBSTITUTION = ("wrong_material", "counterfeit_marking")
POLICY = Policy()


def _finding(code: str, reference: str = "VIS-2", day: int = 2, **changes: bool) -> InspectionFacts:
    return replace(visual(reference, sample_size=32, defects={code: 1}, day=day), **changes)


@pytest.mark.parametrize("code", SUBSTITUTION)
def test_the_codes_are_known_and_critical_for_every_product(code: str) -> None:
    assert code in DEFECT_CODES
    assert {p.family for p in CATALOGUE.values()} == set(Family)
    for product in CATALOGUE.values():
        assert product.defect_class(code) == DefectClass.critical, product.code


@pytest.mark.parametrize("product", sorted(CATALOGUE))
@pytest.mark.parametrize("code", SUBSTITUTION)
def test_one_unit_holds_the_lot_and_recalls_what_left(code: str, product: str) -> None:
    facts = lot(product, quantities=Quantities(10_000, distributed=4000))
    facts = replace(facts, inspections=(*facts.inspections, _finding(code)))
    decision = decide(facts, POLICY, NOW)
    assert decision.status == Status.suspect
    assert (decision.to_recall, decision.releasable, decision.allowed_uses) == (4000, 0, ())
    assert not distribution_allowed(decision)
    failure = next(r for r in decision.reasons if r.code == "critical_failure")
    assert failure.evidence["defects"] == {code: 1}
    assert code in failure.message
    # The inspections have not decided yet: the switching rules wait for the confirmation.
    assert decision.original_inspection_accepted is None


@pytest.mark.parametrize("code", SUBSTITUTION)
def test_a_confirming_inspection_rejects_the_whole_lot(code: str) -> None:
    facts = lot("FFP2", quantities=Quantities(10_000, distributed=4000))
    confirmation = _finding(code, "VIS-3", day=3, confirms=True)
    facts = replace(facts, inspections=(*facts.inspections, _finding(code), confirmation))
    decision = decide(facts, POLICY, NOW)
    assert (decision.status, decision.disposition) == (
        Status.rejected,
        Disposition.recall_and_return,
    )
    assert (decision.to_recall, decision.to_return) == (4000, 6000)
    assert "failure_confirmed" in {r.code for r in decision.reasons}
    assert decision.original_inspection_accepted is False


@pytest.mark.parametrize("code", SUBSTITUTION)
def test_without_confirmation_in_the_policy_the_first_finding_rejects(code: str) -> None:
    facts = lot("SURGICAL_II")
    facts = replace(facts, inspections=(*facts.inspections, _finding(code)))
    decision = decide(facts, replace(POLICY, confirmation_required=False), NOW)
    assert (decision.status, decision.disposition) == (
        Status.rejected,
        Disposition.return_to_supplier,
    )
    assert decision.to_return == 10_000


def test_a_passing_retest_does_not_clear_a_counterfeit_finding() -> None:
    facts = lot("N95")
    sample = visual_sample_needed(facts)
    retest = visual("VIS-3", sample_size=sample, day=3)
    facts = replace(
        facts,
        inspections=(passing_lab("N95"), _finding("counterfeit_marking"), retest),
    )
    assert decide(facts, POLICY, NOW).status == Status.suspect


def test_unlike_wrong_category_no_lesser_use_remains() -> None:
    """A KN95 lot found to be a KN95 of another grade may serve non-medical use; a KN95
    lot found counterfeit may serve nothing until the finding is cleared or confirmed."""
    base = lot("KN95", ordered_as="FFP2")
    assert decide(base, POLICY, NOW).allowed_uses == ("non_medical",)
    counterfeit = replace(base, inspections=(*base.inspections, _finding("counterfeit_marking")))
    decision = decide(counterfeit, POLICY, NOW)
    assert decision.status == Status.suspect
    assert decision.allowed_uses == ()
