"""Periods the date rules leave out — a year ("DSO for 2031", "end of 1850", "FY2025"), a month of a year ("March
2031", "2025-03") — and date-like text that is no date ("2026-02-30"), so the planner can answer for that period or
say why it cannot, instead of silently answering for today. Pure functions of the text and `today`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from core.dates import month_end, month_start

from .dates import MONTHS, DateMention
from .entities import Spans

_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR = r"(1\d{3}|2\d{3})"
_NOT_AMOUNT = (
    r"(?![\d,.]*\d)(?![-/]\d)(?!\s*(?:k|m|bn|mm|%|[$€£]|usd|eur|gbp|thousand|million|dollars?|euros?|pounds?|units?)\b)"
)
# A bare year needs a period word before it ("for 2031", "as of 2019"), and only 19xx/20xx there: "for 2500" is
# more likely an amount.
_RULES: list[tuple[re.Pattern[str], str]] = [
    # "from jan to jun 2013", "jan-jun 2013", "between March 2012 and May 2013": the months from the first to the last
    (
        re.compile(
            rf"\b(?:from\s+|between\s+)?({_MONTH_NAMES})\.?(?:\s+{_YEAR})?\s*(?:-|–|to|till|until|through|thru)\s*"
            rf"({_MONTH_NAMES})\.?,?\s+(?:of\s+)?{_YEAR}\b{_NOT_AMOUNT}",
            re.I,
        ),
        "month_range",
    ),
    (
        re.compile(
            rf"\bbetween\s+({_MONTH_NAMES})\.?(?:\s+{_YEAR})?\s+and\s+({_MONTH_NAMES})\.?,?\s+(?:of\s+)?{_YEAR}\b"
            rf"{_NOT_AMOUNT}",
            re.I,
        ),
        "month_range",
    ),
    # "across 2012 and 2013", "2012-2013", "from 2012 to 2013": the whole of both years
    (
        re.compile(
            rf"\b(?:(?:between|across|over|for|in|during|throughout)\s+(?:both\s+)?)?{_YEAR}\s*"
            rf"(?:-|–|to|through|thru|and)\s*{_YEAR}\b{_NOT_AMOUNT}",
            re.I,
        ),
        "year_range",
    ),
    (re.compile(rf"\b({_MONTH_NAMES})\.?,?\s+(?:of\s+)?{_YEAR}\b{_NOT_AMOUNT}", re.I), "month_year"),
    (re.compile(rf"(?<![\d-])\b{_YEAR}-(0?[1-9]|1[0-2])\b(?!-\d)", re.I), "year_month"),
    (
        re.compile(
            rf"\b(?:(?:at\s+)?(?:the\s+)?(?:end|close)\s+of\s+|year[- ]end\s+|ye\s*|fy\s*|fiscal\s+(?:year\s+)?"
            rf"|(?:calendar\s+)?year\s+){_YEAR}\b{_NOT_AMOUNT}",
            re.I,
        ),
        "year",
    ),
    # "DSO for 2013", "CEI during 2012": the whole year (to today for the current one)
    (
        re.compile(rf"\b(?:for|in|during|across|over|calendar|throughout)\s+(19\d\d|20\d\d)\b{_NOT_AMOUNT}", re.I),
        "year_span",
    ),
    (re.compile(rf"\b(?:as\s+(?:of|at)|until|through)\s+(19\d\d|20\d\d)\b{_NOT_AMOUNT}", re.I), "year"),
    (re.compile(rf"\b{_YEAR}\s+(?:year[- ]end|ye)\b", re.I), "year"),
    # "2013 payment trend", "2012 DSO": a year before the figure it qualifies
    (
        re.compile(
            r"(?<![\d,.$€£-])\b(19\d\d|20\d\d)\s+(?:payments?|pay|paying|dso|cei|add|ag(?:e)?ing|figures?|numbers?"
            r"|trend|results?|performance|promises?|ptps?|overdue|ar|receivables|sales|disputes?|exposure"
            r"|behaviou?r|history|lateness|kpis?)\b",
            re.I,
        ),
        "year",
    ),
    # "what about 2012", "and 2013?": a follow-up asking the same for that year
    (
        re.compile(r"^\W*(?:(?:and|ok|so|now)\W+)?(?:(?:what|how)\s+about|same\s+for|and)\s+(19\d\d|20\d\d)\W*$", re.I),
        "year",
    ),
]
# Text that reads as a calendar date; when no date rule took it, it names no real day.
_DATE_LIKE = re.compile(
    rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{4}}\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH_NAMES})\b|\b(?:{_MONTH_NAMES})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
    r"(?!\d)",
    re.I,
)


@dataclass(frozen=True)
class PeriodProblem:
    text: str
    reason: str


def period_mentions(text: str, today: date, spans: Spans) -> list[tuple[int, DateMention]]:
    """(position, period) for each year or month-of-a-year not already explained; a period still running ends
    today."""
    found: list[tuple[int, DateMention]] = []
    for pattern, kind in _RULES:
        for match in pattern.finditer(text):
            if spans.covers(*match.span()):
                continue
            mention = _period(kind, match.groups(), today)
            spans.add(*match.span())
            found.append((match.start(), mention))
    return found


def period_at(text: str, position: int, today: date) -> tuple[DateMention, int] | None:
    """The year or month of a year that starts at `position` ("end of 2012" after "compared with"), and where it
    ends."""
    for pattern, kind in _RULES:
        match = pattern.match(text, position)
        if match is not None:
            return _period(kind, match.groups(), today), match.end()
    return None


def _period(kind: str, groups: tuple[str | None, ...], today: date) -> DateMention:
    if kind in ("month_range", "year_range"):
        return _range(kind, groups, today)
    if kind in ("year", "year_span"):
        year = int(str(groups[0]))
        end = date(year, 12, 31)
        start = date(year, 1, 1) if kind == "year_span" else None
        return DateMention(min(end, today) if year == today.year else end, start, label=str(year))
    if kind == "month_year":
        month, year = MONTHS[str(groups[0]).lower().rstrip(".")], int(str(groups[1]))
    else:
        year, month = int(str(groups[0])), int(str(groups[1]))
    start = date(year, month, 1)
    end = month_end(start)
    day = today if start == month_start(today) else end
    return DateMention(day, start, 1, f"{start:%B %Y}")


def _range(kind: str, groups: tuple[str | None, ...], today: date) -> DateMention:
    if kind == "year_range":
        first, last = date(int(str(groups[0])), 1, 1), date(int(str(groups[1])), 12, 1)
    else:
        last = date(int(str(groups[3])), MONTHS[str(groups[2]).lower().rstrip(".")], 1)
        first = date(int(groups[1]) if groups[1] else last.year, MONTHS[str(groups[0]).lower().rstrip(".")], 1)
        if first > last and not groups[1]:
            first = first.replace(year=first.year - 1)  # "nov to feb 2013": November 2012
    if first > last:
        first, last = last, first
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    end = month_end(last)
    day = today if month_start(today) <= end and today >= first else end
    return DateMention(min(day, end), first, months, f"{first:%B %Y} to {last:%B %Y}")


def unreadable_dates(text: str, spans: Spans) -> list[str]:
    """Date-like text no date rule could read ("2026-02-30", "31 February"): never silently dropped."""
    return [match.group(0) for match in _DATE_LIKE.finditer(text) if not spans.covers(*match.span())]


def period_problem(mention: DateMention, today: date, first_day: date | None) -> PeriodProblem | None:
    """Why a reporting period has no figures: it lies after today, or before the book's first data."""
    label = mention.label or str(mention.day)
    starts = mention.period_start
    if mention.day > today and (starts is None or starts > today):
        return PeriodProblem(label, f"{label} is in the future: figures exist up to today, {today}")
    if first_day is not None and mention.day < first_day:
        return PeriodProblem(
            label, f"{label} is before the book's first data ({first_day}): there are no figures for it"
        )
    return None
