"""Role rules live in the tools: the sales role gets credit status and release decisions, never balances, ageing,
exposure, limits or scores, from every surface (registry, REST API, CLI, planner); and a collector asking about a
customer outside their book gets exactly the answer a customer that does not exist gets (never its name)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select
from typer.testing import CliRunner

from assistant.service import AssistantService
from assistant.types import AskRequest, AssistantReply
from core.errors import CreditDeskError, ErrorCode
from core.settings import reset_settings
from db.engine import read_session
from db.models import AuditEvent, Customer, Dispute, Role, StaffUser
from integrations.api.app import create_app
from integrations.cli import app as cli
from integrations.surface import actor_for_handle
from tests.support.surfaces import FakeService, bearer, issue_keys
from tools.context import Actor, ToolContext
from tools.exposure import CustomerExposure, SalesCreditView
from tools.registry import RESTRICTED_ROLES, ToolSpec, call_tool, check_views, get_registry, unfiltered
from tools.release import OrderReleaseResult, SalesReleaseDecision

# Keys of the full results that carry account figures; none may reach the sales role.
FIGURE_KEYS = {
    "figures",
    "ageing",
    "credit_limit",
    "exposure_before",
    "exposure_after",
    "utilisation_after_pct",
    "available_credit_after",
    "ways_to_release",
    "behaviour",
    "reporting",
    "promises",
    "last_payment",
    "group",
    "rules",
    "status_after",
}


def ctx(url: str, handle: str) -> ToolContext:
    actor = actor_for_handle(url, handle)
    assert actor is not None
    return ToolContext(actor=actor, database_url=url)


def all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in all_keys(item)}
    if isinstance(value, list):
        return {k for item in value for k in all_keys(item)}
    return set()


def amounts(*values: Decimal | None) -> list[str]:
    """The ways an amount could appear in JSON or prose: 12345.67, 12,345.67."""
    found = []
    for value in values:
        if value is not None and abs(value) >= 100:
            found += [str(value), f"{value:,.2f}"]
    return found


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]

    def get(self, path: str, who: str) -> Any:
        return self.client.get(path, headers=bearer(self.keys[who]))


@pytest.fixture
def api(seeded_db_url: str) -> Iterator[Api]:
    with read_session(seeded_db_url) as session:
        names = tuple(session.scalars(select(StaffUser.name).where(StaffUser.active)))
    with TestClient(create_app(database_url=seeded_db_url, service=FakeService())) as client:
        yield Api(client=client, keys=issue_keys(seeded_db_url, names))


# --- the registry rule ---------------------------------------------------------------------------------------------


def test_every_read_tool_open_to_a_restricted_role_declares_its_view() -> None:
    registry = get_registry()
    for spec in registry.values():
        for role in spec.roles & RESTRICTED_ROLES:
            if spec.kind == "read":
                assert role in spec.views, spec.name
    # the money tools give sales a different, figure-free model
    assert get_registry()["get_customer_exposure"].views[Role.SALES] is not unfiltered
    assert get_registry()["check_order_release"].views[Role.SALES] is not unfiltered


def test_a_tool_that_forgets_the_rule_does_not_load_and_fails_closed() -> None:
    class Out(BaseModel):
        balance: Decimal

    forgetful = ToolSpec(
        name="leaky_balance",
        description="",
        kind="read",
        input_model=Out,
        output_model=Out,
        fn=lambda _s, _c, _a: Out(balance=Decimal("12345.67")),
        roles=frozenset(Role),
    )
    with pytest.raises(RuntimeError, match="declares no view"):
        check_views(forgetful)
    with pytest.raises(CreditDeskError) as refused:
        forgetful.view_for(Role.SALES, Out(balance=Decimal(1)))
    assert refused.value.code is ErrorCode.FORBIDDEN
    assert forgetful.view_for(Role.CREDIT_ANALYST, Out(balance=Decimal(1))).balance == 1  # type: ignore[attr-defined]


# --- sales: status and release decisions only, from every surface ----------------------------------------------------


def test_sales_gets_status_not_figures_from_the_tools(seeded_db_url: str) -> None:
    full = call_tool("get_customer_exposure", {"customer": "globex"}, ctx(seeded_db_url, "avery"))
    assert isinstance(full, CustomerExposure)
    figures = amounts(
        full.figures.open_receivables, full.figures.total_exposure, full.figures.overdue, full.figures.credit_limit
    )
    seen = call_tool("get_customer_exposure", {"customer": "globex"}, ctx(seeded_db_url, "sam"))
    assert isinstance(seen, SalesCreditView)
    assert seen.credit_status.status == full.credit_status.status
    assert seen.credit_status.rule == full.credit_status.rule
    dumped = seen.model_dump(mode="json")
    assert not all_keys(dumped) & FIGURE_KEYS
    assert dumped["customer"]["risk_class"] is None and dumped["customer"]["risk_score"] is None
    text = json.dumps(dumped)
    assert not [figure for figure in figures if figure in text]

    order = {"customer": "globex", "order_amount": "50000"}
    decision = call_tool("check_order_release", order, ctx(seeded_db_url, "avery"))
    assert isinstance(decision, OrderReleaseResult)
    sales = call_tool("check_order_release", order, ctx(seeded_db_url, "sam"))
    assert isinstance(sales, SalesReleaseDecision)
    assert sales.decision == decision.decision
    assert sales.can_ship == ("yes" if decision.decision == "release" else sales.can_ship)
    assert sales.can_ship in ("no", "refer") or decision.decision == "release"
    text = sales.model_dump_json()
    assert not all_keys(sales.model_dump(mode="json")) & FIGURE_KEYS
    hidden = amounts(decision.exposure_before, decision.exposure_after, decision.credit_limit)
    hidden += amounts(*(path.amount_to_collect for path in decision.ways_to_release))
    hidden += amounts(*(path.new_credit_limit for path in decision.ways_to_release))
    assert not [figure for figure in hidden if figure in text]

    found = call_tool("resolve_customer", {"query": "globex"}, ctx(seeded_db_url, "sam"))
    assert all(c.customer.risk_score is None and c.customer.risk_class is None for c in found.candidates)  # type: ignore[attr-defined]
    for name in ("score_customer", "recommend_credit_limit", "build_worklist", "get_portfolio_summary"):
        arguments = {"customer": "globex"} if name in ("score_customer", "recommend_credit_limit") else {}
        with pytest.raises(CreditDeskError) as refused:
            call_tool(name, arguments, ctx(seeded_db_url, "sam"))
        assert refused.value.code is ErrorCode.FORBIDDEN


def test_sales_gets_status_not_figures_from_the_api(api: Api, seeded_db_url: str) -> None:
    full = api.get("/v1/customers/globex/exposure", "avery").json()
    figures = [full["figures"]["open_receivables"], full["figures"]["total_exposure"], full["figures"]["overdue"]]
    response = api.get("/v1/customers/globex/exposure", "sam")
    assert response.status_code == 200
    body = response.json()
    assert body["view"] == "sales" and body["credit_status"]["status"] == full["credit_status"]["status"]
    assert not all_keys(body) & FIGURE_KEYS
    assert not [figure for figure in figures if figure in response.text and Decimal(figure) >= 100]
    assert body["customer"]["risk_score"] is None
    for path in ("/v1/customers/globex/score", "/v1/worklist", "/v1/portfolio/summary"):
        assert api.get(path, "sam").status_code == 403, path


def test_sales_gets_status_not_figures_from_the_cli(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", seeded_db_url)
    reset_settings()
    try:
        runner = CliRunner()
        args = ["tool", "get_customer_exposure", "--json", '{"customer": "globex"}']
        sales = runner.invoke(cli, [*args, "--as", "sam"])
        analyst = runner.invoke(cli, [*args, "--as", "avery"])
    finally:
        reset_settings()
    assert sales.exit_code == 0 and analyst.exit_code == 0, sales.output + analyst.output
    assert '"open_receivables"' in analyst.stdout
    seen = json.loads(sales.stdout)
    assert seen["view"] == "sales" and not all_keys(seen) & FIGURE_KEYS


def ask(url: str, handle: str, text: str) -> AssistantReply:
    actor = actor_for_handle(url, handle)
    assert actor is not None
    service = AssistantService(database_url=url, engine="planner")
    return service.ask(AskRequest(text=text, actor=actor, thread_id=f"rules-{handle}-{text}", database_url=url))


def test_sales_gets_status_not_figures_from_the_planner(seeded_db_url: str) -> None:
    full = call_tool("get_customer_exposure", {"customer": "globex"}, ctx(seeded_db_url, "avery"))
    assert isinstance(full, CustomerExposure)
    hidden = amounts(full.figures.open_receivables, full.figures.total_exposure, full.figures.credit_limit)
    for question in ("how much does Globex owe?", "can we ship 50k to Globex today?", "is Globex on hold?"):
        reply = ask(seeded_db_url, "sam", question)
        assert not reply.error, reply.text
        assert full.credit_status.status.upper() in reply.text.upper()
        assert not [figure for figure in hidden if figure in reply.text], (question, reply.text)
        for call in reply.tool_calls:
            assert not all_keys(call.result or {}) & FIGURE_KEYS, call.name


# --- collectors: outside the book reads exactly like "no such customer" ----------------------------------------------


def _book_pairs(url: str) -> tuple[list[Actor], list[tuple[int, str, str, int | None]]]:
    with read_session(url) as session:
        collectors = [
            Actor.from_user(u) for u in session.scalars(select(StaffUser).where(StaffUser.role == "collector"))
        ]
        customers = [(c.id, c.name, c.external_id, c.collector_id) for c in session.scalars(select(Customer))]
    return collectors, customers


def test_refusals_never_name_a_customer_outside_the_book(seeded_db_url: str, api: Api) -> None:
    collectors, customers = _book_pairs(seeded_db_url)
    pairs = leaks = 0
    for actor in collectors:
        context = ToolContext(actor=actor, database_url=seeded_db_url)
        missing = api.get("/v1/customers/C999999/exposure", actor.name)
        assert missing.status_code == 404
        for customer_id, name, external_id, owner in customers:
            if owner == actor.id:
                continue
            pairs += 1
            for reference, secrets in ((str(customer_id), (name, external_id)), (external_id, (name,))):
                with pytest.raises(CreditDeskError) as refused:
                    call_tool("get_customer_exposure", {"customer": reference}, context)
                response = api.get(f"/v1/customers/{reference}/exposure", actor.name)
                texts = [refused.value.message, json.dumps(refused.value.details), response.text]
                leaks += any(secret.lower() in text.lower() for secret in secrets for text in texts)
                assert refused.value.code is ErrorCode.NOT_FOUND
                assert response.status_code == 404
                # the same answer as a reference that names nobody
                assert response.json() == {
                    **missing.json(),
                    "detail": missing.json()["detail"].replace("C999999", reference),
                }
    assert pairs > 50 and leaks == 0
    with read_session(seeded_db_url) as session:
        denials = list(session.scalars(select(AuditEvent).where(AuditEvent.event == "access.denied")))
    assert len(denials) >= pairs * 2
    names = {name for _, name, _, _ in customers}
    assert not [d for d in denials if any(n in json.dumps(d.details) for n in names)]
    assert all("outside the caller's book" in d.details["reason"] for d in denials)


def test_out_of_book_dispute_and_planner_answers_read_as_not_found(seeded_db_url: str) -> None:
    casey = ctx(seeded_db_url, "casey")
    with read_session(seeded_db_url) as session:
        foreign = session.scalars(
            select(Dispute).join(Customer).where(Customer.collector_id != casey.actor.id).order_by(Dispute.id)
        ).first()
        owner = session.get(Customer, foreign.customer_id) if foreign else None
        foreign_name = owner.name if owner else "no such name"
    if foreign is not None:
        with pytest.raises(CreditDeskError) as refused:
            call_tool("summarize_dispute", {"dispute_id": foreign.id}, casey)
        assert refused.value.code is ErrorCode.NOT_FOUND
        assert refused.value.message == f"no dispute #{foreign.id}"
    other = ask(seeded_db_url, "casey", "how much does Globex owe?")
    nobody = ask(seeded_db_url, "casey", "how much does Zorblax owe?")
    assert "Globex Industries" not in other.text and foreign_name not in other.text
    assert other.text.replace("Globex", "Zorblax") == nobody.text


def test_proposals_of_others_are_not_shown_to_sales_or_outside_the_book(api: Api, seeded_db_url: str) -> None:
    """A limit proposal's before/after amounts are limits: sales never sees others' proposals, a collector not those
    of another book, and both get the answer a missing proposal gets."""
    from tools.actions.proposals import list_proposals

    with read_session(seeded_db_url) as session:
        stark = session.scalars(select(Customer).where(Customer.name.like("Stark%"))).one()
        casey = session.scalars(select(StaffUser).where(StaffUser.name == "casey")).one()
    proposed = call_tool(
        "propose_credit_limit_change",
        {"customer": str(stark.id), "change_by": "1000", "reason": "test"},
        ctx(seeded_db_url, "avery"),
    )
    pid = proposed.model_dump()["id"]
    missing = api.client.get("/v1/proposals/999999", headers=bearer(api.keys["sam"]))
    for handle in ("sam", *(["casey"] if stark.collector_id != casey.id else [])):
        shown = api.client.get(f"/v1/proposals/{pid}", headers=bearer(api.keys[handle]))
        assert shown.status_code == missing.status_code == 404
        assert stark.name not in shown.text
        with read_session(seeded_db_url) as session:
            assert pid not in [p.id for p in list_proposals(session, ctx(seeded_db_url, handle))]
    assert api.client.get(f"/v1/proposals/{pid}", headers=bearer(api.keys["morgan"])).status_code == 200
