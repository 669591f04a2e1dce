"""Product catalogue: what each product is, what it must measure, what it may be used for.

Thresholds are the standards' own numbers (see the domain brief). Every threshold of a
product is a critical lab characteristic: a result outside it disqualifies the whole lot.

Uses are a small vocabulary a quality manager can read on a release note:

- ``healthcare_respiratory_protection``: respirators for hospital staff (FFP2 / FFP3 / N95 class)
- ``surgical_fluid_resistant``: surgical masks where splashes are expected (EN 14683 type IIR)
- ``surgical``: surgical masks in operating theatres and procedures
- ``patient_care``: medical masks for home care, nursing homes, patients (Finland's downgrade)
- ``non_medical``: anything outside healthcare (industry, community use)
- ``diagnostic_testing``: in-vitro diagnostic use of test kits
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType


class Family(StrEnum):
    respirator = "respirator"
    surgical_mask = "surgical_mask"
    medical_mask = "medical_mask"
    test_kit = "test_kit"


class DefectClass(StrEnum):
    critical = "critical"
    major = "major"
    minor = "minor"


CHARACTERISTICS: tuple[str, ...] = (
    "filtration_efficiency_pct",
    "total_inward_leakage_pct",
    "bacterial_filtration_efficiency_pct",
    "splash_resistance_kpa",
    "sensitivity_pct",
    "specificity_pct",
)

CHARACTERISTIC_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "filtration_efficiency_pct": "filtration",
        "total_inward_leakage_pct": "total inward leakage",
        "bacterial_filtration_efficiency_pct": "bacterial filtration",
        "splash_resistance_kpa": "splash resistance",
        "sensitivity_pct": "sensitivity",
        "specificity_pct": "specificity",
    }
)

DEFECT_CODES: tuple[str, ...] = (
    "membrane_fault",
    "poor_fit",
    "wrong_category",
    "certificate_invalid",
    "sensitivity_below_spec",
    "specificity_below_spec",
    "labelling",
    "workmanship",
    "wrong_material",
    "counterfeit_marking",
)

USES: tuple[str, ...] = (
    "healthcare_respiratory_protection",
    "surgical_fluid_resistant",
    "surgical",
    "patient_care",
    "non_medical",
    "diagnostic_testing",
)


def _format_number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Threshold:
    characteristic: str
    minimum: float | None
    maximum: float | None
    unit: str

    def __post_init__(self) -> None:
        if self.characteristic not in CHARACTERISTICS:
            raise ValueError(
                f"unknown characteristic {self.characteristic!r}; allowed: {CHARACTERISTICS}"
            )
        if self.minimum is None and self.maximum is None:
            raise ValueError("a threshold needs a minimum, a maximum or both")

    def passes(self, value: float) -> bool:
        if self.minimum is not None and value < self.minimum:
            return False
        return self.maximum is None or value <= self.maximum

    @property
    def text(self) -> str:
        """The requirement as a person writes it, e.g. ``>= 95 %`` or ``<= 8 %``."""
        parts = []
        if self.minimum is not None:
            parts.append(f">= {_format_number(self.minimum)} {self.unit}")
        if self.maximum is not None:
            parts.append(f"<= {_format_number(self.maximum)} {self.unit}")
        return " and ".join(parts)

    @property
    def label(self) -> str:
        return CHARACTERISTIC_LABELS[self.characteristic]


def _minimum(characteristic: str, value: float, unit: str = "%") -> Threshold:
    return Threshold(characteristic, minimum=value, maximum=None, unit=unit)


def _maximum(characteristic: str, value: float, unit: str = "%") -> Threshold:
    return Threshold(characteristic, minimum=None, maximum=value, unit=unit)


# Defect classes per family. Choices:
# - wrong_category and certificate_invalid are critical everywhere: either one alone means
#   the lot cannot be used as ordered. decide() judges wrong_category by its own rule
#   (restrict or reject), not as a whole-lot condemnation.
# - Respirators: a failing filter membrane or a bad fit defeats the purpose -> critical.
# - Surgical / medical masks are loose-fitting and never fit-tested: a poor fit (broken ear
#   loop, missing nose wire) is major; a failing filter layer is critical.
# - Test kits: sensitivity or specificity below spec is a wrong diagnosis -> critical; a
#   faulty strip membrane gives no valid result -> critical; fit does not apply.
# - Workmanship is major and labelling minor for every family.
# - Substituted and counterfeit material is critical for every family: wrong_material (the
#   unit is not made of what its standard requires, e.g. masks sewn from underwear fabric
#   delivered as medical masks in 2020) and counterfeit_marking (a CE mark, notified body
#   number, NIOSH approval or standard printed on units that do not hold it). Like any
#   critical defect, one unit condemns the lot once confirmed (see decide(), rules 3-4).
_SUBSTITUTION_DEFECTS: Mapping[str, DefectClass] = MappingProxyType(
    {
        "wrong_material": DefectClass.critical,
        "counterfeit_marking": DefectClass.critical,
    }
)
_RESPIRATOR_DEFECTS: Mapping[str, DefectClass] = MappingProxyType(
    {
        "membrane_fault": DefectClass.critical,
        "poor_fit": DefectClass.critical,
        "wrong_category": DefectClass.critical,
        "certificate_invalid": DefectClass.critical,
        "labelling": DefectClass.minor,
        "workmanship": DefectClass.major,
        **_SUBSTITUTION_DEFECTS,
    }
)
_MASK_DEFECTS: Mapping[str, DefectClass] = MappingProxyType(
    {
        "membrane_fault": DefectClass.critical,
        "poor_fit": DefectClass.major,
        "wrong_category": DefectClass.critical,
        "certificate_invalid": DefectClass.critical,
        "labelling": DefectClass.minor,
        "workmanship": DefectClass.major,
        **_SUBSTITUTION_DEFECTS,
    }
)
_TEST_KIT_DEFECTS: Mapping[str, DefectClass] = MappingProxyType(
    {
        "membrane_fault": DefectClass.critical,
        "sensitivity_below_spec": DefectClass.critical,
        "specificity_below_spec": DefectClass.critical,
        "wrong_category": DefectClass.critical,
        "certificate_invalid": DefectClass.critical,
        "labelling": DefectClass.minor,
        "workmanship": DefectClass.major,
        **_SUBSTITUTION_DEFECTS,
    }
)
_DEFECTS_BY_FAMILY: Mapping[Family, Mapping[str, DefectClass]] = MappingProxyType(
    {
        Family.respirator: _RESPIRATOR_DEFECTS,
        Family.surgical_mask: _MASK_DEFECTS,
        Family.medical_mask: _MASK_DEFECTS,
        Family.test_kit: _TEST_KIT_DEFECTS,
    }
)


@dataclass(frozen=True)
class Product:
    """One orderable product.

    ``series`` and ``class_rank`` order the classes of one standard (FFP1 < FFP2 < FFP3):
    a higher class of the same series satisfies an order for a lower one.
    ``certificate_standard`` is the standard reference a certificate must name (None: any).
    ``defect_classes`` lists the defect codes that apply to the product's family; a code
    outside it is counted as major by decide() (and said so in a reason).
    """

    code: str
    name: str
    standard: str
    use_category: str
    family: Family
    thresholds: tuple[Threshold, ...]
    uses: tuple[str, ...]
    series: str | None = None
    class_rank: int = 0
    certificate_standard: str | None = None
    defect_classes: Mapping[str, DefectClass] = field(default_factory=dict)
    required_lab_characteristics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [use for use in self.uses if use not in USES]
        if unknown:
            raise ValueError(f"unknown uses {unknown}; allowed: {USES}")
        if not self.defect_classes:
            object.__setattr__(self, "defect_classes", _DEFECTS_BY_FAMILY[self.family])
        if not self.required_lab_characteristics:
            required = tuple(threshold.characteristic for threshold in self.thresholds)
            object.__setattr__(self, "required_lab_characteristics", required)

    def threshold_for(self, characteristic: str) -> Threshold | None:
        for threshold in self.thresholds:
            if threshold.characteristic == characteristic:
                return threshold
        return None

    def defect_class(self, code: str) -> DefectClass | None:
        """The class of a defect code for this product, None when it does not apply."""
        return self.defect_classes.get(code)


_FILTRATION = "filtration_efficiency_pct"
_LEAKAGE = "total_inward_leakage_pct"
_BFE = "bacterial_filtration_efficiency_pct"
_SPLASH = "splash_resistance_kpa"

_HOSPITAL_RESPIRATOR_USES = ("healthcare_respiratory_protection", "non_medical")
_SURGICAL_USES = ("surgical", "patient_care", "non_medical")
_MEDICAL_MASK_USES = ("patient_care", "non_medical")


def _gb2626(code: str, filtration: float, leakage: float, rank: int) -> Product:
    return Product(
        code=code,
        name=f"{code} particulate respirator",
        standard="GB 2626-2006",
        use_category="non-medical respirator (labour protection)",
        family=Family.respirator,
        thresholds=(_minimum(_FILTRATION, filtration), _maximum(_LEAKAGE, leakage)),
        uses=("non_medical",),
        series="GB 2626",
        class_rank=rank,
        certificate_standard="GB 2626",
    )


def _en149(code: str, filtration: float, leakage: float, rank: int) -> Product:
    # FFP1 is not worn against infectious aerosols in hospitals; FFP2 and FFP3 are.
    uses = ("non_medical",) if rank == 1 else _HOSPITAL_RESPIRATOR_USES
    return Product(
        code=code,
        name=f"{code} filtering half mask",
        standard="EN 149:2001+A1:2009",
        use_category="respirator (PPE, Regulation (EU) 2016/425)",
        family=Family.respirator,
        thresholds=(_minimum(_FILTRATION, filtration), _maximum(_LEAKAGE, leakage)),
        uses=uses,
        series="EN 149",
        class_rank=rank,
        certificate_standard="EN 149",
    )


def _en14683(code: str, type_name: str, bfe: float, rank: int) -> Product:
    thresholds = [_minimum(_BFE, bfe)]
    uses: tuple[str, ...] = _SURGICAL_USES
    if type_name == "IIR":
        thresholds.append(_minimum(_SPLASH, 16.0, unit="kPa"))
        uses = ("surgical_fluid_resistant", *_SURGICAL_USES)
    if type_name == "I":
        # EN 14683 keeps type I masks for patients and others, not for theatre staff.
        uses = _MEDICAL_MASK_USES
    return Product(
        code=code,
        name=f"Surgical mask type {type_name}",
        standard="EN 14683:2019",
        use_category="surgical mask (medical device)",
        family=Family.surgical_mask,
        thresholds=tuple(thresholds),
        uses=uses,
        series="EN 14683",
        class_rank=rank,
        certificate_standard="EN 14683",
    )


_PRODUCTS: tuple[Product, ...] = (
    _gb2626("KN90", 90.0, 22.0, 1),
    _gb2626("KN95", 95.0, 8.0, 2),
    _gb2626("KN100", 99.97, 2.0, 3),
    _en149("FFP1", 80.0, 22.0, 1),
    _en149("FFP2", 94.0, 8.0, 2),
    _en149("FFP3", 99.0, 2.0, 3),
    Product(
        code="N95",
        name="N95 filtering facepiece respirator",
        standard="NIOSH 42 CFR 84",
        use_category="respirator",
        family=Family.respirator,
        # Fit is judged by a fit test, recorded as poor_fit defects (critical).
        thresholds=(_minimum(_FILTRATION, 95.0),),
        uses=_HOSPITAL_RESPIRATOR_USES,
        certificate_standard="42 CFR 84",
    ),
    _en14683("SURGICAL_I", "I", 95.0, 1),
    _en14683("SURGICAL_II", "II", 98.0, 2),
    _en14683("SURGICAL_IIR", "IIR", 98.0, 3),
    Product(
        code="SURGICAL_YY0469",
        name="Surgical mask (China)",
        standard="YY 0469-2011",
        use_category="surgical mask (medical device)",
        family=Family.surgical_mask,
        thresholds=(_minimum(_BFE, 95.0), _minimum(_FILTRATION, 30.0)),
        uses=_SURGICAL_USES,
        # The Chinese surgical mask meets everything the plain medical mask must.
        series="CN medical mask",
        class_rank=2,
        certificate_standard="YY 0469",
    ),
    Product(
        code="MEDICAL_YYT0969",
        name="Single-use medical mask (China)",
        standard="YY/T 0969-2013",
        use_category="single-use medical mask, not surgical",
        family=Family.medical_mask,
        thresholds=(_minimum(_BFE, 95.0),),
        uses=_MEDICAL_MASK_USES,
        series="CN medical mask",
        class_rank=1,
        certificate_standard="YY/T 0969",
    ),
    Product(
        code="MEDICAL_RESPIRATOR_GB19083",
        name="Medical protective respirator (China)",
        standard="GB 19083-2010",
        use_category="medical protective respirator",
        family=Family.respirator,
        thresholds=(_minimum(_FILTRATION, 95.0),),
        uses=_HOSPITAL_RESPIRATOR_USES,
        certificate_standard="GB 19083",
    ),
    Product(
        code="ANTIGEN_RAPID_TEST",
        name="Rapid antigen test",
        standard="WHO target product profile",
        use_category="in-vitro diagnostic",
        family=Family.test_kit,
        thresholds=(_minimum("sensitivity_pct", 80.0), _minimum("specificity_pct", 97.0)),
        uses=("diagnostic_testing",),
    ),
)

CATALOGUE: Mapping[str, Product] = MappingProxyType({p.code: p for p in _PRODUCTS})
PRODUCT_CODES: tuple[str, ...] = tuple(CATALOGUE)


def get_product(code: str) -> Product:
    """The catalogue entry; ValueError (listing the codes) for an unknown code."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise ValueError(f"unknown product {code!r}; allowed: {PRODUCT_CODES}") from None


