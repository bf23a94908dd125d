"""Customer exposure: what they owe, how old it is, against which limit, and the credit status that follows.

Exposure = open receivables at the as-of date (invoices less open credit notes, disputed items included) + the
value of open sales orders not yet invoiced (today's order book; no order history is kept, so past as-of dates
show receivables only). Ageing is by due date. The status ladder OK / Watch / Hold / Stop is evaluated rule by
rule from the policy, and the rule that decided is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.dates import end_of_day_utc
from core.money import quantize
from db.models import CreditStatus, Customer, Role
from db.queries.ar import OpenItem, customer_open_items
from db.queries.customers import child_ids, credit_limit_as_of, customers_by_ids
from db.queries.exposure import customer_facts
from tools.context import ToolContext, without_risk
from tools.customers import resolve_customer_reference
from tools.fx import FxConverter, FxRateUsed
from tools.policy import CreditPolicy, load_policy
from tools.registry import ALL_ROLES, tool
from tools.schemas import AgeingBucket, AsOfDate, CustomerReference, CustomerSummary

StatusName = Literal["OK", "Watch", "Hold", "Stop"]
SEVERITY: dict[str, int] = {"OK": 0, "Watch": 1, "Hold": 2, "Stop": 3}
BEHAVIOUR_WINDOW_DAYS = 90
PAID_WINDOW_DAYS = 365
PCT = Decimal("0.1")


class ExposureInput(BaseModel):
    customer: CustomerReference
    as_of: AsOfDate = None
    include_group: bool = Field(
        default=True, description="Add the parent/children roll-up when the customer is in a group."
    )


class CreditLimitInfo(BaseModel):
    amount: Decimal
    currency: str
    valid_from: datetime
    review_date: date | None
    review_overdue: bool
    set_by: str
    reason: str | None


class StatusRule(BaseModel):
    code: str
    status: StatusName = Field(description="The status this rule imposes when it fires")
    fired: bool
    detail: str


class CreditStatusResult(BaseModel):
    status: StatusName
    rule: str = Field(description="Code of the rule that decided the status")
    explanation: str
    stored_status: str = Field(description="Status set by credit management (sticky Hold/Stop), before the rules")
    rules: list[StatusRule]


class ExposureFigures(BaseModel):
    currency: str
    open_receivables: Decimal = Field(description="Open invoices less open credit notes at the as-of date")
    not_yet_due: Decimal
    overdue: Decimal
    ageing: list[AgeingBucket]
    open_items: int
    disputed_amount: Decimal = Field(description="Open amount of items under an active dispute")
    disputed_items: int
    undisputed_overdue: Decimal
    oldest_undisputed_days_past_due: int | None
    open_orders: Decimal | None = Field(description="Open sales orders not yet invoiced (today only)")
    open_orders_count: int | None
    orders_on_hold: int | None
    total_exposure: Decimal
    credit_limit: Decimal | None
    utilisation_pct: Decimal | None = Field(description="total_exposure / credit_limit × 100")
    available_credit: Decimal | None


class PromiseSummary(BaseModel):
    open_count: int
    open_amount: Decimal
    next_promised_date: date | None
    broken_last_90_days: int
    kept_rate_12m_pct: Decimal | None = Field(description="Promises kept / promises due in the last 12 months")


class PaymentInfo(BaseModel):
    received_date: date
    amount: Decimal
    currency: str
    days_ago: int


class BehaviourFigures(BaseModel):
    sales_last_90_days: Decimal
    dso_days: Decimal | None = Field(description="Open receivables / sales of the last 90 days × 90")
    best_possible_dso_days: Decimal | None = Field(
        description="Not-yet-due receivables / sales of the last 90 days × 90"
    )
    add_days: Decimal | None = Field(description="Average days delinquent = DSO − best possible DSO")
    average_days_late_paid: Decimal | None = Field(
        description="Amount-weighted mean of (payment date − due date) over invoices paid in the last 12 months"
    )
    paid_invoices_12m: int


class ReportingView(BaseModel):
    currency: str
    open_receivables: Decimal
    overdue: Decimal
    total_exposure: Decimal
    credit_limit: Decimal | None
    available_credit: Decimal | None
    fx_rates: list[FxRateUsed]


class GroupMember(BaseModel):
    customer_id: int
    name: str
    role: Literal["parent", "child"]
    currency: str
    total_exposure: Decimal
    credit_limit: Decimal | None
    status: StatusName
    total_exposure_reporting: Decimal
    credit_limit_reporting: Decimal | None


class GroupRollup(BaseModel):
    parent_id: int
    parent_name: str
    reporting_currency: str
    members: list[GroupMember]
    total_exposure: Decimal
    total_credit_limit: Decimal
    utilisation_pct: Decimal | None
    fx_rates: list[FxRateUsed]


class CustomerExposure(BaseModel):
    customer: CustomerSummary
    as_of: date
    figures: ExposureFigures
    credit_limit: CreditLimitInfo | None
    credit_status: CreditStatusResult
    promises: PromiseSummary
    last_payment: PaymentInfo | None
    behaviour: BehaviourFigures
    reporting: ReportingView
    group: GroupRollup | None = None
    definitions: list[str]
    policy_version: str


@dataclass(frozen=True)
class StatusInputs:
    stored: CreditStatus
    stored_reason: str | None
    utilisation_pct: Decimal | None
    total_exposure: Decimal
    has_limit: bool
    oldest_undisputed_dpd: int | None
    undisputed_open: Decimal
    undisputed_overdue: Decimal
    undisputed_overdue_reporting: Decimal
    review_overdue: bool


def evaluate_credit_status(policy: CreditPolicy, facts: StatusInputs) -> CreditStatusResult:
    """Every ladder rule, in order of severity; the first one that fires decides."""
    p = policy.credit_status
    dpd = facts.oldest_undisputed_dpd
    share = (
        (facts.undisputed_overdue * 100 / facts.undisputed_open).quantize(PCT)
        if facts.undisputed_open > 0
        else Decimal(0)
    )
    utilisation = facts.utilisation_pct
    over_limit = (utilisation is not None and utilisation > p.hold_utilisation_pct) or (
        not facts.has_limit and facts.total_exposure > 0
    )
    limit_text = "no credit limit is set" if not facts.has_limit else f"utilisation is {utilisation}%"
    oldest = f"oldest undisputed item is {dpd} days past due" if dpd is not None else "no undisputed item is past due"
    rules = [
        StatusRule(
            code="manual_stop",
            status="Stop",
            fired=facts.stored == CreditStatus.STOP,
            detail=f"credit management set Stop ({facts.stored_reason or 'no reason recorded'})"
            if facts.stored == CreditStatus.STOP
            else "no manual Stop",
        ),
        StatusRule(
            code="oldest_overdue_stop",
            status="Stop",
            fired=dpd is not None and dpd > p.stop_oldest_overdue_days,
            detail=f"{oldest} (Stop above {p.stop_oldest_overdue_days} days)",
        ),
        StatusRule(
            code="manual_hold",
            status="Hold",
            fired=facts.stored == CreditStatus.HOLD,
            detail=f"credit management set Hold ({facts.stored_reason or 'no reason recorded'})"
            if facts.stored == CreditStatus.HOLD
            else "no manual Hold",
        ),
        StatusRule(
            code="over_limit",
            status="Hold",
            fired=over_limit,
            detail=f"{limit_text} (Hold above {p.hold_utilisation_pct}%)",
        ),
        StatusRule(
            code="oldest_overdue_hold",
            status="Hold",
            fired=dpd is not None and dpd > p.hold_oldest_overdue_days,
            detail=f"{oldest} (Hold above {p.hold_oldest_overdue_days} days)",
        ),
        StatusRule(
            code="overdue_share",
            status="Hold",
            fired=share > p.hold_overdue_share_pct
            and facts.undisputed_overdue_reporting >= p.hold_overdue_share_min_amount,
            detail=f"{share}% of undisputed open receivables is overdue (Hold above {p.hold_overdue_share_pct}% "
            f"when at least {p.hold_overdue_share_min_amount} overdue in the reporting currency)",
        ),
        StatusRule(
            code="near_limit",
            status="Watch",
            fired=utilisation is not None and utilisation >= p.watch_utilisation_pct,
            detail=f"{limit_text} (Watch from {p.watch_utilisation_pct}%)",
        ),
        StatusRule(
            code="manual_watch",
            status="Watch",
            fired=facts.stored == CreditStatus.WATCH,
            detail="credit management set Watch" if facts.stored == CreditStatus.WATCH else "no manual Watch",
        ),
        StatusRule(
            code="review_overdue",
            status="Watch",
            fired=p.expired_review_is_watch and facts.review_overdue,
            detail="the credit limit is past its review date" if facts.review_overdue else "limit review is current",
        ),
    ]
    fired = [rule for rule in rules if rule.fired]
    if not fired:
        return CreditStatusResult(
            status="OK",
            rule="within_policy",
            explanation="within the limit and nothing overdue beyond policy",
            stored_status=facts.stored.value,
            rules=rules,
        )
    deciding = max(fired, key=lambda rule: SEVERITY[rule.status])
    return CreditStatusResult(
        status=deciding.status,
        rule=deciding.code,
        explanation=deciding.detail,
        stored_status=facts.stored.value,
        rules=rules,
    )


def ageing_buckets(policy: CreditPolicy, items: list[OpenItem], as_of: date) -> list[AgeingBucket]:
    labels = policy.ageing.bucket_labels()
    amounts = [Decimal("0.00")] * len(labels)
    counts = [0] * len(labels)
    for item in items:
        index = bucket_index(policy.ageing.bucket_upper_bounds, item.days_past_due(as_of))
        amounts[index] += item.open_amount
        counts[index] += 1
    return [AgeingBucket(label=label, amount=amounts[i], items=counts[i]) for i, label in enumerate(labels)]


def bucket_index(bounds: list[int], days_past_due: int) -> int:
    if days_past_due <= 0:
        return 0
    for position, upper in enumerate(bounds, start=1):
        if days_past_due <= upper:
            return position
    return len(bounds) + 1


def money_sum(amounts: Iterable[Decimal]) -> Decimal:
    return quantize(sum(amounts, Decimal(0)))


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(PCT) if whole else None


def _days_ratio(part: Decimal, sales: Decimal, days: int) -> Decimal | None:
    return (part / sales * days).quantize(PCT) if sales > 0 else None


@dataclass
class ExposureDetails:
    """An exposure result plus the open items behind it (for tools that reason item by item)."""

    exposure: CustomerExposure
    items: list[OpenItem]


def compute_customer_exposure(
    session: Session,
    ctx: ToolContext,
    customer: Customer,
    as_of: date,
    *,
    include_group: bool = True,
    extra_order_amount: Decimal = Decimal(0),
) -> CustomerExposure:
    """Exposure of one (already resolved and visible) customer. `extra_order_amount` projects a new order."""
    return compute_exposure_details(
        session, ctx, customer, as_of, include_group=include_group, extra=extra_order_amount
    ).exposure


def compute_exposure_details(
    session: Session,
    ctx: ToolContext,
    customer: Customer,
    as_of: date,
    *,
    include_group: bool,
    extra: Decimal = Decimal(0),
    fx: FxConverter | None = None,
) -> ExposureDetails:
    policy = load_policy()
    fx = fx or FxConverter(session, ctx.reporting_currency, as_of)
    currency = customer.currency
    is_today = as_of >= ctx.today
    # Figures are in the customer's currency; items in another currency are converted at the as-of rate.
    items = [
        item
        if item.currency == currency
        else replace(item, open_amount=fx.convert_between(item.open_amount, item.currency, currency), currency=currency)
        for item in customer_open_items(session, customer.id, as_of)
    ]
    open_total = money_sum(i.open_amount for i in items)
    overdue = money_sum(i.open_amount for i in items if i.days_past_due(as_of) > 0)
    undisputed = [i for i in items if not i.disputed]
    undisputed_overdue_items = [i for i in undisputed if i.days_past_due(as_of) > 0 and i.open_amount > 0]
    disputed_amount = money_sum(i.open_amount for i in items if i.disputed)
    undisputed_overdue = money_sum(i.open_amount for i in undisputed_overdue_items)
    oldest_dpd = max((i.days_past_due(as_of) for i in undisputed_overdue_items), default=None)

    facts = customer_facts(
        session, customer.id, currency, as_of, sales_days=BEHAVIOUR_WINDOW_DAYS, paid_days=PAID_WINDOW_DAYS
    )
    orders = facts.orders if is_today and policy.exposure.include_open_orders else None
    order_value = quantize((orders.open_amount if orders else Decimal(0)) + extra)
    receivables_in_exposure = open_total if policy.exposure.include_disputed_items else open_total - disputed_amount
    total_exposure = receivables_in_exposure + order_value

    limit = credit_limit_as_of(session, customer.id, end_of_day_utc(as_of))
    limit_amount: Decimal | None = None
    limit_info: CreditLimitInfo | None = None
    if limit is not None:
        limit_amount = fx.convert_between(limit.amount, limit.currency, currency)
        limit_info = CreditLimitInfo(
            amount=limit.amount,
            currency=limit.currency,
            valid_from=limit.valid_from,
            review_date=limit.review_date,
            review_overdue=limit.review_date is not None and limit.review_date < as_of,
            set_by=limit.set_by_name,
            reason=limit.reason,
        )
    has_limit = limit_amount is not None and limit_amount > 0
    utilisation = _pct(total_exposure, limit_amount) if has_limit and limit_amount else None
    available = limit_amount - total_exposure if limit_amount is not None else None

    status = evaluate_credit_status(
        policy,
        StatusInputs(
            stored=customer.credit_status,
            stored_reason=customer.credit_status_reason,
            utilisation_pct=utilisation,
            total_exposure=total_exposure,
            has_limit=has_limit,
            oldest_undisputed_dpd=oldest_dpd,
            undisputed_open=money_sum(i.open_amount for i in undisputed),
            undisputed_overdue=undisputed_overdue,
            undisputed_overdue_reporting=fx.convert(undisputed_overdue, currency),
            review_overdue=limit_info.review_overdue if limit_info else False,
        ),
    )

    sales = facts.sales_by_currency
    sales_90 = money_sum(fx.convert_between(amount, ccy, currency) for ccy, amount in sales.items())
    not_yet_due = open_total - overdue
    dso = _days_ratio(open_total, sales_90, BEHAVIOUR_WINDOW_DAYS)
    bpdso = _days_ratio(not_yet_due, sales_90, BEHAVIOUR_WINDOW_DAYS)
    paid, promises, payment = facts.paid, facts.promises, facts.last_payment

    figures = ExposureFigures(
        currency=currency,
        open_receivables=open_total,
        not_yet_due=not_yet_due,
        overdue=overdue,
        ageing=ageing_buckets(policy, items, as_of),
        open_items=len(items),
        disputed_amount=disputed_amount,
        disputed_items=sum(1 for i in items if i.disputed),
        undisputed_overdue=undisputed_overdue,
        oldest_undisputed_days_past_due=oldest_dpd,
        open_orders=order_value if orders else None,
        open_orders_count=orders.open_orders if orders else None,
        orders_on_hold=orders.on_hold_orders if orders else None,
        total_exposure=total_exposure,
        credit_limit=limit_amount,
        utilisation_pct=utilisation,
        available_credit=available,
    )
    reporting = ReportingView(
        currency=ctx.reporting_currency,
        open_receivables=fx.convert(open_total, currency),
        overdue=fx.convert(overdue, currency),
        total_exposure=fx.convert(total_exposure, currency),
        credit_limit=fx.convert(limit_amount, currency) if limit_amount is not None else None,
        available_credit=fx.convert(available, currency) if available is not None else None,
        fx_rates=fx.rates_used(),
    )
    exposure = CustomerExposure(
        customer=CustomerSummary.of(customer),
        as_of=as_of,
        figures=figures,
        credit_limit=limit_info,
        credit_status=status,
        promises=PromiseSummary(
            open_count=promises.open_count,
            open_amount=promises.open_amount,
            next_promised_date=promises.next_promised_date,
            broken_last_90_days=promises.broken_last_90_days,
            kept_rate_12m_pct=_pct(Decimal(promises.kept_last_365_days), Decimal(promises.due_last_365_days)),
        ),
        last_payment=PaymentInfo(
            received_date=payment.received_date,
            amount=payment.amount,
            currency=payment.currency,
            days_ago=(as_of - payment.received_date).days,
        )
        if payment
        else None,
        behaviour=BehaviourFigures(
            sales_last_90_days=sales_90,
            dso_days=dso,
            best_possible_dso_days=bpdso,
            add_days=(dso - bpdso) if dso is not None and bpdso is not None else None,
            average_days_late_paid=paid.weighted_days_late,
            paid_invoices_12m=paid.paid_invoices,
        ),
        reporting=reporting,
        definitions=_definitions(policy, is_today, currency, ctx.reporting_currency),
        policy_version=policy.version,
    )
    if include_group:
        exposure.group = _group_rollup(session, ctx, customer, as_of, fx)
    return ExposureDetails(exposure=exposure, items=items)


def _group_rollup(
    session: Session, ctx: ToolContext, customer: Customer, as_of: date, fx: FxConverter
) -> GroupRollup | None:
    root_id = customer.parent_id or customer.id
    members_ids = [root_id, *child_ids(session, root_id)]
    if len(members_ids) == 1:
        return None
    members = sorted(customers_by_ids(session, members_ids), key=lambda c: (c.id != root_id, c.id))
    rows: list[GroupMember] = []
    for member in members:
        if not ctx.can_see(member):
            continue
        figures = compute_exposure_details(session, ctx, member, as_of, include_group=False, fx=fx).exposure
        limit = figures.figures.credit_limit
        rows.append(
            GroupMember(
                customer_id=member.id,
                name=member.name,
                role="parent" if member.id == root_id else "child",
                currency=member.currency,
                total_exposure=figures.figures.total_exposure,
                credit_limit=limit,
                status=figures.credit_status.status,
                total_exposure_reporting=figures.reporting.total_exposure,
                credit_limit_reporting=figures.reporting.credit_limit,
            )
        )
    total = money_sum(row.total_exposure_reporting for row in rows)
    limits = money_sum(row.credit_limit_reporting or Decimal(0) for row in rows)
    root = next(m for m in members if m.id == root_id)
    return GroupRollup(
        parent_id=root.id,
        parent_name=root.name,
        reporting_currency=ctx.reporting_currency,
        members=rows,
        total_exposure=total,
        total_credit_limit=limits,
        utilisation_pct=_pct(total, limits),
        fx_rates=fx.rates_used(),
    )


def _definitions(policy: CreditPolicy, is_today: bool, currency: str, reporting: str) -> list[str]:
    bounds = ", ".join(policy.ageing.bucket_labels())
    orders = (
        "open sales orders not yet invoiced" if is_today else "no open orders (the order book is only known for today)"
    )
    return [
        f"Open receivables: invoices less open credit notes, open at the end of the as-of date, in {currency}.",
        f"Ageing by due date (days past due = as-of date − due date); buckets {bounds}.",
        f"Total exposure = open receivables (disputed items included) + {orders}.",
        "Utilisation = total exposure / credit limit in force at the as-of date × 100.",
        "DSO (customer) = open receivables / net sales of the last 90 days × 90; best possible DSO uses not-yet-due "
        "receivables; ADD = DSO − best possible DSO.",
        "Average days late (paid) = amount-weighted mean of (settlement date − due date) over invoices settled in "
        "the last 12 months.",
        f"Reporting-currency figures use the latest {reporting} rate on or before the as-of date.",
        f"Credit status rules from policy {policy.version}: Watch from {policy.credit_status.watch_utilisation_pct}% "
        f"utilisation; Hold above {policy.credit_status.hold_utilisation_pct}% or undisputed items over "
        f"{policy.credit_status.hold_oldest_overdue_days} days past due; Stop over "
        f"{policy.credit_status.stop_oldest_overdue_days} days or by credit management.",
    ]


# --- what the sales role sees --------------------------------------------------------------------------------


SALES_NOTE = (
    "Sales see the credit status and release decisions; balances, ageing, limits and scores are for the credit team."
)


class PlainStatus(BaseModel):
    status: StatusName
    rule: str = Field(description="Code of the rule that decided the status")
    explanation: str = Field(description="Why, in words that disclose no balance, limit or score")


class SalesCreditView(BaseModel):
    """A customer's credit status as the sales role sees it: no balances, ageing, exposure, limits or scores."""

    view: Literal["sales"] = "sales"
    customer: CustomerSummary
    as_of: date
    credit_status: PlainStatus
    note: str = SALES_NOTE
    definitions: list[str]
    policy_version: str


