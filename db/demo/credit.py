"""Credit information around the customers: bureau reports, financial statements, credit limits and FX rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from core.dates import add_months, day_number, month_end
from db.demo import texts
from db.demo.portfolio import (
    CHRONIC,
    DETERIORATING,
    SHOWCASE,
    STREAM_BUREAU,
    STREAM_FINANCIALS,
    STREAM_FX,
    STREAM_LIMITS,
    UMBRELLA,
    UNIT,
    USD_PER_UNIT,
    Portfolio,
    StaffIds,
    Timeline,
    dates,
    make_rng,
    office_seconds,
    round_to,
    timestamps,
)

# Mean days beyond terms by behaviour (deteriorating payers drift from 0 to 45 over the window).
MEAN_LATENESS = np.array([-1.0, 12.0, 0.0, 45.0, 4.0])
DETERIORATION_DAYS = 45.0

# D&B's published PAYDEX anchors: days beyond terms -> index.
PAYDEX_DAYS = np.array([-30.0, -20.0, 0.0, 15.0, 22.0, 30.0, 60.0, 90.0, 120.0, 180.0])
PAYDEX_VALUES = np.array([100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0])
FAILURE_CLASS_FLOORS = (1570, 1510, 1450, 1340)  # lowest score of classes 1-4; anything lower is class 5
CLASS_CREDIT_FACTOR = np.array([0.0, 1.3, 1.1, 0.9, 0.6, 0.3])
BUREAU_AGENCY = "D&B-like"

ANALYST_LIMIT_USD = 50_000.0


def typical_lateness(behaviour: np.ndarray, late_shift: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """Expected days beyond terms; `progress` (0..1 through the window) drives the deteriorating payers."""
    mean = MEAN_LATENESS[behaviour] + late_shift
    return np.where(behaviour == DETERIORATING, mean + DETERIORATION_DAYS * progress, mean)


def window_progress(timeline: Timeline, day_numbers: np.ndarray) -> np.ndarray:
    return np.clip((day_numbers - timeline.start_dn) / max(1, timeline.as_dn - timeline.start_dn), 0.0, 1.0)


def _repeat_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, 0-based row number within the customer) for `counts` rows per customer."""
    customer = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return customer, np.arange(len(customer)) - np.repeat(starts, counts)


def bureau_columns(seed: int, portfolio: Portfolio, timeline: Timeline, first_id: int) -> dict[str, Any]:
    rng = make_rng(seed, STREAM_BUREAU)
    age_years = (timeline.as_dn - portfolio.since_dn) // 365
    counts = rng.integers(1, np.clip(age_years + 1, 1, 3) + 1)
    customer, nth = _repeat_rows(counts)
    rows = len(customer)
    report_dn = timeline.as_dn - rng.integers(15, 200, size=rows) - 365 * nth
    report_dn = np.maximum(report_dn, portfolio.since_dn[customer] - 30)
    lateness = typical_lateness(
        portfolio.behaviour[customer], portfolio.late_shift[customer], window_progress(timeline, report_dn)
    ) + rng.normal(0.0, 5.0, size=rows)
    paydex = np.clip(np.round(np.interp(lateness, PAYDEX_DAYS, PAYDEX_VALUES) + rng.normal(0, 3, rows)), 1, 100)
    failure = np.clip(np.round(1480 + (paydex - 65) * 5 + rng.normal(0, 70, rows)), 1001, 1875).astype(np.int64)
    failure_class = 1 + sum((failure < floor).astype(np.int64) for floor in FAILURE_CLASS_FLOORS)
    monthly = portfolio.expected_monthly_cents(timeline)[customer]
    recommendation = round_to(monthly * rng.uniform(1.5, 5.0, rows) * CLASS_CREDIT_FACTOR[failure_class], 1000)
    order = np.lexsort((report_dn, customer))
    customer, report_dn = customer[order], report_dn[order]
    return {
        "id": np.arange(first_id, first_id + rows, dtype=np.int64),
        "customer_id": portfolio.ids[customer],
        "agency": [BUREAU_AGENCY] * rows,
        "report_date": dates(report_dn),
        "paydex": paydex.astype(np.int64)[order],
        "failure_score": failure[order],
        "failure_class": failure_class[order],
        "max_credit_recommendation": np.maximum(recommendation, 1000 * UNIT)[order],
        "currency": portfolio.currency[customer].tolist(),
    }


def latest_fiscal_year_end(as_of: date) -> date:
    """Statements for a calendar year are filed about three months after it ends."""
    return date(as_of.year - 1 if as_of.month > 3 else as_of.year - 2, 12, 31)


