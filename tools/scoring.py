"""Credit scoring: a transparent scorecard 0–100 → risk class A–E, per customer and for the whole book.

Eight factors from `policy.scoring` (payment behaviour, trend, utilisation, disputes, bureau PAYDEX, financial
tests, relationship length). Each maps a measured value to 0–100 points through the policy's bands; a factor
without data scores the policy's neutral points and says so. The score is Σ weight × points / 100 and the class
comes from `policy.risk_classes`. Point in time: only rows dated on or before the as-of date count.

The maths is one pure function (`compute_scorecard`) over `ScoreInputs`. The conversational tool builds the
inputs for one customer (utilisation from the exposure tool); `refresh_scores` builds them for every customer with
set-based queries sharing the same SQL, scores them all and writes the history in one transaction. A test keeps
the two paths equal.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from core.dates import add_months, business_today, end_of_day_utc, utcnow
from core.errors import CreditDeskError, ErrorCode, invalid_input
from core.money import quantize
from core.settings import get_settings
from db.engine import read_session, write_session
from db.models import Customer
from db.queries.scoring import (
    BureauRow,
    CustomerRow,
    FinancialsRow,
    WindowAggregate,
    all_customers,
    credit_limits_at,
    disputed_invoices,
    insert_scores,
    latest_bureau_reports,
    latest_financials,
    open_order_totals,
    open_receivables,
    score_history,
    update_latest_scores,
    window_aggregates,
)
from tools.context import ToolContext
from tools.customers import resolve_customer_reference
from tools.exposure import compute_customer_exposure
from tools.fx import FxConverter, FxRateUsed
from tools.payment_model import (
    PaymentModel,
    load_payment_model,
    load_sources,
    model_applies,
    next_invoice_probabilities,
)
from tools.policy import Band, CreditPolicy, RiskClassBand, ScoringFactor, load_policy
from tools.registry import CREDIT_ROLES, tool
from tools.schemas import AsOfDate, CustomerReference, CustomerSummary

TREND_TOLERANCE = 3  # score points: a smaller move against the previous stored score counts as stable
TOP_REASONS = 3
ONE_DECIMAL = Decimal("0.1")
HUNDRED = Decimal(100)
DAYS_PER_YEAR = Decimal("365.25")


@dataclass(frozen=True)
class FactorText:
    label: str
    unit: str
    weak_code: str  # reason code when the factor costs points on measured data
    missing_code: str  # reason code when it scores neutral for lack of data


FACTOR_TEXTS: dict[str, FactorText] = {
    "average_days_late": FactorText("Average days late", "days", "LATE_PAYMENT", "THIN_PAYMENT_HISTORY"),
    "share_paid_late": FactorText("Share of invoices paid late", "%", "FREQUENT_LATE_PAYMENT", "THIN_PAYMENT_HISTORY"),
    "lateness_trend": FactorText("Lateness trend", "days", "WORSENING_PAYMENT_TREND", "THIN_PAYMENT_HISTORY"),
    "utilisation": FactorText("Credit utilisation", "%", "HIGH_UTILISATION", "NO_CREDIT_LIMIT"),
    "dispute_rate": FactorText("Dispute rate", "%", "FREQUENT_DISPUTES", "FEW_INVOICES"),
    "bureau_paydex": FactorText("Bureau PAYDEX", "PAYDEX", "WEAK_BUREAU", "NO_BUREAU_DATA"),
    "financial_strength": FactorText("Financial strength", "test points", "WEAK_FINANCIALS", "NO_FINANCIALS"),
    "relationship_years": FactorText("Relationship length", "years", "SHORT_RELATIONSHIP", "NO_RELATIONSHIP_DATE"),
}


# --- inputs of the pure scorecard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaidTotals:
    """Invoices settled in the window, amounts converted into the customer's currency."""

    invoices: int = 0
    late_invoices: int = 0  # settled more than policy.scoring.share_late_after_days after due
    amount: Decimal = Decimal(0)
    weighted_days: Decimal = Decimal(0)  # Σ amount × days late
    recent_invoices: int = 0  # settled in the last policy.scoring.trend_recent_months
    recent_amount: Decimal = Decimal(0)
    recent_weighted_days: Decimal = Decimal(0)


@dataclass(frozen=True)
class UtilisationFacts:
    total_exposure: Decimal
    credit_limit: Decimal | None  # in the customer's currency
    utilisation_pct: Decimal | None


@dataclass(frozen=True)
class ScoreInputs:
    customer_id: int
    currency: str
    customer_since: date | None
    paid: PaidTotals
    issued_invoices: int
    disputed_invoices: int
    utilisation: UtilisationFacts
    bureau: BureauRow | None
    financials: FinancialsRow | None


@dataclass(frozen=True)
class ScoringWindow:
    start: date  # exclusive
    recent_start: date  # exclusive
    end: date  # inclusive (the as-of date)

    @classmethod
    def for_policy(cls, policy: CreditPolicy, as_of: date) -> ScoringWindow:
        return cls(
            start=add_months(as_of, -policy.scoring.history_months),
            recent_start=add_months(as_of, -policy.scoring.trend_recent_months),
            end=as_of,
        )


