"""Requests the offline desk misread (issue 12, eighteenth session): a collector naming a customer outside their book
is told it is not found, never answered with their own book; "what do they owe us?" after a customer that was not
found asks who, and "what was it at end of last month?" after a customer's exposure is that exposure then; "and the
limit?" after a score asks which limit (never the score again); "what has ash proposed that's still pending" lists
ash's pending proposals; "request release of … — their CFO confirmed the payment run" proposes the release (a
payment run is no "run the check"); a worklist is narrowed by "just the B and C risk ones" or "filter that to 100k+",
paged by "done. next one?" and read for "risk C"; "8 broken ptps" is no amount; "raise … by -50k" asks which way;
"how many customers are overdue" counts the past-due ones; "what about 0000061?" after an invoice is that invoice's
neighbour; "and the other richter?" is the other Richter; a portfolio question is continued by "which customers?",
"who are the 5 worst?" and "vs a year earlier?"; a reason said before "request a release" is the reason; "what's
their current exposure looking like?" amid order talk is the standing. On SQLite and PostgreSQL (the `shared_url`
demo portfolio); the pure parts without a database."""

from __future__ import annotations

import pytest

from assistant.planner.comparisons import comparison
from assistant.planner.entities import Spans, money_mentions, risk_classes
from assistant.planner.phrases import _LIST_THEM_RE, CONTINUES_RE
from assistant.planner.portfolio_query import counts_overdue_customers
from assistant.planner.reasons import stated_reason
from assistant.planner.turn_records import _TREND_ASKED_RE, sequence_of_the_same_series
from tests.test_planner import ask, business_digest, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import _answering


@pytest.mark.parametrize(
    ("text", "classes"),
    [("collections to-do list for me, risk C pls", ["C"]), ("exposure for risk D/E customers", ["D", "E"]),
     ("is it a risk a buyer takes?", [])],
)  # fmt: skip
def test_the_word_risk_before_class_letters_names_the_classes(text: str, classes: list[str]) -> None:
    assert risk_classes(text, Spans()) == classes


def test_a_count_of_things_is_no_amount() -> None:
    assert money_mentions("drop their limit to zero, on stop with 8 broken ptps", Spans()) == []
    assert [m.amount for m in money_mentions("they'll pay 5000 for 3 invoices", Spans())] == [5000]


@pytest.mark.parametrize(
    ("text", "counts"),
    [("how many customers are overdue", True), ("number of accounts with past due invoices at 2013-06-30", True),
     ("how many customers do we have in EMEA", False)],
)  # fmt: skip
def test_a_count_of_overdue_customers(text: str, counts: bool) -> None:
    assert counts_overdue_customers(text) is counts


def test_the_continuations_of_a_portfolio_question() -> None:
    assert all(CONTINUES_RE.match(t) for t in ("vs a year earlier?", "who are the 5 worst?", "show me the trend"))
    assert not CONTINUES_RE.match("top 10 debtors in APAC")
    assert _LIST_THEM_RE.match("which customers?") and not _LIST_THEM_RE.match("which customers are over their limit")
    wanted = comparison("vs a year earlier?", Spans())
    assert wanted is not None and wanted.unit == "year"


def test_a_reason_before_the_instruction_and_a_trend_asked_by_comparison() -> None:
    assert (
        stated_reason("they've cleared the august invoice, request a release") == "they've cleared the august invoice"
    )
    assert _TREND_ASKED_RE.search("wolfpeak — are they paying later than they used to?")
    assert sequence_of_the_same_series("what about 0000061?", "INV-2026-0000060") == ["INV-2026-0000061"]
    assert sequence_of_the_same_series("and 61?", "INV-2026-0000060") == []


def test_a_customer_outside_the_collectors_book_is_not_their_book(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "cleo", "how much is Stark Components sitting on")
    assert "get_portfolio_summary" not in [call.name for call in reply.tool_calls]
    assert "couldn't find a customer" in reply.text


def test_they_after_a_customer_not_found_is_asked_not_the_book(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "cameron", "why is Stark Components on hold?", "ok so what do they owe us")
    assert not [call for call in history[-1].tool_calls if call.name == "get_portfolio_summary"]
    assert "Which customer do you mean?" in history[-1].text


def test_it_at_an_earlier_date_after_a_customers_exposure(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "exposure on Stark Components", "what was it at end of last month?")
    call = last_call(history[-1], "get_customer_exposure")
    assert call.arguments["customer"] == "7" and str(call.arguments["as_of"]) == "2026-10-31"


@pytest.mark.parametrize("text", ["and the limit?", "what about the limit?"])
def test_the_limit_after_a_score_asks_which(shared_url: str, text: str) -> None:  # noqa: F811
    asked = conversation(shared_url, "avery", "score for Wayne Enterprises", text)[-1]
    assert "Which do you mean?" in asked.text and not [c for c in asked.tool_calls if c.name != "resolve_customer"]
    named = conversation(shared_url, "avery", "score for Wayne Enterprises", "what limit would you give them?")[-1]
    assert _answering(named) == "recommend_credit_limit"


def test_what_someone_proposed_that_is_still_pending(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "admin", "what has ash proposed that's still pending")
    assert last_call(reply, "list_pending_approvals").arguments == {"proposed_by": "ash"}