def plain_reason(status: CreditStatusResult, policy: CreditPolicy | None = None) -> str:
    """The deciding rule in words that name policy thresholds but none of the account's own figures."""
    p = (policy or load_policy()).credit_status
    no_limit = any(r.code == "over_limit" and r.detail.startswith("no credit limit") for r in status.rules)
    reasons = {
        "within_policy": "within its credit limit, with nothing overdue beyond policy",
        "manual_stop": "credit management has stopped the account",
        "oldest_overdue_stop": f"an undisputed invoice is more than {p.stop_oldest_overdue_days} days past due",
        "manual_hold": "credit management has put the account on hold",
        "over_limit": "no credit limit is set for the account"
        if no_limit
        else "the account is above the utilisation of its credit limit that policy allows",
        "oldest_overdue_hold": f"an undisputed invoice is more than {p.hold_oldest_overdue_days} days past due",
        "overdue_share": "too large a share of the account's balance is overdue",
        "near_limit": "the account is close to its credit limit",
        "manual_watch": "credit management is watching the account",
        "review_overdue": "the account's credit limit is due for review",
    }
    return reasons.get(status.rule, "the credit policy rules decide it; ask the credit team for details")


def sales_status(status: CreditStatusResult, policy: CreditPolicy | None = None) -> PlainStatus:
    return PlainStatus(status=status.status, rule=status.rule, explanation=plain_reason(status, policy))


