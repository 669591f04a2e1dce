"""Which certificates count for which product, and the red flags that void them.

A certificate counts when all of these hold:
- its type is one that proves conformity for the product (``COUNTING_TYPES``);
- it names the product's standard (``Product.certificate_standard``); a NIOSH approval is
  itself issued under 42 CFR 84 and may leave the standard blank;
- it is valid on the day the lot was received;
- it has not been verified as rejected with the issuer;
- it carries no red flag.

Unverified certificates count (with a note): a lot cannot wait for every issuer to answer,
and a later rejection turns the outcome to ``invalid``.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from app.quality.products import Product
from app.quality.reasons import Reason, critical, info, warning


class CertificateType(StrEnum):
    eu_type_examination = "eu_type_examination"
    eu_declaration_of_conformity = "eu_declaration_of_conformity"
    niosh_approval = "niosh_approval"
    test_report = "test_report"
    nmpa_registration = "nmpa_registration"
    fda_eua = "fda_eua"
    certificate_of_compliance = "certificate_of_compliance"
    voluntary_certificate = "voluntary_certificate"


class Verification(StrEnum):
    unverified = "unverified"
    verified = "verified"
    rejected = "rejected"


class CertificateOutcome(StrEnum):
    ok = "ok"
    missing = "missing"
    invalid = "invalid"


CERTIFICATE_TYPES: tuple[str, ...] = tuple(CertificateType)
VERIFICATION_STATES: tuple[str, ...] = tuple(Verification)

_T = CertificateType
# What proves conformity, per product. Choices where the brief was open:
# - KN masks: a test report or type-examination naming GB 2626 (China has no third-party
#   certificate for labour-protection masks beyond the test report).
# - EN 14683 surgical masks are class I medical devices: the manufacturer's EU declaration
#   of conformity; a type-examination naming EN 14683 is accepted as the stronger proof.
# - Chinese medical masks and respirators: the NMPA registration, or a test report.
# - Test kits: an FDA emergency use authorisation, an EU type-examination, or NMPA.
COUNTING_TYPES: Mapping[str, tuple[CertificateType, ...]] = MappingProxyType(
    {
        "KN90": (_T.test_report, _T.eu_type_examination),
        "KN95": (_T.test_report, _T.eu_type_examination),
        "KN100": (_T.test_report, _T.eu_type_examination),
        "FFP1": (_T.eu_type_examination,),
        "FFP2": (_T.eu_type_examination,),
        "FFP3": (_T.eu_type_examination,),
        "N95": (_T.niosh_approval,),
        "SURGICAL_I": (_T.eu_declaration_of_conformity, _T.eu_type_examination),
        "SURGICAL_II": (_T.eu_declaration_of_conformity, _T.eu_type_examination),
        "SURGICAL_IIR": (_T.eu_declaration_of_conformity, _T.eu_type_examination),
        "SURGICAL_YY0469": (_T.nmpa_registration, _T.test_report),
        "MEDICAL_YYT0969": (_T.nmpa_registration, _T.test_report),
        "MEDICAL_RESPIRATOR_GB19083": (_T.nmpa_registration, _T.test_report),
        "ANTIGEN_RAPID_TEST": (_T.fda_eua, _T.eu_type_examination, _T.nmpa_registration),
    }
)

# Issuers the European Safety Federation named (2020) as not notified for PPE.
NOT_NOTIFIED_FOR_PPE_NUMBERS: Mapping[str, str] = MappingProxyType(
    {"1282": "Ente Certificazione Macchine (ECM)"}
)
NOT_NOTIFIED_FOR_PPE_ISSUERS: tuple[str, ...] = (
    "ECM",
    "Ente Certificazione Macchine",
    "ICR Polska",
    "CELAB",
)
# Any of them as a whole word (one pattern: every certificate of every lot is checked).
_NOT_NOTIFIED_FOR_PPE_ISSUER = re.compile(
    r"\b(?:" + "|".join(re.escape(name) for name in NOT_NOTIFIED_FOR_PPE_ISSUERS) + r")\b",
    re.IGNORECASE,
)
# Notified bodies sit in the EU, the EEA, Switzerland or Turkey (ISO 3166 alpha-2; EL = GR).
NOTIFIED_BODY_COUNTRIES: frozenset[str] = frozenset(
    {
        *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "EL", "HU"),
        *("IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
        *("IS", "LI", "NO", "CH", "TR"),
    }
)
_NIOSH_APPROVAL_NUMBER = re.compile(r"^TC-84A-\d+$", re.IGNORECASE)
_NOTIFIED_BODY_NUMBER = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class CertificateFacts:
    type: str
    number: str
    issuer: str
    notified_body_number: str | None
    standard: str | None
    product_scope: str | None
    valid_from: date | None
    valid_until: date | None
    verification: str = Verification.unverified
    issuer_country: str | None = None

    def __post_init__(self) -> None:
        if self.type not in CERTIFICATE_TYPES:
            raise ValueError(
                f"certificate type {self.type!r} is unknown; "
                f"allowed: {', '.join(CERTIFICATE_TYPES)}"
            )
        if self.verification not in VERIFICATION_STATES:
            raise ValueError(
                f"verification {self.verification!r} is unknown; "
                f"allowed: {', '.join(VERIFICATION_STATES)}"
            )

    @property
    def title(self) -> str:
        return f"{self.type} {self.number} from {self.issuer}"


@dataclass(frozen=True)
class CertificateAssessment:
    outcome: CertificateOutcome
    counting: tuple[CertificateFacts, ...]
    reasons: tuple[Reason, ...]

    @property
    def counts(self) -> bool:
        return self.outcome == CertificateOutcome.ok


def _compact(text: str) -> str:
    # Spaces and slashes vary ("YY/T 0969", "YYT0969"); the dash before an edition stays,
    # so "GB 2626-2006" still reads as GB 2626 and not as GB 26262006.
    return re.sub(r"[\s/_]", "", text.upper())


def names_standard(certificate_standard: str | None, product_standard: str) -> bool:
    """Whether "GB2626-2006", "gb 2626" ... name GB 2626 (and not, say, GB 26260)."""
    if certificate_standard is None:
        return False
    pattern = r"(?<![0-9A-Z])" + re.escape(_compact(product_standard)) + r"(?!\d)"
    return re.search(pattern, _compact(certificate_standard)) is not None


def _evidence(certificate: CertificateFacts) -> dict[str, object]:
    return {"type": certificate.type, "number": certificate.number, "issuer": certificate.issuer}


def _issuer_not_notified_for_ppe(certificate: CertificateFacts) -> str | None:
    number = certificate.notified_body_number
    if number is not None and number.strip() in NOT_NOTIFIED_FOR_PPE_NUMBERS:
        return f"notified body {number.strip()} ({NOT_NOTIFIED_FOR_PPE_NUMBERS[number.strip()]})"
    if _NOT_NOTIFIED_FOR_PPE_ISSUER.search(certificate.issuer):
        return f"issuer {certificate.issuer}"
    return None


def red_flags(certificate: CertificateFacts) -> tuple[Reason, ...]:
    """The European Safety Federation's warning signs, one reason each."""
    flags: list[Reason] = []

    def flag(problem: str) -> None:
        flags.append(
            warning(
                "certificate_red_flag", f"{certificate.title}: {problem}", **_evidence(certificate)
            )
        )

    if certificate.type == CertificateType.certificate_of_compliance:
        flag("a certificate of compliance is not an EU type-examination certificate")
    if certificate.type == CertificateType.voluntary_certificate:
        flag("a voluntary certificate or mark proves no conformity")
    not_notified = _issuer_not_notified_for_ppe(certificate)
    if not_notified is not None:
        flag(f"{not_notified} is not notified for PPE")
    number = certificate.notified_body_number
    if number is not None and not _NOTIFIED_BODY_NUMBER.match(number.strip()):
        flag(f"notified body number {number!r} is not a 4-digit number")
    country = certificate.issuer_country
    if (
        certificate.type == CertificateType.eu_type_examination
        and country is not None
        and country.upper() not in NOTIFIED_BODY_COUNTRIES
    ):
        flag(f"issuer in {country} is outside the EU/EEA/Switzerland/Turkey")
    if certificate.type == CertificateType.niosh_approval and not _NIOSH_APPROVAL_NUMBER.match(
        certificate.number.strip()
    ):
        flag("a NIOSH approval number has the form TC-84A-nnnn")
    return tuple(flags)