def financial_columns(seed: int, portfolio: Portfolio, timeline: Timeline, first_id: int) -> dict[str, Any]:
    rng = make_rng(seed, STREAM_FINANCIALS)
    count = portfolio.size
    has = rng.random(count) < 0.7
    for customer_id, spec in SHOWCASE.items():
        if customer_id <= count:
            has[customer_id - 1] = spec.financials
    statements = np.where(has, np.where(rng.random(count) < 0.55, 2, 1), 0)
    customer, nth = _repeat_rows(statements)
    rows = len(customer)
    behaviour = portfolio.behaviour[customer]
    latest = nth == 0
    stressed = latest & np.isin(behaviour, (CHRONIC, DETERIORATING))

    annual_purchases = portfolio.expected_monthly_cents(timeline)[customer] * 12
    revenue_latest = np.maximum(annual_purchases * rng.lognormal(np.log(25.0), 0.8, rows), annual_purchases * 5)
    growth = rng.normal(0.05, 0.08, rows)
    revenue = revenue_latest / (1 + growth) ** nth
    margin = rng.normal(0.055, 0.05, rows) - np.where(stressed, 0.045, 0.0)
    leverage = np.clip(rng.normal(0.55, 0.17, rows) + np.where(stressed, 0.12, 0.0), 0.15, 1.35)
    current_ratio = np.clip(rng.normal(1.6, 0.45, rows) - np.where(stressed, 0.35, 0.0), 0.6, 3.0)
    umbrella_latest = (portfolio.ids[customer] == UMBRELLA) & latest
    margin = np.where(umbrella_latest, -0.06, margin)
    leverage = np.where(umbrella_latest, 0.97, leverage)
    current_ratio = np.where(umbrella_latest, 0.8, current_ratio)

    total_assets = revenue * rng.uniform(0.5, 1.3, rows)
    total_liabilities = total_assets * leverage
    current_assets = total_assets * rng.uniform(0.25, 0.6, rows)
    current_liabilities = np.minimum(current_assets / current_ratio, total_liabilities * 0.95)
    current_assets = np.minimum(current_liabilities * current_ratio, total_assets * 0.9)
    year_end = latest_fiscal_year_end(timeline.as_of)
    period_end = np.array([day_number(date(year_end.year - 1, 12, 31)), day_number(year_end)])[1 - nth]
    order = np.lexsort((period_end, customer))
    customer = customer[order]

    def money(values: np.ndarray) -> np.ndarray:
        return round_to(values, 1)[order]

    return {
        "id": np.arange(first_id, first_id + rows, dtype=np.int64),
        "customer_id": portfolio.ids[customer],
        "period_end": dates(period_end[order]),
        "currency": portfolio.currency[customer].tolist(),
        "revenue": money(revenue),
        "net_income": money(revenue * margin),
        "total_assets": money(total_assets),
        "total_liabilities": money(total_liabilities),
        "intangible_assets": money(total_assets * rng.uniform(0.0, 0.25, rows)),
        "current_assets": money(current_assets),
        "current_liabilities": money(current_liabilities),
        "source": ["statement"] * rows,
    }


def limit_columns(
    seed: int,
    portfolio: Portfolio,
    timeline: Timeline,
    staff: StaffIds,
    current_cents: np.ndarray,
    first_id: int,
) -> dict[str, Any]:
    """Current limit per customer (valid_to NULL) plus 0-2 earlier periods, oldest first."""
    rng = make_rng(seed, STREAM_LIMITS)
    count = portfolio.size
    age = timeline.as_dn - portfolio.since_dn
    history = rng.choice(3, size=count, p=(0.35, 0.4, 0.25))
    history = np.where(age < 400, 0, np.where(age < 800, np.minimum(history, 1), history))

    # Period starts, newest first: the current period began 10-365 days ago, earlier ones 200-600 days apart.
    starts = [np.maximum(timeline.as_dn - rng.integers(10, 366, size=count), portfolio.since_dn)]
    amounts = [current_cents.astype(np.int64)]
    for _ in range(2):
        starts.append(np.maximum(starts[-1] - rng.integers(200, 600, size=count), portfolio.since_dn))
        earlier = round_to(amounts[-1] * rng.uniform(0.5, 1.3, size=count), 1000)
        amounts.append(np.maximum(earlier, 1000 * UNIT))
    seconds = [office_seconds(rng, count) for _ in range(3)]

    rows: list[dict[str, np.ndarray]] = []
    for period in range(3):
        # Only as many earlier periods as the customer has, and never two starting on the same day.
        keep = history >= period if period else np.ones(count, dtype=bool)
        if period:
            keep &= starts[period] < starts[period - 1]
        index = np.flatnonzero(keep)
        valid_to = (
            np.full(len(index), np.datetime64("NaT"), dtype="datetime64[us]")
            if period == 0
            else timestamps(starts[period - 1][index], seconds[period - 1][index])
        )
        rows.append(
            {
                "customer": index,
                "period": np.full(len(index), period),
                "start": starts[period][index],
                "valid_from": timestamps(starts[period][index], seconds[period][index]),
                "valid_to": valid_to,
                "amount": amounts[period][index],
            }
        )
    merged = {key: np.concatenate([part[key] for part in rows]) for key in rows[0]}
    order = np.lexsort((-merged["period"], merged["customer"]))
    merged = {key: values[order] for key, values in merged.items()}
    customer, periods = merged["customer"], merged["period"]
    oldest = np.r_[True, customer[1:] != customer[:-1]]
    total = len(customer)

    usd = merged["amount"] / UNIT * np.array([USD_PER_UNIT[c] for c in portfolio.currency[customer]])
    analyst = staff.analysts[customer % len(staff.analysts)]
    setter = np.where(usd > ANALYST_LIMIT_USD, staff.manager, analyst)
    by_seed = oldest & (periods > 0)
    names_by_id = {staff_id: name for name, staff_id in staff.by_name.items()}
    set_by_name = ["seed" if seeded else names_by_id[int(s)] for seeded, s in zip(by_seed, setter, strict=True)]
    set_by_id = np.ma.masked_array(setter, mask=by_seed)

    risky = np.isin(portfolio.behaviour[customer], (CHRONIC, DETERIORATING))
    review_dn = merged["start"] + np.where(risky, 182, 365)
    previous = np.r_[0, merged["amount"][:-1]]
    reasons = _limit_reasons(
        rng, merged["amount"], np.where(oldest, -1, previous), merged["start"] == portfolio.since_dn[customer], by_seed
    )
    return {
        "id": np.arange(first_id, first_id + total, dtype=np.int64),
        "customer_id": portfolio.ids[customer],
        "amount": merged["amount"],
        "currency": portfolio.currency[customer].tolist(),
        "valid_from": merged["valid_from"],
        "valid_to": merged["valid_to"],
        "set_by_id": set_by_id,
        "set_by_name": set_by_name,
        "reason": reasons,
        "review_date": dates(review_dn),
        "source": np.where(by_seed, "seed", "manual").tolist(),
        "created_at": merged["valid_from"],
    }


