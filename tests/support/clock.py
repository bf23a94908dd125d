"""The test session's clock. Every test runs with the process clock moved (time-machine) to one fixed business
day, so the data seeded "as of today" and every answer computed "today" are the same whatever the real date.

The day defaults to DEFAULT_BUSINESS_DATE; `pytest --business-date YYYY-MM-DD` (or CREDITDESK_TEST_DATE) runs the
suite on another day, which is how CI proves the date-sensitive suites hold at a month end, on 29 February and on
31 December. The clock ticks from noon UTC, so a run never crosses midnight in any business time zone from UTC-12
to UTC+11.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, date, datetime
from typing import SupportsIndex

import time_machine

DEFAULT_BUSINESS_DATE = date(2026, 11, 16)
CLOCK_HOUR_UTC = 12

_today: date = DEFAULT_BUSINESS_DATE
_traveller: time_machine.travel | None = None


def _condition_sleep(seconds: float | SupportsIndex) -> None:
    threading.Event().wait(max(0.0, float(seconds)))


def start(day: date) -> None:
    """Move the process clock to noon UTC of `day` for the rest of the session (called once, at configure)."""
    global _today, _traveller
    if "faketime" in os.environ.get("LD_PRELOAD", ""):
        # Under libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC, time.sleep's absolute clock_nanosleep on the
        # monotonic clock fails with EINVAL; a condition wait on the same clock works. Only for `make test-faketime`.
        time.sleep = _condition_sleep
    stop()
    _today = day
    _traveller = time_machine.travel(datetime(day.year, day.month, day.day, CLOCK_HOUR_UTC, tzinfo=UTC), tick=True)
    _traveller.start()


def stop() -> None:
    global _traveller
    if _traveller is not None:
        _traveller.stop()
        _traveller = None


def today() -> date:
    """The session's business date: what the product's business date is during the tests."""
    return _today
