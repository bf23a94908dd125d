"""The collector worklist: which accounts to work first, what to do on each, and why each ranks where it does.

Priority = the expected value of the next action, scored for every account of the scope in one SQL statement
(`db.queries.worklist.rank_worklist`):

    score = (undisputed overdue × age factor + pre-due amount × pre-due factor) × amount weight
            × probability of late payment × broken-promise boost × recent-contact penalty

Accounts whose overdue balance is entirely disputed are routed to the disputes section, and accounts with an open
promise not yet due are held back (policy.worklist.hold_back_open_promise); neither is ranked for collection calls.
Only the returned page is explained: its next-best-action and the contribution of every factor are worked out in
Python from a handful of per-page queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from core.dates import day_number
from core.errors import CreditDeskError, forbidden, not_found
from core.money import PositiveMoneyField, quantize
from db.models import CreditStatus, Role
from db.queries.staff import find_staff_user
from db.queries.worklist import (
    ActivitySeen,
    DisputeRow,
    FactsRow,
    LimitRow,
    OrderTotals,
    PageCustomer,
    PromiseRow,
    RankedAccount,
    RankedPage,
    RankingModel,
    WorklistFilter,
    known_currencies,
    live_facts,
    page_credit_limits,
    page_customers,
    page_disputes,
    page_facts,
    page_last_activities,
    page_open_orders,
    page_promises,
    rank_worklist,
    ranked_page,
    ranking_is_current,
    snapshot_is_usable,
)
from tools.context import ToolContext
from tools.exposure import CreditStatusResult, StatusInputs, evaluate_credit_status
from tools.fx import FxConverter, FxRateUsed
from tools.maintenance import snapshot_parameters
from tools.policy import CreditPolicy, DunningLevel, RiskClass, load_policy
from tools.registry import CREDIT_ROLES, tool
from tools.schemas import AsOfDate

# Scoring constants the policy does not (yet) carry; the definitions in every answer state them.
AGE_FACTORS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)  # pre-due amounts, then 1-30 … 120+ days past due (oldest item)
CLASS_PROBABILITY: dict[str, float] = {"A": 0.05, "B": 0.10, "C": 0.20, "D": 0.35, "E": 0.55}
NEUTRAL_PROBABILITY = 0.20  # neither scored nor classed: the moderate-risk (class C) default
RECENT_CONTACT_FACTOR = 0.5
REPEATED_BROKEN_PROMISES = 2  # this many broken in the window → escalate to the credit manager
SIDE_SECTION_CAP = 10
MAX_COLLECTORS = 50

Action = Literal["pre_due_call", "reminder", "call", "final_notice", "escalate", "order_hold", "refer_to_agency"]
ProbabilitySource = Literal["scored", "risk_class", "neutral"]
FINAL_NOTICE_LEVEL = 3
SHARE_PLACES = Decimal("0.1")
FACTOR_PLACES = Decimal("0.0001")


# --- input ----------------------------------------------------------------------------------------------------------


class WorklistInput(BaseModel):
    collector: str | None = Field(
        default=None, description="A collector's book (staff name). Collectors always get their own."
    )
    collectors: list[str] | None = Field(
        default=None, max_length=MAX_COLLECTORS, description="Several collectors' books."
    )
    as_of: AsOfDate = None
    region: str | None = Field(default=None, max_length=50, description="A customer region.")
    min_amount: PositiveMoneyField | None = Field(
        default=None,
        description="Only accounts with at least this much undisputed overdue, in the reporting currency "
        "(disputed overdue for the disputes section).",
    )
    risk_class: RiskClass | None = Field(default=None, description="Only this risk class.")
    risk_classes: list[RiskClass] | None = Field(default=None, description="Only these risk classes.")
    page: int = Field(default=1, ge=1, le=100_000, description="1-based page of the ranked list.")
    page_size: int = Field(default=20, ge=1, le=100, description="Ranked accounts per page (max 100).")

    @model_validator(mode="after")
    def _one_scope(self) -> WorklistInput:
        if self.collector is not None and self.collectors:
            raise ValueError("give either collector or collectors, not both")
        return self

    def wanted_collectors(self) -> list[str] | None:
        names = [self.collector] if self.collector is not None else self.collectors
        if not names:
            return None
        return list(dict.fromkeys(name.strip() for name in names if name.strip()))

    def wanted_classes(self) -> list[str] | None:
        classes = [*(self.risk_classes or []), *([self.risk_class] if self.risk_class else [])]
        return sorted(set(classes)) if classes else None


# --- output ---------------------------------------------------------------------------------------------------------


class WorklistScope(BaseModel):
    kind: Literal["collector", "team", "everyone"]
    collectors: list[str] = Field(description="Collectors whose books are included; empty for everyone.")
    own_book_only: bool = Field(description="True when the caller is a collector (they only ever see their book).")


class WorklistFilters(BaseModel):
    region: str | None
    min_amount: Decimal | None = Field(description="In the reporting currency.")
    risk_classes: list[str] | None


class WorklistCustomer(BaseModel):
    id: int
    external_id: str
    name: str
    collector: str | None
    region: str | None
    currency: str
    risk_class: str | None
    late_probability: float | None = Field(description="From the scoring batch; None when not scored.")
    credit_status: str = Field(description="OK / Watch / Hold / Stop by the policy ladder at the as-of date.")
    credit_status_rule: str = Field(description="The ladder rule that decided the status.")
    stored_credit_status: str = Field(description="Status set by credit management (sticky Hold/Stop).")


class AmountAtRisk(BaseModel):
    currency: str = Field(description="The customer's currency.")
    undisputed_overdue: Decimal = Field(description="Undisputed items past due, net of overdue credit notes.")
    falling_due_soon: Decimal = Field(description="Undisputed amount falling due within imminent_due_days.")
    pre_due_counted: Decimal = Field(
        description="The part of falling_due_soon in the score (high-risk classes with a large amount only)."
    )
    total: Decimal = Field(description="undisputed_overdue + pre_due_counted")
    disputed_overdue: Decimal
    reporting_currency: str
    undisputed_overdue_reporting: Decimal
    pre_due_counted_reporting: Decimal
    total_reporting: Decimal
    disputed_overdue_reporting: Decimal


class AgeingLine(BaseModel):
    label: str = Field(description="current, 1-30, 31-60, 61-90, 91-120 or 120+ days past due")
    undisputed: Decimal
    disputed: Decimal


class PromiseLine(BaseModel):
    promise_id: int
    amount: Decimal
    currency: str
    promised_date: date


class PromiseStanding(BaseModel):
    open: list[PromiseLine] = Field(description="Promises open at the end of the as-of date.")
    broken_last_90_days: int


class ContactSeen(BaseModel):
    on: date
    kind: str
    days_ago: int


class LetterSeen(BaseModel):
    on: date
    level: int | None
    days_ago: int


class NextBestAction(BaseModel):
    action: Action
    reason: str = Field(description="One line: why this action, from the facts and the policy.")
    dunning_level: int | None = Field(default=None, description="The letter's level for reminder / final_notice.")
    level_name: str | None = None
    needs_role: str | None = Field(
        default=None, description="The least role that may carry it out per policy.authority; None: any collector."
    )


FactorName = Literal["amount", "age", "probability", "amount_weight", "broken_promise", "recent_contact"]


class ScoreFactor(BaseModel):
    factor: FactorName
    value: Decimal = Field(
        description="The factor's multiplier in the score; for the amount, the amount at risk relative to the "
        "policy's large amount (imminent_due_min_amount)."
    )
    applies: bool
    effect: Literal["raises", "lowers", "neutral"]
    share_pct: Decimal = Field(description="Share of the row's score drivers: |ln value| / Σ |ln value| × 100.")
    detail: str


class RankExplanation(BaseModel):
    formula: str = Field(description="The row's score as the product of its factors, with their values.")
    factors: list[ScoreFactor]
    summary: str = Field(description="Why the account ranks where it does, in words.")


class WorklistRow(BaseModel):
    rank: int = Field(description="1-based position in the whole ranked list (not just this page).")
    customer: WorklistCustomer
    amount_at_risk: AmountAtRisk
    oldest_days_past_due: int | None = Field(description="Oldest undisputed overdue item; None when none is overdue.")
    ageing: list[AgeingLine] = Field(description="Open amounts by days past due, in the customer's currency.")
    promises: PromiseStanding
    last_contact: ContactSeen | None = Field(
        description="Last call, e-mail, letter, dunning letter, SMS or visit (notes excluded)."
    )
    last_letter: LetterSeen | None = Field(description="Last dunning letter sent, with its level.")
    score: Decimal = Field(description="Expected value of the next action, in the reporting currency.")
    probability_source: ProbabilitySource = Field(
        description="scored: the customer's late_probability; risk_class: the class default; neutral: neither."
    )
    next_best_action: NextBestAction
    why: RankExplanation = Field(description="Why the account ranks where it does: the factors of its score.")


class HeldBackRow(BaseModel):
    customer: WorklistCustomer
    undisputed_overdue_reporting: Decimal
    score_if_ranked: Decimal = Field(description="The score the account would have had in the ranked list.")
    promise: PromiseLine | None = Field(description="The open promise not yet due (the earliest, if several).")
    reason: str


class DisputeRoutedRow(BaseModel):
    customer: WorklistCustomer
    disputed_overdue_reporting: Decimal
    active_disputes: int
    oldest_dispute_opened: date | None
    oldest_dispute_days: int | None
    escalation_due: bool = Field(description="The oldest active dispute is older than disputes.escalate_after_days.")
    reason: str


class HeldBackSection(BaseModel):
    total: int
    shown: int = Field(description=f"At most {SIDE_SECTION_CAP}, highest score first.")
    rows: list[HeldBackRow]


class DisputesSection(BaseModel):
    total: int
    shown: int = Field(description=f"At most {SIDE_SECTION_CAP}, largest disputed overdue first.")
    rows: list[DisputeRoutedRow]


class PageInfo(BaseModel):
    page: int
    page_size: int
    total_pages: int
    first_rank: int | None = Field(description="Rank of the page's first row; None when the page is empty.")
    last_rank: int | None
    has_next: bool


class Worklist(BaseModel):
    scope: WorklistScope
    as_of: date
    reporting_currency: str
    filters: WorklistFilters = Field(description="The filters applied, echoed.")
    total_ranked: int = Field(description="Accounts in the ranked list (all pages; side sections excluded).")
    page: PageInfo
    rows: list[WorklistRow] = Field(description="This page of the ranked list, highest score first.")
    held_back: HeldBackSection = Field(description="Accounts not ranked because an open promise is not yet due.")
    routed_to_disputes: DisputesSection = Field(description="Accounts whose overdue balance is entirely disputed.")
    facts_source: Literal["snapshot", "live"] = Field(description="Receivables facts from a current snapshot or live.")
    ranking_source: Literal["materialised", "live"] = Field(
        description="materialised: the order and scores read from the ranking built for the as-of date, all of "
        "whose inputs are unchanged since; live: ranked by this call."
    )
    fx_rates: list[FxRateUsed] = Field(description="Rates into the reporting currency used for amounts and scores.")
    warnings: list[str]
    definitions: list[str] = Field(description="The scoring formula, routing and next-best-action rules, in words.")
    policy_version: str


# --- scope ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedScope:
    scope: WorklistScope
    collector_ids: list[int] | None


def resolve_scope(session: Session, ctx: ToolContext, names: list[str] | None) -> ResolvedScope:
    """A collector always gets exactly their own book; others may ask for anyone's, a team's, or everyone's."""
    own = ctx.book_collector_id
    resolved: list[tuple[int, str]] = []
    for name in names or []:
        user = find_staff_user(session, name)
        if user is None:
            raise not_found(f"no active staff user named {name!r}")
        resolved.append((user.id, user.name))
    if own is not None:
        others = [label for user_id, label in resolved if user_id != own]
        if others:
            raise forbidden(
                f"collectors see only their own book; {', '.join(others)}'s accounts are not yours to list",
                requested=others,
            )
        scope = WorklistScope(kind="collector", collectors=[ctx.actor.name], own_book_only=True)
        return ResolvedScope(scope, [own])
    if not resolved:
        return ResolvedScope(WorklistScope(kind="everyone", collectors=[], own_book_only=False), None)
    kind: Literal["collector", "team"] = "collector" if len(resolved) == 1 else "team"
    scope = WorklistScope(kind=kind, collectors=[label for _, label in resolved], own_book_only=False)
    return ResolvedScope(scope, [user_id for user_id, _ in resolved])


