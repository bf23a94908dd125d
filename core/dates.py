"""Dates and times: aware datetimes in UTC, business dates in the configured zone, integer day numbers."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def utcnow() -> datetime:
    return datetime.now(UTC)


def business_today(tz: str = "UTC") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def ensure_aware(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (that is how the database stores them); aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def day_number(value: date) -> int:
    """Days since 1970-01-01. Ageing arithmetic on integers keeps per-row date functions out of hot queries."""
    if isinstance(value, datetime):
        value = value.date()
    return value.toordinal() - EPOCH_ORDINAL


def from_day_number(number: int) -> date:
    return date.fromordinal(number + EPOCH_ORDINAL)


def month_end(value: date) -> date:
    return value.replace(day=calendar.monthrange(value.year, value.month)[1])


def month_start(value: date) -> date:
    return value.replace(day=1)


def add_months(value: date, months: int) -> date:
    month_index = value.year * 12 + value.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(value.day, calendar.monthrange(year, month)[1]))


def quarter_of(value: date) -> int:
    return (value.month - 1) // 3 + 1


def quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * (quarter - 1) + 1, 1)


def quarter_end(year: int, quarter: int) -> date:
    return month_end(date(year, 3 * quarter, 1))


def days_between(start: date, end: date) -> int:
    return (end - start).days


def start_of_day_utc(value: date) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def end_of_day_utc(value: date) -> datetime:
    return start_of_day_utc(value) + timedelta(days=1) - timedelta(microseconds=1)
