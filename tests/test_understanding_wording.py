"""The same request in a staff member's own wording (issue 12): a greeting or an aside before it, a request or
calendar word mistyped, a staff handle one letter from an ordinary word. Each must reach the tool with the same
arguments as the plain request. On SQLite and PostgreSQL (the `shared_url` demo portfolio)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.dates import month_end
from tests.support import clock
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import CUSTOMER_IDS


@pytest.mark.parametrize(
    "opening",
    [
        "fyi boss is asking - ",
        "hey, quick one - ",
        "Hi team, ",
        "morning! ",
        "sorry to bug you, ",
        "when you get a sec, ",
    ],
)
def test_a_greeting_or_aside_before_the_request_is_no_part_of_it(shared_url: str, opening: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", opening + "pls note on vandelay that they want statements by email only")
    assert last_call(reply, "add_note").arguments["customer"] == CUSTOMER_IDS["Vandelay"]


@pytest.mark.parametrize(
    ("first", "then", "tool"),
    [
        ("soylent's score", "hey, quick one - and their promise record?", "get_promise_history"),
        ("what does globex owe?", "can you tell me and at the end of last month?", "get_customer_exposure"),
    ],
)
def test_a_follow_up_after_a_greeting_still_follows_up(shared_url: str, first: str, then: str, tool: str) -> None:  # noqa: F811
    reply = conversation(shared_url, "morgan", first, then)[-1]
    assert last_call(reply, tool).arguments["customer"] in ("9", CUSTOMER_IDS["Globex"])  # Soylent is 9
    assert [c.name for c in reply.tool_calls if c.name != "resolve_customer"] == [tool]


def test_an_order_number_at_the_start_is_no_greeting(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "so-0000011 , will that one ship this week")
    assert last_call(reply, "check_order_release").arguments["order_number"] == "SO-0000011"


@pytest.mark.parametrize(
    ("text", "tool", "expected"),
    [
        ("globex says 20 grand by end of motnh", "log_promise_to_pay",
         {"promised_date": month_end(clock.today()).isoformat(), "amount": "20000.00"}),
        ("overdue by region as of yesterdya", "get_portfolio_summary",
         {"as_of": (clock.today() - timedelta(days=1)).isoformat(), "group_by": "region"}),
        ("whats globex's outstandng", "get_customer_exposure", {"customer": CUSTOMER_IDS["Globex"]}),
        ("dsipute 1 -> in review, they sent over their prcie list", "propose_dispute_update",
         {"dispute_id": 1, "status": "in_review"}),
    ],
)  # fmt: skip
def test_a_mistyped_request_or_calendar_word_reads_as_the_word_meant(
    shared_url: str,  # noqa: F811
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    arguments = last_call(ask(shared_url, "morgan", text), tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected


def test_a_staff_handle_is_not_corrected_to_a_word(shared_url: str) -> None:  # noqa: F811
    # "avery" is one letter from "every": it stays the analyst who proposed
    arguments = last_call(ask(shared_url, "morgan", "what has avery proposed that's still pending"),
                          "list_pending_approvals").arguments  # fmt: skip
    assert arguments.get("proposed_by") == "avery"