# --- the ranking model --------------------------------------------------------------------------------------------


def reporting_rates(session: Session, fx: FxConverter) -> dict[str, float]:
    """A rate for every currency the rate table can convert into the reporting currency (as-of date)."""
    rates = {fx.to_currency: 1.0}
    for currency in known_currencies(session):
        try:
            rates[currency] = float(fx.rate(currency).rate)
        except CreditDeskError:
            continue
    return rates


def current_ranking_model(
    session: Session, as_of: date, reporting: str, policy: CreditPolicy | None = None
) -> tuple[RankingModel, FxConverter]:
    """The ranking model for `as_of` from the policy and the rates now in the table, with the converter it used."""
    fx = FxConverter(session, reporting, as_of)
    return ranking_model(policy or load_policy(), as_of, reporting, reporting_rates(session, fx)), fx


def ranking_model(policy: CreditPolicy, as_of: date, reporting: str, rates: dict[str, float]) -> RankingModel:
    worklist = policy.worklist
    return RankingModel(
        as_of=as_of,
        reporting_currency=reporting,
        rates=rates,
        amount_weight=float(worklist.amount_weight),
        age_factors=AGE_FACTORS,
        bucket_upper_bounds=tuple(policy.ageing.bucket_upper_bounds),
        class_probability=CLASS_PROBABILITY,
        neutral_probability=NEUTRAL_PROBABILITY,
        broken_promise_boost=float(worklist.broken_promise_boost),
        recent_contact_days=worklist.recent_contact_days,
        recent_contact_factor=RECENT_CONTACT_FACTOR,
        pre_due_classes=tuple(worklist.pre_due_risk_classes),
        pre_due_min_cents=float(worklist.imminent_due_min_amount * 100),
        hold_back_open_promise=worklist.hold_back_open_promise,
    )


