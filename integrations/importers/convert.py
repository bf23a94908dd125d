"""Turning one raw cell into a typed value according to a field's spec."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any

from core.amounts import NumberFormat, parse_amount, stated
from core.errors import CreditDeskError
from integrations.importers.mapping import DEFAULT_FALSE, DEFAULT_TRUE, FieldSpec, FieldType
from integrations.importers.reader import RawValue, SheetNumber

_EXAMPLE_DATE = datetime(2024, 1, 31)  # noqa: DTZ001 - only used to show what a format looks like


class ConversionError(ValueError):
    """The cell does not hold a valid value of the field's type; the message says why, for a person."""


def is_blank(raw: RawValue | None) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def convert(
    raw: RawValue,
    spec: FieldSpec,
    field_type: FieldType,
    enum: type[StrEnum] | None,
    label: str,
    number_format: NumberFormat | None = None,
) -> Any:
    """The typed value of a non-blank cell; raises `ConversionError`. Money text is read in `number_format` (the
    file's); a spreadsheet's numeric cells are numbers whatever the file's format."""
    if isinstance(raw, date):
        return _date_cell(raw, field_type, label)
    text = raw.strip() if spec.strip else raw
    match field_type:
        case "str":
            return _text(text, spec)
        case "int":
            return _integer(text)
        case "money":
            return _money(text, label, None if isinstance(raw, SheetNumber) else number_format)
        case "date":
            return _date(text, spec.formats)
        case "bool":
            return _boolean(text, spec)
        case "enum":
            assert enum is not None
            return _enum(text, spec, enum)


def _date_cell(raw: date, field_type: FieldType, label: str) -> Any:
    if field_type == "date":
        return raw.date() if isinstance(raw, datetime) else raw
    if field_type == "str":
        return raw.isoformat()
    raise ConversionError(f"{label} holds a date ({raw.isoformat()}), not a {field_type} value")


def _text(text: str, spec: FieldSpec) -> str:
    if spec.upper:
        text = text.upper()
    elif spec.lower:
        text = text.lower()
    if spec.zero_pad and text.isdigit():
        text = text.rjust(spec.zero_pad, "0")
    return text


def _integer(text: str) -> int:
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ConversionError(f"{text!r} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ConversionError(f"{text!r} is not a whole number")
    return int(number)


def _money(text: str, label: str, number_format: NumberFormat | None) -> Decimal:
    try:
        parsed = parse_amount(text, field=label, allow_negative=True, number_format=number_format, shorthand=False)
        return stated(parsed, text)  # the currency the cell names is checked against the row's currency
    except CreditDeskError as error:
        raise ConversionError(error.message) from None


# Candidate formats when a mapping declares none: English first (the default), then decimal-comma styles.
_CANDIDATE_LOCALES = ("en_US", "de_DE", "fr_FR")


@dataclass(frozen=True)
class DetectedFormat:
    number_format: NumberFormat
    note: str


def detect_number_format(values: Iterable[str]) -> DetectedFormat:
    """The number format that reads the most money cells (English unless another reads strictly more), and a note
    for the import report saying what was chosen and why. Cells no candidate reads stay errors of their rows."""
    sample = [value.strip() for value in values if value.strip()][:_DETECT_SAMPLE]
    readers = {name: NumberFormat.of(name) for name in _CANDIDATE_LOCALES}
    readable = {name: [v for v in sample if _reads(v, fmt)] for name, fmt in readers.items()}
    best = max(_CANDIDATE_LOCALES, key=lambda name: (len(readable[name]), -_CANDIDATE_LOCALES.index(name)))
    chosen = readers[best]
    others = [v for v in sample if v not in set(readable[best]) and any(v in readable[n] for n in readable)]
    if best == _CANDIDATE_LOCALES[0]:
        note = f"numbers read as {chosen.describe()}, the default (reader.locale declares another)"
    else:
        evidence = next(v for v in readable[best] if v not in set(readable[_CANDIDATE_LOCALES[0]]))
        note = (
            f"numbers read as {chosen.describe()}, detected from the money columns (e.g. {evidence!r}); "
            "declare reader.locale in the mapping to be sure"
        )
    if others:
        note += f"; values such as {others[0]!r} are written in another format and were refused"
    return DetectedFormat(chosen, note)


_DETECT_SAMPLE = 5000


def _reads(text: str, number_format: NumberFormat) -> bool:
    try:
        parse_amount(text, allow_negative=True, number_format=number_format, shorthand=False)
    except CreditDeskError:
        return False
    return True


@lru_cache(maxsize=8192)  # files repeat the same few hundred dates; strptime is slow
def _date(text: str, formats: tuple[str, ...]) -> date:
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar date, no time of day
        except ValueError:
            continue
    expected = " or ".join(f"{pattern} (like {_EXAMPLE_DATE.strftime(pattern)})" for pattern in formats)
    raise ConversionError(f"{text!r} is not a valid date in the format {expected}")


def _boolean(text: str, spec: FieldSpec) -> bool:
    true_values = spec.true_values or DEFAULT_TRUE
    false_values = spec.false_values or DEFAULT_FALSE
    folded = text.casefold()
    if folded in {value.casefold() for value in true_values}:
        return True
    if folded in {value.casefold() for value in false_values}:
        return False
    raise ConversionError(f"{text!r} is not one of {', '.join([*true_values, *false_values])}")


def _enum(text: str, spec: FieldSpec, enum: type[StrEnum]) -> StrEnum:
    folded = text.casefold()
    for source, target in spec.values.items():
        if source.casefold() == folded:
            return enum(target)
    if not spec.values:
        for member in enum:
            if member.value.casefold() == folded:
                return member
    allowed = list(spec.values) or [member.value for member in enum]
    raise ConversionError(f"{text!r} is not one of {', '.join(allowed)}")
