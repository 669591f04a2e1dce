"""Fixed ingredients of the synthetic data: who supplies what, and how well."""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Where suppliers sit, with a weight, and the products makers there deliver.
COUNTRIES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    (
        "CN",
        55,
        (
            "KN95",
            "KN90",
            "SURGICAL_YY0469",
            "MEDICAL_YYT0969",
            "MEDICAL_RESPIRATOR_GB19083",
            "ANTIGEN_RAPID_TEST",
        ),
    ),
    ("TR", 8, ("FFP2", "FFP3", "SURGICAL_II", "SURGICAL_IIR")),
    ("DE", 6, ("FFP2", "FFP3", "FFP1", "ANTIGEN_RAPID_TEST")),
    ("NL", 5, ("FFP2", "SURGICAL_IIR", "SURGICAL_I")),
    ("US", 6, ("N95", "ANTIGEN_RAPID_TEST")),
    ("VN", 6, ("SURGICAL_II", "SURGICAL_I", "KN95")),
    ("IN", 5, ("KN95", "SURGICAL_II", "N95")),
    ("KR", 4, ("KN95", "ANTIGEN_RAPID_TEST", "FFP2")),
    ("PL", 3, ("FFP2", "SURGICAL_II")),
    ("IT", 2, ("FFP2", "SURGICAL_IIR")),
)
NAME_PARTS = (
    ("Shenzhen", "Guangzhou", "Wuhan", "Xiamen", "Hebei", "Ningbo", "Suzhou"),
    ("Kangda", "Hengrui", "Meditex", "Safeline", "Protexa", "Aerofil", "Respira", "Clearair"),
    ("Medical", "Protective", "Health", "Industrial", "Trading", "Supplies"),
)
# Buyers ordered respirators of the EU classes; KN95 and the like often filled FFP2 orders.
ORDERED_INSTEAD: Mapping[str, str] = MappingProxyType(
    {
        "KN95": "FFP2",
        "KN90": "FFP1",
        "MEDICAL_YYT0969": "SURGICAL_YY0469",
        "SURGICAL_I": "SURGICAL_IIR",
        "N95": "FFP2",
        "MEDICAL_RESPIRATOR_GB19083": "FFP2",
    }
)
SITES: tuple[str, ...] = tuple(
    f"{kind} {place}"
    for place in (
        "Utrecht",
        "Rotterdam",
        "Amsterdam",
        "Groningen",
        "Nijmegen",
        "Maastricht",
        "Zwolle",
        "Eindhoven",
        "Leiden",
        "Den Haag",
    )
    for kind in ("Hospital", "Nursing home", "Regional hub")
)


@dataclass(frozen=True)
class CertificateTemplate:
    type: str
    notified_body_number: str | None
    standard: str | None


GOOD_CERTIFICATES: Mapping[str, CertificateTemplate] = MappingProxyType(
    {
        "KN90": CertificateTemplate("test_report", None, "GB 2626-2006"),
        "KN95": CertificateTemplate("test_report", None, "GB 2626-2006"),
        "KN100": CertificateTemplate("test_report", None, "GB 2626-2006"),
        "FFP1": CertificateTemplate("eu_type_examination", "0194", "EN 149:2001+A1:2009"),
        "FFP2": CertificateTemplate("eu_type_examination", "2163", "EN 149:2001+A1:2009"),
        "FFP3": CertificateTemplate("eu_type_examination", "0082", "EN 149:2001+A1:2009"),
        "N95": CertificateTemplate("niosh_approval", None, None),
        "SURGICAL_I": CertificateTemplate("eu_declaration_of_conformity", None, "EN 14683:2019"),
        "SURGICAL_II": CertificateTemplate("eu_declaration_of_conformity", None, "EN 14683:2019"),
        "SURGICAL_IIR": CertificateTemplate("eu_declaration_of_conformity", None, "EN 14683:2019"),
        "SURGICAL_YY0469": CertificateTemplate("nmpa_registration", None, "YY 0469-2011"),
        "MEDICAL_YYT0969": CertificateTemplate("nmpa_registration", None, "YY/T 0969-2013"),
        "MEDICAL_RESPIRATOR_GB19083": CertificateTemplate(
            "nmpa_registration", None, "GB 19083-2010"
        ),
        "ANTIGEN_RAPID_TEST": CertificateTemplate("fda_eua", None, None),
    }
)
# The European Safety Federation's red flags, as a certificate would show them.
RED_FLAG_CERTIFICATES: tuple[tuple[str, str, str | None], ...] = (
    ("certificate_of_compliance", "ECM Ente Certificazione Macchine", "1282"),
    ("voluntary_certificate", "ICR Polska", None),
    ("eu_type_examination", "CELAB", "1282"),
)
