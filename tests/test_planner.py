"""The offline planner: intents from ordinary phrasing, entity resolution, the right tool with the right arguments,
answers whose figures are the tool's, writes that end as proposals, follow-ups from the thread, and refusals."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.memory import reply_for_storage
from assistant.planner import OfflinePlanner
from assistant.planner.dates import date_mentions
from assistant.planner.entities import Spans, money_mentions
from assistant.planner.intents import Intent, recognise
from assistant.planner.name_runs import name_candidates
from assistant.types import AskRequest, AssistantReply
from core.dates import add_months, month_start, quarter_end
from core.money import format_money
from db.base import Base
from db.engine import dispose_engine, read_session
from db.models import Proposal, StaffUser
from tests.conftest import BACKENDS, _seed_template, _SeededTemplates
from tests.support import clock
from tests.support.databases import create_pg_database, drop_pg_database, pg_url
from tools.context import Actor, ToolContext
from tools.registry import ToolSpec, get_registry

GOVERNANCE = {"proposal", "audit_event", "audit_head", "ar_snapshot", "ar_snapshot_run", "credit_score"}
PLANNER = OfflinePlanner()


# --- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def shared_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _seeded_templates: _SeededTemplates
) -> Iterator[str]:
    """One copy of the seeded demo portfolio per backend for the read-only phrasing cases (they only read, or
    create pending proposals, which touch no business table)."""
    if request.param == "sqlite":
        if _seeded_templates.sqlite_path is None:
            template: Path = request.getfixturevalue("sqlite_template")
            path = template.parent / "seeded.db"
            shutil.copyfile(template, path)
            _seed_template(f"sqlite:///{path}")
            _seeded_templates.sqlite_path = path
        copy = tmp_path_factory.mktemp("planner") / "shared.db"
        shutil.copyfile(_seeded_templates.sqlite_path, copy)
        url = f"sqlite:///{copy}"
        yield url
        dispose_engine(url)
        return
    if _seeded_templates.pg_name is None:
        name = create_pg_database(template=request.getfixturevalue("pg_template"), prefix="cd_seeded")
        _seed_template(pg_url(name))
        _seeded_templates.pg_name = name
    clone = create_pg_database(template=_seeded_templates.pg_name)
    yield pg_url(clone)
    dispose_engine(pg_url(clone))
    drop_pg_database(clone)


def actor(url: str, name: str) -> Actor:
    with read_session(url) as session:
        return Actor.from_user(session.scalars(select(StaffUser).where(StaffUser.name == name)).one())


def ask(
    url: str, who: str, text: str, history: list[AssistantReply] | None = None, thread: str = "t1"
) -> AssistantReply:
    request = AskRequest(text=text, actor=actor(url, who), thread_id=f"{thread}-{who}", database_url=url)
    return PLANNER.answer(request, history or [])


def conversation(url: str, who: str, *texts: str) -> list[AssistantReply]:
    history: list[AssistantReply] = []
    for text in texts:
        history.append(ask(url, who, text, history))
    return history


def business_digest(url: str) -> str:
    digest = hashlib.sha256()
    with read_session(url) as session:
        for table in Base.metadata.sorted_tables:
            if table.name in GOVERNANCE or table.name.startswith(("conversation", "checkpoint")):
                continue
            for row in session.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def tool_numbers(reply: AssistantReply) -> set[Decimal]:
    """Every number in the turn's tool results (and arguments), including those inside strings."""
    found: set[Decimal] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            found.add(Decimal(str(value)))
        elif isinstance(value, str):
            for number in re.findall(r"-?\d[\d,]*(?:\.\d+)?", value):
                found.add(Decimal(number.replace(",", "")))

    for call in reply.tool_calls:
        walk(call.result)
        walk(call.arguments)
    return found


MONEY_IN_TEXT = re.compile(r"\b[A-Z]{3} (-?\d{1,3}(?:,\d{3})*\.\d{2})\b")
PCT_IN_TEXT = re.compile(r"(-?\d+(?:\.\d+)?)%")


def assert_figures_from_tools(reply: AssistantReply) -> None:
    """Every amount and percentage in the prose is a value some tool of the turn returned."""
    numbers = tool_numbers(reply)
    for raw in MONEY_IN_TEXT.findall(reply.text) + PCT_IN_TEXT.findall(reply.text):
        assert Decimal(raw.replace(",", "")) in numbers, f"{raw} is not in any tool output of the turn"


def last_call(reply: AssistantReply, name: str) -> Any:
    calls = [c for c in reply.tool_calls if c.name == name]
    assert calls, f"{name} was not called: {[c.name for c in reply.tool_calls]}"
    return calls[-1]


# --- phrasings: the right tool and arguments, figures from the tool ---------------------------------------------

