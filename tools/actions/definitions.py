"""The eight guarded actions. Each prepares a proposal (validating against today's data, computing the exact
before/after diff and the approver role from the authority matrix) and, once a human approves, re-derives the role
and the policy caps from the data as it is then (with the rows locked) and executes it."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, cast

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, ValidationInfo, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.amounts import amount_in
from core.dates import add_months, business_today, day_number, utcnow
from core.errors import CreditDeskError, ErrorCode, invalid_input, not_found
from core.money import CurrencyField, MoneyField, PositiveMoneyField, quantize
from core.settings import get_settings
from db.models import (
    ActivityKind,
    ActivityOutcome,
    CollectionActivity,
    CreditLimit,
    Customer,
    Dispute,
    DisputeMessage,
    DisputeReason,
    DisputeStatus,
    Invoice,
    MessageDirection,
    OrderStatus,
    PromiseStatus,
    PromiseToPay,
    Role,
    SalesOrder,
    StaffUser,
)
from db.models.governance import DunningOutbox, Proposal
from db.queries.customers import credit_limit_as_of
from db.queries.exposure import order_by_number
from db.queries.proposals import (
    close_current_credit_limit,
    lock_current_credit_limit,
    lock_customer,
    lock_rows,
    open_balance,
    open_promise_count,
)
from db.queries.snapshots import refresh_customers
from db.queries.staff import find_staff_user
from tools.actions.base import Action, Change, Decider, Prepared, higher_amount, higher_role, no_longer_valid
from tools.context import Actor, ToolContext
from tools.customers import resolve_customer_reference
from tools.dunning import DraftDunningInput, DunningDraft, draft_dunning_message
from tools.exposure import compute_customer_exposure
from tools.fx import FxConverter
from tools.policy import CreditPolicy, load_policy
from tools.schemas import CustomerReference

# A limit above this (reporting currency) is refused as implausible rather than routed to an approver.
MAX_CREDIT_LIMIT = Decimal("1000000000")
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any, info: ValidationInfo) -> date:
    """A calendar date written YYYY-MM-DD. Pydantic would read `20261210` as a Unix timestamp; nothing is guessed."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = value.strip() if isinstance(value, str) else None
    if text is not None and _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{info.field_name} {text!r} is not a real calendar date") from None
    raise ValueError(f"{info.field_name} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-12-10")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
ALL_PROPOSERS = frozenset({Role.COLLECTOR, Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN})


def _reporting(session: Session, ctx: ToolContext, amount: Decimal, currency: str) -> Decimal:
    return FxConverter(session, ctx.reporting_currency, ctx.today).convert(amount, currency)


def _customer_by_id(session: Session, customer_id: int | None) -> Customer:
    customer = session.get(Customer, customer_id) if customer_id is not None else None
    if customer is None:
        raise not_found("the customer of this proposal no longer exists")
    return customer


def _today() -> date:
    """Today in the configured business time zone, the date proposals are checked against when decided."""
    return business_today(get_settings().timezone)


def _decision_ctx() -> ToolContext:
    """The context figures are re-derived in at approval time: today, the reporting currency, no user scope."""
    return ToolContext(actor=Actor.operator())


def _lock_customer(session: Session, proposal: Proposal) -> Customer:
    customer = lock_customer(session, proposal.customer_id) if proposal.customer_id is not None else None
    if customer is None:
        raise no_longer_valid("the customer of this proposal no longer exists")
    return customer


# --- set credit limit -----------------------------------------------------------------------------------


class CreditLimitChangeInput(BaseModel):
    customer: CustomerReference
    new_limit: PositiveMoneyField | None = Field(
        default=None, description="New credit limit in the customer's currency (give this or change_by)"
    )
    change_by: MoneyField | None = Field(
        default=None,
        description="Change relative to the current limit, in the customer's currency: 50000 raises it by 50,000, "
        "-10000 lowers it by 10,000 (give this or new_limit)",
    )
    currency: CurrencyField | None = Field(default=None, description="Must be the customer's currency if given")
    reason: Reason = Field(description="Why the limit should change (recorded with the limit)")
    review_date: IsoDate | None = Field(
        default=None, description="Next review (YYYY-MM-DD); default per the risk-class cadence"
    )

    @model_validator(mode="after")
    def _one_target(self) -> CreditLimitChangeInput:
        if (self.new_limit is None) == (self.change_by is None):
            raise ValueError("give either new_limit (the new limit) or change_by (the change to the current limit)")
        if self.change_by is not None and self.change_by == 0:
            raise ValueError("change_by must not be zero")
        return self


