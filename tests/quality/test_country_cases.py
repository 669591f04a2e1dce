"""The spring-2020 cases the service is modelled on, decided by the pure core."""

from dataclasses import replace
from datetime import date, timedelta

from app.quality.decision import (
    Concession,
    Disposition,
    InspectionFacts,
    LotFacts,
    Policy,
    Quantities,
    Status,
    decide,
    distribution_allowed,
)
from app.quality.products import Equivalence

from .builders import NOW, RECEIVED, certificate, lab, lot, passing_lab, visual

POLICY = Policy()

# --- Netherlands: 1.3 million KN95 bought as FFP2, 600,000 distributed before testing ---

DUTCH_QUANTITIES = Quantities(received=1_300_000, distributed=600_000)
FIRST_TEST = lab(
    "NL-LAB-1",
    sample_size=20,
    defects={"membrane_fault": 3, "poor_fit": 5},
    measurements={"filtration_efficiency_pct": 81.0},
    day=3,
)
SECOND_TEST = replace(
    FIRST_TEST,
    reference="NL-LAB-2",
    measurements={"filtration_efficiency_pct": 79.0},
    performed_at=RECEIVED + timedelta(days=5),
    confirms=True,
)


def dutch_lot(*inspections: InspectionFacts) -> LotFacts:
    return lot(
        "KN95",
        ordered_as="FFP2",
        quantity=1_300_000,
        inspections=inspections,
        quantities=DUTCH_QUANTITIES,
    )


def test_netherlands_before_testing_nothing_more_may_go_out() -> None:
    decision = decide(dutch_lot(), POLICY, NOW)
    assert (decision.status, decision.disposition) == (Status.on_hold, Disposition.hold)
    assert decision.releasable == 0
    assert not distribution_allowed(decision)


def test_netherlands_first_failing_test_makes_the_lot_suspect() -> None:
    decision = decide(dutch_lot(FIRST_TEST), POLICY, NOW)
    assert (decision.status, decision.disposition) == (Status.suspect, Disposition.hold)
    assert decision.to_recall == 600_000
    assert decision.releasable == 0
    failure = decision.reasons[0]
    assert failure.message == (
        "3 membrane_fault, 5 poor_fit in a lab sample of 20: filtration 81.0 % against "
        ">= 95 % for KN95 (NL-LAB-1)"
    )


def test_netherlands_confirmed_failure_recalls_and_returns_the_whole_lot() -> None:
    decision = decide(dutch_lot(FIRST_TEST, SECOND_TEST), POLICY, NOW)
    assert decision.status == Status.rejected
    assert decision.disposition == Disposition.recall_and_return
    assert decision.to_recall == 600_000
    assert decision.to_return == 700_000
    assert decision.releasable == 0
    assert decision.original_inspection_accepted is False
    assert {"critical_failure", "failure_confirmed", "wrong_category"} <= {
        r.code for r in decision.reasons
    }


def test_netherlands_returns_from_hospitals_join_the_return() -> None:
    facts = replace(
        dutch_lot(FIRST_TEST, SECOND_TEST),
        quantities=replace(DUTCH_QUANTITIES, site_returned=550_000, site_consumed=50_000),
    )
    decision = decide(facts, POLICY, NOW)
    assert (decision.to_recall, decision.to_return) == (0, 1_250_000)
    assert decision.disposition == Disposition.return_to_supplier


def test_netherlands_even_with_the_kn95_equivalence_the_failure_rejects() -> None:
    policy = Policy(
        equivalences=(
            Equivalence("KN95", "FFP2", "Recommendation (EU) 2020/403", date(2022, 7, 31)),
        )
    )
    decision = decide(dutch_lot(FIRST_TEST, SECOND_TEST), policy, NOW)
    assert decision.status == Status.rejected
    assert "wrong_category" not in {r.code for r in decision.reasons}


def test_netherlands_held_back_stock_released_outside_healthcare_by_concession() -> None:
    concession = Concession(
        reason="did not meet the claimed performance",
        legal_basis="national consortium decision",
        allowed_uses=("non_medical",),
        expires_at=NOW + timedelta(days=90),
    )
    facts = replace(dutch_lot(FIRST_TEST, SECOND_TEST), concessions=(concession,))
    decision = decide(facts, POLICY, NOW)
    assert decision.disposition == Disposition.release_under_concession
    assert decision.allowed_uses == ("non_medical",)


