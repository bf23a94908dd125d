"""Payment-behaviour model: P(an invoice is paid more than N days late), N = policy.payment_model.late_threshold_days.

A logistic regression over invoice-level features known on the day the invoice is issued. Every feature of an
invoice issued on day d is computed from rows dated strictly before d (settlements, disputes, bureau reports,
statements) or from the invoice itself (amount, terms, month), so nothing learnt from the future leaks in:

- prior behaviour: invoices settled before d (count, amount-weighted days late, share late, the last five),
- exposure at issue: earlier invoices still open and past due at the end of d−1,
- prior invoices issued and disputes opened before d, the invoice's amount (absolute and relative to the
  customer's earlier invoices), terms, month of issue,
- the latest bureau PAYDEX and financial statement before d, and the length of the relationship.

Features without data (no bureau, no statements: the IBM sample) fall back to a neutral value plus a "missing"
flag, so the model degrades gracefully. The training set is point-in-time too: only invoices issued on or before
the as-of date whose outcome is known by then (due more than N days before it), split by issue date — the latest
quarter is held out. Cumulative sums run on integers, so the features of one customer come out bit-identical
whether computed alone (the conversational tool) or with the whole book (the nightly refresh).
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.dates import day_number, end_of_day_utc, from_day_number, utcnow
from core.errors import CreditDeskError, invalid_input, not_found
from core.logging import get_logger
from core.settings import get_settings
from db.engine import normalise_url
from db.queries.scoring import (
    NO_DAY,
    CustomerRow,
    FinancialsRow,
    InvoiceHistory,
    all_customers,
    bureau_history,
    dispute_days,
    financials_history,
    invoice_history,
    rate_currencies,
)
from tools.fx import FxConverter
from tools.policy import load_policy

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

log = get_logger(__name__)

MODEL_FORMAT = 1
MODEL_KIND = "logistic_regression"
TEST_SHARE = 0.25
CALIBRATION_BINS = 10
MAX_TRAINING_ROWS = 600_000
RECENT_SETTLED = 5
PAYDEX_NEUTRAL = 70.0
DAY_KEY = 1 << 22  # customer_id × DAY_KEY + day number: one sortable int64 key per (customer, day)
SAMPLE_SEED = 20260701

FEATURES: tuple[str, ...] = (
    "log_amount",
    "relative_amount",
    "terms_days",
    "prior_invoices",
    "prior_paid",
    "has_paid_history",
    "prior_avg_days_late",
    "prior_share_late",
    "prior_share_very_late",
    "recent_avg_days_late",
    "open_overdue_count",
    "open_overdue_amount",
    "prior_dispute_rate",
    "month_sin",
    "month_cos",
    "paydex",
    "paydex_missing",
    "current_ratio",
    "debt_to_assets",
    "net_margin",
    "financials_missing",
    "tenure_years",
)

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "log_amount": "log(1 + invoice amount in the reporting currency)",
    "relative_amount": "log(amount / the customer's average earlier invoice); 0 without earlier invoices",
    "terms_days": "due date − issue date",
    "prior_invoices": "log(1 + invoices issued before this one)",
    "prior_paid": "log(1 + invoices settled before the issue date)",
    "has_paid_history": "1 if any earlier invoice was settled before the issue date",
    "prior_avg_days_late": "amount-weighted mean days late of invoices settled before the issue date (clipped)",
    "prior_share_late": "share of invoices settled before the issue date that were paid after due",
    "prior_share_very_late": "share of them paid more than the model's threshold late",
    "recent_avg_days_late": "mean days late of the last five invoices settled before the issue date",
    "open_overdue_count": "log(1 + earlier invoices still open and past due at the end of the day before)",
    "open_overdue_amount": "log(1 + their amount in multiples of the customer's average invoice)",
    "prior_dispute_rate": "disputes opened before the issue date / invoices issued before it",
    "month_sin": "sin(2π × month of issue / 12)",
    "month_cos": "cos(2π × month of issue / 12)",
    "paydex": "latest bureau PAYDEX dated before the issue date (70 when missing)",
    "paydex_missing": "1 if no bureau PAYDEX before the issue date",
    "current_ratio": "current assets / current liabilities of the latest statement before the issue date (clipped)",
    "debt_to_assets": "total liabilities / total assets of that statement",
    "net_margin": "net income / revenue of that statement (clipped)",
    "financials_missing": "1 if no financial statement before the issue date",
    "tenure_years": "log(1 + years since the relationship began: customer_since or the first invoice)",
}


# --- results ------------------------------------------------------------------------------------------------------


class CalibrationBin(BaseModel):
    bin: int = Field(description="1 = the tenth of held-out invoices with the lowest predicted probability")
    invoices: int
    late_invoices: int
    mean_predicted: float = Field(description="Mean predicted probability of being late in this bin")
    observed_rate: float = Field(description="Share of the bin's invoices that were actually late")
    min_predicted: float
    max_predicted: float


class PaymentModelMetrics(BaseModel):
    late_threshold_days: int
    evaluated_on: str = Field(description="Which invoices the metrics are computed on")
    invoices: int = Field(description="Held-out invoices evaluated")
    late_invoices: int
    observed_late_rate: float
    auc: float | None = Field(description="ROC AUC on the held-out invoices (None if only one outcome occurs)")
    brier: float = Field(description="Mean squared error of the predicted probability (lower is better)")
    brier_reference: float = Field(
        description="Brier score of always predicting the training late rate (the no-skill baseline)"
    )
    brier_skill: float | None = Field(description="1 − brier / brier_reference")
    issued_from: date | None
    issued_to: date | None
    calibration: list[CalibrationBin] = Field(description="Deciles of predicted probability: predicted vs observed")


class ModelMetadata(BaseModel):
    format: int = MODEL_FORMAT
    version: str
    kind: str = MODEL_KIND
    trained_at: datetime
    as_of: date
    late_threshold_days: int
    features: list[str]
    train_invoices: int
    train_invoices_used: int
    train_from: date
    train_to: date
    test_from: date
    train_late_rate: float = Field(description="Share of training invoices that were late")
    metrics: PaymentModelMetrics
    coefficients: dict[str, float] = Field(description="Logistic coefficients per standardised feature")
    intercept: float
    database: str = Field(description="Database the model was trained on (without credentials)")


class PaymentModelTraining(BaseModel):
    status: Literal["trained", "not_enough_history"]
    message: str
    as_of: date
    late_threshold_days: int
    labelled_invoices: int = Field(description="Invoices issued by the as-of date whose outcome is known by then")
    min_training_invoices: int
    metadata: ModelMetadata | None = None
    saved_to: str | None = None
    seconds: float
    feature_descriptions: dict[str, str] = Field(default_factory=lambda: dict(FEATURE_DESCRIPTIONS))
    definitions: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class PaymentModel:
    pipeline: Pipeline
    metadata: ModelMetadata

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return predict(self.pipeline, features)


# --- features -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSources:
    """Everything features are computed from, for a set of customers, dated on or before the as-of date."""

    history: InvoiceHistory
    rates: dict[str, float]  # currency → reporting currency (NaN when no rate exists)
    dispute_customer: np.ndarray
    dispute_day: np.ndarray
    bureau_customer: np.ndarray
    bureau_day: np.ndarray
    bureau_paydex: np.ndarray
    financials: list[FinancialsRow]
    customers: dict[int, CustomerRow]


@dataclass(frozen=True)
class Targets:
    """The invoices to describe: one row each (real invoices for training, a hypothetical next one for scoring)."""

    customer_id: np.ndarray
    issue_dn: np.ndarray
    amount_cents: np.ndarray  # float: a hypothetical invoice carries the customer's average amount
    rate: np.ndarray
    terms_days: np.ndarray


def _keys(customer: np.ndarray, day: np.ndarray) -> np.ndarray:
    return customer.astype(np.int64) * DAY_KEY + day.astype(np.int64)


@dataclass(frozen=True)
class _Running:
    """Prefix sums over events sorted by (customer, day): totals of a customer's events before a day in O(log n)."""

    keys: np.ndarray
    sums: dict[str, np.ndarray]

    @classmethod
    def build(cls, customer: np.ndarray, day: np.ndarray, **values: np.ndarray) -> _Running:
        keys = _keys(customer, day)
        order = np.argsort(keys, kind="stable")
        sums = {name: np.concatenate(([0], np.cumsum(v[order]))) for name, v in values.items()}
        return cls(keys[order], sums)

    def bounds(self, customer: np.ndarray, day: np.ndarray, *, inclusive: bool) -> tuple[np.ndarray, np.ndarray]:
        """Index range of a customer's events before `day` (on or before it when `inclusive`)."""
        side: Literal["left", "right"] = "right" if inclusive else "left"
        start = np.searchsorted(self.keys, customer.astype(np.int64) * DAY_KEY, "left")
        end = np.searchsorted(self.keys, _keys(customer, day), side)
        return start, end

    def total(self, name: str, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return self.sums[name][end] - self.sums[name][start]


def _latest_before(
    customer: np.ndarray, day: np.ndarray, event_customer: np.ndarray, event_day: np.ndarray
) -> np.ndarray:
    """Index (into the events) of each target customer's latest event dated before `day`, or -1."""
    if len(event_customer) == 0:
        return np.full(len(customer), -1, dtype=np.int64)
    keys = _keys(event_customer, event_day)
    order = np.argsort(keys, kind="stable")
    position = np.searchsorted(keys[order], _keys(customer, day), "left") - 1
    index = order[np.maximum(position, 0)]
    return np.where((position >= 0) & (event_customer[index] == customer), index, -1)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, default: float = 0.0) -> np.ndarray:
    safe = np.where(denominator != 0, denominator, 1)
    return np.where(denominator != 0, numerator / safe, default)