# --- one page: facts per account -------------------------------------------------------------------------------------


@dataclass
class AccountFacts:
    """What the page reads about one account beyond its ranking row."""

    customer: PageCustomer
    rows: list[FactsRow] = field(default_factory=list)
    letter: ActivitySeen | None = None
    contact: ActivitySeen | None = None
    promises: list[PromiseRow] = field(default_factory=list)
    disputes: list[DisputeRow] = field(default_factory=list)
    orders: list[OrderTotals] = field(default_factory=list)
    limit: LimitRow | None = None


def load_accounts(
    session: Session, as_of: date, ids: list[int], live: Subquery | None, *, orders: bool
) -> dict[int, AccountFacts]:
    """Side facts of one page of accounts: a few set-based queries over at most a few hundred customers."""
    accounts = {customer.id: AccountFacts(customer) for customer in page_customers(session, ids)}
    for row in page_facts(session, as_of, ids, live):
        accounts[row.customer_id].rows.append(row)
    for last in page_last_activities(session, ids, as_of):
        accounts[last.customer_id].letter = last.letter
        accounts[last.customer_id].contact = last.contact
    for promise in page_promises(session, ids, as_of):
        accounts[promise.customer_id].promises.append(promise)
    for dispute in page_disputes(session, ids, as_of):
        accounts[dispute.customer_id].disputes.append(dispute)
    if orders:
        for totals in page_open_orders(session, ids):
            accounts[totals.customer_id].orders.append(totals)
    for limit in page_credit_limits(session, ids, as_of):
        accounts[limit.customer_id].limit = limit
    return accounts


class Money:
    """Conversions for the page: exact decimals at the as-of rates; a missing rate becomes a warning, not a failure."""

    def __init__(self, fx: FxConverter, warnings: list[str]) -> None:
        self.fx = fx
        self.warnings = warnings

    def between(self, amount: Decimal, source: str, target: str) -> Decimal:
        try:
            return self.fx.convert_between(amount, source, target)
        except CreditDeskError as error:
            return self._missing(error)

    def reporting(self, amount: Decimal, source: str) -> Decimal:
        try:
            return self.fx.convert(amount, source)
        except CreditDeskError as error:
            return self._missing(error)

    def _missing(self, error: CreditDeskError) -> Decimal:
        text = f"{error.message}; those amounts count as 0."
        if text not in self.warnings:
            self.warnings.append(text)
        return Decimal("0.00")


@dataclass(frozen=True)
class AccountView:
    """An account's figures in its own currency (and the reporting one), with its credit status."""

    undisputed: list[Decimal]  # b0..b5
    disputed: list[Decimal]
    due_soon: Decimal
    overdue_reporting: Decimal
    disputed_reporting: Decimal
    due_soon_reporting: Decimal
    oldest_dpd: int | None
    status: CreditStatusResult
    unheld_orders: int
    unheld_amount: Decimal

    @property
    def overdue(self) -> Decimal:
        return quantize(sum(self.undisputed[1:], Decimal(0)))

    @property
    def disputed_overdue(self) -> Decimal:
        return quantize(sum(self.disputed[1:], Decimal(0)))


