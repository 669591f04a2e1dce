from dataclasses import replace
from datetime import date

import pytest

from app.quality.certificates import (
    CertificateAssessment,
    CertificateFacts,
    CertificateOutcome,
    assess_certificates,
    names_standard,
    red_flags,
)
from app.quality.products import CATALOGUE, PRODUCT_CODES

from .builders import certificate

RECEIVED_ON = date(2020, 3, 21)


def assess(
    product: str, *certificates: CertificateFacts, ear_loops: bool = False
) -> CertificateAssessment:
    return assess_certificates(CATALOGUE[product], certificates, RECEIVED_ON, ear_loops=ear_loops)


def codes(assessment: CertificateAssessment) -> list[str]:
    return [reason.code for reason in assessment.reasons]


@pytest.mark.parametrize("product", PRODUCT_CODES)
def test_the_right_certificate_counts_for_every_product(product: str) -> None:
    good = certificate(product)
    assessment = assess(product, good)
    assert assessment.outcome == CertificateOutcome.ok
    assert assessment.counting == (good,)
    assert codes(assessment) == ["certificate_ok"]


def test_no_certificate_is_missing_and_says_what_is_needed() -> None:
    assessment = assess("FFP2")
    assert assessment.outcome == CertificateOutcome.missing
    assert assessment.reasons[-1].code == "certificate_missing"
    assert "eu_type_examination naming EN 149" in assessment.reasons[-1].message


@pytest.mark.parametrize(
    ("product", "changes", "why"),
    [
        ("FFP2", {"type": "test_report"}, "FFP2 needs eu_type_examination naming EN 149"),
        ("FFP2", {"notified_body_number": None}, "must carry the notified body's number"),
        ("FFP2", {"standard": "GB 2626-2006"}, "names GB 2626-2006, not EN 149"),
        ("FFP2", {"standard": None}, "names no standard"),
        ("KN95", {"standard": "EN 149:2001"}, "not GB 2626"),
        ("N95", {"type": "test_report", "standard": "42 CFR 84"}, "N95 needs niosh_approval"),
        ("SURGICAL_II", {"standard": "YY 0469-2011"}, "not EN 14683"),
        ("MEDICAL_YYT0969", {"type": "eu_declaration_of_conformity"}, "needs nmpa_registration"),
        ("ANTIGEN_RAPID_TEST", {"type": "test_report"}, "needs fda_eua"),
        ("FFP2", {"valid_until": date(2020, 3, 20)}, "expired 2020-03-20 before receipt"),
        ("FFP2", {"valid_from": date(2020, 3, 22)}, "valid only from 2020-03-22"),
    ],
)
def test_certificates_that_do_not_count(product: str, changes: dict[str, object], why: str) -> None:
    assessment = assess(product, replace(certificate(product), **changes))  # type: ignore[arg-type]
    assert assessment.outcome == CertificateOutcome.missing
    assert assessment.counting == ()
    not_counted = [r for r in assessment.reasons if r.code == "certificate_not_counted"]
    assert len(not_counted) == 1
    assert why in not_counted[0].message


def test_validity_dates_are_inclusive_on_the_day_of_receipt() -> None:
    on_the_day = replace(certificate("FFP2"), valid_from=RECEIVED_ON, valid_until=RECEIVED_ON)
    assert assess("FFP2", on_the_day).outcome == CertificateOutcome.ok


def test_a_rejected_certificate_and_none_counting_is_invalid() -> None:
    rejected = replace(certificate("FFP2"), verification="rejected")
    assessment = assess("FFP2", rejected)
    assert assessment.outcome == CertificateOutcome.invalid
    assert assessment.reasons[-1].code == "certificate_invalid"
    assert assessment.reasons[-1].severity == "critical"


def test_a_rejected_certificate_beside_one_that_counts_is_ok() -> None:
    rejected = replace(certificate("FFP2"), number="OLD-1", verification="rejected")
    assessment = assess("FFP2", rejected, certificate("FFP2"))
    assert assessment.outcome == CertificateOutcome.ok
    assert "certificate_not_counted" in codes(assessment)


