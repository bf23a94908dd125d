"""Requests a nineteenth independent writer's set showed the offline desk misreading (issue 12, eighteenth session):
a figure named alone after a customer's answer ("total exposure?") is that customer's; a worklist continued by
"same for APAC" or "and now just the ones above 15k", pending approvals by "and from ash?"; "whats our days number"
asks which count of days; "the city account" names a customer, never the book; "when did they say they'd pay" is the
promise made; an exchange-rate forecast is out of scope; "did Acme pay INV-… on time?" is that invoice; "their whole
group" is the customer's group; "now do the ventures one" never answers the customer before again; "which accounts
should the collectors hit first" is the worklist; "what's the damage", "in the red" ask for the standing; "class C
only" narrows a worklist; "summarise it" repeats the customer answer; "whose limit reviews fall due before EOM" lists
the customers; "days beyond terms" is how late they pay; "inv 2026 0000060", "terms went to 90", "owed the most" and
"ptp 100k CAD wed, per Jean" are read. On SQLite and PostgreSQL (the `shared_url` demo portfolio); the pure parts
without a database."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.planner.dates import date_mentions
from assistant.planner.entities import Spans, bare_invoice_numbers
from assistant.planner.limit_change import terms_days
from assistant.planner.portfolio_query import rank_measure
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import _answering

MONDAY = date(2026, 11, 16)


def test_the_pure_readings() -> None:
    assert [m.day for m in date_mentions("dubois: ptp 100k CAD wed, per Jean", MONDAY, Spans(), future=True)] == [
        date(2026, 11, 18)
    ]
    assert date_mentions("exposure for sun?", MONDAY, Spans(), future=True) == []
    assert bare_invoice_numbers("inv 2026 0000060 paid yet?", Spans()) == ["INV-2026-0000060"]
    assert terms_days("and if terms went to 90?", Spans()) == [90]
    assert rank_measure("which 5 customers owed the most on 30 sep") == "open_receivables"


@pytest.mark.parametrize(
    ("user", "turns", "tool", "expected"),
    [
        ("morgan", ["promise history for Soylent", "total exposure?"], "get_customer_exposure", {"customer": "9"}),
        ("morgan", ["EMEA worklist over 20k pls", "same for APAC"], "build_worklist", {"region": "APAC"}),
        ("morgan", ["anything from avery waiting on me?", "and from ash?"], "list_pending_approvals",
         {"proposed_by": "ash"}),
        ("morgan", ["how much does Soylent owe", "when did they say they'd pay"], "get_promise_history",
         {"customer": "9"}),
        ("morgan", ["north america worklist", "class C only"], "build_worklist",
         {"region": "North America", "risk_classes": ["C"]}),
        ("morgan", ["Initech has a dispute open right?", "summarise it for me"], "summarize_dispute",
         {"customer": "5"}),
        ("avery", ["score for Acme Europe", "what's our exposure across their whole group"], "get_customer_exposure",
         {"customer": "1"}),  # the group, named by its parent
        ("avery", ["score for Wayne Enterprises", "and exposure at the end of june?"], "get_customer_exposure",
         {"customer": "8", "as_of": "2026-06-30"}),
    ],
)  # fmt: skip
def test_a_follow_up_continues_the_thread(
    shared_url: str,  # noqa: F811
    user: str,
    turns: list[str],
    tool: str,
    expected: dict[str, object],
) -> None:
    arguments = last_call(conversation(shared_url, user, *turns)[-1], tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected


def test_a_narrowed_worklist_keeps_narrowing(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "casey", "my worklist for today", "only EMEA", "and now just the ones above 15k")
    arguments = last_call(history[-1], "build_worklist").arguments
    assert arguments["region"] == "EMEA" and arguments["min_amount"] in ("15000", "15000.00")


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("did Acme pay INV-2026-0000060 on time?", "get_invoice"),
        ("which accounts should the collectors hit first in north america, min 25 grand", "build_worklist"),
        ("Hooli - whats the damage", "get_customer_exposure"),
        ("how deep in the red is Globex atm", "get_customer_exposure"),
        ("Days beyond terms for Hooli?", "get_payment_behaviour"),
        ("inv 2026 0000060 paid yet?", "get_invoice"),
    ],
)
def test_a_request_reaches_its_tool(shared_url: str, text: str, tool: str) -> None:  # noqa: F811
    assert _answering(ask(shared_url, "morgan", text)) == tool


def test_which_count_of_days_is_asked(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "whats our days number in emea")
    assert not reply.tool_calls and "DSO" in reply.text and "ADD" in reply.text


def test_the_city_account_is_a_customer_never_the_book(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "the city account — exposure?")
    assert "get_portfolio_summary" not in [call.name for call in reply.tool_calls]


def test_an_exchange_rate_forecast_is_out_of_scope(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "where do you think EUR/USD will be by end of Q1?")
    assert not reply.tool_calls and "can't" in reply.text


def test_another_customer_named_by_a_word_is_never_the_one_before(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "score for Wayne Enterprises", "now do the ventures one")
    assert not [c for c in history[-1].tool_calls if c.name == "score_customer" and c.arguments["customer"] == "8"]


def test_whose_limit_reviews_fall_due_lists_them(shared_url: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", "whose limit reviews fall due before EOM?"),
                          "get_portfolio_summary").arguments  # fmt: skip
    assert arguments["group_by"] == "customer" and str(arguments["review_due_by"]) == "2026-11-30"


@pytest.mark.parametrize(
    ("turns", "offered"),
    [
        (["score the ventures customer"], 4),
        (["score for Wayne Enterprises", "now do the ventures one"], 4),
    ],
)
def test_customers_named_by_an_ordinary_word_are_offered(
    shared_url: str,  # noqa: F811
    turns: list[str],
    offered: int,
) -> None:
    reply = conversation(shared_url, "avery", *turns)[-1]
    assert "matches several customers" in reply.text and reply.text.count(" Ventures ") == offered
    assert not [c for c in reply.tool_calls if c.name == "score_customer"]


def test_the_one_customer_holding_an_ordinary_word_is_answered(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "the city account — exposure?")
    assert last_call(reply, "get_customer_exposure").arguments["customer"] == "23"


def test_a_figure_proposed_for_a_customer_is_its_limit(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "propose $60k for Hooli Cloud, reason: seasonal holiday stock")
    call = last_call(reply, "propose_credit_limit_change")
    assert call.arguments["new_limit"] in ("60000", "60000.00") and "seasonal holiday stock" in call.arguments["reason"]


def test_a_customer_going_into_someones_book_is_an_assignment(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "can Stark Components go into cameron's book?")
    assert last_call(reply, "propose_collector_assignment").arguments["collector"] == "cameron"
