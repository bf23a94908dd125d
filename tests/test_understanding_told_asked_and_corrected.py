"""Requests a further independent writer's set showed the offline desk misreading (issue 12, twentieth session): a
promise asked about ("what's the open PTP on soylent?") is its history, one told with its amount and day ("globex wil
pay £13,758.45 on 4 dec") is logged, and a slip corrected in the same message ("today-ish, actually no they said
wednesday", "5k, make that 6k") keeps what follows the correction; "full amount" after an invoice is that invoice's
open amount; a note told first and asked for last ("… no callback. note it pls"); a customer named beside one the user
cannot see is said, never silently dropped; a group asked for by its members ("acme europe and acme logistics across
the whole group") is the parent's group, and "just Acme Corporation itself, without Acme Europe …" is the parent alone;
"check order release for X" looks, and "what if it was 35k instead?" checks that amount; a "final-notice" is the
policy's level 3; "show me 6 points" of score history; a dispute resolved "with a full credit" is a write-off; an
invoice pointed at ("there's a dispute on it?") and a dispute or invoice at a date; "both" after a question offering
two customers answers for each (a change is still asked for one at a time). On SQLite and PostgreSQL (the
`shared_url` demo portfolio, the IBM sample for dated look-ups); the pure parts without a database."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.planner.decision_forms import LOOK_FIRST_RE, decided_by_the_form
from assistant.planner.intents import Intent
from assistant.planner.out_of_scope import FX_FORECAST_RE
from assistant.planner.phrases import _HISTORY_POINTS_RE
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import _ibm_rows, ibm_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import assert_answered_with

MONDAY = date(2026, 11, 16)
PROMISE_OR_HISTORY = [Intent.PROMISE, Intent.PROMISE_HISTORY]


def test_the_pure_readings() -> None:
    told = "falconwick wholesale wil pay £13,758.45 on 4 dec, Raj from AP"
    assert decided_by_the_form(told, PROMISE_OR_HISTORY, MONDAY) is Intent.PROMISE
    asked = "what's the open PTP on anchorworks and when's it due?"
    assert decided_by_the_form(asked, PROMISE_OR_HISTORY, MONDAY) is Intent.PROMISE_HISTORY
    # an amount asked about is no promise told, and no amount told is no history asked
    assert decided_by_the_form("will falconwick pay £13,758.45 on 4 dec?", PROMISE_OR_HISTORY, MONDAY) is None
    assert decided_by_the_form("falconwick will pay", PROMISE_OR_HISTORY, MONDAY) is None
    paid = "was 2698045799 paid by 30/04/2013?"
    assert decided_by_the_form(paid, [Intent.INVOICE, Intent.PROMISE], MONDAY) is Intent.INVOICE
    assert FX_FORECAST_RE.search("where's EUR/GBP heading next quarter?") is not None
    assert FX_FORECAST_RE.search("open AR in EUR/GBP invoices") is None
    points = _HISTORY_POINTS_RE.search("how has soylent's score moved? show me 6 points")
    assert points is not None and "6" in points.groups()
    assert LOOK_FIRST_RE.match("check order release for moonwick company") is not None
    assert LOOK_FIRST_RE.match("check SO-0000012 and release it") is None


@pytest.mark.parametrize(
    ("user", "text", "tool", "expected"),
    [
        ("morgan", "what's the open PTP on soylent and when's it due?", "get_promise_history", {"customer": "9"}),
        ("morgan", "soylent - they promised something for the 24th right? whats the status", "get_promise_history",
         {"customer": "9"}),
        ("morgan", "globex wil pay £13,758.45 on 4 dec, Raj from AP", "log_promise_to_pay",
         {"customer": "4", "amount": "13758.45", "currency": "GBP", "promised_date": "2026-12-04", "contact": "Raj"}),
        ("morgan", "soylent will pay 5k, make that 6k, on friday", "log_promise_to_pay",
         {"amount": "6000.00", "promised_date": "2026-11-20"}),
        ("morgan", "Soylent just called back, 774.30 usd... today-ish, actually no they said wednesday",
         "log_promise_to_pay", {"amount": "774.30", "promised_date": "2026-11-18"}),
        ("morgan", "log promise: Soylent, USD 5,000.00, 2026-12-01, spoke w/ their FD", "log_promise_to_pay",
         {"contact": "FD"}),
        ("morgan", "soylent just promised $5,000 on friday, spoke to their AP lead Dominic", "log_promise_to_pay",
         {"contact": "Dominic"}),
        ("morgan", "hooli: €9,779.28 on 30/11, contact Léa Moreau (AP lead)", "log_promise_to_pay",
         {"contact": "Léa Moreau"}),
        ("charlie", "left vm for soylent AP again, no callback. note it pls", "add_note",
         {"customer": "9", "text": "left vm for soylent AP again, no callback"}),
        ("charlie", "note for soylent: they will call back tomorrow, log it", "add_note",
         {"text": "they will call back tomorrow"}),
        ("morgan", "what do acme europe and acme logistics owe us across the whole group?", "get_customer_exposure",
         {"customer": "1"}),
        ("morgan", "need a final-notice draft for Soylent pls", "draft_dunning_message", {"customer": "9", "level": 3}),
        ("morgan", "How has Soylent's credit score moved over the past year? Show me 6 points", "score_customer",
         {"history_points": 6}),
        ("morgan", "resolve dispute 5 with a full credit of the balance - the goods never arrived",
         "propose_dispute_update", {"dispute_id": 5, "status": "resolved", "write_off": True}),
        ("morgan", "check order release for soylent", "check_order_release", {"customer": "9"}),
        ("morgan", "what's the payment behaviour of city of riverwave?", "get_payment_behaviour", {"customer": "23"}),
    ],
)  # fmt: skip
def test_a_request_is_read_for_what_it_says(
    shared_url: str,  # noqa: F811
    user: str,
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    assert_answered_with(ask(shared_url, user, text), tool, expected)


@pytest.mark.parametrize(
    ("turns", "tool", "expected"),
    [
        (["what's the acme group's exposure?", "just Acme Corporation itself please, without Acme Europe and Acme "
          "Logistics"], "get_customer_exposure", {"customer": "1", "include_group": False}),
        (["check order release for soylent", "what if it was 35k instead"], "check_order_release",
         {"customer": "9", "order_amount": "35000.00"}),
        (["look up INV-2026-0000153", "there's a dispute on it isn't there? summarise"], "summarize_dispute",
         {"invoice_number": "INV-2026-0000153"}),
        (["pull up INV-2026-0000153", "they'll pay that one on friday, full amount, contact is Priya"],
         "log_promise_to_pay", {"invoice_numbers": ["INV-2026-0000153"], "promised_date": "2026-11-20",
                                "contact": "Priya"}),
    ],
)  # fmt: skip
def test_a_follow_up_acts_on_what_was_just_shown(
    shared_url: str,  # noqa: F811
    turns: list[str],
    tool: str,
    expected: dict[str, object],
) -> None:
    assert_answered_with(conversation(shared_url, "morgan", *turns)[-1], tool, expected)


def test_a_customer_the_user_cannot_see_is_said_not_dropped(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "cleo", "compare umbrella and globex payment behaviour")  # globex is cameron's
    assert not any(call.name == "get_payment_behaviour" for call in reply.tool_calls)
    assert "globex" in reply.text.lower() and "your book" in reply.text


def test_fx_forecast_is_out_of_scope(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "where's EUR/GBP heading next quarter?")
    assert not reply.tool_calls and "can't do that" in reply.text


def test_dated_look_ups_keep_their_date(ibm_url: str) -> None:  # noqa: F811
    rows = _ibm_rows()
    number = rows[0]["invoiceNumber"]
    paid = ask(ibm_url, "avery", f"was {number} paid by 30/04/2013?")
    call = last_call(paid, "get_invoice")
    assert (call.arguments["number"], call.arguments["as_of"]) == (number, "2013-04-30")
    brief = ask(ibm_url, "avery", "IBM: summarise dispute 1 as at 1 May 2013")
    assert last_call(brief, "summarize_dispute").arguments["as_of"] == "2013-05-01"


def test_both_answers_for_each_customer_offered(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "compare globex and initech exposure", "both")
    assert "Globex Industries" in replies[0].text and "Initech Ltd" in replies[0].text  # asked which one
    calls = [call for call in replies[-1].tool_calls if call.name == "get_customer_exposure"]
    assert [call.arguments["customer"] for call in calls] == ["4", "5"]
    held = conversation(shared_url, "morgan", "hold globex and initech orders", "both")[-1]
    assert not held.proposals and "one change per request" in held.text
