"""The grounding check: every figure in an answer must come from the tool outputs of the same turn.

A figure is supported when some tool output (or argument) holds it, or holds a value it is a formatting of:
thousands separators, a currency symbol or ISO code, rounding to the precision shown, a percentage of a ratio
(0.9 → 90 %), k / m / bn abbreviations, a sign or accounting parentheses. Dates must appear in a tool output (or be
today / a date the user wrote); identifiers (C000017, INV-2026-00042), proposal numbers (#12) and policy sections
(§4.2) must appear in a tool output; list markers and the numbers 0 and 1 are always fine, and so are counts equal to
the length of a list a tool returned.

Anything else is replaced by `REMOVED_MARKER`, recorded as a `GroundingEvent` and logged (kind and counts only,
never the text).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from assistant.types import GroundingEvent, ToolCallRecord
from core.logging import get_logger
from core.money import ISO_4217

log = get_logger(__name__)

REMOVED_MARKER = "[figure removed: not from a tool]"
REMOVED_NOTE = "(Figures that no tool output of this turn supports were removed.)"

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORD = r"(?:st|nd|rd|th)?"
_SEP = "[,\u00a0\u202f\u2009]"  # comma, no-break space, narrow no-break space, thin space

_DMY_MDY = (
    rf"(?P<dmy>\b\d{{1,2}}{_ORD}\s+{_MONTH}\.?,?\s+\d{{4}}\b)"
    rf"| (?P<mdy>\b{_MONTH}\.?\s+\d{{1,2}}{_ORD},?\s+\d{{4}}\b)"
)
_SLASH = r"(?P<slash>\b\d{1,2}/\d{1,2}/\d{2,4}\b)"
_TOKEN = re.compile(
    rf"""
    (?P<url>https?://\S+)
    | (?P<iso>\b\d{{4}}-\d{{2}}-\d{{2}}(?:[T\ ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?\b)
    | {_DMY_MDY}
    | (?P<my>\b{_MONTH}\.?\s+\d{{4}}\b)
    | (?P<dm>\b\d{{1,2}}{_ORD}\s+{_MONTH}\b|\b{_MONTH}\.?\s+\d{{1,2}}{_ORD}\b)
    | {_SLASH}
    | (?P<time>\b\d{{1,2}}:\d{{2}}(?::\d{{2}})?\b)
    | (?P<section>(?:§\s*|\b(?:section|sec\.|clause|chapter|para(?:graph)?\.?|article|art\.)\s+)
        (?P<secnum>\d+(?:\.\d+)*[a-z]?\b))
    | (?P<ref>\#(?P<refnum>\d+)\b)
    | (?P<amount>
        (?:(?P<sym>[$€£¥])\s?|(?P<code_pre>\b(?-i:[A-Z]{{3}}))\s?)?
        (?:(?<![\w.\-])(?P<neg>[-−])|(?P<paren>\()(?=[\d.,\u00a0\u202f\u2009]+\)))?
        (?P<num>\d{{1,3}}(?:{_SEP}\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|(?<!\d)\.\d+)
        (?:(?P<suffix>\s?%|\s?(?:percent|pct|pp|bps|bp)\b|(?:k|m|b|x)\b|\s?(?:mn|mm|bn)\b
            |\s(?:thousand|million|billion)\b)|(?![A-Za-z_\d]))
        (?:\))?
        (?:\s?(?P<code_post>(?-i:[A-Z]{{3}}))\b)?
      )
    | (?P<ident>\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[-_/.][A-Za-z0-9]+)*\b)
    """,
    re.VERBOSE | re.IGNORECASE,
)
# Identifiers that are vocabulary, not data.
_HARMLESS_IDENT = re.compile(
    r"^(?:q[1-4]|h[12]|fy\d{2,4}|\d+(?:st|nd|rd|th)|b2b|b2c|4-eyes|iso-?\d+|p\d|l[1-5]|v\d+|utf-?8)$", re.IGNORECASE
)
_DURATION_IDENT = re.compile(r"^(\d+(?:\.\d+)?)([a-z]{1,3})$", re.IGNORECASE)
_SOURCE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_SOURCE_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")
# The word and slash dates of `_TOKEN` alone: tool outputs hold thousands of strings, most without a digit.
_SOURCE_WORD_DATE = re.compile(f"{_DMY_MDY} | {_SLASH}", re.VERBOSE | re.IGNORECASE)
_DIGIT = re.compile(r"\d")
# "50k", "1.2m" as the user wrote them: the figure they stand for may be said back
_SOURCE_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s?(k|m|mn|mm|bn|thousand|million|billion)\b", re.IGNORECASE)
_SCALES = {
    "k": Decimal(1000),
    "thousand": Decimal(1000),
    "m": Decimal(10) ** 6,
    "mn": Decimal(10) ** 6,
    "mm": Decimal(10) ** 6,
    "million": Decimal(10) ** 6,
    "b": Decimal(10) ** 9,
    "bn": Decimal(10) ** 9,
    "billion": Decimal(10) ** 9,
}


class _Sources:
    """What a turn's tools said: their numbers (sorted), their dates, and — built only when an identifier, a time or
    a section number needs it — their whole text, lowercased."""

    def __init__(self, numbers: list[float], dates: set[date], strings: list[str], results: list[Any]) -> None:
        self.numbers = sorted(numbers)
        self.dates = dates
        self._strings = strings
        self._results = results

    @cached_property
    def text(self) -> str:
        return "\n".join(self._strings).lower() + "\n" + json.dumps(self._results, default=str).lower()

    def has_number(self, value: float, tolerance: float) -> bool:
        value = abs(value)
        i = bisect_left(self.numbers, value - tolerance)
        return i < len(self.numbers) and self.numbers[i] <= value + tolerance

    def years(self) -> set[int]:
        return {d.year for d in self.dates}


def _walk(value: Any, numbers: list[float], strings: list[str]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float | Decimal):
        numbers.append(abs(float(value)))
    elif isinstance(value, str):
        strings.append(value)
    elif isinstance(value, datetime | date):
        strings.append(value.isoformat())
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, numbers, strings)
    elif isinstance(value, list | tuple):
        numbers.append(float(len(value)))  # "the 3 accounts below" counts a list a tool returned
        for item in value:
            _walk(item, numbers, strings)


def _collect(tool_calls: Sequence[ToolCallRecord], allowed_text: Iterable[str], today: date | None) -> _Sources:
    numbers: list[float] = []
    strings: list[str] = list(allowed_text)
    for call in tool_calls:
        _walk(call.arguments, numbers, strings)
        if call.result is not None:
            _walk(call.result, numbers, strings)
        if call.error:  # a refusal quoted back to the user ("limit above 250,000 needs …") is tool output too
            strings.append(call.error)
    dates: set[date] = set() if today is None else {today}
    # One pass of each pattern over every string with a digit, kept apart by a character no pattern crosses.
    digits = "\0".join(text for text in strings if _DIGIT.search(text))
    for match in _SOURCE_DATE.finditer(digits):
        try:
            dates.add(date.fromisoformat(match.group(0)[:10]))
        except ValueError:
            continue
    for match in _SOURCE_NUMBER.finditer(_SOURCE_DATE.sub(" ", digits)):
        try:
            numbers.append(float(match.group(0).replace(",", "")))
        except ValueError:
            continue
    numbers.extend(float(m.group(1)) * float(_SCALES[m.group(2).lower()]) for m in _SOURCE_SCALED.finditer(digits))
    # Dates written in words inside tool text (rare) and in the user's own question.
    for match in _SOURCE_WORD_DATE.finditer(digits):
        parsed = _parse_word_date(match)
        if parsed is not None:
            dates.add(parsed)
    return _Sources(numbers, dates, strings, [call.result for call in tool_calls])


def _parse_word_date(match: re.Match[str]) -> date | None:
    kind = match.lastgroup
    text = match.group(0).lower()
    try:
        if kind in ("dmy", "mdy"):
            month = _month_in(text)
            day = int(re.findall(r"\d+", text)[0])
            year = int(re.findall(r"\d{4}", text)[-1])
            return date(year, month, day) if month else None
        if kind == "slash":
            first, second, year = (int(part) for part in text.split("/"))
            year = year + 2000 if year < 100 else year
            return date(year, second, first)  # day/month/year; month/day is tried by the caller
    except (ValueError, IndexError):
        return None
    return None


def _month_in(text: str) -> int | None:
    for word in re.findall(r"[a-z]+", text):
        if word[:3] in _MONTHS:
            return _MONTHS[word[:3]]
    return None


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def _amount_supported(match: re.Match[str], sources: _Sources, text: str) -> bool:
    raw = match.group("num")
    cleaned = re.sub(_SEP, "", raw)
    try:
        shown = Decimal(cleaned)
    except InvalidOperation:
        return True
    decimals = _decimals(cleaned)
    suffix = (match.group("suffix") or "").strip().lower()
    has_money = bool(match.group("sym") or _iso(match.group("code_pre")) or _iso(match.group("code_post")))
    step = Decimal(1).scaleb(-decimals)
    tolerance = float(step / 2) * 1.000001 + 1e-12
    value = float(shown)
    if suffix in ("%", "percent", "pct", "pp"):
        return sources.has_number(value, tolerance) or sources.has_number(value / 100, tolerance / 100)
    if suffix in ("bp", "bps"):
        return sources.has_number(value, tolerance) or sources.has_number(value / 10000, tolerance / 10000)
    if suffix in _SCALES:
        scale = float(_SCALES[suffix])
        return sources.has_number(value * scale, tolerance * scale)
    if sources.has_number(value, tolerance):
        return True
    if has_money or decimals or suffix == "x" or match.group("neg") or match.group("paren"):
        return False
    integer = int(shown)
    if integer in (0, 1):
        return True
    start = match.start("num")
    line_start = text.rfind("\n", 0, start) + 1
    after = text[match.end("num") : match.end("num") + 2]
    if not text[line_start:start].strip(" \t>*-#") and after[:1] in (".", ")") and after[1:2] in (" ", ""):
        return True  # "1. Acme", "2) Globex"
    return 1990 <= integer <= 2100 and len(cleaned) == 4 and integer in sources.years()


def _iso(code: str | None) -> bool:
    return code is not None and code in ISO_4217


def _date_supported(match: re.Match[str], sources: _Sources) -> bool:
    kind = match.lastgroup
    text = match.group(0)
    if kind == "iso":
        try:
            stated = date.fromisoformat(text[:10])
        except ValueError:
            return False
        if stated not in sources.dates:
            return False
        clock = text[11:16]
        return len(text) <= 10 or clock in sources.text
    if kind in ("dmy", "mdy"):
        return _parse_word_date(match) in sources.dates
    if kind == "slash":
        first, second, year = (int(part) for part in text.split("/"))
        year = year + 2000 if year < 100 else year
        candidates = []
        for day_of_month, month_number in ((first, second), (second, first)):
            try:
                candidates.append(date(year, month_number, day_of_month))
            except ValueError:
                continue
        return any(candidate in sources.dates for candidate in candidates)
    lowered = text.lower()
    month = _month_in(lowered)
    numbers = [int(n) for n in re.findall(r"\d+", lowered)]
    if kind == "my":
        return any(d.year == numbers[-1] and d.month == month for d in sources.dates)
    if kind == "dm":
        return any(d.month == month and d.day == numbers[0] for d in sources.dates)
    return False


def _classify(match: re.Match[str], sources: _Sources, text: str) -> tuple[str, bool]:
    kind = match.lastgroup or "amount"
    if kind == "url":
        return kind, True
    if kind in ("iso", "dmy", "mdy", "my", "dm", "slash"):
        return "date", _date_supported(match, sources)
    if kind == "time":
        return "time", match.group(0) in sources.text or match.group(0).zfill(5) in sources.text
    if kind == "section":
        number = match.group("secnum").lower()
        return "section", re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", sources.text) is not None
    if kind == "ref":
        return "reference", sources.has_number(float(match.group("refnum")), 0.0)
    if kind == "ident":
        ident = match.group(0)
        if _HARMLESS_IDENT.match(ident) or ident.lower() in sources.text:
            return "identifier", True
        duration = _DURATION_IDENT.match(ident)
        if duration:
            return "number", sources.has_number(float(duration.group(1)), 0.5)
        return "identifier", False
    return "number", _amount_supported(match, sources, text)


def ground_answer(
    text: str,
    tool_calls: list[ToolCallRecord],
    *,
    allowed_text: Sequence[str] = (),
    today: date | None = None,
) -> tuple[str, list[GroundingEvent]]:
    """Return the answer with unsupported figures removed, and one event per removed figure.

    `allowed_text` is text the figures may also come from (the user's own question); `today` is a date the answer
    may always state."""
    if not text or not any(ch.isdigit() for ch in text):
        return text, []
    sources = _collect(tool_calls, allowed_text, today)
    events: list[GroundingEvent] = []
    kinds: dict[str, int] = {}
    pieces: list[str] = []
    cursor = 0
    for match in _TOKEN.finditer(text):
        if not any(ch.isdigit() for ch in match.group(0)):
            continue
        kind, supported = _classify(match, sources, text)
        if supported:
            continue
        start, end = match.span()
        if kind == "number" and match.group("code_pre") and not _iso(match.group("code_pre")):
            start = next(match.start(g) for g in ("neg", "paren", "num") if match.group(g))
        if kind == "number" and match.group("code_post") and not _iso(match.group("code_post")):
            end = match.start("code_post")
            while end > start and text[end - 1] == " ":
                end -= 1
        pieces.append(text[cursor:start])
        pieces.append(REMOVED_MARKER)
        cursor = end
        events.append(GroundingEvent(number=text[start:end].strip(), action="removed"))
        kinds[kind] = kinds.get(kind, 0) + 1
    if not events:
        return text, []
    pieces.append(text[cursor:])
    repaired = "".join(pieces).rstrip()
    repaired = f"{repaired}\n\n{REMOVED_NOTE}"
    log.warning("grounding.removed", removed=len(events), kinds=kinds, tool_calls=len(tool_calls))
    return repaired, events