def account_view(policy: CreditPolicy, money: Money, account: AccountFacts, as_of: date, orders: bool) -> AccountView:
    customer = account.customer
    currency = customer.currency
    undisputed = [Decimal("0.00")] * len(AGE_FACTORS)
    disputed = [Decimal("0.00")] * len(AGE_FACTORS)
    open_total = due_soon = Decimal("0.00")
    overdue_rep = disputed_rep = due_soon_rep = Decimal("0.00")
    for row in account.rows:
        for index in range(len(AGE_FACTORS)):
            undisputed[index] += money.between(row.undisputed[index], row.currency, currency)
            disputed[index] += money.between(row.disputed[index], row.currency, currency)
        open_total += money.between(row.open_total, row.currency, currency)
        due_soon += money.between(row.due_soon, row.currency, currency)
        overdue_rep += money.reporting(sum(row.undisputed[1:], Decimal(0)), row.currency)
        disputed_rep += money.reporting(sum(row.disputed[1:], Decimal(0)), row.currency)
        due_soon_rep += money.reporting(row.due_soon, row.currency)
    oldest = [row.oldest_undisputed_due_dn for row in account.rows if row.oldest_undisputed_due_dn is not None]
    oldest_dpd = day_number(as_of) - min(oldest) if oldest else None
    order_value = sum((money.between(o.open_amount, o.currency, currency) for o in account.orders), Decimal(0))
    unheld = sum((money.between(o.unheld_amount, o.currency, currency) for o in account.orders), Decimal(0))
    exposure = open_total if policy.exposure.include_disputed_items else open_total - sum(disputed, Decimal(0))
    if orders and policy.exposure.include_open_orders:
        exposure += order_value
    status = _status(policy, money, account, as_of, exposure, undisputed, oldest_dpd, overdue_rep)
    return AccountView(
        undisputed=undisputed,
        disputed=disputed,
        due_soon=due_soon,
        overdue_reporting=overdue_rep,
        disputed_reporting=disputed_rep,
        due_soon_reporting=due_soon_rep,
        oldest_dpd=oldest_dpd,
        status=status,
        unheld_orders=sum(o.unheld_orders for o in account.orders),
        unheld_amount=quantize(unheld),
    )


def _status(
    policy: CreditPolicy,
    money: Money,
    account: AccountFacts,
    as_of: date,
    exposure: Decimal,
    undisputed: list[Decimal],
    oldest_dpd: int | None,
    overdue_reporting: Decimal,
) -> CreditStatusResult:
    """The exposure tool's status ladder, fed from the snapshot facts instead of the open items."""
    customer, limit = account.customer, account.limit
    limit_amount = money.between(limit.amount, limit.currency, customer.currency) if limit is not None else None
    has_limit = limit_amount is not None and limit_amount > 0
    utilisation = (exposure * 100 / limit_amount).quantize(SHARE_PLACES) if has_limit and limit_amount else None
    return evaluate_credit_status(
        policy,
        StatusInputs(
            stored=customer.credit_status,
            stored_reason=customer.credit_status_reason,
            utilisation_pct=utilisation,
            total_exposure=quantize(exposure),
            has_limit=has_limit,
            oldest_undisputed_dpd=oldest_dpd,
            undisputed_open=quantize(sum(undisputed, Decimal(0))),
            undisputed_overdue=quantize(sum(undisputed[1:], Decimal(0))),
            undisputed_overdue_reporting=overdue_reporting,
            review_overdue=limit is not None and limit.review_date is not None and limit.review_date < as_of,
        ),
    )


# --- next-best-action ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    """Everything the next-best-action rules look at for one ranked account."""

    policy: CreditPolicy
    as_of: date
    ranked: RankedAccount
    account: AccountFacts
    view: AccountView


def next_best_action(situation: Situation) -> NextBestAction:
    """The first rule that applies, most protective first: hold orders, agency, escalation, pre-due call, chase a
    lapsed promise, then the dunning ladder (a letter when one is due and allowed, else a call)."""
    for rule in (_order_hold, _agency, _escalation, _pre_due, _promise):
        action = rule(situation)
        if action is not None:
            return action
    return _dunning(situation)


def _money_text(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount:,.2f}"


def _order_hold(s: Situation) -> NextBestAction | None:
    status = s.view.status
    if not s.view.unheld_orders or status.status not in (CreditStatus.HOLD.value, CreditStatus.STOP.value):
        return None
    orders = _money_text(s.account.customer.currency, s.view.unheld_amount)
    return NextBestAction(
        action="order_hold",
        reason=f"Status {status.status} ({status.explanation}) but {s.view.unheld_orders} open order(s) worth "
        f"{orders} are not on hold: hold them before more goods ship.",
        needs_role=s.policy.authority.order_hold.value,
    )


def _agency(s: Situation) -> NextBestAction | None:
    days = s.policy.dunning.agency_referral_days
    if s.view.oldest_dpd is None or s.view.oldest_dpd <= days:
        return None
    return NextBestAction(
        action="refer_to_agency",
        reason=f"The oldest undisputed item is {s.view.oldest_dpd} days past due, beyond the {days} days after "
        "which policy refers unresolved debt to a collection agency.",
        needs_role=Role.CREDIT_MANAGER.value,
    )


