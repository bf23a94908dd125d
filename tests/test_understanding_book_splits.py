"""Book questions whose parts were dropped or misread (issue 12, sixteenth session): "collectors ranked by overdue"
and "currencies sorted by overdue" split the book by that dimension (not a ranking of customers); "which segment pays
slowest" splits by segment; "how many invoices are overdue" counts the past-due ones only; "customers with limits over
500k" is the limit's size, which the book is not filtered by — said, and never read as a balance; "vs the month
before" compares with the month before the one asked; "DSO for 2013" is the year, "at the end of 2012" one day;
"which country had the most overdue" splits by country; paper or paperless billing is said not applied. On SQLite and
PostgreSQL (the `shared_url` demo portfolio); the pure parts without a database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from assistant.planner.entities import Spans
from assistant.planner.periods import period_mentions
from assistant.planner.phrases import GROUP_BY_RE
from assistant.planner.portfolio_query import LIMIT_SIZE_RE, not_applied
from tests.support import clock
from tests.test_planner import ask, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_book_figures import _portfolio


@pytest.mark.parametrize(
    ("text", "dimension"),
    [
        ("collectors ranked by overdue", "collector"),
        ("rank the regions by DSO", "region"),
        ("which segment pays slowest", "segment"),
        ("how many accounts are in each risk class", "risk class"),
        ("top 10 customers by overdue", None),
    ],
)
def test_a_split_said_as_a_ranking_of_groups(text: str, dimension: str | None) -> None:
    found = GROUP_BY_RE.search(text)
    assert (next(g for g in found.groups() if g) if found else None) == dimension


def test_the_size_of_a_limit_is_no_balance() -> None:
    assert LIMIT_SIZE_RE.search("customers with limits over 500k")
    assert not LIMIT_SIZE_RE.search("customers owing over 500k")
    assert not LIMIT_SIZE_RE.search("who is over their limit")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("collectors ranked by overdue", {"group_by": "collector", "rank_by": "overdue"}),
        ("currencies sorted by overdue", {"group_by": "currency"}),
        ("which segment pays slowest", {"group_by": "segment"}),
        ("how many invoices are overdue", {"count_open_invoices": True, "min_days_past_due": 1}),
        ("how many invoices are more than 60 days overdue", {"min_days_past_due": 60}),
        ("customers with limits over 500k", {"min_balance": None}),
        ("customers owing over 500k", {"min_balance": "500000.00"}),
    ],
)
def test_book_questions_keep_their_split_and_filters(
    shared_url: str,  # noqa: F811
    text: str,
    expected: dict[str, Any],
) -> None:
    arguments = _portfolio(ask(shared_url, "morgan", text))
    assert {key: arguments.get(key) for key in expected} == expected


def test_a_limit_size_filter_is_said_not_applied(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "customers with limits over 500k")
    assert "Not applied" in reply.text and "size of the credit limit" in reply.text


def test_the_month_before_is_a_comparison(shared_url: str) -> None:  # noqa: F811
    last_month_end = clock.today().replace(day=1) - timedelta(days=1)
    month_before_end = last_month_end.replace(day=1) - timedelta(days=1)
    arguments = _portfolio(ask(shared_url, "morgan", "CEI last month vs the month before"))
    assert (str(arguments["as_of"]), str(arguments["compare_to"])) == (
        last_month_end.isoformat(),
        month_before_end.isoformat(),
    )


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("DSO for 2013", date(2013, 1, 1)),
        ("CEI during 2012", date(2012, 1, 1)),
        ("DSO at the end of 2012", None),
        ("open AR as of 2013", None),
    ],
)
def test_a_year_asked_for_is_the_whole_year(text: str, start: date | None) -> None:
    [(_, mention)] = period_mentions(text, clock.today(), Spans())
    assert mention.period_start == start


def test_which_country_had_the_most_is_a_split() -> None:
    found = GROUP_BY_RE.search("which country had the most overdue at the end of 2012")
    assert found is not None and next(g for g in found.groups() if g) == "country"


def test_paper_or_paperless_billing_is_said_not_applied() -> None:
    assert any("paperless" in part for part in not_applied("total paperless vs paper AR at 2013-06-30"))
