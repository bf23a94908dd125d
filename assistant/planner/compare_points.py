"""The earlier point a comparison names when no date rule reads it: a month alone ("vs june", "how did it move since
september") is its last past month-end; "since the start of the quarter", when a change is asked, is the eve of the
period. `portfolio_query.compared_date` tries these after the date and period rules."""

from __future__ import annotations

import re
from datetime import date, timedelta

from core.dates import add_months

from .dates import MONTHS, DateMention

IC = re.IGNORECASE

_AFTER_SINCE_RE = re.compile(r"\bsince\s+(?:the\s+)?$", IC)
_MONTH_ALONE_RE = re.compile(
    r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\b(?!\s*[-/]?\s*\d)(?!\s+(?:be|have|not)\b)", IC
)


def month_end_at(text: str, position: int, today: date) -> tuple[DateMention, int] | None:
    """ "since september", "vs june": a month named alone after a comparison word is its last past month-end."""
    match = _MONTH_ALONE_RE.match(text, position)
    if match is None or (_AFTER_SINCE_RE.search(text[:position]) and not _A_CHANGE_RE.search(text)):
        return None  # "CEI since july" is a period from July; "how did it move since july" compares
    month = MONTHS[match.group(1).lower()]
    if month == today.month:
        return None  # "vs november" in November: this month or last year's, the words don't say
    year = today.year if month < today.month else today.year - 1
    end = add_months(date(year, month, 1), 1) - timedelta(days=1)
    return DateMention(end, label=f"end of {end:%B %Y}"), match.end()


_START_OF_THIS_RE = re.compile(
    r"(?:start|beginning|begin+ing)\s+of\s+(?:the\s+|this\s+|the\s+current\s+)?(month|quarter|qtr|year)\b", IC
)


_A_CHANGE_RE = re.compile(
    r"\b(?:chang\w*|mov\w*|gr[eo]w\w*|rose|risen|rise|fall\w*|fell|went|gone|better|worse|improv\w*|deteriorat\w*"
    r"|differ\w*|vs\.?|versus|compar\w*|against|delta)\b",
    IC,
)


def before_this_period_at(text: str, position: int, today: date) -> tuple[DateMention, int] | None:
    """ "since the start of the quarter": the book as it stood when the period began, its eve's month-end."""
    match = _START_OF_THIS_RE.match(text, position)
    if match is None or not _A_CHANGE_RE.search(text):
        return None  # "CEI since the start of the year" is a period, not a point to compare with
    unit = match.group(1).lower()
    months = {"month": 1, "quarter": 3, "qtr": 3, "year": 12}[unit]
    start = date(today.year, 1 if months == 12 else (today.month - 1) // months * months + 1, 1)
    eve = start - timedelta(days=1)
    return DateMention(eve, label=f"start of the {'quarter' if months == 3 else unit}"), match.end()
