"""Rule 10: complaints and alerts re-open a lot; a confirming inspection decides."""

from dataclasses import replace
from datetime import timedelta

from app.quality.decision import Policy, Quantities, Status, decide
from app.quality.signals import (
    AlertSource,
    AlertTermKind,
    MatchStrength,
    Signal,
    match_strength,
)
from tests.quality.builders import NOW, RECEIVED, lab, lot, passing_measurements

SHIPPED = Quantities(received=10_000, distributed=4_000)
FAILING = {"filtration_efficiency_pct": 81.0}


def complaint(number: int, destination: str, category: str = "poor_fit", day: int = 5) -> Signal:
    return Signal(
        f"complaint {number}",
        "complaint",
        RECEIVED + timedelta(days=day),
        category=category,
        destination=destination,
    )


def alert(number: int = 1, day: int = 5) -> Signal:
    return Signal(f"alert {number}", "alert", RECEIVED + timedelta(days=day))


def codes(decision: object) -> list[str]:
    return [r.code for r in decision.reasons]  # type: ignore[attr-defined]


def test_an_accepted_lot_stays_accepted_without_signals() -> None:
    assert decide(lot(quantities=SHIPPED), Policy(), NOW).status == Status.accepted


def test_one_ordinary_complaint_is_noted_but_changes_nothing() -> None:
    facts = lot(quantities=SHIPPED, signals=(complaint(1, "Hospital A"),))
    decision = decide(facts, Policy(), NOW)
    assert decision.status == Status.accepted
    assert "complaint_recorded" in codes(decision)


def test_complaints_from_enough_destinations_make_the_lot_suspect() -> None:
    two_sites = (complaint(1, "Hospital A"), complaint(2, "Hospital B", day=6))
    decision = decide(lot(quantities=SHIPPED, signals=two_sites), Policy(), NOW)
    assert decision.status == Status.suspect
    assert decision.to_recall == 4_000 and decision.releasable == 0
    assert codes(decision).count("complaint_signal") == 2
    assert "signal_awaiting_confirmation" in codes(decision)
    same_site = (complaint(1, "Hospital A"), complaint(2, "Hospital A", day=6))
    assert decide(lot(quantities=SHIPPED, signals=same_site), Policy(), NOW).status == (
        Status.accepted
    )
    policy = Policy(complaint_destinations=3)
    assert decide(lot(quantities=SHIPPED, signals=two_sites), policy, NOW).status == (
        Status.accepted
    )


def test_a_critical_complaint_is_enough_on_its_own() -> None:
    facts = lot(quantities=SHIPPED, signals=(complaint(1, "Hospital A", "skin_reaction"),))
    assert decide(facts, Policy(), NOW).status == Status.suspect


def test_an_alert_makes_even_a_restricted_or_on_hold_lot_suspect_but_never_better() -> None:
    assert decide(lot(signals=(alert(),)), Policy(), NOW).status == Status.suspect
    on_hold = lot(inspections=(), signals=(alert(),))
    assert decide(on_hold, Policy(), NOW).status == Status.suspect
    rejected = lot(
        inspections=(
            lab(measurements=FAILING),
            lab("LAB-2", measurements=FAILING, confirms=True, day=2),
        )
    )
    assert decide(replace(rejected, signals=(alert(),)), Policy(), NOW).status == Status.rejected


def test_a_failing_confirmation_after_the_signal_rejects_the_whole_lot() -> None:
    confirming = lab("LAB-9", measurements=FAILING, confirms=True, day=10)
    facts = lot(quantities=SHIPPED, signals=(alert(),))
    facts = replace(facts, inspections=(*facts.inspections, confirming))
    decision = decide(facts, Policy(), NOW)
    assert decision.status == Status.rejected
    assert "signal_confirmed" in codes(decision)
    assert decision.to_recall == 4_000 and decision.to_return == 6_000


def test_a_passing_confirmation_settles_the_signals_before_it_only() -> None:
    confirming = lab("LAB-9", measurements=passing_measurements("FFP2"), confirms=True, day=10)
    facts = lot(quantities=SHIPPED, signals=(alert(),))
    facts = replace(facts, inspections=(*facts.inspections, confirming))
    settled = decide(facts, Policy(), NOW)
    assert settled.status == Status.accepted
    assert "signal_not_confirmed" in codes(settled)
    later = replace(facts, signals=(alert(), alert(2, day=12)))
    assert decide(later, Policy(), NOW).status == Status.suspect


def test_a_confirmation_before_the_signal_does_not_decide_it() -> None:
    early = lab("LAB-0", measurements=passing_measurements("FFP2"), confirms=True, day=2)
    facts = lot(quantities=SHIPPED, signals=(alert(day=5),))
    facts = replace(facts, inspections=(*facts.inspections, early))
    assert decide(facts, Policy(), NOW).status == Status.suspect


def test_a_signal_never_clears_a_failure() -> None:
    failed = lot(inspections=(lab(measurements=FAILING),), signals=(complaint(1, "A"),))
    assert decide(failed, Policy(), NOW).status == Status.suspect


def test_which_identifiers_re_open_a_lot_by_themselves() -> None:
    regulator, withdrawn = AlertSource.regulator, AlertSource.authorisation_withdrawn
    assert match_strength(AlertTermKind.gtin_batch, regulator) == MatchStrength.strong
    assert match_strength(AlertTermKind.certificate_number, regulator) == MatchStrength.strong
    assert match_strength(AlertTermKind.niosh_approval_number, regulator) == MatchStrength.strong
    assert match_strength(AlertTermKind.notified_body_number, withdrawn) == MatchStrength.strong
    assert match_strength(AlertTermKind.notified_body_number, regulator) == MatchStrength.weak
    assert match_strength(AlertTermKind.manufacturer, withdrawn) == MatchStrength.weak
    assert match_strength(AlertTermKind.gtin, regulator) == MatchStrength.weak
