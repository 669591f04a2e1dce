"""Each rule of decide(), one at a time, on a lot that otherwise passes everything."""

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.quality.decision import (
    Concession,
    Decision,
    Disposition,
    Policy,
    Quantities,
    Status,
    decide,
    distribution_allowed,
)
from app.quality.products import CATALOGUE, Equivalence

from .builders import NOW, RECEIVED, certificate, lab, lot, passing_lab, visual

POLICY = Policy()
FFP2_SAMPLE = 200  # lot of 10,000 at level II is letter L: n=200 at AQL 2.5 and 4.0


def codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def test_a_lot_that_passes_everything_is_released_in_full() -> None:
    decision = decide(lot("FFP2", quantities=Quantities(10_000, distributed=0)), POLICY, NOW)
    assert decision.status == Status.accepted
    assert decision.disposition == Disposition.release
    assert decision.releasable == 10_000
    assert decision.allowed_uses == CATALOGUE["FFP2"].uses
    assert (decision.to_recall, decision.to_return) == (0, 0)
    assert decision.original_inspection_accepted is True
    assert distribution_allowed(decision)


def test_plans_are_reported_per_defect_class() -> None:
    plans = decide(lot("FFP2"), POLICY, NOW).plans
    assert set(plans) == {"critical", "major", "minor"}
    assert (plans["major"].code_letter, plans["major"].sample_size) == ("L", 200)
    assert (plans["major"].acceptance_number, plans["major"].rejection_number) == (10, 11)
    assert (plans["minor"].acceptance_number, plans["minor"].rejection_number) == (14, 15)
    assert (plans["critical"].acceptance_number, plans["critical"].sample_size) == (0, 200)


# --- Rule 1: nothing usable before it passes ----------------------------------------


def test_no_inspection_holds_the_lot() -> None:
    decision = decide(lot("FFP2", inspections=()), POLICY, NOW)
    assert (decision.status, decision.disposition) == (Status.on_hold, Disposition.hold)
    assert "awaiting_inspection" in codes(decision)
    assert decision.releasable == 0
    assert decision.original_inspection_accepted is None
    assert not distribution_allowed(decision)


def test_a_visual_check_alone_is_not_enough() -> None:
    decision = decide(lot("FFP2", inspections=(visual(sample_size=FFP2_SAMPLE),)), POLICY, NOW)
    assert decision.status == Status.on_hold
    missing = next(r for r in decision.reasons if r.code == "lab_test_missing")
    assert missing.message == (
        "No lab result yet for filtration, total inward leakage, required for FFP2"
    )


def test_a_lab_test_must_cover_every_critical_characteristic() -> None:
    filtration_only = lab(measurements={"filtration_efficiency_pct": 99.0})
    decision = decide(
        lot("FFP2", inspections=(filtration_only, visual(sample_size=FFP2_SAMPLE))), POLICY, NOW
    )
    assert decision.status == Status.on_hold
    assert next(r for r in decision.reasons if r.code == "lab_test_missing").evidence == {
        "missing": ["total_inward_leakage_pct"]
    }


def test_lab_results_may_come_from_several_tests() -> None:
    inspections = (
        lab("LAB-1", measurements={"filtration_efficiency_pct": 99.0}),
        lab("LAB-2", measurements={"total_inward_leakage_pct": 3.0}),
        visual(sample_size=FFP2_SAMPLE),
    )
    assert decide(lot("FFP2", inspections=inspections), POLICY, NOW).status == Status.accepted


def test_the_visual_sample_must_reach_the_plan_size() -> None:
    short = (passing_lab("FFP2"), visual(sample_size=FFP2_SAMPLE - 1))
    decision = decide(lot("FFP2", inspections=short), POLICY, NOW)
    assert decision.status == Status.on_hold
    assert "visual_sample_too_small" in codes(decision)
    split = (
        passing_lab("FFP2"),
        visual("VIS-1", sample_size=120),
        visual("VIS-2", sample_size=FFP2_SAMPLE - 120),
    )
    assert decide(lot("FFP2", inspections=split), POLICY, NOW).status == Status.accepted