@dataclass(frozen=True)
class Equivalence:
    """A buyer's decision that ``delivered`` may stand in for ``ordered`` until a date.

    Example: KN95 for FFP2 under Recommendation (EU) 2020/403 until 2022-07-31.
    Only products of the same family can be made equivalent: no policy can make a KN95
    a surgical mask, a medical mask surgical, or a surgical mask a respirator.
    """

    delivered: str
    ordered: str
    legal_basis: str
    valid_until: date | None

    def __post_init__(self) -> None:
        delivered, ordered = get_product(self.delivered), get_product(self.ordered)
        if delivered.family != ordered.family:
            raise ValueError(
                f"{self.delivered} ({delivered.use_category}) can never stand in for "
                f"{self.ordered} ({ordered.use_category})"
            )
        if not self.legal_basis.strip():
            raise ValueError("an equivalence needs a legal basis")

    def in_force(self, on: date) -> bool:
        return self.valid_until is None or on <= self.valid_until


def meets_class(delivered: str, ordered: str) -> bool:
    """Same product, or a higher class of the same series (FFP3 for FFP2, IIR for II)."""
    if delivered == ordered:
        return True
    have, want = get_product(delivered), get_product(ordered)
    return (
        have.series is not None
        and have.series == want.series
        and (have.class_rank >= want.class_rank)
    )


