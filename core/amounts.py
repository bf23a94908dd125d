"""The one amount parser of every surface (chat, API, import).

Numbers are read with babel's `parse_decimal` in strict mode under a declared locale (or explicit separators), so
grouping is checked, not guessed: `12,50` is an error in English and 12.50 in German, never 1,250. On top of that the
shorthand finance staff type (`40k`, `1.2m`, `USD 40,000`, `€12.50`) is understood. Everything else - scientific
notation, hex, powers, fractions, non-ASCII digits, words, more decimals than the currency has, NaN, absurd sizes - is
refused with a `CreditDeskError(INVALID_INPUT)` that names the input. Nothing is ever truncated or reinterpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_territory_currencies,
    parse_decimal,
)

from core.errors import CreditDeskError, ErrorCode
from core.money import ISO_4217, MAX_AMOUNT

DEFAULT_LOCALE = "en_US"
# The database keeps two decimals (Numeric(18,2)); a currency with more minor digits (BHD, KWD) is held to two.
STORED_DECIMALS = 2
MAX_INPUT_LENGTH = 64

MULTIPLIERS: dict[str, Decimal] = {
    "k": Decimal(1000),
    "thousand": Decimal(1000),
    "grand": Decimal(1000),
    "hundred": Decimal(100),
    "m": Decimal(1_000_000),
    "mm": Decimal(1_000_000),
    "mn": Decimal(1_000_000),
    "mio": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "bn": Decimal(1_000_000_000),
    "billion": Decimal(1_000_000_000),
}
_MULTIPLIER_RE = re.compile(
    r"\s?(" + "|".join(sorted(MULTIPLIERS, key=len, reverse=True)) + r")$",
    re.IGNORECASE,
)
# Spaces a locale may group digits with (babel's fr_FR uses U+202F, sv_SE U+00A0; people type U+0020).
SPACES = " \u00a0\u202f\u2009"
APOSTROPHES = "'\u2019"
_MINUS = "-\u2212"
# What may be left once sign, currency and multiplier are gone: ASCII digits and separators, starting and ending
# with a digit. `1e30`, `0x100`, `2^20`, `10**6`, `2k5`, `3000½`, `١٢٣`, `NaN` all fail here.
_BODY_RE = re.compile(r"[0-9](?:[0-9.,'\u2019 \u00a0\u202f\u2009]*[0-9])?")
_CODE_PREFIX_RE = re.compile(r"^([A-Za-z]{3})(?![A-Za-z])\s?")
_CODE_SUFFIX_RE = re.compile(r"(?<![A-Za-z])\s?([A-Za-z]{3})$")
_HINT = "write it in figures, e.g. 40000, 40,000.00, 40k or USD 1.2m"
_PLAIN_HINT = "write it in figures, e.g. 40000 or 40,000.00"


@dataclass(frozen=True)
class NumberFormat:
    """How digits are grouped and decimals marked: a babel locale, or explicit separators (a file's declaration)."""

    locale: str = DEFAULT_LOCALE
    decimal: str | None = None  # explicit separators win over the locale's
    group: str | None = None

    @classmethod
    def of(
        cls, locale: str | None = None, *, decimal_separator: str | None = None, thousands_separator: str | None = None
    ) -> NumberFormat:
        """A validated format; an unknown locale or unusable separators are a clear error."""
        name = locale or DEFAULT_LOCALE
        try:
            Locale.parse(name)
        except (UnknownLocaleError, ValueError, TypeError):
            raise _invalid(f"locale {name!r} is not a known locale (e.g. en_US, de_DE, fr_FR)", "locale") from None
        if decimal_separator is not None and decimal_separator not in (".", ","):
            raise _invalid(f"decimal separator {decimal_separator!r} must be '.' or ','", "decimal_separator")
        if thousands_separator is not None and (
            len(thousands_separator) != 1 or thousands_separator not in ".," + SPACES + APOSTROPHES
        ):
            raise _invalid(
                f"thousands separator {thousands_separator!r} must be one of . , ' or a space", "thousands_separator"
            )
        fmt = cls(str(Locale.parse(name)), decimal_separator, thousands_separator)
        if fmt.symbols()[0] == fmt.symbols()[1]:
            raise _invalid("the decimal and thousands separators must differ", "thousands_separator")
        return fmt

    def symbols(self) -> tuple[str, str]:
        """(decimal mark, group mark) in effect."""
        decimal = self.decimal or get_decimal_symbol(self.locale)
        if self.group is not None:
            return decimal, self.group
        group = get_group_symbol(self.locale)
        if self.decimal is not None and group == self.decimal:
            group = "," if self.decimal == "." else "."
        return decimal, group

    def describe(self) -> str:
        decimal, group = self.symbols()
        shown = "space" if group in SPACES else repr(group)
        return f"{self.locale} (decimal {decimal!r}, thousands {shown})"


DEFAULT_FORMAT = NumberFormat()


@dataclass(frozen=True)
class ParsedAmount:
    amount: Decimal
    currency: str | None  # named in the text (symbol or code) or given by the caller
    stated: str | None = None  # the currency the text itself named, if any


class StatedAmount(Decimal):
    """An amount that remembers the currency its text named (`3000 USD`, `$3000`), so a caller that learns the
    currency later (a tool, once it has resolved the customer) can refuse a contradiction instead of dropping it.
    Arithmetic gives plain Decimals."""

    stated_currency: str | None = None
    text: str = ""


def stated(parsed: ParsedAmount, text: str) -> Decimal:
    """The parsed amount, carrying the currency its text named (a plain Decimal when it named none)."""
    if parsed.stated is None:
        return parsed.amount
    value = StatedAmount(parsed.amount)
    value.stated_currency, value.text = parsed.stated, text
    return value


def stated_currency(value: Decimal) -> str | None:
    return getattr(value, "stated_currency", None)


def amount_in(value: Decimal, currency: str, *, field: str = "amount", whose: str | None = None) -> Decimal:
    """`value` (from a money field or cell) as an amount in `currency`, or a `CreditDeskError(INVALID_INPUT)`: when
    its text named another currency, or it has more decimals than `currency` has (JPY none)."""
    named = stated_currency(value)
    shown = getattr(value, "text", "") or str(value)
    owner = f"{whose}'s amounts are" if whose else "the amount must be"
    if named is not None and named != currency:
        raise _invalid(
            f"{field} {shown!r} is in {named}, but {owner} in {currency}; give the amount in {currency}",
            field,
            "currency_mismatch",
        )
    digits = minor_digits(currency)
    if value != value.quantize(Decimal(1).scaleb(-digits)):
        raise _invalid(f"{field} {shown!r} has more decimals than {currency} has ({digits})", field)
    return Decimal(value)


def _invalid(message: str, field: str, reason: str = "invalid") -> CreditDeskError:
    """`reason` in the details: invalid, negative or too_large (callers word their refusals by it)."""
    return CreditDeskError(ErrorCode.INVALID_INPUT, message, details={"field": field, "reason": reason})


@cache
def currency_symbols(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """Currency symbol -> ISO code from babel's data: `$`, `€`, `£`, `¥`, `₹`, `CA$`, `A$`, … (codes map to
    themselves). In the given locale a symbol means that locale's currency first (`$` is CAD in en_CA)."""
    symbols: dict[str, str] = {}
    for code in sorted(ISO_4217):
        for name in (locale, "en"):
            symbol = get_currency_symbol(code, name)
            if symbol != code and not re.fullmatch(r"[A-Za-z]{1,3}", symbol):
                symbols.setdefault(symbol, code)
    # and the short forms people type that babel's data does not hold ("a C$40k order", "S$300")
    typed = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "C$": "CAD", "AU$": "AUD", "S$": "SGD"}
    symbols.update({symbol: code for symbol, code in typed.items() if code in ISO_4217} | _own_symbol(locale))
    return symbols


def _own_symbol(locale: str) -> dict[str, str]:
    territory = Locale.parse(locale).territory
    current = get_territory_currencies(territory) if territory else []
    if not current or current[0] not in ISO_4217:
        return {}
    return {get_currency_symbol(current[0], locale): current[0]}


def minor_digits(currency: str | None) -> int:
    """Decimals an amount in the currency may have: its ISO minor unit (JPY 0), at most what the database keeps."""
    if currency is None:
        return STORED_DECIMALS
    return min(get_currency_precision(currency), STORED_DECIMALS)


def parse_amount(
    value: Any,
    *,
    field: str = "amount",
    number_format: NumberFormat | None = None,
    currency: str | None = None,
    allow_negative: bool = False,
    shorthand: bool = True,
) -> ParsedAmount:
    """Read one amount exactly, or raise `CreditDeskError(INVALID_INPUT)` naming the input.

    `value` is text, an int or a Decimal; a float is refused here (its value is not what was typed: 0.1+0.2). The
    pydantic money fields of `core.money` first turn a whole-number JSON float (`1e4`, `10000.0`, as language models
    send them) into an int, on purpose; any other float is refused. `currency` is the currency the amount must be
    in, when the caller knows it; a different one in the text is an error. The currency the text names is kept on
    the result either way. `shorthand` allows `k`, `m`, `bn`, `thousand`, … suffixes.
    """
    fmt = number_format or DEFAULT_FORMAT
    if isinstance(value, bool) or value is None:
        raise _invalid(f"{field} is required and must be an amount", field)
    if isinstance(value, float):
        raise _invalid(
            f'{field} {value!r} is a floating-point number; send amounts as text or an integer, e.g. "1250.50"',
            field,
        )
    if isinstance(value, int):
        return _checked(Decimal(value), str(value), field, currency, allow_negative)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _invalid(f"{field} must be a finite number", field)
        return _checked(value, str(value), field, currency, allow_negative)
    if not isinstance(value, str):
        raise _invalid(f"{field} must be an amount, not {type(value).__name__}", field)
    return _parse_text(value, field, fmt, currency, allow_negative, shorthand)


def _parse_text(
    original: str, field: str, fmt: NumberFormat, currency: str | None, allow_negative: bool, shorthand: bool
) -> ParsedAmount:
    text = original.strip()
    shown = text if len(text) <= MAX_INPUT_LENGTH else text[:MAX_INPUT_LENGTH] + "…"
    if not text:
        raise _invalid(f"{field} is required and must be an amount", field)
    if len(text) > MAX_INPUT_LENGTH:
        raise _invalid(f"{field} {shown!r} is too long to be an amount", field)

    def bad(reason: str) -> CreditDeskError:
        return _invalid(f"{field} {shown!r} is not a valid amount: {reason}", field)

    negative = False
    if text.startswith("(") and text.endswith(")"):  # accounting negative
        negative, text = True, text[1:-1].strip()
    named: list[str] = []
    text, negative = _strip_sign(text, negative, bad)
    text = _strip_currency(text, fmt, named, prefix=True)
    text, negative = _strip_sign(text, negative, bad)
    text = _strip_currency(text, fmt, named, prefix=False)
    if text[-1:] in _MINUS and not negative:  # "1.250,00-" as some ERPs export credits
        negative, text = True, text[:-1].rstrip()
    multiplier = Decimal(1)
    if shorthand and (match := _MULTIPLIER_RE.search(text)) and match.start() > 0:
        multiplier = MULTIPLIERS[match.group(1).lower()]
        text = text[: match.start()].rstrip()
    if not _BODY_RE.fullmatch(text):
        raise bad(_HINT if shorthand else _PLAIN_HINT)
    if len(set(named)) > 1:
        raise bad(f"it names two currencies ({', '.join(sorted(set(named)))})")
    found = named[0] if named else None
    if found and currency and found != currency:
        raise bad(f"it is in {found}, expected {currency}")
    number = _read_number(text, fmt, bad)
    digits = minor_digits(found or currency)
    if multiplier == 1 and -int(number.as_tuple().exponent) > digits:
        unit = f"{found or currency} has" if found or currency else "amounts have"
        raise _invalid(f"{field} {shown!r} has more decimals than {unit} ({digits}){_group_hint(text, fmt)}", field)
    value = number * multiplier
    checked = _checked(-value if negative else value, shown, field, found or currency, allow_negative, found=found)
    return ParsedAmount(checked.amount, checked.currency, found)


def _group_hint(text: str, fmt: NumberFormat) -> str:
    """`1.000` is a thousand where '.' groups digits: say how to have it read so, instead of guessing."""
    decimal, _ = fmt.symbols()
    if decimal == "." and re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{3})+", text):
        return "; if '.' separates thousands here, declare a locale that groups with '.' (e.g. de_DE) or write 1000"
    return ""


