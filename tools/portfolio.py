"""Portfolio summary: receivables, ageing, open invoices, DSO (simple, count-back), best possible DSO, ADD, CEI,
promise and dispute KPIs, the top customers by a chosen measure (`rank_by`), concentration, the month-end trend and
the DSO change decomposition — for the whole book or a filtered part of it, optionally per group, with every
definition stated.

Amounts are summed per (group, currency) in the database and converted here into the reporting currency at the
as-of date's rates (exactly: sums of `amount × rate`, rounded once at the end). Receivables facts come from the
maintained snapshot when one is current for the as-of date, otherwise from the ledger (`db.queries.portfolio`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.dates import add_months, day_number, end_of_day_utc, month_end, month_start, start_of_day_utc
from core.errors import CreditDeskError, forbidden, invalid_input
from core.money import PercentageField, PositiveMoneyField, quantize, validate_currency
from db.engine import read_session
from db.models import PromiseStatus
from db.models.snapshots import BUCKETS, MONTHS
from db.queries import portfolio as q
from db.queries.customers import customer_table_fingerprint
from db.queries.fx import latest_rates_on
from db.queries.portfolio import GroupBy, GroupKey, RankMeasure, Selection
from db.queries.snapshots import customer_fingerprint, rollup_built_for
from tools.context import ToolContext
from tools.fx import FxConverter, FxRateUsed
from tools.maintenance import snapshot_parameters
from tools.payers import PayerOrder, PayerRanking, rank_payers
from tools.policy import CreditPolicy, load_policy
from tools.portfolio_chart import render_chart
from tools.registry import CREDIT_ROLES, tool

DAYS = Decimal("0.1")
PCT = Decimal("0.1")
HUNDRED = Decimal(100)
TOP_CONCENTRATION = 10
# Candidates fetched beyond the top list: the SQL ranking converts in floating point, the final one exactly.
RANKING_MARGIN = 5
# Customers with balances in several currencies are ranked exactly as extra candidates, up to this many.
MULTI_CURRENCY_CAP = 200
# Pooled threads for independent queries (0 runs them one after the other on the caller's session).
PARALLEL_WORKERS = 2
# Read whole-book totals from the snapshot date's rollup when it is current (tests switch it off to compare).
USE_ROLLUP = True


# --- formulas (domain reference §3) ---------------------------------------------------------------------------------


def _ratio_days(part: Decimal, sales: Decimal, days: int) -> Decimal | None:
    return (part / sales * days).quantize(DAYS) if sales > 0 else None


def dso_simple(ar_end: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """DSO = AR_end / S × D; None when there were no (net) sales."""
    return _ratio_days(ar_end, sales, days)


def best_possible_dso(ar_current: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """BPDSO = AR_current / S × D (Credit Research Foundation)."""
    return _ratio_days(ar_current, sales, days)


@dataclass(frozen=True)
class CountBack:
    days: Decimal | None
    note: str | None = None


def dso_count_back(ar_end: Decimal, months: Sequence[tuple[Decimal, int]]) -> CountBack:
    """Count-back DSO over `months` = [(net sales, calendar days)], latest month first.

    Subtract each month's sales from AR and add its days while the remaining AR is at least that month's sales;
    in the first month where it is smaller add remaining / sales × days and stop.
    """
    if ar_end <= 0:
        return CountBack(None, "not defined: no receivables outstanding")
    remaining, days = ar_end, Decimal(0)
    for sales, month_days in months:
        if remaining < sales:
            return CountBack((days + remaining / sales * month_days).quantize(DAYS))
        remaining -= sales
        days += month_days
    return CountBack(
        None,
        f"not determinable: receivables exceed the {len(months)} months of sales available "
        f"({quantize(remaining)} left after {days} days)",
    )


def collection_effectiveness(
    beginning: Decimal, sales: Decimal, months: int, ar_end: Decimal, ar_current: Decimal
) -> Decimal | None:
    """CEI = (B + S/N − AR_end) / (B + S/N − AR_current) × 100; None when the denominator is not positive."""
    collectible = beginning + sales / months
    denominator = collectible - ar_current
    if denominator <= 0:
        return None
    return ((collectible - ar_end) / denominator * HUNDRED).quantize(PCT)


def percentage(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole * HUNDRED).quantize(PCT) if whole > 0 else None


# --- input ----------------------------------------------------------------------------------------------------------

ChartKind = Literal["none", "ageing", "trend", "group"]
RankOrder = Literal["largest_first", "smallest_first"]
CreditStatusName = Literal["OK", "Watch", "Hold", "Stop"]
RiskClassName = Literal["A", "B", "C", "D", "E"]


class PortfolioSummaryInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date | None = Field(default=None, description="End of the period (end of that day); default today.")
    period_months: int | None = Field(
        default=None,
        ge=1,
        le=6,
        description="Calendar months in the period, counting the as-of month (to date) as the first; default 3.",
    )
    period_start: date | None = Field(
        default=None, description="Alternative to period_months: the first day of a month up to 5 months earlier."
    )
    period_end: date | None = Field(
        default=None, description="Same as as_of (the period always ends on the as-of date)."
    )
    activity_period_start: date | None = Field(
        default=None,
        description="Month start of promise/dispute KPIs, ≤23 months back",
    )
    group_by: GroupBy | None = Field(
        default=None,
        description="Split every KPI by region, country, segment, industry, collector, risk_class, currency or "
        "customer.",
    )
    top_n: int = Field(default=10, ge=1, le=50, description="List length.")
    rank_by: RankMeasure = Field(
        default="exposure",
        description=(
            "What the top-exposures list, group_by=customer and the order of the groups rank by, largest first: "
            "'exposure' (selected receivables + today's open orders), 'open_receivables' (selected receivables), "
            "'overdue' (their past-due part) or 'disputed' (their part under an active dispute). E.g. the biggest "
            "past-due customer at a month end: top_n=1, rank_by='overdue', as_of=<month end>."
        ),
    )
    rank_order: RankOrder = "largest_first"
    count_open_invoices: bool = Field(
        default=False, description="Also count open invoices (a ledger query, so only when asked)."
    )
    payers: PayerOrder | None = Field(default=None, description="Also top_n payers by days late, worst=latest_first")
    regions: list[str] | None = Field(default=None, description="e.g. ['EMEA'].")
    countries: list[str] | None = Field(
        default=None,
        description=(
            "Customer countries: the customer master's country code (ISO 3166 alpha-2, e.g. ['DE', 'FR']), matched "
            "case-insensitively; a code no customer has matches nothing (and is said so)."
        ),
    )
    segments: list[str] | None = Field(default=None, description="e.g. ['Enterprise'].")
    industries: list[str] | None = None
    collectors: list[str] | None = Field(default=None, description="Staff user names.")
    risk_classes: list[RiskClassName] | None = Field(default=None, description="Risk classes A–E.")
    credit_statuses: list[CreditStatusName] | None = None
    currencies: list[str] | None = Field(default=None, description="Item currencies (ISO).")
    broken_promise_in_period: bool = Field(
        default=False, description="Only customers with a promise to pay due in the period and broken."
    )
    kept_promise_in_period: bool = Field(
        default=False, description="Only customers with a promise to pay due in the period and kept in full."
    )
    open_promise: bool = Field(default=False, description="Only customers with a promise open then")
    exclude_disputed: bool = Field(default=False, description="Leave out disputed items.")
    min_days_past_due: int | None = Field(
        default=None, ge=0, le=3650, description="Days past due from (bucket boundary)."
    )
    max_days_past_due: int | None = Field(
        default=None, ge=0, le=3650, description="Days past due up to (bucket boundary)."
    )
    min_balance: PositiveMoneyField | None = Field(
        default=None, description="Only customers owing at least this (reporting currency)."
    )
    over_limit: bool = Field(
        default=False,
        description=(
            "Only customers whose exposure (as get_customer_exposure) exceeds their limit at the as-of date. For "
            "'customers above their limit' use group_by='customer'."
        ),
    )
    min_utilisation_pct: PercentageField | None = Field(
        default=None, gt=0, le=1000, description="Only customers above this % of their limit."
    )
    review_due_by: date | None = None  # customers whose limit in force is due for review by then (may be ahead)
    trend_months: int = Field(default=6, ge=0, le=12, description="Month ends before the as-of month.")
    compare_to: date | None = Field(
        default=None,
        description=(
            "Also answer the same query at this earlier date, same filters, over a period of the same length ending "
            "then (result 'compared'): 'this quarter vs last' → the previous quarter's end; 'since last week' → a "
            "week before the as-of date; 'vs the same day last year' → a year before it."
        ),
    )
    compare_period_start: date | None = Field(
        default=None,
        description="With compare_to: the first day (a month's first) of the earlier period; default as many months.",
    )
    chart: ChartKind = Field(default="none", description="Render a PNG chart: ageing, trend or group.")

    @field_validator("risk_classes", mode="before")
    @classmethod
    def _upper_classes(cls, value: Any) -> Any:
        return [str(v).strip().upper() for v in value] if isinstance(value, list) else value

    @field_validator("credit_statuses", mode="before")
    @classmethod
    def _status_names(cls, value: Any) -> Any:
        names = {"ok": "OK", "watch": "Watch", "hold": "Hold", "stop": "Stop"}
        return [names.get(str(v).strip().lower(), v) for v in value] if isinstance(value, list) else value

    @field_validator("regions", "countries", "segments", "industries", "collectors", "currencies")
    @classmethod
    def _non_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not [v for v in value if v.strip()]:
            raise ValueError("give at least one value or leave the filter out")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PortfolioSummaryInput:
        if self.period_end is not None and self.as_of is not None and self.period_end != self.as_of:
            raise ValueError("period_end is the as-of date; give one of them or the same date twice")
        if (
            self.min_days_past_due is not None
            and self.max_days_past_due is not None
            and self.min_days_past_due > self.max_days_past_due
        ):
            raise ValueError("min_days_past_due is above max_days_past_due")
        if self.rank_by == "disputed" and self.exclude_disputed:
            raise ValueError(
                "rank_by 'disputed' ranks by the disputed items, which exclude_disputed leaves out; drop one of them"
            )
        return self


# --- output ---------------------------------------------------------------------------------------------------------


class Kpi(BaseModel):
    value: Decimal | None = Field(description="The figure; null when it is not defined (see note).")
    unit: str = Field(description="A currency code, 'days', '%' or 'count'.")
    formula: str = Field(description="How the figure is computed (full definitions in `definitions`).")
    note: str | None = Field(default=None, description="Why the value is missing, or a caveat.")


class AgeingRow(BaseModel):
    bucket: str = Field(description="current (not yet due), then days past due by due date")
    including_disputed: Decimal
    excluding_disputed: Decimal
    selected: bool = Field(description="Inside the days-past-due range (all buckets when no range is given)")


class PortfolioFigures(BaseModel):
    open_receivables: Kpi
    not_yet_due: Kpi
    overdue: Kpi
    disputed: Kpi
    open_orders: Kpi
    total_exposure: Kpi
    credit_balances: Kpi
    customers_with_balance: Kpi
    customers_with_credit_balance: Kpi
    open_invoices: Kpi
    ageing: list[AgeingRow]
    sales: Kpi
    collections: Kpi
    beginning_receivables: Kpi
    dso: Kpi
    dso_count_back: Kpi
    best_possible_dso: Kpi
    add: Kpi
    cei: Kpi
    pct_current: Kpi
    pct_over_90: Kpi
    promise_kept_rate_count: Kpi
    promise_kept_rate_amount: Kpi
    promises_evaluated: Kpi
    promises_broken: Kpi
    dispute_cycle_time: Kpi
    disputes_resolved: Kpi


class GroupFigures(BaseModel):
    key: str | None = Field(description="Group value as stored (None for customers without one)")
    label: str
    figures: PortfolioFigures


class TopExposure(BaseModel):
    rank: int
    customer_id: int
    external_id: str
    name: str
    region: str | None
    segment: str | None
    collector: str | None
    risk_class: str | None
    receivables: Decimal = Field(description="Selected receivables, reporting currency")
    overdue: Decimal = Field(description="The past-due part of the selected receivables")
    disputed: Decimal = Field(
        description="The selected items under an active dispute (shown even when exclude_disputed leaves them out)"
    )
    open_orders: Decimal
    exposure: Decimal = Field(description="receivables + open orders")
    share_pct: Decimal | None = Field(description="exposure / gross exposure (credit balances not netted) × 100")
    currencies: list[str]


class TrendPoint(BaseModel):
    as_of: date
    source: Literal["snapshot", "live"]
    open_receivables: Decimal = Field(description="All buckets (disputed unless excluded), constant as-of rates")
    overdue: Decimal
    selected_receivables: Decimal = Field(description="In the days-past-due range (equals open_receivables if none)")
    pct_over_90: Decimal | None
    dso: Decimal | None = Field(description="AR / S × D over the N months ending at that date")
    best_possible_dso: Decimal | None
    add: Decimal | None


class DsoChange(BaseModel):
    from_date: date
    to_date: date
    dso_from: Decimal
    dso_to: Decimal
    delta_dso: Decimal
    delta_best_possible_dso: Decimal = Field(description="Terms and sales mix: change in AR_current / S × D")
    delta_add: Decimal = Field(description="Collections: change in DSO − best possible DSO")
    explanation: str


class PeriodInfo(BaseModel):
    start: date
    end: date
    days: int = Field(description="Calendar days from start to end inclusive (D)")
    months: int = Field(description="N: calendar months, the as-of month (to date) counting as one")


class FiltersApplied(BaseModel):
    regions: list[str] | None
    countries: list[str] | None = Field(description="Customer country codes as given")
    segments: list[str] | None
    industries: list[str] | None = None
    collectors: list[str] | None
    risk_classes: list[str] | None
    credit_statuses: list[str] | None = None
    currencies: list[str] | None
    broken_promise_in_period: bool
    kept_promise_in_period: bool = False
    open_promise: bool = False
    exclude_disputed: bool
    min_days_past_due: int | None
    max_days_past_due: int | None
    buckets_selected: list[str] = Field(description="Ageing buckets the days-past-due range maps onto")
    min_balance: Decimal | None
    over_limit: bool = Field(description="Only customers whose exposure exceeds their credit limit")
    min_utilisation_pct: Decimal | None = None
    review_due_by: date | None = Field(default=None, description="Only customers with a limit review due by then")
    restricted_to_own_book: bool
    descriptions: list[str] = Field(description="Each active filter with the definition used")


class ChartInfo(BaseModel):
    kind: Literal["ageing", "trend", "group"]
    path: str
    alt_text: str


class ComparedFigures(BaseModel):
    as_of: date
    period: PeriodInfo
    totals: PortfolioFigures
    data_source: Literal["snapshot", "live"]
    notes: list[str]


class PortfolioSummary(BaseModel):
    as_of: date
    period: PeriodInfo
    reporting_currency: str
    filters_applied: FiltersApplied
    group_by: GroupBy | None
    rank_by: RankMeasure = Field(
        description="The measure top_exposures, group_by=customer and the groups are ranked by (definitions.rank_by)"
    )
    rank_order: RankOrder = Field(description="largest_first, or smallest_first (positive values only)")
    totals: PortfolioFigures
    groups: list[GroupFigures]
    top_exposures: list[TopExposure] = Field(description="The top_n customers by rank_by, largest first")
    concentration: Kpi
    trend: list[TrendPoint]
    dso_change: DsoChange | None
    fx_rates: list[FxRateUsed]
    data_source: Literal["snapshot", "live"]
    chart: ChartInfo | None
    notes: list[str]
    definitions: dict[str, str]
    policy_version: str
    compared: ComparedFigures | None = Field(
        default=None, description="The same query at compare_to: its period, totals and data source"
    )
    payers: PayerRanking | None = Field(default=None, description="Customers ranked by days late, when asked")
    activity_period: PeriodInfo | None = Field(
        default=None, description="The period of the promise and dispute figures, when activity_period_start set it"
    )


# --- request resolution ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    months: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def month_days(self) -> list[int]:
        """Calendar days counted for m0..m6: the as-of month to date, then each whole month before it."""
        first = month_start(self.end)
        return [self.end.day] + [month_end(add_months(first, -back)).day for back in range(1, MONTHS)]


def period_for(as_of: date, months: int) -> Period:
    return Period(add_months(month_start(as_of), -(months - 1)), as_of, months)


def _resolve_period(args: PortfolioSummaryInput, as_of: date) -> Period:
    if args.period_start is None:
        return period_for(as_of, args.period_months or 3)
    start = args.period_start
    if start.day != 1:
        raise invalid_input(f"period_start {start} must be the first day of a month (the months are calendar months)")
    months = (as_of.year - start.year) * 12 + as_of.month - start.month + 1
    if not 1 <= months <= 6:
        raise invalid_input(f"period_start {start} gives {months} months up to {as_of}; the period is 1 to 6 months")
    if args.period_months is not None and args.period_months != months:
        raise invalid_input(f"period_start {start} and period_months {args.period_months} disagree ({months} months)")
    return Period(start, as_of, months)


MAX_ACTIVITY_MONTHS = 24


def _activity_start(args: PortfolioSummaryInput, as_of: date, period: Period) -> date:
    start = args.activity_period_start
    if start is None:
        return period.start
    if start.day != 1:
        raise invalid_input(f"activity_period_start {start} must be the first day of a month")
    months = (as_of.year - start.year) * 12 + as_of.month - start.month + 1
    if not 1 <= months <= MAX_ACTIVITY_MONTHS:
        raise invalid_input(
            f"activity_period_start {start} gives {months} months up to {as_of}; it is 1 to {MAX_ACTIVITY_MONTHS}"
        )
    return start


def bucket_bounds(policy: CreditPolicy) -> tuple[list[int | None], list[int | None]]:
    """Lower and upper days-past-due bound of each bucket (None: open-ended)."""
    uppers: list[int | None] = [0, *policy.ageing.bucket_upper_bounds, None]
    lowers: list[int | None] = [None, 1, *(upper + 1 for upper in policy.ageing.bucket_upper_bounds)]
    return lowers, uppers


def buckets_for_range(
    policy: CreditPolicy, minimum: int | None, maximum: int | None
) -> tuple[tuple[int, ...], list[str]]:
    """Map a days-past-due range onto whole buckets, or refuse. "More than 90" given as 90 is read as 91."""
    lowers, uppers = bucket_bounds(policy)
    notes: list[str] = []
    first, last = 0, BUCKETS - 1
    if minimum is not None and minimum > 0:
        starts = [lower for lower in lowers if lower is not None]
        if minimum in starts:
            first = lowers.index(minimum)
        elif minimum in uppers:
            first = uppers.index(minimum) + 1
            notes.append(f"min_days_past_due {minimum} read as more than {minimum} days past due ({minimum + 1}+)")
        else:
            raise invalid_input(
                f"min_days_past_due {minimum} is not an ageing bucket boundary; use one of "
                f"{', '.join(map(str, starts))} (or {', '.join(str(u) for u in uppers if u)} meaning 'more than')"
            )
    if maximum is not None:
        ends = [upper for upper in uppers if upper is not None]
        if maximum not in ends:
            raise invalid_input(
                f"max_days_past_due {maximum} is not an ageing bucket boundary; use one of {', '.join(map(str, ends))}"
            )
        last = uppers.index(maximum)
    if first > last:
        raise invalid_input("the days-past-due range selects no ageing bucket")
    return tuple(range(first, last + 1)), notes


def over_90_buckets(policy: CreditPolicy) -> tuple[list[int], str]:
    """Buckets wholly more than 90 days past due, and the threshold they really give."""
    lowers, _ = bucket_bounds(policy)
    chosen = [i for i, lower in enumerate(lowers) if lower is not None and lower > 90]
    threshold = lowers[chosen[0]] if chosen else None
    return chosen, f"{threshold}+ days" if threshold is not None else "none"


@dataclass
class Request:
    as_of: date
    is_today: bool
    period: Period
    activity_start: date  # promises due and disputes resolved from this day (the period's start unless asked)
    selection: Selection
    group_by: GroupBy | None
    include_orders: bool
    filters: FiltersApplied
    rates: q.Rates
    notes: list[str] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=dict)  # of the active filters that need one
    rank_by: RankMeasure = "exposure"
    count_open_invoices: bool = False
    smallest_first: bool = False

    @property
    def group_by_main(self) -> GroupBy | None:
        """The grouping of the main queries (customers are grouped in a second step, once the top list is known)."""
        return None if self.group_by == "customer" else self.group_by


def _match_values(given: list[str], known: list[str], what: str) -> tuple[str, ...]:
    by_key = {value.casefold(): value for value in known}
    missing = [value for value in given if value.strip().casefold() not in by_key]
    if missing:
        raise invalid_input(f"unknown {what} {', '.join(missing)}; known: {', '.join(known) or 'none'}")
    return tuple(dict.fromkeys(by_key[value.strip().casefold()] for value in given))


def _match_countries(given: list[str], known: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Country codes as stored (matched case-insensitively: every stored spelling of a code) and the given codes no
    customer has, upper-cased: those stay in the filter (they match nothing) and are reported."""
    by_key: dict[str, list[str]] = {}
    for value in known:
        by_key.setdefault(value.strip().casefold(), []).append(value)
    resolved: dict[str, None] = {}
    unknown: list[str] = []
    for value in given:
        code = value.strip()
        if not code:
            continue
        stored = by_key.get(code.casefold())
        if stored is None:
            unknown.append(code.upper())
        resolved.update(dict.fromkeys(stored if stored is not None else [code.upper()]))
    return tuple(resolved), list(dict.fromkeys(unknown))


