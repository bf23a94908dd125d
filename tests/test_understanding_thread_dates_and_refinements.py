"""Requests two more independent writers' sets showed the offline desk misreading (issue 12, nineteenth session): a
conversation held at a date stays there ("top 10 customers?" after open AR at 30 Nov 2012 is at that date, ranked by
the receivables just shown; "and at the end of june?" after 31 March 2013 is June 2013); a portfolio answer is refined
by "just Mid-Market", "exclude the disputed stuff", "how many of those …", "three biggest balances?", "now only the
disputed ones"; pending approvals by "just the limit changes from avery"; a worklist moved to other collectors by "now
casey and charlie together"; "how many have they broken?" after a customer's promise history; "why is SO-… on hold?"
is that order's check, and "ok, hold it - …" / "request a release then, <customer> wired the money" act on the order
just checked, with the reason given; how a figure is worked out and who may sign off are policy questions; "is
anything about to expire in my queue?" is the approvals queue; "please propose Initech at 50,000 - <reason>" and "bump
Soylent up twenty grand" are limit changes; a contact typed in lower case ("spoke to elizabeth tan") is no customer.
On SQLite and PostgreSQL (the `shared_url` demo portfolio, the IBM sample for the dated thread); the pure parts
without a database."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.planner.dates import date_mentions
from assistant.planner.entities import DATA_SOURCE_RE, Spans, bare_invoice_numbers, invoice_numbers
from assistant.planner.limit_change import terms_days
from assistant.planner.reasons import instruction_alone, stated_reason
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import _ibm_rows, ibm_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import _answering

MONDAY = date(2026, 11, 16)


def test_the_pure_readings() -> None:
    assert [m.day for m in date_mentions("DSO 406 vs 897 at EOM jan 2013", MONDAY, Spans())] == [date(2013, 1, 31)]
    assert [m.day for m in date_mentions("CEI for Q3 last year", MONDAY, Spans())] == [date(2025, 9, 30)]
    assert invoice_numbers("promised INV-2026-0000472 and 0473 by 30/11", Spans()) == [
        "INV-2026-0000472",
        "INV-2026-0000473",
    ]
    assert invoice_numbers("INV-2026-0000472 and 5000 by friday", Spans()) == ["INV-2026-0000472"]
    assert terms_days("new limit recommendation for peakcross, compare terms 30/45/90", Spans()) == [30, 45, 90]
    assert stated_reason("reduce their limit to 80k EUR. deteriorating score") == "deteriorating score"
    assert DATA_SOURCE_RE.search("share paid late in H1 2013 (ibm)") is not None
    assert DATA_SOURCE_RE.search("what was 9322-YCTQO carrying at end of march 2013? ibm set") is not None
    assert stated_reason("novafield paid the overdue bit this morning - please release it") == (
        "novafield paid the overdue bit this morning"
    )
    assert instruction_alone("Please propose Initech at £50,000 - frequent disputes but they do pay") == (
        "Please propose Initech at £50,000"
    )
    # figures after the dash are the request's own, never a reason to leave out
    text = "Record a promise from Thornton Group — AUD 30,000 on 1 Dec"
    assert instruction_alone(text) == text
    assert bare_invoice_numbers("inv 2026 0001215 status", Spans()) == ["INV-2026-0001215"]


def test_a_conversation_held_at_a_date_stays_there(ibm_url: str) -> None:  # noqa: F811
    ranked = conversation(ibm_url, "morgan", "IBM set: open AR at 30 Nov 2012", "top 10 customers?")[-1]
    call = last_call(ranked, "get_portfolio_summary")
    assert call.arguments["as_of"] == "2012-11-30" and call.arguments["rank_by"] == "open_receivables"

    customer = _ibm_rows()[0]["customerID"]
    later = conversation(ibm_url, "morgan", f"what did {customer} owe us at 31 march 2013", "and at the end of june?")
    assert last_call(later[-1], "get_customer_exposure").arguments["as_of"] == "2013-06-30"

    compared = ask(ibm_url, "morgan", "open AR at 31 May 2013 vs the same date in 2012 (ibm)")
    call = last_call(compared, "get_portfolio_summary")
    assert (call.arguments["as_of"], call.arguments["compare_to"]) == ("2013-05-31", "2012-05-31")

    ageing = ask(ibm_url, "avery", "ageing for IBM country 770 at 31/05/2013")  # "IBM" names the data, no customer
    call = last_call(ageing, "get_portfolio_summary")
    assert call.arguments["as_of"] == "2013-05-31" and call.arguments["regions"] == ["770"]

    now = conversation(ibm_url, "morgan", "IBM set: open AR at 30 Nov 2012", "and today?")[-1]
    assert "as_of" not in last_call(now, "get_portfolio_summary").arguments


@pytest.mark.parametrize(
    ("user", "turns", "tool", "expected"),
    [
        ("morgan", ["top 10 accounts by overdue", "just Mid-Market"], "get_portfolio_summary",
         {"rank_by": "overdue", "segments": ["Mid-Market"]}),
        ("morgan", ["DSO trend, 12 months", "just SMB"], "get_portfolio_summary",
         {"trend_months": 12, "segments": ["SMB"]}),
        ("morgan", ["how many customers do we have in EMEA", "how many of those are on watch or hold?"],
         "get_portfolio_summary", {"regions": ["EMEA"], "credit_statuses": ["Watch", "Hold"]}),
        ("morgan", ["overdue excl. disputed", "now only the disputed ones"], "get_portfolio_summary",
         {"exclude_disputed": None}),
        ("morgan", ["promise kept rate this quarter", "and YTD?"], "get_portfolio_summary",
         {"activity_period_start": "2026-01-01"}),
        ("morgan", ["what's waiting for my approval?", "just the limit changes from avery"],
         "list_pending_approvals", {"kind": "set_credit_limit", "proposed_by": "avery"}),
        ("morgan", ["show me cleo's worklist", "now casey and charlie together"], "build_worklist",
         {"collector": None, "collectors": ["casey", "charlie"]}),
        ("morgan", ["Soylent's promise history", "how many have they broken?"], "get_promise_history",
         {"customer": "9"}),
        ("sam", ["SO-0000005 and SO-0000006 are both Globex's right?", "check the second one for release"],
         "check_order_release", {"order_number": "SO-0000006"}),
        ("sam", ["Globex exposure", "can they take 5k more?"], "check_order_release",
         {"customer": "4", "order_amount": "5000.00"}),
        ("avery", ["Acme Europe exposure", "and the whole group incl. the parent?"], "get_customer_exposure",
         {"customer": "1"}),
        ("morgan", ["what does Globex owe in total, incl open orders", "how much of that is past due?"],
         "get_customer_exposure", {"customer": "4"}),
        ("morgan", ["Acme exposure", "when did Acme actually pay INV-2026-0000060"], "get_invoice",
         {"number": "INV-2026-0000060"}),
        ("morgan", ["Acme — what's overdue?", "and pull up INV-2026-0000060, the big one"], "get_invoice",
         {"number": "INV-2026-0000060"}),
        ("morgan", ["worklist for cleo", "as of 30 Sept?"], "build_worklist",
         {"collector": "cleo", "as_of": "2026-09-30"}),
        ("morgan", ["collections worklist, EMEA, min 10k overdue", "bump the min to 50k"], "build_worklist",
         {"region": "EMEA", "min_amount": "50000.00"}),
    ],
)  # fmt: skip
def test_a_follow_up_refines_the_answer_before(
    shared_url: str,  # noqa: F811
    user: str,
    turns: list[str],
    tool: str,
    expected: dict[str, object],
) -> None:
    arguments = last_call(conversation(shared_url, user, *turns)[-1], tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("user", "text", "tool"),
    [
        ("sam", "why is SO-0000006 on hold?", "check_order_release"),
        ("morgan", "how much is Globex into us for these days?", "get_customer_exposure"),
        ("sam", "how is utilisation worked out? does it include open orders?", "search_policy"),
        ("avery", "how much weight does the PAYDEX score carry in the scorecard?", "search_policy"),
        ("casey", "can I sign off a 30k ptp myself or does someone need to approve it", "search_policy"),
        ("morgan", "is anything about to expire in my queue? don't want to lose stuff to the 72h clock",
         "list_pending_approvals"),
        ("sam", "is there room for 8 grand more on Globex Industries", "check_order_release"),
        ("sasha", "do we have stock of the blue widgets for Acme Europe?", None),
        ("morgan", "dispute 8: reject it, we've got proof there was only one invoice billed",
         "propose_dispute_update"),
    ],
)  # fmt: skip
def test_a_request_reaches_its_tool(shared_url: str, user: str, text: str, tool: str | None) -> None:  # noqa: F811
    reply = ask(shared_url, user, text)
    if tool is None:
        assert not reply.tool_calls and "can't do that" in reply.text  # out of scope: nothing is run
    else:
        assert _answering(reply) == tool


def test_another_invoice_of_the_series_by_its_last_digits(shared_url: str) -> None:  # noqa: F811
    first = ask(shared_url, "morgan", "status of INV-2026-0000060?")
    number = last_call(first, "get_invoice").arguments["number"]
    following = ask(shared_url, "morgan", "and 061?", [first])
    assert number == "INV-2026-0000060"
    assert last_call(following, "get_invoice").arguments["number"] == "INV-2026-0000061"


def test_anything_of_mine_is_what_i_proposed(shared_url: str) -> None:  # noqa: F811
    call = last_call(ask(shared_url, "sam", "anything of mine still pending?"), "list_pending_approvals")
    assert call.arguments["proposed_by"] == "sam"
    call = last_call(ask(shared_url, "morgan", "pending order releases that sam put in?"), "list_pending_approvals")
    assert call.arguments["proposed_by"] == "sam" and call.arguments["kind"] == "release_order_hold"


def test_an_order_just_checked_is_held_or_released_with_the_reason_given(shared_url: str) -> None:  # noqa: F811
    held = conversation(shared_url, "morgan", "can SO-0000005 ship?", "ok, hold it - they've missed two promises")
    call = last_call(held[-1], "propose_order_hold")
    assert call.arguments["order_number"] == "SO-0000005" and "missed two promises" in call.arguments["reason"]

    released = conversation(
        shared_url, "sam", "why is SO-0000006 on hold?", "request a release then, Globex wired the money on friday"
    )
    call = last_call(released[-1], "propose_order_release")
    assert call.arguments["order_number"] == "SO-0000006" and "wired the money" in call.arguments["reason"]


def test_limit_changes_read_through_their_reasons(shared_url: str) -> None:  # noqa: F811
    proposed = ask(shared_url, "avery", "Please propose Initech at 50,000 - frequent disputes but they do pay")
    call = last_call(proposed, "propose_credit_limit_change")
    assert call.arguments["new_limit"] in ("50000", "50000.00") and "frequent disputes" in call.arguments["reason"]

    bumped = ask(shared_url, "avery", "bump Soylent up twenty grand, they've caught up on the old invoices")
    call = last_call(bumped, "propose_credit_limit_change")
    assert call.arguments["change_by"] in ("20000", "20000.00") and call.arguments["customer"] == "9"


def test_a_contact_typed_in_lower_case_is_no_customer(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "spoke to elizabeth tan, Umbrella will pay 5k on friday")
    call = last_call(reply, "log_promise_to_pay")
    assert call.arguments["customer"] == "6" and call.arguments["contact"] == "elizabeth tan"
