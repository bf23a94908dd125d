"""Conversations and forms a further independent writer's set showed the offline desk misreading (issue 12,
twentieth session): "both of them together" after two collectors' worklists is their books combined; "show me 24
months of history", "using a 90 day sales window", "and which ones kept theirs?", "make me the owner", "the 2nd one on
the list", "draft them a letter" after the one biggest account, "how does that compare w/ end of june", "ok propose 400k
then, reason: seasonal build-up" (the reason's words move nothing) and "they'll clear that one by the 27th" continue
what was just shown; "against their limit" is the customer's standing; "which 5 SMB accounts pay us the fastest?"
keeps its segment; a review "due this month" is due by its last day; a customer's code reads as a name to the
classifier ("payment trend for 6627-ELFBK"); cash applied, balances netted, statements mailed and terms changed by hand
are out of scope. A third set's: "do we have stock for …" is out of scope; "could we please request its release?" asks
for the release; "excl. the subsidiary" is the customer alone; "reassign it to me, ash is out" and "escalate to me"
make the user the owner; "send the final notice …, they've ignored the second reminder" is the final notice; "SO-… -
why is it held?" is the order's check, and "<customer> paid INV-… today - propose the release" carries that reason;
"is their order on hold?" checks the order; "Brilliant, thank you. And what about X?" continues the request; "… close
it as rejected" after the story is the update; "ok log a new one - €4,000 by 4 Dec, Elizabeth Tan again" logs it;
"and max open promises per customer?" after a policy answer is the policy; a reason's figures ("2y") are no amount.
On SQLite and PostgreSQL (the `shared_url` demo portfolio, the IBM sample); no pure parts."""

from __future__ import annotations

import pytest

from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import _ibm_rows, ibm_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import assert_answered_with