def test_a_small_lot_is_inspected_in_full() -> None:
    facts = lot("FFP2", quantity=3, inspections=(passing_lab("FFP2"), visual(sample_size=3)))
    decision = decide(facts, POLICY, NOW)
    assert decision.plans["major"].inspect_all
    assert decision.status == Status.accepted


# --- Rule 2: certificates gate release ----------------------------------------------


def test_without_a_counting_certificate_the_lot_is_held() -> None:
    decision = decide(lot("FFP2", certificates=()), POLICY, NOW)
    assert decision.status == Status.on_hold
    assert "certificate_missing" in codes(decision)
    # The inspections themselves passed: that is what the switching rules see.
    assert decision.original_inspection_accepted is True


def test_a_rejected_certificate_rejects_the_lot() -> None:
    rejected = replace(certificate("FFP2"), verification="rejected")
    decision = decide(lot("FFP2", certificates=(rejected,)), POLICY, NOW)
    assert decision.status == Status.rejected
    assert decision.disposition == Disposition.return_to_supplier
    assert "certificate_invalid" in codes(decision)


# --- Rules 3 and 4: critical failures, suspect then confirmed -------------------------


KN95_FAILING_LAB = lab(
    "LAB-1",
    defects={"membrane_fault": 3},
    measurements={"filtration_efficiency_pct": 81.0, "total_inward_leakage_pct": 5.0},
)


def test_a_critical_failure_reads_on_its_own() -> None:
    decision = decide(lot("KN95", inspections=(KN95_FAILING_LAB,)), POLICY, NOW)
    failure = next(r for r in decision.reasons if r.code == "critical_failure")
    assert failure.message == (
        "3 membrane_fault in a lab sample of 20: filtration 81.0 % against >= 95 % for KN95 (LAB-1)"
    )
    assert failure.severity == "critical"
    assert failure.evidence["measurements"] == {
        "filtration_efficiency_pct": {"value": 81.0, "requirement": ">= 95 %"}
    }


@pytest.mark.parametrize(
    ("measurements", "fails"),
    [
        ({"filtration_efficiency_pct": 94.0, "total_inward_leakage_pct": 8.0}, False),
        ({"filtration_efficiency_pct": 93.9, "total_inward_leakage_pct": 8.0}, True),
        ({"filtration_efficiency_pct": 94.0, "total_inward_leakage_pct": 8.1}, True),
    ],
)
def test_measurements_outside_a_threshold_fail(measurements: dict[str, float], fails: bool) -> None:
    inspections = (lab(measurements=measurements), visual(sample_size=FFP2_SAMPLE))
    decision = decide(lot("FFP2", inspections=inspections), POLICY, NOW)
    assert decision.status == (Status.suspect if fails else Status.accepted)


def test_a_critical_defect_in_a_visual_sample_is_a_failure_too() -> None:
    inspections = (
        passing_lab("FFP2"),
        visual(sample_size=FFP2_SAMPLE, defects={"poor_fit": 1}),
    )
    decision = decide(lot("FFP2", inspections=inspections), POLICY, NOW)
    assert decision.status == Status.suspect
    assert "1 poor_fit in a visual sample of 200" in decision.reasons[0].message


def test_a_first_failure_makes_the_lot_suspect_and_recalls_provisionally() -> None:
    facts = lot("KN95", inspections=(KN95_FAILING_LAB,), quantities=Quantities(10_000, 4_000))
    decision = decide(facts, POLICY, NOW)
    assert (decision.status, decision.disposition) == (Status.suspect, Disposition.hold)
    assert (decision.to_recall, decision.to_return, decision.releasable) == (4_000, 0, 0)
    assert decision.original_inspection_accepted is None
    assert "awaiting_confirmation" in codes(decision)
    assert "provisional_recall" in codes(decision)


