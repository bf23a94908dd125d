"""The same request in a staff member's own wording (issue 12): a greeting or an aside before it, a request or
calendar word mistyped, a staff handle one letter from an ordinary word. Each must reach the tool with the same
arguments as the plain request. On SQLite and PostgreSQL (the `shared_url` demo portfolio)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.dates import month_end
from tests.support import clock
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import CUSTOMER_IDS


@pytest.mark.parametrize(
    "opening",
    [
        "fyi boss is asking - ",
        "hey, quick one - ",
        "Hi team, ",
        "morning! ",
        "sorry to bug you, ",
        "when you get a sec, ",
    ],
)
def test_a_greeting_or_aside_before_the_request_is_no_part_of_it(shared_url: str, opening: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", opening + "pls note on vandelay that they want statements by email only")
    assert last_call(reply, "add_note").arguments["customer"] == CUSTOMER_IDS["Vandelay"]


@pytest.mark.parametrize(
    ("first", "then", "tool"),
    [
        ("soylent's score", "hey, quick one - and their promise record?", "get_promise_history"),
        ("what does globex owe?", "can you tell me and at the end of last month?", "get_customer_exposure"),
    ],
)
def test_a_follow_up_after_a_greeting_still_follows_up(shared_url: str, first: str, then: str, tool: str) -> None:  # noqa: F811
    reply = conversation(shared_url, "morgan", first, then)[-1]
    assert last_call(reply, tool).arguments["customer"] in ("9", CUSTOMER_IDS["Globex"])  # Soylent is 9
    assert [c.name for c in reply.tool_calls if c.name != "resolve_customer"] == [tool]


def test_an_order_number_at_the_start_is_no_greeting(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "so-0000011 , will that one ship this week")
    assert last_call(reply, "check_order_release").arguments["order_number"] == "SO-0000011"


@pytest.mark.parametrize(
    ("text", "tool", "expected"),
    [
        ("globex says 20 grand by end of motnh", "log_promise_to_pay",
         {"promised_date": month_end(clock.today()).isoformat(), "amount": "20000.00"}),
        ("overdue by region as of yesterdya", "get_portfolio_summary",
         {"as_of": (clock.today() - timedelta(days=1)).isoformat(), "group_by": "region"}),
        ("whats globex's outstandng", "get_customer_exposure", {"customer": CUSTOMER_IDS["Globex"]}),
        ("dsipute 1 -> in review, they sent over their prcie list", "propose_dispute_update",
         {"dispute_id": 1, "status": "in_review"}),
        ("move globex over to chralie", "propose_collector_assignment",
         {"customer": CUSTOMER_IDS["Globex"], "collector": "charlie"}),
        ("would a 40k order stlil go through for globex?", "check_order_release",
         {"customer": CUSTOMER_IDS["Globex"], "order_amount": "40000.00"}),
        ("globex exposrue", "get_customer_exposure", {"customer": CUSTOMER_IDS["Globex"]}),
    ],
)  # fmt: skip
def test_a_mistyped_request_calendar_staff_or_everyday_word_reads_as_the_word_meant(
    shared_url: str,  # noqa: F811
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    arguments = last_call(ask(shared_url, "morgan", text), tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected


def test_a_staff_handle_is_not_corrected_to_a_word(shared_url: str) -> None:  # noqa: F811
    # "avery" is one letter from "every": it stays the analyst who proposed
    arguments = last_call(ask(shared_url, "morgan", "what has avery proposed that's still pending"),
                          "list_pending_approvals").arguments  # fmt: skip
    assert arguments.get("proposed_by") == "avery"


@pytest.mark.parametrize(
    ("who", "context", "text", "tool", "expected"),
    [
        ("morgan", (), "customers whose limit review falls due by EOM", "get_portfolio_summary",
         {"review_due_by": month_end(clock.today()).isoformat()}),
        ("morgan", (), "risk class breakdown of overdue", "get_portfolio_summary", {"group_by": "risk_class"}),
        ("morgan", (), "12 month DSO trend", "get_portfolio_summary", {"trend_months": 12}),
        ("morgan", (), "overdue for EMEA and APAC side by side", "get_portfolio_summary",
         {"group_by": "region", "regions": ["APAC", "EMEA"]}),
        ("morgan", (), "whats overdue in germany, leave out anything disputed", "get_portfolio_summary",
         {"exclude_disputed": True}),
        ("morgan", ("AUD + SGD overdue, how much?",), "now split that by collector", "get_portfolio_summary",
         {"group_by": "collector", "currencies": ["AUD", "SGD"]}),
        ("morgan", (), "who are the 5 quickest payers in emea", "get_portfolio_summary",
         {"top_n": 5, "payers": "earliest_first"}),
        ("morgan", (), "putting the board pack together tonight - open AR as at end of last month",
         "get_portfolio_summary",
         {"as_of": (clock.today().replace(day=1) - timedelta(days=1)).isoformat()}),
        ("morgan", ("globex exposure at end of last month",), "score as at that date too", "score_customer",
         {"customer": CUSTOMER_IDS["Globex"], "as_of": (clock.today().replace(day=1) - timedelta(days=1)).isoformat()}),
        ("morgan", (), "firm reminder to globex pls", "draft_dunning_message", {"customer": CUSTOMER_IDS["Globex"]}),
        ("morgan", ("what does globex owe", "how late are they paying"), "draft them a firm one then",
         "draft_dunning_message", {"customer": CUSTOMER_IDS["Globex"], "tone": "firm"}),
        ("morgan", ("globex exposure?",), "add a note - AP contact is now priya.s@globex.example", "add_note",
         {"customer": CUSTOMER_IDS["Globex"], "text": "AP contact is now priya.s@globex.example"}),
        ("morgan", (), "Provisioning percentage for debts more than 120 days past due?", "search_policy", {}),
        ("casey", (), "can a PTP over 25k get auto approved?", "search_policy", {}),
        ("morgan", ("score for globex",), "is their paying getting worse? quarterly trend pls", "get_payment_behaviour",
         {"customer": CUSTOMER_IDS["Globex"]}),
        ("morgan", (), "what happened with dispute 1 in the end", "summarize_dispute", {"dispute_id": 1}),
        ("morgan", (), "dispute 1's reason should be pricing, not quantity", "propose_dispute_update",
         {"dispute_id": 1, "reason_code": "pricing"}),
        ("morgan", (), "just spoke to Larry at globex, 6.5k coming wednesday", "log_promise_to_pay",
         {"contact": "Larry", "amount": "6500.00"}),
        ("morgan", (), "top 5 north america accounts by overdue amount?", "get_portfolio_summary",
         {"regions": ["North America"], "top_n": 5}),
        ("morgan", (), "can we hold SO-0000002? payment's late again", "propose_order_hold",
         {"order_number": "SO-0000002"}),
    ],
)  # fmt: skip
def test_portfolio_and_follow_up_wordings_reach_the_tool(
    shared_url: str,  # noqa: F811
    who: str,
    context: tuple[str, ...],
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    reply = conversation(shared_url, who, *context, text)[-1]
    arguments = last_call(reply, tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected


def test_money_sent_back_is_out_of_scope(shared_url: str) -> None:  # noqa: F811
    reply = conversation(
        shared_url, "morgan", "globex's overdue?", "they overpaid on one invoice, just wire 5k back to them"
    )[-1]
    assert not reply.tool_calls and "can't" in reply.text


def test_a_review_at_the_end_of_a_quarter_already_past_this_year_is_next_years(shared_url: str) -> None:  # noqa: F811
    today = clock.today()
    quarter = next((q for q in (1, 2, 3) if date(today.year, 3 * q, 1) < today.replace(day=1)), None)
    if quarter is None:  # the first quarter of the year: no quarter of it has ended yet
        quarter = 1
    arguments = last_call(
        ask(shared_url, "morgan", f"raise globex's limit by 10k, review at the end of Q{quarter}"),
        "propose_credit_limit_change",
    ).arguments
    assert date.fromisoformat(arguments["review_date"]) > today


def test_a_segments_number_asks_which_figure(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "give me the SMB number")
    assert not reply.tool_calls and "Which figure" in reply.text and reply.choices


@pytest.mark.parametrize(
    "closing", [" ty!", "?? cheers", " - need it for the 10am", " thx in advance", ", thanks a lot"]
)
def test_thanks_or_a_deadline_after_the_request_is_no_part_of_it(shared_url: str, closing: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "who are the 5 quickest payers in emea" + closing)
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert arguments["top_n"] == 5 and arguments["payers"] == "earliest_first"


def test_a_mistyped_customer_name_is_left_to_the_customer_match(shared_url: str) -> None:  # noqa: F811
    # "golbex" is one swap from Globex and from no other name word: never "corrected" to a request word, and read
    # as Globex by the customer match (the answer names it)
    reply = ask(shared_url, "morgan", "golbex score")
    assert last_call(reply, "score_customer").arguments["customer"] == CUSTOMER_IDS["Globex"]
    assert "**Globex Industries**" in reply.text


def test_an_instruction_closed_with_a_double_question_mark_and_thanks_is_still_the_instruction(
    shared_url: str,  # noqa: F811
) -> None:
    reply = ask(shared_url, "morgan", "release globex's held order, they paid this morning?? cheers")
    assert last_call(reply, "propose_order_release").arguments["reason"] == "they paid this morning"
    asked = ask(shared_url, "morgan", "release globex's held order?")  # one mark alone: whether it may be released
    assert [c.name for c in asked.tool_calls if c.name != "resolve_customer"] == ["check_order_release"]


def test_a_mistyped_name_is_masked_like_the_name_it_fits(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "umberlla's payment trend, quarter by quarter")
    assert last_call(reply, "get_payment_behaviour").arguments["customer"] == CUSTOMER_IDS["Umbrella"]