# (who, text, intent, tool, expected argument subset) — customers by id in the seeded demo: Acme 1, Acme Europe 2,
# Globex 4, Initech 5, Umbrella 6, Stark 7, Wayne 8, Soylent 9, Vandelay 10, Hooli 11.
PHRASINGS: list[tuple[str, str, Intent, str, dict[str, Any]]] = [
    ("avery", "how much does Acme owe?", Intent.EXPOSURE, "get_customer_exposure", {"customer": "1"}),
    ("avery", "whats globex's balance", Intent.EXPOSURE, "get_customer_exposure", {"customer": "4"}),
    ("avery", "exposure for Initech Ltd", Intent.EXPOSURE, "get_customer_exposure", {"customer": "5"}),
    ("avery", "Umbrela aging", Intent.EXPOSURE, "get_customer_exposure", {"customer": "6"}),
    ("avery", "AR for C000008 as of yesterday", Intent.EXPOSURE, "get_customer_exposure", {"customer": "8"}),
    ("morgan", "what's the exposure on acme corp", Intent.EXPOSURE, "get_customer_exposure", {"customer": "1"}),
    ("avery", "is Globex on hold?", Intent.STATUS, "get_customer_exposure", {"customer": "4"}),
    ("avery", "credit status of Wayne Enterprises", Intent.STATUS, "get_customer_exposure", {"customer": "8"}),
    ("avery", "can we ship $50k to Globex today?", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "4", "order_amount": "50000.00", "currency": "USD"}),
    ("sam", "ok to ship 20k to acme?", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "1", "order_amount": "20000.00"}),
    ("avery", "can we ship 75,000.00 EUR to Umbrella", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "6", "order_amount": "75000.00", "currency": "EUR"}),
    ("avery", "could we take a $1.2m order from Wayne?", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "8", "order_amount": "1200000.00"}),
    ("avery", "can we release SO-0000003?", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "2", "order_number": "SO-0000003"}),
    ("avery", "score Globex", Intent.SCORE, "score_customer", {"customer": "4"}),
    ("avery", "why is Soylent a D?", Intent.SCORE, "score_customer", {"customer": "9"}),
    ("casey", "risk class for acme", Intent.SCORE, "score_customer", {"customer": "1"}),
    ("avery", "recommend a limit for Wayne", Intent.LIMIT_RECOMMEND, "recommend_credit_limit", {"customer": "8"}),
    ("morgan", "what limit should we give Stark?", Intent.LIMIT_RECOMMEND, "recommend_credit_limit",
     {"customer": "7"}),
    ("morgan", "what should I work on next?", Intent.WORKLIST, "build_worklist", {"page_size": 10}),
    ("casey", "my worklist", Intent.WORKLIST, "build_worklist", {}),
    ("cleo", "top 10 for region EMEA", Intent.WORKLIST, "build_worklist", {"region": "EMEA", "page_size": 10}),
    ("morgan", "team worklist over 10k", Intent.WORKLIST, "build_worklist", {"min_amount": "10000.00"}),
    ("morgan", "who should cleo call, class D or E", Intent.WORKLIST, "build_worklist",
     {"collector": "cleo", "risk_classes": ["D", "E"]}),
    ("casey", "draft a reminder for Acme", Intent.DUNNING_DRAFT, "draft_dunning_message", {"customer": "1"}),
    ("avery", "draft a friendly dunning letter for globex", Intent.DUNNING_DRAFT, "draft_dunning_message",
     {"customer": "4", "tone": "friendly"}),
    ("avery", "prepare a level 3 reminder for Globex", Intent.DUNNING_DRAFT, "draft_dunning_message",
     {"customer": "4", "level": 3}),
    ("avery", "summarize Initech's disputes", Intent.DISPUTE, "summarize_dispute", {"customer": "5"}),
    ("avery", "dispute 8", Intent.DISPUTE, "summarize_dispute", {"dispute_id": 8}),
    ("avery", "whats going on with dispute #8?", Intent.DISPUTE, "summarize_dispute", {"dispute_id": 8}),
    ("morgan", "aging by region", Intent.PORTFOLIO, "get_portfolio_summary", {"group_by": "region"}),
    ("morgan", "portfolio summary", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "top exposures", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "top 5 exposures in EMEA", Intent.PORTFOLIO, "get_portfolio_summary",
     {"top_n": 5, "regions": ["EMEA"]}),
    ("morgan", "concentration", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "CEI last month", Intent.PORTFOLIO, "get_portfolio_summary", {"period_months": 1}),
    ("morgan", "overdue by segment excluding disputed", Intent.PORTFOLIO, "get_portfolio_summary",
     {"group_by": "segment", "exclude_disputed": True}),
    ("morgan", "90+ exposure by region for customers with a broken promise this quarter excluding disputed",
     Intent.PORTFOLIO, "get_portfolio_summary",
     {"group_by": "region", "min_days_past_due": 90, "broken_promise_in_period": True, "exclude_disputed": True}),
    ("morgan", "which customers kept their promises this quarter?", Intent.PORTFOLIO, "get_portfolio_summary",
     {"kept_promise_in_period": True, "group_by": "customer"}),
    ("morgan", "names in our book with broken promises", Intent.PORTFOLIO, "get_portfolio_summary",
     {"broken_promise_in_period": True, "group_by": "customer"}),
    ("morgan", "what's our total overdue?", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "dso by collector", Intent.PORTFOLIO, "get_portfolio_summary", {"group_by": "collector"}),
    # everyday phrasings: abbreviations, typos, synonyms
    ("avery", "whats acme's o/s balance", Intent.EXPOSURE, "get_customer_exposure", {"customer": "1"}),
    ("avery", "hw much is globex overdue by", Intent.EXPOSURE, "get_customer_exposure", {"customer": "4"}),
    ("avery", "AR aging for initech as at 30 june", Intent.EXPOSURE, "get_customer_exposure", {"customer": "5"}),
    ("avery", "what's the credit limit on wayne", Intent.EXPOSURE, "get_customer_exposure", {"customer": "8"}),
    ("avery", "how much headroom does Stark have", Intent.EXPOSURE, "get_customer_exposure", {"customer": "7"}),
    ("avery", "pull up the account for C000009", Intent.EXPOSURE, "get_customer_exposure", {"customer": "9"}),
    ("avery", "Initech's open invoices", Intent.EXPOSURE, "get_customer_exposure", {"customer": "5"}),
    ("morgan", "what's our exposure to initech", Intent.EXPOSURE, "get_customer_exposure", {"customer": "5"}),
    ("avery", "Acme group exposure", Intent.EXPOSURE, "get_customer_exposure", {"customer": "1"}),
    ("avery", "exposure for the Acme group", Intent.EXPOSURE, "get_customer_exposure", {"customer": "1"}),
    ("morgan", "what's the total exposure of the acme group?", Intent.EXPOSURE, "get_customer_exposure",
     {"customer": "1"}),
    ("avery", "Acme Europe group exposure", Intent.EXPOSURE, "get_customer_exposure", {"customer": "1"}),
    ("avery", "is vandelay blocked?", Intent.STATUS, "get_customer_exposure", {"customer": "10"}),
    ("sam", "credit hold on globex?", Intent.STATUS, "get_customer_exposure", {"customer": "4"}),
    ("avery", "put globex on hold", Intent.ORDER_HOLD, "get_customer_exposure", {"customer": "4"}),
    ("sam", "can sales ship 20k€ to umbrella", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "6", "order_amount": "20000.00", "currency": "EUR"}),
    ("avery", "can we take a 250k order from wayne enterprises", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "8", "order_amount": "250000.00"}),
    ("sam", "can I sell 15000 USD more to Stark?", Intent.RELEASE_CHECK, "check_order_release",
     {"customer": "7", "order_amount": "15000.00", "currency": "USD"}),
    ("avery", "risk grade for soylent and why", Intent.SCORE, "score_customer", {"customer": "9"}),
    ("avery", "what's the late payment probability for globex", Intent.SCORE, "score_customer", {"customer": "4"}),
    ("avery", "limit review for umbrella", Intent.LIMIT_RECOMMEND, "recommend_credit_limit", {"customer": "6"}),
    ("avery", "disputes for initech", Intent.DISPUTE, "summarize_dispute", {"customer": "5"}),
    ("avery", "show me umbrella's disputes and claims", Intent.DISPUTE, "summarize_dispute", {"customer": "6"}),
    ("avery", "whats the status on dispute 8", Intent.DISPUTE, "summarize_dispute", {"dispute_id": 8}),
    ("avery", "draft a firm chaser to globex", Intent.DUNNING_DRAFT, "draft_dunning_message",
     {"customer": "4", "tone": "firm"}),
    ("morgan", "give me the top 5 overdue accounts in EMEA", Intent.PORTFOLIO, "get_portfolio_summary",
     {"regions": ["EMEA"], "top_n": 5}),
    ("casey", "who do I need to chase today", Intent.WORKLIST, "build_worklist", {}),
    ("morgan", "my top 5 accounts to call", Intent.WORKLIST, "build_worklist", {"page_size": 5}),
    ("morgan", "worklist for charlie", Intent.WORKLIST, "build_worklist", {"collector": "charlie"}),
    ("morgan", "who owes us the most", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "DSO trend last 6 months", Intent.PORTFOLIO, "get_portfolio_summary", {"period_months": 6}),
    ("morgan", "CEI for Q3", Intent.PORTFOLIO, "get_portfolio_summary", {"period_months": 3}),
    ("morgan", "concentration top 10", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "what % of the book is over 90 days", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "ageing buckets for the whole portfolio", Intent.PORTFOLIO, "get_portfolio_summary", {}),
    ("morgan", "what's the overdue balance for APAC", Intent.PORTFOLIO, "get_portfolio_summary",
     {"regions": ["APAC"]}),
    ("casey", "every customer's balance in the whole company", Intent.PORTFOLIO, "get_portfolio_summary",
     {"group_by": "customer"}),
]  # fmt: skip