def _limit_reasons(
    rng: np.random.Generator, amount: np.ndarray, previous: np.ndarray, at_onboarding: np.ndarray, migrated: np.ndarray
) -> list[str]:
    """Why each limit was set: onboarding, migration, or a review that raised, cut or kept the previous amount."""
    picks = rng.integers(0, 1000, size=len(amount)).tolist()
    reasons = []
    for amt, prev, first, carried, pick in zip(
        amount.tolist(), previous.tolist(), at_onboarding.tolist(), migrated.tolist(), picks, strict=True
    ):
        if first:
            reasons.append(texts.LIMIT_REASON_INITIAL)
        elif carried:
            reasons.append(texts.LIMIT_REASON_MIGRATED)
        elif prev < 0 or amt == prev:
            reasons.append(_pick(texts.LIMIT_REASONS_SAME, pick))
        else:
            reasons.append(_pick(texts.LIMIT_REASONS_UP if amt > prev else texts.LIMIT_REASONS_DOWN, pick))
    return reasons


def _pick(options: tuple[str, ...], draw: int) -> str:
    return options[draw % len(options)]


FX_VOLATILITY = 0.018  # monthly, log scale
FX_REVERSION = 0.15
FX_EXTRA_MONTHS = 12  # rates start a year before the window, for limits and statements dated before it


def fx_columns(
    seed: int, timeline: Timeline, currencies: list[str], first_id: int, *, skip: set[tuple[str, date]]
) -> dict[str, Any]:
    """Month-end rates (and one on the as-of date) for each currency into USD: a mean-reverting random walk."""
    rng = make_rng(seed, STREAM_FX)
    first_month = add_months(timeline.as_of.replace(day=1), -(timeline.months + FX_EXTRA_MONTHS))
    rate_dates = [month_end(add_months(first_month, k)) for k in range(timeline.months + FX_EXTRA_MONTHS + 1)]
    rate_dates = [d for d in rate_dates if d < timeline.as_of] + [timeline.as_of]
    rows: dict[str, list[object]] = {"from_currency": [], "rate_date": [], "rate": []}
    for currency in sorted(set(currencies) - {"USD"}):
        level = np.log(USD_PER_UNIT[currency])
        walk = level + rng.normal(0.0, FX_VOLATILITY)
        for rate_date in rate_dates:
            walk += FX_REVERSION * (level - walk) + rng.normal(0.0, FX_VOLATILITY)
            if (currency, rate_date) in skip:
                continue
            rows["from_currency"].append(currency)
            rows["rate_date"].append(rate_date)
            rows["rate"].append(Decimal(f"{np.exp(walk):.6f}"))
    total = len(rows["rate"])
    return {
        "id": np.arange(first_id, first_id + total, dtype=np.int64),
        "from_currency": rows["from_currency"],
        "to_currency": ["USD"] * total,
        "rate_date": rows["rate_date"],
        "rate": rows["rate"],
        "source": ["seed"] * total,
    }
