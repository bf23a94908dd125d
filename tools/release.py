""" "Can we ship?": the order-release check. Evaluates the credit-status rules as if the order were added, names
the rule that decides, and works out the smallest way to release: which invoices to collect, or what limit a
given role would have to approve."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from core.amounts import amount_in, stated_currency
from core.dates import day_number
from core.errors import invalid_input, not_found
from core.money import CurrencyField, PositiveMoneyField, quantize
from db.models import Customer, Role
from db.queries.ar import OpenItem
from db.queries.exposure import order_by_number
from tools.context import ToolContext, without_risk
from tools.customers import resolve_customer_reference
from tools.exposure import (
    SALES_NOTE,
    CreditStatusResult,
    StatusInputs,
    compute_exposure_details,
    evaluate_credit_status,
    money_sum,
    sales_status,
)
from tools.fx import FxConverter
from tools.policy import CreditPolicy, load_policy, role_phrase
from tools.registry import ALL_ROLES, tool
from tools.schemas import CustomerReference, CustomerSummary

PAYMENT_CURABLE = {"over_limit", "oldest_overdue_hold", "overdue_share", "oldest_overdue_stop"}
# (open items, exposure, credit limit) -> the credit status they would give
StatusFor = Callable[[list[OpenItem], Decimal, Decimal | None], CreditStatusResult]


class OrderReleaseInput(BaseModel):
    customer: CustomerReference
    order_amount: PositiveMoneyField | None = Field(default=None, description="Value of a new order")
    currency: CurrencyField | None = Field(default=None, description="Currency of order_amount; default the customer's")
    order_number: str | None = Field(
        default=None,
        max_length=40,
        description="An existing open sales order instead; with neither, whether new orders ship as the account "
        "stands today",
    )

    @model_validator(mode="after")
    def _one_order(self) -> OrderReleaseInput:
        if self.order_amount is not None and self.order_number is not None:
            raise ValueError("give order_amount or order_number, not both")
        return self


class InvoiceToCollect(BaseModel):
    number: str
    due_date: date
    days_past_due: int
    open_amount: Decimal


class ReleasePath(BaseModel):
    kind: Literal["collect_invoices", "raise_limit", "approval"]
    description: str
    invoices: list[InvoiceToCollect] = Field(default_factory=list)
    amount_to_collect: Decimal | None = None
    new_credit_limit: Decimal | None = None
    limit_increase: Decimal | None = None
    approver_role: Role | None = None


class OrderReleaseResult(BaseModel):
    customer: CustomerSummary
    decision: Literal["release", "hold"]
    deciding_rule: str
    explanation: str
    currency: str
    order_amount: Decimal | None = Field(
        description="The order checked; none when no order was named (the account "
        "as it stands: would a new order ship today)"
    )
    order_number: str | None
    order_already_in_exposure: bool
    exposure_before: Decimal
    exposure_after: Decimal
    credit_limit: Decimal | None
    utilisation_after_pct: Decimal | None
    available_credit_after: Decimal | None
    status_before: str
    status_after: CreditStatusResult
    ways_to_release: list[ReleasePath] = Field(
        description="The smallest changes that would release the order; empty when it can be released"
    )
    definitions: list[str]
    policy_version: str


def _status_with(
    policy: CreditPolicy,
    base: StatusInputs,
    *,
    exposure: Decimal,
    limit: Decimal | None,
    open_items: list[OpenItem],
    reporting: FxConverter,
    currency: str,
    as_of_dn: int,
) -> CreditStatusResult:
    undisputed = [i for i in open_items if not i.disputed]
    overdue = [i for i in undisputed if as_of_dn - i.due_dn > 0 and i.open_amount > 0]
    undisputed_overdue = money_sum(i.open_amount for i in overdue)
    has_limit = limit is not None and limit > 0
    return evaluate_credit_status(
        policy,
        replace(
            base,
            total_exposure=exposure,
            has_limit=has_limit,
            utilisation_pct=(exposure * 100 / limit).quantize(Decimal("0.1")) if has_limit and limit else None,
            oldest_undisputed_dpd=max((as_of_dn - i.due_dn for i in overdue), default=None),
            undisputed_open=money_sum(i.open_amount for i in undisputed),
            undisputed_overdue=undisputed_overdue,
            undisputed_overdue_reporting=reporting.convert(undisputed_overdue, currency),
        ),
    )


class SalesReleaseDecision(BaseModel):
    """Can the order ship, as the sales role sees it: the decision and its reason in words, no account figures."""

    view: Literal["sales"] = "sales"
    customer: CustomerSummary
    can_ship: Literal["yes", "no", "refer"] = Field(
        description="yes: it ships; refer: a credit decision (a release or a limit) could let it ship; no: not until "
        "the account is brought within policy (overdue invoices paid)"
    )
    decision: Literal["release", "hold"]
    status_with_order: str = Field(description="The credit status with this order: OK, Watch, Hold or Stop")
    deciding_rule: str
    explanation: str = Field(description="Why, in words that disclose no balance, limit or score")
    next_step: str
    currency: str
    order_amount: Decimal | None = Field(
        description="The order asked about (the caller's own figure); none when no order was named"
    )
    order_number: str | None
    note: str = SALES_NOTE
    definitions: list[str]
    policy_version: str


def sales_release_view(result: OrderReleaseResult) -> SalesReleaseDecision:
    policy = load_policy()
    status = sales_status(result.status_after, policy)
    approvers = [path.approver_role for path in result.ways_to_release if path.approver_role is not None]
    can_ship: Literal["yes", "no", "refer"]
    if result.decision == "release":
        named = result.order_amount is not None or result.order_number is not None
        can_ship, next_step = "yes", "The order can ship." if named else "New orders can ship within policy."
    elif approvers:
        who = role_phrase(min(approvers, key=policy.authority.rank))
        can_ship, next_step = "refer", f"Refer it to the credit team: {who} or above can decide whether it ships."
    else:
        can_ship = "no"
        next_step = "It cannot ship until the account is back within policy; the credit team is following up."
    explanation = status.explanation if result.decision == "hold" else "the account stays within policy"
    return SalesReleaseDecision(
        customer=without_risk(result.customer),
        can_ship=can_ship,
        decision=result.decision,
        status_with_order=status.status,
        deciding_rule=result.deciding_rule,
        explanation=explanation,
        next_step=next_step,
        currency=result.currency,
        order_amount=result.order_amount,
        order_number=result.order_number,
        definitions=[result.definitions[4]] if len(result.definitions) > 4 else [],
        policy_version=result.policy_version,
    )


@tool(
    name="check_order_release",
    kind="read",
    input_model=OrderReleaseInput,
    output_model=OrderReleaseResult,
    roles=ALL_ROLES,
    views={Role.SALES: sales_release_view},
)
def check_order_release(session: Session, ctx: ToolContext, args: OrderReleaseInput) -> OrderReleaseResult:
    """Can we ship this order today? Release or hold, the credit rule that decides, and the smallest way to
    release it: the invoices to collect, or the credit limit needed and which role must approve it. With no order
    named, it answers whether a new order would ship as the account stands today. The sales role
    gets the decision (yes / no / refer) and its reason in words only."""
    customer = resolve_customer_reference(session, ctx, args.customer)
    policy = load_policy()
    fx = FxConverter(session, ctx.reporting_currency, ctx.today)
    currency = customer.currency
    in_exposure = False
    order_number: str | None = None
    if args.order_number is not None:
        order = order_by_number(session, args.order_number)
        if order is None or order.customer_id != customer.id:
            raise not_found(f"no open order {args.order_number} for {customer.name}")
        if order.status != "open":
            raise invalid_input(f"order {order.number} is {order.status.value}, not open")
        amount = fx.convert_between(order.open_amount, order.currency, currency)
        in_exposure, order_number = True, order.number
    elif args.order_amount is None:
        amount = Decimal(0)  # no order named: the account as it stands decides whether a new order ships
    else:
        # The order's currency: the one given, else the one its amount names ("5000 USD"), else the customer's.
        order_currency = args.currency or stated_currency(args.order_amount) or currency
        order_amount = amount_in(args.order_amount, order_currency, field="order_amount")
        amount = fx.convert_between(order_amount, order_currency, currency)

    no_order = args.order_amount is None and args.order_number is None
    computed = compute_exposure_details(session, ctx, customer, ctx.today, include_group=False, fx=fx)
    before = computed.exposure
    figures = before.figures
    exposure_after = figures.total_exposure if in_exposure else quantize(figures.total_exposure + amount)
    limit = figures.credit_limit
    as_of_dn = day_number(ctx.today)
    base = StatusInputs(
        stored=customer.credit_status,
        stored_reason=customer.credit_status_reason,
        utilisation_pct=None,
        total_exposure=exposure_after,
        has_limit=False,
        oldest_undisputed_dpd=None,
        undisputed_open=Decimal(0),
        undisputed_overdue=Decimal(0),
        undisputed_overdue_reporting=Decimal(0),
        review_overdue=before.credit_limit.review_overdue if before.credit_limit else False,
    )

    def status_for(items: list[OpenItem], exposure: Decimal, new_limit: Decimal | None) -> CreditStatusResult:
        return _status_with(
            policy,
            base,
            exposure=exposure,
            limit=new_limit,
            open_items=items,
            reporting=fx,
            currency=currency,
            as_of_dn=as_of_dn,
        )

    after = status_for(computed.items, exposure_after, limit)
    release = after.status in ("OK", "Watch")
    paths = (
        []
        if release
        else _ways_to_release(policy, customer, computed.items, exposure_after, limit, after, status_for, fx, as_of_dn)
    )
    utilisation = (exposure_after * 100 / limit).quantize(Decimal("0.1")) if limit else None
    return OrderReleaseResult(
        customer=before.customer,
        decision="release" if release else "hold",
        deciding_rule=after.rule,
        explanation=after.explanation
        if not release
        else f"status {'as the account stands is' if no_order else 'with this order would be'} {after.status}: "
        f"{after.explanation}",
        currency=currency,
        order_amount=None if no_order else amount,
        order_number=order_number,
        order_already_in_exposure=in_exposure,
        exposure_before=figures.total_exposure,
        exposure_after=exposure_after,
        credit_limit=limit,
        utilisation_after_pct=utilisation,
        available_credit_after=quantize(limit - exposure_after) if limit is not None else None,
        status_before=before.credit_status.status,
        status_after=after,
        ways_to_release=paths,
        definitions=[
            *before.definitions[:4],
            "An order is released when the credit status including it is OK or Watch, and held on Hold or Stop.",
            "Collecting invoices lowers exposure and cures overdue rules; invoices are taken oldest first, "
            "undisputed only, until every payment-curable rule passes.",
            "A limit path gives the smallest limit (rounded up to the policy's rounding) that keeps utilisation "
            "within the Hold threshold, and the approver the authority matrix requires for that increase.",
        ],
        policy_version=policy.version,
    )


def _ways_to_release(
    policy: CreditPolicy,
    customer: Customer,
    items: list[OpenItem],
    exposure: Decimal,
    limit: Decimal | None,
    status: CreditStatusResult,
    status_for: StatusFor,
    fx: FxConverter,
    as_of_dn: int,
) -> list[ReleasePath]:
    fired = {rule.code for rule in status.rules if rule.fired and rule.status in ("Hold", "Stop")}
    paths: list[ReleasePath] = []
    manual = fired & {"manual_hold", "manual_stop"}
    if manual:
        stop = "manual_stop" in manual
        role = policy.authority.order_release_from_stop if stop else policy.authority.order_release_from_hold
        paths.append(
            ReleasePath(
                kind="approval",
                description=f"the account is on a manual {'Stop' if stop else 'Hold'}: "
                f"{role_phrase(role)} must release it",
                approver_role=role,
            )
        )
    if fired & PAYMENT_CURABLE:
        collect = _invoices_to_collect(items, exposure, limit, status_for, as_of_dn)
        if collect is not None:
            chosen, total = collect
            paths.append(
                ReleasePath(
                    kind="collect_invoices",
                    description=f"collect {len(chosen)} invoice(s) totalling {total} {customer.currency}",
                    invoices=chosen,
                    amount_to_collect=total,
                )
            )
    if fired & PAYMENT_CURABLE <= {"over_limit"} and "over_limit" in fired:
        threshold = policy.credit_status.hold_utilisation_pct / 100
        rounding = policy.limits.rounding
        needed = Decimal(math.ceil(exposure / threshold / rounding)) * rounding
        current = limit or Decimal(0)
        current_reporting = fx.convert(current, customer.currency)
        needed_reporting = fx.convert(needed, customer.currency)
        role = policy.authority.approver_for_limit_change(current_reporting, needed_reporting, customer.risk_class)
        paths.append(
            ReleasePath(
                kind="raise_limit",
                description=f"raise the credit limit to {needed} {customer.currency} "
                f"(+{needed - current}), approved by {role_phrase(role)}",
                new_credit_limit=needed,
                limit_increase=needed - current,
                approver_role=role,
            )
        )
    return paths


def _still_blocked(status: CreditStatusResult) -> bool:
    return bool({rule.code for rule in status.rules if rule.fired} & PAYMENT_CURABLE)


def _invoices_to_collect(
    items: list[OpenItem], exposure: Decimal, limit: Decimal | None, status_for: StatusFor, as_of_dn: int
) -> tuple[list[InvoiceToCollect], Decimal] | None:
    """Oldest undisputed invoices first, until no payment-curable rule fires; None if even all of them fall short."""
    remaining = list(items)
    chosen: list[OpenItem] = []
    candidates = sorted(
        (i for i in items if not i.disputed and i.open_amount > 0), key=lambda i: (i.due_dn, i.invoice_id)
    )
    paid = Decimal(0)
    for item in candidates:
        if not _still_blocked(status_for(remaining, exposure - paid, limit)):
            break
        chosen.append(item)
        remaining = [i for i in remaining if i.invoice_id != item.invoice_id]
        paid += item.open_amount
    else:
        if _still_blocked(status_for(remaining, exposure - paid, limit)):
            return None
    invoices = [
        InvoiceToCollect(
            number=i.number, due_date=i.due_date, days_past_due=as_of_dn - i.due_dn, open_amount=i.open_amount
        )
        for i in chosen
    ]
    return invoices, quantize(paid)


TOOLS = [check_order_release]