def over_limit_rule(
    as_of: date, is_today: bool, policy: CreditPolicy, utilisation_pct: Decimal = Decimal(100)
) -> q.OverLimitRule:
    """Exposure as `get_customer_exposure` computes it: orders only today and when the policy includes them."""
    return q.OverLimitRule(
        moment=end_of_day_utc(as_of),
        include_orders=is_today and policy.exposure.include_open_orders,
        include_disputed=policy.exposure.include_disputed_items,
        utilisation_pct=utilisation_pct,
    )


def over_limit_definition(rule: q.OverLimitRule, as_of: date, currency: str) -> str:
    disputed = "disputed items included" if rule.include_disputed else "disputed items left out"
    orders = (
        "plus the open sales orders not yet invoiced (today's order book)"
        if rule.include_orders
        else "without open orders (the order book is only known for today, or the policy leaves orders out)"
    )
    over = (
        "over their credit limit"
        if rule.utilisation_pct == 100
        else f"using more than {rule.utilisation_pct.normalize():f}% of their credit limit"
    )
    share = "" if rule.utilisation_pct == 100 else f"{rule.utilisation_pct.normalize():f}% of "
    return (
        f"Customers {over}: total exposure at the end of {as_of} = all their open receivables then "
        f"(every currency and ageing bucket, {disputed}, whatever the currency, days-past-due and disputed filters) "
        f"{orders}, greater than {share}the credit limit in force at that moment, both in {currency} at the as-of "
        "rates (by at least a cent). Customers without a limit in force are not counted as over; a limit of 0 is a "
        "limit. The figures shown for these customers (the month-end trend too) still follow the other filters."
    )