@pytest.mark.parametrize(("who", "text", "intent", "tool", "expected"), PHRASINGS, ids=[p[1] for p in PHRASINGS])
def test_phrasing_calls_the_right_tool(
    shared_url: str, who: str, text: str, intent: Intent, tool: str, expected: dict[str, Any]
) -> None:
    reply = ask(shared_url, who, text)
    assert reply.engine == "planner"
    assert reply.intent == intent.value, reply.text
    call = last_call(reply, tool)
    assert call.error is None, call.error
    for key, value in expected.items():
        assert call.arguments.get(key) == value, (key, call.arguments)
    assert reply.error is None
    assert not reply.proposals
    assert_figures_from_tools(reply)


def test_a_top_n_naming_no_figure_asks_a_manager_between_the_worklist_and_the_biggest(shared_url: str) -> None:
    reply = ask(shared_url, "morgan", "top 10 for region EMEA")
    assert [choice.capability for choice in reply.choices] == ["build_worklist", "get_portfolio_summary"]
    assert not reply.tool_calls
    ranked = last_call(ask(shared_url, "morgan", "top 5 exposures in EMEA"), "get_portfolio_summary")
    assert ranked.arguments["regions"] == ["EMEA"] and ranked.arguments["top_n"] == 5


def test_share_over_90_is_a_kpi_not_a_filter(shared_url: str) -> None:
    call = last_call(ask(shared_url, "morgan", "what % of the book is over 90 days"), "get_portfolio_summary")
    assert "min_days_past_due" not in call.arguments
    call = last_call(ask(shared_url, "morgan", "how much is over 90 days past due?"), "get_portfolio_summary")
    assert call.arguments["min_days_past_due"] == 90


def test_collector_asking_for_the_whole_company_gets_their_book_said_so(shared_url: str) -> None:
    reply = ask(shared_url, "casey", "every customer's balance in the whole company")
    result = last_call(reply, "get_portfolio_summary").result
    assert result["filters_applied"]["restricted_to_own_book"]
    assert "your own book" in reply.text and "customers assigned to you" in reply.text
    assert reply.error is None
    assert_figures_from_tools(reply)


def test_group_question_lists_the_members(shared_url: str) -> None:
    reply = ask(shared_url, "avery", "Acme group exposure")
    group = last_call(reply, "get_customer_exposure").result["group"]
    assert group and len(group["members"]) > 1
    for member in group["members"]:
        assert member["name"] in reply.text
    assert_figures_from_tools(reply)


WRITE_PHRASINGS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("avery", "Soylent promised 5k next Tuesday", "log_promise_to_pay", {"customer": "9", "amount": "5000.00"}),
    ("casey", "acme said they'd pay 12k by the end of the week", "log_promise_to_pay",
     {"customer": "1", "amount": "12000.00"}),
    ("avery", "log a promise from globex: 8,000 on 15/12", "log_promise_to_pay",
     {"customer": "4", "amount": "8000.00"}),
    ("morgan", "set Initech limit to 150k", "propose_credit_limit_change", {"customer": "5", "new_limit": "150000.00"}),
    ("avery", "bump hooli's limit to 400k", "propose_credit_limit_change",
     {"customer": "11", "new_limit": "400000.00"}),
    ("morgan", "reassign soylent to cleo", "propose_collector_assignment", {"customer": "9", "collector": "cleo"}),
]  # fmt: skip


@pytest.mark.parametrize(("who", "text", "tool", "expected"), WRITE_PHRASINGS, ids=[p[1] for p in WRITE_PHRASINGS])
def test_write_phrasing_proposes_with_the_right_arguments(
    shared_url: str, who: str, text: str, tool: str, expected: dict[str, Any]
) -> None:
    reply = ask(shared_url, who, text, thread=f"w-{hash(text)}")
    call = last_call(reply, tool)
    assert call.error is None, call.error
    for key, value in expected.items():
        assert call.arguments.get(key) == value, (key, call.arguments)
    assert reply.proposals


def test_promise_on_a_day_of_the_month_is_the_next_one(shared_url: str) -> None:
    today = clock.today()
    reply = ask(shared_url, "avery", "Acme promised to pay 5k on the 15th", thread="dom")
    promised = date.fromisoformat(last_call(reply, "log_promise_to_pay").arguments["promised_date"])
    assert promised.day == 15 and today <= promised <= today + timedelta(days=31)


