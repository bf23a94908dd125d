"""Forms a further independent writer's set (weighted to worklists, limit proposals, exposure, payment behaviour and
dispute updates) showed the offline desk misreading (issue 12, twenty-first session): a correction of a limit
proposal ("+50k …", then "actually make that 30k") keeps its form, reason and review date instead of turning an
increase into a new, lower limit, and says the earlier proposal is still pending; a worklist continues with "show me
the next lot", "and the one after that", "same but only D risk" and "how did it look at EOM last month?"; "show me the
month-by-month trend" after a customer's payment behaviour and "what if terms were 45 or 90 days?" after a limit
recommendation stay with that customer; "do one for X too" after a friendly reminder is a friendly one. What happened,
told before the request ("Wayne Enterprises signed the 3-year supply contract. Can you put through …", "… paid the
overdue invoices this morning, can we get SO-… released", "dispute 5: … found the missing cases …, mark it resolved")
is the reason or the resolution; "(currently 334k)" is no second amount; "fix the reason code" is a dispute update;
"put me down as owner", "(jonas)" after AP and "contact is mark in treasury" are read; "anything I've submitted" is
the user's own proposals; "take the longest to pay" ranks by days late; "is 'Globex' one of ours?" looks the name up.
On SQLite and PostgreSQL (the `shared_url` demo portfolio); the pure readings need no database."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.planner.dates import date_mentions
from assistant.planner.entities import Spans
from assistant.planner.phrases import NEXT_PAGE_RE
from assistant.planner.reasons import stated_reason
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name
from tests.test_understanding_customer_reads import assert_answered_with

MONDAY = date(2026, 11, 16)


def test_the_pure_readings() -> None:
    assert [m.day for m in date_mentions("how did it look at EOM last month?", MONDAY, Spans())] == [date(2026, 10, 31)]
    assert [m.day for m in date_mentions("by EOM", MONDAY, Spans())] == [date(2026, 11, 30)]
    assert stated_reason("quick one - can you release SO-0000041") is None
    assert stated_reason("Sorry I missed this yesterday, can you raise acme by 20k") is None
    assert stated_reason("lift them to 400k as they're consolidating purchasing; next review 30/06/2027") == (
        "they're consolidating purchasing"
    )
    assert all(
        NEXT_PAGE_RE.match(t) for t in ("show me the next lot", "and the one after that", "ok the following page")
    )
    assert not any(NEXT_PAGE_RE.match(t) for t in ("next 10 customers by overdue", "next time we talk"))


@pytest.mark.parametrize(
    ("user", "text", "tool", "expected"),
    [
        ("morgan", "Wayne Enterprises signed the 3-year supply contract. Can you put through a +$250,000 limit "
         "increase, review in 6 months?", "propose_credit_limit_change",
         {"customer": "8", "change_by": "250000.00", "review_date": "2027-05-16"}),
        ("morgan", "globex paid the overdue invoices this morning, can we get SO-0000006 released pls",
         "propose_order_release",
         {"order_number": "SO-0000006", "reason": "globex paid the overdue invoices this morning"}),
        ("morgan", "dispute 5: initech found the missing cases in their own warehouse, mark it resolved pls",
         "propose_dispute_update",
         {"dispute_id": 5, "status": "resolved",
          "resolution": "initech found the missing cases in their own warehouse"}),
        ("avery", "Stark: propose lifting to 400k (currently 334k) as they're consolidating purchasing there; next "
         "review 30/06/2027", "propose_credit_limit_change",
         {"customer": "7", "new_limit": "400000.00", "review_date": "2027-06-30"}),
        ("cleo", "umbrella AP (jonas) confirmed 12,267.82 landing on the 30th", "log_promise_to_pay",
         {"customer": "6", "contact": "jonas", "promised_date": "2026-11-30"}),
        ("charlie", "soylent just confirmed 15,124.18 by friday, contact is mark in treasury", "log_promise_to_pay",
         {"customer": "9", "contact": "mark", "promised_date": "2026-11-20"}),
        ("sam", "anything I've submitted still waiting on approval?", "list_pending_approvals", {"proposed_by": "sam"}),
        ("morgan", "which 3 north american customers take the longest to pay us?", "get_portfolio_summary",
         {"top_n": 3, "payers": "latest_first", "regions": ["North America"]}),
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


def test_what_happened_told_first_is_the_reason(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "Wayne Enterprises signed the 3-year supply contract. Can you put through a "
                "+$250,000 limit increase?")  # fmt: skip
    reason = last_call(reply, "propose_credit_limit_change").arguments["reason"]
    assert reason.startswith("Wayne Enterprises signed the 3-year supply contract")
    stark = ask(shared_url, "avery", "Stark: propose lifting to 400k (currently 334k) as they're consolidating "
                "purchasing there; next review 30/06/2027")  # fmt: skip
    assert "review" not in last_call(stark, "propose_credit_limit_change").arguments["reason"]


def test_a_wrongly_coded_dispute_is_recoded(shared_url: str) -> None:  # noqa: F811
    text = "dispute 5 for initech is coded wrongly but it's really a tax complaint — can you fix the reason code"
    reply = ask(shared_url, "morgan", text)
    assert_answered_with(reply, "propose_dispute_update", {"dispute_id": 5, "reason_code": "tax"})


def test_a_name_asked_about_is_looked_up(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "sam", "is 'Globex' one of ours? might have the spelling wrong")
    assert [call.name for call in reply.tool_calls] == ["resolve_customer"]
    assert "Globex Industries" in reply.text


@pytest.mark.parametrize(
    ("user", "turns", "tool", "expected"),
    [
        ("cameron", ["what's top of my worklist", "same but only D risk"], "build_worklist", {"risk_classes": ["D"]}),
        ("charlie", ["who should I chase today? EMEA only", "show me the next lot"], "build_worklist",
         {"region": "EMEA", "page": 2}),
        ("charlie", ["my call list, min 5k overdue", "next page", "and the one after that"], "build_worklist",
         {"min_amount": "5000.00", "page": 3}),
        ("cameron", ["what's on my worklist this morning", "how did it look at EOM last month?"], "build_worklist",
         {"as_of": "2026-10-31"}),
        ("avery", ["propose +50k on hooli's limit, new product launch in december", "actually make that 30k"],
         "propose_credit_limit_change", {"customer": "11", "change_by": "30000.00", "new_limit": None}),
        ("avery", ["propose lowering hooli by 20k, slow payer", "actually make that 10k"],
         "propose_credit_limit_change", {"customer": "11", "change_by": "-10000.00"}),
        ("avery", ["propose +50k on hooli's limit, new product launch", "actually make it 130k total"],
         "propose_credit_limit_change", {"new_limit": "130000.00", "change_by": None}),
        ("avery", ["how quickly does stark components pay?", "show me the month-by-month trend"],
         "get_payment_behaviour", {"customer": "7"}),
        ("avery", ["recommend a credit limit for stark", "what if terms were 45 or 90 days?"], "recommend_credit_limit",
         {"customer": "7", "what_if_terms_days": [45, 90]}),
        ("morgan", ["draft a friendly reminder for umbrella", "do one for hooli too"], "draft_dunning_message",
         {"customer": "11", "tone": "friendly"}),
        ("charlie", ["brief me on the initech dispute", "ok move it to in review and put me down as owner"],
         "propose_dispute_update", {"status": "in_review", "owner": "charlie"}),
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


def test_a_corrected_proposal_keeps_its_reason_and_names_the_earlier_one(shared_url: str) -> None:  # noqa: F811
    first, corrected = conversation(
        shared_url, "avery", "propose +50k on hooli's limit, new product launch in december", "actually make that 30k"
    )
    assert "new product launch in december" in last_call(corrected, "propose_credit_limit_change").arguments["reason"]
    earlier = first.proposals[0].id
    assert f"The earlier proposal #{earlier} is still pending" in corrected.text


def test_a_lower_recommendation_reads_as_a_signed_change_and_a_decrease(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "what limit would you give hooli?")
    result = last_call(reply, "recommend_credit_limit").result
    assert result is not None and result["direction"] == "decrease"
    assert "change USD -" in reply.text and ", a decrease)" in reply.text and "decrease of" not in reply.text