@pytest.mark.parametrize(
    ("user", "text", "tool", "expected"),
    [
        ("morgan", "hows globex lookin against their limit", "get_customer_exposure", {"customer": "4"}),
        ("morgan", "which 5 SMB accounts pay us the fastest?", "get_portfolio_summary",
         {"segments": ["SMB"], "payers": "earliest_first", "top_n": 5}),
        ("morgan", "customers with a limit review due this month that are over 75% utilised", "get_portfolio_summary",
         {"review_due_by": "2026-11-30", "min_utilisation_pct": "75"}),
        ("morgan", "soylent will pay INV-2026-0000272 on friday", "log_promise_to_pay",
         {"invoice_numbers": ["INV-2026-0000272"], "promised_date": "2026-11-20"}),
        ("morgan", "Good morning! Globex chased me again about their held order SO-0000006. They wired the payment on "
         "Friday - could we please request its release? Thank you!", "propose_order_release",
         {"order_number": "SO-0000006"}),
        ("avery", "acme corporation exposure excl. the subsidiaries", "get_customer_exposure",
         {"customer": "1", "include_group": False}),
        ("morgan", "Send the final notice to Soylent, they've ignored the second reminder", "propose_dunning_send",
         {"customer": "9", "level": 3}),
        ("morgan", "SO-0000006 - why is it held?", "check_order_release", {"order_number": "SO-0000006"}),
        ("morgan", "dispute 5 - the goods turned up after all and they've withdrawn the claim. close it as rejected",
         "propose_dispute_update", {"dispute_id": 5, "status": "rejected"}),
        ("morgan", "log promise: Soylent, 15k USD, 30/11, Dana Lee (AP mgr)", "log_promise_to_pay",
         {"contact": "Dana Lee", "amount": "15000.00"}),
    ],
)  # fmt: skip
def test_a_request_keeps_what_it_says(
    shared_url: str,  # noqa: F811
    user: str,
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    assert_answered_with(ask(shared_url, user, text), tool, expected)


@pytest.mark.parametrize(
    ("user", "turns", "tool", "expected"),
    [
        ("morgan", ["worklist for cameron", "now charlie's", "both of them together, only D and E risk"],
         "build_worklist", {"collectors": ["cameron", "charlie"], "risk_classes": ["D", "E"]}),
        ("avery", ["score hooli", "show me 24 months of history"], "score_customer",
         {"customer": "11", "history_points": 24}),
        ("morgan", ["DSO for north america", "using a 90 day sales window"], "get_portfolio_summary",
         {"regions": ["North America"], "period_months": 3}),
        ("charlie", ["which of my customers broke a promise this quarter", "and which ones kept theirs?"],
         "get_portfolio_summary", {"kept_promise_in_period": True, "broken_promise_in_period": None}),
        ("ash", ["open disputes at initech?", "move it to in review and make me the owner"], "propose_dispute_update",
         {"status": "in_review", "owner": "ash"}),
        ("avery", ["compare exposure for acme logistics and stark components please",
                   "the 2nd one on the list, what's their limit recommendation?"], "recommend_credit_limit",
         {"customer": "7"}),
        ("avery", ["score for umbrella health pls", "how does that compare w/ end of june"], "score_customer",
         {"customer": "6", "compare_to": "2026-06-30"}),
        ("avery", ["recommend a limit for stark", "ok propose 400k then, reason: seasonal build-up ahead of Q1"],
         "propose_credit_limit_change", {"customer": "7", "new_limit": "400000.00"}),
        ("charlie", ["INV-2026-0000272 status?", "soylent say they'll clear that one by the 27th, log it"],
         "log_promise_to_pay", {"invoice_numbers": ["INV-2026-0000272"], "promised_date": "2026-11-27"}),
        ("charlie", ["can u check the dispute on initech", "ok reassign it to me, casey is out this week"],
         "propose_dispute_update", {"owner": "charlie"}),
        ("morgan", ["what's going on with dispute 5?", "escalate to me"], "propose_dispute_update",
         {"owner": "morgan"}),
        ("morgan", ["SO-0000006 - why is it held?", "Globex paid INV-2026-0000126 today - propose the release"],
         "propose_order_release", {"order_number": "SO-0000006", "reason": "Globex paid INV-2026-0000126 today"}),
        ("sam", ["Hi, what's Globex's exposure at the moment?", "Thanks! Also - is their order on hold?"],
         "check_order_release", {"customer": "4"}),
        ("sam", ["Hi! Could you check if Wayne Enterprises' open order can ship?",
                 "Brilliant, thank you. And what about Initech?"], "check_order_release", {"customer": "5"}),
        ("cleo", ["What promises has Umbrella made this year?",
                  "ok log a new one - €4,000 by 4 Dec, Elizabeth Tan again"], "log_promise_to_pay",
         {"customer": "6", "amount": "4000.00", "contact": "Elizabeth Tan"}),
        ("ash", ["policy on promises more than 45 days out?", "and max open promises per customer?"], "search_policy",
         {}),
        ("avery", ["recommend limit Stark Components Inc",
                   "ok propose 90k - reason: rec supports it + 2y clean history"], "propose_credit_limit_change",
         {"new_limit": "90000.00"}),
    ],
)  # fmt: skip
def test_a_follow_up_continues_what_was_shown(
    shared_url: str,  # noqa: F811
    user: str,
    turns: list[str],
    tool: str,
    expected: dict[str, object],
) -> None:
    assert_answered_with(conversation(shared_url, user, *turns)[-1], tool, expected)


def test_them_after_the_one_biggest_account_is_that_account(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "biggest overdue account in the whole book?", "draft them a letter")
    ranked = last_call(replies[0], "get_portfolio_summary").result
    assert ranked is not None
    top = ranked["top_exposures"][0]["customer_id"]
    assert last_call(replies[1], "draft_dunning_message").arguments["customer"] == str(top)


def test_a_promise_of_an_invoice_is_its_open_amount(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "soylent will pay INV-2026-0000272 on friday")
    invoice = last_call(reply, "get_invoice").result
    assert invoice is not None
    assert last_call(reply, "log_promise_to_pay").arguments["amount"] == str(invoice["open_amount"])
    assert "read as the open amount of INV-2026-0000272" in reply.text


@pytest.mark.parametrize(
    "turns",
    [
        ["can you email umbrella's AP team a full statement of account?"],
        ["Globex just wired 40k – can you apply it against their oldest invoices?"],
        ["we owe stark for a parts order too — can you net it off against what they owe us and pay the difference"],
        ["what does hooli owe us", "ok change them to net 60 going forward"],
        ["do we have stock for the Soylent order?"],
    ],
)
def test_what_the_erp_does_is_out_of_scope(shared_url: str, turns: list[str]) -> None:  # noqa: F811
    reply = conversation(shared_url, "morgan", *turns)[-1]
    assert not reply.tool_calls and "can't do that" in reply.text
    assert not reply.proposals


def test_a_customer_code_reads_as_a_name(ibm_url: str) -> None:  # noqa: F811
    customer = _ibm_rows()[0]["customerID"]
    reply = ask(ibm_url, "avery", f"ibm: payment trend for {customer} up to 31/12/2013, by quarter")
    call = last_call(reply, "get_payment_behaviour")
    assert (call.arguments["as_of"], call.arguments["trend"]) == ("2013-12-31", "quarter")
