from datetime import date

import pytest

from app.quality.products import (
    CATALOGUE,
    DEFECT_CODES,
    PRODUCT_CODES,
    DefectClass,
    Equivalence,
    Family,
    Threshold,
    get_product,
    remaining_uses,
    satisfies_order,
)

EU_2020_403 = Equivalence("KN95", "FFP2", "Recommendation (EU) 2020/403", date(2022, 7, 31))
SPRING_2020 = date(2020, 3, 21)


def test_catalogue_holds_exactly_the_agreed_codes() -> None:
    assert set(PRODUCT_CODES) == {
        "KN90", "KN95", "KN100", "FFP1", "FFP2", "FFP3", "N95", "SURGICAL_I", "SURGICAL_II",
        "SURGICAL_IIR", "SURGICAL_YY0469", "MEDICAL_YYT0969", "MEDICAL_RESPIRATOR_GB19083",
        "ANTIGEN_RAPID_TEST",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("code", "characteristic", "minimum", "maximum"),
    [
        ("KN90", "filtration_efficiency_pct", 90.0, None),
        ("KN95", "filtration_efficiency_pct", 95.0, None),
        ("KN100", "filtration_efficiency_pct", 99.97, None),
        ("KN95", "total_inward_leakage_pct", None, 8.0),
        ("FFP1", "filtration_efficiency_pct", 80.0, None),
        ("FFP2", "filtration_efficiency_pct", 94.0, None),
        ("FFP3", "filtration_efficiency_pct", 99.0, None),
        ("FFP1", "total_inward_leakage_pct", None, 22.0),
        ("FFP3", "total_inward_leakage_pct", None, 2.0),
        ("N95", "filtration_efficiency_pct", 95.0, None),
        ("SURGICAL_I", "bacterial_filtration_efficiency_pct", 95.0, None),
        ("SURGICAL_II", "bacterial_filtration_efficiency_pct", 98.0, None),
        ("SURGICAL_IIR", "splash_resistance_kpa", 16.0, None),
        ("SURGICAL_YY0469", "filtration_efficiency_pct", 30.0, None),
        ("MEDICAL_YYT0969", "bacterial_filtration_efficiency_pct", 95.0, None),
        ("MEDICAL_RESPIRATOR_GB19083", "filtration_efficiency_pct", 95.0, None),
        ("ANTIGEN_RAPID_TEST", "sensitivity_pct", 80.0, None),
        ("ANTIGEN_RAPID_TEST", "specificity_pct", 97.0, None),
    ],
)
def test_thresholds_are_the_standards_numbers(
    code: str, characteristic: str, minimum: float | None, maximum: float | None
) -> None:
    threshold = CATALOGUE[code].threshold_for(characteristic)
    assert threshold is not None
    assert (threshold.minimum, threshold.maximum) == (minimum, maximum)
    assert characteristic in CATALOGUE[code].required_lab_characteristics


def test_surgical_ii_has_no_splash_requirement_but_iir_does() -> None:
    assert CATALOGUE["SURGICAL_II"].threshold_for("splash_resistance_kpa") is None
    assert CATALOGUE["SURGICAL_IIR"].threshold_for("splash_resistance_kpa") is not None


def test_threshold_limits_are_inclusive_and_read_like_a_spec() -> None:
    minimum = Threshold("filtration_efficiency_pct", 95.0, None, "%")
    maximum = Threshold("total_inward_leakage_pct", None, 8.0, "%")
    assert minimum.passes(95.0) and not minimum.passes(94.99)
    assert maximum.passes(8.0) and not maximum.passes(8.01)
    assert minimum.text == ">= 95 %"
    assert maximum.text == "<= 8 %"
    assert Threshold("splash_resistance_kpa", 16.0, None, "kPa").text == ">= 16 kPa"


def test_threshold_needs_a_known_characteristic_and_a_limit() -> None:
    with pytest.raises(ValueError, match="unknown characteristic"):
        Threshold("colour", 1.0, None, "%")
    with pytest.raises(ValueError, match="minimum, a maximum"):
        Threshold("sensitivity_pct", None, None, "%")


@pytest.mark.parametrize("code", ["KN95", "FFP2", "N95", "MEDICAL_RESPIRATOR_GB19083"])
def test_respirator_membrane_and_fit_faults_are_critical(code: str) -> None:
    product = CATALOGUE[code]
    assert product.family == Family.respirator
    assert product.defect_class("membrane_fault") == DefectClass.critical
    assert product.defect_class("poor_fit") == DefectClass.critical


def test_masks_and_kits_classify_defects_sensibly() -> None:
    surgical, kit = CATALOGUE["SURGICAL_II"], CATALOGUE["ANTIGEN_RAPID_TEST"]
    assert surgical.defect_class("poor_fit") == DefectClass.major
    assert surgical.defect_class("membrane_fault") == DefectClass.critical
    assert surgical.defect_class("sensitivity_below_spec") is None
    assert kit.defect_class("sensitivity_below_spec") == DefectClass.critical
    assert kit.defect_class("specificity_below_spec") == DefectClass.critical
    assert kit.defect_class("poor_fit") is None