def build_features(sources: FeatureSources, targets: Targets, late_threshold_days: int) -> np.ndarray:
    """The feature matrix (one row per target, columns in `FEATURES` order)."""
    h = sources.history
    customer, day = targets.customer_id, targets.issue_dn
    columns: dict[str, np.ndarray] = {}

    issued = _Running.build(h.customer_id, h.issue_dn, count=np.ones(len(h), np.int64), cents=h.amount_cents)
    start, end = issued.bounds(customer, day, inclusive=False)
    prior_count = issued.total("count", start, end)
    average_cents = _ratio(issued.total("cents", start, end).astype(np.float64), prior_count, np.nan)
    columns["log_amount"] = np.log1p(np.maximum(targets.amount_cents, 0) / 100.0 * targets.rate)
    relative = np.log(np.maximum(targets.amount_cents, 1.0) / np.maximum(average_cents, 1.0))
    columns["relative_amount"] = np.where(prior_count > 0, np.clip(relative, -5, 5), 0.0)
    columns["terms_days"] = targets.terms_days.astype(np.float64)
    columns["prior_invoices"] = np.log1p(prior_count)

    columns.update(_settled_features(h, customer, day, late_threshold_days))
    columns.update(_overdue_features(h, customer, day, average_cents))

    disputes = _Running.build(
        sources.dispute_customer, sources.dispute_day, count=np.ones(len(sources.dispute_day), np.int64)
    )
    d_start, d_end = disputes.bounds(customer, day, inclusive=False)
    columns["prior_dispute_rate"] = np.minimum(_ratio(disputes.total("count", d_start, d_end), prior_count), 1.0)

    month = (from_days(day).astype("datetime64[M]").astype(np.int64) % 12) + 1
    columns["month_sin"] = np.sin(2 * np.pi * month / 12)
    columns["month_cos"] = np.cos(2 * np.pi * month / 12)

    columns.update(_bureau_features(sources, customer, day))
    columns.update(_financial_features(sources, customer, day))
    columns["tenure_years"] = _tenure(sources, customer, day)
    return np.column_stack([columns[name] for name in FEATURES]).astype(np.float64)