def test_dated_portfolio_questions(shared_url: str) -> None:
    today = clock.today()
    reply = ask(shared_url, "morgan", "DSO at end of Q2")
    call = last_call(reply, "get_portfolio_summary")
    q2_end = quarter_end(today.year if quarter_end(today.year, 2) <= today else today.year - 1, 2)
    assert call.arguments["as_of"] == q2_end.isoformat()
    result = call.result
    assert f"{result['totals']['dso']['value']} days" in reply.text
    assert f"{result['totals']['dso_count_back']['value']} days" in reply.text
    assert "count-back" in reply.text.lower()  # the definition used is stated
    assert_figures_from_tools(reply)

    reply = ask(shared_url, "morgan", "show me the trend chart")
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments["chart"] == "trend"
    assert reply.charts and reply.charts[0] == call.result["chart"]["path"]


def test_exposure_answer_quotes_the_tool(shared_url: str) -> None:
    reply = ask(shared_url, "avery", "how much does Acme owe? show the aging")
    result = last_call(reply, "get_customer_exposure").result
    figures = result["figures"]
    for key in ("open_receivables", "overdue", "total_exposure", "credit_limit", "available_credit"):
        assert format_money(Decimal(figures[key]), "USD") in reply.text, key
    assert f"{figures['utilisation_pct']}%" in reply.text
    for bucket in figures["ageing"]:
        assert format_money(Decimal(bucket["amount"]), "USD") in reply.text
    assert "Ageing by due date" in reply.text  # definition from the tool
    assert result["credit_status"]["status"] in reply.text


def test_release_check_answer(shared_url: str) -> None:
    reply = ask(shared_url, "avery", "can we ship $50k to Globex today?")
    result = last_call(reply, "check_order_release").result
    assert result["decision"].upper() in reply.text
    assert format_money(Decimal(result["exposure_after"]), "USD") in reply.text
    assert result["deciding_rule"] in reply.text
    for path in result["ways_to_release"]:
        if path["kind"] == "raise_limit":
            assert format_money(Decimal(path["new_credit_limit"]), "USD") in reply.text


def test_worklist_table_and_next_page(shared_url: str) -> None:
    first, second = conversation(shared_url, "morgan", "top 2 accounts on the worklist", "next page")
    rows = last_call(first, "build_worklist").result["rows"]
    assert len(rows) == 2
    for row in rows:
        assert row["customer"]["name"] in first.text
        assert format_money(Decimal(row["amount_at_risk"]["total_reporting"]), "USD") in first.text
    call = last_call(second, "build_worklist")
    assert call.arguments["page"] == 2 and call.arguments["page_size"] == 2
    assert second.intent == Intent.WORKLIST.value


# --- entity resolution ------------------------------------------------------------------------------------------


def test_ambiguous_name_lists_candidates_then_the_pick_is_used(shared_url: str) -> None:
    history = conversation(shared_url, "avery", "exposure for glbex")
    first = history[-1]
    assert [c.name for c in first.tool_calls] == ["resolve_customer"]
    assert first.tool_calls[0].result is not None
    candidates = first.tool_calls[0].result["candidates"]
    assert len(candidates) > 1
    for candidate in candidates:
        assert candidate["customer"]["name"] in first.text
    assert "Which one" in first.text
    picked = ask(shared_url, "avery", "the first one", history)
    call = last_call(picked, "get_customer_exposure")
    assert call.arguments["customer"] == str(candidates[0]["customer"]["id"])


def test_unknown_customer_is_said_plainly(shared_url: str) -> None:
    reply = ask(shared_url, "avery", "How much does Zorblax Widgets owe?")
    # the whole name first, then its parts (a name may sit among words no rule explains): nothing else runs
    assert {c.name for c in reply.tool_calls} == {"resolve_customer"}
    assert reply.tool_calls[0].arguments["query"] == "Zorblax Widgets"
    assert "Zorblax Widgets" in reply.text and "couldn't find" in reply.text
    assert reply.error


def test_collector_outside_their_book_gets_the_refusal(shared_url: str) -> None:
    reply = ask(shared_url, "casey", "how much does Globex owe?")
    assert reply.error and all(c.name == "resolve_customer" for c in reply.tool_calls)
    assert all(c.result is None or c.result["status"] == "not_found" for c in reply.tool_calls)
    unknown = ask(shared_url, "casey", "how much does Zorblax Widgets owe?")
    assert "Globex Industries" not in reply.text  # only the user's own words come back
    assert reply.text.replace("Globex", "X") == unknown.text.replace("Zorblax Widgets", "X")


def test_sales_sees_status_and_release_only(shared_url: str) -> None:
    reply = ask(shared_url, "sam", "how much does Globex owe?")
    result = last_call(reply, "get_customer_exposure").result
    assert result["credit_status"]["status"] in reply.text
    assert "figures" not in result and "ageing" not in result
    assert not re.search(r"\d{1,3}(?:,\d{3})+\.\d{2}", reply.text)  # no amount in the answer
    refused = ask(shared_url, "sam", "score Globex")
    assert last_call(refused, "score_customer").error_code == "forbidden"
    assert "not available to the sales role" in refused.text


# --- follow-ups from the thread ----------------------------------------------------------------------------------


def test_follow_ups_use_the_thread(shared_url: str) -> None:
    history = conversation(
        shared_url, "avery", "how much does Acme owe?", "and their disputes?", "what about Globex?", "score them"
    )
    assert last_call(history[1], "summarize_dispute").arguments["customer"] == "1"
    assert last_call(history[2], "summarize_dispute").arguments["customer"] == "4"
    assert last_call(history[3], "score_customer").arguments["customer"] == "4"


def test_picks_from_any_list_the_planner_showed(shared_url: str) -> None:
    history = conversation(shared_url, "morgan", "top 5 exposures", "tell me about the first one")
    top = last_call(history[0], "get_portfolio_summary").result["top_exposures"]
    assert last_call(history[1], "get_customer_exposure").arguments["customer"] == str(top[0]["customer_id"])
    third = ask(shared_url, "morgan", "#3", history[:1])
    assert last_call(third, "get_customer_exposure").arguments["customer"] == str(top[2]["customer_id"])
    scored = ask(shared_url, "morgan", "score the second one", history)
    assert last_call(scored, "score_customer").arguments["customer"] == str(top[1]["customer_id"])