def _escalation(s: Situation) -> NextBestAction | None:
    broken = sum(1 for promise in s.account.promises if promise.broken_recently)
    if broken >= REPEATED_BROKEN_PROMISES:
        return NextBestAction(
            action="escalate",
            reason=f"{broken} promises to pay broken in the last 90 days: repeated broken promises go to the "
            "credit manager.",
            needs_role=Role.CREDIT_MANAGER.value,
        )
    limit = s.policy.disputes.escalate_after_days
    stale = [d for d in s.account.disputes if (s.as_of - d.opened_at.date()).days > limit]
    if not stale:
        return None
    oldest = stale[0]
    return NextBestAction(
        action="escalate",
        reason=f"Dispute #{oldest.dispute_id} ({_money_text(oldest.currency, oldest.amount)}) has been open "
        f"{(s.as_of - oldest.opened_at.date()).days} days, beyond the {limit}-day escalation threshold: take it to "
        "the credit manager.",
        needs_role=Role.CREDIT_MANAGER.value,
    )


def _pre_due(s: Situation) -> NextBestAction | None:
    if s.ranked.overdue_cents > 0:
        return None
    customer = s.account.customer
    return NextBestAction(
        action="pre_due_call",
        reason=f"{_money_text(customer.currency, s.view.due_soon)} falls due within "
        f"{s.policy.worklist.imminent_due_days} days on a class {customer.risk_class} account with nothing "
        "overdue: call before it is late.",
        needs_role=s.policy.authority.dunning_send.value,
    )


def _promise(s: Situation) -> NextBestAction | None:
    open_promises = [p for p in s.account.promises if p.open]
    if not open_promises:
        return None
    promise = open_promises[0]
    promised = f"Promise #{promise.promise_id} to pay {_money_text(promise.currency, promise.amount)} by "
    if promise.promised_date < s.as_of:
        reason = f"{promised}{promise.promised_date} is still open past its date: call to chase it."
    elif s.policy.dunning.promise_open == "suppress":
        reason = f"{promised}{promise.promised_date} is open and policy suppresses letters meanwhile: call to confirm."
    else:
        return None
    return NextBestAction(action="call", reason=reason, needs_role=s.policy.authority.dunning_send.value)


def _dunning(s: Situation) -> NextBestAction:
    dunning = s.policy.dunning
    dpd = s.view.oldest_dpd or 1
    level = dunning.level_for(dpd) or dunning.levels[-1]
    letter = s.account.letter
    collector = s.policy.authority.dunning_send.value
    if letter is not None:
        sent_on = letter.performed_at.date()
        days = (s.as_of - sent_on).days
        label = f"level {letter.dunning_level} letter" if letter.dunning_level is not None else "dunning letter"
        if days < dunning.min_days_between_letters:
            return NextBestAction(
                action="call",
                reason=f"A {label} went out {days} day(s) ago ({sent_on}) and letters are at least "
                f"{dunning.min_days_between_letters} days apart: call instead.",
                needs_role=collector,
            )
        if letter.dunning_level is not None and letter.dunning_level >= level.level:
            name = dunning.levels[min(letter.dunning_level, len(dunning.levels) - 1)].name
            return NextBestAction(
                action="call",
                reason=f"The {label} ({name}) already went out on {sent_on}: follow it up by phone.",
                needs_role=collector,
            )
    return _letter(s.policy, level, dpd, s.account)


def _letter(policy: CreditPolicy, level: DunningLevel, dpd: int, account: AccountFacts) -> NextBestAction:
    soften = any(p.open for p in account.promises) and policy.dunning.promise_open == "soften"
    suffix = " (soften the tone: a promise is open)" if soften else ""
    role = policy.authority.dunning_final_notice if level.tone == "final" else policy.authority.dunning_send
    action: Action = "final_notice" if level.level >= FINAL_NOTICE_LEVEL else "reminder"
    return NextBestAction(
        action=action,
        reason=f"The oldest undisputed item is {dpd} days past due: the level {level.level} {level.name} is due "
        f"and not yet sent{suffix}.",
        dunning_level=level.level,
        level_name=level.name,
        needs_role=role.value,
    )


# --- why it ranks where it does -----------------------------------------------------------------------------------


def _factor(value: float) -> Decimal:
    return Decimal(repr(round(value, 4))).quantize(FACTOR_PLACES)


def _effect(value: float) -> Literal["raises", "lowers", "neutral"]:
    if math.isclose(value, 1.0):
        return "neutral"
    return "raises" if value > 1 else "lowers"


def _probability_text(ranked: RankedAccount, risk_class: str | None) -> str:
    p = f"{ranked.probability:.4g}"
    if ranked.probability_source == "scored":
        return f"late-payment probability {p} from the scoring batch"
    if ranked.probability_source == "risk_class":
        return f"late-payment probability {p}: the class {risk_class} default (not scored)"
    return f"late-payment probability {p}: the neutral default (neither scored nor classed)"


def _age_text(policy: CreditPolicy, ranked: RankedAccount, view: AccountView) -> str:
    if ranked.overdue_cents <= 0:
        return f"nothing overdue: the pre-due amount is weighted {AGE_FACTORS[0]}"
    labels = policy.ageing.bucket_labels()
    index = AGE_FACTORS.index(ranked.age_factor) if ranked.age_factor in AGE_FACTORS else None
    bucket = f" ({labels[index]} days)" if index is not None else ""
    text = f"oldest undisputed item {view.oldest_dpd} days past due{bucket}: factor {ranked.age_factor}"
    if ranked.pre_due_cents > 0:
        text += f"; the pre-due amount is weighted {AGE_FACTORS[0]}"
    return text


@dataclass(frozen=True)
class _Part:
    name: FactorName
    value: float  # the factor's multiplier (the amount: relative to the policy's large amount)
    applies: bool
    detail: str


