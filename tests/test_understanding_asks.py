"""Requests the offline desk reads by what they ask rather than by their nearest example: an order's amount beside
"are they blocked?", a limit asked about a score just shown, a search of customer names, a count of the book's
broken promises, "so far this month" and "better or worse than at the end of Q3". On SQLite and PostgreSQL (the
`shared_url` demo portfolio)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from tests.support import clock
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import CUSTOMER_IDS


def test_an_amount_wanted_beside_are_they_blocked_is_the_order_check(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sam", "globex wants another 15k of product, are they blocked?")
    assert last_call(reply, "check_order_release").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "order_amount": "15000.00",
    }
    status = ask(shared_url, "sam", "is globex blocked?")
    assert [c.name for c in status.tool_calls if c.name != "resolve_customer"] == ["get_customer_exposure"]


def test_a_limit_asked_about_the_score_just_shown_is_the_recommendation(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "avery", "score for globex?", "ok so what limit does that support?")
    assert last_call(replies[1], "recommend_credit_limit").arguments["customer"] == CUSTOMER_IDS["Globex"]
    again = conversation(shared_url, "avery", "score for globex?", "and what about umbrella?")
    assert last_call(again[1], "score_customer").arguments["customer"] == CUSTOMER_IDS["Umbrella"]


@pytest.mark.parametrize(
    "text",
    ["find me every customer with 'acme' in the name", "customers whose name contains acme", "names like “acme”"],
)
def test_a_search_of_names_lists_the_matches_without_asking(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert [c.name for c in reply.tool_calls] == ["resolve_customer"]
    assert reply.tool_calls[0].arguments == {"query": "acme", "limit": 20}
    assert "Acme Corporation" in reply.text and "?" not in reply.text
    nothing = ask(shared_url, "morgan", "any customers with zzqx in the name?")
    assert "No customer name matches “zzqx”" in nothing.text


def test_a_count_of_broken_promises_with_no_customer_is_the_books(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "how many promises were broken YTD")
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert arguments["activity_period_start"] == date(clock.today().year, 1, 1).isoformat()
    assert "Promises broken" in reply.text


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("promise kept rate so far this month", lambda today: today.replace(day=1)),
        ("DSO this quarter so far", lambda today: date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)),
    ],
)
def test_so_far_is_to_date_and_no_customer(
    shared_url: str,  # noqa: F811
    text: str,
    start: Callable[[date], date],
) -> None:
    reply = ask(shared_url, "morgan", text)
    assert [c.name for c in reply.tool_calls] == ["get_portfolio_summary"]
    assert reply.tool_calls[0].arguments["period_start"] == start(clock.today()).isoformat()


def test_better_or_worse_than_at_a_date_compares_with_it(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "charlie", "is my overdue better or worse than at the end of Q3?")
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert arguments["compare_to"] == date(clock.today().year, 9, 30).isoformat() and "as_of" not in arguments
    assert "Compared" in reply.text


@pytest.mark.parametrize(
    "text", ["put globex on stop, effective immediately", "change umbrella's credit status to hold"]
)
def test_setting_a_customers_credit_status_by_hand_is_out_of_scope(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert reply.tool_calls == [] and reply.proposals == []
    assert "credit status follows the credit policy's rules" in reply.text and "open orders on hold" in reply.text
    order = ask(shared_url, "morgan", "put globex's order on stop")
    assert last_call(order, "propose_order_hold").arguments["order_number"].startswith("SO-")


@pytest.mark.parametrize(
    ("who", "text", "offered"),
    [
        ("avery", "the germans, what's the total?", "open receivables"),
        ("morgan", "give me APAC as at end of Q3", "total exposure"),
        ("casey", "how many days are we at on my book?", "ADD (average days delinquent)"),
    ],
)
def test_a_figure_asked_for_without_saying_which_is_asked_back(
    shared_url: str,  # noqa: F811
    who: str,
    text: str,
    offered: str,
) -> None:
    reply = ask(shared_url, who, text)
    assert reply.tool_calls == [] and reply.text.startswith("Which figure do you mean?")
    assert offered in [choice.label for choice in reply.choices]


@pytest.mark.parametrize(
    "text",
    [
        "what's the total overdue in EMEA?",
        "give me the overview for EMEA",
        "what is the total of open invoices",
        "the book's 90+ total?",
        "total o/s as at end of last month?",
    ],
)
def test_a_figure_named_or_the_overview_is_answered(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert [c.name for c in reply.tool_calls] == ["get_portfolio_summary"]


@pytest.mark.parametrize("text", ["globex credit line", "limit for globex?", "Globex limit"])
def test_a_customer_and_the_word_limit_alone_asks_which_limit(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert [c.name for c in reply.tool_calls if c.name != "resolve_customer"] == []
    assert {choice.capability for choice in reply.choices} == {"get_customer_exposure", "recommend_credit_limit"}
    for asked in ("what's globex's credit limit?", "Globex exposure vs limit"):
        current = ask(shared_url, "avery", asked)
        assert last_call(current, "get_customer_exposure").arguments["customer"] == CUSTOMER_IDS["Globex"]


def test_a_message_opening_with_a_disputes_number_recodes_that_dispute(shared_url: str) -> None:  # noqa: F811
    from tests.test_understanding_requests import _an_open_dispute

    dispute = _an_open_dispute(shared_url)
    reply = ask(shared_url, "morgan", f"{dispute} is really a pricing dispute, not quantity - recode it")
    assert last_call(reply, "propose_dispute_update").arguments == {"dispute_id": dispute, "reason_code": "pricing"}


def test_get_it_released_after_asking_about_a_customers_order_is_that_order(shared_url: str) -> None:  # noqa: F811
    replies = conversation(
        shared_url, "morgan", "why is globex's order stuck?", "they've wired the overdue, can you get it released"
    )
    arguments = last_call(replies[1], "propose_order_release").arguments
    assert arguments["order_number"].startswith("SO-") and not replies[1].choices


def test_ageing_split_by_a_dimension_shows_each_groups_buckets(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "aging by region")
    call = last_call(reply, "get_portfolio_summary")
    buckets = [row["bucket"] for row in call.result["totals"]["ageing"]]
    assert f"| region | {' | '.join(buckets)} | Open receivables |" in reply.text
    plain = ask(shared_url, "morgan", "split the book by region")
    assert "| region | Open receivables | Overdue |" in plain.text


def test_a_collector_asking_about_an_account_outside_their_book_is_told_where_they_looked(
    shared_url: str,  # noqa: F811
) -> None:
    from sqlalchemy import select

    from db.engine import read_session
    from db.models import Customer, StaffUser

    with read_session(shared_url) as session:
        cleo = session.scalars(select(StaffUser.id).where(StaffUser.name == "cleo")).one()
        elsewhere = session.scalars(
            select(Customer.name).where(Customer.collector_id.is_not(None), Customer.collector_id != cleo).limit(1)
        ).one()
    reply = ask(shared_url, "cleo", f"what does {elsewhere} owe?")
    assert "in your book (you see only the customers assigned to you)" in reply.text
    assert not [c for c in reply.tool_calls if c.name != "resolve_customer"]
    manager = ask(shared_url, "morgan", "what does Zzyzx Nonesuch Ltd owe?")
    assert "in your book" not in manager.text


def test_a_name_one_slip_away_from_one_customer_is_that_customer(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "what's glboex's score and risk class?")
    assert last_call(reply, "score_customer").arguments["customer"] == CUSTOMER_IDS["Globex"]
    two_slips = ask(shared_url, "avery", "how much does ubmrela owe")  # too far to read as Umbrella unasked
    assert not [c for c in two_slips.tool_calls if c.name != "resolve_customer"]
    assert "did you mean Umbrella Health GmbH" in two_slips.text


def test_an_amount_beside_a_name_offers_what_the_user_may_do(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "globex 40k")
    assert {c.capability for c in reply.choices} >= {
        "check_order_release",
        "log_promise_to_pay",
        "propose_credit_limit_change",
    }
    sales = ask(shared_url, "sam", "globex - 12k")  # sales may only check an order: that is the reading
    assert last_call(sales, "check_order_release").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "order_amount": "12000.00",
    }


def test_an_amount_and_a_day_ahead_beside_a_name_is_a_promise(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Globex: fifteen thousand on Wednesday")
    arguments = last_call(reply, "log_promise_to_pay").arguments
    wednesday = clock.today() + timedelta(days=(2 - clock.today().weekday()) % 7 or 7)
    assert arguments["amount"] == "15000.00" and arguments["promised_date"] == wednesday.isoformat()


@pytest.mark.parametrize("text", ["what was my rate in Q3", "percentage for EMEA?"])
def test_a_ratio_asked_without_saying_which_is_asked_back(shared_url: str, text: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "charlie", text, "3")
    assert not replies[0].tool_calls
    assert [c.label for c in replies[0].choices][:3] == [
        "% current (not yet due)",
        "% over ninety days past due",
        "CEI (collection effectiveness)",
    ]
    assert "CEI" in replies[1].text and last_call(replies[1], "get_portfolio_summary")


def test_inventory_is_out_of_scope_whoever_is_named(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sam", "do we have enough stock to fill Globex's next order?")
    assert not reply.tool_calls and "can't" in reply.text


def test_a_customers_matter_is_not_answered_with_a_policy_passage(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "initech mentioned a payment promise on the call, can you deal with it")
    assert not [c for c in reply.tool_calls if c.name != "resolve_customer"]
    assert {"get_promise_history", "log_promise_to_pay"} <= {c.capability for c in reply.choices}
    allowed = ask(shared_url, "avery", "Globex is disputing the late fee, is that allowed?")  # asks the policy itself
    assert [c.name for c in allowed.tool_calls] == ["search_policy"]


def test_the_limit_the_policy_suggests_is_the_recommendation(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "avery", "score Globex", "and what limit does the policy suggest?")
    assert last_call(replies[1], "recommend_credit_limit").arguments["customer"] == CUSTOMER_IDS["Globex"]


def test_a_limit_taken_to_zero_is_the_change_the_tool_refuses_and_a_what_would_it_take_is_no_change(
    shared_url: str,  # noqa: F811
) -> None:
    zero = ask(shared_url, "avery", "take Globex's limit to zero. they're on stop and not paying")
    assert last_call(zero, "propose_credit_limit_change").arguments["new_limit"] == "0.00"
    assert "must be positive" in zero.text and not zero.proposals
    question = ask(shared_url, "avery", "what would it take to get globex's limit to 200k?")
    assert last_call(question, "recommend_credit_limit") and not question.proposals
    assert "propose_credit_limit_change" not in [c.name for c in question.tool_calls]


@pytest.mark.parametrize(
    "text",
    [
        "how long can a promise from globex be?",
        "can a collector log a 50k promise for initech without approval?",
        "how many reminders can we send umbrella before legal?",
        "what's the max limit an analyst can approve for hooli?",
    ],
)
def test_what_the_rules_allow_is_a_policy_question_whoever_is_named(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert [c.name for c in reply.tool_calls] == ["search_policy"]
