"""How values read on a page: times in UTC, numbers with separators, triggers in words."""

from datetime import date, datetime

_STATUS_LABELS = {
    "on_hold": "On hold",
    "accepted": "Accepted",
    "restricted": "Restricted",
    "suspect": "Suspect",
    "rejected": "Rejected",
}

_TRIGGERS = {
    "lot.create": "Lot received",
    "certificate.create": "Certificate added",
    "certificate.verify": "Certificate verification recorded",
    "concession.expired": "Concession expired",
    "concession.create": "Concession {} granted",
    "distribution.create": "Distribution {} shipped",
    "site_return.create": "Site return {} recorded",
    "return.shipped": "Return {} shipped to the supplier",
    "inspection.create": "Inspection {} recorded",
    "import": "Import {} applied",
}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def day(value: date | datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def plain(value: object) -> str:
    """Evidence as text: {"a": 1} -> "a 1", lists joined, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{label(str(k))} {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return str(value)


def label(code: str | None) -> str:
    """A code as words: "return_to_supplier" -> "Return to supplier"."""
    if not code:
        return "—"
    text = code.replace("_", " ").replace(".", " ")
    return text[:1].upper() + text[1:]


def status_label(status: str) -> str:
    return _STATUS_LABELS.get(status, label(status))


def trigger(text: str) -> str:
    """What made a decision be taken again, e.g. "inspection.create:12" -> "Inspection 12
    recorded"; an unknown trigger reads as it is."""
    name, _, ref = text.partition(":")
    template = _TRIGGERS.get(name)
    if template is None:
        return text
    return template.format(ref).replace("  ", " ")