def _parts(
    policy: CreditPolicy, ranked: RankedAccount, reporting: str, risk_class: str | None, view: AccountView
) -> list[_Part]:
    w = policy.worklist
    at_risk = (ranked.overdue_cents + ranked.pre_due_cents) / 100
    weighted = (ranked.overdue_cents * ranked.age_factor + ranked.pre_due_cents * AGE_FACTORS[0]) / 100
    reference = float(w.imminent_due_min_amount)
    boost, weight, days = float(w.broken_promise_boost), float(w.amount_weight), w.recent_contact_days
    pre_due = f" + {reporting} {ranked.pre_due_cents / 100:,.2f} falling due soon" if ranked.pre_due_cents else ""
    broken, recent = ranked.broken_promise, ranked.recent_contact
    return [
        _Part(
            "amount",
            at_risk / reference,
            True,
            f"{reporting} {ranked.overdue_cents / 100:,.2f} undisputed overdue{pre_due}: {at_risk / reference:.2f}× "
            f"the policy's large amount of {reporting} {reference:,.0f}",
        ),
        _Part("age", weighted / at_risk if at_risk else 1.0, True, _age_text(policy, ranked, view)),
        _Part("probability", ranked.probability, True, _probability_text(ranked, risk_class)),
        _Part("amount_weight", weight, not math.isclose(weight, 1.0), f"policy amount weight {weight}"),
        _Part(
            "broken_promise",
            boost if broken else 1.0,
            broken,
            f"a promise broken in the last 90 days: boost ×{boost}" if broken else "no promise broken in 90 days",
        ),
        _Part(
            "recent_contact",
            RECENT_CONTACT_FACTOR if recent else 1.0,
            recent,
            f"contacted in the last {days} days: ×{RECENT_CONTACT_FACTOR}"
            if recent
            else f"not contacted in the last {days} days",
        ),
    ]


def explain(
    policy: CreditPolicy,
    ranked: RankedAccount,
    rank: int,
    total: int,
    reporting: str,
    account: AccountFacts,
    view: AccountView,
) -> RankExplanation:
    """The score as a product of factors, each with its share of the row's log-magnitude (an order-free split of
    a product: the shares do not depend on which factor is applied first)."""
    parts = _parts(policy, ranked, reporting, account.customer.risk_class, view)
    weights = [abs(math.log(part.value)) if part.value > 0 else 0.0 for part in parts]
    whole = sum(weights) or 1.0
    factors = [
        ScoreFactor(
            factor=part.name,
            value=_factor(part.value),
            applies=part.applies,
            effect=_effect(part.value),
            share_pct=Decimal(repr(100 * weight / whole)).quantize(SHARE_PLACES),
            detail=part.detail,
        )
        for part, weight in zip(parts, weights, strict=True)
    ]
    score = ranked.score_cents / 100
    at_risk = (ranked.overdue_cents + ranked.pre_due_cents) / 100
    shown = [f"{reporting} {at_risk:,.2f} at risk", f"age {parts[1].value:.4g}", f"probability {parts[2].value:.4g}"]
    shown += [f"{part.name.replace('_', ' ')} {part.value:g}" for part in parts[3:] if part.applies]
    drivers = sorted((f for f in factors if f.effect != "neutral"), key=lambda f: f.share_pct, reverse=True)
    driver_text = ", ".join(f"{f.factor.replace('_', ' ')} {f.share_pct}% ({f.effect} it)" for f in drivers)
    return RankExplanation(
        formula=f"score {score:,.2f} = " + " × ".join(shown),
        factors=factors,
        summary=f"Ranked {rank} of {total} by expected value of the next action ({reporting} {score:,.2f}). "
        f"Drivers by share: {driver_text}.",
    )


# --- assembling the answer ----------------------------------------------------------------------------------------


def _customer(account: AccountFacts, view: AccountView) -> WorklistCustomer:
    customer = account.customer
    return WorklistCustomer(
        id=customer.id,
        external_id=customer.external_id,
        name=customer.name,
        collector=customer.collector,
        region=customer.region,
        currency=customer.currency,
        risk_class=customer.risk_class,
        late_probability=customer.late_probability,
        credit_status=view.status.status,
        credit_status_rule=view.status.rule,
        stored_credit_status=customer.credit_status.value,
    )


def _ageing(policy: CreditPolicy, view: AccountView) -> list[AgeingLine]:
    return [
        AgeingLine(label=label, undisputed=quantize(view.undisputed[i]), disputed=quantize(view.disputed[i]))
        for i, label in enumerate(policy.ageing.bucket_labels())
    ]


def _promise_line(promise: PromiseRow) -> PromiseLine:
    return PromiseLine(
        promise_id=promise.promise_id,
        amount=promise.amount,
        currency=promise.currency,
        promised_date=promise.promised_date,
    )


def _seen(activity: ActivitySeen | None, as_of: date) -> tuple[date, int] | None:
    if activity is None:
        return None
    on = activity.performed_at.date()
    return on, (as_of - on).days


def _amount_at_risk(ranked: RankedAccount, account: AccountFacts, view: AccountView, reporting: str) -> AmountAtRisk:
    counted = ranked.pre_due_cents > 0
    pre_due = view.due_soon if counted else Decimal("0.00")
    pre_due_rep = view.due_soon_reporting if counted else Decimal("0.00")
    overdue = max(view.overdue, Decimal("0.00"))
    overdue_rep = max(view.overdue_reporting, Decimal("0.00"))
    return AmountAtRisk(
        currency=account.customer.currency,
        undisputed_overdue=overdue,
        falling_due_soon=quantize(view.due_soon),
        pre_due_counted=quantize(pre_due),
        total=quantize(overdue + pre_due),
        disputed_overdue=view.disputed_overdue,
        reporting_currency=reporting,
        undisputed_overdue_reporting=quantize(overdue_rep),
        pre_due_counted_reporting=quantize(pre_due_rep),
        total_reporting=quantize(overdue_rep + pre_due_rep),
        disputed_overdue_reporting=quantize(view.disputed_reporting),
    )