def _why_not_counted(
    product: Product, certificate: CertificateFacts, received_on: date
) -> str | None:
    """The first rule the certificate fails (red flags aside), or None when it counts."""
    allowed = COUNTING_TYPES[product.code]
    if certificate.type not in allowed:
        return f"{product.code} needs {_needed(product)}"
    if certificate.verification == Verification.rejected:
        return "the issuer's records reject it"
    standard = product.certificate_standard
    standard_implied = certificate.type == CertificateType.niosh_approval and (
        certificate.standard is None
    )
    if (
        standard is not None
        and not standard_implied
        and not names_standard(certificate.standard, standard)
    ):
        return f"it names {certificate.standard or 'no standard'}, not {standard}"
    if certificate.type == CertificateType.eu_type_examination and not (
        certificate.notified_body_number
    ):
        return "an EU type-examination certificate must carry the notified body's number"
    if certificate.valid_until is not None and certificate.valid_until < received_on:
        return f"expired {certificate.valid_until} before receipt on {received_on}"
    if certificate.valid_from is not None and certificate.valid_from > received_on:
        return f"valid only from {certificate.valid_from}, after receipt on {received_on}"
    return None


def _needed(product: Product) -> str:
    types = " or ".join(COUNTING_TYPES[product.code])
    if product.certificate_standard is None:
        return types
    return f"{types} naming {product.certificate_standard}"