def equivalence_for(
    delivered: str, ordered: str, equivalences: Sequence[Equivalence], on: date
) -> Equivalence | None:
    """The first equivalence in force on ``on`` that lets ``delivered`` fill ``ordered``.

    An equivalence also covers higher classes on both sides: "KN95 for FFP2" lets KN100
    fill an FFP2 order and KN95 fill an FFP1 order.
    """
    for equivalence in equivalences:
        if (
            equivalence.in_force(on)
            and meets_class(delivered, equivalence.delivered)
            and meets_class(equivalence.ordered, ordered)
        ):
            return equivalence
    return None


def satisfies_order(
    delivered: str, ordered: str, equivalences: Sequence[Equivalence], on: date
) -> bool:
    """Whether a delivered product fills an order on a given date: it meets the class
    (see ``meets_class``) or an equivalence in force that date lets it stand in."""
    return meets_class(delivered, ordered) or (
        equivalence_for(delivered, ordered, equivalences, on) is not None
    )


def remaining_uses(delivered: str, ordered: str) -> tuple[str, ...]:
    """The uses a lot still serves when it turned out not to be what was ordered.

    - A different or lower product serves what its own standard covers: KN95 against an
      FFP2 order serves ``non_medical`` only; surgical type I against a IIR order serves
      ``patient_care`` and ``non_medical``.
    - When the code does meet the order, the wrong category was found by an inspector:
      the label cannot be trusted, so only ``non_medical`` remains (nothing for test kits).
    """
    product = get_product(delivered)
    get_product(ordered)
    if meets_class(delivered, ordered):
        return () if product.family == Family.test_kit else ("non_medical",)
    return product.uses