@pytest.mark.parametrize("code", PRODUCT_CODES)
def test_every_product_classes_the_shared_codes_alike(code: str) -> None:
    product = CATALOGUE[code]
    assert product.defect_class("wrong_category") == DefectClass.critical
    assert product.defect_class("certificate_invalid") == DefectClass.critical
    assert product.defect_class("labelling") == DefectClass.minor
    assert product.defect_class("workmanship") == DefectClass.major
    assert set(product.defect_classes) <= set(DEFECT_CODES)


def test_medical_masks_are_not_surgical_and_kn95_is_not_medical() -> None:
    assert CATALOGUE["MEDICAL_YYT0969"].family == Family.medical_mask
    assert "surgical" not in CATALOGUE["MEDICAL_YYT0969"].uses
    assert CATALOGUE["KN95"].uses == ("non_medical",)


def test_unknown_product_lists_the_codes() -> None:
    with pytest.raises(ValueError, match="KN95"):
        get_product("KN96")


@pytest.mark.parametrize(
    ("delivered", "ordered", "expected"),
    [
        ("FFP2", "FFP2", True),
        ("FFP3", "FFP2", True),
        ("FFP2", "FFP3", False),
        ("KN95", "KN90", True),
        ("KN90", "KN95", False),
        ("SURGICAL_IIR", "SURGICAL_II", True),
        ("SURGICAL_II", "SURGICAL_IIR", False),
        ("SURGICAL_II", "SURGICAL_I", True),
        ("SURGICAL_YY0469", "MEDICAL_YYT0969", True),
        ("MEDICAL_YYT0969", "SURGICAL_YY0469", False),
        ("MEDICAL_YYT0969", "SURGICAL_II", False),
        ("KN95", "FFP2", False),
        ("KN95", "SURGICAL_I", False),
        ("SURGICAL_IIR", "FFP1", False),
        ("FFP3", "SURGICAL_I", False),
        ("N95", "FFP2", False),
    ],
)
def test_satisfies_order_by_class(delivered: str, ordered: str, expected: bool) -> None:
    assert satisfies_order(delivered, ordered, (), SPRING_2020) is expected


def test_equivalence_lets_kn95_fill_ffp2_only_while_in_force() -> None:
    assert satisfies_order("KN95", "FFP2", [EU_2020_403], SPRING_2020)
    assert satisfies_order("KN95", "FFP2", [EU_2020_403], date(2022, 7, 31))
    assert not satisfies_order("KN95", "FFP2", [EU_2020_403], date(2022, 8, 1))


def test_equivalence_covers_higher_classes_on_both_sides_but_not_lower() -> None:
    assert satisfies_order("KN100", "FFP2", [EU_2020_403], SPRING_2020)
    assert satisfies_order("KN95", "FFP1", [EU_2020_403], SPRING_2020)
    assert not satisfies_order("KN90", "FFP2", [EU_2020_403], SPRING_2020)
    assert not satisfies_order("KN95", "FFP3", [EU_2020_403], SPRING_2020)


def test_equivalence_without_end_date_stays_in_force() -> None:
    open_ended = Equivalence("N95", "FFP2", "national derogation", None)
    assert satisfies_order("N95", "FFP2", [open_ended], date(2030, 1, 1))


@pytest.mark.parametrize(
    ("delivered", "ordered"),
    [
        ("KN95", "SURGICAL_II"),  # KN95 is never a surgical mask
        ("MEDICAL_YYT0969", "SURGICAL_II"),  # a medical mask is not surgical
        ("SURGICAL_IIR", "FFP2"),  # a surgical mask is not a respirator
        ("ANTIGEN_RAPID_TEST", "FFP2"),
    ],
)
def test_no_policy_can_make_products_of_different_families_equivalent(
    delivered: str, ordered: str
) -> None:
    with pytest.raises(ValueError, match="can never stand in"):
        Equivalence(delivered, ordered, "wishful thinking", None)


def test_equivalence_needs_a_legal_basis_and_known_codes() -> None:
    with pytest.raises(ValueError, match="legal basis"):
        Equivalence("KN95", "FFP2", "  ", None)
    with pytest.raises(ValueError, match="unknown product"):
        Equivalence("KN99", "FFP2", "x", None)


@pytest.mark.parametrize(
    ("delivered", "ordered", "uses"),
    [
        ("KN95", "FFP2", ("non_medical",)),
        ("SURGICAL_I", "SURGICAL_IIR", ("patient_care", "non_medical")),
        ("MEDICAL_YYT0969", "SURGICAL_II", ("patient_care", "non_medical")),
        ("SURGICAL_II", "SURGICAL_IIR", ("surgical", "patient_care", "non_medical")),
        # The code meets the order, so the wrong category came from an inspector.
        ("FFP2", "FFP2", ("non_medical",)),
        ("ANTIGEN_RAPID_TEST", "ANTIGEN_RAPID_TEST", ()),
    ],
)
def test_remaining_uses(delivered: str, ordered: str, uses: tuple[str, ...]) -> None:
    assert remaining_uses(delivered, ordered) == uses
