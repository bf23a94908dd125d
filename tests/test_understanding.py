"""Issue 12's plain-language examples, answered by the offline desk on the demo portfolio (SQLite and PostgreSQL):
the right capability with the right slots, clarifying questions as choices the next message can pick, and the
configured date order."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from assistant.planner.context import match_staff
from assistant.planner.dates import date_mentions
from assistant.planner.entities import Spans
from assistant.planner.intents import Intent, recognise
from assistant.planner.understand import Understood
from core.dates import add_months
from core.settings import reset_settings
from db.engine import read_session
from db.models import Customer, Dispute, OrderStatus, SalesOrder
from db.models.receivables import Invoice
from db.queries.vocabulary import StaffName, Vocabulary
from evals.understanding.score import seed_ibm
from tests.support import clock
from tests.support.paths import IBM_SAMPLE
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name

CUSTOMER_IDS = {"Globex": "4", "Umbrella": "6", "Vandelay": "10"}


@pytest.mark.parametrize(
    ("who", "text", "tool", "expected"),
    [
        ("casey", "which accounts should I phone first today and why", "build_worklist", {}),
        ("sam", "is Globex fine for another 40k PO?", "check_order_release",
         {"customer": CUSTOMER_IDS["Globex"], "order_amount": "40000.00"}),
        ("avery", "how exposed are we on Umbrella Health?", "get_customer_exposure",
         {"customer": CUSTOMER_IDS["Umbrella"]}),
        ("avery", "what line would you give Vandelay?", "recommend_credit_limit",
         {"customer": CUSTOMER_IDS["Vandelay"]}),
        ("avery", "was Globex's last promise kept?", "get_promise_history", {"customer": CUSTOMER_IDS["Globex"]}),
        ("avery", "average days late for Globex", "get_payment_behaviour", {"customer": CUSTOMER_IDS["Globex"]}),
        ("morgan", "60+ days overdue for UK customers, disputes excluded", "get_portfolio_summary",
         {"countries": ["GB"], "min_days_past_due": 60, "exclude_disputed": True}),
        ("morgan", "customers above their limit", "get_portfolio_summary",
         {"over_limit": True, "group_by": "customer"}),
        ("morgan", "who owes us more than 750k?", "get_portfolio_summary",
         {"min_balance": "750000.00", "group_by": "customer"}),
        ("morgan", "what's waiting for my approval?", "list_pending_approvals", {}),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)  # fmt: skip
def test_the_issue_examples_reach_the_right_capability(
    shared_url: str,  # noqa: F811 - the imported fixture
    who: str,
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    reply = ask(shared_url, who, text)
    call = last_call(reply, tool)
    assert call.error is None, call.error
    for key, value in expected.items():
        assert call.arguments.get(key) == value, (key, call.arguments)
    assert not reply.choices and reply.error is None, reply.text
    assert not reply.proposals


def test_an_invoice_is_looked_up_by_its_number(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        invoice = session.scalars(
            select(Invoice.number).where(Invoice.customer_id == int(CUSTOMER_IDS["Globex"])).order_by(Invoice.id)
        ).first()
    assert invoice is not None
    reply = ask(shared_url, "avery", f"what's the status of {invoice.lower()}?")
    call = last_call(reply, "get_invoice")
    assert call.arguments["number"] == invoice
    assert invoice in reply.text and call.result["status"] in reply.text


def test_out_of_scope_is_said_and_nothing_runs(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "book me a flight to Lisbon next Tuesday")
    assert reply.intent == Intent.OUT_OF_SCOPE.value
    assert not reply.tool_calls
    assert "I can't do that" in reply.text and "Nearest things I can do" in reply.text


def test_close_readings_are_asked_as_choices_and_the_pick_answers(
    shared_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def torn(text: str, names: object = frozenset()) -> Understood:
        readings = [(Intent.SCORE, 0.41), (Intent.PROMISE_HISTORY, 0.38), (Intent.OUT_OF_SCOPE, 0.1)]
        return Understood(Intent.SCORE, 0.41, readings, recognise(text), semantic=True)

    monkeypatch.setattr("assistant.planner.turn.understand", torn)
    first = ask(shared_url, "avery", "globex track record")
    assert [c.capability for c in first.choices] == ["score_customer", "get_promise_history"]
    assert [c.number for c in first.choices] == [1, 2]
    assert "1. " in first.text and "2. " in first.text and not first.tool_calls
    picked = ask(shared_url, "avery", "2", [first])
    assert last_call(picked, "get_promise_history").arguments["customer"] == CUSTOMER_IDS["Globex"]


def test_a_follow_up_binds_to_the_customer_of_the_thread(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "how exposed are we on Umbrella Health?", "and their score?")
    assert last_call(history[-1], "score_customer").arguments["customer"] == CUSTOMER_IDS["Umbrella"]
    behaviour = conversation(shared_url, "avery", "score Globex", "how late do they usually pay?")
    assert last_call(behaviour[-1], "get_payment_behaviour").arguments["customer"] == CUSTOMER_IDS["Globex"]


@pytest.mark.parametrize(
    ("order", "expected"),
    [("day_first", date(2026, 12, 7)), ("month_first", date(2026, 7, 12)), ("ask", None)],
)
def test_a_numeric_date_follows_the_configured_order(
    monkeypatch: pytest.MonkeyPatch, order: str, expected: date | None
) -> None:
    monkeypatch.setenv("CREDITDESK_DATE_ORDER", order)
    reset_settings()
    try:
        (mention,) = date_mentions("promised on 07/12/2026", date(2026, 11, 16), Spans())
    finally:
        monkeypatch.delenv("CREDITDESK_DATE_ORDER")
        reset_settings()
    if expected is None:
        assert mention.problem and "7 December 2026" in mention.problem and "12 July 2026" in mention.problem
    else:
        assert mention.problem is None and mention.day == expected
    (unambiguous,) = date_mentions("due 15/12/2026", date(2026, 11, 16), Spans())
    assert unambiguous.day == date(2026, 12, 15) and unambiguous.problem is None


@pytest.mark.parametrize("text", ["stark 60k", "hooli 25k", "globex promise", "initech limit?"])
def test_a_terse_message_proposes_nothing_and_asks(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert not reply.proposals
    assert not [c for c in reply.tool_calls if c.kind == "write"]
    assert len(reply.choices) >= 2 and "Which do you mean?" in reply.text


# --- the IBM sample: questions that state their date -----------------------------------------------------------------


def _ibm_rows() -> list[dict[str, str]]:
    with IBM_SAMPLE.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _day(text: str) -> date:
    month, day, year = (int(part) for part in text.split("/"))
    return date(year, month, day)


def _open_at(row: dict[str, str], moment: date) -> bool:
    return _day(row["InvoiceDate"]) <= moment < _day(row["SettledDate"])


@pytest.fixture
def ibm_url(db_url: str) -> str:
    seed_ibm(db_url)
    return db_url


def test_ibm_questions_with_their_dates(ibm_url: str) -> None:
    rows = _ibm_rows()
    year_end = date(2012, 12, 31)
    counted = ask(ibm_url, "morgan", "count of invoices open at the end of 2012")
    call = last_call(counted, "get_portfolio_summary")
    assert call.arguments["as_of"] == "2012-12-31" and call.arguments["count_open_invoices"] is True
    expected = sum(1 for row in rows if _open_at(row, year_end))
    assert Decimal(call.result["totals"]["open_invoices"]["value"]) == expected
    assert f"Open invoices: **{expected}**" in counted.text

    quarter_end = date(2013, 9, 30)
    disputed = ask(ibm_url, "morgan", "disputed balance for the whole book on 2013-09-30")
    call = last_call(disputed, "get_portfolio_summary")
    assert call.arguments["as_of"] == "2013-09-30" and "customers" not in call.arguments
    expected_disputed = sum(
        Decimal(row["InvoiceAmount"]) for row in rows if row["Disputed"] == "Yes" and _open_at(row, quarter_end)
    )
    assert Decimal(call.result["totals"]["disputed"]["value"]) == expected_disputed

    dso = ask(ibm_url, "morgan", "DSO using the trailing 90 days of sales as of 2013-06-30")
    call = last_call(dso, "get_portfolio_summary")
    assert call.arguments["as_of"] == "2013-06-30" and call.arguments["period_months"] == 3
    assert "min_days_past_due" not in call.arguments and dso.error is None

    biggest = ask(ibm_url, "morgan", "biggest past-due customer at September 2013 month end")
    call = last_call(biggest, "get_portfolio_summary")
    assert call.arguments["as_of"] == "2013-09-30" and call.arguments["rank_by"] == "overdue"
    assert call.arguments["top_n"] == 1
    overdue: dict[str, Decimal] = {}
    for row in rows:
        if _open_at(row, quarter_end) and _day(row["DueDate"]) < quarter_end:
            overdue[row["customerID"]] = overdue.get(row["customerID"], Decimal(0)) + Decimal(row["InvoiceAmount"])
    top = max(overdue, key=lambda customer: overdue[customer])
    assert call.result["top_exposures"][0]["external_id"] == top
    assert top in biggest.text


def test_customers_with_an_open_promise_are_a_filter(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "overdue for customers with open promises")
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments["open_promise"] is True and call.result["filters_applied"]["open_promise"]
    assert "Not applied" not in reply.text and "promise to pay open" in reply.text


@pytest.mark.parametrize("text", ["split the book by utilisation", "overdue split by utilisation band"])
def test_a_part_the_book_cannot_be_filtered_by_is_said(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    if reply.tool_calls:
        assert last_call(reply, "get_portfolio_summary").error is None
        assert reply.text.startswith("**Not applied**")
    else:  # or it asks which reading was meant; never a silent whole-book answer
        assert reply.choices


@pytest.mark.parametrize("text", ["broken promises this quarter?", "average days late across everyone"])
def test_a_promise_or_payment_question_naming_no_customer_is_about_the_book(
    shared_url: str,  # noqa: F811
    text: str,
) -> None:
    reply = ask(shared_url, "morgan", text)
    assert last_call(reply, "get_portfolio_summary").error is None
    assert not [c for c in reply.tool_calls if c.name == "resolve_customer"]


def test_a_staff_name_that_starts_a_customer_name_is_the_customer() -> None:
    staff = (StaffName(name="ash", full_name="Ash Patel", role="credit_analyst"),)
    vocab = Vocabulary(regions=(), segments=(), currencies=(), staff=staff, staff_led_names=frozenset({"ash haven"}))
    assert match_staff("whats ash haven's balance", vocab, Spans()) == []
    assert match_staff("what did ash say about hooli", vocab, Spans()) == ["ash"]


@pytest.mark.parametrize(
    ("who", "text", "tool"),
    [
        ("morgan", "exposure by risk class pls", "get_portfolio_summary"),  # a split of the book, not a customer
        ("morgan", "scores by region", "get_portfolio_summary"),
        ("morgan", "which customers have a limit review due by the end of the month?", "get_portfolio_summary"),
        ("casey", "customer swears inv 2026-0000123 is paid, can you check", "get_invoice"),
    ],
)
def test_book_questions_and_loose_forms(shared_url: str, who: str, text: str, tool: str) -> None:  # noqa: F811
    if tool == "get_invoice":
        with read_session(shared_url) as session:
            number = session.scalars(select(Invoice.number).order_by(Invoice.id)).first()
        assert number is not None
        text = text.replace("inv 2026-0000123", number.lower().replace("-", " ", 1))
    reply = ask(shared_url, who, text)
    call = last_call(reply, tool)
    assert call.error is None and not reply.choices, reply.text
    if "review due" in text:
        assert "**Not applied**" not in reply.text and "as_of" not in call.arguments
        assert call.arguments["review_due_by"] and call.arguments["group_by"] == "customer"


def test_a_weekday_ahead_in_a_reporting_question_is_an_event_not_the_as_of_date(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "does hooli still owe us a lot? seeing them thursday and dont want surprises")
    call = last_call(reply, "get_customer_exposure")
    assert call.error is None and "as_of" not in call.arguments
    friday = last_call(ask(shared_url, "morgan", "overdue as of friday"), "get_portfolio_summary")
    as_of = date.fromisoformat(friday.arguments["as_of"])
    assert friday.error is None and as_of.weekday() == 4  # the Friday just gone, never one ahead


def test_follow_ups_that_narrow_or_list(shared_url: str) -> None:  # noqa: F811
    listed = conversation(shared_url, "morgan", "how many customers are over their limit?", "list them")
    call = last_call(listed[1], "get_portfolio_summary")
    assert call.arguments["over_limit"] is True and call.arguments["group_by"] == "customer"
    narrowed = conversation(shared_url, "avery", "what's on charlie's worklist?", "only the ones over 50k")
    worklist = last_call(narrowed[1], "build_worklist")
    assert worklist.arguments["collector"] == "charlie" and Decimal(worklist.arguments["min_amount"]) == 50000


def test_a_dispute_is_rejected_by_a_dispute_update_not_an_approval(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "reject dispute #1, the charge was correct as invoiced")
    assert any(c.name in ("propose_dispute_update", "summarize_dispute") for c in reply.tool_calls), reply.text
    assert "I can't approve or reject proposals" not in reply.text


def test_the_collector_a_customer_moves_from_is_not_the_one_it_moves_to(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "please reassign hooli to cameron, casey's book is overloaded")
    assert last_call(reply, "propose_collector_assignment").arguments["collector"] == "cameron"


@pytest.mark.parametrize(
    "text",
    ["Delete all the test customers we created last week", "pls refund hooli the 5k", "export the ageing to excel"],
)
def test_what_no_capability_does_is_refused_whatever_it_names(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert not reply.tool_calls and "I can't do that" in reply.text


def test_a_risk_class_question_is_never_answered_with_balances(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "is hooli still an E?")
    assert reply.choices or last_call(reply, "score_customer").error is None
    assert not any(c.name == "get_customer_exposure" for c in reply.tool_calls)


@pytest.mark.parametrize(
    "text",
    [
        "how has umbrella's score moved since the end of june?",
        "what risk class is umbrella now, and what was it at the end of june?",
        "umbrella's rating vs end of june",
    ],
)
def test_a_score_compared_with_an_earlier_date_is_scored_at_both(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    call = last_call(reply, "score_customer")
    june = _latest(clock.today(), 6, 30)
    assert call.error is None and call.arguments["compare_to"] == june and "as_of" not in call.arguments
    assert f"Compared with {june}" in reply.text


def _latest(today: date, month: int, day: int) -> str:
    """The last `month`/`day` on or before today, as the reporting dates read "end of June"."""
    year = today.year if (today.month, today.day) >= (month, day) else today.year - 1
    return date(year, month, day).isoformat()


def _customer_with_one(url: str, query: Any) -> tuple[str, str]:
    """A customer (its name) with exactly one row of `query` (customer_id, id-ish) and that row's key."""
    with read_session(url) as session:
        rows = session.execute(query).all()
    per_customer: dict[int, list[Any]] = {}
    for customer_id, key in rows:
        per_customer.setdefault(customer_id, []).append(key)
    customer_id, keys = next((c, k) for c, k in sorted(per_customer.items()) if len(k) == 1)
    with read_session(url) as session:
        return session.get_one(Customer, customer_id).name, str(keys[0])


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("is anything on hold for {name}?", "pls request a release on it, they've prepaid"),
        ("can {name}'s held order ship?", "their cheque has cleared - pls request the release"),
    ],
)
def test_a_change_to_the_order_of_the_thread_customer(shared_url: str, first: str, then: str) -> None:  # noqa: F811
    held = select(SalesOrder.customer_id, SalesOrder.number).where(
        SalesOrder.on_hold.is_(True), SalesOrder.status == OrderStatus.OPEN
    )
    name, number = _customer_with_one(shared_url, held)
    replies = conversation(shared_url, "morgan", first.format(name=name), then)
    assert last_call(replies[1], "propose_order_release").arguments["order_number"] == number


