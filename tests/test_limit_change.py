"""A stated limit amount is a new limit ("to 50k") or a move of the current one ("by 50k"); when the wording allows
both, the desk asks and proposes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from assistant.planner import OfflinePlanner
from assistant.types import AskRequest
from core.errors import CreditDeskError
from db.engine import read_session
from db.models import Proposal
from db.queries.staff import get_staff_user
from tests.support.surfaces import current_limit
from tools.context import Actor, ToolContext
from tools.registry import call_tool

PLANNER = OfflinePlanner()


def _actor(url: str, name: str) -> Actor:
    with read_session(url) as session:
        return Actor.from_user(get_staff_user(session, name))


def _proposed_limits(url: str) -> list[Decimal]:
    with read_session(url) as session:
        return [Decimal(p.payload["new_limit"]) for p in session.scalars(select(Proposal).order_by(Proposal.id))]


def _ask(url: str, text: str) -> str:
    request = AskRequest(text=text, actor=_actor(url, "avery"), thread_id=f"t-{text}", database_url=url)
    return PLANNER.answer(request, []).text


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("raise Stark's limit by 50k because of seasonal orders", Decimal(50000)),
        ("increase the credit limit for Stark by USD 20,000", Decimal(20000)),
        ("propose an extra 15k of credit limit for Stark", Decimal(15000)),
        ("propose 12k more credit limit for Stark", Decimal(12000)),
        ("propose an increase of 30k to Stark's limit", Decimal(30000)),
    ],
)
def test_by_moves_the_current_limit(seeded_db_url: str, text: str, change: Decimal) -> None:
    before = current_limit(seeded_db_url, "Stark")
    assert before is not None
    _ask(seeded_db_url, text)
    assert _proposed_limits(seeded_db_url) == [before + change]


@pytest.mark.parametrize(
    ("text", "new_limit"),
    [
        ("set Stark's limit to 40k", Decimal(40000)),
        ("propose a credit limit of 60000 for Stark", Decimal(60000)),
        ("raise Stark's credit limit to USD 45,500", Decimal(45500)),
    ],
)
def test_to_sets_the_limit(seeded_db_url: str, text: str, new_limit: Decimal) -> None:
    _ask(seeded_db_url, text)
    assert _proposed_limits(seeded_db_url) == [new_limit]


@pytest.mark.parametrize(
    "text", ["cut Stark's limit by 1,000", "cut stark's line by 1k - they're over limit and paying 30+ days late"]
)
def test_a_decrease_by_lowers_it(seeded_db_url: str, text: str) -> None:
    before = current_limit(seeded_db_url, "Stark")
    assert before is not None and before > 1000
    _ask(seeded_db_url, text)
    assert _proposed_limits(seeded_db_url) == [before - 1000]


@pytest.mark.parametrize(
    "text", ["Stark limit change: (1,000) - 3 broken promises", "stark's limit -1k pls, deteriorating"]
)
def test_a_negative_figure_for_a_limit_lowers_it_by_that_much(seeded_db_url: str, text: str) -> None:
    before = current_limit(seeded_db_url, "Stark")
    assert before is not None and before > 1000
    _ask(seeded_db_url, text)
    assert _proposed_limits(seeded_db_url) == [before - 1000]


def test_a_negative_new_limit_is_refused(seeded_db_url: str) -> None:
    answer = _ask(seeded_db_url, "set Stark's limit to -15k")
    assert "must be positive" in answer and _proposed_limits(seeded_db_url) == []


@pytest.mark.parametrize("text", ["increase Stark's limit 50,000", "lower Stark's credit limit 2k"])
def test_unclear_wording_asks_and_proposes_nothing(seeded_db_url: str, text: str) -> None:
    answer = _ask(seeded_db_url, text)
    assert "Do you mean a new limit of" in answer and "Nothing was proposed" in answer
    assert _proposed_limits(seeded_db_url) == []


def test_a_decrease_below_zero_is_refused(seeded_db_url: str) -> None:
    before = current_limit(seeded_db_url, "Stark")
    assert before is not None
    answer = _ask(seeded_db_url, f"reduce Stark's limit by {before + 1000:.0f}")
    assert "zero or below" in answer and _proposed_limits(seeded_db_url) == []


def _propose(url: str, **arguments: object) -> object:
    ctx = ToolContext(actor=_actor(url, "avery"), database_url=url)
    return call_tool("propose_credit_limit_change", {"customer": "Stark", "reason": "test", **arguments}, ctx)


@pytest.mark.parametrize(
    "arguments",
    [{}, {"new_limit": "50000", "change_by": "1000"}, {"change_by": "0"}, {"change_by": "1e4"}],
)
def test_the_tool_takes_exactly_one_readable_target(seeded_db_url: str, arguments: dict[str, str]) -> None:
    with pytest.raises(CreditDeskError):
        _propose(seeded_db_url, **arguments)
    with read_session(seeded_db_url) as session:
        assert session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_the_tool_applies_change_by_to_the_limit_it_reads(seeded_db_url: str) -> None:
    before = current_limit(seeded_db_url, "Stark")
    assert before is not None
    _propose(seeded_db_url, change_by="-500")
    assert _proposed_limits(seeded_db_url) == [before - 500]


@pytest.mark.parametrize(
    ("text", "reason", "review"),
    [
        ("set Stark's limit to 40k, review in 6 months. Reason: two big new contracts", "two big new contracts", True),
        ("cut Stark's limit by 5k given how late they pay", "given how late they pay", False),
        ("Stark limit -> 45k pls, review 31/03/2099", None, True),
    ],
)
def test_the_users_reason_and_review_date_go_with_the_proposal(
    seeded_db_url: str, text: str, reason: str | None, review: bool
) -> None:
    _ask(seeded_db_url, text)
    with read_session(seeded_db_url) as session:
        latest = session.scalars(select(Proposal).order_by(Proposal.id.desc())).first()
        assert latest is not None
        payload = latest.payload
    assert (reason or "Requested by avery") in payload["reason"]
    assert ("review_date" in payload and payload["review_date"] is not None) == review