def _collector_ids(session: Session, ctx: ToolContext, names: list[str] | None) -> tuple[tuple[int, ...] | None, bool]:
    book = ctx.book_collector_id
    resolved: tuple[int, ...] | None = None
    if names is not None:
        found = q.staff_by_handles(session, names)
        missing = [name for name in names if name not in found]
        if missing:
            raise invalid_input(f"no staff user named {', '.join(missing)}")
        resolved = tuple(dict.fromkeys(staff_id for staff_id, _ in found.values()))
    if book is None:
        return resolved, False
    if resolved is not None and set(resolved) != {book}:
        raise forbidden("collectors see their own book only; leave out the collector filter or name yourself")
    return (book,), True


def resolve_request(
    session: Session, ctx: ToolContext, args: PortfolioSummaryInput, policy: CreditPolicy, rates: q.Rates
) -> Request:
    as_of = ctx.resolve_as_of(args.as_of or args.period_end)
    period = _resolve_period(args, as_of)
    activity_start = _activity_start(args, as_of, period)
    buckets, notes = buckets_for_range(policy, args.min_days_past_due, args.max_days_past_due)
    regions = (
        _match_values(args.regions, q.distinct_customer_values(session, "region"), "region") if args.regions else None
    )
    countries, unknown_countries = (
        _match_countries(args.countries, q.distinct_customer_values(session, "country"))
        if args.countries
        else (None, [])
    )
    segments = (
        _match_values(args.segments, q.distinct_customer_values(session, "segment"), "segment")
        if args.segments
        else None
    )
    industries = (
        _match_values(args.industries, q.distinct_customer_values(session, "industry"), "industry")
        if args.industries
        else None
    )
    collector_ids, own_book = _collector_ids(session, ctx, args.collectors)
    currencies = tuple(dict.fromkeys(validate_currency(c) for c in args.currencies)) if args.currencies else None
    window = (day_number(activity_start), day_number(as_of), end_of_day_utc(as_of))
    broken = q.ResolvedPromiseWindow(*window, PromiseStatus.BROKEN) if args.broken_promise_in_period else None
    kept = q.ResolvedPromiseWindow(*window, PromiseStatus.KEPT) if args.kept_promise_in_period else None
    is_today = as_of >= ctx.today
    over_limit = None
    if args.over_limit or args.min_utilisation_pct is not None:
        share = max(Decimal(100) if args.over_limit else Decimal(0), args.min_utilisation_pct or Decimal(0))
        over_limit = over_limit_rule(as_of, is_today, policy, share)
    selection = Selection(
        regions=regions,
        countries=countries,
        segments=segments,
        industries=industries,
        collector_ids=collector_ids,
        risk_classes=tuple(dict.fromkeys(args.risk_classes)) if args.risk_classes else None,
        credit_statuses=tuple(dict.fromkeys(args.credit_statuses)) if args.credit_statuses else None,
        currencies=currencies,
        broken_promise=broken,
        kept_promise=kept,
        open_promise=q.OpenPromiseRule(end_of_day_utc(as_of)) if args.open_promise else None,
        exclude_disputed=args.exclude_disputed,
        buckets=buckets,
        min_balance_cents=args.min_balance * HUNDRED if args.min_balance is not None else None,
        over_limit=over_limit,
        review_due=q.ReviewDueRule(end_of_day_utc(as_of), args.review_due_by) if args.review_due_by else None,
    )
    include_orders = is_today and policy.exposure.include_open_orders and buckets[0] == 0
    if args.chart == "group" and args.group_by is None:
        raise invalid_input("chart 'group' needs group_by")
    labels = policy.ageing.bucket_labels()
    filters = FiltersApplied(
        regions=args.regions,
        countries=args.countries,
        segments=args.segments,
        industries=args.industries,
        collectors=args.collectors,
        risk_classes=list(args.risk_classes) if args.risk_classes else None,
        credit_statuses=list(args.credit_statuses) if args.credit_statuses else None,
        currencies=args.currencies,
        broken_promise_in_period=args.broken_promise_in_period,
        kept_promise_in_period=args.kept_promise_in_period,
        open_promise=args.open_promise,
        exclude_disputed=args.exclude_disputed,
        min_days_past_due=args.min_days_past_due,
        max_days_past_due=args.max_days_past_due,
        buckets_selected=[labels[i] for i in buckets],
        min_balance=args.min_balance,
        over_limit=args.over_limit,
        min_utilisation_pct=args.min_utilisation_pct,
        review_due_by=args.review_due_by,
        restricted_to_own_book=own_book,
        descriptions=_filter_descriptions(args, selection, period, labels, own_book, ctx, policy, unknown_countries),
    )
    if not include_orders:
        notes.append(_orders_note(is_today, policy, buckets))
    if unknown_countries:
        notes.append(
            f"No customer has country {', '.join(unknown_countries)}: that part of the country filter matches nothing."
        )
    if args.review_due_by is not None and args.group_by == "customer":
        notes.append("Customers with a review due but nothing open at the as-of date have no row in the list.")
    if args.rank_by == "overdue" and not any(b > 0 for b in buckets):
        notes.append("Nothing in the days-past-due range is past due: no customer is ranked by overdue.")
    extra_definitions: dict[str, str] = {}
    if over_limit is not None:
        extra_definitions["over_limit"] = over_limit_definition(over_limit, as_of, ctx.reporting_currency)
    if activity_start != period.start:
        notes.append(
            f"Promise and dispute figures cover {activity_start} to {as_of}; the other figures cover the period "
            f"{period.start} to {as_of}."
        )
    return Request(
        as_of,
        is_today,
        period,
        activity_start,
        selection,
        args.group_by,
        include_orders,
        filters,
        rates,
        notes,
        extra_definitions,
        rank_by=args.rank_by,
        count_open_invoices=args.count_open_invoices,
        smallest_first=args.rank_order == "smallest_first",
    )


def _orders_note(is_today: bool, policy: CreditPolicy, buckets: tuple[int, ...]) -> str:
    if not is_today:
        return "Open orders are left out: the order book is only known for today."
    if not policy.exposure.include_open_orders:
        return "Open orders are left out: the policy's exposure excludes them."
    return f"Open orders are left out: orders are not past due, and the range starts at bucket {buckets[0]}."


def _filter_descriptions(
    args: PortfolioSummaryInput,
    selection: Selection,
    period: Period,
    labels: list[str],
    own_book: bool,
    ctx: ToolContext,
    policy: CreditPolicy,
    unknown_countries: Sequence[str] = (),
) -> list[str]:
    out: list[str] = []
    if selection.regions:
        out.append(f"Customers in region {', '.join(selection.regions)} (customer master).")
    if selection.countries is not None:
        known = list(dict.fromkeys(code.upper() for code in selection.countries if code not in unknown_countries))
        described = f"Customers with country {', '.join(known)} (customer master)" if known else "Customers by country"
        if unknown_countries:
            described += f"; no customer has {', '.join(unknown_countries)}, which matches nothing"
        out.append(described + ".")
    if selection.segments:
        out.append(f"Customers in segment {', '.join(selection.segments)} (customer master).")
    if selection.industries:
        out.append(f"Customers in industry {', '.join(selection.industries)} (customer master).")
    if own_book:
        out.append(f"Your book only: customers assigned to you ({ctx.actor.name}).")
    elif args.collectors:
        out.append(f"Customers assigned to collector {', '.join(args.collectors)}.")
    if selection.risk_classes:
        out.append(f"Customers of risk class {', '.join(selection.risk_classes)} (latest scorecard).")
    if selection.credit_statuses:
        out.append(
            f"Customers with credit status {', '.join(selection.credit_statuses)} (the customer master's status "
            "today, whatever the as-of date: no status history is kept)."
        )
    if selection.currencies:
        out.append(f"Items in currency {', '.join(selection.currencies)} (the invoice currency).")
    if selection.broken_promise is not None:
        out.append(
            f"Customers with a promise to pay due between {period.start} and {period.end} and recorded as broken "
            f"(not paid, or less than {policy.promises.partial_kept_min_pct}% paid, within "
            f"{policy.promises.grace_days} grace days) by the end of {period.end}."
        )
    if selection.kept_promise is not None:
        out.append(
            f"Customers with a promise to pay due between {period.start} and {period.end} and recorded as kept in "
            f"full (paid within {policy.promises.grace_days} grace days; partially kept promises do not count) by "
            f"the end of {period.end}."
        )
    if selection.open_promise is not None:
        out.append(
            f"Customers with a promise to pay open at the end of {period.end}: taken by then and not yet kept, broken "
            "or cancelled then."
        )
    if selection.exclude_disputed:
        out.append("Items under a dispute open at the end of the as-of date are left out.")
    if len(selection.buckets) < BUCKETS:
        chosen = ", ".join(labels[i] for i in selection.buckets)
        out.append(
            f"Receivables in the ageing buckets {chosen} (days past due by due date); KPIs such as DSO and CEI "
            "still use all buckets of the selected customers."
        )
    if selection.min_balance_cents is not None:
        out.append(
            f"Customers whose open receivables at the as-of date (all buckets"
            f"{', disputed items left out' if selection.exclude_disputed else ''}) are at least {args.min_balance} "
            f"{ctx.reporting_currency} at the as-of rates."
        )
    if selection.over_limit is not None:
        out.append(over_limit_definition(selection.over_limit, period.end, ctx.reporting_currency))
    if selection.review_due is not None:
        out.append(
            f"Customers whose credit limit in force on {period.end} has its next review date on or before "
            f"{selection.review_due.by}."
        )
    return out