def test_a_dispute_change_binds_to_the_one_dispute_of_the_thread(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        names = session.scalars(
            select(Customer.name).join(Dispute, Dispute.customer_id == Customer.id).order_by(Customer.id)
        ).all()
    for name in dict.fromkeys(names):
        summary = ask(shared_url, "morgan", f"summarize the {name} dispute", thread=f"one-{name}")
        briefs = (last_call(summary, "summarize_dispute").result or {}).get("briefs") or []
        if len(briefs) == 1:
            break
    else:  # on some business dates no customer has exactly one: the thread's summary of one dispute by its id
        with read_session(shared_url) as session:
            first = session.scalars(select(Dispute.id).order_by(Dispute.id)).first()
        summary = ask(shared_url, "morgan", f"dispute {first} summary", thread="one-by-id")
        briefs, name = last_call(summary, "summarize_dispute").result["briefs"], "by-id"
    reply = ask(shared_url, "morgan", "mark it in review and give it to me", [summary], thread=f"one-{name}")
    call = last_call(reply, "propose_dispute_update")
    assert call.arguments == {"dispute_id": briefs[0]["dispute_id"], "status": "in_review", "owner": "morgan"}


def test_and_about_a_customer_answer_stays_with_that_answer(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "avery", "globex's payment behaviour", "and the trend by quarter?")
    assert last_call(replies[1], "get_payment_behaviour").arguments["customer"] == CUSTOMER_IDS["Globex"]
    other = conversation(shared_url, "avery", "what does globex owe us", "any promises from them still open?")
    assert last_call(other[1], "get_promise_history").arguments["customer"] == CUSTOMER_IDS["Globex"]


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("DTP for globex", "get_payment_behaviour"),
        ("globex SO-0000001 -- release or hold?", "check_order_release"),
        ("could you pull open receivables against the same day last year? It's for the note to the CFO. Thanks!",
         "get_portfolio_summary"),
    ],
)  # fmt: skip
def test_jargon_either_way_questions_and_titles(shared_url: str, text: str, tool: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert last_call(reply, tool) and not reply.choices and not reply.proposals, reply.text  # the order need not exist
    assert not any(c.name == "resolve_customer" and "CFO" in str(c.arguments) for c in reply.tool_calls)


def test_refinements_of_the_last_answer(shared_url: str) -> None:  # noqa: F811
    ranked = conversation(shared_url, "morgan", "top 5 customers by exposure", "make it top 8")
    assert last_call(ranked[1], "get_portfolio_summary").arguments["top_n"] == 8
    disputes = conversation(shared_url, "morgan", "dispute 1 summary", "assign it to cleo")
    assert last_call(disputes[1], "propose_dispute_update").arguments == {"dispute_id": 1, "owner": "cleo"}


@pytest.mark.parametrize(
    ("who", "text", "tool", "expected"),
    [
        ("avery", "worklist for EMEA accounts with 10k+ overdue", "build_worklist", {"min_amount": "10000.00"}),
        ("morgan", "open AR at end of Q3 vs now", "get_portfolio_summary", {"compare_to": "end of Q3"}),
        ("avery", "reduce Stark's line to 5,000 given how they've deteriorated", "propose_credit_limit_change",
         {"new_limit": "5000.00"}),
        ("avery", "set Stark's limit to 40k, review again in 6 months", "propose_credit_limit_change",
         {"review_date": "six months ahead"}),
        ("cleo", "show me my colections queue", "build_worklist", {}),
    ],
)  # fmt: skip
def test_forms_from_the_third_dev_set(shared_url: str, who: str, text: str, tool: str, expected: dict) -> None:  # noqa: F811
    call = last_call(ask(shared_url, who, text), tool)
    dates = {"six months ahead": add_months(clock.today(), 6).isoformat(), "end of Q3": _latest(clock.today(), 9, 30)}
    for key, value in expected.items():
        assert call.arguments.get(key) == dates.get(value, value), (key, call.arguments)


def test_an_unnamed_figure_for_an_area_asks_which_and_my_book_is_the_collectors(shared_url: str) -> None:  # noqa: F811
    for text in ("give me the APAC number", "need the mexico figure for the board deck", "EMEA figure pls",
                 "what's APAC at?"):  # fmt: skip
        reply = ask(shared_url, "morgan", text)
        assert [c.label for c in reply.choices] == ["open receivables", "overdue", "total exposure", "DSO"], text
        assert not reply.tool_calls
    count = ask(shared_url, "morgan", "the number of customers over their limit in APAC")
    assert last_call(count, "get_portfolio_summary").arguments["over_limit"] is True
    mine = ask(shared_url, "casey", "whats my dispute balance lookin like")
    assert last_call(mine, "get_portfolio_summary").result["filters_applied"]["restricted_to_own_book"]


def test_pending_approvals_narrowed_by_kind_and_proposer(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "pending approvals", "just the limit ones")
    assert last_call(replies[1], "list_pending_approvals").arguments == {"kind": "set_credit_limit"}
    reply = ask(shared_url, "morgan", "any limit changes from avery waiting for me?")
    call = last_call(reply, "list_pending_approvals")
    assert call.arguments == {"kind": "set_credit_limit", "proposed_by": "avery"} and call.error is None


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("what's the status of invoice 61136", "61136"),
        ("inv no. 4512 paid?", "4512"),
        ("is 0000611365 open", "0000611365"),
    ],
)
def test_a_bare_invoice_number_is_read_after_the_word_invoice(text: str, number: str) -> None:
    from assistant.planner.entities import BARE_INVOICE_RE

    match = BARE_INVOICE_RE.search(text)
    assert match is not None and next(group for group in match.groups() if group) == number


