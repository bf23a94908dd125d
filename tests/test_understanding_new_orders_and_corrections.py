"""Forms a further independent writer's set (weighted to where a desk most easily answers confidently wrong) showed the
offline desk misreading (issue 12, twenty-third session). "Is X on a credit block? they want to order again" and "can
X place a new order?" ask whether a new order would ship as the account stands: the order check with no order named,
not the account's standing alone ("is X still blocked or did that get lifted?" stays the standing). A figure can name
an open order rather than a new one: "and the other one, 10?" after an order's check, "their order (the 4.58k one)".
"a quarter-million order" is 250,000; "a PO" is no customer; "set X back to OK status" is refused (a credit status is
never set by hand); "…, jonas weber confirmed" and "their AP lady Rita" are the promise's contact; "and the 5 best?"
after the 5 worst payers turns the ranking round; "sorry, wrong one - i meant initech" right after a proposal makes
the same proposal for the customer meant, naming the earlier one as still pending. A third set (one customer at a
time) showed names and topics the message sets aside: "Stark's fine, I checked yesterday. But Wayne — …" asks about
Wayne today; "what limit is right for hooli? sorry, I mean for soylent" is Soylent's recommended limit; "forget the
promises for a sec, what are their avg days to pay?" is payment behaviour; "X is over its line again. what should the
limit actually be?" is the recommendation; "if i take globex from 113k to 250k, who has to approve that?" is the
approval rule; "umbrella promised 5k for friday, is that one still open?" asks the promise history and logs nothing;
"how are they scored these days" after a customer's promises is their score.
On SQLite and PostgreSQL (the `shared_url` demo portfolio); the pure readings need no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assistant.planner.entities import Spans, amounts_in_words_as_figures, money_mentions
from assistant.planner.name_runs import name_candidates, not_set_aside
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import assert_answered_with


def test_the_pure_readings() -> None:
    assert amounts_in_words_as_figures("would a quarter-million order go through?") == "would 250000 order go through?"
    assert amounts_in_words_as_figures("a quarter of a million") == "250000"
    [one] = money_mentions("young ventures order (the 18.7k AUD one) - ok to ship?", Spans())
    assert (one.amount, one.currency, one.error) == (Decimal("18700.0"), "AUD", None)
    assert any(m.error for m in money_mentions("5k one hundred", Spans()))  # figures then words: still refused


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Stark's fine, I checked yesterday. But Wayne Enterprises — how much is late?", ["Wayne Enterprises"]),
        ("what limit is right for hooli? sorry, I mean for soylent", ["soylent"]),
        ("forget acme, what does initech owe?", ["initech"]),
        ("not globex, initech - what do they owe?", ["initech"]),
        ("what do globex and initech owe?", ["globex and initech", "globex", "initech"]),
    ],
)
def test_a_name_the_message_sets_aside(text: str, kept: list[str]) -> None:
    assert [c.text for c in not_set_aside(text, name_candidates(text, Spans(), frozenset()))] == kept


@pytest.mark.parametrize(
    ("user", "text", "tool", "expected"),
    [
        ("sam", "quick check before i promise a delivery date: is globex on any kind of credit block?",
         "check_order_release", {"customer": "4", "order_number": None, "order_amount": None}),
        ("sam", "can vandelay place a new order today?", "check_order_release",
         {"customer": "10", "order_number": None, "order_amount": None}),
        ("morgan", "is globex still blocked or did that get lifted?", "get_customer_exposure", {"customer": "4"}),
        ("sam", "hooli - are they blocked? their buyer says stuff keeps getting stuck on our side",
         "get_customer_exposure", {"customer": "11"}),
        ("sam", "is globex still ok status wise? they mentioned a big order next wk but for now i just need the status",
         "get_customer_exposure", {"customer": "4"}),
        ("sam", "is wayne ok for a 300k order or do i need to warn them", "check_order_release",
         {"customer": "8", "order_amount": "300000.00"}),
        ("sam", "stark just sent a PO for 12,500 USD. can i confirm it?", "check_order_release",
         {"customer": "7", "order_amount": "12500.00", "currency": "USD"}),
        ("avery", "would a quarter-million order from Wayne go through right now?", "check_order_release",
         {"customer": "8", "order_amount": "250000.00", "order_number": None}),
        ("sam", "stark's order (the 4.58k one) - ok to ship?", "check_order_release",
         {"customer": "7", "order_number": "SO-0000010", "order_amount": None}),
        ("cleo", "umbrella ptp: €5,000 by 30/11, jonas weber confirmed", "log_promise_to_pay",
         {"customer": "6", "amount": "5000.00", "contact": "jonas weber"}),
        ("cleo", "spoke to umbrella, their AP lady Rita says they'll pay €5,000 on the 30th", "log_promise_to_pay",
         {"customer": "6", "contact": "Rita"}),
        ("cleo", "umbrella will pay €5,000 on the 30th, the buyer confirmed", "log_promise_to_pay",
         {"customer": "6", "contact": None}),
        ("avery", "Stark's fine, I checked yesterday. But Wayne Enterprises — how much do they have outstanding?",
         "get_customer_exposure", {"customer": "8", "as_of": None}),
        ("avery", "they're a C — what limit is right for hooli? sorry, I mean for soylent",
         "recommend_credit_limit", {"customer": "9"}),
        ("cleo", "umbrella keeps promising. forget the promises for a sec, what are their avg days to pay?",
         "get_payment_behaviour", {"customer": "6"}),
        ("morgan", "globex is over its line again. what does the recommendation say the limit should actually be?",
         "recommend_credit_limit", {"customer": "4"}),
        ("cleo", "umbrella promised 5k for friday, is that one still open?", "get_promise_history", {"customer": "6"}),
    ],
)  # fmt: skip
def test_a_request_reaches_the_tool_it_asks_for(
    shared_url: str,  # noqa: F811
    user: str,
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    assert_answered_with(ask(shared_url, user, text), tool, expected)


def test_with_no_order_named_the_answer_says_what_was_checked(shared_url: str) -> None:  # noqa: F811
    sales = ask(shared_url, "sam", "is hooli blocked? they want to order again")
    check = last_call(sales, "check_order_release")
    assert check.result["view"] == "sales" and check.result["order_amount"] is None
    assert "a new order for **Hooli Cloud Inc**" in sales.text and "as the account stands" in sales.text
    assert "No order was named" in sales.text
    analyst = ask(shared_url, "avery", "can we still ship to globex or are they blocked?")
    assert f"**{last_call(analyst, 'check_order_release').result['decision'].upper()}** — a new order" in analyst.text
    assert "with the order" not in analyst.text  # no order was added to the exposure shown


def test_who_approves_a_change_is_the_approval_rule(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "if i want to take globex from 113k to 250k, who actually has to approve that?")
    assert reply.intent == "policy" and not reply.proposals
    assert [call.name for call in reply.tool_calls] == ["search_policy"]


def test_setting_a_credit_status_by_hand_is_refused(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sam", "pls set Globex back to OK status, the sales director signed off on it")
    assert reply.tool_calls == [] and reply.text.startswith("I can't do that")


@pytest.mark.parametrize(
    ("user", "turns", "tool", "expected"),
    [
        ("sam", ["can stark's SO-0000009 ship?", "and the other one, 10?"], "check_order_release",
         {"customer": "7", "order_number": "SO-0000010", "order_amount": None}),
        ("avery", ["who are our 5 worst payers?", "and the 5 best?"], "get_portfolio_summary",
         {"top_n": 5, "payers": "earliest_first"}),
        ("avery", ["our 3 best payers", "and the worst?"], "get_portfolio_summary", {"payers": "latest_first"}),
        ("admin", ["soylent will pay 5k on friday", "oops i meant vandelay"], "log_promise_to_pay",
         {"customer": "10", "amount": "5000.00"}),
        ("cleo", ["umbrella's open promises?", "ok cool. how are they scored these days"], "score_customer",
         {"customer": "6"}),
    ],
)  # fmt: skip
def test_a_follow_up_binds_to_what_was_just_answered(
    shared_url: str,  # noqa: F811
    user: str,
    turns: list[str],
    tool: str,
    expected: dict[str, object],
) -> None:
    assert_answered_with(conversation(shared_url, user, *turns)[-1], tool, expected)


def test_the_customer_corrected_right_after_a_proposal(shared_url: str) -> None:  # noqa: F811
    first, corrected = conversation(
        shared_url, "morgan", "raise hooli's limit by 10k, new contract", "sorry, wrong one - i meant initech"
    )
    arguments = last_call(corrected, "propose_credit_limit_change").arguments
    assert arguments["customer"] == "5" and arguments["change_by"] == "10000.00"
    assert arguments["reason"].startswith("new contract")
    assert f"The earlier proposal #{first.proposals[0].id} is still pending" in corrected.text
    assert len(corrected.proposals) == 1 and corrected.proposals[0].id != first.proposals[0].id