def assess_certificates(
    product: Product,
    certificates: Sequence[CertificateFacts],
    received_on: date,
    *,
    ear_loops: bool = False,
) -> CertificateAssessment:
    """Which certificates count for a lot of ``product`` received on ``received_on``.

    ``ear_loops``: the respirators have ear loops, a red flag on a claimed NIOSH respirator
    (approved N95s have head straps), which voids any NIOSH approval presented.
    """
    reasons: list[Reason] = []
    counting: list[CertificateFacts] = []
    if ear_loops and product.code == "N95":
        reasons.append(
            warning(
                "certificate_red_flag",
                "N95 respirators with ear loops: NIOSH-approved N95s have head straps, "
                "so no NIOSH approval is taken for this lot",
                ear_loops=True,
            )
        )
    for certificate in certificates:
        flags = red_flags(certificate)
        reasons.extend(flags)
        problem = _why_not_counted(product, certificate, received_on)
        if problem is None and flags:
            problem = "it carries a red flag"
        if problem is None and ear_loops and certificate.type == CertificateType.niosh_approval:
            problem = "the respirators have ear loops"
        if problem is not None:
            severity = warning
            if certificate.verification == Verification.rejected:
                severity = critical
            reasons.append(
                severity(
                    "certificate_not_counted",
                    f"{certificate.title} does not count: {problem}",
                    **_evidence(certificate),
                )
            )
            continue
        counting.append(certificate)
        if certificate.verification == Verification.unverified:
            reasons.append(
                info(
                    "certificate_unverified",
                    f"{certificate.title} counts but is not yet verified with the issuer",
                    **_evidence(certificate),
                )
            )
    outcome = _outcome(counting, certificates)
    reasons.append(_outcome_reason(outcome, product, counting))
    return CertificateAssessment(outcome, tuple(counting), tuple(reasons))


def _outcome(
    counting: Sequence[CertificateFacts], certificates: Sequence[CertificateFacts]
) -> CertificateOutcome:
    if counting:
        return CertificateOutcome.ok
    if any(c.verification == Verification.rejected for c in certificates):
        return CertificateOutcome.invalid
    return CertificateOutcome.missing


def _outcome_reason(
    outcome: CertificateOutcome, product: Product, counting: Sequence[CertificateFacts]
) -> Reason:
    if outcome == CertificateOutcome.ok:
        titles = "; ".join(c.title for c in counting)
        return info(
            "certificate_ok",
            f"Certificate for {product.code}: {titles}",
            certificates=[c.number for c in counting],
        )
    if outcome == CertificateOutcome.invalid:
        return critical(
            "certificate_invalid",
            f"A certificate presented for this {product.code} lot was rejected by its issuer "
            "and no other certificate counts",
            needed=_needed(product),
        )
    return warning(
        "certificate_missing",
        f"No certificate counts for {product.code}: it needs {_needed(product)}",
        needed=_needed(product),
    )