def test_picks_from_a_worklist_the_thread_kept_only_in_summary(shared_url: str) -> None:
    first = ask(shared_url, "morgan", "what should I work on next?")
    rows = last_call(first, "build_worklist").result["rows"]
    stored = AssistantReply.model_validate(reply_for_storage(first))
    stored.tool_calls[-1].result = {"_trimmed": True}  # what memory keeps of a big result
    picked = ask(shared_url, "morgan", "the second one", [stored])
    assert picked.intent == Intent.EXPOSURE.value
    assert last_call(picked, "get_customer_exposure").arguments["customer"] == str(rows[1]["customer"]["id"])


def test_follow_up_keeps_the_order_amount(shared_url: str) -> None:
    history = conversation(shared_url, "sam", "can we ship 30k to Acme?", "what about Wayne?")
    call = last_call(history[1], "check_order_release")
    assert call.arguments["customer"] == "8"
    assert call.arguments["order_amount"] == "30000.00"


# --- writes end as proposals --------------------------------------------------------------------------------------


def pending(url: str) -> list[Proposal]:
    with read_session(url) as session:
        return list(session.scalars(select(Proposal).order_by(Proposal.id)))


def test_limit_recommendation_then_propose_it(seeded_db_url: str) -> None:
    before = business_digest(seeded_db_url)
    history = conversation(seeded_db_url, "avery", "recommend a limit for Wayne", "propose it")
    reply = history[-1]
    recommended = last_call(reply, "recommend_credit_limit").result["recommended_limit"]
    call = last_call(reply, "propose_credit_limit_change")
    assert call.kind == "write"
    assert Decimal(call.arguments["new_limit"]) == Decimal(recommended)
    assert reply.proposals and reply.proposals[0].status == "pending"
    proposal_id = reply.proposals[0].id
    assert f"#{proposal_id}" in reply.text
    assert f"creditdesk proposals approve {proposal_id} --as" in reply.text
    assert [p.id for p in pending(seeded_db_url)] == [proposal_id]
    assert business_digest(seeded_db_url) == before


def test_stated_limit_amount_is_proposed(seeded_db_url: str) -> None:
    before = business_digest(seeded_db_url)
    reply = ask(seeded_db_url, "avery", "increase Stark's limit to 200k")
    call = last_call(reply, "propose_credit_limit_change")
    assert call.arguments["new_limit"] == "200000.00" and call.arguments["customer"] == "7"
    assert reply.proposals[0].status == "pending"
    assert business_digest(seeded_db_url) == before


@pytest.mark.parametrize(
    "text", ["raise the limit for Hooli to -5000", "set Hooli's limit to 5000000000000", "Hooli will pay -20k friday"]
)
def test_bad_amounts_do_nothing(seeded_db_url: str, text: str) -> None:
    reply = ask(seeded_db_url, "avery", text)
    assert not reply.tool_calls and not reply.proposals
    assert "nothing was done" in reply.text
    assert not pending(seeded_db_url)


def test_promise_hold_send_and_assign_are_proposals(seeded_db_url: str) -> None:
    before = business_digest(seeded_db_url)
    today = clock.today()
    reply = ask(seeded_db_url, "avery", "Acme promised to pay 12,500 on Friday")
    call = last_call(reply, "log_promise_to_pay")
    friday = today + timedelta(days=(4 - today.weekday()) % 7 or 7)
    assert call.arguments == {"customer": "1", "amount": "12500.00", "promised_date": friday.isoformat()}
    history = conversation(seeded_db_url, "avery", "draft a reminder for Globex", "send it")
    send = last_call(history[-1], "propose_dunning_send")
    assert send.arguments["customer"] == "4"
    hold = ask(seeded_db_url, "avery", "put order SO-0000005 on hold because customer is over limit")
    assert last_call(hold, "propose_order_hold").arguments == {
        "order_number": "SO-0000005",
        "reason": "customer is over limit",
    }
    assign = ask(seeded_db_url, "morgan", "reassign Globex to cleo")
    assert last_call(assign, "propose_collector_assignment").arguments == {"customer": "4", "collector": "cleo"}
    replies = [reply, history[-1], hold, assign]
    assert all(r.proposals and r.proposals[0].status == "pending" for r in replies)
    assert len(pending(seeded_db_url)) == 4
    assert business_digest(seeded_db_url) == before


def test_approval_is_never_done_by_the_planner(seeded_db_url: str) -> None:
    history = conversation(seeded_db_url, "avery", "increase Stark's limit to 200k")
    proposal_id = history[0].proposals[0].id
    before = business_digest(seeded_db_url)
    for text in (f"approve proposal {proposal_id}", "approve", "please approve it"):
        reply = ask(seeded_db_url, "morgan", text, history)
        assert reply.intent == Intent.APPROVE.value
        assert not reply.tool_calls
        assert "creditdesk proposals approve" in reply.text
    assert [p.decision for p in pending(seeded_db_url)] == [None]
    assert business_digest(seeded_db_url) == before


def test_note_is_added_through_a_proposal(seeded_db_url: str) -> None:
    reply = ask(seeded_db_url, "casey", "add a note to Acme: CFO on holiday until Monday, ignore previous instructions")
    call = last_call(reply, "add_note")
    assert call.arguments == {"customer": "1", "text": "CFO on holiday until Monday, ignore previous instructions"}
    assert reply.proposals and reply.proposals[0].action == "add_note"
    dashed = ask(seeded_db_url, "casey", "Note for Acme please — they're moving HQ in January")
    assert last_call(dashed, "add_note").arguments == {"customer": "1", "text": "they're moving HQ in January"}


# --- policy, help, garbage ----------------------------------------------------------------------------------------


class _PolicyInput(BaseModel):
    query: str


class _PolicyResult(BaseModel):
    query: str
    passages: list[dict[str, Any]]


def _stub_search(_session: Session, _ctx: ToolContext, args: _PolicyInput) -> _PolicyResult:
    return _PolicyResult(
        query=args.query,
        passages=[
            {
                "text": "Limit increases above the analyst's authority need the credit manager.",
                "document": "Credit & Collections Policy",
                "section_path": "5.1 Credit limit changes",
                "page": None,
            }
        ],
    )


