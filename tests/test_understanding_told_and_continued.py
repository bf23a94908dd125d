"""Requests the offline desk misread or asked about needlessly (issue 12, seventeenth session): "where's Longcore
at?" and "what's on the books for them" ask for the customer's standing; "a friendly nudge to Hooli" is a draft;
"INV-… gets paid in full next monday" is a promise on that invoice for its open amount (while "when will INV-… get
paid?" stays a question); "get that out to them" after a draft sends it; "now do cameron's" after a call list is
cameron's list; "and over 60?" after a days-past-due figure moves the threshold; "same at <date>" keeps the split;
"my accounts where a promise was broken" lists them; "which 3 collectors …" ranks three collectors; "Thursday's board
call" is no as-of date; "zero out their limit" is a limit change; "raise X's limit" with no figure asks how much
(nothing is proposed); "review cadence" is the policy's; "why is X's order stuck?" checks the held order; a first
name closing a comma-separated promise is the contact; an instruction before its stated reason is the instruction;
"INV-…: any disputes or promises?" is the invoice's own answer; "which accounts went past due this week" says the
day an item fell due is not applied; "where do I start", "who's next on my list" are the worklist; "did Hooli pay
anything" is the exposure (its last payment) and "what did Acme pay in October" its payment behaviour; "put that one
on hold" after an order check holds that order and "they'll pay that one in full" after an invoice look-up promises
that invoice; "next page of that" pages the worklist; "green light?" checks the order; "and how many days late on
average?" stays with the customer's payments; "how many days past due before we refer to an agency?" is the
policy's; a payment already made ("Umbrella paid 5k today") is never logged as a promise. On SQLite and
PostgreSQL (the `shared_url` demo portfolio); the pure parts without a database."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.planner.dates import date_mentions
from assistant.planner.decision_forms import PAYMENT_MADE_RE
from assistant.planner.entities import Spans
from assistant.planner.intent_rules_promises import PAID_ON_A_DAY_RE
from assistant.planner.intents import Intent, recognise
from tests.test_planner import ask, business_digest, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import _answering

MONDAY = date(2026, 11, 16)


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("acme says INV-2026-0000060 gets paid in full next monday", True),
        ("INV-2026-0000305 will be paid on friday", True),
        ("it'll be settled by the 30th", True),
        ("when will INV-2026-0000060 get paid?", False),
        ("will INV-2026-0000060 be paid on friday", False),
        ("INV-2026-0000060 gets paid next monday?", False),
        ("INV-2026-0000060 was paid on friday", False),
    ],
)
def test_a_payment_to_come_on_a_day_is_told_not_asked(text: str, told: bool) -> None:
    assert (PAID_ON_A_DAY_RE.search(text) is not None) is told


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("where's longcore at?", Intent.EXPOSURE),
        ("where do we stand with hooli", Intent.EXPOSURE),
        ("what's on the books for them", Intent.EXPOSURE),
        ("friendly nudge to hooli pls", Intent.DUNNING_DRAFT),
        ("zero out the limit for hooli", Intent.LIMIT_PROPOSE),
        ("review cadence for D class accounts?", Intent.POLICY),
        ("how often are E class limits reviewed", Intent.POLICY),
    ],
)
def test_the_rules_read_the_request(text: str, intent: Intent) -> None:
    assert intent in recognise(text).scores


def test_an_event_on_a_weekday_is_no_date() -> None:
    spans = Spans()
    assert date_mentions("the pack for Thursday's board call", MONDAY, spans) == []
    assert [m.day for m in date_mentions("what was overdue at friday's close", MONDAY, Spans())] == [date(2026, 11, 13)]


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("where's Initech at?", "get_customer_exposure"),
        ("Vandelay Imports - what's on the books for them?", "get_customer_exposure"),
        ("friendly nudge to Hooli pls", "draft_dunning_message"),
        ("review cadence for D class accounts?", "search_policy"),
    ],
)
def test_a_request_reaches_its_tool(shared_url: str, text: str, tool: str) -> None:  # noqa: F811
    assert _answering(ask(shared_url, "morgan", text)) == tool


def test_an_invoice_paid_in_full_on_a_day_is_a_promise_on_it(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Acme says INV-2026-0000060 gets paid in full next monday")
    call = last_call(reply, "log_promise_to_pay")
    invoice = last_call(reply, "get_invoice").result
    assert call.arguments["invoice_numbers"] == ["INV-2026-0000060"]
    assert call.arguments["amount"] == str(invoice["open_amount"]) and call.arguments["promised_date"] == "2026-11-23"
    assert reply.proposals and "“in full” read as the open amount of INV-2026-0000060" in reply.text


def test_asking_when_an_invoice_gets_paid_changes_nothing(shared_url: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "morgan", "when will INV-2026-0000060 get paid?")
    assert _answering(reply) == "get_invoice" and not reply.proposals
    assert business_digest(shared_url) == before


def test_getting_a_draft_out_sends_it_at_its_level(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "morgan", "final notice for Soylent", "fine, go ahead and get that out to them")
    send = last_call(history[-1], "propose_dunning_send")
    draft = last_call(history[0], "draft_dunning_message")
    assert send.arguments["customer"] == draft.arguments["customer"] and history[-1].proposals


def test_another_collectors_list_after_a_call_list(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "show me cleo's call list", "now do cameron's")
    assert last_call(history[-1], "build_worklist").arguments["collector"] == "cameron"


def test_a_new_days_past_due_threshold_after_one(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "cleo", "how much of my book is more than 90 days past due?", "and over 60?")
    assert last_call(history[-1], "get_portfolio_summary").arguments["min_days_past_due"] == 60


def test_the_same_at_another_date_keeps_the_split(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "morgan", "overdue by region as at 30/09/2026", "same at 31/10/2026")
    arguments = last_call(history[-1], "get_portfolio_summary").arguments
    assert arguments["group_by"] == "region" and str(arguments["as_of"]) == "2026-10-31"


def test_accounts_where_a_promise_was_broken_are_listed(shared_url: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "casey", "show me my accounts where a promise was broken"),
                          "get_portfolio_summary").arguments  # fmt: skip
    assert arguments["broken_promise_in_period"] is True and arguments["group_by"] == "customer"


def test_which_three_collectors_ranks_three(shared_url: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", "which 3 collectors are sitting on the most overdue?"),
                          "get_portfolio_summary").arguments  # fmt: skip
    assert (arguments["group_by"], arguments["top_n"], arguments["rank_by"]) == ("collector", 3, "overdue")


def test_an_event_day_beside_a_quarter_leaves_the_quarter(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "for Thursday's board call I need the CEI for Q3 please")
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert str(arguments["as_of"]) == "2026-09-30" and arguments["period_months"] == 3


@pytest.mark.parametrize("text", ["raise the limit for Wayne Enterprises", "bump up Hooli's credit limit"])
def test_a_limit_change_without_a_figure_asks_how_much(shared_url: str, text: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "avery", text)
    assert "to how much?" in reply.text and "Nothing was proposed" in reply.text
    assert _answering(reply) == "resolve_customer" and not reply.proposals
    assert business_digest(shared_url) == before


def test_the_recommended_limit_just_shown_may_be_proposed(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "what limit would you give Hooli?", "ok propose that")
    proposed = last_call(history[-1], "propose_credit_limit_change").arguments["new_limit"]
    assert proposed == str(last_call(history[0], "recommend_credit_limit").result["recommended_limit"])


def test_a_stuck_order_is_the_held_one(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sasha", "why is Globex's order stuck?")
    check = last_call(reply, "check_order_release")
    assert check.arguments["order_number"] == "SO-0000006"


def test_a_first_name_closing_a_promise_is_the_contact(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "casey", "log PTP: hooli, 1,000.00, 27/11, Priya")
    assert last_call(reply, "log_promise_to_pay").arguments.get("contact") == "Priya"
    thanks = ask(shared_url, "casey", "log PTP: hooli, 1,000.00, 27/11, Thanks")
    assert "contact" not in last_call(thanks, "log_promise_to_pay").arguments


def test_an_instruction_before_its_reason_is_the_instruction(shared_url: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "avery", "Soylent: zero out their credit limit, too many broken promises")
    call = last_call(reply, "propose_credit_limit_change")
    assert call.arguments["new_limit"] in ("0", "0.00") and call.error is not None  # the tool refuses a zero limit
    assert not reply.proposals and business_digest(shared_url) == before


def test_an_invoices_disputes_and_promises_are_its_own_answer(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "INV-2025-0000071: any disputes or promises against it?")
    assert _answering(reply) == "get_invoice"


def test_when_items_became_overdue_is_said_not_applied(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "casey", "which of my accounts went past due this week?")
    assert "**Not applied** — when items became overdue" in reply.text


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("where do I start today", "build_worklist"),
        ("ok who's next after Acme on my list?", "build_worklist"),
        ("did Hooli pay anything last week?", "get_customer_exposure"),
        ("what did Acme pay in October?", "get_payment_behaviour"),
        ("anything to chase on Stark this week?", "get_customer_exposure"),
    ],
)
def test_a_collectors_request_reaches_its_tool(shared_url: str, text: str, tool: str) -> None:  # noqa: F811
    assert _answering(ask(shared_url, "casey", text)) == tool


def test_that_one_after_an_order_check_is_the_order_checked(shared_url: str) -> None:  # noqa: F811
    history = conversation(
        shared_url, "morgan", "does SO-0000002 clear credit?", "ok put that one on hold, they're over"
    )
    assert last_call(history[-1], "propose_order_hold").arguments["order_number"] == "SO-0000002"


def test_that_one_in_full_after_an_invoice_is_that_invoice(shared_url: str) -> None:  # noqa: F811
    history = conversation(
        shared_url, "morgan", "has Soylent paid INV-2026-0000273 yet?",
        "just spoke to Susan, they'll pay that one in full on friday - pls log it",
    )  # fmt: skip
    call = last_call(history[-1], "log_promise_to_pay")
    assert call.arguments["invoice_numbers"] == ["INV-2026-0000273"] and call.arguments["amount"] == "1918.33"
    assert call.arguments["contact"] == "Susan"


def test_the_next_page_of_a_worklist_in_words(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "casey", "show me my worklist", "next page of that pls")
    assert last_call(history[-1], "build_worklist").arguments["page"] == 2


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("checking SO-0000007 for Initech — green light?", Intent.RELEASE_CHECK),
        ("is the acme order good to go?", Intent.RELEASE_CHECK),
    ],
)
def test_an_order_asked_about_in_slang_is_checked(text: str, intent: Intent) -> None:
    assert intent in recognise(text).scores


def test_days_late_on_average_after_late_payments_is_their_behaviour(shared_url: str) -> None:  # noqa: F811
    history = conversation(
        shared_url, "casey", "what % of Acme's invoices get paid late", "and how many days late on average?"
    )
    assert _answering(history[-1]) == "get_payment_behaviour"


def test_how_long_before_the_desk_acts_is_the_policy(shared_url: str) -> None:  # noqa: F811
    assert (
        _answering(ask(shared_url, "morgan", "how many days past due before we refer to an agency?")) == "search_policy"
    )


@pytest.mark.parametrize(
    ("text", "made"),
    [
        ("umbrella paid 5k today", True),
        ("they wired 5k this morning", True),
        ("record a payment of 5k from umbrella", True),
        ("umbrella says they paid 5k last friday", True),
        ("umbrella will have paid 5k by friday", False),
        ("umbrella paid 5k today and will pay the rest on friday", False),
        ("has umbrella paid yet?", False),
        ("customers who paid late last quarter", False),
        ("hooli paid late last month", False),
        ("list accounts paid in full last week", False),
    ],
)
def test_a_payment_already_made_is_told_apart(text: str, made: bool) -> None:
    assert (PAYMENT_MADE_RE.search(text) is not None) is made


@pytest.mark.parametrize("text", ["Umbrella paid 5k today", "record a payment of 5k from Umbrella"])
def test_a_payment_made_is_never_logged_as_a_promise(shared_url: str, text: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "morgan", text)
    assert not reply.tool_calls and not reply.proposals and "I can't record a payment" in reply.text
    assert business_digest(shared_url) == before


def test_the_story_with_a_row_of_the_worklist_is_its_standing(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "casey", "my worklist", "what's the story with number 1?")
    assert _answering(history[-1]) == "get_customer_exposure"


@pytest.mark.parametrize(
    ("first", "then", "chart", "group_by"),
    [
        ("open AR by segment", "as a chart", "group", "segment"),
        ("open AR by segment", "can I get that as a graph", "group", "segment"),
        ("DSO trend", "chart it", "trend", None),
    ],
)
def test_the_same_figures_drawn(shared_url: str, first: str, then: str, chart: str, group_by: str | None) -> None:  # noqa: F811
    arguments = last_call(conversation(shared_url, "morgan", first, then)[-1], "get_portfolio_summary").arguments
    assert arguments["chart"] == chart and arguments.get("group_by") == group_by


def test_a_payment_given_as_the_reason_for_a_release_is_the_release() -> None:
    assert PAYMENT_MADE_RE.search("please release SO-0000006, Globex paid this morning") is None
    assert PAYMENT_MADE_RE.search("release the order globex has on hold - they wired 42k today") is None