def test_score_history_points_off_topic_words_and_the_held_order_checked(shared_url: str) -> None:  # noqa: F811
    scored = last_call(
        ask(shared_url, "avery", "soylent's credit score + the last 6 points of history"), "score_customer"
    )
    assert scored.arguments["history_points"] == 6 and scored.arguments["customer"] == "9"
    off_topic = ask(shared_url, "admin", "When does payroll run this month?")
    assert not off_topic.tool_calls and "I can't do that" in off_topic.text
    held = select(SalesOrder.customer_id, SalesOrder.number).where(
        SalesOrder.on_hold.is_(True), SalesOrder.status == OrderStatus.OPEN
    )
    name, number = _customer_with_one(shared_url, held)
    reply = ask(shared_url, "morgan", f"is {name}'s order that's on hold ok to ship now?")
    assert last_call(reply, "check_order_release").arguments["order_number"] == number


@pytest.mark.parametrize(
    "text", ["can we get globex's held order released? they paid", "could you release globex's held order pls"]
)
def test_asking_to_get_a_held_order_released_proposes_the_release(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sam", text)
    assert last_call(reply, "propose_order_release") and len(reply.proposals) == 1 and not reply.choices


@pytest.mark.parametrize(
    ("name", "text", "tool"),
    [
        ("New Worth Systems SAS", "exposure for new worth systems", "get_customer_exposure"),
        ("Okafor Data Inc.", "how quickly does okafor data usualy settle", "get_payment_behaviour"),
        ("Okafor Data Inc.", "what does okafor data owe", "get_customer_exposure"),
    ],
)
def test_a_name_holding_request_or_data_words_is_the_customer(
    seeded_db_url: str, name: str, text: str, tool: str
) -> None:
    from db.engine import write_session
    from db.models.party import customer_name_key

    with write_session(seeded_db_url) as session:
        renamed = session.scalars(select(Customer).order_by(Customer.id)).first()
        assert renamed is not None
        renamed.name, renamed.name_key = name, customer_name_key(name)
        renamed_id = renamed.id
    reply = ask(seeded_db_url, "avery", text)
    assert last_call(reply, tool).arguments["customer"] == str(renamed_id)


def test_a_source_word_after_a_name_is_not_a_data_set() -> None:
    from assistant.planner.entities import data_source_mentions

    for text, masked in [
        ("how quickly does okafor data settle", []),
        ("DSO for the ibm dataset as of 2013-06-30", ["for the ibm dataset"]),
        ("open invoices in the IBM sample", ["in the IBM sample"]),
        ("ibm data as of 2013", ["ibm data"]),
    ]:
        spans = Spans()
        data_source_mentions(text, spans)
        assert [text[start:end] for start, end in spans.ranges] == masked


@pytest.mark.parametrize(
    ("text", "month_end"),
    [
        ("limit reviews coming due by eom - which accounts?", True),
        ("which customers are due for a limit review before the end of the month", True),
        ("which limit reviews are overdue?", False),
    ],
)
def test_limit_reviews_due_list_the_customers(shared_url: str, text: str, month_end: bool) -> None:  # noqa: F811
    from core.dates import month_end as end_of_month

    today = clock.today()
    reply = ask(shared_url, "morgan", text)
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments["review_due_by"] == (end_of_month(today) if month_end else today).isoformat()
    assert call.arguments["group_by"] == "customer" and "as_of" not in call.arguments
    assert "Not applied" not in reply.text