def from_days(day: np.ndarray) -> np.ndarray:
    return day.astype("datetime64[D]")


def _settled_features(
    h: InvoiceHistory, customer: np.ndarray, day: np.ndarray, late_threshold_days: int
) -> dict[str, np.ndarray]:
    settled = h.settled_dn != NO_DAY
    days_late = (h.settled_dn - h.due_dn)[settled]
    running = _Running.build(
        h.customer_id[settled],
        h.settled_dn[settled],
        count=np.ones(int(settled.sum()), np.int64),
        cents=h.amount_cents[settled],
        weighted=h.amount_cents[settled] * days_late,
        days=days_late,
        late=(days_late > 0).astype(np.int64),
        very_late=(days_late > late_threshold_days).astype(np.int64),
    )
    start, end = running.bounds(customer, day, inclusive=False)
    paid = running.total("count", start, end)
    recent_start = np.maximum(start, end - RECENT_SETTLED)
    recent_count = end - recent_start
    return {
        "prior_paid": np.log1p(paid),
        "has_paid_history": (paid > 0).astype(np.float64),
        "prior_avg_days_late": np.clip(
            _ratio(running.total("weighted", start, end).astype(np.float64), running.total("cents", start, end)),
            -60,
            240,
        ),
        "prior_share_late": _ratio(running.total("late", start, end), paid),
        "prior_share_very_late": _ratio(running.total("very_late", start, end), paid),
        "recent_avg_days_late": np.clip(_ratio(running.total("days", recent_start, end), recent_count), -60, 240),
    }


