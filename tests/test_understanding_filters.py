"""Portfolio and approval questions whose conditions the offline desk must apply, never drop: a list asked for in
passing, a change between two periods, a days-past-due range said with "between", a currency said as an adjective,
the approval queue asked about in the user's own words, a customer's whole group; and the reason or what-if terms
said in the request's second half. On SQLite and PostgreSQL (the `shared_url` demo portfolio)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_CEILING

import pytest
from sqlalchemy import select

from assistant.planner.entities import Spans
from assistant.planner.limit_change import terms_days
from assistant.planner.reasons import stated_reason
from db.engine import read_session
from db.models import Invoice
from tests.support import clock
from tests.test_planner import ask, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import CUSTOMER_IDS


@pytest.mark.parametrize(
    ("who", "text", "condition"),
    [
        ("charlie", "wich of my customers are over there limit?", {"over_limit": True}),
        ("morgan", "Customers on Hold or Stop — can I get the list?", {"credit_statuses": ["Hold", "Stop"]}),
    ],
)
def test_a_list_asked_in_passing_lists_the_customers(
    shared_url: str,  # noqa: F811
    who: str,
    text: str,
    condition: dict[str, object],
) -> None:
    arguments = last_call(ask(shared_url, who, text), "get_portfolio_summary").arguments
    assert arguments["group_by"] == "customer"
    assert {key: arguments[key] for key in condition} == condition


def test_a_change_between_two_quarters_is_the_later_compared_with_the_earlier(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Our DSO went up between Q2 and Q3. How much was terms and how much collections?")
    arguments = last_call(reply, "get_portfolio_summary").arguments
    year = clock.today().year
    assert str(arguments["as_of"]) == date(year, 9, 30).isoformat()
    assert str(arguments["compare_to"]) == date(year, 6, 30).isoformat()
    assert "Compared" in reply.text


def test_days_past_due_between_two_numbers_is_that_range(shared_url: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", "what's overdue between 30 and 60 days?"), "get_portfolio_summary")
    assert (arguments.arguments["min_days_past_due"], arguments.arguments["max_days_past_due"]) == (30, 60)


def test_a_currency_said_as_an_adjective_filters_by_it(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "what proportion of our euro-denominated receivables is current?")
    assert last_call(reply, "get_portfolio_summary").arguments["currencies"] == ["EUR"]


def test_the_approval_queue_in_the_users_words_lists_their_proposals(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "is the promise I logged for Globex still sitting in the queue?")
    assert last_call(reply, "list_pending_approvals").arguments == {
        "proposed_by": "morgan",
        "kind": "log_promise_to_pay",
    }
    assert reply.text == "No proposal of yours is waiting for a decision."


def test_a_customers_whole_group_is_that_customers_roll_up(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Acme — the whole group, all three entities. Combined exposure?")
    assert last_call(reply, "get_customer_exposure").arguments.get("include_group", True)
    assert "get_portfolio_summary" not in [c.name for c in reply.tool_calls]
    assert "**Acme Corporation**" in reply.text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("right, put their open order on hold — E-rated and still paying late", "E-rated and still paying late"),
        ("Release SO-0000132. I'm comfortable with the exposure after today's call.",
         "I'm comfortable with the exposure after today's call"),
    ],
)  # fmt: skip
def test_the_reason_is_the_users_clause_not_the_request(text: str, reason: str) -> None:
    assert stated_reason(text) == reason


def test_what_if_terms_said_as_the_days_they_would_be_on() -> None:
    assert terms_days("and what if they were on 30 days instead of 45", Spans()) == [30]


def test_a_shorthand_figure_just_above_the_invoice_is_the_invoices_open_amount(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        rows = session.execute(
            select(Invoice.number, Invoice.open_amount)
            .where(Invoice.customer_id == int(CUSTOMER_IDS["Globex"]), Invoice.open_amount > 1000)
            .order_by(Invoice.id)
        ).all()
    number, open_amount = next((n, a) for n, a in rows if a % 100 >= 50)  # "55,499.62": said as "55.5k"
    rounded_up = (open_amount / 100).to_integral_value(rounding=ROUND_CEILING) * 100
    typed = f"{rounded_up / 1000:.1f}k"
    reply = ask(shared_url, "morgan", f"Globex will settle {number} a week today, {typed} - please log the promise")
    arguments = last_call(reply, "log_promise_to_pay").arguments
    assert arguments["amount"] == f"{open_amount:.2f}"
    assert arguments["promised_date"] == (clock.today() + timedelta(days=7)).isoformat()
    assert reply.text.startswith(f"“{typed}” read as the open amount of {number}")
    below = ask(shared_url, "morgan", f"Globex will pay {open_amount - 200:.2f} on {number} by friday")  # a part
    assert last_call(below, "log_promise_to_pay").arguments["amount"] == f"{open_amount - 200:.2f}"