def _score(cents: float) -> Decimal:
    return quantize(Decimal(repr(cents)) / 100)


@dataclass(frozen=True)
class Assembly:
    policy: CreditPolicy
    as_of: date
    reporting: str
    accounts: dict[int, AccountFacts]
    views: dict[int, AccountView]


def ranked_row(job: Assembly, ranked: RankedAccount, rank: int, total: int) -> WorklistRow:
    account, view = job.accounts[ranked.customer_id], job.views[ranked.customer_id]
    contact, letter = _seen(account.contact, job.as_of), _seen(account.letter, job.as_of)
    return WorklistRow(
        rank=rank,
        customer=_customer(account, view),
        amount_at_risk=_amount_at_risk(ranked, account, view, job.reporting),
        oldest_days_past_due=view.oldest_dpd,
        ageing=_ageing(job.policy, view),
        promises=PromiseStanding(
            open=[_promise_line(p) for p in account.promises if p.open],
            broken_last_90_days=sum(1 for p in account.promises if p.broken_recently),
        ),
        last_contact=ContactSeen(on=contact[0], kind=account.contact.kind.value, days_ago=contact[1])
        if contact and account.contact
        else None,
        last_letter=LetterSeen(on=letter[0], level=account.letter.dunning_level, days_ago=letter[1])
        if letter and account.letter
        else None,
        score=_score(ranked.score_cents),
        probability_source=ranked.probability_source,
        next_best_action=next_best_action(Situation(job.policy, job.as_of, ranked, account, view)),
        why=explain(job.policy, ranked, rank, total, job.reporting, account, view),
    )


def held_back_row(job: Assembly, ranked: RankedAccount) -> HeldBackRow:
    account, view = job.accounts[ranked.customer_id], job.views[ranked.customer_id]
    waiting = [_promise_line(p) for p in account.promises if p.open and p.promised_date >= job.as_of]
    promise = waiting[0] if waiting else None
    reason = (
        f"Open promise #{promise.promise_id} to pay {_money_text(promise.currency, promise.amount)} by "
        f"{promise.promised_date} is not yet due: policy holds the account back until then."
        if promise is not None
        else "An open promise not yet due holds the account back (it changed while the page was read)."
    )
    return HeldBackRow(
        customer=_customer(account, view),
        undisputed_overdue_reporting=quantize(max(view.overdue_reporting, Decimal(0))),
        score_if_ranked=_score(ranked.score_cents),
        promise=promise,
        reason=reason,
    )


def dispute_row(job: Assembly, ranked: RankedAccount) -> DisputeRoutedRow:
    account, view = job.accounts[ranked.customer_id], job.views[ranked.customer_id]
    opened = min((d.opened_at.date() for d in account.disputes), default=None)
    days = (job.as_of - opened).days if opened is not None else None
    limit = job.policy.disputes.escalate_after_days
    escalation_due = days is not None and days > limit
    escalate = f"; the oldest has been open {days} days, beyond {limit}: escalate it" if escalation_due else ""
    return DisputeRoutedRow(
        customer=_customer(account, view),
        disputed_overdue_reporting=quantize(view.disputed_reporting),
        active_disputes=len(account.disputes),
        oldest_dispute_opened=opened,
        oldest_dispute_days=days,
        escalation_due=escalation_due,
        reason=f"Everything overdue is disputed ({len(account.disputes)} active dispute(s)): work it in the "
        f"disputes queue, not by collection calls{escalate}.",
    )


def _definitions(policy: CreditPolicy, reporting: str) -> list[str]:
    w = policy.worklist
    labels = policy.ageing.bucket_labels()
    ages = ", ".join(f"{label} {factor}" for label, factor in zip(labels[1:], AGE_FACTORS[1:], strict=True))
    classes = ", ".join(f"{code} {value}" for code, value in CLASS_PROBABILITY.items())
    return [
        "Score = expected value of the next action = (undisputed overdue × age factor + pre-due amount × "
        f"{AGE_FACTORS[0]}) × amount weight {w.amount_weight} × probability of late payment × broken-promise boost "
        f"× recent-contact penalty, in {reporting}.",
        "Undisputed overdue: open items past due and not under an active dispute at the end of the as-of date, net "
        f"of overdue credit notes, converted to {reporting} at the latest rate on or before the as-of date.",
        f"Age factor by the oldest undisputed overdue item (days past due): {ages}.",
        f"Pre-due amount: undisputed items falling due within {w.imminent_due_days} days, counted only for risk "
        f"classes {', '.join(w.pre_due_risk_classes)} when at least {reporting} {w.imminent_due_min_amount}; such "
        "accounts enter the list even with nothing overdue.",
        "Probability: the customer's late_probability from the scoring batch (P(paid > "
        f"{policy.payment_model.late_threshold_days} days late)); when not scored, the risk-class default "
        f"({classes}); with neither, the neutral default {NEUTRAL_PROBABILITY}.",
        f"Broken-promise boost ×{w.broken_promise_boost}: a promise broken by the as-of date with a promised date "
        f"in the last 90 days. Recent-contact penalty ×{RECENT_CONTACT_FACTOR}: a call, e-mail, letter, dunning "
        f"letter, SMS or visit (not a note) on the as-of date or the {w.recent_contact_days - 1} days before it.",
        "Routing: accounts whose overdue balance is entirely disputed go to routed_to_disputes; accounts with a "
        "promise open at the as-of date and promised on or after it go to held_back"
        + (" (policy.worklist.hold_back_open_promise)." if w.hold_back_open_promise else " (disabled by policy)."),
        "Order: score descending, then customer id. Factor shares: |ln factor| / Σ |ln factor| of the row, the amount "
        f"taken relative to the policy's large amount ({reporting} {w.imminent_due_min_amount}).",
        "Next-best-action, first rule that applies: order_hold (status Hold/Stop by the policy ladder and open "
        f"orders not on hold); refer_to_agency (oldest undisputed > {policy.dunning.agency_referral_days} days); "
        f"escalate ({REPEATED_BROKEN_PROMISES}+ promises broken in 90 days, or a dispute open > "
        f"{policy.disputes.escalate_after_days} days); pre_due_call (nothing overdue); call (an open promise past "
        f"its date, a letter sent within {policy.dunning.min_days_between_letters} days, or the due level already "
        f"sent); else the dunning level due by the oldest item: final_notice from level {FINAL_NOTICE_LEVEL}, "
        "reminder below.",
        "Credit status: the exposure tool's ladder evaluated from the receivables facts, today's open orders and "
        "the limit in force at the as-of date. Agency referrals and escalations are for the credit manager.",
    ]