def _overdue_features(
    h: InvoiceHistory, customer: np.ndarray, day: np.ndarray, average_cents: np.ndarray
) -> dict[str, np.ndarray]:
    """Earlier invoices open and past due at the end of d−1: overdue from day due+2 on, until the day after
    settlement (an item settled on day s is still open at the end of s−1)."""
    becomes = h.due_dn + 2
    counted = h.settled_dn >= becomes
    settled = counted & (h.settled_dn != NO_DAY)
    event_customer = np.concatenate([h.customer_id[counted], h.customer_id[settled]])
    event_day = np.concatenate([becomes[counted], h.settled_dn[settled] + 1])
    sign = np.concatenate([np.ones(int(counted.sum()), np.int64), -np.ones(int(settled.sum()), np.int64)])
    cents = np.concatenate([h.amount_cents[counted], h.amount_cents[settled]])
    running = _Running.build(event_customer, event_day, count=sign, cents=sign * cents)
    start, end = running.bounds(customer, day, inclusive=True)
    count = running.total("count", start, end)
    amount = running.total("cents", start, end).astype(np.float64)
    multiples = np.where(np.isnan(average_cents), 0.0, amount / np.where(np.isnan(average_cents), 1.0, average_cents))
    return {"open_overdue_count": np.log1p(count), "open_overdue_amount": np.log1p(np.maximum(multiples, 0.0))}