class SetCreditLimit(Action):
    name = "set_credit_limit"
    tool_name = "propose_credit_limit_change"
    input_model = CreditLimitChangeInput
    proposer_roles = frozenset({Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN})
    description = "Propose a new credit limit for a customer (a human with enough authority must approve it)."

    def prepare(self, session: Session, ctx: ToolContext, args: CreditLimitChangeInput) -> Prepared:
        policy = load_policy()
        customer = resolve_customer_reference(session, ctx, args.customer)
        if args.currency is not None and args.currency != customer.currency:
            raise invalid_input(
                f"{customer.name}'s credit limit is kept in {customer.currency}, not {args.currency}; "
                f"give the amount in {customer.currency}"
            )
        asked = _in_currency(args.new_limit, customer, "new_limit")
        change_by = _in_currency(args.change_by, customer, "change_by")
        if asked is not None and asked <= 0:
            raise invalid_input(
                f"a new credit limit must be positive (got {asked} {customer.currency}); to stop new credit, "
                "put the customer's orders on hold instead"
            )
        if args.review_date is not None and args.review_date <= ctx.today:
            raise invalid_input("the review date must be in the future")
        current = credit_limit_as_of(session, customer.id, utcnow())
        current_amount = current.amount if current is not None else Decimal("0.00")
        new_limit = asked if asked is not None else current_amount + (change_by or 0)
        if new_limit <= 0:
            raise invalid_input(
                f"{customer.name}'s limit is {current_amount} {customer.currency}: a change of {change_by} "
                "would take it to zero or below; a credit limit must be positive"
            )
        if new_limit == current_amount:
            raise invalid_input(f"{customer.name}'s credit limit is already {current_amount} {customer.currency}")
        new_reporting = _reporting(session, ctx, new_limit, customer.currency)
        if new_reporting > MAX_CREDIT_LIMIT:
            raise invalid_input(f"a limit of {new_limit} {customer.currency} is implausibly large")
        role, increase = _limit_authority(session, ctx, customer, current_amount, new_limit)
        direction = "increase" if new_limit > current_amount else "decrease"
        return Prepared(
            customer=customer,
            summary=f"Change {customer.name}'s credit limit from {current_amount} to {new_limit} "
            f"{customer.currency} ({direction}); reason: {args.reason}",
            payload=args.model_dump(mode="json")
            | {"customer_id": customer.id, "new_limit": str(new_limit), "currency": customer.currency},
            changes=[
                Change("credit_limit", current.id if current else None, "amount", current_amount, new_limit),
                Change(
                    "credit_limit", current.id if current else None, "currency", customer.currency, customer.currency
                ),
            ],
            read_versions={"credit_limit": _limit_version(current)},
            required_role=role,
            authority_amount=quantize(increase),
            four_eyes=policy.authority.four_eyes_for_limit_changes,
            notes=[
                f"risk class {customer.risk_class or 'not scored'}; increase {quantize(increase)} "
                f"{ctx.reporting_currency} in reporting currency"
            ],
        )

    def lock(self, session: Session, proposal: Proposal) -> None:
        customer = _lock_customer(session, proposal)
        lock_current_credit_limit(session, customer.id)

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        return {"credit_limit": _limit_version(credit_limit_as_of(session, proposal.customer_id or 0, utcnow()))}

    def _authority_now(self, session: Session, proposal: Proposal) -> tuple[Role, Decimal]:
        customer = _customer_by_id(session, proposal.customer_id)
        current = credit_limit_as_of(session, customer.id, utcnow())
        current_amount = current.amount if current is not None else Decimal("0.00")
        new_limit = Decimal(proposal.payload["new_limit"])
        return _limit_authority(session, _decision_ctx(), customer, current_amount, new_limit)

    def current_role(self, session: Session, proposal: Proposal) -> Role:
        return self._authority_now(session, proposal)[0]

    def authority_amount_now(self, session: Session, proposal: Proposal) -> Decimal | None:
        return higher_amount(proposal.authority_amount, quantize(self._authority_now(session, proposal)[1]))

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        customer = _customer_by_id(session, proposal.customer_id)
        currency = proposal.payload.get("currency")
        if currency is not None and currency != customer.currency:
            raise no_longer_valid(f"{customer.name}'s credit limit is now kept in {customer.currency}, not {currency}")
        _still_in_currency(proposal.payload["new_limit"], customer, "new_limit")
        if _reporting(session, _decision_ctx(), Decimal(proposal.payload["new_limit"]), customer.currency) > (
            MAX_CREDIT_LIMIT
        ):
            raise no_longer_valid(
                f"a limit of {proposal.payload['new_limit']} {customer.currency} is implausibly large"
            )

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:
        payload = proposal.payload
        customer = _customer_by_id(session, proposal.customer_id)
        now = utcnow()
        # Compare-and-set on the limit this proposal was computed from: if another change replaced it, refuse.
        expected = (proposal.read_versions.get("credit_limit") or {}).get("id")
        if not close_current_credit_limit(session, customer.id, expected, now):
            raise no_longer_valid(
                f"{customer.name}'s credit limit changed since proposal #{proposal.id} was made; propose it again"
            )
        review = date.fromisoformat(payload["review_date"]) if payload.get("review_date") else None
        if review is None:
            months = next(
                (band.review_months for band in load_policy().risk_classes if band.risk_class == customer.risk_class),
                3,
            )
            review = add_months(_today(), months)
        limit = CreditLimit(
            customer_id=customer.id,
            amount=Decimal(payload["new_limit"]),
            currency=customer.currency,
            valid_from=now,
            set_by_id=decider.id,
            set_by_name=decider.name,
            reason=f"{payload['reason']} (proposed by {proposal.proposed_by_name}, proposal #{proposal.id})",
            review_date=review,
            source=f"proposal:{proposal.id}",
        )
        session.add(limit)
        session.flush()
        return {
            "credit_limit_id": limit.id,
            "amount": payload["new_limit"],
            "currency": customer.currency,
            "review_date": review.isoformat(),
        }