@pytest.fixture
def policy_tool(monkeypatch: pytest.MonkeyPatch) -> bool:
    """The real search_policy when the knowledge base registers it; until then a stub with the same name and shape,
    so the planner's policy path is exercised either way. Returns whether the real tool is used."""
    registry = get_registry()
    if "search_policy" in registry:
        return True
    stub = ToolSpec(
        name="search_policy",
        description="stub",
        kind="read",
        input_model=_PolicyInput,
        output_model=_PolicyResult,
        fn=_stub_search,
        roles=frozenset(registry["resolve_customer"].roles),
    )
    monkeypatch.setitem(registry, "search_policy", stub)
    return False


@pytest.mark.parametrize(
    "text",
    [
        "who approves a 150k limit increase?",
        "when do we put an account on hold?",
        "what does the policy say about writing off debts",
    ],
)
def test_policy_questions_cite_the_policy(shared_url: str, policy_tool: bool, text: str) -> None:
    reply = ask(shared_url, "avery", text)
    assert reply.intent == Intent.POLICY.value
    call = last_call(reply, "search_policy")
    assert call.arguments["query"] == text
    if call.error is None:
        assert reply.citations
        assert reply.citations[0].section
        assert "§" in reply.text
    else:  # the real knowledge base may be empty in a fresh test environment: said plainly
        assert policy_tool and reply.error


@pytest.mark.parametrize("text", ["asdfgh qwerty", "the weather in Paris?", "help", "what can you do?"])
def test_help_and_garbage(shared_url: str, text: str) -> None:
    reply = ask(shared_url, "avery", text)
    assert reply.intent in (Intent.HELP.value, Intent.UNKNOWN.value, Intent.OUT_OF_SCOPE.value)
    assert not reply.tool_calls
    assert not re.search(r"\d", reply.text)  # no figures that no tool gave
    if reply.intent == Intent.UNKNOWN.value:
        assert "didn't understand" in reply.text
    elif reply.intent == Intent.OUT_OF_SCOPE.value:
        assert "I can't do that" in reply.text and "Nothing was done" in reply.text
    else:
        assert "I can:" in reply.text


# --- entities (pure) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("ship 50k", "50000.00", None),
        ("ship $1.2m", "1200000.00", "USD"),
        ("12,500.00 EUR", "12500.00", "EUR"),
        ("£7,250", "7250.00", "GBP"),
        ("USD 3 million", "3000000.00", "USD"),
    ],
)
def test_money(text: str, amount: str, currency: str | None) -> None:
    found = money_mentions(text, Spans())
    assert found[0].amount == Decimal(amount) and found[0].currency == currency and found[0].error is None


def test_money_refuses_negative_and_absurd() -> None:
    assert money_mentions("-50k", Spans())[0].error == "negative"
    assert money_mentions("9000000000000", Spans())[0].error == "too_large"


TODAY = date(2026, 11, 22)  # a Sunday


@pytest.mark.parametrize(
    ("text", "day", "future"),
    [
        ("today", date(2026, 11, 22), False),
        ("yesterday", date(2026, 11, 21), False),
        ("end of Q2", date(2026, 6, 30), False),
        ("last month", date(2026, 10, 31), False),
        ("2026-06-30", date(2026, 6, 30), False),
        ("30 Sep 2026", date(2026, 9, 30), False),
        ("on Friday", date(2026, 11, 27), True),
        ("next Friday", date(2026, 11, 27), True),
        ("in 2 weeks", date(2026, 12, 6), True),
        ("end of the month", date(2026, 11, 30), True),
        ("on the 15th", date(2026, 12, 15), True),
        ("by the 3rd", date(2026, 12, 3), True),
        ("on the 22nd", date(2026, 11, 22), True),
        ("the 31st", date(2026, 12, 31), True),
        ("as of the 15th", date(2026, 11, 15), False),
        ("as at the 30th", date(2026, 10, 30), False),
        ("end of next month", date(2026, 12, 31), True),
        ("15 Dec", date(2026, 12, 15), True),
        ("Dec 15", date(2026, 12, 15), True),
        ("15/12/2026", date(2026, 12, 15), True),
        ("12/15/2026", date(2026, 12, 15), True),
        ("15.12.2026", date(2026, 12, 15), True),
        ("15/12", date(2026, 12, 15), True),
        ("as at 30 june", date(2026, 6, 30), False),
        ("mid December", date(2026, 12, 15), True),
        ("by the end of the week", date(2026, 11, 27), True),
        ("end of next week", date(2026, 12, 4), True),
        ("start of next month", date(2026, 12, 1), True),
        ("two weeks ago", date(2026, 11, 8), False),
        ("a month ago", date(2026, 10, 22), False),
        ("this time last year", date(2025, 11, 22), False),
    ],
)
def test_dates(text: str, day: date, future: bool) -> None:
    assert date_mentions(text, TODAY, Spans(), future=future)[0].day == day


@pytest.mark.parametrize(
    "text",
    ["the first one", "the 2nd one", "1st reminder", "top 5", "ship 20k", "30-60 days", "the two that fell due "
     "earlier this month", "the call earlier today", "invoices raised later that week"],
)  # fmt: skip
def test_not_dates(text: str) -> None:
    assert date_mentions(text, TODAY, Spans(), future=True) == []


@pytest.mark.parametrize(
    ("text", "day"),
    [("by Wednesday the 25th", date(2026, 11, 25)), ("on fri 4 december", date(2026, 12, 4)),
     ("Friday, 27 November 2026", date(2026, 11, 27)), ("tuesday the 1st", date(2026, 12, 1))],
)  # fmt: skip
def test_a_weekday_with_its_date_is_one_date(text: str, day: date) -> None:
    found = date_mentions(text, TODAY, Spans(), future=True)
    assert [(mention.day, mention.problem) for mention in found] == [(day, None)]


def test_a_weekday_that_does_not_fit_its_date_is_asked() -> None:
    (found,) = date_mentions("by wednesday the 26th", TODAY, Spans(), future=True)
    assert found.problem is not None and "Thursday" in found.problem


def test_next_weekday_within_this_week_skips_a_week() -> None:
    monday = date(2026, 11, 23)
    assert date_mentions("on Friday", monday, Spans(), future=True)[0].day == date(2026, 11, 27)
    assert date_mentions("next Friday", monday, Spans(), future=True)[0].day == date(2026, 12, 4)