def _strip_sign(text: str, negative: bool, bad: Any) -> tuple[str, bool]:
    if text[:1] in _MINUS:
        if negative:
            raise bad("it has two minus signs")
        return text[1:].lstrip(), True
    return text, negative


def _strip_currency(text: str, fmt: NumberFormat, named: list[str], *, prefix: bool) -> str:
    match = (_CODE_PREFIX_RE if prefix else _CODE_SUFFIX_RE).search(text)
    if match and match.group(1).upper() in ISO_4217:
        named.append(match.group(1).upper())
        return (text[match.end() :] if prefix else text[: match.start()]).strip()
    symbols = currency_symbols(fmt.locale)
    for symbol in sorted(symbols, key=len, reverse=True):
        if prefix and text.startswith(symbol):
            named.append(symbols[symbol])
            return text[len(symbol) :].strip()
        if not prefix and text.endswith(symbol) and len(text) > len(symbol):
            named.append(symbols[symbol])
            return text[: -len(symbol)].strip()
    return text


def _read_number(text: str, fmt: NumberFormat, bad: Any) -> Decimal:
    decimal, group = fmt.symbols()
    if group in SPACES:
        text = re.sub(f"[{SPACES}]", group, text)
    elif group in APOSTROPHES:
        text = re.sub(f"[{APOSTROPHES}]", group, text)
    others = set(text) - set("0123456789") - {decimal, group}
    if others:
        where = fmt.describe() + ("" if fmt != DEFAULT_FORMAT else ", the default when no locale is declared")
        spaces = any(ch in SPACES for ch in others)
        reason = (
            "digits grouped with spaces need a locale that groups with spaces (e.g. fr_FR)"
            if spaces
            else f"{''.join(sorted(others))!r} is not a separator in {where}"
        )
        raise bad(reason)
    if text.count(decimal) > 1 or (decimal in text and group in text.split(decimal, 1)[1]):
        hint = _group_hint(text, fmt) or (
            "; for a decimal comma declare the locale (e.g. de_DE)" if fmt == DEFAULT_FORMAT else ""
        )
        raise bad(f"{decimal!r} is the decimal mark in {fmt.describe()}: once, after the thousands{hint}")
    if fmt.decimal is None and fmt.group is None:
        try:
            return parse_decimal(text, locale=fmt.locale, strict=True)
        except NumberFormatError:
            raise bad(_grouping_reason(text, fmt)) from None
    return _explicit(text, decimal, group, fmt, bad)


