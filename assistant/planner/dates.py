"""Dates in a request, found by rules and resolved against `today`: ISO and numeric dates (read one way only, by the
configured day or month order, else asked), month and weekday names, quarters, month and year ends, relative dates
("next friday", "in two weeks", "last EOM"). Pure functions of the text; nothing here touches the database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from core.dates import add_months, month_end, month_start, quarter_end, quarter_of, quarter_start
from core.settings import get_settings

from .entities import Spans

WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
    "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
SMALL_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
# "so far this month", "this year so far": to date
_SO_FAR = r"(?:\bso\s+far\s+(?:in\s+)?)?"


# "on the 15th", "by the 3rd", "as of the 1st": a day of a month left unsaid (the next one for promises, the latest
# one for reporting). Not "the first one", "1st reminder", "2nd quarter", "3rd page": those are picks and levels.
_DAY_OF_MONTH = (
    r"\b(?:(?:on|by|before|until|till|for|as\s+(?:of|at))\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b"
    r"(?!\s+(?:one|ones|account|customer|client|row|line|item|entry|reminder|notice|letter|level|quarter|half"
    r"|week|page|dunning|largest|biggest|top|on|in)\b)(?:\s+of\s+(?:the|this)\s+month\b)?"
)


@dataclass(frozen=True)
class DateMention:
    """A point in time, and for reporting questions the period that ends there (start or number of months)."""

    day: date
    period_start: date | None = None
    period_months: int | None = None
    label: str = ""
    # Set when the text does not pin one day ("07/12": 7 December or 12 July; "the 31st" in November): the
    # question to ask instead of picking one. `day` is then only the first reading and must not be used.
    problem: str | None = None


def _either_order(first: int, second: int) -> bool:
    """A numeric date whose two parts both fit as a month and differ: day/month and month/day give two dates, unless
    the `date_order` setting declares the order (then only that reading exists). Never guessed."""
    return first != second and first <= 12 and second <= 12 and get_settings().date_order == "ask"


def _numeric_parts(first: int, second: int) -> tuple[int, int]:
    """(month, day) of a numeric date written first/second: the only reading that fits, else the configured one."""
    if second > 12 >= first:
        return first, second
    if first > 12 >= second:
        return second, first
    return (first, second) if get_settings().date_order == "month_first" else (second, first)


def _ambiguous(written: str, readings: tuple[date, ...]) -> DateMention:
    options = " or ".join(f"{day.day} {day:%B %Y}" for day in readings)
    return DateMention(readings[0], label=written, problem=f"“{written}” could be {options}")


def _past_year(candidate: date, today: date, future: bool) -> date:
    if not future and candidate > today:
        return candidate.replace(year=candidate.year - 1)
    if future and candidate < today:
        return candidate.replace(year=candidate.year + 1)
    return candidate


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _quarter(q: int, year: int | None, today: date, future: bool) -> DateMention:
    if year is None:
        year = today.year
        if not future and quarter_end(year, q) > today and quarter_start(year, q) > today:
            year -= 1
        elif future and quarter_end(year, q) < today:
            year += 1  # "review at the end of Q1", said in November: next year's
    end = min(quarter_end(year, q), today) if not future and quarter_start(year, q) <= today else quarter_end(year, q)
    return DateMention(end, quarter_start(year, q), 3, f"Q{q} {year}")


def _half(half: int, year: int | None, today: date, future: bool) -> DateMention:
    """H1 (January to June) or H2 (July to December); without a year the latest one begun, or the next to end."""
    if year is None:
        year = today.year
        start = date(year, 1 if half == 1 else 7, 1)
        if not future and start > today:
            year -= 1
        elif future and month_end(date(year, 6 if half == 1 else 12, 1)) < today:
            year += 1
    start = date(year, 1 if half == 1 else 7, 1)
    end = month_end(date(year, 6 if half == 1 else 12, 1))
    if not future and start <= today < end:
        end = today
    return DateMention(end, start, 6, f"H{half} {year}")


def _day_of_month(number: int, today: date, future: bool) -> DateMention | None:
    """The next such day from today on (future), or the latest one up to today; months without it are skipped."""
    if not 1 <= number <= 31:
        return None
    start = month_start(today)
    # The month meant is this one, or the next (promises) / previous (reporting) once the day is past; when that
    # month has no such day, say so rather than move to a later month that has it.
    passed = number < today.day if future else number > today.day
    meant = add_months(start, (1 if future else -1) if passed else 0)
    missing = _safe_date(meant.year, meant.month, number) is None
    for step in range(13):
        month = add_months(start, step if future else -step)
        candidate = _safe_date(month.year, month.month, number)
        if candidate is not None and (candidate >= today if future else candidate <= today):
            if not missing:
                return DateMention(candidate, label=str(candidate))
            suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
            readings = sorted({month_end(meant), candidate})
            options = " or ".join(f"{day.day} {day:%B %Y}" for day in readings)
            return DateMention(
                candidate, label=f"the {number}{suffix}", problem=f"{meant:%B %Y} has no {number}{suffix} ({options}?)"
            )
    return None


def _weekday_date(
    written: str, weekday: str, number: int, month_text: str | None, year_text: str | None, today: date, future: bool
) -> DateMention | None:
    if month_text is None:
        mention = _day_of_month(number, today, future)
    else:
        day = _safe_date(int(year_text) if year_text else today.year, MONTHS[month_text.lower()], number)
        mention = None if day is None else DateMention(day if year_text else _past_year(day, today, future))
    if mention is None or mention.problem is not None:
        return mention
    named = WEEKDAYS[weekday.lower()]
    if mention.day.weekday() != named:
        return DateMention(
            mention.day,
            label=written,
            problem=f"“{written}” does not fit: {mention.day.day} {mention.day:%B %Y} is a {mention.day:%A}",
        )
    return DateMention(mention.day, label=str(mention.day))


def _weekday(name: str, modifier: str, today: date) -> date:
    target = WEEKDAYS[name]
    ahead = (target - today.weekday()) % 7 or 7
    day = today + timedelta(days=ahead)
    if modifier == "next" and day.isocalendar()[:2] == today.isocalendar()[:2]:
        day += timedelta(days=7)
    if modifier == "last":
        day = today - timedelta(days=(today.weekday() - target) % 7 or 7)
    return day


_DATE_RULES: list[tuple[re.Pattern[str], str]] = [
    (  # "wednesday the 25th", "fri 4 december": one day, named twice (checked to agree)
        re.compile(
            rf"\b(?:(?:on|by|this|next|coming)\s+)?({_WEEKDAY_NAMES})\.?,?\s+(?:the\s+(\d{{1,2}})(?:st|nd|rd|th)?\b"
            rf"|(\d{{1,2}})(?:st|nd|rd|th)\b|(\d{{1,2}})(?=\s+(?:of\s+)?(?:{_MONTH_NAMES})\b))"
            rf"(?:\s+(?:of\s+)?({_MONTH_NAMES})\b\.?(?:,?\s+(\d{{4}})\b)?)?",
            re.I,
        ),
        "weekday_date",
    ),
    (re.compile(r"\b(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\b"), "iso"),
    (re.compile(r"\b(\d{1,2})([/.])(\d{1,2})\2(\d{4})\b"), "dmy"),
    (re.compile(r"(?<![\d/.,$€£])\b(\d{1,2})/(\d{1,2})\b(?![/.,]?\d)"), "dm"),
    (
        re.compile(
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+|-)(?:of\s+)?({_MONTH_NAMES})\.?,?(?:[\s-]+(\d{{4}}))?\b", re.I
        ),
        "d_month",
    ),
    (
        re.compile(rf"\b({_MONTH_NAMES})\.?(?:\s+|-)(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?[\s-]+(\d{{4}}))?", re.I),
        "month_d",
    ),
    (re.compile(rf"\b(?:mid|the middle of)[-\s]+({_MONTH_NAMES})\b(?:\s+(\d{{4}}))?", re.I), "mid_month"),
    # "by christmas", "before new year": the day itself (the next one for what lies ahead, else the last one)
    (
        re.compile(
            r"\b(christmas|xmas|x-mas)(\s+eve)?(?:\s+(\d{4}))?\b|\bnew\s+year(?:'?s)?(\s+eve)?(?:\s+day)?\b", re.I
        ),
        "holiday",
    ),
    (
        re.compile(r"\b(?:beginning|start)\s+of\s+next\s+month\b|\bfirst\s+of\s+next\s+month\b", re.I),
        "next_month_start",
    ),
    (re.compile(r"\b(?:by\s+)?(?:the\s+)?end\s+of\s+next\s+week\b", re.I), "end_next_week"),
    (re.compile(r"\b(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week\b|\beow\b", re.I), "end_week"),
    (  # "Q3 last year", "end of Q2 this year"
        re.compile(
            r"\b(?:(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?|in\s+|for\s+|during\s+)?q([1-4])\s+(?:of\s+)?"
            r"(last|this|previous|prior)\s+year\b",
            re.I,
        ),
        "quarter_of_year",
    ),
    (re.compile(r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?q([1-4])(?:\s*(?:of\s+)?(\d{4}))?\b", re.I), "quarter"),
    (
        re.compile(
            r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter"
            r"(?:\s+(?:of\s+)?(\d{4}))?",
            re.I,
        ),
        "quarter_word",
    ),
    (re.compile(r"\b(?:in\s+|for\s+|during\s+)?q([1-4])(?:\s*(?:of\s+)?(\d{4}))?\b", re.I), "quarter"),
    (  # "for the third quarter", "in the 2nd qtr of 2025"
        re.compile(
            r"\b(?:in\s+|for\s+|during\s+|over\s+)?(?:the\s+)?(first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:quarter|qtr)"
            r"(?:\s+(?:of\s+)?(\d{4}))?\b",
            re.I,
        ),
        "quarter_word",
    ),
    # "end of H1", "H2 2025", "the first half of 2013": half-years, six months to their end
    (
        re.compile(
            r"\b(?:(?:at|by)\s+)?(?:the\s+)?(?:end\s+of\s+(?:the\s+)?)?(?:in\s+|for\s+|during\s+)?"
            r"(?:h([12])|(first|second|1st|2nd)\s+half)(?:\s*(?:of\s+)?(?:(?:fy|cy)\s*)?(\d{4})"
            r"|\s+(?:of\s+)?(?:the\s+)?(?:(last|previous|prior)|this|current)?\s*year)?\b"
            r"(?!\s+of\s+(?!(?:(?:fy|cy)\s*)?\d{4}))",  # not "the first half of December"
            re.I,
        ),
        "half",
    ),
    (
        re.compile(
            rf"{_SO_FAR}\b(?:this|current)\s+quarter\b(?:\s+so\s+far\b)?|\bquarter[- ]to[- ]date\b|\bqtd\b", re.I
        ),
        "this_quarter",
    ),
    (
        re.compile(r"\b(?:at\s+)?(?:the\s+)?(?:end\s+of\s+(?:the\s+)?)?(?:last|previous|prior)\s+quarter\b", re.I),
        "last_quarter",
    ),
    (re.compile(r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(?:last|previous|prior)\s+month\b", re.I), "last_month"),
    # "EOM last month", "month end of the previous month": one date, not this month's end and last month
    (
        re.compile(r"\b(?:eom|month[- ]end)\s+(?:of\s+)?(?:the\s+)?(?:last|previous|prior)\s+month\b", re.I),
        "last_month",
    ),
    (re.compile(r"\b(?:last|previous|prior)\s+(?:month\b|eom\b)", re.I), "last_month"),
    (re.compile(r"\beom\b(?![- ]?(?:report|statement|figures?|numbers?|balances?|close))", re.I), "eom"),
    (
        re.compile(rf"{_SO_FAR}\b(?:this|current)\s+month\b(?:\s+so\s+far\b)?|\bmonth[- ]to[- ]date\b|\bmtd\b", re.I),
        "this_month",
    ),
    (re.compile(r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+next\s+month\b", re.I), "end_next_month"),
    (  # "September 2013 month end", "june EOM": that month's end
        re.compile(rf"\b({_MONTH_NAMES})\.?(?:\s+(\d{{4}}))?\s+(?:month[- ]end|eom|close)\b", re.I),
        "end_of_named_month",
    ),
    (
        re.compile(
            r"\b(?:at\s+|by\s+|on\s+)?(?:the\s+)?(?:end|last\s+day)\s+of\s+(?:the\s+|this\s+)?month\b"
            rf"|(?:\bmonth[- ]end|\b(?:by|at|before|until|till)\s+eom)\b(?!\s+(?:of\s+)?(?:{_MONTH_NAMES})\b)",
            re.I,
        ),
        "end_month",
    ),
    (re.compile(rf"\b(?:at\s+)?(?:the\s+)?end\s+of\s+({_MONTH_NAMES})\b(?:\s+(\d{{4}}))?", re.I), "end_of_named_month"),
    # "EOM october", "month-end Sept 2013"
    (
        re.compile(rf"\b(?:eom|month[- ]end)\s+(?:of\s+)?({_MONTH_NAMES})\b\.?(?:\s+(\d{{4}}))?", re.I),
        "end_of_named_month",
    ),
    (  # "year-end 2012", "2012 year end", "end of year 2013": that year's; without one, the last year-end
        re.compile(
            r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|last\s+)?year\b(?:\s+(\d{4})\b)?"
            r"|\b(?:(\d{4})\s+)?year[- ]?end\b(?:\s+(?:of\s+)?(\d{4})\b)?",
            re.I,
        ),
        "year_end",
    ),
    (
        re.compile(r"\b(a|an|one|two|three|four|five|six|\d{1,2})\s+(day|week|month|quarter|year)s?\s+ago\b", re.I),
        "ago",
    ),
    (re.compile(r"\b(?:this|the\s+same)\s+time\s+last\s+(week|month|quarter|year)\b", re.I), "same_time_last"),
    (re.compile(r"\b(?:last|past|previous)\s+(\d{1,2}|two|three|four|five|six)\s+months\b", re.I), "last_n_months"),
    (
        re.compile(
            rf"\bytd\b|\byear[- ]to[- ]date\b|{_SO_FAR}(?<!of )\b(?:this|the\s+current)\s+(?:calendar\s+)?year\b"
            r"(?:\s+so\s+far\b)?"
            r"|\b(?:since|from)\s+(?:the\s+)?(?:start|beginning)\s+of\s+(?:the|this)\s+year\b",
            re.I,
        ),
        "this_year",
    ),
    (
        re.compile(rf"\bsince\s+(?:the\s+(?:start|beginning)\s+of\s+)?({_MONTH_NAMES})\b(?:\s+(\d{{4}}))?", re.I),
        "since_month",
    ),
    # "paid late last year", "DSO for last year": the previous calendar year (never "vs last year", a comparison)
    (
        re.compile(
            r"(?<!\bvs )(?<!\bvs\. )(?<!\bversus )(?<!\bto )(?<!\bwith )(?<!\bthan )(?<!\bagainst )(?<!\bof )"
            r"(?<!\bthe )"
            r"\b(?:(?:in|for|during|over|across|through(?:out)?)\s+)?(?:last|(?:the\s+)?(?:previous|prior))\s+"
            r"(?:calendar\s+)?year\b(?!\s*-?\s*end)",
            re.I,
        ),
        "last_year",
    ),
    (re.compile(r"\b(?:h([12])|(first|second|1st|2nd)\s+half(?:\s+of)?)\s*(\d{4})\b", re.I), "half_year"),
    # "CEI for october", "DSO in september": that month (the last one gone by; to date for the current month)
    (
        re.compile(rf"\b(?:for|in|during|over)\s+(?:the\s+month\s+of\s+)?({_MONTH_NAMES})\b(?![\s.,]*\d)", re.I),
        "in_month",
    ),
    (re.compile(r"\b(?:in|within)\s+(\d{1,3}|a|an|one|two|three|four|five|six)\s+(day|week|month)s?\b", re.I), "in_n"),
    (re.compile(r"\bin\s+a\s+fortnight\b", re.I), "fortnight"),
    (
        # "a week from today", and the British "a week today"
        re.compile(
            r"\b(a|an|one|two|three|four|five|six|\d{1,2})\s+(day|week|month)s?\s+(?:from\s+)?(?:today|now)\b", re.I
        ),
        "from_today",
    ),
    (re.compile(r"\bnext\s+week\b", re.I), "next_week"),
    (  # not an event's day: "the pack for Thursday's board call" asks nothing of Thursday
        re.compile(
            rf"\b(next|this|coming|on|by|last)?\s*({_WEEKDAY_NAMES})\b"
            r"(?!'s\s+(?:\w+\s+)?(?:call|meeting|review|catch[- ]?up"
            r"|stand-?up|committee|session|sync|huddle|agenda|presentation|deck|offsite|board|lunch)\b)",
            re.I,
        ),
        "weekday",
    ),
    (re.compile(_DAY_OF_MONTH, re.I), "day_of_month"),
    (re.compile(r"\btoday\b|\btonight\b|\bright now\b", re.I), "today"),
    (re.compile(r"\byesterday\b", re.I), "yesterday"),
    (re.compile(r"\bto?m+or+ow\b|\btmrw\b|\btmr\b", re.I), "tomorrow"),  # typed fast: "tomorow", "tommorrow"
]


# After an abbreviated weekday: the end of a clause, so "wed" is the day and no part of a name ("ptp 100k CAD wed, …")
_ABBREVIATED_DAY_ALONE_RE = re.compile(r"\s*(?:[,;)]|\.(?:\s|$))")
_AFTER_AN_AMOUNT_RE = re.compile(r"(?:\d[\d.,]*\s*(?:k|m)?|\b[A-Z]{3})\s+$")
# "the two that fell due earlier this month": when something happened, not a date asked for
_NOT_A_POINT_RE = re.compile(
    r"\b(?:earlier|later|previously)\s+(?:this|last|that|in\s+the)\s+(?:week|month|quarter|year)\b"
    r"|\bearlier\s+today\b"
    # "a big Q1 order", "their Q2 stock build": a quarter naming what a plan is for, no date asked about
    r"|\bq[1-4]\s+(?:orders?|stock|build|deals?|pipeline|volumes?|campaign|plans?|budget|forecast|roll-?out|launch"
    r"|push|programme|program|season|peak|promo\w*|contract|tender|project)\b",
    re.I,
)


def date_mentions(text: str, today: date, spans: Spans, *, future: bool = False) -> list[DateMention]:
    """Dates in the text, resolved against `today`. `future`: bare month/day or quarter names mean the next one
    (promises), otherwise the latest one not after today (reporting)."""
    for match in _NOT_A_POINT_RE.finditer(text):
        spans.add(*match.span())
    found: list[tuple[int, DateMention]] = []
    for pattern, kind in _DATE_RULES:
        for match in pattern.finditer(text):
            if spans.covers(*match.span()):
                continue
            mention = _date_from(kind, match, today, future)
            if mention is None:
                continue
            spans.add(*match.span())
            found.append((match.start(), mention))
    return [mention for _, mention in sorted(found, key=lambda pair: pair[0])]


def period_end(mention: DateMention) -> date:
    """The last day of the period a mention names ("this month": the 30th of November), or its day."""
    if mention.period_start is None:
        return mention.day
    label = mention.label.lower()
    if "quarter" in label:
        return quarter_end(mention.day.year, quarter_of(mention.day))
    if "year" in label:
        return date(mention.day.year, 12, 31)
    return month_end(mention.day) if mention.period_months == 1 else mention.day


def date_at(text: str, position: int, today: date, *, future: bool = False) -> tuple[DateMention, int] | None:
    """The reporting date that starts at `position` ("the end of Q3", "30 Sep 2013"), the longest reading, and where
    it ends; None when the text there is no date."""
    best: tuple[DateMention, int] | None = None
    for pattern, kind in _DATE_RULES:
        match = pattern.match(text, position)
        if match is None or (best is not None and match.end() <= best[1]):
            continue
        mention = _date_from(kind, match, today, future)
        if mention is not None and mention.problem is None:
            best = (mention, match.end())
    return best


def _date_from(kind: str, match: re.Match[str], today: date, future: bool) -> DateMention | None:
    g = match.groups()
    adjective = re.match(r"\s+[a-z]", match.string[match.end() :], re.I) is not None
    if kind == "end_month" and not future and adjective and re.fullmatch(r"month[- ]end", match.group(0), re.I):
        return None  # "month-end DSO trend": what kind of figure, not a date
    if kind == "eom" and not future:
        return None
    if kind == "iso":
        day = _safe_date(int(g[0]), int(g[2]), int(g[3]))
        return DateMention(day, label=str(day)) if day else None
    if kind == "dmy":
        first, second, year = int(g[0]), int(g[2]), int(g[3])
        # "12/15/2026" can only be month/day, "15/12/2026" only day/month; "07/12/2026" could be either
        month, day_number = _numeric_parts(first, second)
        day = _safe_date(year, month, day_number)
        if day is None:
            return None
        if _either_order(first, second):
            other = date(year, first, second)
            return _ambiguous(match.group(0), (day, other))
        return DateMention(day, label=str(day))
    if kind == "dm":
        first, second = int(g[0]), int(g[1])
        month, day_number = _numeric_parts(first, second)
        candidate = _safe_date(today.year, month, day_number)
        if candidate is None:
            return None
        day = _past_year(candidate, today, future)
        if _either_order(first, second):
            other = _past_year(date(today.year, first, second), today, future)
            return _ambiguous(match.group(0), (day, other))
        return DateMention(day, label=str(day))
    if kind == "from_today":
        count = int(g[0]) if g[0].isdigit() else SMALL_NUMBERS[g[0].lower()]
        if g[1].lower() == "month":
            return DateMention(add_months(today, count), label=match.group(0).strip())
        return DateMention(today + timedelta(days=count * (7 if g[1].lower() == "week" else 1)), label=match.group(0))
    if kind in ("ago", "same_time_last"):
        count = 1 if kind == "same_time_last" else int(g[0]) if g[0].isdigit() else SMALL_NUMBERS[g[0].lower()]
        unit = (g[-1] or "").lower()
        if unit in ("day", "week"):
            day = today - timedelta(days=count * (7 if unit == "week" else 1))
        else:
            day = add_months(today, -count * {"month": 1, "quarter": 3, "year": 12}[unit])
        return DateMention(day, label=match.group(0).strip())
    if kind == "day_of_month":
        return _day_of_month(int(g[0]), today, future)
    if kind == "weekday_date":
        number = int(next(n for n in g[1:4] if n))
        return _weekday_date(match.group(0).strip(), g[0], number, g[4], g[5], today, future)
    if kind == "holiday":
        christmas, christmas_eve, written_year, new_years_eve = g
        month, day_number = (12, 24 if christmas_eve else 25) if christmas else (12, 31) if new_years_eve else (1, 1)
        day = date(int(written_year) if written_year else today.year, month, day_number)
        if not written_year:
            day = _past_year(day, today, future)
        return DateMention(day, label=match.group(0).strip())
    if kind == "mid_month":
        month = MONTHS[g[0].lower()]
        year = int(g[1]) if g[1] else today.year
        day = date(year, month, 15)
        if not g[1]:
            day = _past_year(day, today, future)
        return DateMention(day, label=str(day))
    if kind == "next_month_start":
        return DateMention(add_months(month_start(today), 1), label="start of next month")
    if kind == "end_week":
        return DateMention(today + timedelta(days=(4 - today.weekday()) % 7), label="end of the week")
    if kind == "end_next_week":
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        return DateMention(friday + timedelta(days=7), label="end of next week")
    if kind in ("d_month", "month_d"):
        day_text, month_text, year_text = (g[0], g[1], g[2]) if kind == "d_month" else (g[1], g[0], g[2])
        month = MONTHS[month_text.lower().rstrip(".")]
        year = int(year_text) if year_text else today.year
        day = _safe_date(year, month, int(day_text))
        if day is None:
            return None
        if not year_text:
            day = _past_year(day, today, future)
        return DateMention(day, label=str(day))
    if kind == "quarter":
        return _quarter(int(g[0]), int(g[1]) if g[1] else None, today, future)
    if kind == "quarter_of_year":
        return _quarter(int(g[0]), today.year - (g[1].lower() != "this"), today, future)
    if kind == "half":
        half = int(g[0]) if g[0] else ORDINALS[g[1].lower()]
        named_year = int(g[2]) if g[2] else today.year - 1 if g[3] else None
        return _half(half, named_year, today, future)
    if kind == "quarter_word":
        return _quarter(ORDINALS[g[0].lower()], int(g[1]) if g[1] else None, today, future)
    if kind == "this_quarter":
        q = quarter_of(today)
        return DateMention(today, quarter_start(today.year, q), None, "this quarter")
    if kind == "last_quarter":
        previous = add_months(quarter_start(today.year, quarter_of(today)), -3)
        q = quarter_of(previous)
        return DateMention(quarter_end(previous.year, q), quarter_start(previous.year, q), 3, f"Q{q} {previous.year}")
    if kind == "last_month":
        end = month_end(add_months(month_start(today), -1))
        return DateMention(end, month_start(end), 1, "last month")
    if kind == "this_month":
        return DateMention(today, month_start(today), 1, "this month")
    if kind == "end_next_month":
        return DateMention(month_end(add_months(month_start(today), 1)), label="end of next month")
    if kind in ("end_month", "eom"):
        return DateMention(month_end(today), label="end of the month")
    if kind == "end_of_named_month":
        month = MONTHS[g[0].lower()]
        year = int(g[1]) if g[1] else today.year
        end = month_end(date(year, month, 1))
        if not g[1]:
            end = month_end(_past_year(date(year, month, 1), month_start(today), future))
            since = re.search(r"\bsince\s+$", match.string[max(0, match.start() - 10) : match.start()], re.I)
            if not future and end > today and since:  # "since the end of June" on 15 June: last year's June
                end = month_end(date(end.year - 1, month, 1))
        return DateMention(end, month_start(end), 1, f"end of {end:%B %Y}")
    if kind == "year_end":
        stated = next((int(group) for group in g if group), None)
        year = stated or (today.year if future else today.year - 1)
        return DateMention(date(year, 12, 31), label=f"end of {year}")
    if kind == "last_n_months":
        months = int(g[0]) if g[0].isdigit() else SMALL_NUMBERS[g[0].lower()]
        return DateMention(today, None, months, f"last {months} months")
    if kind == "this_year":
        return DateMention(today, date(today.year, 1, 1), None, "this year")
    if kind == "last_year":
        return DateMention(date(today.year - 1, 12, 31), date(today.year - 1, 1, 1), None, f"{today.year - 1}")
    if kind == "since_month":
        start = date(int(g[1]) if g[1] else today.year, MONTHS[g[0].lower()], 1)
        if not g[1] and start > today:
            start = date(today.year - 1, start.month, 1)
        return DateMention(today, start, None, f"since {start:%B %Y}") if start <= today else None
    if kind == "in_month":
        if future:
            return None  # "they'll pay in december": no one day
        start = _past_year(date(today.year, MONTHS[g[0].lower()], 1), today, future)
        return DateMention(min(month_end(start), today), start, 1, f"{start:%B %Y}")
    if kind == "half_year":
        first = (g[0] or "") == "1" or (g[1] or "").lower() in ("first", "1st")
        year = int(g[2])
        start, end = (date(year, 1, 1), date(year, 6, 30)) if first else (date(year, 7, 1), date(year, 12, 31))
        return DateMention(min(end, today), start, 6, f"{'H1' if first else 'H2'} {year}") if start <= today else None
    if kind == "in_n":
        n = int(g[0]) if g[0].isdigit() else SMALL_NUMBERS[g[0].lower()]
        unit = g[1].lower()
        if unit == "day":
            return DateMention(today + timedelta(days=n))
        if unit == "week":
            return DateMention(today + timedelta(days=7 * n))
        return DateMention(add_months(today, n))
    if kind == "fortnight":
        return DateMention(today + timedelta(days=14))
    if kind == "next_week":
        return DateMention(today + timedelta(days=7))
    if kind == "weekday":
        modifier = (g[0] or "").lower()
        closes = _ABBREVIATED_DAY_ALONE_RE.match(match.string, match.end()) or (
            match.end() == len(match.string.rstrip()) and _AFTER_AN_AMOUNT_RE.search(match.string[: match.start()])
        )
        if len(g[1]) <= 4 and not modifier and not closes:
            return None  # "sun", "sat", "wed" alone are too often parts of names (not "ptp 5k wed, per Jean")
        day = _weekday(g[1].lower(), modifier, today)
        if not future and modifier in ("", "on", "by") and day > today:
            day -= timedelta(days=7)  # "overdue as of friday" on a Monday: the Friday just gone
        if not future and day > today and match.string[match.end() : match.end() + 2] == "'s":
            return None  # "the slides for Thursday's review": an event that day, not a date the figures are wanted at
        return DateMention(day)
    if kind == "today":
        return DateMention(today, label="today")
    if kind == "yesterday":
        return DateMention(today - timedelta(days=1), label="yesterday")
    if kind == "tomorrow":
        return DateMention(today + timedelta(days=1), label="tomorrow")
    return None