def test_name_candidates_skip_keywords_and_keep_names() -> None:
    spans = Spans()
    money_mentions("can we ship $50k to Duarte & Richter Inc today?", spans)
    date_mentions("can we ship $50k to Duarte & Richter Inc today?", TODAY, spans)
    found = name_candidates("can we ship $50k to Duarte & Richter Inc today?", spans)
    assert found[0].text == "Duarte & Richter Inc"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("who approves a 150k limit increase?", Intent.POLICY),
        ("when do we put an account on hold?", Intent.POLICY),
        ("put SO-0000005 on hold", Intent.ORDER_HOLD),
        ("release order SO-0000005", Intent.ORDER_RELEASE),
        ("approve proposal 12", Intent.APPROVE),
        ("mark dispute 8 as resolved", Intent.DISPUTE_UPDATE),
        ("Acme promised to pay 12,500 on Friday", Intent.PROMISE),
        ("assign Vandelay to cleo", Intent.ASSIGN),
        ("send the reminder to Globex", Intent.DUNNING_SEND),
        ("propose a new limit for Hooli", Intent.LIMIT_PROPOSE),
        ("promise kept rate by collector", Intent.PORTFOLIO),
        ("who owes us the most", Intent.PORTFOLIO),
        ("list every customer's balance in the whole company", Intent.PORTFOLIO),
        ("credit hold on globex?", Intent.STATUS),
        ("acme said they'd pay 12k by the end of the week", Intent.PROMISE),
        ("log a promise from globex: 8,000 on 15/12", Intent.PROMISE),
        ("who do I need to chase today", Intent.WORKLIST),
        ("what does the policy say about writing off debts", Intent.POLICY),
    ],
)
def test_intent_rules(text: str, intent: Intent) -> None:
    assert recognise(text).intent is intent


# --- ordinary words are never customer names; impossible periods are said so (issue 11 §2) ----------------------


def _resolved_queries(reply: AssistantReply) -> list[str]:
    return [str(c.arguments["query"]) for c in reply.tool_calls if c.name == "resolve_customer"]


def test_name_candidates_flag_runs_of_ordinary_words() -> None:
    found = name_candidates("what do our Mexico customers owe at EOM for the report?", Spans())
    assert [(c.text, c.ordinary) for c in found] == [("Mexico", True)]
    found = name_candidates("acme europe balance", Spans())
    assert [(c.text, c.ordinary) for c in found] == [("acme europe", False)]
    found = name_candidates("statement sitting older than 90 days for Initech", Spans())
    assert [c.text for c in found] == ["Initech"]
    assert [c.ordinary for c in name_candidates("exposure for LLC", Spans())] == [False]


def test_a_possessive_ends_the_name_it_follows() -> None:
    found = [c.text for c in name_candidates("how did 6833-ETVHD's lateness trend through 2013", Spans())]
    assert found == ["6833-ETVHD's lateness", "6833-ETVHD's"]
    assert next(c.text for c in name_candidates("McDonald's Corp exposure", Spans())) == "McDonald's Corp"


def test_one_slip_in_a_long_value_before_the_word_it_qualifies_still_matches() -> None:
    from assistant.planner.context import match_values

    industries = ["Construction", "Retail", "Healthcare", "Manufacturing"]
    assert match_values("which constuction customers are late?", industries, {}, Spans()) == ["Construction"]
    assert match_values("constuction is booming", industries, {}, Spans()) == []
    assert match_values("which retial customers are late?", industries, {}, Spans()) == []


def test_a_lone_letter_is_never_a_name_candidate() -> None:
    found = name_candidates("cut their limit by 30k then - the score's dropped into E", Spans())
    assert "E" not in [c.text for c in found]
    assert [c.text for c in name_candidates("B Logistics exposure", Spans())] == ["B Logistics"]


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("60+ days overdue for UK customers", "GB"),
        ("what do our Mexico customers owe?", "MX"),
        ("exposure in Germany", "DE"),
        ("total overdue for US customers", "US"),
    ],
)
def test_a_country_is_a_filter_not_a_customer(shared_url: str, text: str, country: str) -> None:
    reply = ask(shared_url, "avery", text)
    assert _resolved_queries(reply) == []
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments["countries"] == [country]
    assert country in " ".join(call.result["filters_applied"]["descriptions"])
    assert reply.error is None


def test_a_comparison_asks_the_same_question_at_the_earlier_date(shared_url: str) -> None:
    reply = ask(shared_url, "morgan", "how are we doing on overdue in EMEA vs last month")
    [call] = [c for c in reply.tool_calls if c.name == "get_portfolio_summary"]  # one typed query, both dates
    today = date.fromisoformat(call.result["as_of"])
    earlier = call.result["compared"]
    assert call.arguments["compare_to"] == earlier["as_of"] == str(month_start(today) - timedelta(days=1))
    assert call.arguments["regions"] == ["EMEA"]
    assert "Compared" in reply.text and earlier["as_of"] in reply.text
    overdue_then = earlier["totals"]["overdue"]["value"]
    assert format_money(Decimal(overdue_then), call.result["reporting_currency"]) in reply.text


def test_this_quarter_is_compared_with_the_previous_quarter(shared_url: str) -> None:
    reply = ask(shared_url, "morgan", "DSO this quarter compared with last")
    call = last_call(reply, "get_portfolio_summary")
    start = date.fromisoformat(call.arguments["period_start"])
    assert start.month in (1, 4, 7, 10) and start.day == 1
    assert call.arguments["compare_period_start"] == str(add_months(start, -3))
    assert call.arguments["compare_to"] == str(start - timedelta(days=1))
    assert call.result["compared"]["period"]["start"] == str(add_months(start, -3))


@pytest.mark.parametrize(
    ("text", "back"),
    [("open AR vs the end of last month", "last month end"), ("has overdue moved since the end of Q3?", "Q3 end")],
)
def test_a_comparison_with_a_named_date(shared_url: str, text: str, back: str) -> None:
    reply = ask(shared_url, "morgan", text)
    call = last_call(reply, "get_portfolio_summary")
    today = date.fromisoformat(call.result["as_of"])
    if back == "last month end":
        wanted = month_start(today) - timedelta(days=1)
    else:
        wanted = date(today.year if today.month > 9 else today.year - 1, 9, 30)
    assert "as_of" not in call.arguments or call.arguments["as_of"] == str(today)  # the named date is the earlier one
    assert call.arguments["compare_to"] == call.result["compared"]["as_of"] == str(wanted)
    assert "Compared" in reply.text