def _explicit(text: str, decimal: str, group: str, fmt: NumberFormat, bad: Any) -> Decimal:
    whole, _, fraction = text.partition(decimal)
    if group in whole and not re.fullmatch(rf"[0-9]{{1,3}}(?:{re.escape(group)}[0-9]{{3}})+", whole):
        raise bad(f"the thousands are not grouped by three in {fmt.describe()}")
    return Decimal(whole.replace(group, "") + ("." + fraction if fraction else ""))


def _grouping_reason(text: str, fmt: NumberFormat) -> str:
    if fmt == DEFAULT_FORMAT and re.fullmatch(r"[0-9]+,[0-9]{1,2}", text):
        return "a comma before one or two digits is ambiguous; write 12.50, or declare a decimal-comma locale"
    reason = f"the digits are not grouped as {fmt.describe()} groups them"
    return reason + ("; for a decimal comma declare the locale (e.g. de_DE)" if fmt == DEFAULT_FORMAT else "")


def _checked(
    value: Decimal, shown: str, field: str, currency: str | None, allow_negative: bool, *, found: str | None = None
) -> ParsedAmount:
    digits = minor_digits(currency)
    step = Decimal(1).scaleb(-digits)
    rounded = value.quantize(step, rounding=ROUND_HALF_UP) if abs(value) < MAX_AMOUNT else value
    if rounded != value:
        unit = f"{currency} has" if currency else "amounts have"
        raise _invalid(f"{field} {shown!r} has more decimals than {unit} ({digits})", field)
    if value < 0 and not allow_negative:
        raise _invalid(f"{field} must not be negative (got {shown!r})", field, "negative")
    if abs(value) >= MAX_AMOUNT:
        raise _invalid(
            f"{field} {shown!r} is implausibly large (the limit is below {MAX_AMOUNT:,})", field, "too_large"
        )
    return ParsedAmount(rounded, found if found is not None else currency)
