"""Forms a further independent writer's set (weighted to where a desk most easily answers confidently wrong: exposure
against order checks and limit questions, limit proposals, payment behaviour against promises, sales asking about
orders, collectors' worklists) showed the offline desk misreading (issue 12, twenty-second session): "~25k" is an
amount; "why is the deepcore order on hold?" checks that order rather than describing the account; "how much more can
they take?" is the room on the account, not an order check; "is it safe to go to 150k on Globex's limit?" asks for
the recommendation and proposes nothing; "who do I talk to about a limit increase?" is a policy question; a reason
named as one ("reason: strategic account") wins wherever it stands, and one word of what is happening ("…,
deteriorating, review end of Jan") or "til they clear the invoice" is a reason; "a big Q1 order" is no as-of date.
Right after a proposal the user amends it: "and set the review for end of march", "reason: customer paid on friday",
"wait, don't go that low - 30k", "make it 1.6m actually, same reason" (the earlier reason stands), "actually she said
the 28th not the 30th" (a promise, its amount and contact kept); "if we gave them 60 days instead of 30" after a
recommendation is a terms what-if; "why's X ranked above Y?" after a worklist explains those rows.
On SQLite and PostgreSQL (the `shared_url` demo portfolio); the pure readings need no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assistant.planner.dates import date_mentions
from assistant.planner.entities import Spans, money_mentions
from assistant.planner.limit_change import terms_days
from assistant.planner.reasons import stated_reason
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import assert_answered_with

MONDAY = date(2026, 11, 16)


def test_the_pure_readings() -> None:
    assert [m.amount for m in money_mentions("another order ~25k, ok?", Spans())] == [Decimal("25000.00")]
    assert [m.currency for m in money_mentions("it's ≈70k euros", Spans())] == ["EUR"]
    assert stated_reason(
        "if not, bump their limit by 40k so it goes. reason: strategic account, review end of jan"
    ) == ("strategic account")
    assert stated_reason("lower umbrella's limit by 40k pls, deteriorating, review again end of Jan") == "deteriorating"
    assert stated_reason("raise wayne's limit to 1.5m, 3-year supply contract signed, review in 6 months") == (
        "3-year supply contract signed"
    )
    assert stated_reason("put SO-0000028 on hold til they clear the april invoice") == (
        "til they clear the april invoice"
    )
    assert stated_reason("raise globex to 200k, thanks") is None
    assert stated_reason("make that 30k, sorry, the 20 was last year's number", outright=True) is None
    assert stated_reason("make it 30k, because they doubled volumes", outright=True) == "they doubled volumes"
    assert date_mentions("got a big Q1 order in the pipeline", MONDAY, Spans()) == []
    assert [m.day for m in date_mentions("ageing at the end of Q3", MONDAY, Spans())] == [date(2026, 9, 30)]
    assert terms_days("ok and if we gave them 60 days instead of 30?", Spans()) == [60]
    assert terms_days("they paid 60 days late", Spans()) == []


@pytest.mark.parametrize(
    ("user", "text", "tool", "expected"),
    [
        ("sam", "hey, globex wants to place another order ~25k, will that go thru or get stuck in credit?",
         "check_order_release", {"customer": "4", "order_amount": "25000.00", "order_number": None}),
        ("sam", "why is the globex order on hold??", "check_order_release", {"order_number": "SO-0000006"}),
        ("avery", "Is it safe to go to 150k on Globex's limit? They've asked, but I want to see the numbers first",
         "recommend_credit_limit", {"customer": "4"}),
        ("sam", "who do i even talk to about getting a limit increase for hooli? they've doubled their volume",
         "search_policy", {}),
        ("morgan", "if not, bump stark's limit by 40k. reason: strategic account, review end of jan",
         "propose_credit_limit_change", {"customer": "7", "change_by": "40000.00", "review_date": "2027-01-31"}),
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


def test_a_question_about_a_limit_proposes_nothing(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "is it safe to go to 150k on Globex's limit?")
    assert not reply.proposals and "Nothing was proposed" in reply.text


def test_a_reason_named_as_one_is_the_reason(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "if not, bump stark's limit by 40k. reason: strategic account, review end of jan")
    assert last_call(reply, "propose_credit_limit_change").arguments["reason"].startswith("strategic account (")


@pytest.mark.parametrize(
    ("user", "turns", "tool", "expected"),
    [
        ("avery", ["bump hooli to 90k, new store openings", "and set the review for end of march"],
         "propose_credit_limit_change", {"customer": "11", "new_limit": "90000.00", "review_date": "2027-03-31"}),
        ("avery", ["raise hooli by 20k", "reason: new product line"], "propose_credit_limit_change",
         {"customer": "11", "change_by": "20000.00",
          "reason": "new product line (requested by avery via the assistant)"}),
        ("avery", ["lower stark's limit to 25k, they missed two payments",
                   "wait, don't go that low - 30k, and review in 3 months"],
         "propose_credit_limit_change", {"customer": "7", "new_limit": "30000.00", "review_date": "2027-02-16"}),
        ("morgan", ["can you release the held order for globex?",
                    "reason: customer paid the overdue invoice on friday"],
         "propose_order_release",
         {"order_number": "SO-0000006", "reason": "customer paid the overdue invoice on friday"}),
        ("cleo", ["log a ptp for umbrella, €5,000 by the 30th, contact Priya in AP",
                  "actually she said the 28th not the 30th, sorry"],
         "log_promise_to_pay", {"customer": "6", "amount": "5000.00", "currency": "EUR", "contact": "Priya",
                                "promised_date": "2026-11-28"}),
        ("avery", ["what limit would you recommend for stark?", "ok and if we gave them 60 days instead of 30?"],
         "recommend_credit_limit", {"customer": "7", "what_if_terms_days": [60]}),
        ("sam", ["is stark's next order going to ship ok?",
                 "ok but how much more can they take before they get blocked?"],
         "get_customer_exposure", {"customer": "7"}),
    ],
)  # fmt: skip
def test_right_after_a_request_the_user_amends_it(
    shared_url: str,  # noqa: F811
    user: str,
    turns: list[str],
    tool: str,
    expected: dict[str, object],
) -> None:
    assert_answered_with(conversation(shared_url, user, *turns)[-1], tool, expected)


def test_an_amended_proposal_keeps_the_earlier_reason_and_names_the_earlier_one(shared_url: str) -> None:  # noqa: F811
    first, amended = conversation(
        shared_url,
        "morgan",
        "raise wayne's limit to 1.5m, 3-year supply contract signed",
        "make it 1.6m actually, same reason",
    )
    assert last_call(amended, "propose_credit_limit_change").arguments["reason"].startswith("3-year supply contract")
    assert f"The earlier proposal #{first.proposals[0].id} is still pending" in amended.text


def test_why_a_named_account_ranks_where_it_does(shared_url: str) -> None:  # noqa: F811
    listed = ask(shared_url, "morgan", "show me the whole team's worklist")
    first, second = (row["customer"]["name"] for row in last_call(listed, "build_worklist").result["rows"][:2])
    asked = f"why's {second.split()[0].lower()} ranked above {first.split()[0].lower()}?"
    why = conversation(shared_url, "morgan", "show me the whole team's worklist", asked)[-1]
    assert why.text.startswith(f"Why **{second}** is #2 of ")
    assert f"Why **{first}** is #1 of " in why.text