def test_a_second_failure_that_is_not_a_confirmation_leaves_the_lot_suspect() -> None:
    second = replace(KN95_FAILING_LAB, reference="LAB-2", performed_at=RECEIVED + timedelta(3))
    decision = decide(lot("KN95", inspections=(KN95_FAILING_LAB, second)), POLICY, NOW)
    assert decision.status == Status.suspect


def test_a_failing_confirmation_rejects_the_whole_lot() -> None:
    second = replace(
        KN95_FAILING_LAB, reference="LAB-2", performed_at=RECEIVED + timedelta(3), confirms=True
    )
    # Listed out of order on purpose: decide() reads inspections by time.
    decision = decide(lot("KN95", inspections=(second, KN95_FAILING_LAB)), POLICY, NOW)
    assert decision.status == Status.rejected
    assert decision.original_inspection_accepted is False
    confirmed = next(r for r in decision.reasons if r.code == "failure_confirmed")
    assert confirmed.message.startswith("LAB-2 confirmed the failure found in LAB-1")


def test_a_confirmation_flag_on_the_first_failure_confirms_nothing() -> None:
    early = replace(KN95_FAILING_LAB, confirms=True)
    assert decide(lot("KN95", inspections=(early,)), POLICY, NOW).status == Status.suspect


def test_a_passing_retest_does_not_clear_a_failure() -> None:
    retest = replace(passing_lab("KN95", "LAB-2", day=3), confirms=True)
    inspections = (KN95_FAILING_LAB, retest, visual(sample_size=FFP2_SAMPLE))
    assert decide(lot("KN95", inspections=inspections), POLICY, NOW).status == Status.suspect


def test_without_required_confirmation_the_first_failure_rejects() -> None:
    policy = Policy(confirmation_required=False)
    decision = decide(lot("KN95", inspections=(KN95_FAILING_LAB,)), policy, NOW)
    assert decision.status == Status.rejected
    assert "failure_decisive" in codes(decision)


# --- Rule 5: AQL for major and minor defects ----------------------------------------


@pytest.mark.parametrize(
    ("defects", "status"),
    [
        ({"workmanship": 10}, Status.accepted),  # Ac 10
        ({"workmanship": 11}, Status.rejected),  # Re 11
        ({"labelling": 14}, Status.accepted),  # minor Ac 14
        ({"labelling": 15}, Status.rejected),
        ({"workmanship": 10, "labelling": 14}, Status.accepted),  # classes judged apart
    ],
)
def test_major_and_minor_counts_against_the_plan(defects: dict[str, int], status: Status) -> None:
    inspections = (passing_lab("FFP2"), visual(sample_size=FFP2_SAMPLE, defects=defects))
    decision = decide(lot("FFP2", inspections=inspections), POLICY, NOW)
    assert decision.status == status
    if status == Status.rejected:
        assert decision.original_inspection_accepted is False
        assert decision.disposition == Disposition.return_to_supplier


def test_counts_are_summed_over_visual_inspections_only() -> None:
    inspections = (
        lab(measurements={"filtration_efficiency_pct": 99, "total_inward_leakage_pct": 1},
            defects={"workmanship": 50}),
        visual("VIS-1", sample_size=100, defects={"workmanship": 6}),
        visual("VIS-2", sample_size=100, defects={"workmanship": 5}),
    )  # fmt: skip
    decision = decide(lot("FFP2", inspections=inspections), POLICY, NOW)
    assert decision.status == Status.rejected
    rejected = next(r for r in decision.reasons if r.code == "aql_major_rejected")
    assert rejected.message == (
        "11 major defects in a visual sample of 200: reaches Re 11 "
        "(AQL 2.5, normal, letter L, n=200, Ac 10, Re 11)"
    )