# --- data -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    kind: Literal["snapshot", "live"]
    as_of: date
    items: q.ArRows | None  # live item rows (None on the snapshot path)
    trend_dates: list[date]
    missing_trend: list[date]
    previous_month_end: date
    previous_usable: bool
    fingerprint: str | None
    # The customer fingerprint the as-of date's rollup was built with, when it matches the snapshot (see
    # `db.queries.snapshots.build_rollup`); the totals job reads the rollup if the customers still match it.
    rollup_customers: str | None = None

    @property
    def as_of_dn(self) -> int:
        return day_number(self.as_of)

    def ar_rows(self) -> q.ArRows:
        """Receivable rows at the as-of date, for minimum-balance comparisons."""
        if self.items is not None:
            return self.items
        return q.ArRows(q.snapshot_rows(self.as_of_dn, name="balance_rows"), long=False)


def plan_sources(session: Session, request: Request, trend_months: int) -> Sources:
    params = snapshot_parameters()
    as_of = request.as_of
    month_ends = q.month_ends_before(as_of, max(trend_months, 1))
    usable, fingerprint = q.usable_snapshot_dates(session, [as_of, *month_ends], params)
    previous = month_ends[0]
    snapshot = as_of in usable
    wanted = month_ends[:trend_months]
    return Sources(
        kind="snapshot" if snapshot else "live",
        as_of=as_of,
        items=None if snapshot else q.live_item_rows(session, as_of, params),
        trend_dates=sorted({d for d in [*wanted, previous] if d in usable}),
        missing_trend=[d for d in wanted if d not in usable],
        previous_month_end=previous,
        previous_usable=previous in usable,
        fingerprint=fingerprint,
        rollup_customers=rollup_built_for(session, as_of, params, fingerprint) if USE_ROLLUP and snapshot else None,
    )


def totals_job(
    request: Request,
    sources: Sources,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: Any,
    *,
    flows: bool = True,
) -> Job | None:
    """`snapshot_totals` from the date's rollup (the same figures from a few rows per group) when the request can
    be answered from it and the rollup matches the snapshot; None otherwise. The job checks the customers (a count
    and a few index ends, off the caller's thread) and scans the snapshot rows instead if they changed."""
    built_for = sources.rollup_customers
    if built_for is None or not q.rollup_compatible(selection, group_by, min_balance):
        return None
    dn, months = sources.as_of_dn, request.period.months

    def run(session: Session) -> list[q.GroupCell]:
        if customer_fingerprint(session) == built_for:
            return q.rollup_totals(session, dn, selection, group_by, months, flows=flows)
        return q.snapshot_totals(session, dn, selection, group_by, min_balance, months, flows=flows)

    return run


Job = Callable[[Session], Any]
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=PARALLEL_WORKERS, thread_name_prefix="portfolio")
        return _pool


def tune_session(session: Session) -> None:
    """PostgreSQL, this transaction only: portfolio aggregates hash ~100k groups (more memory than the default
    4 MB keeps them off disk) and run once per question (JIT compilation costs more than it saves)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL jit = off"))


def run_jobs(session: Session, jobs: dict[str, Job]) -> dict[str, Any]:
    """Run independent read queries. With PARALLEL_WORKERS > 0 all but the first run on pooled threads, each on
    its own read session (its own transaction: figures from different queries may straddle a concurrent write)."""
    engine = session.get_bind().engine
    if PARALLEL_WORKERS <= 0 or len(jobs) < 2 or engine.url.database in (None, "", ":memory:"):
        return {name: job(session) for name, job in jobs.items()}
    url = engine.url.render_as_string(hide_password=False)

    def on_own_session(job: Job) -> Any:
        with read_session(url) as own:
            tune_session(own)
            return job(own)

    names = list(jobs)
    futures = {name: _executor().submit(on_own_session, jobs[name]) for name in names[1:]}
    results = {names[0]: jobs[names[0]](session)}
    results.update({name: future.result() for name, future in futures.items()})
    return results


_trend_cache: OrderedDict[tuple[Any, ...], list[q.TrendCell]] = OrderedDict()
_trend_lock = threading.Lock()
TREND_CACHE_SIZE = 128


def trend_job(request: Request, sources: Sources, min_balance: Any, over_90: list[int]) -> Job:
    """Month-end trend cells. A month-end snapshot does not change while the ledger fingerprint stays the same, so
    the cells are cached per (database, dates, fingerprint, selection, period) — and, when the selection reads the
    customer master, its fingerprint too. Selections on broken promises or over the credit limit are not cached
    (promises, limits and orders carry no fingerprint)."""
    selection = request.selection

    def compute(session: Session) -> list[q.TrendCell]:
        return q.trend_by_currency(
            session,
            sources.trend_dates,
            selection,
            min_balance,
            period_months=request.period.months,
            over_90_buckets=over_90,
        )

    def run(session: Session) -> list[q.TrendCell]:
        if (
            selection.broken_promise is not None
            or selection.kept_promise is not None
            or selection.open_promise is not None
            or selection.over_limit is not None
            or selection.review_due is not None
            or sources.fingerprint is None
        ):
            return compute(session)
        key = (
            session.get_bind().engine.url.render_as_string(hide_password=True),
            tuple(sources.trend_dates),
            sources.fingerprint,
            customer_table_fingerprint(session) if selection.needs_customer_table else None,
            selection,
            request.period.months,
            tuple(over_90),
            request.as_of if selection.min_balance_cents is not None else None,
        )
        with _trend_lock:
            if key in _trend_cache:
                _trend_cache.move_to_end(key)
                return _trend_cache[key]
        cells = compute(session)
        with _trend_lock:
            _trend_cache[key] = cells
            while len(_trend_cache) > TREND_CACHE_SIZE:
                _trend_cache.popitem(last=False)
        return cells

    return run


def side_jobs(request: Request, selection: Selection, group_by: GroupBy | None, min_balance: Any) -> dict[str, Job]:
    """Promises, disputes, (today) open orders and open invoices per group: the same for both sources."""
    as_of = request.as_of
    window = q.ActivityWindow(
        first_dn=day_number(request.activity_start),
        last_dn=day_number(as_of),
        start=start_of_day_utc(request.activity_start),
        moment=end_of_day_utc(as_of),
    )
    params = snapshot_parameters()
    jobs: dict[str, Callable[[Session], Any]] = {
        "activity": lambda s: q.activity_by_group(
            s, selection, group_by, min_balance, window, with_orders=request.include_orders
        ),
    }
    if request.count_open_invoices:
        # Counted from the ledger on both paths (snapshots hold no per-bucket, per-kind item counts); a cost worth
        # paying only when the question asks how many invoices are open.
        jobs["open_invoices"] = lambda s: q.open_invoice_counts(s, as_of, params, selection, group_by, min_balance)
    return jobs


def snapshot_jobs(
    session: Session,
    request: Request,
    sources: Sources,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: Any,
    *,
    rank_limit: int | None,
) -> dict[str, Job]:
    dn, months = sources.as_of_dn, request.period.months
    jobs: dict[str, Job] = {}
    from_rollup = totals_job(request, sources, selection, group_by, min_balance)
    if from_rollup is not None:
        jobs["totals0"] = from_rollup
    halves = None
    if from_rollup is None and PARALLEL_WORKERS > 0 and selection.customer_ids is None:
        halves = q.customer_id_split(session)
    # The snapshot scan is the longest query: two halves by customer id keep both cores busy.
    for index, id_range in enumerate([] if from_rollup is not None else halves or [None]):
        jobs[f"totals{index}"] = partial(
            q.snapshot_totals,
            as_of_dn=dn,
            selection=selection,
            group_by=group_by,
            min_balance=min_balance,
            period_months=months,
            id_range=id_range,
        )
    if rank_limit is not None:
        jobs["rank"] = lambda s: q.snapshot_ranking(
            s, dn, selection, request.rates, min_balance, with_orders=request.include_orders, limit=rank_limit
        )
        if request.rank_by != "exposure" or request.smallest_first:
            jobs["rank_by"] = lambda s: q.snapshot_ranking(
                s,
                dn,
                selection,
                request.rates,
                min_balance,
                with_orders=request.include_orders and request.rank_by == "exposure",
                limit=rank_limit,
                measure=request.rank_by,
                smallest_first=request.smallest_first,
            )
        jobs["multi"] = lambda s: q.multi_currency_customers(s, dn, MULTI_CURRENCY_CAP)
    return jobs | side_jobs(request, selection, group_by, min_balance)


def live_jobs(
    request: Request,
    items: q.ArRows,
    sources: Sources,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: Any,
    *,
    rank_limit: int,
) -> dict[str, Job]:
    jobs: dict[str, Job] = {
        "live": lambda s: q.live_summary(
            s,
            items,
            selection,
            group_by,
            request.rates,
            with_orders=request.include_orders,
            limit=rank_limit,
            measure=request.rank_by,
            smallest_first=request.smallest_first,
        ),
        "flows": lambda s: q.live_flows(
            s,
            request.as_of,
            selection,
            group_by,
            min_balance,
            request.period.months,
            previous_month_end_usable=sources.previous_usable,
        ),
    }
    return jobs | side_jobs(request, selection, group_by, min_balance)


@dataclass
class Gathered:
    cells: list[q.GroupCell]
    orders: list[q.OrdersCell]
    promises: list[q.PromisesCell]
    disputes: list[q.DisputesCell]
    ranked: list[q.RankedCustomer]
    multi_currency: list[int] | None
    ranked_by_measure: list[q.RankedCustomer] = field(default_factory=list)  # rank_by other than exposure


def gathered(results: dict[str, Any]) -> Gathered:
    cells: list[q.GroupCell] = [cell for name, value in results.items() if name.startswith("totals") for cell in value]
    cells += results.get("flows", [])
    cells += results.get("open_invoices", [])
    ranked: list[q.RankedCustomer] = results.get("rank", [])
    ranked_by_measure: list[q.RankedCustomer] = results.get("rank_by", [])
    if "live" in results:
        cells += results["live"].cells
        ranked = results["live"].ranked
        ranked_by_measure = results["live"].ranked_by_measure
    activity: q.Activity = results["activity"]
    return Gathered(
        cells=cells,
        orders=activity.orders,
        promises=activity.promises,
        disputes=activity.disputes,
        ranked=ranked,
        multi_currency=results.get("multi", []),
        ranked_by_measure=ranked_by_measure,
    )


def merge_cells(cells: Iterable[q.GroupCell]) -> list[q.GroupCell]:
    """One cell per (group, currency); month-to-date collections derived where the flows were hybrid."""
    merged: dict[tuple[GroupKey, str], q.GroupCell] = {}
    for cell in cells:
        target = merged.setdefault((cell.group, cell.currency), q.GroupCell(cell.group, cell.currency))
        target.undisputed = [a + b for a, b in zip(target.undisputed, cell.undisputed, strict=True)]
        target.disputed = [a + b for a, b in zip(target.disputed, cell.disputed, strict=True)]
        target.sales = [a + b for a, b in zip(target.sales, cell.sales, strict=True)]
        target.collections += cell.collections
        target.with_balance += cell.with_balance
        target.with_credit_balance += cell.with_credit_balance
        target.credit_balances += cell.credit_balances
        target.open_invoices += cell.open_invoices
        if cell.previous_receivables is not None:
            target.previous_receivables = (target.previous_receivables or Decimal(0)) + cell.previous_receivables
    for cell in merged.values():
        if cell.previous_receivables is not None:
            # Ledger identity over the month to date: collected = receivables before + sales − receivables after.
            receivables_now = sum(cell.undisputed, Decimal(0)) + sum(cell.disputed, Decimal(0))
            cell.collections += cell.previous_receivables + cell.sales[0] - receivables_now
    return list(merged.values())


def gather(
    session: Session,
    request: Request,
    sources: Sources,
    selection: Selection,
    group_by: GroupBy | None,
    *,
    rank_limit: int | None,
    extra: dict[str, Job] | None = None,
) -> tuple[Gathered, dict[str, Any]]:
    """Run every query one grouping needs (plus `extra` jobs alongside) and return the collected rows."""
    if sources.kind == "snapshot":
        min_balance = q.customer_restriction(session, sources.ar_rows(), selection, request.rates)
        jobs = snapshot_jobs(session, request, sources, selection, group_by, min_balance, rank_limit=rank_limit)
    else:
        items = (
            sources.items
            if selection.customer_ids is None and sources.items is not None
            else q.live_item_rows(session, request.as_of, snapshot_parameters(), customer_ids=selection.customer_ids)
        )
        min_balance = q.customer_restriction(session, items, selection, request.rates)
        jobs = live_jobs(request, items, sources, selection, group_by, min_balance, rank_limit=rank_limit or 1)
    results = run_jobs(session, {**jobs, **(extra or {})})
    return gathered(results), results


# --- conversion and accumulation ------------------------------------------------------------------------------------


def _zeros(count: int) -> list[Decimal]:
    return [Decimal(0)] * count


@dataclass
class Accumulator:
    """One group's figures in the reporting currency, unrounded (exact sums of amount × rate)."""

    undisputed: list[Decimal] = field(default_factory=lambda: _zeros(BUCKETS))
    disputed: list[Decimal] = field(default_factory=lambda: _zeros(BUCKETS))
    sales: list[Decimal] = field(default_factory=lambda: _zeros(MONTHS))
    collections: Decimal = Decimal(0)
    orders: Decimal = Decimal(0)
    order_count: int = 0
    kept: int = 0
    partially_kept: int = 0
    broken: int = 0
    pending: int = 0
    promised: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    disputes_resolved: int = 0
    dispute_days: Decimal = Decimal(0)
    with_balance: int = 0
    with_credit_balance: int = 0
    credit_balances: Decimal = Decimal(0)
    open_invoices: int = 0

    def add(self, other: Accumulator, sign: int = 1) -> None:
        for name in ("undisputed", "disputed", "sales"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, [a + sign * b for a, b in zip(mine, theirs, strict=True)])
        for name in (
            "collections",
            "orders",
            "order_count",
            "kept",
            "partially_kept",
            "broken",
            "pending",
            "promised",
            "paid",
            "disputes_resolved",
            "dispute_days",
            "with_balance",
            "with_credit_balance",
            "credit_balances",
            "open_invoices",
        ):
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))


