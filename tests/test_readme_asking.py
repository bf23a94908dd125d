"""The README's "Asking the desk" table does what it says: each phrasing it shows reaches the capability it names, on
the demo portfolio, with nothing asked back (the table shows answers, not questions)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import read_session
from db.models.receivables import Invoice
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
TABLE = README[README.index("| you write | it does |") :].split("\n\n", 1)[0]

# (who asks, the phrasing as the README writes it, the tool that answers; None: no tool runs)
PHRASINGS = [
    ("sam", "sorry to bother you, the buyer is on the phone — are we ok to release 25k for Hooli?",
     "check_order_release"),
    ("avery", "how exposed are we on Umbrella Health?", "get_customer_exposure"),
    ("avery", "what line would you give Vandelay?", "recommend_credit_limit"),
    ("avery", "bump Hooli's line by 15k", "propose_credit_limit_change"),
    ("avery", "if we gave Vandelay net 60 instead, what limit would that support?", "recommend_credit_limit"),
    ("avery", "was Globex's last promise kept?", "get_promise_history"),
    ("avery", "average days late for Globex", "get_payment_behaviour"),
    ("avery", "what's the status of inv-2026-0000123?", "get_invoice"),  # the number: one of the demo's
    ("morgan", "what's waiting for my approval?", "list_pending_approvals"),
    ("avery", "what's the customer id for Initech?", "resolve_customer"),
    ("morgan", "what's the open PTP on Soylent and when's it due?", "get_promise_history"),
    ("morgan", "soylent will pay 5k, make that 6k, on friday", "log_promise_to_pay"),
    ("charlie", "left vm for soylent AP again, no callback. note it pls", "add_note"),
    ("morgan", "Wayne signed the 3-year supply contract. Can you put through a +250k limit increase?",
     "propose_credit_limit_change"),
    ("sam", "why is the Globex order on hold?", "check_order_release"),
    ("avery", "is it safe to go to 150k on Globex's limit?", "recommend_credit_limit"),
    ("sam", "is Globex on any kind of credit block? they want to order again", "check_order_release"),
    ("sam", "can Vandelay place a new order?", "check_order_release"),
    ("morgan", "60+ days overdue for UK customers, disputes excluded", "get_portfolio_summary"),
    ("morgan", "customers above their limit", "get_portfolio_summary"),
    ("morgan", "who owes us more than 750k?", "get_portfolio_summary"),
    ("morgan", "limit reviews coming due by EOM - which accounts?", "get_portfolio_summary"),
    ("morgan", "the 5 customers with the most overdue in EMEA", "get_portfolio_summary"),
    ("morgan", "biggest past-due customer at September month end", "get_portfolio_summary"),
    ("morgan", "top 10 exposures by region", "get_portfolio_summary"),
    ("morgan", "open AR by industry for NA customers", "get_portfolio_summary"),
    ("morgan", "overdue UK vs Germany", "get_portfolio_summary"),
    ("morgan", "ADD for canadain customers at the end of H1", "get_portfolio_summary"),
    ("morgan", "5 worst payers in EMEA", "get_portfolio_summary"),
    ("morgan", "bottom 5 by overdue", "get_portfolio_summary"),
    ("morgan", "our three best payers", "get_portfolio_summary"),
    ("morgan", "count of invoices open at the end of last year", "get_portfolio_summary"),
    ("morgan", "DSO using the trailing 90 days of sales", "get_portfolio_summary"),
    ("morgan", "DSO this quarter compared with last", "get_portfolio_summary"),
    ("morgan", "what changed in the book since last week", "get_portfolio_summary"),
    ("morgan", "open AR vs the end of Q3", "get_portfolio_summary"),
    ("sam", "Hooli wants to order twenty thousand dollars worth, ok?", "check_order_release"),
    ("avery", "umbrella avg days to pay over the last 12m", "get_payment_behaviour"),
    ("avery", "whats initech's outstandng", "get_customer_exposure"),
    ("avery", "raise Stark's limit by half a million given the new contract, review in 6 months",
     "propose_credit_limit_change"),
    ("avery", "how has Umbrella's score moved since the end of June?", "score_customer"),
    ("avery", "Stark limit change: (1,000) - 3 broken promises", "propose_credit_limit_change"),
    ("avery", "double Stark's credit line", "propose_credit_limit_change"),
    ("morgan", "cut Globex's limit by 10%", "propose_credit_limit_change"),
    ("morgan", "take 20 grand off Initech's limit", "propose_credit_limit_change"),
    ("morgan", "open AR compared to this time last year", "get_portfolio_summary"),
    ("morgan", "Globex says they'll pay 18k a week from today (spoke w/ Mark)", "log_promise_to_pay"),
    ("sam", "can we get Globex's held order released? they paid", "propose_order_release"),
    ("avery", "how late has Globex been paying since June?", "get_payment_behaviour"),
    ("avery", "Globex's share of invoices paid late YTD", "get_payment_behaviour"),
    ("morgan", "disputed balance split by region", "get_portfolio_summary"),
    ("morgan", "how many APAC customers owe us 50k or more?", "get_portfolio_summary"),
    ("morgan", "reject dispute 12 - the charge was correct as invoiced", "propose_dispute_update"),
    ("morgan", "list customers at 90% utilization or higher", "get_portfolio_summary"),
    ("cleo", "which of my accounts have an open PTP?", "get_portfolio_summary"),
    ("morgan", "promise kept rate YTD by collector", "get_portfolio_summary"),
    ("morgan", "avg dispute cycle time this year", "get_portfolio_summary"),
    ("cameron", "ugh globex ghosted me again. anyway - what's my disputed total?", "get_portfolio_summary"),
    ("morgan", "fyi boss is asking - ADD for mid-market this quarter", "get_portfolio_summary"),
    ("morgan", "globex says 20 grand by end of motnh", "log_promise_to_pay"),
    ("morgan", "what happened with dsipute 12 in the end", "summarize_dispute"),
    ("morgan", "provisioning percentage for debts more than 120 days past due?", "search_policy"),
    ("casey", "can a PTP over 25k get auto approved?", "search_policy"),
    ("morgan", "which customers kept their promises this quarter?", "get_portfolio_summary"),
    ("morgan", "find me every customer with 'acme' in the name", "resolve_customer"),
    ("avery", "is Globex getting slower at paying?", "get_payment_behaviour"),
    ("sam", "globex wants another 15k of product, are they blocked?", "check_order_release"),
    ("morgan", "our DSO went up between Q2 and Q3 - why?", "get_portfolio_summary"),
    ("avery", "glboex's score and risk class?", "score_customer"),
    ("morgan", "put globex on stop", None),
    ("avery", "book me a flight", None),
]  # fmt: skip


def test_the_table_lists_every_phrasing_tested_here() -> None:
    quoted = set(re.findall(r"“([^”]+)”|\"([^\"]+)\"", TABLE))
    shown = {a or b for a, b in quoted}
    for _, text, _ in PHRASINGS:
        assert text in shown, text


@pytest.mark.parametrize(("who", "text", "tool"), PHRASINGS, ids=[p[1][:40] for p in PHRASINGS])
def test_each_phrasing_reaches_its_capability(
    shared_url: str,  # noqa: F811 - the imported fixture
    who: str,
    text: str,
    tool: str | None,
) -> None:
    if tool == "get_invoice":  # invoice numbers carry the year the demo's history starts
        with read_session(shared_url) as session:
            number = session.scalars(select(Invoice.number).order_by(Invoice.id)).first()
        assert number is not None
        text = re.sub(r"inv-\d{4}-\d+", number.lower(), text)
    reply = ask(shared_url, who, text)
    assert not reply.choices, reply.text
    if tool is None:
        assert not reply.tool_calls and "I can't do that" in reply.text
        return
    call = last_call(reply, tool)
    if tool == "search_policy":  # this fixture has no policy index: the routing is what is shown here
        assert call.error is None or call.error_code == "not_configured", call.error
        return
    assert call.error is None, call.error
    assert reply.error is None, reply.text


def test_the_slots_the_table_promises(shared_url: str) -> None:  # noqa: F811
    order = last_call(ask(shared_url, "sam", "Hooli wants to order twenty thousand dollars worth, ok?"),
                      "check_order_release")  # fmt: skip
    assert Decimal(order.arguments["order_amount"]) == 20000
    raised = last_call(
        ask(shared_url, "avery", "raise Stark's limit by half a million given the new contract, review in 6 months"),
        "propose_credit_limit_change",
    )
    assert Decimal(raised.arguments["change_by"]) == 500000 and "the new contract" in raised.arguments["reason"]
    assert raised.arguments["review_date"] is not None
    months = last_call(ask(shared_url, "avery", "umbrella avg days to pay over the last 12m"), "get_payment_behaviour")
    assert months.result is not None and months.result["customer"]["name"].startswith("Umbrella")
    compared = last_call(ask(shared_url, "morgan", "open AR vs the end of Q3"), "get_portfolio_summary")
    assert compared.arguments["compare_to"] == compared.result["compared"]["as_of"]
    assert compared.arguments["compare_to"].endswith("-09-30")


def test_the_follow_ups_bind_to_the_thread(shared_url: str) -> None:  # noqa: F811
    owed = conversation(shared_url, "avery", "how exposed are we on Umbrella Health?", "what do they owe incl orders")
    first = last_call(owed[0], "get_customer_exposure").arguments["customer"]
    assert last_call(owed[1], "get_customer_exposure").arguments["customer"] == first
    scored = conversation(shared_url, "avery", "how exposed are we on Umbrella Health?", "and their score?")
    assert last_call(scored[1], "score_customer").arguments["customer"] == first
    orders = conversation(shared_url, "sam", "can Stark's SO-0000009 ship?", "and the other one, 10?")
    assert last_call(orders[1], "check_order_release").arguments["order_number"] == "SO-0000010"
    proposed, meant = conversation(
        shared_url, "morgan", "bump Hooli's line by 15k", "sorry, wrong one - i meant Initech"
    )
    assert last_call(meant, "propose_credit_limit_change").arguments["customer"] == "5"
    assert f"The earlier proposal #{proposed.proposals[0].id} is still pending" in meant.text
