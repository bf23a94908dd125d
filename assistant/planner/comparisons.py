"""A comparison in a portfolio question: the earlier date or period it names ("this quarter vs last", "since last
week", "vs a year earlier", "between Q2 and Q3") and the same query's arguments at that earlier point. Pure functions
of the text; the comparison is a second call with the same filters at the earlier date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.dates import add_months, month_start

from .compare_points import before_this_period_at, month_end_at
from .dates import date_at
from .entities import Spans
from .periods import period_at

IC = re.IGNORECASE
_UNIT = r"(week|wk|month|mth|quarter|qtr|year|yr)"
COMPARE_RE = re.compile(
    rf"\b(?:vs\.?|versus|compared?\s+(?:(?:it|this|that|them)\s+)?(?:with|w/|to)|against|relative\s+to)\s+(?:the\s+)?"
    rf"(?:(?:last|previous|prior|the\s+previous)\s+{_UNIT}|{_UNIT}\s+before\b|(last|previous|prior)\b(?!\s+\d)"
    rf"|(?:a|one)\s+{_UNIT}\s+(?:earlier|before|prior)\b"
    rf"|(same)\s+(?:{_UNIT}|day|date|time)\s+last\s+year)"
    rf"|\bsince\s+(?:last|the\s+previous|a)\s+{_UNIT}\b(?:\s+ago)?|\b(?:a|one)\s+{_UNIT}\s+(?:ago|earlier)\b"
    rf"|\b(?:{_UNIT}[- ]on[- ]{_UNIT}|(?:w|m|q|y)o(?:w|m|q|y))\b",
    IC,
)
_UNITS = {"week": "week", "wk": "week", "month": "month", "mth": "month", "quarter": "quarter", "qtr": "quarter",
          "year": "year", "yr": "year", "w": "week", "m": "month", "q": "quarter", "y": "year"}  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    unit: str | None  # week, month, quarter, year; None: "vs last" — the unit of the period asked about
    same_last_year: bool = False
    label: str = ""


def comparison(text: str, spans: Spans) -> Comparison | None:
    match = COMPARE_RE.search(text)
    if match is None:
        return None
    spans.add(*match.span())
    words = [g for g in match.groups() if g]
    same = any(w.lower() == "same" for w in words)
    unit = next((_UNITS[w.lower()] for w in words if w.lower() in _UNITS), None)
    if unit is None:
        short = re.fullmatch(r"([wmqy])o[wmqy]", match.group(0), IC)
        unit = _UNITS[short.group(1).lower()] if short else None
    return Comparison(unit=unit, same_last_year=same, label=match.group(0).strip())


# "vs end of last quarter", "since the end of Q3", "compared with 30 Sep 2013": the earlier point is a date
COMPARE_DATE_RE = re.compile(
    r"\b(?:vs\.?|versus|compared?\s+(?:(?:it|this|that|them|these|those)\s+)?(?:with|w/|to)|against|relative\s+to"
    r"|since"
    # "better or worse than at the end of Q3", "higher than it was in June"
    r"|than(?:\s+(?:it|we|they|things?)\s+(?:was|were|stood|looked))?(?:\s+(?:at|on|in|as\s+(?:of|at)|back\s+(?:at|in|on)))?"
    r")\s+"
    r"(?:(?:where|what|how)\s+(?:it|we|they|things?)\s+(?:was|were|stood|looked)\s+(?:at|on|as\s+(?:of|at))?\s*)?"
    r"(?:the\s+)?",
    IC,
)


def compared_date(text: str, today: date, spans: Spans) -> tuple[date, str] | None:
    """The date a comparison names ("vs end of last month" → its last day), marked in `spans` so it is not read as
    the as-of date, with the words that named it."""
    for match in COMPARE_DATE_RE.finditer(text):
        if spans.covers(*match.span()):
            continue
        at = match.end()
        found = (
            date_at(text, at, today)
            or period_at(text, at, today)
            or month_end_at(text, at, today)
            or before_this_period_at(text, at, today)
        )
        if found is None:
            continue
        mention, end = found
        if mention.day >= today:
            continue  # "since yesterday" is a point; "vs today" compares nothing
        spans.add(match.start(), end)
        return mention.day, text[match.start() : end].strip()
    return None


# "DSO went up between Q2 and Q3", "how did overdue change from June to September": the later against the earlier
_CHANGE_BETWEEN_RE = re.compile(
    r"\b(?:went|gone|go(?:es)?|moved?|changed?|rose|risen|rise|fell|fallen|dropped|increased?|decreased?|jumped|grew"
    r"|worsen\w*|improv\w*|deteriorat\w*|shift\w*|difference|change|movement|swing)\b.{0,30}?\b(between|from)\s+(?:the\s+)?",
    IC,
)


def change_between(text: str, today: date, spans: Spans) -> tuple[Any, Any] | None:
    """The two points or periods a change is asked between (earlier, later), marked in `spans`."""
    for match in _CHANGE_BETWEEN_RE.finditer(text):
        first = date_at(text, match.end(), today) or period_at(text, match.end(), today)
        if first is None:
            continue
        joiner = re.compile(r"\s+(?:and|to|till|until|vs\.?)\s+(?:the\s+)?" if match.group(1).lower() == "from"
                            else r"\s+(?:and|&)\s+(?:the\s+)?", IC).match(text, first[1])  # fmt: skip
        if joiner is None:
            continue
        second = date_at(text, joiner.end(), today) or period_at(text, joiner.end(), today)
        if second is None:
            continue
        earlier, later = sorted((first[0], second[0]), key=lambda mention: mention.day)
        if earlier.day >= later.day or later.day > today:
            continue
        spans.add(match.start(), second[1])
        return earlier, later
    return None


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def earlier_arguments(
    args: dict[str, Any], wanted: Comparison, today: date, period_months: int | None = None
) -> dict[str, Any]:
    """The same query at the earlier date: the previous period of the same length when a period was asked about
    ("DSO this quarter vs last"), else the earlier point in time ("open AR vs last month": at last month's end)."""
    as_of: date = args.get("as_of") or today
    earlier = {k: v for k, v in args.items() if k not in ("as_of", "period_start", "period_months", "chart")}
    start: date | None = args.get("period_start")
    if wanted.same_last_year:
        earlier["as_of"] = add_months(as_of, -12)
        if start is not None:
            earlier["period_start"] = add_months(start, -12)
        return earlier
    if start is not None and wanted.unit in (None, "quarter", "month", "year"):
        months = (
            {"month": 1, "quarter": 3, "year": 12}.get(wanted.unit or "", 0)
            or period_months
            or _months_between(start, as_of)
        )
        earlier["period_start"] = add_months(start, -months)
        earlier["as_of"] = start - timedelta(days=1)
        if months > 6:
            earlier.pop("period_start")
        return earlier
    unit = wanted.unit or "month"
    if unit == "week":
        earlier["as_of"] = as_of - timedelta(days=7)
    elif unit == "month":
        earlier["as_of"] = month_start(as_of) - timedelta(days=1) if as_of == today else add_months(as_of, -1)
    elif unit == "quarter":
        earlier["as_of"] = _quarter_start(as_of) - timedelta(days=1) if as_of == today else add_months(as_of, -3)
    else:
        earlier["as_of"] = add_months(as_of, -12)
    if "period_months" in args:
        earlier["period_months"] = args["period_months"]
    return earlier


def period_length(label: str) -> int | None:
    """Months in a period named by its label ("this quarter", "last month", "Q3", "2025")."""
    lowered = label.lower()
    if "quarter" in lowered or re.search(r"\bq[1-4]\b", lowered):
        return 3
    if "month" in lowered:
        return 1
    if "year" in lowered or re.fullmatch(r"\d{4}", lowered.strip()):
        return 12
    return None


def _months_between(start: date, end: date) -> int:
    return max(1, (end.year - start.year) * 12 + end.month - start.month + 1)