def accumulate(data: Gathered, fx: FxConverter) -> dict[GroupKey, Accumulator]:
    groups: dict[GroupKey, Accumulator] = {}

    def acc(key: GroupKey) -> Accumulator:
        return groups.setdefault(key, Accumulator())

    def rate(currency: str) -> Decimal:
        return fx.rate(currency).rate if currency else Decimal(1)

    for cell in merge_cells(data.cells):
        a, r = acc(cell.group), rate(cell.currency)
        a.undisputed = [x + y * r for x, y in zip(a.undisputed, cell.undisputed, strict=True)]
        a.disputed = [x + y * r for x, y in zip(a.disputed, cell.disputed, strict=True)]
        a.sales = [x + y * r for x, y in zip(a.sales, cell.sales, strict=True)]
        a.collections += cell.collections * r
        a.with_balance += cell.with_balance
        a.with_credit_balance += cell.with_credit_balance
        a.credit_balances += cell.credit_balances * r
        a.open_invoices += cell.open_invoices
    for order in data.orders:
        a = acc(order.group)
        a.orders += order.amount * rate(order.currency)
        a.order_count += order.count
    for promise in data.promises:
        a, r = acc(promise.group), rate(promise.currency)
        a.kept += promise.kept
        a.partially_kept += promise.partially_kept
        a.broken += promise.broken
        a.pending += promise.pending
        a.promised += promise.promised_amount * r
        a.paid += promise.paid_amount * r
    for dispute in data.disputes:
        a = acc(dispute.group)
        a.disputes_resolved += dispute.resolved
        a.dispute_days += dispute.total_days
    return groups


# --- figures --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    """What the figures of one summary share: period, buckets, policy words, currency."""

    currency: str
    period: Period
    buckets: tuple[int, ...]
    exclude_disputed: bool
    include_orders: bool
    labels: list[str]
    over_90: list[int]
    over_90_label: str
    grace_days: int
    rank_by: RankMeasure = "exposure"
    count_open_invoices: bool = False


def _money(value: Decimal, basis: Basis, formula: str, note: str | None = None) -> Kpi:
    return Kpi(value=quantize(value), unit=basis.currency, formula=formula, note=note)


def _days(value: Decimal | None, formula: str, note: str | None = None) -> Kpi:
    return Kpi(value=value, unit="days", formula=formula, note=note)


def _pct(value: Decimal | None, formula: str, note: str | None = None) -> Kpi:
    return Kpi(value=value, unit="%", formula=formula, note=note)


def _count(value: int, formula: str) -> Kpi:
    return Kpi(value=Decimal(value), unit="count", formula=formula)


NO_SALES = "not defined: no net credit sales in the period"


@dataclass(frozen=True)
class Core:
    """The KPI-basis amounts of one group (all buckets; disputed unless excluded) and the derived day ratios."""

    ar_end: Decimal
    ar_current: Decimal
    ar_all: Decimal  # including disputed, for CEI
    ar_all_current: Decimal
    sales: Decimal
    collections: Decimal
    dso: Decimal | None
    bpdso: Decimal | None

    @property
    def add(self) -> Decimal | None:
        return self.dso - self.bpdso if self.dso is not None and self.bpdso is not None else None


def core_figures(a: Accumulator, basis: Basis) -> Core:
    n = basis.period.months
    kpi = [u + (Decimal(0) if basis.exclude_disputed else d) for u, d in zip(a.undisputed, a.disputed, strict=True)]
    sales, collections = sum(a.sales[:n], Decimal(0)), a.collections
    ar_end, ar_current = sum(kpi, Decimal(0)), kpi[0]
    return Core(
        ar_end=ar_end,
        ar_current=ar_current,
        ar_all=sum(a.undisputed, Decimal(0)) + sum(a.disputed, Decimal(0)),
        ar_all_current=a.undisputed[0] + a.disputed[0],
        sales=sales,
        collections=collections,
        dso=dso_simple(ar_end, sales, basis.period.days),
        bpdso=best_possible_dso(ar_current, sales, basis.period.days),
    )