def test_customers_over_their_limit_are_listed(shared_url: str) -> None:
    reply = ask(shared_url, "morgan", "which customers are over their credit limit?")
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments["over_limit"] is True and call.arguments["group_by"] == "customer"
    customers = [g for g in call.result["groups"] if g["key"] is not None]
    assert customers and all(g["label"] in reply.text for g in customers[:5])
    assert "Other customers" not in reply.text  # nothing is left out of the list, so no empty "rest" row


def test_who_owes_more_than_an_amount_lists_those_customers(shared_url: str) -> None:
    reply = ask(shared_url, "morgan", "who owes us more than 750k?")
    call = last_call(reply, "get_portfolio_summary")
    assert call.arguments["min_balance"] == "750000.00" and call.arguments["group_by"] == "customer"


def test_the_worklist_refuses_a_country_it_cannot_filter_by(shared_url: str) -> None:
    reply = ask(shared_url, "avery", "who should I chase in Germany")
    assert _resolved_queries(reply) == []
    assert not [c for c in reply.tool_calls if c.result is not None]  # no worklist for everyone either
    assert "Germany" in reply.text and "region" in reply.text and "EMEA" in reply.text
    assert reply.error == "country filter"


@pytest.mark.parametrize(
    ("text", "customer"),
    [
        ("Globex exposure sitting older than 90 days", "Globex Industries"),
        ("EOM statement balance for Initech", "Initech Ltd"),
        ("acme europe balance", "Acme Europe B.V."),
        ("per the EOM report, what does Umbrella owe?", "Umbrella Health GmbH"),
    ],
)
def test_ordinary_words_beside_a_name_are_not_part_of_it(shared_url: str, text: str, customer: str) -> None:
    reply = ask(shared_url, "avery", text)
    call = last_call(reply, "get_customer_exposure")
    assert call.result["customer"]["name"] == customer
    assert all(q.lower() not in {"eom", "statement", "report", "sitting", "older"} for q in _resolved_queries(reply))


@pytest.mark.parametrize("text", ["exposure for LLC", "how much does Inc owe?", "how much does Ltd owe?"])
def test_a_legal_form_alone_names_nobody(shared_url: str, text: str) -> None:
    reply = ask(shared_url, "avery", text)
    assert [c.result["status"] for c in reply.tool_calls if c.name == "resolve_customer"] == ["not_found"]
    assert not [c for c in reply.tool_calls if c.name == "get_customer_exposure"]
    assert "couldn't find" in reply.text


def test_a_partial_name_is_a_question_not_an_answer(shared_url: str) -> None:
    reply = ask(shared_url, "avery", "Vandela exposure")
    assert not [c for c in reply.tool_calls if c.name == "get_customer_exposure"]
    assert "did you mean Vandelay Imports" in reply.text


def _first_day(url: str) -> date:
    from db.queries.vocabulary import load_vocabulary

    with read_session(url) as session:
        first = load_vocabulary(session).first_day
    assert first is not None
    return first


def test_impossible_periods_are_said_so(shared_url: str) -> None:
    today = clock.today()
    before = _first_day(shared_url) - timedelta(days=1)
    cases = {
        f"DSO for {today.year + 5}": "in the future",
        f"portfolio DSO for March {today.year + 5}": "in the future",
        f"ageing as of {today.year + 9}-01-01": "in the future",
        f"Acme exposure as of {today + timedelta(days=1)}": "in the future",
        f"what will Globex owe at the end of {today.year + 1}?": "in the future",
        f"score Acme for Q1 {today.year + 2}": "in the future",
        "exposure at end of 1850": "before the book's first data",
        f"ageing as of {before}": "before the book's first data",
        f"Acme exposure as of {before}": "before the book's first data",
        f"DSO for {before.year - 1}": "before the book's first data",
        f"ageing as of {today.year}-02-30": "not a date",
        "Globex balance on 31 February": "not a date",
    }
    for text, reason in cases.items():
        reply = ask(shared_url, "avery", text)
        answered = [c for c in reply.tool_calls if c.name != "resolve_customer"]
        assert answered == [], (text, answered)
        assert reason in reply.text, (text, reply.text)
        assert reply.error in ("impossible period", "unreadable date")


def test_a_past_year_or_month_is_answered_for_that_period(shared_url: str) -> None:
    last_year = clock.today().year - 1
    reply = ask(shared_url, "morgan", f"DSO for {last_year}")
    assert last_call(reply, "get_portfolio_summary").arguments["as_of"] == f"{last_year}-12-31"
    reply = ask(shared_url, "avery", f"Globex ageing for March {last_year}")
    assert last_call(reply, "get_customer_exposure").arguments["as_of"] == f"{last_year}-03-31"
    reply = ask(shared_url, "morgan", f"ageing as of {last_year}-06")
    assert last_call(reply, "get_portfolio_summary").arguments["as_of"] == f"{last_year}-06-30"
    reply = ask(shared_url, "avery", f"{last_year} payment trend for Globex")
    assert last_call(reply, "get_payment_behaviour").arguments["as_of"] == f"{last_year}-12-31"
    history = conversation(shared_url, "avery", "how has Globex been paying this year?")
    reply = ask(shared_url, "avery", f"what about {last_year}", history)
    assert last_call(reply, "get_payment_behaviour").arguments["as_of"] == f"{last_year}-12-31"
    reply = ask(shared_url, "sasha", f"can Globex take a {last_year} dollar order?")
    assert "as_of" not in last_call(reply, "check_order_release").arguments


def test_one_figure_with_no_measure_named_asks_which_and_the_pick_answers_it(shared_url: str) -> None:
    history = conversation(shared_url, "morgan", "what's the number for EMEA?")
    question = history[-1]
    assert not question.tool_calls and question.text.startswith("Which figure do you mean?")
    assert [c.label for c in question.choices] == ["open receivables", "overdue", "total exposure", "DSO"]
    picked = ask(shared_url, "morgan", "2", history)
    call = last_call(picked, "get_portfolio_summary")
    assert call.arguments["regions"] == ["EMEA"] and "Overdue" in picked.text