def _bureau_features(sources: FeatureSources, customer: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
    has_paydex = sources.bureau_paydex >= 0
    index = _latest_before(customer, day, sources.bureau_customer[has_paydex], sources.bureau_day[has_paydex])
    paydex = sources.bureau_paydex[has_paydex]
    found = index >= 0
    values = (
        np.where(found, paydex[np.maximum(index, 0)], PAYDEX_NEUTRAL)
        if len(paydex)
        else np.full(len(customer), PAYDEX_NEUTRAL)
    )
    return {"paydex": values.astype(np.float64), "paydex_missing": (~found).astype(np.float64)}


def _financial_features(sources: FeatureSources, customer: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
    rows = sources.financials
    f_customer = np.array([r.customer_id for r in rows], dtype=np.int64)
    f_day = np.array([day_number(r.period_end) for r in rows], dtype=np.int64)
    ratios = np.array([_statement_ratios(r) for r in rows], dtype=np.float64).reshape(len(rows), 3)
    index = _latest_before(customer, day, f_customer, f_day)
    found = index >= 0
    picked = ratios[np.maximum(index, 0)] if rows else np.zeros((len(customer), 3))
    neutral = np.array([1.5, 0.6, 0.02])
    chosen = np.where(found[:, None], picked, neutral)
    return {
        "current_ratio": chosen[:, 0],
        "debt_to_assets": chosen[:, 1],
        "net_margin": chosen[:, 2],
        "financials_missing": (~found).astype(np.float64),
    }


def _statement_ratios(row: FinancialsRow) -> tuple[float, float, float]:
    current = float(row.current_assets / row.current_liabilities) if row.current_liabilities > 0 else 5.0
    leverage = float(row.total_liabilities / row.total_assets) if row.total_assets > 0 else 2.0
    margin = float(row.net_income / row.revenue) if row.revenue > 0 else -0.5
    return min(max(current, 0.0), 5.0), min(max(leverage, 0.0), 2.0), min(max(margin, -0.5), 0.5)


def _relationship_starts(sources: FeatureSources) -> tuple[np.ndarray, np.ndarray]:
    """(sorted customer ids, start day): the earlier of customer_since and the first invoice (NaN if neither)."""
    h = sources.history
    since = {cid: day_number(p.customer_since) for cid, p in sources.customers.items() if p.customer_since}
    first = np.flatnonzero(np.r_[True, h.customer_id[1:] != h.customer_id[:-1]]) if len(h) else np.zeros(0, np.int64)
    starts = dict(zip(h.customer_id[first].tolist(), h.issue_dn[first].tolist(), strict=True))
    for cid, day in since.items():
        starts[cid] = min(day, starts.get(cid, day))
    ids = np.array(sorted(starts), dtype=np.int64)
    return ids, np.array([starts[cid] for cid in ids.tolist()], dtype=np.float64)


def _tenure(sources: FeatureSources, customer: np.ndarray, day: np.ndarray) -> np.ndarray:
    ids, starts = _relationship_starts(sources)
    if not len(ids):
        return np.zeros(len(customer))
    position = np.minimum(np.searchsorted(ids, customer), len(ids) - 1)
    start = np.where(ids[position] == customer, starts[position], np.nan)
    years = (day - start) / 365.25
    return np.where(np.isnan(years), 0.0, np.log1p(np.maximum(years, 0.0)))


# --- data ---------------------------------------------------------------------------------------------------------


def reporting_rates(session: Session, as_of: date, currencies: Iterable[str]) -> dict[str, float]:
    """Rate of each currency into the reporting currency at the as-of date (NaN when there is none)."""
    fx = FxConverter(session, get_settings().reporting_currency, as_of)
    rates: dict[str, float] = {}
    for currency in sorted(set(currencies)):
        try:
            rates[currency] = float(fx.rate(currency).rate)
        except CreditDeskError:
            rates[currency] = float("nan")
    return rates


def load_sources(session: Session, as_of: date, customer_ids: list[int] | None = None) -> FeatureSources:
    customers = {row.id: row for row in all_customers(session, customer_ids)}
    currencies = {
        get_settings().reporting_currency,
        *rate_currencies(session),
        *(c.currency for c in customers.values()),
    }
    history = invoice_history(session, as_of, currencies, customer_ids)
    dispute_customer, dispute_day = dispute_days(session, end_of_day_utc(as_of), customer_ids)
    bureau_customer, bureau_day, bureau_paydex = bureau_history(session, as_of, customer_ids)
    return FeatureSources(
        history=history,
        rates=reporting_rates(session, as_of, history.currencies),
        dispute_customer=dispute_customer,
        dispute_day=dispute_day,
        bureau_customer=bureau_customer,
        bureau_day=bureau_day,
        bureau_paydex=bureau_paydex,
        financials=financials_history(session, as_of, customer_ids),
        customers=customers,
    )


def _rate_of(sources: FeatureSources, codes: np.ndarray) -> np.ndarray:
    """Reporting-currency rate per currency code (NaN for a currency without a rate or outside the list)."""
    table = np.array([*(sources.rates.get(c, np.nan) for c in sources.history.currencies), np.nan])
    return table[np.where(codes < 0, len(table) - 1, codes)]


def _invoice_targets(sources: FeatureSources, rows: np.ndarray) -> Targets:
    h = sources.history
    return Targets(
        customer_id=h.customer_id[rows],
        issue_dn=h.issue_dn[rows],
        amount_cents=h.amount_cents[rows].astype(np.float64),
        rate=_rate_of(sources, h.currency[rows]),
        terms_days=(h.due_dn - h.issue_dn)[rows],
    )


@dataclass(frozen=True)
class LabelledSet:
    features: np.ndarray
    late: np.ndarray
    issue_dn: np.ndarray


def labelled_invoices(sources: FeatureSources, as_of: date, late_threshold_days: int) -> LabelledSet:
    """Invoices whose outcome is known at the as-of date (due more than the threshold before it), with features
    and the label "settled more than the threshold after due" (still open counts as late)."""
    h = sources.history
    as_of_dn = day_number(as_of)
    known = (as_of_dn - h.due_dn) > late_threshold_days
    rows = np.flatnonzero(known)
    features = build_features(sources, _invoice_targets(sources, rows), late_threshold_days)
    late = (h.settled_dn[rows] - h.due_dn[rows]) > late_threshold_days
    usable = np.isfinite(features).all(axis=1)
    return LabelledSet(features[usable], late[usable].astype(np.int64), h.issue_dn[rows][usable])


# --- training and evaluation --------------------------------------------------------------------------------------


def new_pipeline() -> Pipeline:
    # scikit-learn loads in seconds: imported where a model is trained, not by every process using the registry.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(C=1.0, max_iter=2000))])


def predict(pipeline: Pipeline, features: np.ndarray) -> np.ndarray:
    """P(late) per row, computed row by row the same way for one row or a million (no BLAS blocking effects)."""
    scaler: StandardScaler = pipeline.named_steps["scale"]
    model: LogisticRegression = pipeline.named_steps["model"]
    scaled = (features - scaler.mean_) / scaler.scale_
    logit = (scaled * model.coef_[0]).sum(axis=1) + model.intercept_[0]
    return 1.0 / (1.0 + np.exp(-logit))


def metrics_for(
    late: np.ndarray, predicted: np.ndarray, reference_rate: float, threshold: int, evaluated_on: str, days: np.ndarray
) -> PaymentModelMetrics:
    from sklearn.metrics import roc_auc_score

    both = 0 < late.sum() < len(late)
    brier = float(np.mean((predicted - late) ** 2)) if len(late) else 0.0
    reference = float(np.mean((late - reference_rate) ** 2)) if len(late) else 0.0
    return PaymentModelMetrics(
        late_threshold_days=threshold,
        evaluated_on=evaluated_on,
        invoices=len(late),
        late_invoices=int(late.sum()),
        observed_late_rate=round(float(late.mean()), 4) if len(late) else 0.0,
        auc=round(float(roc_auc_score(late, predicted)), 4) if both else None,
        brier=round(brier, 4),
        brier_reference=round(reference, 4),
        brier_skill=round(1 - brier / reference, 4) if reference > 0 else None,
        issued_from=from_day_number(int(days.min())) if len(days) else None,
        issued_to=from_day_number(int(days.max())) if len(days) else None,
        calibration=calibration_table(late, predicted),
    )


def calibration_table(late: np.ndarray, predicted: np.ndarray, bins: int = CALIBRATION_BINS) -> list[CalibrationBin]:
    """Held-out invoices sorted by predicted probability and cut into (up to) ten equal-sized bins."""
    if len(late) == 0:
        return []
    order = np.argsort(predicted, kind="stable")
    table = []
    for number, members in enumerate(np.array_split(order, min(bins, len(order))), start=1):
        table.append(
            CalibrationBin(
                bin=number,
                invoices=len(members),
                late_invoices=int(late[members].sum()),
                mean_predicted=round(float(predicted[members].mean()), 4),
                observed_rate=round(float(late[members].mean()), 4),
                min_predicted=round(float(predicted[members].min()), 4),
                max_predicted=round(float(predicted[members].max()), 4),
            )
        )
    return table


def _split_day(issue_dn: np.ndarray) -> int:
    """First issue day of the held-out (latest) quarter: everything issued on or after it is test data."""
    ordered = np.sort(issue_dn)
    return int(ordered[min(len(ordered) - 1, int(len(ordered) * (1 - TEST_SHARE)))])


def _database_label(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def default_model_path(session: Session | None = None) -> Path:
    """One model per database: the file name carries a digest of the database it was trained on."""
    url = _database_label(session) if session is not None else get_settings().resolved_database_url
    key = make_url(normalise_url(url)).render_as_string(hide_password=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return get_settings().data_dir / "models" / f"payment_model-{digest}.pkl"


def train_payment_model(
    session: Session,
    as_of: date,
    late_threshold_days: int | None = None,
    *,
    save: bool = True,
    path: Path | None = None,
    max_training_rows: int = MAX_TRAINING_ROWS,
    progress: Callable[[str, int, int], None] | None = None,
) -> PaymentModelTraining:
    """Train on invoices issued before the held-out quarter, evaluate on that quarter, and (by default) save the
    model with its metadata under the data directory."""
    started = time.perf_counter()
    policy = load_policy()
    threshold = policy.payment_model.late_threshold_days if late_threshold_days is None else late_threshold_days
    if threshold < 0:
        raise invalid_input("late_threshold_days must not be negative")
    minimum = policy.payment_model.min_training_invoices
    _notify(progress, "loading", 0, 3)
    sources = load_sources(session, as_of)
    _notify(progress, "features", 1, 3)
    data = labelled_invoices(sources, as_of, threshold)
    labelled = len(data.late)

    def refused(message: str) -> PaymentModelTraining:
        return PaymentModelTraining(
            status="not_enough_history",
            message=message,
            as_of=as_of,
            late_threshold_days=threshold,
            labelled_invoices=labelled,
            min_training_invoices=minimum,
            seconds=round(time.perf_counter() - started, 2),
            definitions=_definitions(threshold),
        )

    if labelled < minimum:
        return refused(
            f"not enough history: {labelled} invoices with a known outcome at {as_of} (due more than {threshold} "
            f"days before it); the policy needs at least {minimum}"
        )
    split = _split_day(data.issue_dn)
    train, test = data.issue_dn < split, data.issue_dn >= split
    if len(np.unique(data.late[train])) < 2 or not test.any():
        return refused(
            "not enough history: the training period needs both late and on-time invoices and a later held-out period"
        )
    train_rows = np.flatnonzero(train)
    if len(train_rows) > max_training_rows:
        sample = np.random.default_rng(SAMPLE_SEED).choice(len(train_rows), size=max_training_rows, replace=False)
        train_rows = train_rows[np.sort(sample)]
    _notify(progress, "training", 2, 3)
    pipeline = new_pipeline().fit(data.features[train_rows], data.late[train_rows])
    train_rate = float(data.late[train_rows].mean())
    metrics = metrics_for(
        data.late[test],
        predict(pipeline, data.features[test]),
        train_rate,
        threshold,
        f"invoices issued from {from_day_number(split)} (the latest {int(TEST_SHARE * 100)}% by issue date), "
        "not used for training",
        data.issue_dn[test],
    )
    model: LogisticRegression = pipeline.named_steps["model"]
    metadata = ModelMetadata(
        version=_version(as_of, threshold, pipeline),
        trained_at=utcnow(),
        as_of=as_of,
        late_threshold_days=threshold,
        features=list(FEATURES),
        train_invoices=int(train.sum()),
        train_invoices_used=len(train_rows),
        train_from=from_day_number(int(data.issue_dn[train].min())),
        train_to=from_day_number(int(data.issue_dn[train].max())),
        test_from=from_day_number(split),
        train_late_rate=round(train_rate, 6),
        metrics=metrics,
        coefficients={name: round(float(c), 4) for name, c in zip(FEATURES, model.coef_[0], strict=True)},
        intercept=round(float(model.intercept_[0]), 4),
        database=_database_label(session),
    )
    saved_to = None
    if save:
        target = path or default_model_path(session)
        save_payment_model(PaymentModel(pipeline, metadata), target)
        saved_to = str(target)
    _notify(progress, "training", 3, 3)
    sampled = f" (a random sample of {len(train_rows):,} of them)" if len(train_rows) < int(train.sum()) else ""
    return PaymentModelTraining(
        status="trained",
        message=f"trained on {int(train.sum()):,} invoices{sampled} issued before {metadata.test_from}; evaluated on "
        f"{metrics.invoices:,} later ones",
        as_of=as_of,
        late_threshold_days=threshold,
        labelled_invoices=labelled,
        min_training_invoices=minimum,
        metadata=metadata,
        saved_to=saved_to,
        seconds=round(time.perf_counter() - started, 2),
        definitions=_definitions(threshold),
    )


def evaluate_payment_model(
    session: Session, as_of: date, *, model: PaymentModel | None = None, path: Path | None = None
) -> PaymentModelMetrics:
    """Evaluate a saved model on invoices issued from its hold-out start onwards whose outcome is known at
    `as_of` — none of them were used to train it."""
    model = model or load_payment_model(path or default_model_path(session))
    if model is None:
        raise not_found("no trained payment model; run `creditdesk model train` first")
    meta = model.metadata
    if as_of < meta.test_from:
        raise invalid_input(f"as_of {as_of} is before the model's hold-out period (from {meta.test_from})")
    data = labelled_invoices(load_sources(session, as_of), as_of, meta.late_threshold_days)
    held_out = data.issue_dn >= day_number(meta.test_from)
    if not held_out.any():
        raise invalid_input(f"no invoice issued since {meta.test_from} has a known outcome at {as_of}")
    return metrics_for(
        data.late[held_out],
        model.probabilities(data.features[held_out]),
        meta.train_late_rate,
        meta.late_threshold_days,
        f"invoices issued from {meta.test_from} (after the training period) with a known outcome at {as_of}",
        data.issue_dn[held_out],
    )


def _version(as_of: date, threshold: int, pipeline: Pipeline) -> str:
    model: LogisticRegression = pipeline.named_steps["model"]
    digest = hashlib.sha256(model.coef_.tobytes() + model.intercept_.tobytes()).hexdigest()[:8]
    return f"pm-{as_of.isoformat()}-late{threshold}-{digest}"


def _definitions(threshold: int) -> list[str]:
    return [
        f"Late = settled more than {threshold} days after the due date (an invoice still open that long past due "
        "counts as late).",
        "Features of an invoice use only data dated before its issue date (plus its own amount, terms and month).",
        f"Split by issue date: the latest {int(TEST_SHARE * 100)}% of labelled invoices are held out for evaluation.",
        "AUC: probability that a late invoice gets a higher score than an on-time one; Brier: mean squared error "
        "of the probability; calibration: held-out deciles of predicted probability vs the observed late rate.",
    ]


def _notify(progress: Callable[[str, int, int], None] | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


# --- persistence --------------------------------------------------------------------------------------------------


def save_payment_model(model: PaymentModel, path: Path) -> None:
    """Write atomically (temp file + rename) so a scorer never reads half a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": MODEL_FORMAT, "pipeline": model.pipeline, "metadata": model.metadata.model_dump(mode="json")}
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as handle:
        pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(path)


_loaded: dict[Path, tuple[int, PaymentModel | None]] = {}
_load_lock = threading.Lock()


def load_payment_model(path: Path | None = None, session: Session | None = None) -> PaymentModel | None:
    """The saved model, or None if there is none (or it was saved for another feature set). Cached per file
    version; the file is our own artefact in the data directory."""
    target = (path or default_model_path(session)).resolve()
    try:
        stamp = target.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    with _load_lock:
        cached = _loaded.get(target)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    model = _read_model(target)
    with _load_lock:
        _loaded[target] = (stamp, model)
    return model


def _read_model(target: Path) -> PaymentModel | None:
    """A model file that cannot be read (truncated, from another library version, another feature set) counts as
    no model: scores stay available without a probability, and the log says why."""
    try:
        with target.open("rb") as handle:
            payload: dict[str, Any] = pickle.load(handle)  # noqa: S301 - our own file, written by save_payment_model
        if payload.get("format") != MODEL_FORMAT:
            raise ValueError(f"model format {payload.get('format')!r}, expected {MODEL_FORMAT}")
        metadata = ModelMetadata.model_validate(payload["metadata"])
        if metadata.features != list(FEATURES):
            raise ValueError("the model was trained on another feature set")
        return PaymentModel(payload["pipeline"], metadata)
    except (OSError, pickle.UnpicklingError, EOFError, ImportError, AttributeError, KeyError, ValueError) as error:
        log.warning("payment_model.unusable", path=str(target), error=type(error).__name__, detail=str(error)[:200])
        return None


# --- scoring the next invoice -------------------------------------------------------------------------------------


def next_invoice_probabilities(sources: FeatureSources, model: PaymentModel, as_of: date) -> dict[int, float]:
    """P(late) of each customer's next invoice: issued the day after `as_of`, for the customer's average earlier
    invoice amount, in the customer's currency and on its terms. Customers without invoices get none (there is no
    typical amount to score). Rounded to 4 places: it is a probability, not a measurement."""
    h = sources.history
    if not len(h):
        return {}
    boundaries = np.flatnonzero(np.r_[True, h.customer_id[1:] != h.customer_id[:-1]])
    customers = h.customer_id[boundaries]
    totals = np.add.reduceat(h.amount_cents, boundaries)
    counts = np.diff(np.r_[boundaries, len(h)])
    profiles = [sources.customers.get(cid) for cid in customers.tolist()]
    targets = Targets(
        customer_id=customers,
        issue_dn=np.full(len(customers), day_number(as_of) + 1, dtype=np.int64),
        amount_cents=totals / counts,
        rate=np.array([sources.rates.get(p.currency, np.nan) if p else np.nan for p in profiles], dtype=np.float64),
        terms_days=np.array([p.payment_terms_days if p else 30 for p in profiles], dtype=np.int64),
    )
    features = build_features(sources, targets, model.metadata.late_threshold_days)
    probabilities = model.probabilities(features)
    usable = np.isfinite(features).all(axis=1)
    return {
        cid: round(float(p), 4)
        for cid, p, ok in zip(customers.tolist(), probabilities.tolist(), usable.tolist(), strict=True)
        if ok
    }


def model_applies(model: PaymentModel | None, as_of: date) -> tuple[bool, str]:
    """A model trained on data after the as-of date would leak the future into a point-in-time score."""
    if model is None:
        return False, "no trained payment model (run `creditdesk model train`)"
    if model.metadata.as_of > as_of:
        return False, (
            f"the saved payment model ({model.metadata.version}) was trained on data up to {model.metadata.as_of}, "
            f"after the as-of date; no point-in-time probability"
        )
    return True, f"payment model {model.metadata.version}, trained on data up to {model.metadata.as_of}"