def test_reaching_re_rejects_even_before_the_sample_is_complete() -> None:
    inspections = (passing_lab("FFP2"), visual(sample_size=50, defects={"workmanship": 11}))
    assert decide(lot("FFP2", inspections=inspections), POLICY, NOW).status == Status.rejected


def test_tightened_inspection_uses_the_tightened_plan() -> None:
    inspections = (passing_lab("FFP2"), visual(sample_size=FFP2_SAMPLE, defects={"workmanship": 9}))
    normal = decide(lot("FFP2", inspections=inspections), POLICY, NOW)
    tight = decide(lot("FFP2", inspections=inspections, severity="tightened"), POLICY, NOW)
    assert normal.status == Status.accepted
    assert tight.status == Status.rejected  # tightened L at 2.5: Ac 8, Re 9


def test_reduced_count_between_ac_and_re_accepts_but_is_flagged() -> None:
    # Reduced L at AQL 2.5: n=80, Ac 5, Re 8.
    def reduced(workmanship: int) -> Decision:
        inspections = (
            passing_lab("FFP2"),
            visual(sample_size=80, defects={"workmanship": workmanship}),
        )
        return decide(lot("FFP2", inspections=inspections, severity="reduced"), POLICY, NOW)

    assert reduced(5).status == Status.accepted and not reduced(5).between_ac_and_re
    assert reduced(7).status == Status.accepted and reduced(7).between_ac_and_re
    assert "aql_major_between_ac_and_re" in codes(reduced(7))
    assert reduced(8).status == Status.rejected


def test_a_defect_code_foreign_to_the_product_counts_as_major() -> None:
    inspections = (
        passing_lab("FFP2"),
        visual(sample_size=FFP2_SAMPLE, defects={"sensitivity_below_spec": 11}),
    )
    decision = decide(lot("FFP2", inspections=inspections), POLICY, NOW)
    assert decision.status == Status.rejected
    assert "defect_code_not_applicable" in codes(decision)


def test_a_poor_fit_on_a_surgical_mask_is_major_not_critical() -> None:
    inspections = (
        passing_lab("SURGICAL_II"),
        visual(sample_size=FFP2_SAMPLE, defects={"poor_fit": 3}),
    )
    decision = decide(lot("SURGICAL_II", inspections=inspections), POLICY, NOW)
    assert decision.status == Status.accepted


# --- Rule 6: wrong category -----------------------------------------------------------


def test_kn95_for_an_ffp2_order_is_restricted_to_non_medical_use() -> None:
    facts = lot("KN95", ordered_as="FFP2", quantities=Quantities(10_000))
    decision = decide(facts, POLICY, NOW)
    assert (decision.status, decision.disposition) == (Status.restricted, Disposition.restrict_use)
    assert decision.allowed_uses == ("non_medical",)
    assert decision.releasable == 10_000
    assert distribution_allowed(decision)
    wrong = next(r for r in decision.reasons if r.code == "wrong_category")
    assert "KN95 (GB 2626-2006" in wrong.message
    assert "may serve only: non_medical" in wrong.message


def test_an_equivalence_in_force_makes_kn95_fill_the_ffp2_order() -> None:
    equivalence = Equivalence("KN95", "FFP2", "Recommendation (EU) 2020/403", date(2022, 7, 31))
    policy = Policy(equivalences=(equivalence,))
    decision = decide(lot("KN95", ordered_as="FFP2"), policy, NOW)
    assert decision.status == Status.accepted
    assert "equivalence_applied" in codes(decision)
    later = replace(
        lot("KN95", ordered_as="FFP2"), received_at=RECEIVED.replace(year=2022, month=8)
    )
    assert decide(later, policy, NOW).status == Status.restricted


def test_a_higher_class_fills_the_order() -> None:
    assert decide(lot("FFP3", ordered_as="FFP2"), POLICY, NOW).status == Status.accepted