def _in_currency(value: Decimal | None, customer: Customer, field: str) -> Decimal | None:
    """A money argument as an amount in the customer's currency: refused if its text named another currency or it
    has more decimals than that currency has."""
    return None if value is None else amount_in(value, customer.currency, field=field, whose=customer.name)


def _still_in_currency(value: str, customer: Customer, field: str) -> None:
    """At approval time: the proposed amount must still fit the customer's currency (it may have changed)."""
    try:
        amount_in(Decimal(value), customer.currency, field=field, whose=customer.name)
    except CreditDeskError as error:
        raise no_longer_valid(error.message) from None


def _limit_authority(
    session: Session, ctx: ToolContext, customer: Customer, current_amount: Decimal, new_limit: Decimal
) -> tuple[Role, Decimal]:
    """The approver role for moving a limit from `current_amount` to `new_limit`, and the increase, both in the
    reporting currency (the authority matrix is stated in it) and with the customer's risk class as it is now."""
    current_reporting = _reporting(session, ctx, current_amount, customer.currency)
    new_reporting = _reporting(session, ctx, new_limit, customer.currency)
    role = load_policy().authority.approver_for_limit_change(current_reporting, new_reporting, customer.risk_class)
    return role, max(new_reporting - current_reporting, Decimal(0))


def _limit_version(limit: CreditLimit | None) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {"id": limit.id, "amount": str(limit.amount), "currency": limit.currency}


# --- order hold and release -----------------------------------------------------------------------------


class OrderHoldInput(BaseModel):
    order_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    reason: Reason


def _order_for(session: Session, ctx: ToolContext, number: str) -> tuple[SalesOrder, Customer]:
    order = order_by_number(session, number)
    if order is None:
        raise not_found(f"no sales order {number}")
    customer = _customer_by_id(session, order.customer_id)
    ctx.require_visible(customer, missing=f"no sales order {number}")
    if order.status != OrderStatus.OPEN:
        raise invalid_input(f"order {order.number} is {order.status.value}, not open")
    return order, customer


def _lock_order(session: Session, proposal: Proposal) -> None:
    _lock_customer(session, proposal)
    lock_rows(session, SalesOrder, [proposal.payload["order_id"]])


def _order_version(session: Session, proposal: Proposal) -> dict[str, Any]:
    order = session.get(SalesOrder, proposal.payload["order_id"])
    if order is None:
        return {"sales_order": None}
    return {
        "sales_order": {
            "id": order.id,
            "version": order.version,
            "on_hold": order.on_hold,
            "status": order.status.value,
        }
    }


class PlaceOrderHold(Action):
    name = "place_order_hold"
    tool_name = "propose_order_hold"
    input_model = OrderHoldInput
    proposer_roles = ALL_PROPOSERS
    description = "Propose putting an open sales order on credit hold."

    def prepare(self, session: Session, ctx: ToolContext, args: OrderHoldInput) -> Prepared:
        order, customer = _order_for(session, ctx, args.order_number)
        if order.on_hold:
            raise invalid_input(f"order {order.number} is already on hold ({order.hold_reason or 'no reason'})")
        return Prepared(
            customer=customer,
            summary=f"Put order {order.number} of {customer.name} ({order.open_amount} {order.currency}) on hold; "
            f"reason: {args.reason}",
            payload={"order_id": order.id, "order_number": order.number, "reason": args.reason},
            changes=[
                Change("sales_order", order.id, "on_hold", False, True),
                Change("sales_order", order.id, "hold_reason", order.hold_reason, args.reason),
            ],
            read_versions={
                "sales_order": {
                    "id": order.id,
                    "version": order.version,
                    "on_hold": False,
                    "status": order.status.value,
                }
            },
            required_role=load_policy().authority.order_hold,
        )

    def lock(self, session: Session, proposal: Proposal) -> None:
        _lock_order(session, proposal)

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        return _order_version(session, proposal)

    def current_role(self, session: Session, proposal: Proposal) -> Role:  # noqa: ARG002
        return load_policy().authority.order_hold

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        """The order's version, hold flag and status are the staleness check; no cap applies."""

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:
        order = session.get(SalesOrder, proposal.payload["order_id"])
        assert order is not None
        order.on_hold, order.hold_reason = True, proposal.payload["reason"]
        order.held_at, order.held_by_id = utcnow(), decider.id
        session.flush()
        return {"order_number": order.number, "on_hold": True}


def _release_role(session: Session, policy: CreditPolicy, customer: Customer) -> Role:
    ctx = ToolContext(actor=Actor.operator(), today=_today())
    status = compute_customer_exposure(session, ctx, customer, ctx.today, include_group=False).credit_status.status
    if status == "Stop":
        return policy.authority.order_release_from_stop
    if status == "Hold":
        return policy.authority.order_release_from_hold
    return policy.authority.order_release_from_ok_or_watch


