"""The reject list's CSV cells computed by PostgreSQL, for ``COPY (...) TO STDOUT``.

Each column is the text the Python path writes for it (reject_list.flat_row, then
tabular.csv_stream): formula starts neutralised, timestamps as ``datetime.isoformat()``
of a UTC time, codes, reasons and certificates joined the same way. Text cells that
would be empty are NULL because COPY writes an empty string as ``""`` where the csv
module writes nothing. tests/api/test_reject_list_copy.py compares both paths.
"""

from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    SQLColumnExpression,
    Text,
    all_,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from app.exports.reject_list import (
    COLUMNS,
    FIELD_SEP,
    ITEM_SEP,
    LIST_SEP,
    REASONS_SEP,
    RejectListFilters,
    reject_list_query,
)
from app.exports.tabular import FORMULA_PREFIXES

_INTEGER_COLUMNS = frozenset(
    {"lot_id", "quantity_received", "to_return", "to_recall", "returned_to_supplier"}
)
_TIMESTAMP_COLUMNS = frozenset({"received_at", "last_inspection_at", "decided_at"})
_DATE_COLUMNS = frozenset({"expiry"})


def _constant(value: str) -> ColumnElement[str]:
    """Inline SQL text for the query's own constants (never for anything a client sends)."""
    return literal(value, Text, literal_execute=True)


def _text_cell(value: SQLColumnExpression[Any]) -> ColumnElement[str]:
    """tabular.neutralise in SQL; NULL for an empty string."""
    first = func.left(value, literal(1, literal_execute=True))
    return case(
        (first.in_([_constant(c) for c in FORMULA_PREFIXES]), _constant("'") + value),
        else_=func.nullif(value, _constant("")),
    )


def _iso_utc(timestamp: SQLColumnExpression[Any]) -> ColumnElement[str]:
    """datetime.isoformat() of the UTC time: microseconds only when there are some
    (the format's only '.' is the fraction's, so replace() finds nothing else)."""
    utc = func.timezone(_constant("UTC"), timestamp)
    text = func.to_char(utc, _constant('YYYY-MM-DD"T"HH24:MI:SS.US'), type_=Text)
    return func.replace(text, _constant(".000000"), _constant(""), type_=Text) + _constant("+00:00")


def _reason_texts(reasons: ColumnElement[Any]) -> Any:
    """Per lot, in one parse of lots.reasons: the messages joined as flat_row joins them
    and the codes as an array (repeats still in). The aggregates read the elements
    straight from the function scan, i.e. in array order (an ORDER BY would sort per
    lot, at a cost that shows at a million lots)."""
    array = case((func.json_typeof(reasons) == _constant("array"), cast(reasons, JSONB)))
    elements = func.jsonb_array_elements(array).table_valued("reason").render_derived()
    field = elements.c.reason.op("->>", return_type=Text)
    return (
        select(
            func.string_agg(field(_constant("message")), _constant(REASONS_SEP)).label("text"),
            func.array_agg(field(_constant("code")), type_=ARRAY(Text)).label("codes"),
        )
        .select_from(elements)
        .lateral("reason")
    )


def _first_occurrences(codes: ColumnElement[Any]) -> ColumnElement[str]:
    """Each code once, where it first appears (reject_list._codes), joined."""
    code = func.unnest(codes).table_valued("code", with_ordinality="position").render_derived()
    one = literal(1, literal_execute=True)
    earlier = codes[one : code.c.position - one]
    return (
        select(func.string_agg(code.c.code, _constant(LIST_SEP)))
        .where(code.c.code != all_(earlier))
        .scalar_subquery()
    )


def _certificates(aggregated: ColumnElement[str]) -> ColumnElement[str]:
    """reject_list's 'number<FS>verification<IS>...' as 'number (verification); ...'."""
    items = func.replace(aggregated, _constant(ITEM_SEP), _constant(f"){LIST_SEP}"), type_=Text)
    return func.replace(items, _constant(FIELD_SEP), _constant(" ("), type_=Text) + _constant(")")


def reject_list_copy_query(filters: RejectListFilters) -> Select[*tuple[Any, ...]]:
    """reject_list_query's rows (same SELECT, filters and order), one text cell per column.

    The middle SELECT computes each aggregate once per lot; OFFSET 0 keeps PostgreSQL
    from folding it into the outer one, which names every value two or three times."""
    lot = reject_list_query(filters, "postgresql").subquery("lot")
    reasons = _reason_texts(lot.c.reasons)
    values = (
        select(
            *lot.c[:13],
            _first_occurrences(reasons.c.codes).label("reason_codes"),
            reasons.c.text.label("reasons"),
            _certificates(lot.c.certificates).label("certificates"),
            *lot.c[15:],
        )
        .select_from(lot.join(reasons, true()))
        .order_by(lot.c.id)
        .offset(0)
        .subquery("cell")
    )
    cells = [
        _cell(name, column).label(name) for name, column in zip(COLUMNS, values.c, strict=True)
    ]
    return select(*cells).order_by(values.c.id)


def _cell(name: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if name in _INTEGER_COLUMNS:
        return value
    if name in _TIMESTAMP_COLUMNS:
        return _iso_utc(value)
    if name in _DATE_COLUMNS:
        return cast(value, Text)  # ISO 8601, as date.isoformat()
    return _text_cell(value)
