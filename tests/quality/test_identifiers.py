"""GS1 identifiers, NIOSH approvals and maker-name comparison, without a database."""

from datetime import date

import pytest

from app.quality.identifiers import (
    company_key,
    gtin14,
    model_key,
    name_similarity,
    niosh_approval,
    parse_gs1,
)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("4050598000582", "04050598000582"),  # GTIN-13
        ("04050598000582", "04050598000582"),  # GTIN-14
    ],
)
def test_every_gtin_length_is_stored_as_gtin_14(given: str, stored: str) -> None:
    assert gtin14(given) == stored


@pytest.mark.parametrize("bad", ["4050598000583", "12345", "40505980005820000", "4O50598000582"])
def test_a_wrong_check_digit_or_length_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        gtin14(bad)


def test_a_label_scan_gives_gtin_batch_and_expiry() -> None:
    scan = parse_gs1("(01)04050598000582(10)220706(17)240504")
    assert (scan.gtin, scan.batch, scan.expiry) == ("04050598000582", "220706", date(2024, 5, 4))
    unbracketed = parse_gs1("010405059800058210220706\x1d17240504")
    assert unbracketed == scan


@pytest.mark.parametrize("bad", ["(01)04050598000583(10)X", "garbage", "(17)241399"])
def test_a_bad_label_scan_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_gs1(bad)


def test_niosh_approval_numbers() -> None:
    assert niosh_approval(" tc-84a-9221 ") == "TC-84A-9221"
    for bad in ("TC-84A-922", "TC-84B-9221", "84A-9221"):
        with pytest.raises(ValueError):
            niosh_approval(bad)


def test_legal_forms_and_punctuation_do_not_count() -> None:
    assert company_key("Shenzhen Example Medical Co., Ltd.") == "shenzhen example medical"
    assert company_key("SHENZHEN EXAMPLE MEDICAL") == "shenzhen example medical"
    assert (
        name_similarity(
            company_key("Example Medical (Shenzhen) Co Ltd"), "shenzhen example medical"
        )
        == 100
    )
    assert name_similarity("shenzhen example medical", "wuhan other trading") < 60
    assert model_key("kn-95 / 9501") == "KN959501"