class ReleaseOrderHold(Action):
    name = "release_order_hold"
    tool_name = "propose_order_release"
    input_model = OrderHoldInput
    proposer_roles = frozenset(ALL_PROPOSERS | {Role.SALES})
    description = "Propose releasing a sales order from credit hold (approver depends on the account's status)."

    def prepare(self, session: Session, ctx: ToolContext, args: OrderHoldInput) -> Prepared:
        order, customer = _order_for(session, ctx, args.order_number)
        if not order.on_hold:
            raise invalid_input(f"order {order.number} is not on hold")
        role = _release_role(session, load_policy(), customer)
        return Prepared(
            customer=customer,
            summary=f"Release order {order.number} of {customer.name} ({order.open_amount} {order.currency}) "
            f"from hold; reason: {args.reason}",
            payload={"order_id": order.id, "order_number": order.number, "reason": args.reason},
            changes=[
                Change("sales_order", order.id, "on_hold", True, False),
                Change("sales_order", order.id, "hold_reason", order.hold_reason, None),
            ],
            read_versions={
                "sales_order": {"id": order.id, "version": order.version, "on_hold": True, "status": order.status.value}
            },
            required_role=role,
        )

    def lock(self, session: Session, proposal: Proposal) -> None:
        _lock_order(session, proposal)

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        return _order_version(session, proposal)

    def current_role(self, session: Session, proposal: Proposal) -> Role:
        return _release_role(session, load_policy(), _customer_by_id(session, proposal.customer_id))

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        """The account's status now decides the approver role (`current_role`); the order's version is the
        staleness check."""

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:  # noqa: ARG002
        order = session.get(SalesOrder, proposal.payload["order_id"])
        assert order is not None
        order.on_hold, order.hold_reason, order.held_at, order.held_by_id = False, None, None, None
        session.flush()
        return {"order_number": order.number, "on_hold": False}


# --- promise to pay -------------------------------------------------------------------------------------


class PromiseToPayInput(BaseModel):
    customer: CustomerReference
    amount: PositiveMoneyField
    currency: CurrencyField | None = Field(default=None, description="Must be the customer's currency if given")
    promised_date: IsoDate = Field(description="The date the customer promised to pay by (YYYY-MM-DD)")
    invoice_numbers: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]] = (
        Field(default_factory=list, max_length=50, description="Invoices the promise covers; empty = account")
    )
    contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=160)] | None = None
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _positive(self) -> PromiseToPayInput:
        if self.amount <= 0:
            raise ValueError("a promise must be for a positive amount")
        return self