def test_an_unverified_certificate_counts_with_a_note() -> None:
    unverified = replace(certificate("FFP2"), verification="unverified")
    assessment = assess("FFP2", unverified)
    assert assessment.outcome == CertificateOutcome.ok
    assert "certificate_unverified" in codes(assessment)


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"type": "certificate_of_compliance"}, "certificate of compliance is not an EU type"),
        ({"type": "voluntary_certificate"}, "voluntary certificate"),
        ({"notified_body_number": "1282"}, "notified body 1282 (Ente Certificazione Macchine"),
        ({"issuer": "ECM"}, "issuer ECM is not notified for PPE"),
        ({"issuer": "ICR Polska Sp. z o.o."}, "not notified for PPE"),
        ({"issuer": "CELAB srl"}, "not notified for PPE"),
        ({"notified_body_number": "CE-12"}, "not a 4-digit number"),
        ({"issuer_country": "CN"}, "outside the EU/EEA/Switzerland/Turkey"),
    ],
)
def test_red_flags_are_named_and_void_the_certificate(
    changes: dict[str, object], flag: str
) -> None:
    flagged = replace(certificate("FFP2"), **changes)  # type: ignore[arg-type]
    assessment = assess("FFP2", flagged)
    flags = [r for r in assessment.reasons if r.code == "certificate_red_flag"]
    assert any(flag in r.message for r in flags), [r.message for r in flags]
    assert assessment.outcome == CertificateOutcome.missing


def test_notified_bodies_in_the_eea_switzerland_or_turkey_raise_no_flag() -> None:
    for country in ("DE", "NO", "CH", "TR", "it"):
        assert red_flags(replace(certificate("FFP2"), issuer_country=country)) == ()


def test_issuer_names_match_whole_words_only() -> None:
    assert red_flags(replace(certificate("FFP2"), issuer="TECMA Certification")) == ()


def test_a_niosh_approval_needs_a_tc_84a_number() -> None:
    fake = replace(certificate("N95"), number="NIOSH-2020-001")
    assessment = assess("N95", fake)
    assert assessment.outcome == CertificateOutcome.missing
    assert any("TC-84A" in r.message for r in assessment.reasons)


def test_ear_loops_on_a_claimed_n95_void_the_niosh_approval() -> None:
    assessment = assess("N95", certificate("N95"), ear_loops=True)
    assert assessment.outcome == CertificateOutcome.missing
    assert "certificate_red_flag" in codes(assessment)
    assert any("ear loops" in r.message for r in assessment.reasons)
    assert assess("N95", certificate("N95")).outcome == CertificateOutcome.ok


def test_flagged_and_good_certificates_together_still_count() -> None:
    coc = replace(certificate("FFP2"), type="certificate_of_compliance", number="COC-9")
    assessment = assess("FFP2", coc, certificate("FFP2"))
    assert assessment.outcome == CertificateOutcome.ok
    assert "certificate_red_flag" in codes(assessment)


@pytest.mark.parametrize(
    ("written", "standard", "expected"),
    [
        ("GB 2626-2006", "GB 2626", True),
        ("gb2626", "GB 2626", True),
        ("GB 26260-2010", "GB 2626", False),
        ("YYT 0969-2013", "YY/T 0969", True),
        ("EN 149:2001+A1:2009", "EN 149", True),
        ("EN 14683:2019", "EN 149", False),
        (None, "EN 149", False),
    ],
)
def test_standard_names_are_matched_loosely_but_not_by_prefix(
    written: str | None, standard: str, expected: bool
) -> None:
    assert names_standard(written, standard) is expected


def test_unknown_type_or_verification_is_refused() -> None:
    with pytest.raises(ValueError, match="eu_type_examination"):
        replace(certificate("FFP2"), type="ce_mark")
    with pytest.raises(ValueError, match="unverified, verified, rejected"):
        replace(certificate("FFP2"), verification="maybe")