def test_a_release_requested_with_its_reason_is_proposed(shared_url: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "morgan", "request release of Globex's held order — their CFO confirmed the payment run")
    call = last_call(reply, "propose_order_release")
    assert call.arguments["order_number"] == "SO-0000006" and "CFO confirmed" in call.arguments["reason"]
    assert reply.proposals and business_digest(shared_url) == before


def test_a_worklist_narrowed_filtered_and_paged(shared_url: str) -> None:  # noqa: F811
    narrowed = conversation(shared_url, "morgan", "worklist for EMEA", "just the B and C risk ones")[-1]
    arguments = last_call(narrowed, "build_worklist").arguments
    assert arguments["region"] == "EMEA" and arguments["risk_classes"] == ["B", "C"]
    filtered = conversation(shared_url, "casey", "my worklist", "filter that to 100k+")[-1]
    assert last_call(filtered, "build_worklist").arguments["min_amount"] in ("100000", "100000.00")
    paged = conversation(shared_url, "cameron", "what's the single top account on my list today?", "done. next one?")
    assert last_call(paged[0], "build_worklist").arguments["page_size"] == 1
    assert {k: last_call(paged[-1], "build_worklist").arguments[k] for k in ("page", "page_size")} == {
        "page": 2,
        "page_size": 1,
    }


def test_a_raise_by_a_negative_amount_asks_which_way(shared_url: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "avery", "raise Globex's limit by -50k")
    assert "negative amount" in reply.text and "Nothing was proposed" in reply.text and not reply.proposals
    assert business_digest(shared_url) == before


def test_how_many_customers_are_overdue_counts_the_past_due_ones(shared_url: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", "how many customers were overdue on 2026-10-31"),
                          "get_portfolio_summary").arguments  # fmt: skip
    assert arguments["min_days_past_due"] == 1 and str(arguments["as_of"]) == "2026-10-31"


def test_the_next_number_of_an_invoices_series(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "has INV-2026-0000060 been paid?", "what about 0000061?")
    assert last_call(history[-1], "get_invoice").arguments["number"] == "INV-2026-0000061"


def test_the_other_one_of_a_shared_name(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "score for Duarte & Richter", "and the other richter?")
    assert last_call(history[-1], "score_customer").arguments["customer"] == "37"


def test_a_portfolio_question_continued(shared_url: str) -> None:  # noqa: F811
    listed = conversation(shared_url, "morgan", "overdue in EMEA", "which customers?")[-1]
    arguments = last_call(listed, "get_portfolio_summary").arguments
    assert arguments["group_by"] == "customer" and arguments["regions"] == ["EMEA"]
    ranked = conversation(shared_url, "morgan", "average days delinquent for North America", "who are the 5 worst?")
    arguments = last_call(ranked[-1], "get_portfolio_summary").arguments
    assert (arguments["payers"], arguments["top_n"], arguments["regions"]) == ("latest_first", 5, ["North America"])
    compared = conversation(shared_url, "morgan", "% over 90 at 30/09/2026", "vs a year earlier?")[-1]
    arguments = last_call(compared, "get_portfolio_summary").arguments
    assert (str(arguments["as_of"]), str(arguments["compare_to"])) == ("2026-09-30", "2025-09-30")


def test_the_standing_asked_amid_order_talk(shared_url: str) -> None:  # noqa: F811
    reply = ask(
        shared_url,
        "sasha",
        "Hiya, I've got Wayne Enterprises asking about placing another order next month and I want to go back to them "
        "today with something sensible - what's their current exposure looking like? Cheers",
    )
    assert _answering(reply) == "get_customer_exposure"


def test_a_reason_said_before_the_release_request(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "can Globex's held order ship?",
                           "they've cleared the august invoice, request a release")  # fmt: skip
    call = last_call(history[-1], "propose_order_release")
    assert call.arguments["reason"] == "they've cleared the august invoice"


def test_why_a_worklist_row_ranks_where_it_does(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "morgan", "show me the whole team's worklist", "why is the first one on top?")
    first = last_call(history[0], "build_worklist").result["rows"][0]
    assert last_call(history[-1], "build_worklist").arguments == last_call(history[0], "build_worklist").arguments
    assert f"Why **{first['customer']['name']}** is #1" in history[-1].text and "% of the score" in history[-1].text


def test_a_row_picked_by_its_ordinal_is_no_day_of_the_month(shared_url: str) -> None:  # noqa: F811
    for text in ("ok call the 2nd, what do they owe?", "the 2nd - what do they owe"):
        picked = conversation(shared_url, "morgan", "show me the whole team's worklist", text)
        second = last_call(picked[0], "build_worklist").result["rows"][1]["customer"]["id"]
        exposure = last_call(picked[-1], "get_customer_exposure").arguments
        assert exposure["customer"] == str(second) and "as_of" not in exposure
    dated = conversation(
        shared_url, "morgan", "show me the whole team's worklist", "and what did it look like on the 2nd?"
    )
    assert str(last_call(dated[-1], "build_worklist").arguments["as_of"]) == "2026-11-02"


def test_an_amount_before_a_count_word_is_still_an_amount() -> None:
    for text, amount in [("can globex take another $18,500 order", 18500), ("a CAD 60,000 order", 60000)]:
        assert [m.amount for m in money_mentions(text, Spans())] == [amount]


def test_a_refused_tool_input_is_said_in_words(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "mark dispute 1 resolved")
    assert "Value error" not in reply.text and "propose_dispute_update:" not in reply.text
