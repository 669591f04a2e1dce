"""Small builders for lot facts, so each test states only what it is about."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from app.quality.certificates import CertificateFacts
from app.quality.decision import InspectionFacts, LotFacts, Policy, Quantities, sampling_plans
from app.quality.products import CATALOGUE

RECEIVED = datetime(2020, 3, 21, 9, 0, tzinfo=UTC)
NOW = datetime(2020, 4, 15, 12, 0, tzinfo=UTC)

_GOOD_CERTIFICATE: Mapping[str, tuple[str, str | None, str | None]] = {
    # product -> (type, notified body number, standard)
    "KN90": ("test_report", None, "GB 2626-2006"),
    "KN95": ("test_report", None, "GB 2626-2006"),
    "KN100": ("test_report", None, "GB 2626-2006"),
    "FFP1": ("eu_type_examination", "0194", "EN 149:2001+A1:2009"),
    "FFP2": ("eu_type_examination", "0194", "EN 149:2001+A1:2009"),
    "FFP3": ("eu_type_examination", "0194", "EN 149:2001+A1:2009"),
    "N95": ("niosh_approval", None, None),
    "SURGICAL_I": ("eu_declaration_of_conformity", None, "EN 14683:2019"),
    "SURGICAL_II": ("eu_declaration_of_conformity", None, "EN 14683:2019"),
    "SURGICAL_IIR": ("eu_declaration_of_conformity", None, "EN 14683:2019+AC:2019"),
    "SURGICAL_YY0469": ("nmpa_registration", None, "YY 0469-2011"),
    "MEDICAL_YYT0969": ("nmpa_registration", None, "YY/T 0969-2013"),
    "MEDICAL_RESPIRATOR_GB19083": ("nmpa_registration", None, "GB 19083-2010"),
    "ANTIGEN_RAPID_TEST": ("fda_eua", None, None),
}


def certificate(product: str = "FFP2", **changes: object) -> CertificateFacts:
    """A certificate that counts for ``product``, with ``changes`` applied."""
    kind, body, standard = _GOOD_CERTIFICATE[product]
    number = "TC-84A-9221" if kind == "niosh_approval" else f"{kind.upper()}-{product}-1"
    good = CertificateFacts(
        type=kind,
        number=number,
        issuer="Good Testing Institute",
        notified_body_number=body,
        standard=standard,
        product_scope=product,
        valid_from=date(2019, 1, 1),
        valid_until=date(2024, 1, 1),
        verification="verified",
    )
    return replace(good, **changes)  # type: ignore[arg-type]


def lab(
    reference: str = "LAB-1",
    *,
    sample_size: int = 20,
    defects: Mapping[str, int] | None = None,
    measurements: Mapping[str, float] | None = None,
    confirms: bool = False,
    day: int = 1,
) -> InspectionFacts:
    return InspectionFacts(
        reference=reference,
        kind="lab",
        sample_size=sample_size,
        performed_at=RECEIVED + timedelta(days=day),
        defects=dict(defects or {}),
        measurements=dict(measurements or {}),
        confirms=confirms,
    )


def passing_measurements(product: str) -> dict[str, float]:
    """Each critical characteristic exactly on its limit (limits are inclusive)."""
    return {
        t.characteristic: t.minimum if t.minimum is not None else t.maximum or 0.0
        for t in CATALOGUE[product].thresholds
    }


def passing_lab(product: str, reference: str = "LAB-1", day: int = 1) -> InspectionFacts:
    return lab(reference, measurements=passing_measurements(product), day=day)


def visual(
    reference: str = "VIS-1",
    *,
    sample_size: int,
    defects: Mapping[str, int] | None = None,
    day: int = 1,
) -> InspectionFacts:
    return InspectionFacts(
        reference=reference,
        kind="visual",
        sample_size=sample_size,
        performed_at=RECEIVED + timedelta(days=day),
        defects=dict(defects or {}),
        measurements={},
        confirms=False,
    )


def lot(
    product: str = "FFP2",
    *,
    ordered_as: str | None = None,
    quantity: int = 10_000,
    certificates: tuple[CertificateFacts, ...] | None = None,
    inspections: tuple[InspectionFacts, ...] | None = None,
    quantities: Quantities | None = None,
    **changes: object,
) -> LotFacts:
    """A lot that passes everything unless told otherwise."""
    facts = LotFacts(
        product=product,
        ordered_as=ordered_as or product,
        quantity=quantity,
        received_at=RECEIVED,
        certificates=(certificate(product),) if certificates is None else certificates,
        inspections=(),
        quantities=quantities or Quantities(received=quantity),
    )
    facts = replace(facts, **changes)  # type: ignore[arg-type]
    if inspections is None:
        inspections = (passing_lab(product), visual(sample_size=visual_sample_needed(facts)))
    return replace(facts, inspections=inspections)


def visual_sample_needed(facts: LotFacts, policy: Policy | None = None) -> int:
    return sampling_plans(facts, policy or Policy())["critical"].sample_size