class LogPromiseToPay(Action):
    name = "log_promise_to_pay"
    tool_name = "log_promise_to_pay"
    input_model = PromiseToPayInput
    proposer_roles = ALL_PROPOSERS
    description = (
        "Log a customer's promise to pay. Auto-approved by policy when the collector who owns the account logs a "
        "small, near-term promise; otherwise a pending proposal."
    )

    def prepare(self, session: Session, ctx: ToolContext, args: PromiseToPayInput) -> Prepared:
        policy = load_policy()
        customer = resolve_customer_reference(session, ctx, args.customer)
        if args.currency is not None and args.currency != customer.currency:
            raise invalid_input(
                f"promises for {customer.name} are recorded in {customer.currency}, not {args.currency}; "
                f"give the amount in {customer.currency}"
            )
        amount = amount_in(args.amount, customer.currency, field="amount", whose=customer.name)
        if args.promised_date < ctx.today:
            raise invalid_input("the promised date is in the past")
        invoices = _customer_invoices(session, customer, args.invoice_numbers)
        open_total = (
            sum((i.open_amount for i in invoices), Decimal(0))
            if invoices
            else Decimal(
                session.scalar(
                    select(func.coalesce(func.sum(Invoice.open_amount), 0)).where(
                        Invoice.customer_id == customer.id, Invoice.settled_dn.is_(None)
                    )
                )
                or 0
            )
        )
        if amount > open_total:
            scope = "those invoices" if invoices else f"{customer.name}'s open balance"
            raise invalid_input(f"the promise ({amount}) exceeds {scope} ({quantize(open_total)} {customer.currency})")
        too_many = _promise_cap_problem(session, customer)
        if too_many is not None:
            raise invalid_input(too_many)
        days_ahead = (args.promised_date - ctx.today).days
        role = _promise_role(policy, days_ahead)
        reporting = _reporting(session, ctx, amount, customer.currency)
        rule = policy.authority.promise_auto_approve
        owner = ctx.actor.id is not None and customer.collector_id == ctx.actor.id
        auto = (
            "logged by the account's collector, within the policy's amount and date limits"
            if owner and reporting <= rule.max_amount and days_ahead <= rule.max_days_ahead
            else None
        )
        covered = ", ".join(i.number for i in invoices) or "the account"
        return Prepared(
            customer=customer,
            summary=f"Promise from {customer.name} to pay {amount} {customer.currency} by "
            f"{args.promised_date} ({covered})",
            payload=args.model_dump(mode="json")
            | {"customer_id": customer.id, "invoice_ids": [i.id for i in invoices], "currency": customer.currency},
            changes=[
                Change("promise_to_pay", None, "amount", None, amount),
                Change("promise_to_pay", None, "promised_date", None, args.promised_date),
                Change("promise_to_pay", None, "status", None, "open"),
            ],
            read_versions={"invoices": {str(i.id): i.version for i in invoices}},
            required_role=role,
            authority_amount=reporting,
            auto_approve_reason=auto,
        )

    def lock(self, session: Session, proposal: Proposal) -> None:
        _lock_customer(session, proposal)
        lock_rows(session, Invoice, proposal.payload.get("invoice_ids") or [])

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        ids = [int(i) for i in proposal.read_versions.get("invoices", {})]
        versions = {str(i.id): i.version for i in session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}
        return {"invoices": versions}

    def current_role(self, session: Session, proposal: Proposal) -> Role:  # noqa: ARG002
        days_ahead = (date.fromisoformat(proposal.payload["promised_date"]) - _today()).days
        return _promise_role(load_policy(), days_ahead)

    def authority_amount_now(self, session: Session, proposal: Proposal) -> Decimal | None:
        customer = _customer_by_id(session, proposal.customer_id)
        now = _reporting(session, _decision_ctx(), Decimal(proposal.payload["amount"]), customer.currency)
        return higher_amount(proposal.authority_amount, now)

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        payload = proposal.payload
        customer = _customer_by_id(session, proposal.customer_id)
        promised = date.fromisoformat(payload["promised_date"])
        if promised < _today():
            raise no_longer_valid(f"the promised date {promised} has passed; log the promise again if it still holds")
        too_many = _promise_cap_problem(session, customer)
        if too_many is not None:
            raise no_longer_valid(too_many)
        currency = payload.get("currency")
        if currency is not None and currency != customer.currency:
            raise no_longer_valid(f"{customer.name}'s amounts are now kept in {customer.currency}, not {currency}")
        _still_in_currency(payload["amount"], customer, "amount")
        ids = payload.get("invoice_ids") or []
        amount = Decimal(payload["amount"])
        still_open = open_balance(session, customer.id, ids)
        if amount > still_open:
            scope = "the open amount of those invoices" if ids else f"{customer.name}'s open balance"
            raise no_longer_valid(
                f"the promise ({amount}) now exceeds {scope} ({quantize(still_open)} {customer.currency})"
            )

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:  # noqa: ARG002
        payload = proposal.payload
        ids = payload.get("invoice_ids") or []
        previous = int(
            session.scalar(
                select(func.count()).where(
                    PromiseToPay.customer_id == proposal.customer_id,
                    PromiseToPay.invoice_id.in_(ids) if ids else PromiseToPay.invoice_id.is_(None),
                )
            )
            or 0
        )
        promised = date.fromisoformat(payload["promised_date"])
        customer = _customer_by_id(session, proposal.customer_id)
        promise = PromiseToPay(
            customer_id=customer.id,
            invoice_id=ids[0] if len(ids) == 1 else None,
            amount=Decimal(payload["amount"]),
            currency=customer.currency,
            promised_date=promised,
            promised_dn=day_number(promised),
            taken_at=utcnow(),
            taken_by_id=proposal.proposed_by_id,
            contact=payload.get("contact"),
            source="collector",
            status=PromiseStatus.OPEN,
            amount_paid=Decimal(0),
            level=previous + 1,
            notes=payload.get("notes"),
        )
        session.add(promise)
        session.add(
            _activity(
                customer.id,
                ActivityKind.NOTE,
                proposal.proposed_by_id,
                ActivityOutcome.PROMISED,
                f"Promise to pay {payload['amount']} by {promised} (proposal #{proposal.id})",
            )
        )
        session.flush()
        return {"promise_id": promise.id, "level": promise.level}


def _promise_role(policy: CreditPolicy, days_ahead: int) -> Role:
    return policy.authority.promise_to_pay if days_ahead <= policy.promises.max_days_ahead else Role.CREDIT_ANALYST


def _promise_cap_problem(session: Session, customer: Customer) -> str | None:
    """Why one more open promise would break the policy's per-customer maximum, or None."""
    maximum = load_policy().promises.max_open_per_customer
    open_promises = open_promise_count(session, customer.id)
    if open_promises < maximum:
        return None
    return (
        f"{customer.name} already has {open_promises} open promises (policy maximum {maximum}); "
        "resolve one first, then log this promise again"
    )


def _customer_invoices(session: Session, customer: Customer, numbers: list[str]) -> list[Invoice]:
    if not numbers:
        return []
    wanted = {n.upper() for n in numbers}
    found = list(session.scalars(select(Invoice).where(func.upper(Invoice.number).in_(wanted))))
    missing = wanted - {i.number.upper() for i in found}
    if missing:
        raise not_found(f"no invoice {', '.join(sorted(missing))}")
    foreign = [i.number for i in found if i.customer_id != customer.id]
    if foreign:
        raise invalid_input(f"invoice {', '.join(foreign)} does not belong to {customer.name}")
    closed = [i.number for i in found if i.settled_dn is not None]
    if closed:
        raise invalid_input(f"invoice {', '.join(closed)} is already settled")
    return found