# --- the pure scorecard -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactorResult:
    code: str
    value: Decimal | None
    points: int
    weight: int
    neutral: bool
    band: str
    reason: str
    contribution: Decimal  # weight × points / 100
    points_lost: Decimal  # weight − contribution

    @classmethod
    def of(
        cls, code: str, value: Decimal | None, points: int, weight: int, neutral: bool, band: str, reason: str
    ) -> FactorResult:
        contribution = Decimal(weight * points) / HUNDRED
        return cls(code, value, points, weight, neutral, band, reason, contribution, weight - contribution)

    @property
    def reason_code(self) -> str | None:
        """Why the factor costs points: missing data or a weak measurement; None when it costs nothing."""
        if self.points_lost <= 0:
            return None
        text = FACTOR_TEXTS[self.code]
        return text.missing_code if self.neutral else text.weak_code


@dataclass(frozen=True)
class Scorecard:
    score: int
    unrounded: Decimal
    band: RiskClassBand
    factors: tuple[FactorResult, ...]

    def top_reasons(self, count: int = TOP_REASONS) -> list[FactorResult]:
        """The factors that cost the most points against their maximum (ties: policy order)."""
        costly = [f for f in self.factors if f.points_lost > 0]
        return sorted(costly, key=lambda f: -f.points_lost)[:count]


def _band_text(band: Band) -> str:
    if band.max is not None:
        return f"≤ {band.max} → {band.points} points"
    if band.min is not None:
        return f"≥ {band.min} → {band.points} points"
    return f"otherwise → {band.points} points"


# Band texts per policy factor object (kept alongside it, so a reloaded policy gets its own table).
_band_tables: dict[int, tuple[ScoringFactor, list[tuple[Band, str]]]] = {}


def _band_table(factor: ScoringFactor) -> list[tuple[Band, str]]:
    cached = _band_tables.get(id(factor))
    if cached is None or cached[0] is not factor:
        cached = (factor, [(band, _band_text(band)) for band in factor.bands])
        _band_tables[id(factor)] = cached
    return cached[1]


def _banded(code: str, factor: ScoringFactor, value: Decimal, reason: str) -> FactorResult:
    band, text = next(entry for entry in _band_table(factor) if entry[0].matches(value))
    return FactorResult.of(code, value, band.points, factor.weight, False, text, reason)


def _neutral(code: str, policy: CreditPolicy, reason: str) -> FactorResult:
    points = policy.scoring.neutral_points
    weight = policy.scoring.factors[code].weight
    return FactorResult.of(code, None, points, weight, True, f"no data → neutral {points} points", reason)


def _one_decimal(value: Decimal) -> Decimal:
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _thin_history(policy: CreditPolicy, inputs: ScoreInputs) -> str | None:
    minimum = policy.scoring.min_paid_invoices
    paid = inputs.paid
    if paid.invoices < minimum:
        return (
            f"only {paid.invoices} invoice(s) paid in the last {policy.scoring.history_months} months (fewer than "
            f"{minimum}): payment behaviour is not scored yet"
        )
    if paid.amount <= 0:
        return "the invoices paid in the window carry no amount: days late cannot be weighted"
    return None