def figures(a: Accumulator, basis: Basis) -> PortfolioFigures:
    core = core_figures(a, basis)
    chosen = basis.buckets
    incl = [u + d for u, d in zip(a.undisputed, a.disputed, strict=True)]
    measured = a.undisputed if basis.exclude_disputed else incl
    selected = sum((measured[i] for i in chosen), Decimal(0))
    overdue = sum((measured[i] for i in chosen if i > 0), Decimal(0))
    disputed = sum((a.disputed[i] for i in chosen), Decimal(0))
    period = basis.period
    n = period.months
    count_back = dso_count_back(core.ar_end, list(zip(a.sales, period.month_days(), strict=True)))
    beginning = core.ar_all - core.sales + core.collections
    cei = collection_effectiveness(beginning, core.sales, n, core.ar_all, core.ar_all_current)
    evaluated = a.kept + a.partially_kept + a.broken
    kpi_scope = "all buckets" + (", undisputed" if basis.exclude_disputed else ", disputed included")
    return PortfolioFigures(
        open_receivables=_money(selected, basis, "Σ open items in the selected buckets at the as-of date"),
        not_yet_due=_money(measured[0] if 0 in chosen else Decimal(0), basis, "selected receivables not yet due"),
        overdue=_money(overdue, basis, "selected receivables past their due date"),
        disputed=_money(
            disputed,
            basis,
            "selected items under an active dispute",
            "left out of the other figures" if basis.exclude_disputed else None,
        ),
        open_orders=_money(
            a.orders,
            basis,
            "open sales orders not yet invoiced",
            None if basis.include_orders else "not included (see notes)",
        ),
        total_exposure=_money(selected + a.orders, basis, "open_receivables + open_orders"),
        credit_balances=_money(
            a.credit_balances, basis, "Σ selected balances of customers owing less than nothing (per currency), ≤ 0"
        ),
        customers_with_balance=_count(a.with_balance, "customers whose selected receivables are not zero"),
        customers_with_credit_balance=_count(a.with_credit_balance, "customers whose selected receivables are < 0"),
        open_invoices=(
            _count(
                a.open_invoices,
                "invoices open at the as-of date in the selected buckets"
                + (", undisputed" if basis.exclude_disputed else ", disputed included")
                + "; credit notes not counted",
            )
            if basis.count_open_invoices
            else Kpi(value=None, unit="count", formula="not counted", note="ask with count_open_invoices=true")
        ),
        ageing=[
            AgeingRow(
                bucket=label,
                including_disputed=quantize(incl[i]),
                excluding_disputed=quantize(a.undisputed[i]),
                selected=i in chosen,
            )
            for i, label in enumerate(basis.labels)
        ],
        sales=_money(core.sales, basis, f"S: net credit sales {period.start}..{period.end}"),
        collections=_money(core.collections, basis, f"C: allocations applied {period.start}..{period.end}"),
        beginning_receivables=_money(beginning, basis, "B = AR_end − S + C (all receivables, disputed included)"),
        dso=_days(
            core.dso, f"AR_end / S × D ({kpi_scope}, D = {period.days})", None if core.dso is not None else NO_SALES
        ),
        dso_count_back=_days(count_back.days, "count-back over calendar months, latest first", count_back.note),
        best_possible_dso=_days(core.bpdso, "AR_current / S × D", None if core.bpdso is not None else NO_SALES),
        add=_days(core.add, "DSO − best possible DSO (CRF)", None if core.add is not None else NO_SALES),
        cei=_pct(
            cei,
            f"(B + S/N − AR_end) / (B + S/N − AR_current) × 100, N = {n}, disputed included",
            None if cei is not None else "not defined: B + S/N − AR_current is not positive",
        ),
        pct_current=_pct(percentage(core.ar_current, core.ar_end), "AR_current / AR_end × 100", _no_ar(core)),
        pct_over_90=_pct(
            percentage(sum((core_bucket(a, i, basis) for i in basis.over_90), Decimal(0)), core.ar_end),
            f"receivables {basis.over_90_label} past due / AR_end × 100",
            _no_ar(core),
        ),
        promise_kept_rate_count=_pct(
            percentage(Decimal(a.kept), Decimal(evaluated)),
            "kept / (kept + partially kept + broken) × 100",
            None if evaluated else "not defined: no promise due in the period was evaluated",
        ),
        promise_kept_rate_amount=_pct(
            percentage(a.paid, a.promised),
            f"Σ paid by promised date + {basis.grace_days} days / Σ promised × 100",
            None if evaluated else "not defined: no promise due in the period was evaluated",
        ),
        promises_evaluated=_count(evaluated, f"promises due in the period and evaluated; {a.pending} still pending"),
        promises_broken=_count(
            a.broken, "promises due in the period and evaluated as broken (partially kept ones are counted apart)"
        ),
        dispute_cycle_time=_days(
            (a.dispute_days / a.disputes_resolved).quantize(DAYS) if a.disputes_resolved else None,
            "Σ (resolved − opened) / disputes resolved in the period",
            None if a.disputes_resolved else "not defined: no dispute was resolved in the period",
        ),
        disputes_resolved=_count(a.disputes_resolved, "disputes resolved (accepted or rejected) in the period"),
    )


def core_bucket(a: Accumulator, index: int, basis: Basis) -> Decimal:
    return a.undisputed[index] + (Decimal(0) if basis.exclude_disputed else a.disputed[index])


def _no_ar(core: Core) -> str | None:
    return None if core.ar_end > 0 else "not defined: no receivables outstanding"


# --- top exposures --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exposure:
    customer_id: int
    receivables: Decimal
    overdue: Decimal
    orders: Decimal
    currencies: tuple[str, ...]
    disputed: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.receivables + self.orders

    def measure(self, rank_by: RankMeasure) -> Decimal:
        return {
            "exposure": self.total,
            "open_receivables": self.receivables,
            "overdue": self.overdue,
            "disputed": self.disputed,
        }[rank_by]


def ranked_by(exposures: Iterable[Exposure], rank_by: RankMeasure, *, smallest_first: bool = False) -> list[Exposure]:
    """Customers with a positive measure, largest first — or smallest first (ties by customer id)."""
    sign = 1 if smallest_first else -1
    return sorted(
        (e for e in exposures if e.measure(rank_by) > 0), key=lambda e: (sign * e.measure(rank_by), e.customer_id)
    )


def rows_for(session: Session, request: Request, sources: Sources, customer_ids: Sequence[int]) -> q.ArRows:
    """Receivable rows of a few customers at the as-of date."""
    if sources.kind == "snapshot":
        return q.ArRows(q.snapshot_rows(sources.as_of_dn, customer_ids=customer_ids), long=False)
    return q.live_item_rows(session, request.as_of, snapshot_parameters(), customer_ids=customer_ids)


def exact_exposures(
    session: Session, request: Request, sources: Sources, fx: FxConverter, candidates: Sequence[int], min_balance: Any
) -> list[Exposure]:
    """Exact reporting-currency figures of the candidate customers still in the selection (any sign; callers rank
    them with `ranked_by`)."""
    ids = sorted(set(candidates))
    if not ids:
        return []
    selection = request.selection.restricted_to(ids)
    rows = rows_for(session, request, sources, ids)
    cells = q.receivables_by_group(session, rows, selection, "customer", min_balance)
    orders = q.open_orders_by_group(session, selection, "customer", min_balance) if request.include_orders else []
    chosen, exclude = selection.buckets, selection.exclude_disputed
    receivables: dict[int, Decimal] = {}
    overdue: dict[int, Decimal] = {}
    disputed: dict[int, Decimal] = {}
    order_amounts: dict[int, Decimal] = {}
    currencies: dict[int, set[str]] = {}
    for cell in cells:
        key, r = int(cell.group or 0), fx.rate(cell.currency).rate
        amounts = [u + (Decimal(0) if exclude else d) for u, d in zip(cell.undisputed, cell.disputed, strict=True)]
        receivables[key] = receivables.get(key, Decimal(0)) + sum((amounts[i] for i in chosen), Decimal(0)) * r
        overdue[key] = overdue.get(key, Decimal(0)) + sum((amounts[i] for i in chosen if i > 0), Decimal(0)) * r
        disputed[key] = disputed.get(key, Decimal(0)) + sum((cell.disputed[i] for i in chosen), Decimal(0)) * r
        currencies.setdefault(key, set()).add(cell.currency)
    for order in orders:
        key = int(order.group or 0)
        order_amounts[key] = order_amounts.get(key, Decimal(0)) + order.amount * fx.rate(order.currency).rate
        currencies.setdefault(key, set()).add(order.currency)
    return [
        Exposure(
            i,
            receivables.get(i, Decimal(0)),
            overdue.get(i, Decimal(0)),
            order_amounts.get(i, Decimal(0)),
            tuple(sorted(currencies[i])),
            disputed.get(i, Decimal(0)),
        )
        for i in currencies
    ]


def top_exposure_rows(session: Session, exposures: Sequence[Exposure], total: Decimal, limit: int) -> list[TopExposure]:
    chosen = list(exposures[:limit])
    info = q.customer_info(session, [e.customer_id for e in chosen])
    rows = []
    for rank, exposure in enumerate(chosen, start=1):
        who = info[exposure.customer_id]
        rows.append(
            TopExposure(
                rank=rank,
                customer_id=who.id,
                external_id=who.external_id,
                name=who.name,
                region=who.region,
                segment=who.segment,
                collector=who.collector,
                risk_class=who.risk_class,
                receivables=quantize(exposure.receivables),
                overdue=quantize(exposure.overdue),
                disputed=quantize(exposure.disputed),
                open_orders=quantize(exposure.orders),
                exposure=quantize(exposure.total),
                share_pct=percentage(exposure.total, total),
                currencies=list(exposure.currencies),
            )
        )
    return rows


def concentration(exposures: Sequence[Exposure], gross: Decimal, currency: str) -> Kpi:
    top = sum((e.total for e in exposures[:TOP_CONCENTRATION]), Decimal(0))
    return Kpi(
        value=percentage(top, gross),
        unit="%",
        formula=(
            f"Σ exposure of the {TOP_CONCENTRATION} largest customers / gross exposure × 100 ({currency}); gross = "
            "total exposure with credit balances not netted"
        ),
        note=None if gross > 0 else "not defined: no customer has a positive exposure",
    )


# --- trend and DSO change -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendFigures:
    as_of: date
    receivables: Decimal
    current: Decimal
    over_90: Decimal
    selected: Decimal
    sales: Decimal
    days: int

    @property
    def dso(self) -> Decimal | None:
        return dso_simple(self.receivables, self.sales, self.days)

    @property
    def bpdso(self) -> Decimal | None:
        return best_possible_dso(self.current, self.sales, self.days)

    def point(self, source: Literal["snapshot", "live"]) -> TrendPoint:
        dso, bpdso = self.dso, self.bpdso
        return TrendPoint(
            as_of=self.as_of,
            source=source,
            open_receivables=quantize(self.receivables),
            overdue=quantize(self.receivables - self.current),
            selected_receivables=quantize(self.selected),
            pct_over_90=percentage(self.over_90, self.receivables),
            dso=dso,
            best_possible_dso=bpdso,
            add=dso - bpdso if dso is not None and bpdso is not None else None,
        )


def trend_figures(cells: Iterable[q.TrendCell], fx: FxConverter, months: int) -> dict[date, TrendFigures]:
    sums: dict[date, list[Decimal]] = {}
    for cell in cells:
        r = fx.rate(cell.currency).rate
        values = [cell.receivables, cell.current, cell.over_90, cell.selected, cell.sales]
        current = sums.setdefault(cell.as_of, _zeros(len(values)))
        sums[cell.as_of] = [a + b * r for a, b in zip(current, values, strict=True)]
    return {
        day: TrendFigures(day, v[0], v[1], v[2], v[3], v[4], period_for(day, months).days) for day, v in sums.items()
    }


def figures_at_as_of(total: Accumulator, basis: Basis) -> TrendFigures:
    core = core_figures(total, basis)
    selected = sum((core_bucket(total, i, basis) for i in basis.buckets), Decimal(0))
    over_90 = sum((core_bucket(total, i, basis) for i in basis.over_90), Decimal(0))
    return TrendFigures(
        basis.period.end, core.ar_end, core.ar_current, over_90, selected, core.sales, basis.period.days
    )


