"""The alert readers on files built from the public record (tests/fixtures/README.md)."""

from pathlib import Path

import pytest

from app.signals.readers import AlertFormat, UnreadableFile, read_alerts, udi_gtins
from app.signals.schemas import AlertCreate

FIXTURES = Path(__file__).parent.parent / "fixtures"


def read(name: str, alert_format: AlertFormat) -> list[AlertCreate]:
    bodies = read_alerts(alert_format, (FIXTURES / name).read_bytes())
    return [AlertCreate.model_validate(body) for body in bodies]


def test_openfda_enforcement_records_become_alerts() -> None:
    elisa, antigen, assay = read("openfda_device_enforcement.json", AlertFormat.openfda)
    assert (elisa.reference, elisa.published_on.isoformat()) == ("Z-1603-2023", "2023-05-24")
    assert elisa.names.manufacturers == ["IMMUNDIAGNOSTIK, Inc"]
    assert [(g.gtin, g.batch) for g in elisa.names.gtins] == [
        ("04050598000582", "220706"),
        ("04050598000582", "221122"),
        ("04050598000582", "221124"),
        ("04050598000582", "230102"),
    ]
    assert "Marketed without a 510k" in elisa.text
    assert antigen.names.manufacturers == ["Jiangsu Well Biotech Co.,Ltd."]
    assert antigen.names.gtins == []  # "No UDI Codes provided": lots alone name nothing
    assert "CO-02" in antigen.names.models
    assert assay.names.models == ["KAI-013"]
    assert [g.batch for g in assay.names.gtins] == ["H180", "K181", "N182", "D283"]


def test_a_udi_with_a_wrong_check_digit_is_left_out() -> None:
    assert udi_gtins("UDI-DI: 00816426020093, Lot 1234") == []
    assert udi_gtins("UDI: (01)04050598000582") == [{"gtin": "04050598000582", "batch": None}]


def test_the_csv_template_from_the_fda_kn95_letter() -> None:
    [letter] = read("fda_kn95_eua_letter.csv", AlertFormat.csv)
    assert letter.names.manufacturers == ["JINHUA JIADAIFU MEDICAL SUPPLIES CO., LTD."]
    assert letter.names.models == ["Disposable Non-Medical Face Mask (KN95)"]
    assert (letter.reference, letter.names.products) == ("EUA200628/A001", ["KN95"])


def test_a_safety_gate_alert_xml() -> None:
    [alert] = read("safety_gate_alert.xml", AlertFormat.safety_gate)
    assert alert.reference == "A12/00001/20"
    assert alert.names.manufacturers == ["Example Brand"]
    assert alert.names.models == ["EX-9501"]
    assert [(g.gtin, g.batch) for g in alert.names.gtins] == [("04050598000582", "20200301")]
    assert alert.issuing_body == "EU Safety Gate (Netherlands)"


@pytest.mark.parametrize(
    ("alert_format", "content"),
    [
        (AlertFormat.openfda, b"{not json"),
        (AlertFormat.openfda, b'{"results": [{"recalling_firm": "X"}]}'),
        (AlertFormat.safety_gate, b"<a><b></a>"),
        (
            AlertFormat.safety_gate,
            b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>',
        ),
        (AlertFormat.csv, b"source,text\nregulator,x\n"),
        (AlertFormat.csv, b"\xff\xfe"),
    ],
)
def test_unreadable_files_are_refused(alert_format: AlertFormat, content: bytes) -> None:
    with pytest.raises(UnreadableFile):
        read_alerts(alert_format, content)