def _activity(
    customer_id: int, kind: ActivityKind, by: int | None, outcome: ActivityOutcome, notes: str, level: int | None = None
) -> CollectionActivity:
    return CollectionActivity(
        customer_id=customer_id,
        kind=kind,
        dunning_level=level,
        outcome=outcome,
        notes=notes,
        performed_at=utcnow(),
        performed_by_id=by,
    )


# --- dispute update -------------------------------------------------------------------------------------


class DisputeUpdateInput(BaseModel):
    dispute_id: int = Field(gt=0)
    status: DisputeStatus | None = None
    owner: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = None
    reason_code: DisputeReason | None = None
    resolution: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)] | None = None
    write_off: bool = Field(default=False, description="The resolution writes off or credits the disputed amount")

    @model_validator(mode="after")
    def _something_changes(self) -> DisputeUpdateInput:
        if self.status is None and self.owner is None and self.reason_code is None and self.resolution is None:
            raise ValueError("say what should change: status, owner, reason_code or resolution")
        closing = self.status in (DisputeStatus.RESOLVED, DisputeStatus.REJECTED)
        if closing and not self.resolution:
            raise ValueError("closing a dispute needs a resolution text")
        return self


class UpdateDispute(Action):
    name = "update_dispute"
    tool_name = "propose_dispute_update"
    input_model = DisputeUpdateInput
    proposer_roles = ALL_PROPOSERS
    description = "Propose a change to a dispute: status, owner, reason code or resolution."

    def prepare(self, session: Session, ctx: ToolContext, args: DisputeUpdateInput) -> Prepared:
        dispute = session.get(Dispute, args.dispute_id)
        if dispute is None:
            raise not_found(f"no dispute {args.dispute_id}")
        customer = _customer_by_id(session, dispute.customer_id)
        ctx.require_visible(customer, missing=f"no dispute {args.dispute_id}")
        if dispute.status in (DisputeStatus.RESOLVED, DisputeStatus.REJECTED) and args.status is None:
            raise invalid_input(f"dispute {dispute.id} is closed ({dispute.status.value}); reopen it first")
        changes: list[Change] = []
        payload: dict[str, Any] = {"dispute_id": dispute.id}
        if args.status is not None and args.status != dispute.status:
            changes.append(Change("dispute", dispute.id, "status", dispute.status, args.status))
            payload["status"] = args.status.value
        if args.owner is not None:
            owner = find_staff_user(session, args.owner)
            if owner is None:
                raise not_found(f"no active staff user {args.owner!r}")
            changes.append(Change("dispute", dispute.id, "owner_id", dispute.owner_id, owner.id))
            payload["owner_id"], payload["owner_name"] = owner.id, owner.name
        if args.reason_code is not None and args.reason_code != dispute.reason_code:
            changes.append(Change("dispute", dispute.id, "reason_code", dispute.reason_code, args.reason_code))
            payload["reason_code"] = args.reason_code.value
        if args.resolution is not None:
            changes.append(Change("dispute", dispute.id, "resolution", dispute.resolution, args.resolution))
            payload["resolution"] = args.resolution
        if not changes:
            raise invalid_input(f"dispute {dispute.id} already has those values")
        payload["write_off"] = args.write_off
        role, write_off_amount = _dispute_authority(session, ctx, dispute, write_off=args.write_off)
        what = ", ".join(f"{c.field} → {_text(c.after)}" for c in changes if c.field != "resolution")
        return Prepared(
            customer=customer,
            summary=f"Update dispute {dispute.id} of {customer.name}: {what or 'resolution text'}"
            + (" (write-off)" if args.write_off else ""),
            payload=payload,
            changes=changes,
            read_versions={"dispute": {"id": dispute.id, "version": dispute.version}},
            required_role=role,
            authority_amount=write_off_amount,
        )

    def lock(self, session: Session, proposal: Proposal) -> None:
        _lock_customer(session, proposal)
        lock_rows(session, Dispute, [proposal.payload["dispute_id"]])

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        dispute = session.get(Dispute, proposal.payload["dispute_id"])
        return {"dispute": {"id": dispute.id, "version": dispute.version} if dispute else None}

    def _authority_now(self, session: Session, proposal: Proposal) -> tuple[Role, Decimal | None]:
        dispute = session.get(Dispute, proposal.payload["dispute_id"])
        if dispute is None:
            raise no_longer_valid(f"dispute {proposal.payload['dispute_id']} no longer exists")
        return _dispute_authority(session, _decision_ctx(), dispute, write_off=bool(proposal.payload.get("write_off")))

    def current_role(self, session: Session, proposal: Proposal) -> Role:
        return self._authority_now(session, proposal)[0]

    def authority_amount_now(self, session: Session, proposal: Proposal) -> Decimal | None:
        return higher_amount(proposal.authority_amount, self._authority_now(session, proposal)[1])

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        owner_id = proposal.payload.get("owner_id")
        if owner_id is not None:
            owner = session.get(StaffUser, owner_id)
            if owner is None or not owner.active:
                raise no_longer_valid(f"{proposal.payload.get('owner_name')} is no longer an active staff user")

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:
        payload = proposal.payload
        dispute = session.get(Dispute, payload["dispute_id"])
        assert dispute is not None
        now = utcnow()
        if "status" in payload:
            dispute.status = DisputeStatus(payload["status"])
            closed = dispute.status in (DisputeStatus.RESOLVED, DisputeStatus.REJECTED)
            dispute.resolved_at = now if closed else None
        if "owner_id" in payload:
            dispute.owner_id = payload["owner_id"]
        if "reason_code" in payload:
            dispute.reason_code = DisputeReason(payload["reason_code"])
        if "resolution" in payload:
            dispute.resolution = payload["resolution"]
        session.add(
            DisputeMessage(
                dispute_id=dispute.id,
                sent_at=now,
                author=decider.name,
                direction=MessageDirection.INTERNAL,
                body=f"Updated by proposal #{proposal.id} (proposed by {proposal.proposed_by_name}, approved by "
                f"{decider.name}).",
            )
        )
        session.flush()
        # Disputed amounts feed the receivables snapshots from today on.
        refresh_customers(session, [dispute.customer_id], now.date())
        return {"dispute_id": dispute.id, "status": dispute.status.value}


