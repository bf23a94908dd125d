"""Follow-ups and lists the offline desk reads from the conversation's structured results (issue 12): a worklist or
an invoice at an earlier date, a list narrowed to a region, a policy question carried on, a what-if on the
recommendation just given, "the home one" among the customers offered, "make it 10", what comes after "anyway", and
lists of the customers that match a condition. On SQLite and PostgreSQL (the `shared_url` demo portfolio)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.engine import read_session
from db.models import Invoice
from tests.support import clock
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import CUSTOMER_IDS


def test_a_worklist_follow_up_at_an_earlier_date_keeps_the_list(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "charlie's worklist pls", "and what did it look like last friday?")
    call = last_call(replies[1], "build_worklist")
    assert call.arguments["collector"] == "charlie" and str(call.arguments["as_of"]) < str(clock.today())
    narrowed = conversation(shared_url, "morgan", "worklist for charlie and cleo combined", "only EMEA")
    call = last_call(narrowed[1], "build_worklist")
    assert call.arguments["collectors"] == ["charlie", "cleo"] and call.arguments["region"] == "EMEA"


def test_an_invoice_follow_up_at_an_earlier_date_is_the_same_invoice(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        number = session.scalars(select(Invoice.number).order_by(Invoice.id)).first()
    assert number is not None
    replies = conversation(shared_url, "morgan", f"status of {number}?", "and as at end of last month?")
    call = last_call(replies[1], "get_invoice")
    assert call.arguments["number"] == number
    assert str(call.arguments["as_of"]) == str(clock.today().replace(day=1) - timedelta(days=1))


def test_a_policy_follow_up_carries_the_question_on(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "how often are limits of E class customers reviewed?", "and for D?")
    query = last_call(replies[1], "search_policy").arguments["query"]
    assert "E class" in query and "for D" in query


def test_a_terms_what_if_after_a_recommendation_is_for_the_same_customer(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "avery", "recommended limit for hooli?", "what if they went to 45 day terms")
    first, then = last_call(replies[0], "recommend_credit_limit"), last_call(replies[1], "recommend_credit_limit")
    assert then.arguments == {"customer": first.arguments["customer"], "what_if_terms_days": [45]}


def test_the_one_offered_customer_a_word_names_is_picked(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "what does acme owe?")
    offered = [c.name for c in replies[0].choices] or []
    named = [c for c in replies[0].tool_calls if c.name == "resolve_customer" and (c.result or {}).get("candidates")]
    assert named, replies[0].text  # "acme" matches the group's several customers
    candidates = [c["customer"]["name"] for c in named[-1].result["candidates"]]
    word = next(n.split()[1] for n in candidates if sum(n.split()[1] in m for m in candidates) == 1)
    picked = ask(shared_url, "morgan", f"the {word.lower()} one", replies)
    chosen = last_call(picked, "get_customer_exposure").result["customer"]["name"]
    assert word in chosen and chosen in candidates and not offered


def test_make_it_ten_after_a_top_five(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "top 5 overdue accounts?", "make it 10")
    first, then = last_call(replies[0], "get_portfolio_summary"), last_call(replies[1], "get_portfolio_summary")
    assert first.arguments["top_n"] == 5 and then.arguments.get("top_n", 10) == 10
    assert then.arguments["rank_by"] == first.arguments["rank_by"] == "overdue"


def test_the_request_after_anyway_is_the_one_answered(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "ugh globex ghosted me again. anyway - whats the disputed total for EMEA?")
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments["regions"] == ["EMEA"]
    assert not [c for c in reply.tool_calls if c.name in ("resolve_customer", "summarize_dispute")]


@pytest.mark.parametrize(
    ("text", "argument", "value"),
    [
        ("list customers at 90% utilization or higher", "min_utilisation_pct", "90"),
        ("which customers are using 90% or more of their line", "min_utilisation_pct", "90"),
        ("anyone owing 250k or more? list them", "min_balance", "250000.00"),
        ("who in emea is over there limit right now", "over_limit", True),
        ("list customers with an open PTP", "open_promise", True),
    ],
)
def test_a_list_of_customers_matching_a_condition(
    shared_url: str,  # noqa: F811
    text: str,
    argument: str,
    value: object,
) -> None:
    reply = ask(shared_url, "morgan", text)
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments[argument] == value and call.arguments["group_by"] == "customer"
    assert "Not applied" not in reply.text
    rows = [g for g in call.result["groups"] if g["key"] is not None]
    assert all(g["label"] in reply.text for g in rows[:5])
    assert rows or "No customer" in reply.text


def test_a_long_promise_or_dispute_period_is_covered_whole(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "promise kept rate YTD")
    call = last_call(reply, "get_portfolio_summary")
    assert str(call.arguments["activity_period_start"]) == str(clock.today().replace(month=1, day=1))
    assert call.result["activity_period"]["start"] == str(clock.today().replace(month=1, day=1))
    assert "Not applied" not in reply.text and "Promise and dispute figures cover" in reply.text
    mixed = ask(shared_url, "morgan", "CEI and promise kept rate this year")
    assert mixed.text.startswith("**Not applied**") and "other than promises and disputes" in mixed.text


@pytest.mark.parametrize(
    ("who", "text", "expected"),
    [
        ("cleo", "my 31-60s", {"min_days_past_due": 31, "max_days_past_due": 60}),
        ("morgan", "which colector is carrying the most overdue?", {"group_by": "collector", "rank_by": "overdue"}),
        ("morgan", "exposure broken down by segmnet", {"group_by": "segment"}),
        ("morgan", "who owes us the most?", {"top_n": 1, "rank_by": "open_receivables"}),
        ("morgan", "our three biggest debtors in emea", {"top_n": 3, "rank_by": "open_receivables"}),
        ("morgan", "which 5 EMEA customers have the smallest exposure?", {"top_n": 5, "rank_order": "smallest_first"}),
        ("morgan", "Watch accounts - total exposure?", {"credit_statuses": ["Watch"]}),
        ("morgan", "% over 90 - enterprise vs mid-market", {"group_by": "segment"}),
        ("morgan", "show me how overdue has developed over the past year, month by month", {"trend_months": 12}),
    ],
)
def test_portfolio_readings(shared_url: str, who: str, text: str, expected: dict[str, object]) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, who, text), "get_portfolio_summary").arguments
    assert {key: arguments.get(key) for key in expected} == expected


def test_a_filter_only_the_answer_can_say_it_did_not_apply(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "overdue by segment - disputed invoices only")
    assert reply.text.startswith("**Not applied** — only disputed items")
    assert "| segment | Disputed |" in reply.text and "Overdue" in reply.text


def test_a_portfolio_follow_up_that_names_no_measure_keeps_the_one_asked_before(shared_url: str) -> None:  # noqa: F811
    cei = conversation(shared_url, "morgan", "CEI for last month, per collector", "and for Q3?")
    call = last_call(cei[1], "get_portfolio_summary")
    assert call.arguments["group_by"] == "collector" and str(call.arguments["as_of"]).endswith("-09-30")
    assert cei[1].focus == ["cei"] and "| collector | CEI |" in cei[1].text and "Open receivables" not in cei[1].text
    exposure = conversation(shared_url, "avery", "exposure split by risk class", "now just EMEA")
    assert last_call(exposure[1], "get_portfolio_summary").arguments["regions"] == ["EMEA"]
    assert "Total exposure" in exposure[1].text
    ageing = conversation(shared_url, "avery", "exposure split by risk class", "and the ageing, EMEA only?")
    assert "exposed" not in ageing[1].focus


def test_add_one_too_widens_the_list_or_the_selection_just_shown(shared_url: str) -> None:  # noqa: F811
    worklist = conversation(shared_url, "morgan", "worklist for casey's book, class E only", "add class D too")
    arguments = last_call(worklist[1], "build_worklist").arguments
    assert arguments["collector"] == "casey" and arguments["risk_classes"] == ["E", "D"]
    book = conversation(shared_url, "morgan", "overdue in EMEA", "add APAC too")
    assert last_call(book[1], "get_portfolio_summary").arguments["regions"] == ["EMEA", "APAC"]
    assert "Overdue" in book[1].text


def test_the_second_one_after_the_user_listed_order_numbers_is_that_order(shared_url: str) -> None:  # noqa: F811
    from db.models import OrderStatus, SalesOrder

    with read_session(shared_url) as session:
        open_orders = select(SalesOrder.number).where(SalesOrder.status == OrderStatus.OPEN).order_by(SalesOrder.id)
        numbers = list(session.scalars(open_orders.limit(3)))
    listed = f"{numbers[0]}, {numbers[1]} and {numbers[2]} — which of those can ship?"
    replies = conversation(shared_url, "morgan", listed, "hold the second one, they missed their promise")
    assert replies[0].named == {"orders": numbers}
    assert last_call(replies[1], "propose_order_hold").arguments == {
        "order_number": numbers[1],
        "reason": "they missed their promise",
    }
    check = conversation(shared_url, "morgan", listed, "and the third one?")
    assert last_call(check[1], "check_order_release").arguments["order_number"] == numbers[2]


def test_another_figure_of_the_same_customer_is_that_figure_not_the_last_answer(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "avery", "score Globex", "and what's their total exposure today?")
    assert last_call(replies[1], "get_customer_exposure").arguments["customer"] == CUSTOMER_IDS["Globex"]
    assert "score_customer" not in [c.name for c in replies[1].tool_calls]


@pytest.mark.parametrize(
    ("first", "then", "kept", "added"),
    [
        ("overdue for our retail customers?", "just the 60+ part of that", {"industries": ["Retail"]},
         {"min_days_past_due": 60}),
        ("what's overdue in EMEA?", "top 5 of those by amount", {"regions": ["EMEA"]},
         {"top_n": 5, "rank_by": "overdue"}),
        ("open AR in APAC at the end of last month", "by region please", {"as_of": "END_OF_LAST_MONTH"},
         {"group_by": "region"}),
        ("open AR by region", "drill into EMEA by segment", {"group_by": "segment"}, {"regions": ["EMEA"]}),
    ],
)  # fmt: skip
def test_a_portfolio_refinement_keeps_what_was_asked_before(
    shared_url: str,  # noqa: F811
    first: str,
    then: str,
    kept: dict[str, object],
    added: dict[str, object],
) -> None:
    replies = conversation(shared_url, "morgan", first, then)
    arguments = last_call(replies[1], "get_portfolio_summary").arguments
    end_of_last_month = (clock.today().replace(day=1) - timedelta(days=1)).isoformat()
    expected = {k: end_of_last_month if v == "END_OF_LAST_MONTH" else v for k, v in {**kept, **added}.items()}
    assert {k: str(arguments.get(k)) if k == "as_of" else arguments.get(k) for k in expected} == expected


def test_is_it_still_waiting_after_a_proposal_lists_that_proposal(shared_url: str) -> None:  # noqa: F811
    replies = conversation(
        shared_url,
        "avery",
        "propose raising globex's limit to 150k, strong payment record",
        "is it still waiting for approval?",
    )
    assert replies[0].proposals
    call = last_call(replies[1], "list_pending_approvals")
    assert call.arguments == {"proposed_by": "avery", "kind": "set_credit_limit"}
    assert "of your proposals" in replies[1].text


def test_the_second_one_is_the_second_customer_the_user_named_and_was_shown(shared_url: str) -> None:  # noqa: F811
    replies = conversation(
        shared_url, "avery", "compare Umbrella Health and Globex — which is the bigger risk?", "score the second one"
    )
    assert replies[0].text.index("Umbrella") < replies[0].text.index("Globex")  # shown in the order named
    assert last_call(replies[1], "score_customer").arguments["customer"] == CUSTOMER_IDS["Globex"]
