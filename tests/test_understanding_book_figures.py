"""Questions about the book the offline desk misread (issue 12, fifteenth session): a credit status said as "on the
watch list", "stopped accounts" or "with status hold" filters the book (never silently dropped); a split "per risk
grade" is by risk class; "percent not yet due" is the % current and "share of AR past 90 days" the % over 90; a
ranking "by ADD" or "by days delinquent" ranks customers by how late they pay, and "by total outstanding" by open
receivables; "the 31 to 60 bucket" selects that bucket; a figure of the book ("what's the ADD", "how much is late
excluding disputes") is answered from the book, not offered as a policy question, while the policy's own words
("what is the DSO target?") still reach the policy; a split that selects nobody says so; "for the third quarter" is
Q3 and "canadian dollars" a currency; "anything to chase on stark?" is about Stark, not the whole worklist. On
SQLite and PostgreSQL (the `shared_url` demo portfolio); the pure parts without a database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from assistant.planner.dates import date_mentions
from assistant.planner.decision_forms import BOOK_FIGURE_RE, POLICY_CUE_RE
from assistant.planner.entities import Spans, dpd_range
from assistant.planner.out_of_scope import UNTRACKED_FIGURE_RE
from assistant.planner.portfolio_query import credit_statuses, payer_order, rank_measure, rate_unnamed
from assistant.planner.semantic import mask_names
from tests.support import clock
from tests.test_planner import ask, last_call, shared_url  # noqa: F401 - the fixture is used by name


@pytest.mark.parametrize(
    ("text", "statuses"),
    [
        ("overdue for accounts on the watch list", ["Watch"]),
        ("open AR for stopped accounts", ["Stop"]),
        ("exposure of customers with status hold", ["Hold"]),
        ("DSO for accounts with a credit status of stop", ["Stop"]),
        ("held accounts in EMEA", ["Hold"]),
        ("accounts on hold or stop", ["Hold", "Stop"]),
        ("hold the open order for acme", []),
    ],
)
def test_credit_statuses_said_in_words(text: str, statuses: list[str]) -> None:
    assert credit_statuses(text, Spans()) == statuses


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("top 5 customers by ADD", "latest_first"),
        ("bottom 3 accounts by average days delinquent", "earliest_first"),
        ("largest 10 customers by days late in EMEA", "latest_first"),
        ("top 5 customers by overdue", None),
    ],
)
def test_a_ranking_by_lateness_ranks_payers(text: str, order: str | None) -> None:
    assert payer_order(text) == order


def test_a_ranking_by_total_outstanding_is_by_open_receivables() -> None:
    assert rank_measure("top 10 customers by total outstanding") == "open_receivables"
    assert rank_measure("top 10 customers by overdue") == "overdue"


def test_a_bucket_said_with_to() -> None:
    found = dpd_range("AR in the 31 to 60 bucket", Spans())
    assert found is not None and (found.minimum, found.maximum) == (31, 60)
    assert dpd_range("the 61-90 band", Spans()) is not None
    assert dpd_range("pay 10 to 20 invoices", Spans()) is None


def test_not_yet_due_names_the_rate() -> None:
    assert not rate_unnamed("percent not yet due by currency")
    assert rate_unnamed("SMB percentage?")


@pytest.mark.parametrize(
    ("text", "book"),
    [
        ("what's the ADD", True),
        ("how much is late excluding disputes?", True),
        ("value under dispute for accounts on watch", True),
        ("what's the limit utilisation across the book", True),
        ("what is the DSO target?", False),
        ("when does overdue get escalated?", False),
        ("what utilisation puts an account on watch?", False),
        ("how is CEI calculated", False),
    ],
)
def test_a_figure_of_the_book_or_a_policy_question(text: str, book: bool) -> None:
    assert (BOOK_FIGURE_RE.search(text) is not None and POLICY_CUE_RE.search(text) is None) is book


def _portfolio(reply: Any) -> dict[str, Any]:
    return dict(last_call(reply, "get_portfolio_summary").arguments)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("overdue for accounts on the watch list", {"credit_statuses": ["Watch"]}),
        ("open AR for stopped accounts", {"credit_statuses": ["Stop"]}),
        ("open receivables per risk grade", {"group_by": "risk_class"}),
        ("top 5 customers by ADD", {"top_n": 5, "payers": "latest_first"}),
        ("top 10 customers by total outstanding", {"rank_by": "open_receivables"}),
        ("AR in the 31 to 60 bucket", {"min_days_past_due": 31, "max_days_past_due": 60}),
        ("what's the ADD", {}),
        ("how much is late excluding disputes?", {"exclude_disputed": True}),
        ("amount overdue in canadian dollars", {"currencies": ["CAD"], "countries": None}),
        ("overdue for canadian customers", {"countries": ["CA"], "currencies": None}),
    ],
)
def test_book_questions_reach_the_portfolio_with_their_parts(
    shared_url: str,  # noqa: F811
    text: str,
    expected: dict[str, Any],
) -> None:
    arguments = _portfolio(ask(shared_url, "morgan", text))
    assert {key: arguments.get(key) for key in expected} == expected


def test_a_quarter_said_in_words() -> None:
    today = clock.today()
    year = today.year if date(today.year, 7, 1) <= today else today.year - 1
    found = date_mentions("CEI for the third quarter", today, Spans())
    assert found and (found[0].period_start, found[0].day) == (date(year, 7, 1), min(date(year, 9, 30), today))
    named = date_mentions("DSO in the 2nd qtr of 2025", today, Spans())
    assert named and (named[0].period_start, named[0].day) == (date(2025, 4, 1), date(2025, 6, 30))


def test_the_figure_asked_for_is_in_the_answer(shared_url: str) -> None:  # noqa: F811
    not_due = ask(shared_url, "morgan", "percent not yet due by currency")
    assert _portfolio(not_due)["group_by"] == "currency" and "% current" in not_due.text
    late = ask(shared_url, "morgan", "what's the ADD")
    assert "ADD" in late.text and "policy" not in late.text.lower()
    past_due = ask(shared_url, "morgan", "what was the average days past due last month")
    assert "ADD" in past_due.text


def test_the_policy_is_still_asked_in_its_own_words(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "what utilisation puts an account on watch?")
    assert [c.name for c in reply.tool_calls] == ["search_policy"]


def test_a_split_that_selects_nobody_says_so(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "open AR for risk class A accounts on stop by segment")
    arguments = _portfolio(reply)
    assert arguments["credit_statuses"] == ["Stop"] and arguments["group_by"] == "segment"
    groups = last_call(reply, "get_portfolio_summary").result["groups"]
    assert groups or "No customer matches these filters." in reply.text


def test_a_worklist_word_beside_a_customer_asks_about_that_customer(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "casey", "anything I need to chase on stark this week?")
    assert [c.name for c in reply.tool_calls][-1] == "get_customer_exposure"
    assert "Stark Components" in reply.text
    assert last_call(ask(shared_url, "casey", "who should i call first today"), "build_worklist")


def test_a_name_holding_an_untracked_figure_word_is_no_figure() -> None:
    text = "how much is dubois provisions overdue?"
    assert UNTRACKED_FIGURE_RE.search(text) is not None
    assert UNTRACKED_FIGURE_RE.search(mask_names(text, {"dubois", "provisions"})) is None


def test_drill_into_a_customer_after_a_ranking(shared_url: str) -> None:  # noqa: F811
    first = ask(shared_url, "morgan", "top 5 customers by overdue")
    reply = ask(shared_url, "morgan", "drill into duarte & richter for me", [first])
    assert last_call(reply, "get_customer_exposure").result["customer"]["name"] == "Duarte & Richter Inc"


def test_a_comparison_follow_up_keeps_the_earlier_date(shared_url: str) -> None:  # noqa: F811
    first = ask(shared_url, "cameron", "my open AR as of end of last month")
    reply = ask(shared_url, "cameron", "and compared with end of september?", [first])
    arguments = _portfolio(reply)
    assert str(arguments["as_of"]) == str(_portfolio(first)["as_of"]) and arguments.get("compare_to")
    assert "went wrong" not in reply.text


@pytest.mark.parametrize(("text", "shown"), [("top 500 customers by overdue", 50), ("top 0 customers by overdue", 1)])
def test_a_ranking_count_a_list_cannot_hold_is_said(shared_url: str, text: str, shown: int) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert _portfolio(reply)["top_n"] == shown
    assert reply.text.startswith("**Not applied**") and "1 to 50 customers" in reply.text
    assert "Not applied" not in ask(shared_url, "morgan", "top 5 customers by overdue").text