def _dispute_authority(
    session: Session, ctx: ToolContext, dispute: Dispute, *, write_off: bool
) -> tuple[Role, Decimal | None]:
    """The approver role for a dispute update, and for a write-off its amount in the reporting currency: at least
    the write-off resolution role, and at least the write-off matrix's role for that amount."""
    authority = load_policy().authority
    if not write_off:
        return authority.dispute_update, None
    amount = _reporting(session, ctx, dispute.amount, dispute.currency)
    rules = load_policy().write_off.approval
    by_amount = next((r.role for r in rules if r.max_amount is None or amount <= r.max_amount), rules[-1].role)
    return higher_role(authority.dispute_write_off_resolution, by_amount), quantize(amount)


def _text(value: Any) -> str:
    return str(value.value if hasattr(value, "value") else value)


# --- dunning send ---------------------------------------------------------------------------------------


class DunningSendInput(BaseModel):
    customer: CustomerReference
    level: int | None = Field(default=None, ge=0, le=20, description="Override the policy level")


class SendDunning(Action):
    name = "send_dunning"
    tool_name = "propose_dunning_send"
    input_model = DunningSendInput
    proposer_roles = ALL_PROPOSERS
    description = "Propose sending the policy dunning letter (exactly the drafted text) to a customer."

    def prepare(self, session: Session, ctx: ToolContext, args: DunningSendInput) -> Prepared:
        customer = resolve_customer_reference(session, ctx, args.customer)
        args_in = DraftDunningInput(customer=str(customer.id), level=args.level)
        draft = cast(DunningDraft, draft_dunning_message.fn(session, ctx, args_in))
        if not draft.should_send:
            raise invalid_input(f"no letter should go to {customer.name}: {draft.reason}")
        if not draft.to_email and draft.channel == "email":
            raise invalid_input(f"{customer.name} has no contact e-mail; the letter cannot be e-mailed")
        invoice_ids = [item.invoice_id for item in draft.items]
        versions = {str(i.id): i.version for i in session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)))}
        last = session.scalar(
            select(func.max(CollectionActivity.id)).where(
                CollectionActivity.customer_id == customer.id, CollectionActivity.kind == ActivityKind.DUNNING
            )
        )
        return Prepared(
            customer=customer,
            summary=f"Send {draft.level_name} (level {draft.level}, {draft.channel}) to {customer.name}: "
            f"{len(draft.items)} invoice(s), total due {draft.totals.total_due} {draft.currency}",
            payload={
                "customer_id": customer.id,
                "level": draft.level,
                "channel": draft.channel,
                "to_name": draft.to_name,
                "to_email": draft.to_email,
                "subject": draft.subject,
                "body": draft.body,
                "total_due": str(draft.totals.total_due),
                "currency": draft.currency,
            },
            changes=[Change("dunning_outbox", None, "letter", None, f"level {draft.level}: {draft.subject}")],
            read_versions={"invoices": versions, "last_dunning_activity": last},
            required_role=Role(draft.send_requires_role or load_policy().authority.dunning_final_notice),
        )

    def lock(self, session: Session, proposal: Proposal) -> None:
        _lock_customer(session, proposal)
        lock_rows(session, Invoice, [int(i) for i in proposal.read_versions.get("invoices", {})])

    def current_role(self, session: Session, proposal: Proposal) -> Role:  # noqa: ARG002
        policy = load_policy()
        level = next((lv for lv in policy.dunning.levels if lv.level == proposal.payload["level"]), None)
        if level is None:
            raise no_longer_valid(f"dunning level {proposal.payload['level']} is no longer in the policy")
        return policy.authority.dunning_final_notice if level.tone == "final" else policy.authority.dunning_send

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        ids = [int(i) for i in proposal.read_versions.get("invoices", {})]
        disputed = sorted(
            session.scalars(
                select(Invoice.number)
                .join(Dispute, Dispute.invoice_id == Invoice.id)
                .where(Invoice.id.in_(ids), Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.IN_REVIEW]))
            )
        )
        if disputed:
            raise no_longer_valid(
                f"invoice {', '.join(disputed)} is now disputed and may not be dunned; draft the letter again"
            )

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        ids = [int(i) for i in proposal.read_versions.get("invoices", {})]
        versions = {str(i.id): i.version for i in session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}
        last = session.scalar(
            select(func.max(CollectionActivity.id)).where(
                CollectionActivity.customer_id == proposal.customer_id, CollectionActivity.kind == ActivityKind.DUNNING
            )
        )
        return {"invoices": versions, "last_dunning_activity": last}

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:
        payload = proposal.payload
        outbox = DunningOutbox(
            proposal_id=proposal.id,
            customer_id=proposal.customer_id,
            channel=payload["channel"],
            level=payload["level"],
            to_name=payload.get("to_name"),
            to_email=payload.get("to_email"),
            subject=payload["subject"],
            body=payload["body"],
            status="queued",
            created_at=utcnow(),
        )
        session.add(outbox)
        session.add(
            _activity(
                proposal.customer_id or 0,
                ActivityKind.DUNNING,
                decider.id,
                ActivityOutcome.SENT,
                f"{payload['subject']} (proposal #{proposal.id})",
                level=payload["level"],
            )
        )
        session.flush()
        return {"outbox_id": outbox.id, "status": "queued"}


