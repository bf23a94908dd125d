"""Ranges of months or years in a request ("from jan to jun", "across 2025 and 2026"), a trend asked for in other
words ("is globex getting slower at paying?") and an imported ledger's own invoice numbers in a dispute question,
read by the offline desk. On SQLite and PostgreSQL (the `shared_url` demo portfolio and the IBM sample)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.planner.entities import Spans
from assistant.planner.periods import period_mentions
from tests.support import clock
from tests.test_planner import ask, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import CUSTOMER_IDS, _ibm_rows, ibm_url  # noqa: F401 - the fixture is used by name


@pytest.mark.parametrize(
    ("text", "start", "end", "months"),
    [
        ("trend from jan to jun 2013", date(2013, 1, 1), date(2013, 6, 30), 6),
        ("between March 2012 and May 2013", date(2012, 3, 1), date(2013, 5, 31), 15),
        ("jan-jun 2013", date(2013, 1, 1), date(2013, 6, 30), 6),
        ("nov to feb 2013", date(2012, 11, 1), date(2013, 2, 28), 4),
        ("across 2012 and 2013", date(2012, 1, 1), date(2013, 12, 31), 24),
        ("2012-2013 trend", date(2012, 1, 1), date(2013, 12, 31), 24),
    ],
)
def test_a_range_of_months_or_years_is_one_period(text: str, start: date, end: date, months: int) -> None:
    [(_, mention)] = period_mentions(text, date(2026, 11, 16), Spans())
    assert (mention.period_start, mention.day, mention.period_months) == (start, end, months)


def test_a_range_still_running_ends_today() -> None:
    [(_, mention)] = period_mentions("sep to nov 2026", date(2026, 11, 16), Spans())
    assert (mention.period_start, mention.day) == (date(2026, 9, 1), date(2026, 11, 16))


def test_two_years_side_by_side_without_a_range_word_are_no_range() -> None:
    assert period_mentions("orders of 2012 and 2013 units", date(2026, 11, 16), Spans()) == []


def test_a_payment_window_from_one_month_to_another(shared_url: str) -> None:  # noqa: F811
    year = clock.today().year
    reply = ask(shared_url, "avery", f"is globex paying later over time? trend from march to september {year}")
    assert last_call(reply, "get_payment_behaviour").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "as_of": f"{year}-09-30",
        "period_start": f"{year}-03-01",
    }
    assert "Trend" in reply.text


def test_a_trend_asked_in_other_words_is_answered_or_said_to_be_too_thin(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "is globex getting slower at paying?")
    assert last_call(reply, "get_payment_behaviour").arguments == {"customer": CUSTOMER_IDS["Globex"]}
    assert "Trend (weighted days late" in reply.text or "Trend: too few paid invoices" in reply.text
    plain = ask(shared_url, "avery", "globex average days to pay")
    assert "Trend: too few" not in plain.text


def test_disputes_on_an_imported_ledgers_own_invoice_number(ibm_url: str) -> None:  # noqa: F811
    row = next(row for row in _ibm_rows() if row["Disputed"] == "Yes")
    text = f"disputes on invoice {row['invoiceNumber']} for {row['customerID']} as at 30/12/2013?"
    call = last_call(ask(ibm_url, "morgan", text), "summarize_dispute")
    assert call.arguments["invoice_number"] == row["invoiceNumber"] and call.arguments["as_of"] == "2013-12-30"