# --- Spain: 640,000 rapid antigen tests at ~30 % sensitivity against >= 80 % -----------


def test_spain_antigen_tests_with_30_percent_sensitivity_are_returned() -> None:
    first = lab("ES-LAB-1", sample_size=30,
                measurements={"sensitivity_pct": 30.0, "specificity_pct": 99.0}, day=2)  # fmt: skip
    second = replace(first, reference="ES-LAB-2", confirms=True,
                     performed_at=RECEIVED + timedelta(days=4))  # fmt: skip
    facts = lot(
        "ANTIGEN_RAPID_TEST",
        quantity=640_000,
        certificates=(certificate("ANTIGEN_RAPID_TEST", type="eu_type_examination",
                                  notified_body_number="0123"),),
        inspections=(first,),
    )  # fmt: skip
    suspect = decide(facts, POLICY, NOW)
    assert suspect.status == Status.suspect
    assert "sensitivity 30.0 % against >= 80 %" in suspect.reasons[0].message
    rejected = decide(replace(facts, inspections=(first, second)), POLICY, NOW)
    assert rejected.status == Status.rejected
    assert rejected.disposition == Disposition.return_to_supplier
    assert rejected.to_return == 640_000


# --- Finland: surgical masks fine for their own standard, not for hospitals ---------


def test_finland_masks_ordered_for_hospitals_are_downgraded_to_care_homes() -> None:
    facts = lot(
        "MEDICAL_YYT0969",
        ordered_as="SURGICAL_II",
        quantity=2_000_000,
        inspections=(passing_lab("MEDICAL_YYT0969"), visual(sample_size=500)),
    )
    decision = decide(facts, POLICY, NOW)
    assert (decision.status, decision.disposition) == (Status.restricted, Disposition.restrict_use)
    assert decision.allowed_uses == ("patient_care", "non_medical")
    assert decision.releasable == 2_000_000
    assert decision.to_return == 0
    assert distribution_allowed(decision)


# --- Belgium: 3 million FFP2 without conclusive certificates ---------------------------


def test_belgium_no_conclusive_certificate_holds_then_a_rejected_one_rejects() -> None:
    compliance = certificate(
        "FFP2", type="certificate_of_compliance", issuer="ECM", notified_body_number="1282"
    )
    facts = lot("FFP2", quantity=3_000_000, certificates=(compliance,),
                inspections=(passing_lab("FFP2"), visual(sample_size=500)))  # fmt: skip
    held = decide(facts, POLICY, NOW)
    assert (held.status, held.disposition) == (Status.on_hold, Disposition.hold)
    held_codes = [r.code for r in held.reasons]
    assert "certificate_missing" in held_codes
    assert held_codes.count("certificate_red_flag") >= 2  # compliance + body 1282

    rejected_facts = replace(facts, certificates=(replace(compliance, verification="rejected"),))
    rejected = decide(rejected_facts, POLICY, NOW)
    assert rejected.status == Status.rejected
    assert rejected.disposition == Disposition.return_to_supplier
    assert "certificate_invalid" in [r.code for r in rejected.reasons]
    assert rejected.to_return == 3_000_000


def test_belgium_lab_finding_unacceptable_quality_rejects_after_confirmation() -> None:
    bad = lab("BE-LAB-1", measurements={"filtration_efficiency_pct": 60.0,
                                        "total_inward_leakage_pct": 25.0}, day=2)  # fmt: skip
    again = replace(bad, reference="BE-LAB-2", confirms=True,
                    performed_at=RECEIVED + timedelta(days=6))  # fmt: skip
    facts = lot("FFP2", quantity=3_000_000, certificates=(), inspections=(bad, again))
    decision = decide(facts, POLICY, NOW)
    assert decision.status == Status.rejected
    failure = decision.reasons[0].message
    assert "filtration 60.0 % against >= 94 %; total inward leakage 25.0 % against <= 8 %" in (
        failure
    )
