"""Credit-limit recommendation: the policy's methods side by side, the caps, the approver a change would need.

Base methods (policy.limits.methods): needs-based (average monthly net purchases × terms / 30 × (1 + buffer)),
a percentage of tangible net worth and a percentage of working capital (each only when positive). The
recommendation is the median of the base methods that apply, then every cap (risk class, bureau maximum credit
recommendation, concentration in our book) applies, and the result is rounded down to `policy.limits.rounding`.
Figures are in the customer's currency with reporting-currency equivalents; the authority matrix is applied to
reporting-currency amounts. A recommendation changes nothing: `propose_credit_limit_change` turns it into a
pending proposal.
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.dates import add_months, end_of_day_utc
from core.money import quantize
from db.models import Customer
from db.queries.customers import credit_limit_as_of
from db.queries.limits import book_net_sales, customer_net_sales, first_invoice_date, invoice_high_water
from db.queries.scoring import BureauRow, FinancialsRow, latest_bureau_reports, latest_financials
from tools.context import ToolContext
from tools.customers import resolve_customer_reference
from tools.fx import FxConverter, FxRateUsed
from tools.policy import CreditPolicy, RiskClass, load_policy
from tools.registry import ANALYST_ROLES, tool
from tools.schemas import AsOfDate, CustomerReference, CustomerSummary
from tools.scoring import compute_scorecard, customer_score_inputs

SALES_MONTHS = 12
DAYS_PER_MONTH = Decimal("365.25") / 12
HUNDRED = Decimal(100)
DEFAULT_WHAT_IF_TERMS = (15, 30, 45, 60)
PROPOSAL_NOTE = (
    "A recommendation changes nothing. To act on it, `propose_credit_limit_change` creates a pending proposal that "
    "the approver below must approve (four-eyes: never the proposer)."
)

MethodCode = Literal[
    "needs_based", "tangible_net_worth", "working_capital", "risk_class_cap", "bureau_cap", "concentration_cap"
]


class LimitInput(BaseModel):
    customer: CustomerReference
    as_of: AsOfDate = None
    what_if_terms_days: list[int] = Field(
        default_factory=lambda: list(DEFAULT_WHAT_IF_TERMS),
        max_length=12,
        description="Payment terms (days) to compare in the what-if table; the customer's own terms are added.",
    )


class LimitMethod(BaseModel):
    code: MethodCode
    kind: Literal["base", "cap"] = Field(description="base: enters the median; cap: an upper bound applied after")
    label: str
    applicable: bool
    value: Decimal | None = Field(description="In the customer's currency")
    value_reporting: Decimal | None = Field(description="The same in the reporting currency")
    formula: str
    inputs: dict[str, Decimal | int | str | None] = Field(description="The inputs of the formula, with units")
    note: str = Field(description="Why the method applies or not, in plain words")
    used: bool = Field(description="Base method counted in the median, or cap applied")
    bound: bool = Field(description="This method set the (pre-rounding) recommendation")


class WhatIfTerms(BaseModel):
    terms_days: int
    customer_terms: bool = Field(description="These are the customer's current terms")
    needs_based: Decimal | None
    recommended_limit: Decimal | None
    change_amount: Decimal | None
    binding: str | None
    approver_role: str | None


class LimitRecommendation(BaseModel):
    customer: CustomerSummary
    as_of: date
    currency: str
    reporting_currency: str
    risk_class: str = Field(description="Scorecard class at the as-of date (drives the risk-class cap)")
    score: int
    methods: list[LimitMethod]
    base_value: Decimal | None = Field(description="Median of the applicable base methods")
    capped_value: Decimal | None = Field(description="Base value after every cap, before rounding")
    binding_constraint: str | None = Field(description="What set the recommendation (a method code or 'median')")
    rounding: Decimal
    recommended_limit: Decimal | None = Field(description="Rounded down to the policy rounding; None if no basis")
    recommended_limit_reporting: Decimal | None
    current_limit: Decimal | None = Field(description="Limit in force at the as-of date, in the customer's currency")
    current_limit_reporting: Decimal | None
    change_amount: Decimal | None
    change_pct: Decimal | None
    direction: Literal["increase", "decrease", "no change", "no recommendation"]
    approver_role: str | None = Field(description="Role whose approval the change needs (authority matrix)")
    approver_ceiling: Decimal | None = Field(description="That role's largest approvable increase (reporting)")
    four_eyes: bool = Field(description="The proposer may not approve their own change")
    authority_explanation: str
    what_if: list[WhatIfTerms]
    explanation: str
    note: str
    fx_rates: list[FxRateUsed]
    definitions: list[str]
    policy_version: str


# --- facts and the pure recommendation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    code: MethodCode
    kind: Literal["base", "cap"]
    label: str
    value: Decimal | None
    formula: str
    inputs: dict[str, Decimal | int | str | None]
    note: str


@dataclass(frozen=True)
class Outcome:
    base_value: Decimal | None
    base_used: list[MethodCode]
    capped: Decimal | None
    binding: str | None
    recommended: Decimal | None
    caps_used: list[MethodCode] = field(default_factory=list)


def round_down(amount: Decimal, step: Decimal) -> Decimal:
    return quantize((amount / step).to_integral_value(rounding=ROUND_FLOOR) * step)


def recommend(base: list[Method], caps: list[Method], rounding: Decimal) -> Outcome:
    """Median of the applicable base methods, then the lowest applicable cap, rounded down."""
    values = [(m.code, m.value) for m in base if m.value is not None]
    if not values:
        return Outcome(None, [], None, None, None)
    median = quantize(Decimal(statistics.median(v for _, v in values)))
    binding: str = next((code for code, v in values if v == median), "median")
    capped = median
    applicable_caps = [m for m in caps if m.value is not None]
    for cap in applicable_caps:
        assert cap.value is not None
        if cap.value < capped:
            capped, binding = cap.value, cap.code
    return Outcome(
        base_value=median,
        base_used=[code for code, _ in values],
        capped=capped,
        binding=binding,
        recommended=round_down(capped, rounding),
        caps_used=[m.code for m in applicable_caps],
    )


def needs_based_method(policy: CreditPolicy, monthly: Decimal | None, terms: int, sales_note: str) -> Method:
    buffer = policy.limits.methods.needs_based.get("buffer_pct", Decimal(0))
    formula = "average monthly net purchases × terms / 30 × (1 + buffer %)"
    inputs: dict[str, Decimal | int | str | None] = {
        "average_monthly_net_purchases": monthly,
        "terms_days": terms,
        "buffer_pct": buffer,
    }
    if monthly is None:
        return Method("needs_based", "base", "Needs-based", None, formula, inputs, sales_note)
    value = quantize(monthly * terms / 30 * (1 + buffer / HUNDRED))
    note = f"{monthly} a month on {terms}-day terms with a {buffer}% buffer; {sales_note}"
    return Method("needs_based", "base", "Needs-based", value, formula, inputs, note)


# --- gathering the facts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purchases:
    monthly: Decimal | None
    note: str
    inputs: dict[str, Decimal | int | str | None]


def _purchases(session: Session, customer: Customer, as_of: date, fx: FxConverter) -> Purchases:
    window_start = add_months(as_of, -SALES_MONTHS)
    sales = customer_net_sales(session, customer.id, window_start, as_of)
    net = quantize(sum((fx.convert_between(v, c, customer.currency) for c, (v, _) in sales.items()), Decimal(0)))
    documents = sum(n for _, n in sales.values())
    starts = [d for d in (customer.customer_since, first_invoice_date(session, customer.id, as_of)) if d is not None]
    start = min(starts) if starts else None
    months = Decimal(SALES_MONTHS)
    if start is not None and start > window_start:
        months = min(
            months, max(Decimal(1), (Decimal((as_of - start).days + 1) / DAYS_PER_MONTH).quantize(Decimal("0.1")))
        )
    inputs: dict[str, Decimal | int | str | None] = {
        "net_purchases": net,
        "documents": documents,
        "months": months,
        "window": f"issued after {window_start} up to {as_of}",
    }
    if documents == 0:
        return Purchases(None, f"not applicable: no sales in the {SALES_MONTHS} months up to {as_of}", inputs)
    if net <= 0:
        return Purchases(None, f"not applicable: net purchases of {net} (credit notes exceed invoices)", inputs)
    short = f" (relationship younger than {SALES_MONTHS} months: averaged over {months})" if months < 12 else ""
    monthly = quantize(net / months)
    return Purchases(monthly, f"net purchases {net} over {months} months{short}", inputs)


def _statement_methods(
    policy: CreditPolicy, statement: FinancialsRow | None, currency: str, fx: FxConverter
) -> list[Method]:
    tnw_pct = policy.limits.methods.tangible_net_worth_pct
    wc_pct = policy.limits.methods.working_capital_pct
    tnw_formula = f"{tnw_pct}% × (total assets − total liabilities − intangible assets), when net worth > 0"
    wc_formula = f"{wc_pct}% × (current assets − current liabilities), when positive"
    if statement is None:
        missing = "not applicable: no financial statement with a period end on or before the as-of date"
        return [
            Method("tangible_net_worth", "base", "% of tangible net worth", None, tnw_formula, {}, missing),
            Method("working_capital", "base", "% of working capital", None, wc_formula, {}, missing),
        ]

    def local(amount: Decimal) -> Decimal:
        return fx.convert_between(amount, statement.currency, currency)

    period = f"statement for the period ending {statement.period_end} ({statement.currency})"
    net_worth = statement.total_assets - statement.total_liabilities
    tangible = net_worth - statement.intangible_assets
    tnw_inputs: dict[str, Decimal | int | str | None] = {
        "total_assets": statement.total_assets,
        "total_liabilities": statement.total_liabilities,
        "intangible_assets": statement.intangible_assets,
        "net_worth": net_worth,
        "tangible_net_worth": tangible,
        "statement_currency": statement.currency,
        "period_end": statement.period_end.isoformat(),
        "pct": tnw_pct,
    }
    if net_worth <= 0:
        tnw = Method(
            "tangible_net_worth",
            "base",
            "% of tangible net worth",
            None,
            tnw_formula,
            tnw_inputs,
            f"not applicable: negative net worth ({net_worth}) in the {period}",
        )
    elif tangible <= 0:
        tnw = Method(
            "tangible_net_worth",
            "base",
            "% of tangible net worth",
            None,
            tnw_formula,
            tnw_inputs,
            f"not applicable: intangible assets exceed net worth (tangible net worth {tangible}) in the {period}",
        )
    else:
        tnw = Method(
            "tangible_net_worth",
            "base",
            "% of tangible net worth",
            local(quantize(tangible * tnw_pct / HUNDRED)),
            tnw_formula,
            tnw_inputs,
            f"{tnw_pct}% of tangible net worth {tangible} from the {period}",
        )
    working = statement.current_assets - statement.current_liabilities
    wc_inputs: dict[str, Decimal | int | str | None] = {
        "current_assets": statement.current_assets,
        "current_liabilities": statement.current_liabilities,
        "working_capital": working,
        "statement_currency": statement.currency,
        "period_end": statement.period_end.isoformat(),
        "pct": wc_pct,
    }
    if working <= 0:
        wc = Method(
            "working_capital",
            "base",
            "% of working capital",
            None,
            wc_formula,
            wc_inputs,
            f"not applicable: working capital is not positive ({working}) in the {period}",
        )
    else:
        wc = Method(
            "working_capital",
            "base",
            "% of working capital",
            local(quantize(working * wc_pct / HUNDRED)),
            wc_formula,
            wc_inputs,
            f"{wc_pct}% of working capital {working} from the {period}",
        )
    return [tnw, wc]


def _bureau_cap(policy: CreditPolicy, report: BureauRow | None, currency: str, fx: FxConverter) -> Method:
    pct = policy.limits.bureau_cap_pct_of_recommendation
    formula = f"{pct}% × the bureau's maximum credit recommendation (latest report on or before the as-of date)"
    if report is None:
        return Method(
            "bureau_cap", "cap", "Bureau maximum credit", None, formula, {}, "not applicable: no bureau report"
        )
    inputs: dict[str, Decimal | int | str | None] = {
        "agency": report.agency,
        "report_date": report.report_date.isoformat(),
        "max_credit_recommendation": report.max_credit_recommendation,
        "report_currency": report.currency or currency,
        "pct": pct,
    }
    if report.max_credit_recommendation is None:
        note = (
            f"not applicable: the {report.agency} report of {report.report_date} has no maximum credit recommendation"
        )
        return Method("bureau_cap", "cap", "Bureau maximum credit", None, formula, inputs, note)
    value = fx.convert_between(
        quantize(report.max_credit_recommendation * pct / HUNDRED), report.currency or currency, currency
    )
    note = f"{report.agency} report of {report.report_date} recommends at most {report.max_credit_recommendation}"
    return Method("bureau_cap", "cap", "Bureau maximum credit", value, formula, inputs, note)


def _risk_class_cap(
    policy: CreditPolicy, risk_class: RiskClass, score: int, currency: str, fx: FxConverter, reporting: str
) -> Method:
    cap = policy.limits.risk_class_caps[risk_class]
    inputs: dict[str, Decimal | int | str | None] = {
        "risk_class": risk_class,
        "score": score,
        "cap_reporting": cap,
        "reporting_currency": reporting,
    }
    note = f"class {risk_class} (score {score}) allows at most {cap} {reporting}"
    value = quantize(fx.convert_between(cap, reporting, currency))
    return Method(
        "risk_class_cap",
        "cap",
        "Risk-class cap",
        value,
        "policy.limits.risk_class_caps[class], in the reporting currency",
        inputs,
        note,
    )


# Book credit sales per (database, as-of date, invoice high-water mark): a portfolio figure, not per customer.
_book_cache: dict[tuple[str, date], tuple[int, Decimal]] = {}
_book_lock = threading.Lock()
_BOOK_CACHE_SIZE = 64


def book_sales_reporting(session: Session, as_of: date, fx: FxConverter) -> Decimal:
    """Net credit sales of the whole book in the 12 months up to `as_of`, in the reporting currency (cached)."""
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), as_of)
    high_water = invoice_high_water(session)
    with _book_lock:
        cached = _book_cache.get(key)
        if cached is not None and cached[0] == high_water:
            return cached[1]
    sales = book_net_sales(session, add_months(as_of, -SALES_MONTHS), as_of)
    total = quantize(sum((fx.convert(amount, currency) for currency, amount in sales.items()), Decimal(0)))
    with _book_lock:
        if len(_book_cache) >= _BOOK_CACHE_SIZE:
            _book_cache.clear()
        _book_cache[key] = (high_water, total)
    return total


def _concentration_cap(
    policy: CreditPolicy, book_sales: Decimal, currency: str, fx: FxConverter, reporting: str
) -> Method:
    pct = policy.limits.concentration_cap_pct
    formula = f"{pct}% × our net credit sales to all customers in the last {SALES_MONTHS} months (reporting currency)"
    inputs: dict[str, Decimal | int | str | None] = {
        "book_credit_sales_12m": book_sales,
        "pct": pct,
        "reporting_currency": reporting,
    }
    if book_sales <= 0:
        note = "not applicable: the book has no credit sales in the last 12 months"
        return Method("concentration_cap", "cap", "Concentration cap", None, formula, inputs, note)
    cap = quantize(book_sales * pct / HUNDRED)
    value = quantize(fx.convert_between(cap, reporting, currency))
    note = f"{pct}% of {book_sales} {reporting} = {cap} {reporting}"
    return Method("concentration_cap", "cap", "Concentration cap", value, formula, inputs, note)


# --- the tool -----------------------------------------------------------------------------------------------------


def _method_model(method: Method, outcome: Outcome, fx: FxConverter, currency: str) -> LimitMethod:
    used = method.code in (outcome.base_used if method.kind == "base" else outcome.caps_used)
    return LimitMethod(
        code=method.code,
        kind=method.kind,
        label=method.label,
        applicable=method.value is not None,
        value=method.value,
        value_reporting=fx.convert(method.value, currency) if method.value is not None else None,
        formula=method.formula,
        inputs=method.inputs,
        note=method.note,
        used=used,
        bound=outcome.binding == method.code,
    )


@dataclass(frozen=True)
class Authority:
    role: str | None
    ceiling: Decimal | None
    four_eyes: bool
    explanation: str


def _authority(
    policy: CreditPolicy, current: Decimal, new: Decimal | None, risk_class: str, fx: FxConverter, currency: str
) -> Authority:
    if new is None:
        return Authority(None, None, False, "no recommendation, so no change to approve")
    if new == current:
        return Authority(None, None, False, "the recommendation equals the current limit: nothing to approve")
    current_rep, new_rep = fx.convert(current, currency), fx.convert(new, currency)
    role = policy.authority.approver_for_limit_change(current_rep, new_rep, risk_class)
    ceiling = policy.authority.role_approval_ceiling.get(role)
    four_eyes = policy.authority.four_eyes_for_limit_changes
    reporting = fx.to_currency
    if new < current:
        text = f"a decrease ({current_rep} → {new_rep} {reporting}) is approved by {_with_article(role.value)}"
    else:
        text = (
            f"an increase of {new_rep - current_rep} {reporting} to {new_rep} {reporting} for a class {risk_class} "
            f"customer needs {_with_article(role.value)} (first matching row of the authority matrix)"
        )
    if four_eyes:
        text += "; four-eyes: the proposer may not approve it"
    return Authority(role.value, ceiling, four_eyes, text)


def _with_article(role: str) -> str:
    words = role.replace("_", " ")
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _current_limit(session: Session, customer: Customer, as_of: date, fx: FxConverter) -> Decimal | None:
    limit = credit_limit_as_of(session, customer.id, end_of_day_utc(as_of))
    if limit is None:
        return None
    return fx.convert_between(limit.amount, limit.currency, customer.currency)


def _explanation(outcome: Outcome, methods: list[Method], currency: str, current: Decimal | None) -> str:
    if outcome.recommended is None:
        return (
            "No base method applies (no sales history and no usable financial statement), so the policy gives no "
            "basis for a limit: obtain financial statements or trade history, or decide by judgement."
        )
    labels: dict[str, str] = {m.code: m.label for m in methods}
    used = ", ".join(labels[c] for c in outcome.base_used)
    bound = labels.get(outcome.binding or "", "the median of the base methods")
    now = f"; current limit {current} {currency}" if current is not None else "; no limit in force"
    return (
        f"Median of {used} = {outcome.base_value} {currency}; after the caps {outcome.capped} {currency}, set by "
        f"{bound}; rounded down to {outcome.recommended} {currency}{now}."
    )


def _definitions(policy: CreditPolicy, currency: str, reporting: str) -> list[str]:
    return [
        f"Figures in {currency} (the customer's currency) with {reporting} equivalents at the latest rate on or "
        "before the as-of date.",
        f"Needs-based = average monthly net purchases (invoices less credit notes issued in the {SALES_MONTHS} "
        "months up to the as-of date, averaged over fewer months for younger relationships) × terms / 30 × "
        f"(1 + {policy.limits.methods.needs_based.get('buffer_pct', 0)}%).",
        f"Tangible net worth method = {policy.limits.methods.tangible_net_worth_pct}% × (net worth − intangible "
        f"assets), only when net worth is positive; working capital method = "
        f"{policy.limits.methods.working_capital_pct}% × (current assets − current liabilities), only when positive;"
        " both from the latest statement with a period end on or before the as-of date.",
        "Recommendation = median of the applicable base methods, then the lowest of the risk-class cap, the bureau "
        f"maximum credit recommendation ({policy.limits.bureau_cap_pct_of_recommendation}%) and the concentration "
        f"cap ({policy.limits.concentration_cap_pct}% of our trailing-12-month credit sales), rounded down to "
        f"{policy.limits.rounding}.",
        "Approver: the first row of policy.authority.credit_limit_increase that fits the increase and the new limit "
        f"in {reporting} and the risk class; decreases need a {policy.authority.credit_limit_decrease.value}.",
    ]


@tool(
    name="recommend_credit_limit",
    kind="read",
    input_model=LimitInput,
    output_model=LimitRecommendation,
    roles=ANALYST_ROLES,
)
def recommend_credit_limit(session: Session, ctx: ToolContext, args: LimitInput) -> LimitRecommendation:
    """Recommend a credit limit: needs-based, % of tangible net worth and % of working capital side by side, their
    median capped by the risk class, the bureau's maximum credit and concentration in our book, rounded down;
    with the current limit, the change, the approver role the authority matrix requires, and a what-if table for
    other payment terms. Changes nothing (propose_credit_limit_change makes it a proposal)."""
    customer = resolve_customer_reference(session, ctx, args.customer)
    as_of = ctx.resolve_as_of(args.as_of)
    policy = load_policy()
    currency, reporting = customer.currency, ctx.reporting_currency
    fx = FxConverter(session, reporting, as_of)

    inputs, _ = customer_score_inputs(session, ctx, customer, as_of, fx)
    card = compute_scorecard(policy, as_of, inputs)
    risk_class = card.band.risk_class
    purchases = _purchases(session, customer, as_of, fx)
    statement = latest_financials(session, as_of, customer.id).get(customer.id)
    report = latest_bureau_reports(session, as_of, customer.id).get(customer.id)

    def needs(terms: int) -> Method:
        method = needs_based_method(policy, purchases.monthly, terms, purchases.note)
        return Method(
            method.code,
            method.kind,
            method.label,
            method.value,
            method.formula,
            {**purchases.inputs, **method.inputs},
            method.note,
        )

    statements = _statement_methods(policy, statement, currency, fx)
    caps = [
        _risk_class_cap(policy, risk_class, card.score, currency, fx, reporting),
        _bureau_cap(policy, report, currency, fx),
        _concentration_cap(policy, book_sales_reporting(session, as_of, fx), currency, fx, reporting),
    ]
    terms = customer.payment_terms_days
    methods = [needs(terms), *statements, *caps]
    outcome = recommend(methods[:3], caps, policy.limits.rounding)
    current = _current_limit(session, customer, as_of, fx)
    baseline = current if current is not None else Decimal("0.00")
    authority = _authority(policy, baseline, outcome.recommended, risk_class, fx, currency)
    change = outcome.recommended - baseline if outcome.recommended is not None else None

    what_if = []
    for option in sorted({*args.what_if_terms_days, terms}):
        alternative = recommend([needs(option), *statements], caps, policy.limits.rounding)
        option_authority = _authority(policy, baseline, alternative.recommended, risk_class, fx, currency)
        what_if.append(
            WhatIfTerms(
                terms_days=option,
                customer_terms=option == terms,
                needs_based=needs(option).value,
                recommended_limit=alternative.recommended,
                change_amount=alternative.recommended - baseline if alternative.recommended is not None else None,
                binding=alternative.binding,
                approver_role=option_authority.role,
            )
        )

    direction: Literal["increase", "decrease", "no change", "no recommendation"] = (
        "no recommendation"
        if change is None
        else "increase"
        if change > 0
        else "decrease"
        if change < 0
        else "no change"
    )
    return LimitRecommendation(
        customer=CustomerSummary.of(customer),
        as_of=as_of,
        currency=currency,
        reporting_currency=reporting,
        risk_class=risk_class,
        score=card.score,
        methods=[_method_model(m, outcome, fx, currency) for m in methods],
        base_value=outcome.base_value,
        capped_value=outcome.capped,
        binding_constraint=outcome.binding,
        rounding=policy.limits.rounding,
        recommended_limit=outcome.recommended,
        recommended_limit_reporting=fx.convert(outcome.recommended, currency)
        if outcome.recommended is not None
        else None,
        current_limit=current,
        current_limit_reporting=fx.convert(current, currency) if current is not None else None,
        change_amount=change,
        change_pct=(change * HUNDRED / baseline).quantize(Decimal("0.1"))
        if change is not None and baseline > 0
        else None,
        direction=direction,
        approver_role=authority.role,
        approver_ceiling=authority.ceiling,
        four_eyes=authority.four_eyes,
        authority_explanation=authority.explanation,
        what_if=what_if,
        explanation=_explanation(outcome, methods, currency, current),
        note=PROPOSAL_NOTE,
        fx_rates=fx.rates_used(),
        definitions=_definitions(policy, currency, reporting),
        policy_version=policy.version,
    )


TOOLS = [recommend_credit_limit]
