"""What outside notices name a delivery by: GS1 trade item numbers, batches, NIOSH approvals,
maker names and models, and how two of them are compared.

GS1 parsing and check digits are biip's (a maintained GS1 implementation); similarity of
names is rapidfuzz's token-sorted ratio after legal suffixes and punctuation are removed,
so "Shenzhen Example Medical Co., Ltd." and "SHENZHEN EXAMPLE MEDICAL" compare as equal.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from biip import ParseError
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from rapidfuzz import fuzz

NIOSH_APPROVAL = re.compile(r"^TC-84A-[0-9]{4}$")
# Weak matches need at least this similarity (0-100) of the normalised names.
NAME_MATCH_THRESHOLD = 85.0
MODEL_MATCH_THRESHOLD = 90.0

# Company-form words dropped before names are compared (lower case, punctuation removed).
LEGAL_SUFFIXES = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc",
        "incorporated", "kg", "limited", "llc", "llp", "ltd", "nv", "oy", "plc", "pte",
        "pty", "sa", "sarl", "sas", "spa", "sl", "srl", "sro", "spzoo", "zoo",
    }
)  # fmt: skip
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def gtin14(text: str) -> str:
    """A GTIN-8, -12, -13 or -14 as GTIN-14; ValueError unless its check digit is right."""
    digits = text.strip().replace(" ", "")
    if not digits.isdigit():
        raise ValueError("a GTIN has only digits")
    try:
        return Gtin.parse(digits).as_gtin_14()
    except ParseError as error:
        raise ValueError(str(error)) from None


def niosh_approval(text: str) -> str:
    """A NIOSH approval number, TC-84A- and 4 digits (upper-cased); ValueError otherwise."""
    number = text.strip().upper()
    if not NIOSH_APPROVAL.match(number):
        raise ValueError("a NIOSH approval number is TC-84A- followed by 4 digits")
    return number


@dataclass(frozen=True)
class LabelScan:
    """What a GS1 element string on a label says about the lot."""

    gtin: str | None
    batch: str | None
    expiry: date | None


def parse_gs1(text: str) -> LabelScan:
    """``(01)04050598000582(10)220706(17)240504`` (or the same without parentheses, with
    group separators): GTIN (AI 01), batch (AI 10), expiry (AI 17). ValueError when the
    string is not GS1 or its GTIN's check digit is wrong."""
    text = text.strip()
    try:
        message = GS1Message.parse_hri(text) if text.startswith("(") else GS1Message.parse(text)
    except ParseError as error:
        raise ValueError(str(error)) from None
    found = {element.ai.ai: element for element in message.element_strings}
    gtin = None
    if "01" in found:
        if found["01"].gtin is None:
            raise ValueError(found["01"].gtin_error or "the GTIN (01) is not valid")
        gtin = found["01"].gtin.as_gtin_14()
    batch = found["10"].value if "10" in found else None
    expiry = found["17"].date if "17" in found else None
    if gtin is None and batch is None and expiry is None:
        raise ValueError("names no GTIN (01), batch (10) or expiry (17)")
    return LabelScan(gtin=gtin, batch=batch, expiry=expiry)


def company_key(name: str) -> str:
    """A maker's name for comparison: ASCII lower case, punctuation and legal forms gone."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = _NOT_WORD.sub(" ", ascii_name.lower().replace(".,", " ")).split()
    kept = [word for word in words if word not in LEGAL_SUFFIXES]
    return " ".join(kept or words)


def model_key(model: str) -> str:
    """A model designation for comparison: letters and digits only, upper case."""
    return _NOT_ALNUM.sub("", model.upper())


def batch_key(batch: str) -> str:
    return batch.strip().upper()


def certificate_key(number: str) -> str:
    return " ".join(number.split()).upper()


def name_similarity(first_key: str, second_key: str) -> float:
    """0-100, word order ignored, on company_key() texts."""
    if not first_key or not second_key:
        return 0.0
    return float(fuzz.token_sort_ratio(first_key, second_key))


def model_similarity(first_key: str, second_key: str) -> float:
    if not first_key or not second_key:
        return 0.0
    return float(fuzz.ratio(first_key, second_key))
