"""Requests that name a share or a balance instead of a figure, and wordings the offline desk misread (issue 12,
fourteenth session): a limit doubled, halved or moved by a percentage is the current limit scaled, never the
policy's figure; "down by 30k" lowers; "80k -> 100k" is the new limit; a raise is never proposed as a cut; a promise
of "the overdue" or "everything" is that balance, looked up; "how much credit is X using", "what's unpaid" are the
customer's exposure; "creditworthiness", "PD", "what class" are the score; "since september" and "since the start of
the quarter" are comparisons; "class C or worse" is C, D and E; invoice numbers typed short and business words
abbreviated in names; "close the dispute on initech" is its one active dispute; "the third one - what do they owe"
after a worklist and "how does that compare with last quarter" after a score point back into the thread. On SQLite
and PostgreSQL (the `shared_url` demo portfolio); the pure parts without a database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from assistant.planner.comparisons import compared_date
from assistant.planner.entities import DATA_SOURCE_RE, Spans, money_mentions, risk_classes
from assistant.planner.limit_change import from_current_to_new, limit_factor
from assistant.types import AssistantReply
from db.engine import read_session
from db.models import Customer, Dispute, DisputeStatus, Invoice
from db.queries.invoices import typed_short_spellings
from tests.support import clock
from tests.test_customer_resolution import _index
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tools.name_matching import match_name

SHOWCASE = ("Acme Corporation", "Globex Industries", "Initech", "Umbrella Health", "Stark Components", "Hooli")


def _current_limit(reply: AssistantReply) -> Decimal:
    return Decimal(str(last_call(reply, "recommend_credit_limit").result["current_limit"]))


def _proposed(reply: AssistantReply) -> dict[str, Any]:
    return dict(last_call(reply, "propose_credit_limit_change").arguments)


# --- a limit moved by a share of itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "factor"),
    [
        ("double stark's credit line", Decimal(2)),
        ("increase initech credit limit 25% pls", Decimal("1.25")),
        ("cut globex's limit by 10%", Decimal("0.9")),
        ("halve umbrella's limit", Decimal("0.5")),
        ("hooli limit up 20 percent", Decimal("1.2")),
    ],
)
def test_a_share_of_the_limit_scales_the_current_limit(
    shared_url: str,  # noqa: F811
    text: str,
    factor: Decimal,
) -> None:
    reply = ask(shared_url, "morgan", text)
    current = _current_limit(reply)
    assert Decimal(_proposed(reply)["new_limit"]) == (current * factor).quantize(Decimal("0.01"))


def test_a_percentage_with_no_direction_is_asked(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "propose initech's limit 20%")
    assert not [c for c in reply.tool_calls if c.name == "propose_credit_limit_change"]
    assert "up or down" in reply.text


def test_down_by_an_amount_lowers_the_limit(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "take umbrella health's limit down by 5k, review in 3 months")
    assert Decimal(_proposed(reply)["change_by"]) == Decimal(-5000)


def test_an_arrow_goes_from_the_current_limit_to_the_new_one(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "request limit change: vandelay 80k -> 100k")
    assert Decimal(_proposed(reply)["new_limit"]) == Decimal(100000)


@pytest.mark.parametrize("customer", SHOWCASE)
def test_a_raise_asked_for_is_never_proposed_as_a_cut(shared_url: str, customer: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", f"propose a limit increase for {customer}")
    proposals = [c for c in reply.tool_calls if c.name == "propose_credit_limit_change" and c.error is None]
    if proposals:
        assert Decimal(proposals[-1].arguments["new_limit"]) > _current_limit(reply)
    else:
        assert "not a raise" in reply.text or "already" in reply.text or "to how much?" in reply.text


def test_shares_without_a_database() -> None:
    assert limit_factor("double their line") == 2
    assert limit_factor("reduce wayne's limit by half") == Decimal("0.5")
    assert limit_factor("lower it 15 %") == Decimal("0.85")
    assert limit_factor("give them 10% more") == Decimal("1.1")
    assert limit_factor("initech 20%") == "unclear"
    assert limit_factor("cut it by 100%") == "unclear"
    assert limit_factor("raise hooli to 100k") is None
    text = "vandelay 80k -> 100k"
    mentions = money_mentions(text, Spans())
    assert [m.amount for m in from_current_to_new(text, mentions)] == [Decimal(100000)]


# --- a promise of a balance -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("acme corp will settle all the overdue by friday", "overdue"),
        ("globex promised to pay everything next wednesday", "open_receivables"),
    ],
)
def test_a_promise_of_a_balance_is_that_balance(shared_url: str, text: str, figure: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    balance = Decimal(str(last_call(reply, "get_customer_exposure").result["figures"][figure]))
    promises = [c for c in reply.tool_calls if c.name == "log_promise_to_pay"]
    if balance > 0:
        assert Decimal(promises[-1].arguments["amount"]) == balance
        assert "read as" in reply.text
    else:
        assert not promises and "nothing to promise" in reply.text


def test_a_promise_with_no_figure_and_no_balance_named_asks_how_much(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "globex will pay on friday")
    assert not [c for c in reply.tool_calls if c.name == "log_promise_to_pay"]
    assert "How much" in reply.text


def test_clearing_a_balance_on_a_day_is_a_promise(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "globex will clear their balance on friday")
    assert "log_promise_to_pay" in [c.name for c in reply.tool_calls] or "nothing to promise" in reply.text


# --- wordings read as the customer's figures, its score, a comparison ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("how much credit is umbrella using right now", "get_customer_exposure"),
        ("how much of globex's limit is left", "get_customer_exposure"),
        ("hooli: what's unpaid", "get_customer_exposure"),
        ("stark components - any unpaid invoices?", "get_customer_exposure"),
        ("creditworthiness of umbrella health", "score_customer"),
        ("PD for stark components", "score_customer"),
        ("what class is hooli in", "score_customer"),
        ("how much credit should we give umbrella", "recommend_credit_limit"),
        ("is stark's 77k limit still right?", "recommend_credit_limit"),
        ("how much more can vandelay buy before hitting their limit", "get_customer_exposure"),
    ],
)
def test_wordings_reach_their_tool(shared_url: str, text: str, tool: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    answering = [c.name for c in reply.tool_calls if c.name != "resolve_customer"]
    assert answering and answering[-1] == tool, (answering, reply.text[:200])


def test_a_month_named_after_since_is_its_month_end(shared_url: str) -> None:  # noqa: F811
    today = clock.today()
    month = 6 if today.month != 6 else 5
    year = today.year if month < today.month else today.year - 1
    month_end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    name = date(2000, month, 1).strftime("%B").lower()
    reply = ask(shared_url, "avery", f"how did acme's score move since {name}")
    assert str(last_call(reply, "score_customer").arguments["compare_to"]) == month_end.isoformat()


# --- numbers and names typed short ----------------------------------------------------------------------------


def test_an_invoice_number_typed_short_finds_the_invoice(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        number = session.scalars(
            select(Invoice.number).where(Invoice.number.like("INV-____-000%")).order_by(Invoice.id).limit(1)
        ).one()
    year, digits = number.split("-")[1:]
    for typed in (f"inv {year}-{int(digits)}", f"invoice {year}-{digits}"):
        reply = ask(shared_url, "morgan", f"when is {typed} due?")
        assert last_call(reply, "get_invoice").result["number"] == number, typed


def test_short_spellings_of_an_invoice_number() -> None:
    spellings = typed_short_spellings("INV-2026-5797")
    assert "INV-2026-0005797" in spellings and "INV-2026-5797" not in spellings
    assert "INV-2026-0001620" in typed_short_spellings("2026-0001620")
    assert typed_short_spellings("no digits") == []


def test_business_words_abbreviated_in_a_name() -> None:
    index = _index(["Cedarwick International PLC", "Cedarwick Stores SARL", "Northgate Holdings Ltd"])
    for typed, meant in (("cedarwick intl", 1), ("northgate hldgs", 3)):
        ranked, decisive = match_name(index, typed, 5)
        assert decisive and index.ids[ranked[0][0]] == meant, typed
    ranked, decisive = match_name(index, "cedarwick", 5)
    assert not decisive and len(ranked) == 2


def test_a_class_or_worse_is_that_class_and_the_riskier_ones() -> None:
    assert risk_classes("worklist for EMEA customers in risk class C or worse", Spans()) == ["C", "D", "E"]
    assert risk_classes("class B and above", Spans()) == ["A", "B"]
    assert risk_classes("classes D and E", Spans()) == ["D", "E"]


def test_since_the_start_of_this_period_compares_with_its_eve() -> None:
    today = date(2026, 11, 16)
    assert compared_date("how did overdue change since the start of the quarter", today, Spans()) == (
        date(2026, 9, 30),
        "since the start of the quarter",
    )
    assert compared_date("CEI since the start of the year", today, Spans()) is None  # a period, not a comparison


# --- a customer's one dispute -------------------------------------------------------------------------------------


def _customer_with_one_active_dispute(url: str) -> tuple[str, int]:
    with read_session(url) as session:
        rows = session.execute(
            select(Customer.name, func.min(Dispute.id))
            .join(Dispute, Dispute.customer_id == Customer.id)
            .where(Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.IN_REVIEW]))
            .group_by(Customer.name)
            .having(func.count(Dispute.id) == 1)
            .order_by(Customer.name)
        ).all()
    assert rows, "the demo portfolio has customers with one active dispute"
    return rows[0][0], int(rows[0][1])


@pytest.mark.parametrize(
    ("template", "status"),
    [
        ("close the dispute on {name}, credit note issued", "resolved"),
        ("reject {name}'s dispute - POD signed", "rejected"),
    ],
)
def test_the_dispute_of_a_customer_with_only_one(shared_url: str, template: str, status: str) -> None:  # noqa: F811
    name, dispute_id = _customer_with_one_active_dispute(shared_url)
    arguments = last_call(ask(shared_url, "morgan", template.format(name=name)), "propose_dispute_update").arguments
    assert (arguments["dispute_id"], arguments["status"]) == (dispute_id, status)


# --- follow-ups that can only point back into the thread ---------------------------------------------------------


def test_a_row_of_the_worklist_asked_about_is_that_account(shared_url: str) -> None:  # noqa: F811
    listed, answer = conversation(
        shared_url, "morgan", "worklist for the whole team", "the third one - what do they owe"
    )
    third = last_call(listed, "build_worklist").result["rows"][2]["customer"]["id"]
    assert str(last_call(answer, "get_customer_exposure").arguments["customer"]) == str(third)


def test_a_score_compared_with_an_earlier_date_is_that_customer_s(shared_url: str) -> None:  # noqa: F811
    _, answer = conversation(shared_url, "avery", "score hooli", "how does that compare with last quarter")
    arguments = last_call(answer, "score_customer").arguments
    quarter_start = date(clock.today().year, (clock.today().month - 1) // 3 * 3 + 1, 1)
    assert str(arguments["compare_to"]) == (quarter_start - timedelta(days=1)).isoformat()
    assert "get_portfolio_summary" not in [c.name for c in answer.tool_calls]


# --- what the desk does not do or keep ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["write off initech's overdue balance", "pls waive the late fees on globex", "how much did we write off last year"],
)
def test_write_offs_and_waivers_are_not_the_desk_s(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert not [c for c in reply.tool_calls if c.name != "resolve_customer"]
    assert "can't do that" in reply.text


# --- limit changes as staff type them ------------------------------------------------------------------------------


def _in_days(days: int) -> date:
    return clock.today() + timedelta(days=days)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("take 20 grand off globex's limit, slow payer", {"change_by": "-20000.00"}),
        ("reduce globex by 5k. they're 36 days late on a 100k invoice", {"change_by": "-5000.00"}),
        ("drop umbrella health to €10k — too much sitting past 120", {"new_limit": "10000.00"}),
        ("can we lift globex by $5,000? they've just cleared the big overdue one", {"change_by": "5000.00"}),
        ("new limit 90k for hooli, reason strong financials", {"new_limit": "90000.00"}),
        (
            f"temporary bump for hooli: +20k until {_in_days(40):%d/%m/%Y} to cover the launch order",
            {"change_by": "20000.00", "review_date": _in_days(40).isoformat()},
        ),
    ],
)
def test_limit_changes_as_staff_type_them(shared_url: str, text: str, expected: dict[str, Any]) -> None:  # noqa: F811
    proposed = _proposed(ask(shared_url, "morgan", text))
    assert {key: str(proposed.get(key)) for key in expected} == expected


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("Is Globex over limit?", "get_customer_exposure"),
        ("could you raise a credit note for initech and email it to their AP team?", None),
    ],
)
def test_over_limit_is_the_exposure_and_a_credit_note_is_not_ours(
    shared_url: str,  # noqa: F811
    text: str,
    tool: str | None,
) -> None:
    reply = ask(shared_url, "morgan", text)
    answering = [c.name for c in reply.tool_calls if c.name != "resolve_customer"]
    assert answering[-1:] == ([tool] if tool else []), reply.text[:200]


def test_short_currency_symbols_and_a_data_set_label() -> None:
    assert [(m.amount, m.currency) for m in money_mentions("ship a C$40k order", Spans())] == [
        (Decimal("40000.00"), "CAD")
    ]
    assert [m.currency for m in money_mentions("S$300 and AU$ 5k", Spans())] == ["SGD", "AUD"]
    assert DATA_SOURCE_RE.search("IBM: invoice 9632048192, status at 31/08/2012") is not None
    assert DATA_SOURCE_RE.search("how much was under dispute in the IBM book on 31/10/2012?") is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Customers on Hold or Stop with more than 50k owing",
            {"credit_statuses": ["Hold", "Stop"], "min_balance": "50000.00", "group_by": "customer"},
        ),
        ("who's got invoices sitting 31 to 60 days past due?", {"group_by": "customer", "min_days_past_due": 31}),
        ("who owes us the most past-due money?", {"top_n": 1, "rank_by": "overdue"}),
    ],
)
def test_lists_minimums_and_one_customer(shared_url: str, text: str, expected: dict[str, Any]) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", text), "get_portfolio_summary").arguments
    assert {key: arguments.get(key) for key in expected} == expected


def test_a_quoted_name_is_looked_up_as_typed(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "find me the customer record for 'hooli cloud'")
    queries = [c.arguments["query"] for c in reply.tool_calls if c.name == "resolve_customer"]
    assert queries[0] == "hooli cloud"
    assert last_call(reply, "resolve_customer").result["customer"]["name"] == "Hooli Cloud Inc"


@pytest.mark.parametrize("text", ["can we do 60k for stark components?", "umbrella on hold?"])
def test_no_word_says_which_so_the_desk_asks(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert reply.choices and len(reply.choices) >= 2, reply.text[:200]
    assert not [c for c in reply.tool_calls if c.name != "resolve_customer"]


def test_is_it_on_hold_is_the_status(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "is umbrella on hold?")
    assert last_call(reply, "get_customer_exposure").error is None