def test_an_inspector_finding_the_wrong_category_restricts_the_lot() -> None:
    inspections = (
        passing_lab("FFP2"),
        visual(sample_size=FFP2_SAMPLE, defects={"wrong_category": 1}),
    )
    decision = decide(lot("FFP2", inspections=inspections), POLICY, NOW)
    assert decision.status == Status.restricted
    assert decision.allowed_uses == ("non_medical",)
    wrong = next(r for r in decision.reasons if r.code == "wrong_category")
    assert wrong.message.startswith("VIS-1 found the lot is not the FFP2 it is declared as")


def test_policy_can_return_wrong_category_lots() -> None:
    decision = decide(lot("KN95", ordered_as="FFP2"), Policy(wrong_category_means_return=True), NOW)
    assert decision.status == Status.rejected
    assert decision.disposition == Disposition.return_to_supplier


def test_a_wrong_category_lot_with_no_use_left_is_rejected() -> None:
    inspections = (
        passing_lab("ANTIGEN_RAPID_TEST"),
        visual(sample_size=FFP2_SAMPLE, defects={"wrong_category": 2}),
    )
    decision = decide(lot("ANTIGEN_RAPID_TEST", inspections=inspections), POLICY, NOW)
    assert decision.status == Status.rejected


def test_a_wrong_category_lot_failing_its_own_standard_is_rejected() -> None:
    confirmation = replace(KN95_FAILING_LAB, reference="LAB-2", confirms=True,
                           performed_at=RECEIVED + timedelta(days=4))  # fmt: skip
    facts = lot("KN95", ordered_as="FFP2", inspections=(KN95_FAILING_LAB, confirmation))
    assert decide(facts, POLICY, NOW).status == Status.rejected


# --- Rule 7: whole-lot consequences ------------------------------------------------


def _rejected(quantities: Quantities) -> Decision:
    rejected = replace(certificate("FFP2"), verification="rejected")
    return decide(lot("FFP2", certificates=(rejected,), quantities=quantities), POLICY, NOW)


def test_a_rejected_lot_still_in_the_warehouse_goes_back_to_the_supplier() -> None:
    decision = _rejected(Quantities(10_000))
    assert decision.disposition == Disposition.return_to_supplier
    assert (decision.to_recall, decision.to_return, decision.releasable) == (0, 10_000, 0)


def test_a_rejected_lot_partly_at_sites_is_recalled_and_returned() -> None:
    decision = _rejected(Quantities(10_000, distributed=6_000))
    assert decision.disposition == Disposition.recall_and_return
    assert (decision.to_recall, decision.to_return) == (6_000, 4_000)


def test_site_returns_move_from_recall_to_return() -> None:
    decision = _rejected(
        Quantities(10_000, distributed=6_000, site_returned=2_500, site_consumed=500)
    )
    assert (decision.to_recall, decision.to_return) == (3_000, 6_500)
    done = _rejected(Quantities(10_000, 6_000, 5_500, 0, 500, returned_to_supplier=9_500))
    assert done.disposition == Disposition.return_to_supplier
    assert (done.to_recall, done.to_return) == (0, 0)


def test_a_restricted_lot_with_units_at_sites_asks_to_check_their_use() -> None:
    facts = lot("KN95", ordered_as="FFP2", quantities=Quantities(10_000, distributed=3_000))
    decision = decide(facts, POLICY, NOW)
    assert decision.releasable == 7_000
    assert decision.to_recall == 0
    assert "check_site_use" in codes(decision)


# --- Rule 8: discontinued source ----------------------------------------------------


def test_a_lot_from_a_discontinued_source_is_rejected_on_receipt() -> None:
    decision = decide(lot("FFP2", supplier_discontinued=True), POLICY, NOW)
    assert decision.status == Status.rejected
    assert decision.reasons[0].code == "supplier_discontinued"
    assert decision.original_inspection_accepted is True


# --- Rule 9: concessions -----------------------------------------------------------

