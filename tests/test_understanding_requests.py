"""What the offline desk reads from a request beyond its capability (issue 12): the customer an order number names,
a promise's contact, payment terms for a limit what-if, an approval-authority question, and a customer's name among
other words. On SQLite and PostgreSQL (the `shared_url` demo portfolio)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.dates import add_months, month_end
from db.engine import read_session, write_session
from db.models import Customer, Dispute, DisputeStatus, Invoice, OrderStatus, SalesOrder
from db.models.party import customer_name_key
from tests.support import clock
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding import CUSTOMER_IDS


def _an_open_order(url: str) -> tuple[str, str]:
    with read_session(url) as session:
        order = session.scalars(
            select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN).order_by(SalesOrder.id)
        ).first()
        assert order is not None
        return order.number, str(order.customer_id)


@pytest.mark.parametrize(
    "template", ["does {lower} pass credit?", "{number} ship y/n", "run {number} against their credit pls"]
)
def test_an_order_number_names_its_customer_whatever_words_are_around_it(
    shared_url: str,  # noqa: F811
    template: str,
) -> None:
    number, owner = _an_open_order(shared_url)
    reply = ask(shared_url, "morgan", template.format(number=number, lower=number.lower()))
    assert last_call(reply, "check_order_release").arguments == {"customer": owner, "order_number": number}
    assert not [c for c in reply.tool_calls if c.name == "resolve_customer"]


def test_an_instruction_to_hold_an_order_comes_before_its_reason(shared_url: str) -> None:  # noqa: F811
    number, _ = _an_open_order(shared_url)
    reply = ask(shared_url, "morgan", f"hold {number} — their exposure is way over")
    assert last_call(reply, "propose_order_hold").arguments["order_number"] == number


def test_a_promise_keeps_its_contact_apart_from_the_customer(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Globex says 50k by EOM, per their controller Mark")
    assert last_call(reply, "log_promise_to_pay").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "amount": "50000.00",
        "promised_date": month_end(clock.today()).isoformat(),
        "contact": "Mark",
    }


@pytest.mark.parametrize(
    "text",
    ["what approval do i need to lift a limit by 80k", "if I raise Vandelay's limit by 60k, who has to sign that off?"],
)
def test_a_question_about_who_approves_is_a_policy_question(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert last_call(reply, "search_policy") and not reply.proposals


def test_payment_terms_in_a_limit_question_run_the_what_if(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "if we gave Vandelay net 60 instead, what limit would that support?")
    call = last_call(reply, "recommend_credit_limit")
    assert call.arguments == {"customer": CUSTOMER_IDS["Vandelay"], "what_if_terms_days": [60]}
    assert "What if the terms changed" in reply.text and "| 60 days |" in reply.text
    both = ask(shared_url, "avery", "limit reco for vandelay with 45 and 60 day terms")
    assert last_call(both, "recommend_credit_limit").arguments["what_if_terms_days"] == [45, 60]


def test_a_name_inside_a_run_of_other_words_is_found(seeded_db_url: str) -> None:
    with write_session(seeded_db_url) as session:
        renamed = session.scalars(select(Customer).order_by(Customer.id)).first()
        assert renamed is not None
        renamed.name, renamed.name_key = "Jansen Brands GmbH", customer_name_key("Jansen Brands GmbH")
        renamed_id = str(renamed.id)
    reply = ask(seeded_db_url, "avery", "so we gave Jansen Brands ample room lately, what do they owe?")
    assert last_call(reply, "get_customer_exposure").arguments["customer"] == renamed_id


def test_a_promise_dated_by_weekday_and_day_reads_one_date(shared_url: str) -> None:  # noqa: F811
    due = next(day for day in (clock.today() + timedelta(days=n) for n in range(7, 14)) if day.day > 7)
    text = f"Stark committed to $22,500 by {due:%A} the {due.day}th, can you record the promise?"
    assert last_call(ask(shared_url, "morgan", text), "log_promise_to_pay").arguments["promised_date"] == str(due)


def test_an_event_ahead_is_no_date_to_report_at(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "meeting Initech tmrw, what do they currently owe us?")
    assert "as_of" not in last_call(reply, "get_customer_exposure").arguments
    ahead = ask(shared_url, "morgan", "what will initech owe tomorrow?")
    assert not ahead.tool_calls and "in the future" in ahead.text


def test_their_figures_after_a_customer_answer_are_that_customers(shared_url: str) -> None:  # noqa: F811
    _, reply = conversation(shared_url, "avery", "score for vandelay", "their exposure at the end of last month?")
    assert last_call(reply, "get_customer_exposure").arguments["customer"] == CUSTOMER_IDS["Vandelay"]
    _, book = conversation(shared_url, "avery", "score for vandelay", "how many of our customers are over their limit?")
    assert last_call(book, "get_portfolio_summary").arguments == {"over_limit": True}


def test_one_of_several_matches_is_picked_by_its_country(seeded_db_url: str) -> None:
    with write_session(seeded_db_url) as session:
        two = session.scalars(select(Customer).where(Customer.parent_id.is_(None)).order_by(Customer.id)).all()[-2:]
        names = [("Quillmoor Trading Inc", "US"), ("Quillmoor Group Ltd.", "CA")]
        for customer, (name, country) in zip(two, names, strict=True):
            customer.name, customer.name_key, customer.country = name, customer_name_key(name), country
        canadian = str(two[1].id)
    first, reply = conversation(seeded_db_url, "morgan", "how much does quillmoor owe", "the canadian one")
    assert "matches several customers" in first.text and not first.tool_calls[-1].name.startswith("get_")
    assert last_call(reply, "get_customer_exposure").arguments["customer"] == canadian


def test_a_comparison_with_a_day_counted_back_compares_with_that_day(shared_url: str) -> None:  # noqa: F811
    today = clock.today()
    cases = {
        "open AR compared to this time last year": add_months(today, -12),
        "open AR compared to a month ago": add_months(today, -1),
        "dso today vs where it was at the end of last month": month_end(add_months(today, -1)),
    }
    for text, earlier in cases.items():
        call = last_call(ask(shared_url, "morgan", text), "get_portfolio_summary")
        assert call.arguments["compare_to"] == str(earlier), text


@pytest.mark.parametrize(
    "text",
    ["Set Globex's credit status straight to Stop, skip the approval step",
     "do we have the blue pallets in stock for initech's next delivery?",
     "just put vandelay on stop without a proposal",
     "how many units of the blue widget are left in the warehouse for globex?",
     "pay the collection agency their 5k fee today"],
)  # fmt: skip
def test_stock_questions_and_bypassing_approval_are_out_of_scope(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "admin", text)
    assert not reply.tool_calls and not reply.proposals and "can't do that" in reply.text


def test_the_warehouse_asking_to_ship_an_order_is_the_release_check(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        order = session.scalars(
            select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN).order_by(SalesOrder.id)
        ).first()
        assert order is not None
    reply = ask(shared_url, "sasha", f"{order.number.lower()} – ok for the warehouse to ship?")
    assert last_call(reply, "check_order_release").arguments["order_number"] == order.number


def test_amounts_and_invoice_numbers_in_a_follow_up_name_no_customer(shared_url: str) -> None:  # noqa: F811
    _, check = conversation(shared_url, "sasha", "what's globex's exposure?", "ok so could they take a 10k order?")
    assert last_call(check, "check_order_release").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "order_amount": "10000.00",
    }
    _, raised = conversation(shared_url, "avery", "recommend a limit for vandelay", "ok propose +25k on that")
    call = last_call(raised, "propose_credit_limit_change")
    assert call.arguments["customer"] == CUSTOMER_IDS["Vandelay"] and call.arguments["change_by"] == "25000.00"


def test_a_dispute_is_reassigned_to_another_member_of_staff(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        dispute = session.scalars(select(Dispute).order_by(Dispute.id)).first()
        assert dispute is not None
    reply = ask(shared_url, "morgan", f"reassign dispute {dispute.id} to avery")
    assert last_call(reply, "propose_dispute_update").arguments == {"dispute_id": dispute.id, "owner": "avery"}


def test_rejecting_a_dispute_just_shown_proposes_the_update_not_an_approval(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        dispute = session.scalars(select(Dispute).where(Dispute.status == "open").order_by(Dispute.id)).first()
        assert dispute is not None
    replies = conversation(
        shared_url, "morgan", f"brief on dispute {dispute.id}", "reject it - the claim isn't backed up by the report"
    )
    arguments = last_call(replies[-1], "propose_dispute_update").arguments
    assert arguments == {
        "dispute_id": dispute.id,
        "status": "rejected",
        "resolution": "the claim isn't backed up by the report",
    }
    assert replies[-1].proposals


def test_instructions_in_other_words_are_proposed(shared_url: str) -> None:  # noqa: F811
    new_limit = ask(shared_url, "morgan", "New limit for Vandelay: 120k. They've paid early for years.")
    assert last_call(new_limit, "propose_credit_limit_change").arguments["new_limit"] == "120000.00"
    review = add_months(clock.today(), 12)
    text = f"increase vandelay's limit by 10k for the Q1 rollout, review date {review:%d/%m/%Y}"
    raised = last_call(ask(shared_url, "morgan", text), "propose_credit_limit_change")
    assert raised.arguments["change_by"] == "10000.00" and raised.arguments["review_date"] == str(review)
    send = ask(shared_url, "avery", "Propose sending a final notice to Globex")
    assert last_call(send, "propose_dunning_send").arguments == {"customer": CUSTOMER_IDS["Globex"], "level": 3}


def test_a_promise_a_week_from_today_with_the_contact_spoken_with(shared_url: str) -> None:  # noqa: F811
    text = "globex will pay 5,000 a week from today (spoke w/ Mark) - can u log it"
    call = last_call(ask(shared_url, "morgan", text), "log_promise_to_pay")
    assert call.arguments["promised_date"] == str(clock.today() + timedelta(days=7))
    assert call.arguments["contact"] == "Mark"


def test_what_they_said_they_would_pay_after_an_exposure_is_a_promise(shared_url: str) -> None:  # noqa: F811
    replies = conversation(
        shared_url, "morgan", "what does globex owe right now?", "they just said 4,000 tomorrow, log it"
    )
    arguments = last_call(replies[-1], "log_promise_to_pay").arguments
    assert arguments["customer"] == CUSTOMER_IDS["Globex"] and arguments["amount"] == "4000.00"
    assert arguments["promised_date"] == str(clock.today() + timedelta(days=1))


def test_average_days_to_close_a_dispute_is_the_books_dispute_cycle_time(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "avg days to close out a dispute last quarter?")
    assert last_call(reply, "get_portfolio_summary").arguments["period_months"] == 3
    assert "Dispute cycle time" in reply.text


def test_a_measure_the_classifier_misreads_is_still_a_portfolio_question(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "ADD split by region")
    assert last_call(reply, "get_portfolio_summary").arguments["group_by"] == "region"


def test_a_possessive_without_its_apostrophe_names_the_customer(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "whats globexs exposure lookin like")
    assert last_call(reply, "get_customer_exposure").arguments["customer"] == CUSTOMER_IDS["Globex"]


def test_follow_ups_keep_to_the_thing_the_thread_is_about(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        number = session.scalars(select(Invoice.number).order_by(Invoice.id)).first()
    end_of_june = date(clock.today().year - (clock.today().month < 7), 6, 30)
    _, invoice = conversation(shared_url, "morgan", f"look up {number}", "what was it at end of june")
    assert last_call(invoice, "get_invoice").arguments == {"number": number, "as_of": str(end_of_june)}
    _, trend = conversation(shared_url, "avery", "payment behaviour for globex", "just the monthly trend")
    assert last_call(trend, "get_payment_behaviour").arguments["customer"] == CUSTOMER_IDS["Globex"]
    _, proposed = conversation(
        shared_url, "morgan", "what limit would you recommend for vandelay", "fine, put in a proposal for 120k"
    )
    assert last_call(proposed, "propose_credit_limit_change").arguments["new_limit"] == "120000.00"


def _since(month: int, today: date) -> date:
    start = date(today.year, month, 1)
    return start if start <= today else date(today.year - 1, month, 1)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("how late has globex been paying since june", lambda today: _since(6, today)),
        ("share of globex's invoices paid late YTD", lambda today: date(today.year, 1, 1)),
        ("globex avg days to pay this year", lambda today: date(today.year, 1, 1)),
    ],
)
def test_a_payment_behaviour_period_sets_the_window(shared_url: str, text: str, start: Callable[[date], date]) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    today = clock.today()
    assert last_call(reply, "get_payment_behaviour").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "as_of": today.isoformat(),
        "period_start": start(today).isoformat(),
    }
    assert reply.tool_calls[-1].result["window_start"] == start(today).isoformat()


def test_a_portfolio_period_longer_than_the_tool_allows_is_shortened_and_said(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "DSO this year")
    today = clock.today()
    earliest = add_months(date(today.year, today.month, 1), -5)
    arguments = last_call(reply, "get_portfolio_summary").arguments
    if date(today.year, 1, 1) < earliest:
        assert arguments["period_start"] == earliest.isoformat()
        assert reply.text.startswith("**Not applied** — the whole of this year: periods are at most 6 months")
    else:
        assert arguments["period_start"] == date(today.year, 1, 1).isoformat() and "Not applied" not in reply.text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("raise vandelay's limit by 5k - they've paid early for years", "they've paid early for years"),
        ("increase vandelay's limit by 5k, their volumes are up", "their volumes are up"),
        ("raise vandelay's limit by 5k given the new contract", "given the new contract"),
        ("raise vandelay's limit by 5k as a one-off for the Q1 rollout", "a one-off for the Q1 rollout"),
        ("increase vandelay's line by 5k for the plant expansion project", "the plant expansion project"),
    ],
)
def test_a_limit_change_keeps_the_reason_stated_after_the_request(shared_url: str, text: str, reason: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert last_call(reply, "propose_credit_limit_change").arguments["reason"].startswith(reason)


def test_a_dash_before_a_review_date_is_no_reason(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "raise vandelay's limit by 5k - review in 6 months")
    assert last_call(reply, "propose_credit_limit_change").arguments["reason"].startswith("Requested by avery")


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("put {number} on hold, they broke another promise", "they broke another promise"),
        ("Hold {number}. Globex is way over limit.", "Globex is way over limit"),
        ("Hold {number}. What is their balance?", None),
    ],
)
def test_an_order_hold_keeps_the_reason_after_a_comma_or_in_the_next_sentence(
    shared_url: str,  # noqa: F811
    template: str,
    reason: str | None,
) -> None:
    number, _ = _an_open_order(shared_url)
    reply = ask(shared_url, "morgan", template.format(number=number))
    arguments = last_call(reply, "propose_order_hold").arguments
    assert arguments["order_number"] == number
    assert arguments["reason"] == reason if reason else arguments["reason"].startswith("Requested by morgan")


def test_a_new_reason_code_said_before_the_ask_to_recode(shared_url: str) -> None:  # noqa: F811
    dispute = _an_open_dispute(shared_url)
    text = f"dispute {dispute} is really about pricing, not quantity — change the reason code"
    reply = ask(shared_url, "morgan", text)
    assert last_call(reply, "propose_dispute_update").arguments == {"dispute_id": dispute, "reason_code": "pricing"}


def _an_open_dispute(url: str) -> int:
    with read_session(url) as session:
        dispute = session.scalars(
            select(Dispute).where(Dispute.status == DisputeStatus.OPEN).order_by(Dispute.id)
        ).first()
        assert dispute is not None
        return dispute.id


@pytest.mark.parametrize(
    ("template", "status", "resolution"),
    [
        ("reject dispute {id} - checked the ledger, they were only billed once", "rejected",
         "checked the ledger, they were only billed once"),
        ("dispute {id}: they accepted our replacement shipment, please resolve it", "resolved",
         "they accepted our replacement shipment"),
        ("reject dispute #{id}, the charge was correct as invoiced", "rejected", "the charge was correct as invoiced"),
    ],
)  # fmt: skip
def test_closing_a_dispute_takes_the_resolution_the_user_gave(
    shared_url: str,  # noqa: F811
    template: str,
    status: str,
    resolution: str,
) -> None:
    dispute = _an_open_dispute(shared_url)
    reply = ask(shared_url, "morgan", template.format(id=dispute))
    assert last_call(reply, "propose_dispute_update").arguments == {
        "dispute_id": dispute,
        "status": status,
        "resolution": resolution,
    }


@pytest.mark.parametrize(
    "text", ["umbrella's credit score, and show me the last 6 scores", "umbrella score, last 6 points"]
)
def test_the_number_of_score_history_points_is_read(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert last_call(reply, "score_customer").arguments == {"customer": CUSTOMER_IDS["Umbrella"], "history_points": 6}


@pytest.mark.parametrize(
    ("who", "text", "arguments"),
    [
        ("sam", "are any of my release requests still pending?", {"kind": "release_order_hold", "proposed_by": "sam"}),
        ("morgan", "show me avery's proposals that are waiting on me", {"proposed_by": "avery"}),
        ("avery", "anything I proposed still waiting?", {"proposed_by": "avery"}),
    ],
)
def test_pending_approvals_narrowed_to_whose_proposals(
    shared_url: str,  # noqa: F811
    who: str,
    text: str,
    arguments: dict[str, str],
) -> None:
    reply = ask(shared_url, who, text)
    assert last_call(reply, "list_pending_approvals").arguments == arguments


def test_same_but_repeats_the_last_portfolio_question_with_the_change(shared_url: str) -> None:  # noqa: F811
    first, later, narrower = conversation(
        shared_url, "morgan", "overdue by region", "same but as of end of last month", "same thing but enterprise only"
    )
    end_of_last_month = (date(clock.today().year, clock.today().month, 1) - timedelta(days=1)).isoformat()
    assert last_call(first, "get_portfolio_summary").arguments == {"group_by": "region"}
    assert last_call(later, "get_portfolio_summary").arguments["group_by"] == "region"
    assert last_call(later, "get_portfolio_summary").arguments["as_of"] == end_of_last_month
    narrowed = last_call(narrower, "get_portfolio_summary").arguments
    assert (narrowed["group_by"], narrowed["segments"], narrowed["as_of"]) == (
        "region",
        ["Enterprise"],
        end_of_last_month,
    )


@pytest.mark.parametrize(
    "text", ["EUR receivables excluding anything in dispute", "overdue, leave out anythign that's in dispute"]
)
def test_disputed_items_left_out_in_other_words(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert last_call(reply, "get_portfolio_summary").arguments.get("exclude_disputed") is True
    assert "Disputed" not in reply.text.split("_")[0]  # a filter, not the figure asked for


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("Globex will pay 50k by EOM, per Barbara", "Barbara"),
        ("Globex promised 50k by EOM, Clara in AP", "Clara"),
        ("Globex (Ravi) says they'll clear 50k by EOM", "Ravi"),
        ("log it: Globex will pay 50k by EOM, Wei confirmed", "Wei"),
        ("spoke to Larry at Globex, 50k coming by EOM", "Larry"),
        ("dana from globex's payables team just confirmed 50k lands by EOM", "dana"),
        ("got through to globex, they'll send 50k by EOM — contact's Raj", "Raj"),
    ],
)
def test_a_promise_names_its_contact_in_the_ways_staff_write_it(
    shared_url: str,  # noqa: F811
    text: str,
    contact: str,
) -> None:
    reply = ask(shared_url, "morgan", text)
    arguments = last_call(reply, "log_promise_to_pay").arguments
    assert (arguments["customer"], arguments["amount"], arguments["contact"]) == (
        CUSTOMER_IDS["Globex"], "50000.00", contact,
    )  # fmt: skip


def test_a_customer_that_confirms_is_no_contact(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Umbrella confirmed they will pay 20k by EOM")
    arguments = last_call(reply, "log_promise_to_pay").arguments
    assert arguments["customer"] == CUSTOMER_IDS["Umbrella"] and "contact" not in arguments


@pytest.mark.parametrize(
    "text",
    [
        "Morning! Before standup — what's our total overdue sitting at?",
        "Hi — for the 10am with the CFO I need one number: total open AR as of today. Thanks!",
    ],
)
def test_meeting_words_and_times_name_no_customer(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert last_call(reply, "get_portfolio_summary")
    assert not [c for c in reply.tool_calls if c.name == "resolve_customer"]


@pytest.mark.parametrize(
    ("text", "top_n", "rank_by"),
    [
        ("which EMEA customer has the largest overdue?", 1, "overdue"),
        ("3 customers with the largest amounts in dispute", 3, "disputed"),
        ("top five by overdue", 5, "overdue"),
        ("show me the 7 worst accounts by past due", 7, "overdue"),
    ],
)
def test_how_many_a_ranking_asks_for(shared_url: str, text: str, top_n: int, rank_by: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", text), "get_portfolio_summary").arguments
    assert (arguments.get("top_n"), arguments.get("rank_by")) == (top_n, rank_by)


def test_same_but_ranked_otherwise_stays_a_portfolio_question(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "ash", "biggest five exposures?", "same but ranked by overdue, and give me 7")
    arguments = last_call(replies[-1], "get_portfolio_summary").arguments
    assert (arguments.get("top_n"), arguments.get("rank_by")) == (7, "overdue")


@pytest.mark.parametrize(
    ("text", "order", "top_n"),
    [
        ("5 worst payers in EMEA", "latest_first", 5),
        ("who pays us the slowest?", "latest_first", None),
        ("our three best payers", "earliest_first", 3),
    ],
)
def test_payers_are_ranked_by_days_late(shared_url: str, text: str, order: str, top_n: int | None) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert (arguments["payers"], arguments.get("top_n")) == (order, top_n)
    assert "Payers ranked by average days late" in reply.text and "Not applied" not in reply.text


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("lowest 3 customers by open balance in APAC",
         {"rank_by": "open_receivables", "rank_order": "smallest_first", "top_n": 3, "regions": ["APAC"]}),
        ("bottom 5 by overdue", {"rank_by": "overdue", "rank_order": "smallest_first", "top_n": 5}),
        ("smallest exposures in EMEA", {"rank_order": "smallest_first", "regions": ["EMEA"]}),
    ],
)  # fmt: skip
def test_a_ranking_smallest_first(shared_url: str, text: str, arguments: dict[str, object]) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert last_call(reply, "get_portfolio_summary").arguments == arguments
    assert "smallest first" in reply.text and "Not applied" not in reply.text


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("list the acounts sitting on Hold or Stop",
         {"credit_statuses": ["Hold", "Stop"], "group_by": "customer", "top_n": 50}),
        ("overdue for accounts on watch", {"credit_statuses": ["Watch"]}),
    ],
)  # fmt: skip
def test_credit_status_selects_customers(shared_url: str, text: str, arguments: dict[str, object]) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert last_call(reply, "get_portfolio_summary").arguments == arguments
    assert "credit status" in reply.text and "Not applied" not in reply.text


@pytest.mark.parametrize(
    ("text", "arguments", "described"),
    [
        ("how's our retail exposure looking", {"industries": ["Retail"]}, "industry Retail"),
        ("overdue for tech and health care customers", {"industries": ["Healthcare", "Technology"]},
         "industry Healthcare, Technology"),
        ("what do our Singapore-based accounts have overdue?", {"countries": ["SG"]}, "country SG"),
        ("customers with limit utilization over 90%?",
         {"min_utilisation_pct": "90", "group_by": "customer", "top_n": 50}, "more than 90% of their credit limit"),
        ("which accounts are using more than 80 percent of their credit limit",
         {"min_utilisation_pct": "80", "group_by": "customer", "top_n": 50}, "more than 80% of their credit limit"),
    ],
)  # fmt: skip
def test_industry_country_and_utilisation_select_customers(
    shared_url: str,  # noqa: F811
    text: str,
    arguments: dict[str, object],
    described: str,
) -> None:
    reply = ask(shared_url, "morgan", text)
    assert last_call(reply, "get_portfolio_summary").arguments == arguments
    assert described in reply.text and "Not applied" not in reply.text


@pytest.mark.parametrize(
    ("who", "text", "tool", "expected"),
    [
        ("morgan", "open receivables in euros? thx", "get_portfolio_summary", {"currencies": ["EUR"]}),
        ("morgan", "overdue trend, last 12 month ends", "get_portfolio_summary", {"trend_months": 12}),
        ("casey", "how much of my book is past 90 days rn", "get_portfolio_summary", {"min_days_past_due": 90}),
        ("morgan", "overdue for class D and E but leave out anything that's disputed", "get_portfolio_summary",
         {"risk_classes": ["D", "E"], "exclude_disputed": True}),
        ("morgan", "how many invocies were still open at the end of last month", "get_portfolio_summary",
         {"count_open_invoices": True}),
        ("casey", "any of my PTPs still waiting for approval?", "list_pending_approvals",
         {"kind": "log_promise_to_pay", "proposed_by": "casey"}),
        ("morgan", "anything ash put in that needs my approval?", "list_pending_approvals", {"proposed_by": "ash"}),
        ("casey", "list of who to call, 15 at a time", "build_worklist", {"page_size": 15}),
        ("morgan", "DSO on a 60-day sales window", "get_portfolio_summary", {"period_months": 2}),
        ("avery", "propose a 2nd reminder to Globex", "propose_dunning_send", {"level": 2}),
        ("morgan", "how has overdue moved since end of last month for the D and E names", "get_portfolio_summary",
         {"risk_classes": ["D", "E"]}),
        ("avery", "Which SMB accounts in D or E are over their limit?", "get_portfolio_summary",
         {"risk_classes": ["D", "E"], "over_limit": True}),
        ("morgan", "Mid-Market overdue > 90 days, excluding disputes", "get_portfolio_summary",
         {"min_days_past_due": 90, "exclude_disputed": True}),
        ("casey", "are any of my accounts blowing through their credit limit? list them", "get_portfolio_summary",
         {"over_limit": True}),
        ("morgan", "Globex promised 5,000 by friday, their CFO Clara Dubois confirmed in writing", "log_promise_to_pay",
         {"contact": "Clara Dubois"}),
        ("morgan", "note for Globex: legal review requested on the overdue balance", "add_note",
         {"customer": CUSTOMER_IDS["Globex"], "text": "legal review requested on the overdue balance"}),
        ("cleo", "do we dun invoices that are in dispute?", "search_policy", {}),
        ("morgan", "just off a 20 min call with Globex, they'll send 5,000 by friday", "log_promise_to_pay",
         {"customer": CUSTOMER_IDS["Globex"], "amount": "5000.00"}),
        ("morgan", "Mark in globex's AP confirmed USD 5,000.00 against their oldest invoice, paying 30/11",
         "log_promise_to_pay", {"customer": CUSTOMER_IDS["Globex"], "amount": "5000.00"}),
        ("avery", "draft a firmer reminder for Globex", "draft_dunning_message", {"tone": "firm"}),
        ("casey", "who do I chase today, D and E risk only", "build_worklist", {"risk_classes": ["D", "E"]}),
        ("morgan", "Globex committed to twenty thousand dollars this Wednesday", "log_promise_to_pay",
         {"amount": "20000.00"}),
        ("morgan", "globex says a payment of $12,500 goes out wednesday, contact is Rita Gomez", "log_promise_to_pay",
         {"amount": "12500.00", "contact": "Rita Gomez"}),
        ("morgan", "what happened with dispute 1 in the end", "summarize_dispute", {"dispute_id": 1}),
        ("morgan", "dispute 1 -> in review, they sent over their price list", "propose_dispute_update",
         {"dispute_id": 1, "status": "in_review"}),
        ("morgan", "reason code on 1 should be pricing not quantity, pls change", "propose_dispute_update",
         {"dispute_id": 1, "reason_code": "pricing"}),
        ("avery", "recommended limit for initech, and what if their terms went to 45 or 60 days",
         "recommend_credit_limit", {"what_if_terms_days": [45, 60]}),
        ("avery", "what limit would hooli get on 30 vs 90 day terms", "recommend_credit_limit",
         {"what_if_terms_days": [30, 90]}),
        ("avery", "recommended limit for globex if we moved them to 90 days", "recommend_credit_limit",
         {"what_if_terms_days": [90]}),
        ("morgan", "Globex: promise of $12,180.84 for the 28th, per Julia Doyle", "log_promise_to_pay",
         {"contact": "Julia Doyle"}),
        ("morgan", "globex says 20 grand by end of month. contact was their AP lead, Dana", "log_promise_to_pay",
         {"contact": "Dana"}),
        ("morgan", "lower hooli from 78k to 45k pls, they asked for a smaller line",
         "propose_credit_limit_change", {"new_limit": "45000.00"}),
        ("morgan", "take Globex's limit down to 80k. too much overdue sitting there", "propose_credit_limit_change",
         {"new_limit": "80000.00"}),
    ],
)  # fmt: skip
def test_details_of_a_request_reach_the_tool(
    shared_url: str,  # noqa: F811
    who: str,
    text: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    arguments = last_call(ask(shared_url, who, text), tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected
    assert "min_amount" not in arguments


@pytest.mark.parametrize(
    ("who", "text", "arguments", "shown"),
    [
        ("morgan", "how many promises to pay got broekn last month", {"period_months": 1}, "Promises broken: **"),
        ("casey", "open invoice count on my book?", {"count_open_invoices": True}, "Open invoices: **"),
        ("morgan", "Which 3 customers in APAC are the slowest to pay us?", {"payers": "latest_first", "top_n": 3},
         "Payers ranked by average days late"),
        ("morgan", "exposure by risk class pls", {"group_by": "risk_class"}, "| risk class | Total exposure |"),
    ],
)  # fmt: skip
def test_the_figure_asked_for_is_the_one_shown(
    shared_url: str,  # noqa: F811
    who: str,
    text: str,
    arguments: dict[str, object],
    shown: str,
) -> None:
    reply = ask(shared_url, who, text)
    called = last_call(reply, "get_portfolio_summary").arguments
    assert {key: called.get(key) for key in arguments} == arguments
    assert shown in reply.text


def test_a_short_ask_for_an_areas_numbers_asks_which_figure(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "LATAM numbers?")
    assert not reply.tool_calls and reply.text.startswith("Which figure do you mean?")


def test_a_dispute_just_shown_given_to_someone_else_is_reassigned(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        dispute = session.scalars(select(Dispute).where(Dispute.status == "open").order_by(Dispute.id)).first()
        assert dispute is not None
    replies = conversation(shared_url, "morgan", f"dispute #{dispute.id} - who owns it?", "give it to avery instead")
    assert last_call(replies[-1], "propose_dispute_update").arguments == {"dispute_id": dispute.id, "owner": "avery"}


def test_a_note_on_their_account_is_for_the_customer_of_the_thread(shared_url: str) -> None:  # noqa: F811
    replies = conversation(
        shared_url, "sasha", "can globex take a 10k order?", "also pls note on their account that they open in Perth"
    )
    assert last_call(replies[-1], "add_note").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "text": "they open in Perth",
    }


def test_a_count_of_disputed_invoices_says_the_count_is_of_all_of_them(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "how many open invoices are currently in dispute?")
    assert last_call(reply, "get_portfolio_summary").arguments == {"count_open_invoices": True}
    assert "Not applied** — only disputed invoices" in reply.text


@pytest.mark.parametrize(
    "text", ["Globex promise track record this year", "has globex kept its promises since the start of the year?"]
)
def test_a_customers_promises_from_a_start_date(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    arguments = last_call(reply, "get_promise_history").arguments
    assert arguments["period_start"] == date(clock.today().year, 1, 1).isoformat()
    assert "due on or after" in reply.text or "no promise to pay due" in reply.text


def test_last_year_is_the_previous_calendar_year_and_in_the_last_year_the_last_twelve_months(
    shared_url: str,  # noqa: F811
) -> None:
    year = clock.today().year - 1
    late = ask(shared_url, "avery", "share of Globex invoices paid late last year")
    assert last_call(late, "get_payment_behaviour").arguments["period_start"] == f"{year}-01-01"
    kept = ask(shared_url, "morgan", "promise kept rate last year")
    arguments = last_call(kept, "get_portfolio_summary").arguments
    assert arguments["as_of"] == f"{year}-12-31" and arguments["period_start"] == f"{year}-07-01"
    assert arguments["activity_period_start"] == f"{year}-01-01" and "Not applied" not in kept.text  # promises: all
    dso = ask(shared_url, "morgan", "DSO last year")
    assert f"the whole of {year}: periods are at most 6 months" in dso.text
    recent = ask(shared_url, "avery", "how late did globex pay in the last year")
    assert "period_start" not in last_call(recent, "get_payment_behaviour").arguments
    compared = ask(shared_url, "morgan", "open AR vs last year")
    assert "period_start" not in last_call(compared, "get_portfolio_summary").arguments


def test_how_much_of_that_is_over_a_number_is_days_past_due(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "casey", "whats my overdue", "and how much of that is over 60?")
    assert last_call(replies[-1], "get_portfolio_summary").arguments["min_days_past_due"] == 60


def test_tomorrow_typed_fast_is_still_tomorrow(shared_url: str) -> None:  # noqa: F811
    call = last_call(ask(shared_url, "morgan", "globex will pay 5k tomorow"), "log_promise_to_pay")
    assert call.arguments["promised_date"] == str(clock.today() + timedelta(days=1))


def test_a_limit_to_zero_is_never_the_recommendation(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Take Stark's limit down to zero. They're on stop and not paying.")
    call = last_call(reply, "propose_credit_limit_change")
    assert call.arguments["new_limit"] == "0.00" and call.error is not None
    assert "must be positive" in reply.text and not reply.proposals


def test_a_reason_after_while_goes_with_the_proposal_without_its_review_date(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "propose cutting Stark to 4k while they restructure, review by end of March")
    arguments = last_call(reply, "propose_credit_limit_change").arguments
    assert arguments["reason"].startswith("while they restructure (")
    assert arguments["review_date"].endswith("-03-31")


def test_a_quarter_of_a_million_is_an_amount(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sasha", "Globex want to place roughly a quarter of a million order, can they take it?")
    assert last_call(reply, "check_order_release").arguments["order_amount"] == "250000.00"


@pytest.mark.parametrize(
    ("first", "then", "tool", "expected"),
    [
        ("top 10 customers by exposure", "and the bottom 10?", "get_portfolio_summary",
         {"rank_order": "smallest_first"}),
        ("which customers are over their credit limit?", "only the ones in APAC", "get_portfolio_summary",
         {"over_limit": True, "regions": ["APAC"], "group_by": "customer"}),
        ("what's waiting for my approval?", "anything in there from cleo?", "list_pending_approvals",
         {"proposed_by": "cleo"}),
    ],
)  # fmt: skip
def test_a_narrowing_follow_up_keeps_the_last_question(
    shared_url: str,  # noqa: F811
    first: str,
    then: str,
    tool: str,
    expected: dict[str, object],
) -> None:
    replies = conversation(shared_url, "morgan", first, then)
    arguments = last_call(replies[-1], tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected


def test_their_payment_trend_after_a_score_is_the_customers_payment_behaviour(shared_url: str) -> None:  # noqa: F811
    replies = conversation(shared_url, "morgan", "what's Globex's credit score?", "and their payment trend by quarter")
    assert last_call(replies[-1], "get_payment_behaviour").arguments == {
        "customer": CUSTOMER_IDS["Globex"],
        "trend": "quarter",
    }


def test_a_customers_lateness_trend_is_its_payment_behaviour_not_the_books(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "how did Globex's lateness trend this year")
    assert last_call(reply, "get_payment_behaviour").arguments["customer"] == CUSTOMER_IDS["Globex"]
    assert not [c for c in reply.tool_calls if c.name == "get_portfolio_summary"]


def test_a_common_word_that_owns_something_names_the_customer(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "what share of umbrella's invoices got paid late last quarter?")
    assert last_call(reply, "get_payment_behaviour").arguments["customer"] == CUSTOMER_IDS["Umbrella"]


def test_a_noun_increase_is_a_change_by(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "sales need headroom. Put in a 250k increase on Hooli's limit please.")
    assert last_call(reply, "propose_credit_limit_change").arguments["change_by"] == "250000.00"


def test_putting_a_recommendation_forward_at_a_figure_proposes_it(shared_url: str) -> None:  # noqa: F811
    replies = conversation(
        shared_url,
        "avery",
        "what limit would the policy support for Stark?",
        "ok put that forward at 90k, reason expanding volumes",
    )
    arguments = last_call(replies[-1], "propose_credit_limit_change").arguments
    assert arguments["new_limit"] == "90000.00" and arguments["reason"].startswith("expanding volumes")


def test_a_dispute_reason_code_is_read(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        dispute_id = session.scalars(select(Dispute.id).order_by(Dispute.id)).first()
    reply = ask(shared_url, "avery", f"set dispute {dispute_id} reason code to pricing")
    assert last_call(reply, "propose_dispute_update").arguments == {"dispute_id": dispute_id, "reason_code": "pricing"}


def test_a_collectors_top_n_by_a_figure_before_lunch_is_a_ranking(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "casey", "can u pull the top 5 in my book by overdue amount, want to hit them before lunch")
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert (arguments["top_n"], arguments["rank_by"]) == (5, "overdue")
    assert ask(shared_url, "casey", "whats for lunch today").intent == "out_of_scope"


def test_sales_asking_a_customers_total_get_its_standing(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sam", "do me a favor and check Globex's total on the account?")
    assert last_call(reply, "get_customer_exposure").arguments["customer"] == CUSTOMER_IDS["Globex"]
    assert not [c for c in reply.tool_calls if c.name == "get_portfolio_summary"]


def test_their_open_order_is_the_thread_customers_one_order(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        orders = session.scalars(select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN)).all()
        by_customer: dict[int, list[str]] = {}
        for order in orders:
            by_customer.setdefault(order.customer_id, []).append(order.number)
        customer_id, numbers = next((c, n) for c, n in sorted(by_customer.items()) if len(n) == 1)
        name = session.get(Customer, customer_id).name  # type: ignore[union-attr]
    replies = conversation(
        shared_url, "morgan", f"what's {name} sitting at?", "hold their open order until we see payment"
    )
    arguments = last_call(replies[-1], "propose_order_hold").arguments
    assert arguments["order_number"] == numbers[0] and arguments["reason"] == "until we see payment"
    parked = ask(shared_url, "morgan", f"{name} are way behind - park their open order on credit hold till they pay")
    assert last_call(parked, "propose_order_hold").arguments["order_number"] == numbers[0]
    released = ask(shared_url, "morgan", f"Propose releasing {numbers[0]} as an approved exception for year end")
    arguments = last_call(released, "propose_order_release").arguments
    assert arguments == {"order_number": numbers[0], "reason": "an approved exception for year end"}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Just Acme Europe on its own, not the wider group - what do they owe?", "Acme Europe B.V."),
        ("Exposure for Acme Corporation on its own, without the subsidiaries", "Acme Corporation"),
        ("exposure for Acme Corporation on its own, not the Europe sub", "Acme Corporation"),
    ],
)
def test_a_customer_on_its_own_is_never_its_group(shared_url: str, text: str, name: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        customer = session.scalars(select(Customer).where(Customer.name == name)).one()
    arguments = last_call(ask(shared_url, "morgan", text), "get_customer_exposure").arguments
    assert arguments["customer"] == str(customer.id) and arguments.get("include_group") is False


def test_a_parent_and_its_subsidiaries_combined_is_the_group(shared_url: str) -> None:  # noqa: F811
    with read_session(shared_url) as session:
        parent = session.scalars(select(Customer).where(Customer.name == "Acme Corporation")).one()
        children = session.scalars(select(Customer.name).where(Customer.parent_id == parent.id)).all()
    assert children, "the demo's Acme has subsidiaries"
    text = f"acme corporation plus {children[0].lower()} — combined total?"
    arguments = last_call(ask(shared_url, "avery", text), "get_customer_exposure").arguments
    assert arguments["customer"] == str(parent.id) and arguments.get("include_group", True)


@pytest.mark.parametrize("text", ["what do Globex and Initech owe?", "exposure for Globex & Initech"])
def test_two_customers_in_one_read_are_asked_about(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert "more than one customer" in reply.text and "Globex" in reply.text and "Initech" in reply.text
    assert not [c for c in reply.tool_calls if c.name == "get_customer_exposure"]


@pytest.mark.parametrize(
    "text",
    [
        "lower hooli from 78k to 45k pls, they asked for a smaller line",
        "take Globex's limit down to 80k. too much overdue sitting there",
    ],
)
def test_the_users_reason_goes_with_a_limit_change(shared_url: str, text: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", text), "propose_credit_limit_change").arguments
    assert not arguments["reason"].startswith("Requested by")  # the user's own reason


@pytest.mark.parametrize(
    "text",
    [
        "where will EUR/USD be by end of Q1? trying to get a feel for our euro exposure",
        "Put Globex straight onto Stop status, no proposal needed",
        "ok also can u change hooli's terms to net 60",
    ],
)
def test_what_the_desk_cannot_do_is_said_even_beside_a_customer(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", text)
    assert "I can't do that" in reply.text and not [c for c in reply.tool_calls if c.result is not None]


def test_an_open_request_for_a_view_of_a_line_asks_which(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "vandelay's line - what are we looking at?")
    assert {c.capability for c in reply.choices} == {"get_customer_exposure", "recommend_credit_limit"}
    assert not [c for c in reply.tool_calls if c.name != "resolve_customer"]