def sales_exposure_view(result: CustomerExposure) -> SalesCreditView:
    policy = load_policy()
    return SalesCreditView(
        customer=without_risk(result.customer),
        as_of=result.as_of,
        credit_status=sales_status(result.credit_status, policy),
        definitions=[
            f"Credit status from policy {policy.version}: OK or Watch (orders ship), Hold or Stop (orders are held "
            "until credit management releases them or the account is brought within policy)."
        ],
        policy_version=result.policy_version,
    )


@tool(
    name="get_customer_exposure",
    kind="read",
    input_model=ExposureInput,
    output_model=CustomerExposure,
    roles=ALL_ROLES,
    views={Role.SALES: sales_exposure_view},
)
def get_customer_exposure(session: Session, ctx: ToolContext, args: ExposureInput) -> CustomerExposure:
    """A customer's exposure at a date: open receivables with ageing by due date, open orders, total exposure,
    credit limit, utilisation, available credit, disputes, promises, last payment, DSO/ADD, the group roll-up and
    the credit status (OK/Watch/Hold/Stop) with the rule that fired; reporting-currency figures with FX rates. The
    sales role gets the credit status and its reason only."""
    customer = resolve_customer_reference(session, ctx, args.customer)
    as_of = ctx.resolve_as_of(args.as_of)
    return compute_customer_exposure(session, ctx, customer, as_of, include_group=args.include_group)


TOOLS = [get_customer_exposure]