def _warnings(page: RankedPage, requested: int, total_pages: int, reporting: str) -> list[str]:
    warnings = []
    if page.unconverted_accounts:
        warnings.append(
            f"{page.unconverted_accounts} account(s) hold amounts in a currency without a rate to {reporting} at the "
            "as-of date; those amounts are left out of their scores."
        )
    if total_pages and requested > total_pages:
        warnings.append(f"Page {requested} is past the last page ({total_pages}).")
    return warnings


def _assemble(
    session: Session, ctx: ToolContext, policy: CreditPolicy, page: RankedPage, money: Money, *, live: bool
) -> Assembly:
    """Read the side facts of the page's accounts (ranked rows and both side sections) and derive their figures."""
    as_of = money.fx.on
    ids = sorted({r.customer_id for r in (*page.ranked, *page.held_back, *page.disputes)})
    orders = as_of >= ctx.today  # the order book is only known for today
    accounts: dict[int, AccountFacts] = {}
    if ids:
        page_live = live_facts(session, as_of, snapshot_parameters(), customer_ids=ids) if live else None
        accounts = load_accounts(session, as_of, ids, page_live, orders=orders)
    views = {cid: account_view(policy, money, account, as_of, orders) for cid, account in accounts.items()}
    return Assembly(policy, as_of, ctx.reporting_currency, accounts, views)


@tool(name="build_worklist", kind="read", input_model=WorklistInput, output_model=Worklist, roles=CREDIT_ROLES)
def build_worklist(session: Session, ctx: ToolContext, args: WorklistInput) -> Worklist:
    """The prioritised collector worklist: accounts ranked by the expected value of the next action (amount at
    risk × late-payment probability × age × broken-promise boost × recent-contact penalty), each with its
    next-best-action (pre-due call, reminder, call, final notice, escalate, order hold, agency referral) and why it
    ranks where it does; plus accounts held back by an open promise and accounts routed to disputes. For one
    collector, a team, or everyone; filters by region, minimum overdue amount and risk class; paged."""
    policy = load_policy()
    as_of = ctx.resolve_as_of(args.as_of)
    resolved = resolve_scope(session, ctx, args.wanted_collectors())
    model, fx = current_ranking_model(session, as_of, ctx.reporting_currency, policy)
    params = snapshot_parameters()
    classes = args.wanted_classes()
    where = WorklistFilter(
        collector_ids=resolved.collector_ids,
        region=args.region,
        risk_classes=classes,
        min_amount_cents=float(args.min_amount * 100) if args.min_amount is not None else None,
    )
    offset = (args.page - 1) * args.page_size
    materialised = ranking_is_current(session, model, params)
    if materialised:
        from_snapshot = True  # a current ranking implies a current snapshot of its date
        page = ranked_page(session, model, where, offset=offset, limit=args.page_size, side_cap=SIDE_SECTION_CAP)
    else:
        from_snapshot = snapshot_is_usable(session, as_of, params)
        live = None if from_snapshot else live_facts(session, as_of, params, collector_ids=resolved.collector_ids)
        page = rank_worklist(
            session,
            model,
            where,
            live_facts_source=live,
            offset=offset,
            limit=args.page_size,
            side_cap=SIDE_SECTION_CAP,
        )
    warnings: list[str] = []
    job = _assemble(session, ctx, policy, page, Money(fx, warnings), live=not from_snapshot)
    total = page.totals["ranked"]
    total_pages = math.ceil(total / args.page_size)
    return Worklist(
        scope=resolved.scope,
        as_of=as_of,
        reporting_currency=ctx.reporting_currency,
        filters=WorklistFilters(region=args.region, min_amount=args.min_amount, risk_classes=classes),
        total_ranked=total,
        page=PageInfo(
            page=args.page,
            page_size=args.page_size,
            total_pages=total_pages,
            first_rank=offset + 1 if page.ranked else None,
            last_rank=offset + len(page.ranked) if page.ranked else None,
            has_next=offset + args.page_size < total,
        ),
        rows=[ranked_row(job, r, offset + i, total) for i, r in enumerate(page.ranked, start=1)],
        held_back=HeldBackSection(
            total=page.totals["held_back"],
            shown=len(page.held_back),
            rows=[held_back_row(job, r) for r in page.held_back],
        ),
        routed_to_disputes=DisputesSection(
            total=page.totals["disputes"],
            shown=len(page.disputes),
            rows=[dispute_row(job, r) for r in page.disputes],
        ),
        facts_source="snapshot" if from_snapshot else "live",
        ranking_source="materialised" if materialised else "live",
        fx_rates=fx.rates_used(),
        warnings=[*_warnings(page, args.page, total_pages, ctx.reporting_currency), *warnings],
        definitions=_definitions(policy, ctx.reporting_currency),
        policy_version=policy.version,
    )


TOOLS = [build_worklist]