def _average_days_late(policy: CreditPolicy, _as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    thin = _thin_history(policy, inputs)
    if thin:
        return _neutral(code, policy, thin)
    value = _one_decimal(inputs.paid.weighted_days / inputs.paid.amount)
    timing = f"{value} days after due" if value > 0 else f"{-value} days before due" if value < 0 else "on the due date"
    reason = f"invoices paid in the last {policy.scoring.history_months} months were paid on average {timing} "
    return _banded(code, policy.scoring.factors[code], value, reason + f"({inputs.paid.invoices} invoices)")


def _share_paid_late(policy: CreditPolicy, _as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    thin = _thin_history(policy, inputs)
    if thin:
        return _neutral(code, policy, thin)
    paid = inputs.paid
    value = _one_decimal(Decimal(paid.late_invoices) * HUNDRED / paid.invoices)
    reason = (
        f"{paid.late_invoices} of {paid.invoices} paid invoices ({value}%) were settled more than "
        f"{policy.scoring.share_late_after_days} days after due"
    )
    return _banded(code, policy.scoring.factors[code], value, reason)


def _lateness_trend(policy: CreditPolicy, _as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    thin = _thin_history(policy, inputs)
    if thin:
        return _neutral(code, policy, thin)
    paid = inputs.paid
    earlier_amount = paid.amount - paid.recent_amount
    recent_months = policy.scoring.trend_recent_months
    earlier_months = policy.scoring.history_months - recent_months
    if paid.recent_invoices == 0 or paid.recent_amount <= 0 or earlier_amount <= 0:
        period = f"last {recent_months} months" if paid.recent_invoices == 0 else f"{earlier_months} months before"
        return _neutral(code, policy, f"no invoice was paid in the {period}: no trend to measure")
    recent = paid.recent_weighted_days / paid.recent_amount
    earlier = (paid.weighted_days - paid.recent_weighted_days) / earlier_amount
    value = _one_decimal(recent - earlier)
    direction = "later" if value > 0 else "earlier" if value < 0 else "the same"
    reason = (
        f"paid {_one_decimal(recent)} days late on average in the last {recent_months} months against "
        f"{_one_decimal(earlier)} in the {earlier_months} months before ({abs(value)} days {direction})"
        if value
        else f"paid {_one_decimal(recent)} days late on average, as in the {earlier_months} months before"
    )
    return _banded(code, policy.scoring.factors[code], value, reason)


def _utilisation(policy: CreditPolicy, _as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    facts = inputs.utilisation
    if facts.utilisation_pct is None:
        return _neutral(code, policy, "no credit limit above zero in force at the as-of date: utilisation undefined")
    reason = (
        f"exposure {facts.total_exposure} {inputs.currency} against a limit of {facts.credit_limit} "
        f"{inputs.currency} ({facts.utilisation_pct}% used)"
    )
    return _banded(code, policy.scoring.factors[code], facts.utilisation_pct, reason)


def _dispute_rate(policy: CreditPolicy, _as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    minimum = policy.scoring.min_paid_invoices
    months = policy.scoring.history_months
    if inputs.issued_invoices < minimum:
        return _neutral(
            code, policy, f"only {inputs.issued_invoices} invoice(s) issued in the last {months} months: too few"
        )
    value = _one_decimal(Decimal(inputs.disputed_invoices) * HUNDRED / inputs.issued_invoices)
    reason = f"{inputs.disputed_invoices} of {inputs.issued_invoices} invoices issued in the last {months} months "
    return _banded(code, policy.scoring.factors[code], value, reason + f"were disputed ({value}%)")


def _bureau_paydex(policy: CreditPolicy, _as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    report = inputs.bureau
    if report is None:
        return _neutral(code, policy, "no bureau report on or before the as-of date")
    if report.paydex is None:
        return _neutral(code, policy, f"the {report.agency} report of {report.report_date} has no PAYDEX")
    value = Decimal(report.paydex)
    reason = f"PAYDEX {report.paydex} in the {report.agency} report of {report.report_date} (80 = pays promptly)"
    return _banded(code, policy.scoring.factors[code], value, reason)


@dataclass(frozen=True)
class FinancialTestResult:
    name: str
    ratio: Decimal | None
    threshold: Decimal
    passed: bool
    points: int
    text: str


def financial_tests(policy: CreditPolicy, statement: FinancialsRow) -> list[FinancialTestResult]:
    """policy.scoring.financial_tests over one statement; a ratio that cannot be computed fails its test."""
    tests = policy.scoring.financial_tests
    results = []
    current = tests["current_ratio_min"]
    ratio = (
        (statement.current_assets / statement.current_liabilities).quantize(Decimal("0.01"))
        if statement.current_liabilities > 0
        else None
    )
    results.append(_test("current ratio", ratio, current.threshold, current.points, at_least=True))
    debt = tests["debt_to_assets_max_pct"]
    leverage = (
        _one_decimal(statement.total_liabilities * HUNDRED / statement.total_assets)
        if statement.total_assets > 0
        else None
    )
    results.append(_test("debt to assets %", leverage, debt.threshold, debt.points, at_least=False))
    margin_test = tests["net_margin_min_pct"]
    margin = _one_decimal(statement.net_income * HUNDRED / statement.revenue) if statement.revenue > 0 else None
    results.append(_test("net margin %", margin, margin_test.threshold, margin_test.points, at_least=True))
    return results


def _test(name: str, ratio: Decimal | None, threshold: Decimal, points: int, *, at_least: bool) -> FinancialTestResult:
    if ratio is None:
        return FinancialTestResult(name, None, threshold, False, 0, f"{name} not computable (zero denominator): 0")
    passed = ratio >= threshold if at_least else ratio <= threshold
    sign = "≥" if at_least else "≤"
    mark = f"+{points}" if passed else "0"
    verdict = "passes" if passed else "fails"
    return FinancialTestResult(
        name, ratio, threshold, passed, points if passed else 0, f"{name} {ratio} {verdict} {sign} {threshold}: {mark}"
    )


def _financial_strength(policy: CreditPolicy, _as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    statement = inputs.financials
    if statement is None:
        return _neutral(code, policy, "no financial statement with a period end on or before the as-of date")
    results = financial_tests(policy, statement)
    points = min(100, sum(r.points for r in results))
    reason = f"statement for the period ending {statement.period_end}: " + "; ".join(r.text for r in results)
    weight = policy.scoring.factors[code].weight
    return FactorResult.of(code, Decimal(points), points, weight, False, "sum of passed tests (max 100)", reason)


def _relationship_years(policy: CreditPolicy, as_of: date, inputs: ScoreInputs, code: str) -> FactorResult:
    since = inputs.customer_since
    if since is None:
        return _neutral(code, policy, "the customer record has no relationship start date")
    value = _one_decimal(Decimal(max(0, (as_of - since).days)) / DAYS_PER_YEAR)
    return _banded(code, policy.scoring.factors[code], value, f"customer since {since} ({value} years)")


FactorFunction = Callable[[CreditPolicy, date, ScoreInputs, str], FactorResult]


FACTOR_FUNCTIONS: dict[str, FactorFunction] = {
    "average_days_late": _average_days_late,
    "share_paid_late": _share_paid_late,
    "lateness_trend": _lateness_trend,
    "utilisation": _utilisation,
    "dispute_rate": _dispute_rate,
    "bureau_paydex": _bureau_paydex,
    "financial_strength": _financial_strength,
    "relationship_years": _relationship_years,
}


def compute_scorecard(policy: CreditPolicy, as_of: date, inputs: ScoreInputs) -> Scorecard:
    """Score one customer from its measured inputs: every policy factor, Σ weight × points / 100, the class."""
    factors = []
    for code in policy.scoring.factors:
        function = FACTOR_FUNCTIONS.get(code)
        if function is None:
            raise CreditDeskError(ErrorCode.NOT_CONFIGURED, f"policy scoring factor {code!r} is not implemented")
        factors.append(function(policy, as_of, inputs, code))
    unrounded = sum((f.contribution for f in factors), Decimal(0))
    score = max(0, min(100, int(unrounded.quantize(Decimal(1), rounding=ROUND_HALF_UP))))
    return Scorecard(score, unrounded, policy.risk_class_for(score), tuple(factors))


# --- building the inputs: one customer (tool) or the whole book (refresh) ----------------------------------------


def paid_totals(rows: Iterable[WindowAggregate], currency: str, fx: FxConverter) -> PaidTotals:
    """Sum a customer's per-currency window aggregates in its own currency (each total converted once)."""
    invoices = late = recent = 0
    amount = weighted = recent_amount = recent_weighted = Decimal(0)
    for row in rows:

        def convert(value: Decimal, source: str = row.currency) -> Decimal:
            return fx.convert_between(value, source, currency)

        invoices += row.paid
        late += row.paid_late
        recent += row.recent_paid
        amount += convert(row.amount)
        weighted += convert(row.weighted_days)
        recent_amount += convert(row.recent_amount)
        recent_weighted += convert(row.recent_weighted_days)
    return PaidTotals(invoices, late, amount, weighted, recent, recent_amount, recent_weighted)


def customer_score_inputs(
    session: Session, ctx: ToolContext, customer: Customer, as_of: date, fx: FxConverter
) -> tuple[ScoreInputs, UtilisationFacts]:
    """The scorecard inputs of one customer; utilisation is the exposure tool's figure."""
    policy = load_policy()
    window = ScoringWindow.for_policy(policy, as_of)
    rows = window_aggregates(
        session,
        window_start=window.start,
        recent_start=window.recent_start,
        as_of=as_of,
        late_after_days=policy.scoring.share_late_after_days,
        customer_id=customer.id,
    )
    disputed = disputed_invoices(
        session, window_start=window.start, as_of=as_of, moment=end_of_day_utc(as_of), customer_id=customer.id
    )
    figures = compute_customer_exposure(session, ctx, customer, as_of, include_group=False).figures
    utilisation = UtilisationFacts(figures.total_exposure, figures.credit_limit, figures.utilisation_pct)
    inputs = ScoreInputs(
        customer_id=customer.id,
        currency=customer.currency,
        customer_since=customer.customer_since,
        paid=paid_totals(rows, customer.currency, fx),
        issued_invoices=sum(row.issued for row in rows),
        disputed_invoices=disputed.get(customer.id, 0),
        utilisation=utilisation,
        bureau=latest_bureau_reports(session, as_of, customer.id).get(customer.id),
        financials=latest_financials(session, as_of, customer.id).get(customer.id),
    )
    return inputs, utilisation


def book_utilisation(
    session: Session,
    policy: CreditPolicy,
    customers: list[CustomerRow],
    as_of: date,
    today: date,
    fx: FxConverter,
) -> dict[int, UtilisationFacts]:
    """Every customer's utilisation with the exposure tool's definition, from three set-based queries."""
    currency = {c.id: c.currency for c in customers}
    receivables: dict[int, Decimal] = defaultdict(Decimal)
    for row in open_receivables(session, as_of, include_disputed=policy.exposure.include_disputed_items):
        own = currency[row.customer_id]
        converted = (
            row.open_amount if row.invoice_id is None else fx.convert_between(row.open_amount, row.currency, own)
        )
        receivables[row.customer_id] += converted
    # Orders count only for today: no order history is kept (the exposure tool's rule).
    orders = open_order_totals(session) if as_of >= today and policy.exposure.include_open_orders else {}
    limits = credit_limits_at(session, end_of_day_utc(as_of))
    facts = {}
    for customer in customers:
        total = quantize(receivables[customer.id]) + quantize(orders.get(customer.id, Decimal(0)))
        limit = limits.get(customer.id)
        amount = fx.convert_between(limit.amount, limit.currency, customer.currency) if limit is not None else None
        # Same arithmetic (and context rounding) as the exposure tool's utilisation.
        pct = (total * 100 / amount).quantize(ONE_DECIMAL) if amount is not None and amount > 0 else None
        facts[customer.id] = UtilisationFacts(total, amount, pct)
    return facts


def book_score_inputs(
    session: Session, policy: CreditPolicy, as_of: date, today: date, fx: FxConverter
) -> dict[int, ScoreInputs]:
    """The scorecard inputs of every customer, from set-based aggregates over the whole book."""
    customers = all_customers(session)
    window = ScoringWindow.for_policy(policy, as_of)
    windows: dict[int, list[WindowAggregate]] = defaultdict(list)
    for row in window_aggregates(
        session,
        window_start=window.start,
        recent_start=window.recent_start,
        as_of=as_of,
        late_after_days=policy.scoring.share_late_after_days,
    ):
        windows[row.customer_id].append(row)
    disputed = disputed_invoices(session, window_start=window.start, as_of=as_of, moment=end_of_day_utc(as_of))
    utilisation = book_utilisation(session, policy, customers, as_of, today, fx)
    bureau = latest_bureau_reports(session, as_of)
    financials = latest_financials(session, as_of)
    inputs = {}
    for customer in customers:
        rows = windows.get(customer.id, [])
        inputs[customer.id] = ScoreInputs(
            customer_id=customer.id,
            currency=customer.currency,
            customer_since=customer.customer_since,
            paid=paid_totals(rows, customer.currency, fx),
            issued_invoices=sum(row.issued for row in rows),
            disputed_invoices=disputed.get(customer.id, 0),
            utilisation=utilisation[customer.id],
            bureau=bureau.get(customer.id),
            financials=financials.get(customer.id),
        )
    return inputs


@dataclass(frozen=True)
class LateProbabilities:
    probabilities: dict[int, float]
    model: PaymentModel | None
    applies: bool
    note: str


def late_probabilities(session: Session, as_of: date, customer_ids: list[int] | None = None) -> LateProbabilities:
    """P(next invoice paid late beyond the model's threshold) per customer, if a usable model is saved."""
    model = load_payment_model(session=session)
    applies, note = model_applies(model, as_of)
    if not applies or model is None:
        return LateProbabilities({}, model, False, note)
    sources = load_sources(session, as_of, customer_ids)
    return LateProbabilities(next_invoice_probabilities(sources, model, as_of), model, True, note)


# --- the conversational tool --------------------------------------------------------------------------------------


class ScoreCustomerInput(BaseModel):
    customer: CustomerReference
    as_of: AsOfDate = None
    history_points: int = Field(default=12, ge=0, le=60, description="Stored past scores to show.")
    compare_to: date | None = None  # also scored at this earlier date, point in time, to compare

    @model_validator(mode="after")
    def _compare_before_as_of(self) -> ScoreCustomerInput:
        if self.compare_to is not None and self.as_of is not None and self.compare_to >= self.as_of:
            raise ValueError("compare_to must be before as_of")
        return self


class ScoreFactor(BaseModel):
    code: str = Field(description="Policy factor key, e.g. average_days_late")
    label: str
    value: Decimal | None = Field(description="Measured value (None when the data is missing)")
    unit: str
    points: int = Field(description="0–100 points from the policy bands (neutral points when data is missing)")
    weight: int = Field(description="Policy weight; the weights sum to 100")
    contribution: Decimal = Field(description="weight × points / 100: this factor's share of the score")
    points_lost: Decimal = Field(description="weight − contribution: what the factor costs against its maximum")
    neutral: bool = Field(description="True when the factor had no data and scored the neutral points")
    band: str = Field(description="The band that matched")
    reason: str
    reason_code: str | None = Field(description="Set when the factor costs points (see reason_codes)")


class ReasonCode(BaseModel):
    code: str = Field(description="e.g. LATE_PAYMENT, HIGH_UTILISATION, WEAK_BUREAU, NO_FINANCIALS")
    factor: str
    points_lost: Decimal
    reason: str


class LatePaymentPrediction(BaseModel):
    available: bool
    probability: float | None = Field(
        default=None, description="P(the next invoice is paid more than late_threshold_days late), 0–1"
    )
    late_threshold_days: int | None = None
    model_version: str | None = None
    trained_on_data_up_to: date | None = None
    held_out_auc: float | None = None
    held_out_brier: float | None = None
    note: str


class ScoreHistoryPoint(BaseModel):
    as_of: date
    scored_at: datetime
    score: int
    risk_class: str
    late_probability: float | None
    scorecard_version: str


class ScoreTrend(BaseModel):
    direction: Literal["improving", "stable", "deteriorating", "no_history"]
    previous_as_of: date | None = None
    previous_score: int | None = None
    previous_risk_class: str | None = None
    change_points: int | None = None
    explanation: str


class FactorMove(BaseModel):
    code: str
    label: str
    contribution_then: Decimal
    contribution_now: Decimal
    change: Decimal = Field(description="contribution now − then, in score points")


class ScoreComparison(BaseModel):
    as_of: date = Field(description="The earlier date, scored with the rows dated on or before it")
    score: int
    risk_class: str
    risk_class_label: str
    change_points: int = Field(description="score at as_of − score at this earlier date")
    class_changed: bool
    moves: list[FactorMove] = Field(description="Factors whose contribution changed, largest change first")


class ScoreWindow(BaseModel):
    paid_from: date = Field(description="Invoices settled after this date and on or before as_of count")
    recent_from: date = Field(description="Start (exclusive) of the recent period of the lateness trend")
    paid_invoices: int
    invoices_issued: int
    invoices_disputed: int


class UtilisationBasis(BaseModel):
    currency: str
    total_exposure: Decimal
    credit_limit: Decimal | None
    utilisation_pct: Decimal | None


class CustomerScore(BaseModel):
    customer: CustomerSummary
    as_of: date
    score: int = Field(description="Scorecard points 0–100 (higher = safer), Σ contributions rounded half up")
    score_unrounded: Decimal
    risk_class: str
    risk_class_label: str
    review_months: int = Field(description="Credit review cadence for this class (policy.risk_classes)")
    factors: list[ScoreFactor]
    reason_codes: list[ReasonCode] = Field(description="The factors that cost the most points, worst first")
    late_payment: LatePaymentPrediction
    window: ScoreWindow
    utilisation_basis: UtilisationBasis
    trend: ScoreTrend
    compared: ScoreComparison | None = Field(default=None, description="The score at compare_to, when asked")
    history: list[ScoreHistoryPoint] = Field(description="Stored scores (credit_score), newest first")
    fx_rates: list[FxRateUsed] = Field(description="Rates used to bring other-currency amounts into the customer's")
    definitions: list[str]
    policy_version: str
    scorecard_version: str


def factor_models(card: Scorecard) -> list[ScoreFactor]:
    return [
        ScoreFactor(
            code=f.code,
            label=FACTOR_TEXTS[f.code].label,
            value=f.value,
            unit=FACTOR_TEXTS[f.code].unit,
            points=f.points,
            weight=f.weight,
            contribution=f.contribution,
            points_lost=f.points_lost,
            neutral=f.neutral,
            band=f.band,
            reason=f.reason,
            reason_code=f.reason_code,
        )
        for f in card.factors
    ]


def reason_codes(card: Scorecard) -> list[ReasonCode]:
    return [
        ReasonCode(code=f.reason_code or "", factor=f.code, points_lost=f.points_lost, reason=f.reason)
        for f in card.top_reasons()
    ]


def _prediction(result: LateProbabilities, customer_id: int) -> LatePaymentPrediction:
    model = result.model
    if not result.applies or model is None:
        return LatePaymentPrediction(available=False, note=result.note)
    meta = model.metadata
    probability = result.probabilities.get(customer_id)
    common = {
        "late_threshold_days": meta.late_threshold_days,
        "model_version": meta.version,
        "trained_on_data_up_to": meta.as_of,
        "held_out_auc": meta.metrics.auc,
        "held_out_brier": meta.metrics.brier,
    }
    if probability is None:
        note = "the customer has no invoice history to describe a typical next invoice"
        return LatePaymentPrediction(available=False, note=note, **common)
    note = (
        f"{result.note}; the next invoice is taken as issued the day after the as-of date, for the customer's "
        "average invoice amount, on its payment terms"
    )
    return LatePaymentPrediction(available=True, probability=probability, note=note, **common)


def _compared(
    session: Session, ctx: ToolContext, customer: Customer, card: Scorecard, earlier: date | None, as_of: date
) -> ScoreComparison | None:
    if earlier is None:
        return None
    if earlier >= as_of:
        raise invalid_input("compare_to must be before the as-of date")
    fx = FxConverter(session, ctx.reporting_currency, earlier)
    then = compute_scorecard(load_policy(), earlier, customer_score_inputs(session, ctx, customer, earlier, fx)[0])
    before = {f.code: f.contribution for f in then.factors}
    moves = [
        FactorMove(
            code=f.code,
            label=FACTOR_TEXTS[f.code].label,
            contribution_then=before.get(f.code, Decimal(0)),
            contribution_now=f.contribution,
            change=f.contribution - before.get(f.code, Decimal(0)),
        )
        for f in card.factors
        if f.contribution != before.get(f.code, Decimal(0))
    ]
    return ScoreComparison(
        as_of=earlier,
        score=then.score,
        risk_class=then.band.risk_class,
        risk_class_label=then.band.label,
        change_points=card.score - then.score,
        class_changed=card.band.risk_class != then.band.risk_class,
        moves=sorted(moves, key=lambda m: (-abs(m.change), m.code)),
    )


def _trend(card: Scorecard, as_of: date, history: list[ScoreHistoryPoint]) -> ScoreTrend:
    previous = next((point for point in history if point.as_of < as_of), None)
    if previous is None:
        return ScoreTrend(direction="no_history", explanation="no stored score before the as-of date")
    change = card.score - previous.score
    direction: Literal["improving", "stable", "deteriorating"] = (
        "improving" if change >= TREND_TOLERANCE else "deteriorating" if change <= -TREND_TOLERANCE else "stable"
    )
    moved = (
        f"class {previous.risk_class} → {card.band.risk_class}"
        if previous.risk_class != card.band.risk_class
        else (f"class {card.band.risk_class} unchanged")
    )
    return ScoreTrend(
        direction=direction,
        previous_as_of=previous.as_of,
        previous_score=previous.score,
        previous_risk_class=previous.risk_class,
        change_points=change,
        explanation=f"{previous.score} on {previous.as_of} → {card.score} now ({change:+d} points, {moved}); "
        f"moves under {TREND_TOLERANCE} points count as stable",
    )


def scoring_definitions(policy: CreditPolicy) -> list[str]:
    months = policy.scoring.history_months
    recent_months = policy.scoring.trend_recent_months
    late_after = policy.scoring.share_late_after_days
    classes = ", ".join(f"{b.risk_class} ≥ {b.min_score}" for b in policy.risk_classes)
    return [
        f"Score = Σ weight × points / 100 over the policy factors (weights sum to 100), rounded half up; "
        f"classes {classes} (scorecard {policy.scoring.version}).",
        f"Payment behaviour: invoices (not credit notes) settled in the {months} months up to the as-of date; "
        f"fewer than {policy.scoring.min_paid_invoices} → the behaviour factors score the neutral "
        f"{policy.scoring.neutral_points} points.",
        "Average days late = amount-weighted mean of (settlement date − due date), amounts in the customer's currency.",
        f"Share paid late = paid invoices settled more than {late_after} days after due / paid invoices.",
        f"Lateness trend = average days late of invoices settled in the last {recent_months} months minus that of "
        f"the {months - recent_months} months before (positive = paying later).",
        "Utilisation = total exposure / credit limit in force at the as-of date, as in the exposure tool.",
        f"Dispute rate = invoices issued in the {months} months up to the as-of date with a dispute opened by then "
        "/ invoices issued.",
        "Bureau PAYDEX = the latest bureau report dated on or before the as-of date; financial strength = the "
        "policy's ratio tests on the latest statement with a period end on or before it.",
        "Relationship length = years from customer_since to the as-of date.",
        "Missing data scores the neutral points; reason codes list the factors that cost the most points against "
        "their maximum.",
        "Point in time: only rows dated on or before the as-of date are used.",
    ]


@tool(
    name="score_customer", kind="read", input_model=ScoreCustomerInput, output_model=CustomerScore, roles=CREDIT_ROLES
)
def score_customer(session: Session, ctx: ToolContext, args: ScoreCustomerInput) -> CustomerScore:
    """A customer's credit score (0–100) and risk class A–E from the policy scorecard: each factor's measured value,
    points, weight and contribution with a reason, the top reason codes, the payment model's probability that the
    next invoice is paid late, and the trend against stored scores. Reads only; nothing is changed."""
    customer = resolve_customer_reference(session, ctx, args.customer)
    as_of = ctx.resolve_as_of(args.as_of)
    policy = load_policy()
    fx = FxConverter(session, ctx.reporting_currency, as_of)
    inputs, utilisation = customer_score_inputs(session, ctx, customer, as_of, fx)
    card = compute_scorecard(policy, as_of, inputs)
    history = [
        ScoreHistoryPoint(
            as_of=row.as_of,
            scored_at=row.scored_at,
            score=row.score,
            risk_class=row.risk_class,
            late_probability=row.late_probability,
            scorecard_version=row.scorecard_version,
        )
        for row in score_history(session, customer.id, as_of, args.history_points)
    ]
    window = ScoringWindow.for_policy(policy, as_of)
    return CustomerScore(
        customer=CustomerSummary.of(customer),
        as_of=as_of,
        score=card.score,
        score_unrounded=card.unrounded,
        risk_class=card.band.risk_class,
        risk_class_label=card.band.label,
        review_months=card.band.review_months,
        factors=factor_models(card),
        reason_codes=reason_codes(card),
        late_payment=_prediction(late_probabilities(session, as_of, [customer.id]), customer.id),
        window=ScoreWindow(
            paid_from=window.start,
            recent_from=window.recent_start,
            paid_invoices=inputs.paid.invoices,
            invoices_issued=inputs.issued_invoices,
            invoices_disputed=inputs.disputed_invoices,
        ),
        utilisation_basis=UtilisationBasis(
            currency=customer.currency,
            total_exposure=utilisation.total_exposure,
            credit_limit=utilisation.credit_limit,
            utilisation_pct=utilisation.utilisation_pct,
        ),
        trend=_trend(card, as_of, history),
        compared=_compared(session, ctx, customer, card, args.compare_to, as_of),
        history=history,
        fx_rates=fx.rates_used(),
        definitions=scoring_definitions(policy),
        policy_version=policy.version,
        scorecard_version=policy.scoring.version,
    )


# --- the batch: score every customer and store the history --------------------------------------------------------


class ScoreRefreshReport(BaseModel):
    as_of: date
    scored_at: datetime
    scorecard_version: str
    policy_version: str
    customers_scored: int
    history_rows_written: int
    customers_updated: int = Field(
        description="Customers whose denormalised risk_class/risk_score/late_probability were updated (not those "
        "that already hold a score for a later as-of date)"
    )
    risk_classes: dict[str, int]
    mean_score: Decimal | None
    late_probabilities: int = Field(description="Customers that received a payment-model probability")
    model_version: str | None
    model_note: str
    seconds: float
    stage_seconds: dict[str, float]


Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 5000


def _factor_json(card: Scorecard) -> str:
    factors = {
        f.code: {"value": None if f.value is None else float(f.value), "points": f.points, "neutral": f.neutral}
        for f in card.factors
    }
    payload = {
        "unrounded": str(card.unrounded),
        "factors": factors,
        "reason_codes": [f.reason_code for f in card.top_reasons()],
    }
    return json.dumps(payload, separators=(",", ":"))


@dataclass(frozen=True)
class BookScores:
    as_of: date
    cards: dict[int, Scorecard]
    late: LateProbabilities
    stage_seconds: dict[str, float]


def score_book(session: Session, as_of: date, today: date, *, progress: Progress | None = None) -> BookScores:
    """The scorecard (and the payment model's probability) of every customer at `as_of`, read-only."""
    settings = get_settings()
    policy = load_policy()
    stages: dict[str, float] = {}
    mark = time.perf_counter()
    _notify(progress, "loading", 0, 2)
    fx = FxConverter(session, settings.reporting_currency, as_of)
    inputs = book_score_inputs(session, policy, as_of, today, fx)
    _notify(progress, "loading", 1, 2)
    stages["aggregates"] = round(time.perf_counter() - mark, 2)
    mark = time.perf_counter()
    late = late_probabilities(session, as_of)
    _notify(progress, "loading", 2, 2)
    stages["payment_model"] = round(time.perf_counter() - mark, 2)

    mark = time.perf_counter()
    total = len(inputs)
    cards: dict[int, Scorecard] = {}
    for done, (customer_id, customer_inputs) in enumerate(inputs.items(), start=1):
        cards[customer_id] = compute_scorecard(policy, as_of, customer_inputs)
        if done % PROGRESS_EVERY == 0 or done == total:
            _notify(progress, "scoring", done, total)
    stages["scoring"] = round(time.perf_counter() - mark, 2)
    return BookScores(as_of, cards, late, stages)


def refresh_scores(
    url: str | None = None, as_of: date | None = None, *, progress: Progress | None = None, today: date | None = None
) -> ScoreRefreshReport:
    """Score every customer at `as_of` (default today), append one `credit_score` row each and copy the result onto
    the customer (`risk_class`, `risk_score`, `late_probability`, `scored_at`) in one write transaction. An operator
    job (CLI), not a conversational write: the scores are computed on a read-only session first."""
    started = time.perf_counter()
    policy = load_policy()
    today = today or business_today(get_settings().timezone)
    as_of = as_of or today
    if as_of > today:
        raise invalid_input(f"as_of {as_of} is in the future; scores exist up to {today}")
    with read_session(url) as session:
        book = score_book(session, as_of, today, progress=progress)

    mark = time.perf_counter()
    cards, late = book.cards, book.late
    total = len(cards)
    scored_at = utcnow()
    model_version = late.model.metadata.version if late.applies and late.model else None
    ids = list(cards)
    columns = {
        "customer_id": ids,
        "as_of": [as_of] * total,
        "scored_at": [scored_at] * total,
        "score": [cards[i].score for i in ids],
        "risk_class": [cards[i].band.risk_class for i in ids],
        "scorecard_version": [policy.scoring.version] * total,
        "late_probability": [late.probabilities.get(i) for i in ids],
        "model_version": [model_version if i in late.probabilities else None for i in ids],
        "factors": [_factor_json(cards[i]) for i in ids],
    }
    _notify(progress, "writing", 0, 1)
    with write_session(url) as session:
        written = insert_scores(session, columns) if total else 0
        updated = update_latest_scores(session, scored_at, as_of) if total else 0
    _notify(progress, "writing", 1, 1)
    stages = {**book.stage_seconds, "writing": round(time.perf_counter() - mark, 2)}

    classes = Counter(card.band.risk_class for card in cards.values())
    mean = quantize(Decimal(sum(c.score for c in cards.values())) / total) if total else None
    return ScoreRefreshReport(
        as_of=as_of,
        scored_at=scored_at,
        scorecard_version=policy.scoring.version,
        policy_version=policy.version,
        customers_scored=total,
        history_rows_written=written,
        customers_updated=updated,
        risk_classes={band.risk_class: classes.get(band.risk_class, 0) for band in policy.risk_classes},
        mean_score=mean,
        late_probabilities=len(late.probabilities),
        model_version=model_version,
        model_note=late.note,
        seconds=round(time.perf_counter() - started, 2),
        stage_seconds=stages,
    )


def _notify(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


TOOLS = [score_customer]