def dso_change(before: TrendFigures, after: TrendFigures) -> DsoChange | None:
    if None in (before.dso, before.bpdso, after.dso, after.bpdso):
        return None
    dso_from, dso_to = before.dso or Decimal(0), after.dso or Decimal(0)
    bp_from, bp_to = before.bpdso or Decimal(0), after.bpdso or Decimal(0)
    delta_bp = bp_to - bp_from
    delta_add = (dso_to - bp_to) - (dso_from - bp_from)
    direction = "rose" if dso_to > dso_from else "fell" if dso_to < dso_from else "was unchanged"
    return DsoChange(
        from_date=before.as_of,
        to_date=after.as_of,
        dso_from=dso_from,
        dso_to=dso_to,
        delta_dso=dso_to - dso_from,
        delta_best_possible_dso=delta_bp,
        delta_add=delta_add,
        explanation=(
            f"DSO {direction} from {dso_from} to {dso_to} days ({dso_to - dso_from:+} days): best possible DSO "
            f"{delta_bp:+} days (payment terms and sales mix: the not-yet-due share of sales) and ADD {delta_add:+} "
            "days (collections: how far past terms receivables are paid). ΔDSO = ΔBPDSO + ΔADD."
        ),
    )


# --- groups ---------------------------------------------------------------------------------------------------------


NONE_LABELS: dict[str, str] = {
    "region": "(no region)",
    "country": "(no country)",
    "segment": "(no segment)",
    "industry": "(no industry)",
    "collector": "(unassigned)",
    "risk_class": "(not scored)",
    "currency": "(none)",
}


def group_label(group_by: GroupBy, key: GroupKey, names: dict[int, str]) -> str:
    if key is None:
        return NONE_LABELS.get(group_by, "(none)")
    if group_by in ("collector", "customer"):
        return names.get(int(key), f"#{key}")
    return str(key)


def group_measure(a: Accumulator, basis: Basis) -> Decimal:
    """A group's size by the request's rank_by, as its figures show it (total_exposure, open_receivables, overdue,
    disputed)."""
    if basis.rank_by == "disputed":
        return sum((a.disputed[i] for i in basis.buckets), Decimal(0))
    chosen = [i for i in basis.buckets if i > 0] if basis.rank_by == "overdue" else basis.buckets
    measured = sum((core_bucket(a, i, basis) for i in chosen), Decimal(0))
    return measured + a.orders if basis.rank_by == "exposure" else measured


def sorted_groups(groups: dict[GroupKey, Accumulator], basis: Basis) -> list[tuple[GroupKey, Accumulator]]:
    return sorted(groups.items(), key=lambda item: (-group_measure(item[1], basis), str(item[0])))


def total_of(groups: Iterable[Accumulator]) -> Accumulator:
    total = Accumulator()
    for group in groups:
        total.add(group)
    return total


# --- definitions and notes ------------------------------------------------------------------------------------------


RANK_LABELS: dict[str, str] = {
    "exposure": "selected receivables + today's open orders not yet invoiced = total_exposure",
    "open_receivables": "selected receivables = open_receivables, open orders not counted",
    "overdue": "the past-due part of the selected receivables = overdue",
    "disputed": "the selected items under a dispute active at the end of the as-of date = disputed",
}


def rank_by_definition(basis: Basis) -> str:
    disputed = "disputed items left out" if basis.exclude_disputed else "disputed items included"
    return (
        f"Ranking measure '{basis.rank_by}': {RANK_LABELS[basis.rank_by]}, per customer over all its currencies in "
        f"{basis.currency} at the as-of rates, within the selected ageing buckets ({disputed}). It orders "
        "top_exposures, the customers of group_by=customer and the groups of any other grouping (largest first)."
    )


def definitions(basis: Basis, policy: CreditPolicy, as_of: date) -> dict[str, str]:
    p, c = basis.period, basis.currency
    disputed = "disputed items left out" if basis.exclude_disputed else "disputed items included"
    return {
        "open_receivables": (
            "Invoices less credit notes open at the end of the as-of date (amount less allocations applied by then), "
            f"in the selected ageing buckets, {disputed}; credit notes count negative."
        ),
        "ageing": (
            f"By due date (days past due = as-of date − due date); buckets {', '.join(basis.labels)}; 'current' is "
            "not yet due."
        ),
        "total_exposure": "Selected open receivables + open sales orders not yet invoiced (today's order book only).",
        "period": (
            f"{p.start} to {p.end}: N = {p.months} calendar month(s), the as-of month counting to date; "
            f"D = {p.days} calendar days."
        ),
        "sales": "S: net credit sales = invoices less credit notes issued in the period.",
        "collections": "C: payment allocations applied in the period (net of reversals).",
        "dso": f"DSO = AR_end / S × D, AR_end = open receivables in all buckets ({disputed}).",
        "dso_count_back": (
            f"Count-back: from AR_end subtract each calendar month's net sales going back from the as-of month (which "
            f"counts {as_of.day} days), adding its calendar days, while the remaining AR is at least that month's "
            "sales; for the first month where it is smaller add remaining / sales × days in month. Seven months of "
            "sales are available; beyond them the figure is not determinable."
        ),
        "best_possible_dso": "BPDSO = AR_current / S × D, AR_current = receivables not yet due (CRF).",
        "add": "ADD = DSO − BPDSO: average days delinquent as the Credit Research Foundation (CRF) derives it.",
        "cei": (
            "CEI = (B + S/N − AR_end) / (B + S/N − AR_current) × 100 (CRF), over all receivables of the selected "
            "customers including disputed items. B (receivables at the start of the period) = AR_end − S + C: exact, "
            "because receivables change only by invoices and credit notes issued and allocations applied."
        ),
        "pct_current": "AR_current / AR_end × 100.",
        "pct_over_90": f"Receivables {basis.over_90_label} past due (by due date) / AR_end × 100.",
        "promise_kept_rate": (
            "Promises to pay whose promised date falls in the period and that were evaluated by the end of the as-of "
            f"date: count = kept / (kept + partially kept + broken) × 100; amount = Σ amount paid by the promised "
            f"date + {policy.promises.grace_days} grace days / Σ promised amount × 100. Kept = paid in full within the "
            f"grace days, partially kept = at least {policy.promises.partial_kept_min_pct}% paid (policy "
            f"{policy.version}); cancelled promises are ignored, open ones are counted as pending."
        ),
        "dispute_cycle_time": (
            "Mean time from opening to resolution, in days, of disputes resolved (accepted or rejected) in the period."
        ),
        "concentration": (
            f"Share of gross exposure held by the {TOP_CONCENTRATION} largest customers; gross exposure = total "
            "exposure + credit balances (customers owing less than nothing are not netted against the others)."
        ),
        "customers_with_balance": "Customers whose selected receivables are not zero (credit balances included).",
        "open_invoices": (
            f"Number of invoices open at the end of {as_of}: issued by then and with amount less the allocations "
            f"applied by then not zero (paid in part counts; paid in full by then or issued later does not), in "
            f"the selected ageing buckets (days past due by due date), {disputed}, of the selected customers and "
            "currencies. Credit notes are not counted (they reduce open_receivables but are not invoices). Per group "
            "the invoices of the group's customers (grouped by currency: in that currency); counted from the ledger."
        ),
        "rank_by": rank_by_definition(basis),
        "top_exposures": (
            f"The top_n customers ranked by {basis.rank_by} ({RANK_LABELS[basis.rank_by]}), largest first, only "
            "customers with a positive figure; ties by customer id. Each row shows receivables, overdue, disputed, "
            "open orders and exposure; share_pct is always exposure / gross exposure. group_by=customer lists the "
            "same customers in the same order; concentration always uses the 10 largest by exposure."
        ),
        "currency": f"All amounts in {c} at the latest rate on or before {as_of} (trend points too: constant rates).",
        "dso_change": (
            "ΔDSO from the previous month end to the as-of date = ΔBPDSO (payment terms and sales mix) + ΔADD "
            "(collections), each with the period's N months ending at that date."
        ),
    }


def trend_notes(sources: Sources) -> list[str]:
    notes = [
        f"Trend point {day} left out: no current snapshot for that month end (history is read from snapshots, "
        "never recomputed)."
        for day in sources.missing_trend
    ]
    if sources.kind == "live" and sources.previous_usable:
        notes.append(
            "Live figures computed from the ledger (no current snapshot for the as-of date). Sales and collections "
            f"of the complete months before the as-of month come from the {sources.previous_month_end} snapshot "
            "(current, so equal to the ledger); the month to date's sales from invoices, its collections from the "
            "ledger identity: receivables at that month end + sales − receivables at the as-of date."
        )
    elif sources.kind == "live":
        notes.append("Live figures computed from the ledger (no current snapshot for the as-of date).")
    return notes


# --- the tool -------------------------------------------------------------------------------------------------------


def sql_rates(session: Session, ctx: ToolContext, as_of: date) -> q.Rates:
    """Conversion factors for every currency with a rate, for ranking and minimum-balance comparisons in SQL."""
    scratch = FxConverter(session, ctx.reporting_currency, as_of)
    currencies = {code for pair in latest_rates_on(session, as_of) for code in pair} | {ctx.reporting_currency}
    factors: dict[str, Decimal] = {}
    for code in sorted(currencies):
        try:
            factors[code] = scratch.rate(code).rate
        except CreditDeskError:  # no path to the reporting currency: ranked at 1:1, converted exactly later
            continue
    return q.Rates(factors)


def basis_for(request: Request, policy: CreditPolicy, currency: str) -> Basis:
    over, over_label = over_90_buckets(policy)
    return Basis(
        currency=currency,
        period=request.period,
        buckets=request.selection.buckets,
        exclude_disputed=request.selection.exclude_disputed,
        include_orders=request.include_orders,
        labels=policy.ageing.bucket_labels(),
        over_90=over,
        over_90_label=over_label,
        grace_days=policy.promises.grace_days,
        rank_by=request.rank_by,
        count_open_invoices=request.count_open_invoices,
    )


def min_balance_for(session: Session, sources: Sources, selection: Selection, rates: q.Rates) -> Any:
    """The customers the balance-based filters (minimum balance, over the limit) leave in, as a subquery."""
    return q.customer_restriction(session, sources.ar_rows(), selection, rates)


def correct_counts(
    session: Session,
    request: Request,
    sources: Sources,
    groups: dict[GroupKey, Accumulator],
    multi: Sequence[int],
    group_by: GroupBy | None,
    min_balance: Any,
) -> None:
    """Snapshot row counts count a customer once per currency; take the extra rows of customers holding balances
    in several currencies off their groups."""
    if sources.kind != "snapshot" or not multi:
        return
    overlaps = q.count_overlaps(session, sources.as_of_dn, multi, request.selection, group_by, min_balance)
    for key, (extra, extra_credit) in overlaps.items():
        group = groups.setdefault(key, Accumulator())
        group.with_balance -= extra
        group.with_credit_balance -= extra_credit


