"""A customer's own questions the offline desk asked about or misread (issue 12, sixteenth session): a name with nothing
or little beside it ("Globex?", "the full picture on Initech") is the customer's standing, while a look-up word ("who
is", "which collector") still asks for the record; "when did Hooli last pay us?" is the exposure, which states the
last payment, not the promise history ("did Hooli keep their last promise?" still is); "is Soylent a promise breaker"
is the promise history, not a question between four readings; "why is Globex on hold" asks why; "details for SO-…"
checks the order; "the 90+ stuff" and "over 60 days" are no amounts, and a promise of "everything over 60 days" asks
for the figure; "the 1-30 and 31-60 buckets" are one range, 1 to 60 days past due; "is 2026-0001078 overdue" names an
invoice; a what-if on a limit proposes nothing, and "down to" a higher limit is asked; "write to Hooli about INV-…"
drafts the letter; a cash forecast is said to be out of reach (not answered with the book's balances); "in each risk
class" splits the book; "any promises?" after Globex's exposure is Globex's promise history; "what should I say to
Globex" is a draft; "can you check on them" with no one before asks who (never the book's figures); "a nudge email to
Globex" is a draft, "email Globex the reminder" a send. On SQLite and PostgreSQL (the `shared_url` demo portfolio);
the pure parts without a database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from assistant.grounding import ground_answer
from assistant.planner.decision_forms import _LOOK_UP_CUE_RE, LAST_PAYMENT_RE
from assistant.planner.entities import Spans, bare_invoice_numbers, dpd_range, money_mentions
from assistant.planner.intents import Intent, recognise
from tests.test_planner import ask, business_digest, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name


@pytest.mark.parametrize(
    ("text", "last_payment"),
    [
        ("when did hooli last pay us", True),
        ("last payment from hooli?", True),
        ("when was the last time hooli paid", True),
        ("hooli's most recent payment", True),
        ("did hooli keep their last promise", False),
        ("was the last promise from hooli paid", False),
        ("how does hooli pay", False),
    ],
)
def test_the_last_payment_said_in_words(text: str, last_payment: bool) -> None:
    assert (LAST_PAYMENT_RE.search(text) is not None) is last_payment


@pytest.mark.parametrize(
    ("text", "look_up"),
    [
        ("who is glenleaf networks", True),
        ("glenleaf networks - which collector?", True),
        ("what's the customer id for glenleaf", True),
        ("give me the full picture on glenleaf networks", False),
        ("glenleaf networks?", False),
    ],
)
def test_a_look_up_is_said_in_words(text: str, look_up: bool) -> None:
    assert (_LOOK_UP_CUE_RE.search(text) is not None) is look_up


@pytest.mark.parametrize("text", ["details for SO-0000019", "status of order SO-0000019", "what's up with SO-19?"])
def test_an_order_asked_about_by_number_is_checked(text: str) -> None:
    assert recognise(text).intent is Intent.RELEASE_CHECK


def _tools(reply: object) -> list[str]:
    return [call.name for call in reply.tool_calls]  # type: ignore[attr-defined]


def _answering(reply: object) -> str:
    """The tool that answered: the last call, or `resolve_customer` when only names were looked up."""
    return ([name for name in _tools(reply) if name != "resolve_customer"] or ["resolve_customer"])[-1]


def assert_answered_with(reply: Any, tool: str, expected: dict[str, object]) -> None:
    """`tool` answered the reply, called with (at least) the `expected` arguments; a key expected as None is absent."""
    assert _answering(reply) == tool
    arguments = last_call(reply, tool).arguments
    assert {key: arguments.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("Globex?", "get_customer_exposure"),
        ("give me the full picture on Initech", "get_customer_exposure"),
        ("who is Initech", "resolve_customer"),
        ("when did Hooli last pay us", "get_customer_exposure"),
        ("last payment from Hooli?", "get_customer_exposure"),
        ("did Hooli keep their last promise", "get_promise_history"),
        ("is Soylent a promise breaker", "get_promise_history"),
        ("why is Globex on hold", "get_customer_exposure"),
    ],
)
def test_a_customer_question_reaches_its_tool(shared_url: str, text: str, tool: str) -> None:  # noqa: F811
    assert _answering(ask(shared_url, "avery", text)) == tool


def test_the_exposure_states_the_last_payment(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "when did Hooli last pay us")
    assert "Last payment" in reply.text or "No payment received yet" in reply.text


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("globex committed to clearing the 90+ stuff next week", []),
        ("globex will pay everything over 60 days by friday", []),
        ("clear the 90+ invoices, about 20k, by friday", [Decimal(20000)]),
        ("globex will pay 5000 in 30 days", [Decimal(5000)]),
        ("a 20 min call", []),
    ],
)
def test_an_ageing_bucket_or_a_duration_is_no_amount(text: str, amounts: list[Decimal]) -> None:
    assert [mention.amount for mention in money_mentions(text, Spans())] == amounts


@pytest.mark.parametrize(
    "text",
    ["Globex committed to clearing the 90+ stuff next week", "Globex will pay everything over 60 days by friday"],
)
def test_a_promise_of_a_part_by_age_asks_for_the_amount(shared_url: str, text: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "morgan", text)
    assert "How much did they promise to pay?" in reply.text
    assert "log_promise_to_pay" not in _tools(reply) and not reply.proposals
    assert business_digest(shared_url) == before


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("what about the 1-30 and 31-60 buckets", (1, 60)),
        ("the 1-30, 31-60 and 61-90 buckets", (1, 90)),
        ("AR in 61-90 and 90+", (61, None)),
        ("1-30 and 61-90", (1, 30)),
        ("31 to 60 days", (31, 60)),
    ],
)
def test_buckets_that_continue_each_other_are_one_range(text: str, bounds: tuple[int, int | None]) -> None:
    found = dpd_range(text, Spans())
    assert found is not None and (found.minimum, found.maximum) == bounds


def test_an_invoice_number_typed_without_its_prefix() -> None:
    assert bare_invoice_numbers("is 2026-0001078 overdue", Spans()) == ["2026-0001078"]
    assert bare_invoice_numbers("open AR as of 2026-11-16", Spans()) == []


def test_a_what_if_on_a_limit_proposes_nothing(shared_url: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    reply = ask(shared_url, "morgan", "what if we raised Initech's limit to 50k")
    assert _answering(reply) == "recommend_credit_limit" and not reply.proposals
    assert "Nothing was proposed" in reply.text and "“50k”" in reply.text
    assert business_digest(shared_url) == before


def test_down_to_a_higher_limit_is_asked_not_proposed(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "take Initech down to 900m limit")
    assert not reply.proposals and "Nothing was proposed" in reply.text


def test_writing_to_a_customer_about_an_invoice_drafts_the_letter(shared_url: str) -> None:  # noqa: F811
    assert _answering(ask(shared_url, "morgan", "write to Hooli about INV-2026-0000001")) == "draft_dunning_message"


def test_a_cash_forecast_is_said_to_be_out_of_reach(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "what cash can we expect next month")
    assert not reply.tool_calls and "can't" in reply.text


def test_in_each_risk_class_splits_the_book(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "how many accounts are in each risk class")
    assert last_call(reply, "get_portfolio_summary").arguments.get("group_by") == "risk_class"


def test_a_figure_the_user_wrote_in_shorthand_may_be_said_back() -> None:
    text = "a limit of “50k” is a what-if"
    assert ground_answer(text, [], allowed_text=["what if we raised initech's limit to 50k"]) == (text, [])


def test_a_mistyped_request_word_beside_a_name_is_not_read_as_its_standing(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "scor for Initech?")
    assert "get_customer_exposure" not in _tools(reply)


def test_a_short_question_after_a_customer_answer_asks_about_that_customer(shared_url: str) -> None:  # noqa: F811
    history = conversation(shared_url, "avery", "how much does Globex owe", "any promises?")
    assert _answering(history[-1]) == "get_promise_history"
    assert (
        last_call(history[-1], "get_promise_history").arguments["customer"]
        == last_call(history[0], "get_customer_exposure").arguments["customer"]
    )


def test_what_to_say_to_a_customer_is_a_draft(shared_url: str) -> None:  # noqa: F811
    assert _answering(ask(shared_url, "morgan", "what should I say to Globex")) == "draft_dunning_message"


@pytest.mark.parametrize("text", ["can you check on them", "the overdue one", "what do they owe"])
def test_someone_pointed_at_with_no_one_before_is_asked_for(shared_url: str, text: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", text)
    assert "get_portfolio_summary" not in _tools(reply) and "Which customer do you mean?" in reply.text


def test_their_figures_in_a_part_of_the_book_stay_the_book(shared_url: str) -> None:  # noqa: F811
    assert _answering(ask(shared_url, "morgan", "how much do they owe us in EMEA")) == "get_portfolio_summary"


def test_an_email_to_a_customer_is_a_draft_and_emailing_it_is_a_send(shared_url: str) -> None:  # noqa: F811
    before = business_digest(shared_url)
    draft = ask(shared_url, "morgan", "friendly nudge email to Globex pls")
    assert _answering(draft) == "draft_dunning_message" and not draft.proposals
    assert business_digest(shared_url) == before
    assert _answering(ask(shared_url, "morgan", "email Globex the first reminder")) == "propose_dunning_send"