CONCESSION = Concession(
    reason="did not meet the claimed performance; usable outside healthcare",
    legal_basis="decision of the national consortium, 2020-04-10",
    allowed_uses=("non_medical",),
    expires_at=NOW + timedelta(days=30),
)


def test_an_unexpired_concession_releases_the_lot_for_its_uses() -> None:
    facts = lot("KN95", inspections=(KN95_FAILING_LAB,), concessions=(CONCESSION,),
                quantities=Quantities(10_000, distributed=1_000))  # fmt: skip
    decision = decide(facts, POLICY, NOW)
    assert decision.status == Status.accepted
    assert decision.disposition == Disposition.release_under_concession
    assert decision.allowed_uses == ("non_medical",)
    assert (decision.releasable, decision.to_recall, decision.to_return) == (9_000, 0, 0)
    assert distribution_allowed(decision)
    granted = decision.reasons[-1]
    assert granted.code == "concession_in_force"
    assert "(otherwise suspect)" in granted.message
    assert "critical_failure" in codes(decision)


def test_after_expiry_the_computed_decision_returns() -> None:
    facts = lot("KN95", inspections=(KN95_FAILING_LAB,), concessions=(CONCESSION,))
    at_expiry = decide(facts, POLICY, CONCESSION.expires_at)
    assert at_expiry.status == Status.suspect
    assert "concession_expired" in codes(at_expiry)
    assert decide(facts, POLICY, CONCESSION.expires_at - timedelta(seconds=1)).status == (
        Status.accepted
    )


def test_a_concession_needs_known_uses() -> None:
    with pytest.raises(ValueError, match="at least one"):
        replace(CONCESSION, allowed_uses=())
    with pytest.raises(ValueError, match="unknown uses"):
        replace(CONCESSION, allowed_uses=("anything",))


# --- Inputs and outputs ---------------------------------------------------------------


def test_every_reason_and_its_evidence_is_json() -> None:
    facts = lot("KN95", ordered_as="FFP2", inspections=(KN95_FAILING_LAB,),
                certificates=(replace(certificate("KN95"), type="certificate_of_compliance"),),
                concessions=(CONCESSION,))  # fmt: skip
    decision = decide(facts, POLICY, NOW)
    assert len(decision.reasons) >= 5
    encoded = json.dumps([{"code": r.code, "evidence": r.evidence} for r in decision.reasons])
    assert "critical_failure" in encoded


def test_bad_facts_are_refused_with_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="unknown product"):
        replace(lot("FFP2"), product="FFP4")
    with pytest.raises(ValueError, match="at least 1 unit"):
        replace(lot("FFP2"), quantity=0)
    with pytest.raises(ValueError, match="normal, tightened, reduced"):
        lot("FFP2", severity="relaxed")
    with pytest.raises(ValueError, match="visual, lab"):
        replace(KN95_FAILING_LAB, kind="smell")
    with pytest.raises(ValueError, match="unknown defect codes"):
        replace(KN95_FAILING_LAB, defects={"smudge": 1})
    with pytest.raises(ValueError, match="negative"):
        replace(KN95_FAILING_LAB, defects={"labelling": -1})
    with pytest.raises(ValueError, match="unknown characteristics"):
        replace(KN95_FAILING_LAB, measurements={"colour": 1.0})
    with pytest.raises(ValueError, match="allowed"):
        Policy(major_aql="3")
    with pytest.raises(ValueError, match="inspection level"):
        Policy(inspection_level="IV")


def test_inspections_at_the_same_time_are_read_in_the_order_given() -> None:
    a = replace(KN95_FAILING_LAB, reference="LAB-A")
    b = replace(KN95_FAILING_LAB, reference="LAB-B", confirms=True)
    assert decide(lot("KN95", inspections=(a, b)), POLICY, NOW).status == Status.rejected
    # Given the other way round, the confirmation comes first and confirms nothing.
    assert decide(lot("KN95", inspections=(b, a)), POLICY, NOW).status == Status.suspect