def whole_book_counts(
    session: Session,
    request: Request,
    sources: Sources,
    results: dict[str, Any],
    multi: Sequence[int],
    min_balance: Any,
) -> tuple[int, int]:
    """Grouped by currency, a customer with balances in two currencies is in two groups but one customer overall."""
    if sources.kind == "live":
        live = q.live_summary(
            session, sources.ar_rows(), request.selection, None, request.rates, with_orders=False, limit=1
        )
        return sum(c.with_balance for c in live.cells), sum(c.with_credit_balance for c in live.cells)
    overall: dict[GroupKey, Accumulator] = {
        None: Accumulator(with_balance=sum(c.with_balance for c in results["all_counts"]))
    }
    overall[None].with_credit_balance = sum(c.with_credit_balance for c in results["all_counts"])
    correct_counts(session, request, sources, overall, multi, None, min_balance)
    return overall[None].with_balance, overall[None].with_credit_balance


@dataclass
class Collected:
    """Everything the answer is assembled from, in the reporting currency."""

    groups: dict[GroupKey, Accumulator]
    total: Accumulator
    exposures: list[Exposure]  # by exposure (concentration)
    trend: dict[date, TrendFigures]
    multi_currency: list[int]
    ranked: list[Exposure] = field(default_factory=list)  # by the request's rank_by (top list, customer groups)


def collect(
    session: Session, request: Request, sources: Sources, basis: Basis, fx: FxConverter, top_n: int
) -> Collected:
    selection = request.selection
    min_balance = min_balance_for(session, sources, selection, request.rates)
    extra: dict[str, Job] = {}
    if sources.trend_dates:
        extra["trend"] = trend_job(request, sources, min_balance, basis.over_90)
    if request.group_by == "currency" and sources.kind == "snapshot":
        extra["all_counts"] = totals_job(request, sources, selection, None, min_balance, flows=False) or (
            lambda s: q.snapshot_totals(
                s, sources.as_of_dn, selection, None, min_balance, request.period.months, flows=False
            )
        )
    rank_limit = max(top_n, TOP_CONCENTRATION) + RANKING_MARGIN
    data, results = gather(
        session, request, sources, selection, request.group_by_main, rank_limit=rank_limit, extra=extra
    )
    groups = accumulate(data, fx)
    multi = data.multi_currency or []
    correct_counts(session, request, sources, groups, multi, request.group_by_main, min_balance)
    total = total_of(groups.values())
    if request.group_by == "currency":
        total.with_balance, total.with_credit_balance = whole_book_counts(
            session, request, sources, results, multi, min_balance
        )
    candidates = [r.customer_id for r in (*data.ranked, *data.ranked_by_measure)] + multi
    figures_of = exact_exposures(session, request, sources, fx, candidates, min_balance)
    exposures = ranked_by(figures_of, "exposure")
    return Collected(
        groups=groups,
        total=total,
        exposures=exposures,
        trend=trend_figures(results.get("trend", []), fx, request.period.months),
        multi_currency=multi,
        ranked=exposures
        if request.rank_by == "exposure" and not request.smallest_first
        else ranked_by(figures_of, request.rank_by, smallest_first=request.smallest_first),
    )


def group_rows(
    session: Session,
    request: Request,
    sources: Sources,
    fx: FxConverter,
    collected: Collected,
    basis: Basis,
    top_n: int,
) -> list[GroupFigures]:
    if request.group_by == "customer":
        top = collected.ranked[:top_n]
        return customer_groups(session, request, sources, fx, top, collected, basis)
    if request.group_by is not None:
        return dimension_groups(session, request.group_by, collected.groups, basis)
    return []


def trend_points(collected: Collected, sources: Sources, at_as_of: TrendFigures, months: int) -> list[TrendPoint]:
    wanted = set(q.month_ends_before(at_as_of.as_of, months))
    points = [collected.trend[d].point("snapshot") for d in sorted(collected.trend) if d in wanted]
    return [*points, at_as_of.point(sources.kind)]


@tool(
    name="get_portfolio_summary",
    kind="read",
    input_model=PortfolioSummaryInput,
    output_model=PortfolioSummary,
    roles=CREDIT_ROLES,
)
def get_portfolio_summary(session: Session, ctx: ToolContext, args: PortfolioSummaryInput) -> PortfolioSummary:
    """Portfolio KPIs at a date for the whole book or a filtered part of it (region, country, segment, collector,
    risk class, credit status, currency, broken promises, disputed excluded, days-past-due range, minimum balance,
    customers over their credit limit), optionally per group:
    receivables, ageing, exposure, open invoices (count), DSO (simple and count-back), best possible DSO, ADD, CEI,
    % current, % over 90 days, promise kept rate, dispute cycle time, top customers ranked by exposure, open
    receivables, overdue or disputed amount (rank_by; largest or smallest first), payers ranked by days late
    (payers), concentration, month-end trend and the DSO change split into terms/mix and collections. Reporting
    currency with the FX rates used; every definition stated."""
    summary = _summary(session, ctx, args)
    if args.compare_to is not None:
        if args.compare_to >= summary.as_of:
            raise invalid_input(f"compare_to {args.compare_to} must be before the as-of date {summary.as_of}")
        earlier = args.model_copy(
            update={
                "as_of": args.compare_to,
                "period_end": None,
                "period_start": args.compare_period_start,
                "period_months": None if args.compare_period_start else summary.period.months,
                "compare_to": None,
                "compare_period_start": None,
                "activity_period_start": _earlier_activity_start(args, summary.as_of, args.compare_to),
                "trend_months": 0,
                "chart": "none",
                "payers": None,
            }
        )
        then = _summary(session, ctx, earlier)
        summary.compared = ComparedFigures(
            as_of=then.as_of, period=then.period, totals=then.totals, data_source=then.data_source, notes=then.notes
        )
        summary.definitions["compared"] = (
            "The same query (same filters and measures) at compare_to, over a period of as many months ending then."
        )
    return summary


def _earlier_activity_start(args: PortfolioSummaryInput, as_of: date, earlier: date) -> date | None:
    """As many months of promises and disputes, ending at the earlier date."""
    if args.activity_period_start is None:
        return None
    start = args.activity_period_start
    months = (as_of.year - start.year) * 12 + as_of.month - start.month + 1
    return add_months(month_start(earlier), -(months - 1))


def _summary(session: Session, ctx: ToolContext, args: PortfolioSummaryInput) -> PortfolioSummary:
    policy = load_policy()
    as_of = ctx.resolve_as_of(args.as_of or args.period_end)
    tune_session(session)
    fx = FxConverter(session, ctx.reporting_currency, as_of)
    request = resolve_request(session, ctx, args, policy, sql_rates(session, ctx, as_of))
    basis = basis_for(request, policy, ctx.reporting_currency)
    sources = plan_sources(session, request, args.trend_months)
    collected = collect(session, request, sources, basis, fx, args.top_n)
    total = collected.total
    # Shares are of the gross exposure: credit balances are not netted against what others owe.
    gross_exposure = (
        sum((core_bucket(total, i, basis) for i in basis.buckets), Decimal(0)) + total.orders - total.credit_balances
    )
    at_as_of = figures_at_as_of(total, basis)
    previous = collected.trend.get(sources.previous_month_end)
    change = dso_change(previous, at_as_of) if previous is not None else None
    summary = PortfolioSummary(
        as_of=as_of,
        period=PeriodInfo(
            start=request.period.start, end=as_of, days=request.period.days, months=request.period.months
        ),
        reporting_currency=ctx.reporting_currency,
        filters_applied=request.filters,
        group_by=args.group_by,
        rank_by=args.rank_by,
        rank_order=args.rank_order,
        totals=figures(total, basis),
        groups=group_rows(session, request, sources, fx, collected, basis, args.top_n),
        top_exposures=top_exposure_rows(session, collected.ranked, gross_exposure, args.top_n),
        concentration=concentration(collected.exposures, gross_exposure, ctx.reporting_currency),
        trend=trend_points(collected, sources, at_as_of, args.trend_months),
        dso_change=change,
        fx_rates=sorted(fx.rates_used(), key=lambda used: used.from_currency),
        data_source=sources.kind,
        chart=None,
        notes=[*request.notes, *trend_notes(sources), *_change_notes(previous, change, sources)],
        definitions=definitions(basis, policy, as_of) | request.definitions,
        policy_version=policy.version,
    )
    if request.activity_start != request.period.start:
        months = (as_of.year - request.activity_start.year) * 12 + as_of.month - request.activity_start.month + 1
        days = (as_of - request.activity_start).days + 1
        summary.activity_period = PeriodInfo(start=request.activity_start, end=as_of, days=days, months=months)
    if args.payers is not None:
        summary.payers = rank_payers(
            session,
            request.selection,
            min_balance_for(session, sources, request.selection, request.rates),
            request.rates,
            fx,
            window=(request.period.start, as_of),
            order=args.payers,
            top_n=args.top_n,
        )
        summary.definitions["payers"] = summary.payers.definition
    summary.chart = render_chart(ctx, args, summary)
    return summary


def dimension_groups(
    session: Session, group_by: GroupBy, groups: dict[GroupKey, Accumulator], basis: Basis
) -> list[GroupFigures]:
    ids = [int(k) for k in groups if k is not None] if group_by == "collector" else []
    names = q.staff_names(session, ids)
    return [
        GroupFigures(
            key=None if key is None else str(key), label=group_label(group_by, key, names), figures=figures(a, basis)
        )
        for key, a in sorted_groups(groups, basis)
    ]


def _change_notes(previous: TrendFigures | None, change: DsoChange | None, sources: Sources) -> list[str]:
    if previous is None:
        return [f"No DSO change: the {sources.previous_month_end} snapshot is missing or not current."]
    if change is None:
        return [f"No DSO change: DSO is not defined at {sources.previous_month_end} or at the as-of date."]
    return []


def customer_groups(
    session: Session,
    request: Request,
    sources: Sources,
    fx: FxConverter,
    top: Sequence[Exposure],
    collected: Collected,
    basis: Basis,
) -> list[GroupFigures]:
    """group_by=customer: the top customers by rank_by, each with every KPI, and the rest as 'Other customers'."""
    ids = [e.customer_id for e in top]
    if not ids:
        return []
    selection = request.selection.restricted_to(ids)
    data, _ = gather(session, request, sources, selection, "customer", rank_limit=None)
    groups = accumulate(data, fx)
    multi = [i for i in collected.multi_currency if i in ids]
    correct_counts(session, request, sources, groups, multi, "customer", None)
    info = q.customer_info(session, ids)
    rows = []
    rest = Accumulator()
    rest.add(collected.total)
    for customer_id in ids:
        a = groups.get(customer_id, Accumulator())
        rest.add(a, sign=-1)
        rows.append(GroupFigures(key=str(customer_id), label=info[customer_id].name, figures=figures(a, basis)))
    rows.append(GroupFigures(key=None, label="Other customers", figures=figures(rest, basis)))
    return rows


TOOLS = [get_portfolio_summary]