# --- collector assignment and notes ---------------------------------------------------------------------


class CollectorAssignmentInput(BaseModel):
    customer: CustomerReference
    collector: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class AssignCollector(Action):
    name = "assign_collector"
    tool_name = "propose_collector_assignment"
    input_model = CollectorAssignmentInput
    proposer_roles = frozenset({Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN})
    description = "Propose assigning a customer to another collector."

    def prepare(self, session: Session, ctx: ToolContext, args: CollectorAssignmentInput) -> Prepared:
        customer = resolve_customer_reference(session, ctx, args.customer)
        collector = find_staff_user(session, args.collector)
        if collector is None or collector.role != Role.COLLECTOR:
            raise invalid_input(f"{args.collector!r} is not an active collector")
        if customer.collector_id == collector.id:
            raise invalid_input(f"{customer.name} is already assigned to {collector.name}")
        previous = session.get(StaffUser, customer.collector_id) if customer.collector_id else None
        return Prepared(
            customer=customer,
            summary=f"Assign {customer.name} to collector {collector.name}"
            + (f" (from {previous.name})" if previous else ""),
            payload={"customer_id": customer.id, "collector_id": collector.id, "collector": collector.name},
            changes=[Change("customer", customer.id, "collector", previous.name if previous else None, collector.name)],
            read_versions={"customer": {"id": customer.id, "version": customer.version}},
            required_role=load_policy().authority.collector_assignment,
        )

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        customer = session.get(Customer, proposal.customer_id)
        return {"customer": {"id": customer.id, "version": customer.version} if customer else None}

    def current_role(self, session: Session, proposal: Proposal) -> Role:  # noqa: ARG002
        return load_policy().authority.collector_assignment

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        collector = session.get(StaffUser, proposal.payload["collector_id"])
        if collector is None or not collector.active or collector.role != Role.COLLECTOR:
            raise no_longer_valid(f"{proposal.payload['collector']} is no longer an active collector")

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:  # noqa: ARG002
        customer = _customer_by_id(session, proposal.customer_id)
        customer.collector_id = proposal.payload["collector_id"]
        session.flush()
        return {"customer_id": customer.id, "collector": proposal.payload["collector"]}


class NoteInput(BaseModel):
    customer: CustomerReference
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class AddNote(Action):
    name = "add_note"
    tool_name = "add_note"
    input_model = NoteInput
    proposer_roles = frozenset(ALL_PROPOSERS | {Role.SALES})
    description = "Add a note to a customer's collection history (auto-approved by policy for anyone who may see it)."

    def prepare(self, session: Session, ctx: ToolContext, args: NoteInput) -> Prepared:
        customer = resolve_customer_reference(session, ctx, args.customer)
        return Prepared(
            customer=customer,
            summary=f"Add a note to {customer.name}",
            payload={"customer_id": customer.id, "text": args.text},
            changes=[Change("collection_activity", None, "note", None, f"{len(args.text)} characters")],
            read_versions={},
            required_role=load_policy().authority.note,
            auto_approve_reason="notes are auto-approved for anyone who may see the account",
        )

    def lock(self, session: Session, proposal: Proposal) -> None:
        """A note changes no shared row: nothing to serialise on."""

    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:  # noqa: ARG002
        return {}

    def current_role(self, session: Session, proposal: Proposal) -> Role:  # noqa: ARG002
        return load_policy().authority.note

    def revalidate(self, session: Session, proposal: Proposal) -> None:
        """A note has no cap."""

    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:  # noqa: ARG002
        activity = _activity(
            proposal.customer_id or 0,
            ActivityKind.NOTE,
            proposal.proposed_by_id,
            ActivityOutcome.NONE,
            proposal.payload["text"],
        )
        session.add(activity)
        session.flush()
        return {"activity_id": activity.id}


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        SetCreditLimit(),
        PlaceOrderHold(),
        ReleaseOrderHold(),
        LogPromiseToPay(),
        UpdateDispute(),
        SendDunning(),
        AssignCollector(),
        AddNote(),
    )
}


def action_named(name: str) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        raise CreditDeskError(ErrorCode.NOT_CONFIGURED, f"unknown action {name!r}")
    return action
