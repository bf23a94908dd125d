"""get_portfolio_summary: every figure against an independent pandas computation from the raw tables (invoices,
allocations, disputes, promises, orders, rates) at several dates, the domain reference's worked examples, filters
and grouping, snapshot = live, the IBM sample, edge cases, visibility and charts."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings
from db.engine import read_session, write_session
from db.models import (
    Customer,
    Dispute,
    FxRate,
    Invoice,
    PaymentAllocation,
    PromiseStatus,
    PromiseToPay,
    SalesOrder,
    StaffUser,
)
from db.queries import portfolio as queries
from tests.conftest import DEMO_AS_OF
from tests.support import factories as f
from tests.support.paths import IBM_SAMPLE
from tools.charts import materialise
from tools.context import Actor, ToolContext
from tools.maintenance import refresh_receivable_snapshots
from tools.portfolio import (
    PortfolioSummary,
    collection_effectiveness,
    dso_count_back,
    dso_simple,
    percentage,
)
from tools.registry import call_tool

D = Decimal
EPOCH = date(1970, 1, 1)
BOUNDS = (30, 60, 90, 120)
GRACE_DAYS = 3  # knowledge/policies/policy.yaml promises.grace_days (the tool reads it; the reference states it)


def dn(day: date) -> int:
    return (day - EPOCH).days


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=UTC)


def cents(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"))


def tenth(value: Decimal) -> Decimal:
    return value.quantize(D("0.1"))


def ctx_for(url: str, *, today: date = DEMO_AS_OF, actor: Actor | None = None) -> ToolContext:
    return ToolContext(actor=actor or Actor.operator(), database_url=url, today=today, reporting_currency="USD")


def summary(url: str, *, today: date = DEMO_AS_OF, actor: Actor | None = None, **args: object) -> PortfolioSummary:
    result = call_tool("get_portfolio_summary", args, ctx_for(url, today=today, actor=actor))
    assert isinstance(result, PortfolioSummary)
    return result


# --- the independent reference: plain pandas over the raw tables ----------------------------------------------------


@dataclass
class Raw:
    invoices: pd.DataFrame
    allocations: pd.DataFrame
    disputes: pd.DataFrame
    promises: pd.DataFrame
    customers: pd.DataFrame
    orders: pd.DataFrame
    rates: pd.DataFrame
    staff: pd.DataFrame
    items_at: dict[date, pd.DataFrame] = field(default_factory=dict)


def _frame(session, columns: Iterable) -> pd.DataFrame:
    columns = list(columns)
    rows = session.execute(select(*columns)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[c.key for c in columns])


def load_raw(url: str) -> Raw:
    with read_session(url) as s:
        return Raw(
            invoices=_frame(
                s,
                [Invoice.id, Invoice.customer_id, Invoice.currency, Invoice.amount, Invoice.issue_dn, Invoice.due_dn],
            ),
            allocations=_frame(
                s, [PaymentAllocation.invoice_id, PaymentAllocation.amount, PaymentAllocation.applied_dn]
            ),
            disputes=_frame(
                s,
                [
                    Dispute.invoice_id,
                    Dispute.customer_id,
                    Dispute.currency,
                    Dispute.status,
                    Dispute.opened_at,
                    Dispute.resolved_at,
                ],
            ),
            promises=_frame(
                s,
                [
                    PromiseToPay.customer_id,
                    PromiseToPay.currency,
                    PromiseToPay.amount,
                    PromiseToPay.amount_paid,
                    PromiseToPay.status,
                    PromiseToPay.promised_dn,
                    PromiseToPay.taken_at,
                    PromiseToPay.resolved_at,
                ],
            ),
            customers=_frame(
                s,
                [
                    Customer.id,
                    Customer.name,
                    Customer.region,
                    Customer.segment,
                    Customer.collector_id,
                    Customer.risk_class,
                ],
            ),
            orders=_frame(s, [SalesOrder.customer_id, SalesOrder.currency, SalesOrder.open_amount, SalesOrder.status]),
            rates=_frame(s, [FxRate.from_currency, FxRate.to_currency, FxRate.rate, FxRate.rate_date]),
            staff=_frame(s, [StaffUser.id, StaffUser.name]),
        )


def usd_rate(raw: Raw, currency: str, on: date) -> Decimal:
    if currency == "USD":
        return D(1)
    rows = raw.rates[
        (raw.rates.from_currency == currency) & (raw.rates.to_currency == "USD") & (raw.rates.rate_date <= on)
    ]
    return D(rows.sort_values("rate_date").iloc[-1].rate)


def months_back(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def month_windows(as_of: date) -> list[tuple[date, date, int]]:
    """(first, last, days counted) of the as-of month to date and the six calendar months before it."""
    windows = [(as_of.replace(day=1), as_of, as_of.day)]
    for back in range(1, 7):
        first = months_back(as_of, back)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        windows.append((first, last, last.day))
    return windows


def bucket_of(days_past_due: int) -> int:
    if days_past_due <= 0:
        return 0
    return next((i + 1 for i, bound in enumerate(BOUNDS) if days_past_due <= bound), len(BOUNDS) + 1)


def open_items(raw: Raw, as_of: date) -> pd.DataFrame:
    """Every item open at the end of `as_of`: amount less allocations applied by then, with bucket and dispute flag."""
    if as_of not in raw.items_at:
        raw.items_at[as_of] = _open_items(raw, as_of)
    return raw.items_at[as_of]


def _open_items(raw: Raw, as_of: date) -> pd.DataFrame:
    t = dn(as_of)
    allocations = raw.allocations[raw.allocations.applied_dn <= t]
    paid = allocations.groupby("invoice_id")["amount"].apply(lambda s: sum(s, D(0)))
    items = raw.invoices[raw.invoices.issue_dn <= t].copy()
    items["open"] = [
        amount - paid.get(invoice_id, D(0)) for invoice_id, amount in zip(items.id, items.amount, strict=True)
    ]
    items = items[items.open != 0].copy()
    items["bucket"] = [bucket_of(t - due) for due in items.due_dn]
    moment = end_of(as_of)
    active = raw.disputes[
        raw.disputes.invoice_id.notna()
        & (raw.disputes.opened_at <= moment)
        & (raw.disputes.resolved_at.isna() | (raw.disputes.resolved_at > moment))
    ]
    items["disputed"] = items.id.isin(set(active.invoice_id.astype(int)))
    return items


@dataclass
class Expected:
    ageing_incl: list[Decimal]
    ageing_excl: list[Decimal]
    selected: Decimal
    overdue: Decimal
    disputed: Decimal
    ar: Decimal
    ar_current: Decimal
    over_90: Decimal
    sales: Decimal
    collections: Decimal
    beginning: Decimal
    dso: Decimal | None
    count_back: Decimal | None
    bpdso: Decimal | None
    cei: Decimal | None
    pct_current: Decimal | None
    pct_over_90: Decimal | None
    kept_count: Decimal | None
    kept_amount: Decimal | None
    evaluated: int
    broken: int
    cycle_days: float | None
    resolved: int
    with_balance: int
    with_credit: int
    credit: Decimal
    orders: Decimal
    exposures: list[tuple[int, Decimal]]


def reference(
    raw: Raw,
    as_of: date,
    *,
    months: int = 3,
    customers: set[int] | None = None,
    exclude_disputed: bool = False,
    buckets: Iterable[int] = range(6),
    currencies: set[str] | None = None,
    today: date | None = None,
    rates_on: date | None = None,
) -> Expected:
    chosen = set(buckets)
    rate_day = rates_on or as_of
    start = months_back(as_of, months - 1)
    days = (as_of - start).days + 1
    t, first = dn(as_of), dn(start)

    def keep(frame: pd.DataFrame, customer: str = "customer_id") -> pd.DataFrame:
        mask = pd.Series(True, index=frame.index)
        if customers is not None:
            mask &= frame[customer].isin(customers)
        if currencies is not None and "currency" in frame:
            mask &= frame.currency.isin(currencies)
        return frame[mask]

    rates = {c: usd_rate(raw, c, rate_day) for c in set(raw.invoices.currency) | set(raw.orders.currency)}

    def usd(frame: pd.DataFrame, column: str) -> list[Decimal]:
        return [v * rates[c] for v, c in zip(frame[column], frame.currency, strict=True)]

    items = keep(open_items(raw, as_of))
    items = items.assign(usd=usd(items, "open"))
    incl = [sum(items[items.bucket == b].usd, D(0)) for b in range(6)]
    excl = [sum(items[(items.bucket == b) & ~items.disputed].usd, D(0)) for b in range(6)]
    measured = excl if exclude_disputed else incl
    selected = sum((measured[b] for b in chosen), D(0))
    ar, ar_current = sum(measured, D(0)), measured[0]
    over_90 = measured[4] + measured[5]

    invoices = keep(raw.invoices)
    monthly = []
    for low, high, month_days in month_windows(as_of):
        issued = invoices[(invoices.issue_dn >= dn(low)) & (invoices.issue_dn <= dn(high))]
        monthly.append((sum(usd(issued, "amount"), D(0)), month_days))
    sales = sum((s for s, _ in monthly[:months]), D(0))
    allocations = raw.allocations.merge(
        raw.invoices[["id", "customer_id", "currency"]], left_on="invoice_id", right_on="id"
    )
    applied = keep(allocations[(allocations.applied_dn >= first) & (allocations.applied_dn <= t)])
    collections = sum(usd(applied, "amount"), D(0))
    ar_all = sum(incl, D(0))
    beginning = ar_all - sales + collections
    dso = tenth(ar / sales * days) if sales > 0 else None
    bpdso = tenth(ar_current / sales * days) if sales > 0 else None
    remaining, counted, count_back = ar, D(0), None
    if ar > 0:
        for month_sales, month_days in monthly:
            if remaining < month_sales:
                count_back = tenth(counted + remaining / month_sales * month_days)
                break
            remaining -= month_sales
            counted += month_days
    collectible = beginning + sales / months
    denominator = collectible - incl[0]
    cei = tenth((collectible - ar_all) / denominator * 100) if denominator > 0 else None

    promises = keep(raw.promises)
    promises = promises[(promises.promised_dn >= first) & (promises.promised_dn <= t)]
    promises = promises[promises.taken_at <= end_of(as_of)]
    done = promises[
        promises.status.isin(["kept", "partially_kept", "broken"]) & (promises.resolved_at <= end_of(as_of))
    ]
    kept = done[done.status == "kept"]
    promised_usd, paid_usd = sum(usd(done, "amount"), D(0)), sum(usd(done, "amount_paid"), D(0))

    disputes = keep(raw.disputes)
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    resolved = disputes[
        disputes.status.isin(["resolved", "rejected"])
        & (disputes.resolved_at >= begin)
        & (disputes.resolved_at <= end_of(as_of))
    ]
    cycle = [(r - o).total_seconds() / 86400 for o, r in zip(resolved.opened_at, resolved.resolved_at, strict=True)]

    per_customer: dict[int, Decimal] = {}
    native: dict[tuple[int, str], Decimal] = {}
    for customer_id, currency, bucket, disputed, amount, value in zip(
        items.customer_id, items.currency, items.bucket, items.disputed, items.open, items.usd, strict=True
    ):
        if bucket in chosen and not (exclude_disputed and disputed):
            per_customer[customer_id] = per_customer.get(customer_id, D(0)) + value
            native[(customer_id, currency)] = native.get((customer_id, currency), D(0)) + amount
    orders_usd: dict[int, Decimal] = {}
    if today is not None and as_of >= today and 0 in chosen:
        open_orders = keep(raw.orders[raw.orders.status == "open"])
        for customer_id, value in zip(open_orders.customer_id, usd(open_orders, "open_amount"), strict=True):
            orders_usd[customer_id] = orders_usd.get(customer_id, D(0)) + value
    exposure = {c: per_customer.get(c, D(0)) + orders_usd.get(c, D(0)) for c in set(per_customer) | set(orders_usd)}
    ranked = sorted(((c, v) for c, v in exposure.items() if v > 0), key=lambda cv: (-cv[1], cv[0]))
    return Expected(
        ageing_incl=incl,
        ageing_excl=excl,
        selected=selected,
        overdue=sum((measured[b] for b in chosen if b > 0), D(0)),
        disputed=sum((incl[b] - excl[b] for b in chosen), D(0)),
        ar=ar,
        ar_current=ar_current,
        over_90=over_90,
        sales=sales,
        collections=collections,
        beginning=beginning,
        dso=dso,
        count_back=count_back,
        bpdso=bpdso,
        cei=cei,
        pct_current=tenth(ar_current / ar * 100) if ar > 0 else None,
        pct_over_90=tenth(over_90 / ar * 100) if ar > 0 else None,
        kept_count=tenth(D(len(kept)) / len(done) * 100) if len(done) else None,
        kept_amount=tenth(paid_usd / promised_usd * 100) if promised_usd > 0 else None,
        evaluated=len(done),
        broken=int((done.status == "broken").sum()),
        cycle_days=sum(cycle) / len(cycle) if cycle else None,
        resolved=len(resolved),
        with_balance=len({c for (c, _), v in native.items() if v != 0}),
        with_credit=len({c for (c, _), v in native.items() if v < 0}),
        credit=sum((v * rates[cur] for (_, cur), v in native.items() if v < 0), D(0)),
        orders=sum(orders_usd.values(), D(0)),
        exposures=ranked,
    )


def assert_matches(figures, expected: Expected, *, tolerance: Decimal = D("0.01")) -> None:
    def close(actual: Decimal | None, wanted: Decimal) -> None:
        assert actual is not None and abs(actual - cents(wanted)) <= tolerance, (actual, cents(wanted))

    close(figures.open_receivables.value, expected.selected)
    close(figures.overdue.value, expected.overdue)
    close(figures.disputed.value, expected.disputed)
    for row, incl, excl in zip(figures.ageing, expected.ageing_incl, expected.ageing_excl, strict=True):
        close(row.including_disputed, incl)
        close(row.excluding_disputed, excl)
    close(figures.sales.value, expected.sales)
    close(figures.collections.value, expected.collections)
    close(figures.beginning_receivables.value, expected.beginning)
    assert figures.dso.value == expected.dso
    assert figures.dso_count_back.value == expected.count_back
    assert figures.best_possible_dso.value == expected.bpdso
    if expected.dso is not None and expected.bpdso is not None:
        assert figures.add.value == expected.dso - expected.bpdso
    assert figures.cei.value == expected.cei
    assert figures.pct_current.value == expected.pct_current
    assert figures.pct_over_90.value == expected.pct_over_90
    assert figures.promise_kept_rate_count.value == expected.kept_count
    assert figures.promise_kept_rate_amount.value == expected.kept_amount
    assert figures.promises_evaluated.value == expected.evaluated
    assert figures.promises_broken.value == expected.broken
    assert figures.disputes_resolved.value == expected.resolved
    if expected.cycle_days is None:
        assert figures.dispute_cycle_time.value is None
    else:
        assert abs(float(figures.dispute_cycle_time.value) - expected.cycle_days) <= 0.051
    close(figures.credit_balances.value, expected.credit)
    assert figures.customers_with_balance.value == expected.with_balance
    assert figures.customers_with_credit_balance.value == expected.with_credit


_raw_by_url: dict[str, Raw] = {}


@pytest.fixture
def raw_demo(demo_db_url: str) -> Raw:
    """The shared demo database is read-only: its raw tables are loaded once per backend."""
    if demo_db_url not in _raw_by_url:
        _raw_by_url[demo_db_url] = load_raw(demo_db_url)
    return _raw_by_url[demo_db_url]


# --- the domain reference's worked examples (formula functions) -----------------------------------------------------


def test_count_back_reproduces_the_worked_example() -> None:
    # AR 212,000; sales 100k (latest), 80k, 70k in 30-day months: 30 + 30 + 32/70 × 30 = 73.7 days.
    months = [(D(100000), 30), (D(80000), 30), (D(70000), 30)]
    assert dso_count_back(D(212000), months).days == D("73.7")
    # With calendar days (31, 28, 31) the same ledger gives 31 + 28 + 32/70 × 31 = 73.2: month lengths matter.
    assert dso_count_back(D(212000), [(D(100000), 31), (D(80000), 28), (D(70000), 31)]).days == D("73.2")


def test_count_back_says_when_sales_history_runs_out() -> None:
    result = dso_count_back(D(500000), [(D(100000), 30), (D(80000), 30)])
    assert result.days is None and result.note and "not determinable" in result.note
    assert dso_count_back(D(0), [(D(100), 30)]).days is None
    # A month without sales counts whole while receivables remain.
    assert dso_count_back(D(150), [(D(100), 30), (D(0), 31), (D(100), 31)]).days == D("76.5")


def test_cei_reproduces_the_worked_example() -> None:
    # B 6,200; S 10,890 over N = 3 months; AR_end 6,340; AR_current 3,590 → 55.9 %.
    assert collection_effectiveness(D(6200), D(10890), 3, D(6340), D(3590)) == D("55.9")


def test_ratios_are_not_defined_without_sales_or_receivables() -> None:
    assert dso_simple(D(1000), D(0), 92) is None
    assert dso_simple(D(1000), D(-50), 92) is None
    assert dso_simple(D(1000), D(3000), 90) == D("30.0")
    assert percentage(D(5), D(0)) is None
    assert collection_effectiveness(D(0), D(0), 3, D(0), D(0)) is None


# --- the demo portfolio against the reference -----------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [DEMO_AS_OF, date(2026, 8, 15), date(2026, 6, 30), date(2025, 12, 15)])
def test_totals_match_an_independent_pandas_computation(demo_db_url: str, raw_demo: Raw, as_of: date) -> None:
    result = summary(demo_db_url, as_of=as_of.isoformat())
    expected = reference(raw_demo, as_of, today=DEMO_AS_OF)
    assert result.as_of == as_of
    start = months_back(as_of, 2)
    assert (result.period.start, result.period.end, result.period.months) == (start, as_of, 3)
    assert result.period.days == (as_of - start).days + 1
    assert_matches(result.totals, expected)
    assert result.totals.open_orders.value == cents(expected.orders)
    assert result.totals.total_exposure.value == cents(expected.selected + expected.orders)
    ranked = expected.exposures[:10]
    assert [(t.customer_id, t.exposure) for t in result.top_exposures] == [(c, cents(v)) for c, v in ranked]
    gross = expected.selected + expected.orders - expected.credit
    assert result.concentration.value == tenth(sum((v for _, v in ranked), D(0)) / gross * 100)
    # The rates used are listed, each the latest on or before the as-of date.
    for used in result.fx_rates:
        assert used.to_currency == "USD" and used.rate == usd_rate(raw_demo, used.from_currency, as_of)


def test_periods_of_one_and_six_months(demo_db_url: str, raw_demo: Raw) -> None:
    for months in (1, 6):
        result = summary(demo_db_url, period_months=months)
        assert_matches(result.totals, reference(raw_demo, DEMO_AS_OF, months=months, today=DEMO_AS_OF))
    by_start = summary(demo_db_url, period_start="2026-07-01", period_end=DEMO_AS_OF.isoformat())
    assert by_start.period.months == 3 and by_start.totals == summary(demo_db_url).totals


@pytest.mark.parametrize("group_by", ["region", "segment", "collector", "currency"])
def test_groups_sum_to_the_total_and_match_the_reference(demo_db_url: str, raw_demo: Raw, group_by: str) -> None:
    result = summary(demo_db_url, group_by=group_by)
    total = summary(demo_db_url)
    assert result.totals.open_receivables.value == total.totals.open_receivables.value
    assert result.totals.dso.value == total.totals.dso.value
    groups = result.groups
    for name in ("open_receivables", "overdue", "sales", "collections", "open_orders"):
        parts = sum((getattr(g.figures, name).value for g in groups), D(0))
        assert abs(parts - getattr(result.totals, name).value) <= D("0.01") * len(groups), name
    for name in ("customers_with_balance", "promises_evaluated", "promises_broken", "disputes_resolved"):
        assert sum(getattr(g.figures, name).value for g in groups) == getattr(result.totals, name).value, name
    customers = raw_demo.customers
    names = dict(zip(raw_demo.staff.id, raw_demo.staff.name, strict=True))
    for group in groups:
        if group_by == "currency":
            expected = reference(raw_demo, DEMO_AS_OF, currencies={group.key}, today=DEMO_AS_OF)
        else:
            column = {"collector": "collector_id", "risk_class": "risk_class"}.get(group_by, group_by)
            values = customers[column].astype(object).where(customers[column].notna(), None)
            members = (
                set(
                    customers.id[
                        [str(v) if v is not None else None for v in values]
                        == pd.Series([group.key] * len(customers), index=customers.index, dtype=object)
                    ]
                )
                if group.key is not None
                else set(customers.id[customers[column].isna()])
            )
            expected = reference(raw_demo, DEMO_AS_OF, customers=members, today=DEMO_AS_OF)
            if group_by == "collector" and group.key is not None:
                assert group.label == names[int(group.key)]
        assert_matches(group.figures, expected)


def test_group_by_customer_lists_the_top_customers_and_the_rest(demo_db_url: str, raw_demo: Raw) -> None:
    result = summary(demo_db_url, group_by="customer", top_n=3)
    expected = reference(raw_demo, DEMO_AS_OF, today=DEMO_AS_OF)
    top_ids = [c for c, _ in expected.exposures[:3]]
    assert [g.key for g in result.groups] == [*map(str, top_ids), None]
    assert result.groups[-1].label == "Other customers"
    for group, customer_id in zip(result.groups, top_ids, strict=False):
        assert_matches(group.figures, reference(raw_demo, DEMO_AS_OF, customers={customer_id}, today=DEMO_AS_OF))
    rest = set(raw_demo.customers.id) - set(top_ids)
    other = reference(raw_demo, DEMO_AS_OF, customers=rest, today=DEMO_AS_OF)
    assert abs(result.groups[-1].figures.open_receivables.value - cents(other.selected)) <= D("0.03")
    assert result.groups[-1].figures.customers_with_balance.value == other.with_balance


def test_the_ad_hoc_example_in_one_call(demo_db_url: str, raw_demo: Raw) -> None:
    """ "90+ exposure by region for customers with a broken promise this quarter, excluding disputed"."""
    result = summary(
        demo_db_url,
        group_by="region",
        min_days_past_due=90,
        broken_promise_in_period=True,
        exclude_disputed=True,
        period_start="2026-07-01",
    )
    applied = result.filters_applied
    assert applied.min_days_past_due == 90 and applied.broken_promise_in_period and applied.exclude_disputed
    assert applied.buckets_selected == ["91-120", "120+"]
    assert any("91+" in note for note in result.notes)
    assert any("broken" in text for text in applied.descriptions)
    promises = raw_demo.promises
    broken = promises[
        (promises.status == "broken")
        & (promises.promised_dn >= dn(date(2026, 7, 1)))
        & (promises.promised_dn <= dn(DEMO_AS_OF))
        & (promises.resolved_at <= end_of(DEMO_AS_OF))
    ]
    members = set(broken.customer_id)
    assert members, "the demo has broken promises this quarter"
    expected = reference(raw_demo, DEMO_AS_OF, customers=members, exclude_disputed=True, buckets=[4, 5])
    assert_matches(result.totals, expected)
    assert result.totals.open_orders.value == 0 and result.totals.open_orders.note
    customers = raw_demo.customers.set_index("id")
    for group in result.groups:
        region_members = {c for c in members if customers.loc[c, "region"] == group.key}
        wanted = reference(raw_demo, DEMO_AS_OF, customers=region_members, exclude_disputed=True, buckets=[4, 5])
        assert group.figures.open_receivables.value == cents(wanted.selected)
    assert [t.customer_id for t in result.top_exposures] == [c for c, _ in expected.exposures[:10]]


def test_combined_filters(demo_db_url: str, raw_demo: Raw) -> None:
    customers = raw_demo.customers
    regions = ["EMEA", "north america"]  # matched case-insensitively
    result = summary(
        demo_db_url,
        regions=regions,
        currencies=["EUR", "USD"],
        segments=["Enterprise", "Mid-Market"],
        min_days_past_due=1,
        max_days_past_due=60,
    )
    members = set(
        customers.id[
            customers.region.isin(["EMEA", "North America"]) & customers.segment.isin(["Enterprise", "Mid-Market"])
        ]
    )
    expected = reference(raw_demo, DEMO_AS_OF, customers=members, currencies={"EUR", "USD"}, buckets=[1, 2])
    assert_matches(result.totals, expected)
    assert result.filters_applied.buckets_selected == ["1-30", "31-60"]


def test_minimum_balance(demo_db_url: str, raw_demo: Raw) -> None:
    result = summary(demo_db_url, min_balance="100000", exclude_disputed=True)
    items = open_items(raw_demo, DEMO_AS_OF)
    items = items[~items.disputed]
    balance: dict[int, Decimal] = {}
    for customer_id, currency, amount in zip(items.customer_id, items.currency, items.open, strict=True):
        balance[customer_id] = balance.get(customer_id, D(0)) + amount * usd_rate(raw_demo, currency, DEMO_AS_OF)
    members = {c for c, v in balance.items() if v >= 100000}
    assert 0 < len(members) < len(balance)
    assert_matches(result.totals, reference(raw_demo, DEMO_AS_OF, customers=members, exclude_disputed=True))


def test_compare_to_is_the_same_query_at_the_earlier_date(demo_db_url: str, raw_demo: Raw) -> None:
    earlier_day = date(DEMO_AS_OF.year, DEMO_AS_OF.month, 1) - timedelta(days=1)
    result = summary(demo_db_url, regions=["EMEA"], period_months=2, compare_to=earlier_day.isoformat())
    assert result.compared is not None and result.compared.as_of == earlier_day
    alone = summary(demo_db_url, regions=["EMEA"], period_months=2, as_of=earlier_day.isoformat())
    assert result.compared.totals == alone.totals and result.compared.period == alone.period
    members = set(raw_demo.customers.id[raw_demo.customers.region == "EMEA"])
    assert_matches(result.compared.totals, reference(raw_demo, earlier_day, months=2, customers=members))
    with pytest.raises(CreditDeskError, match="must be before the as-of date"):
        summary(demo_db_url, compare_to=DEMO_AS_OF.isoformat())


# --- snapshot and live give the same figures ------------------------------------------------------------------------


def _comparable(result: PortfolioSummary) -> dict:
    dumped = result.model_dump(mode="json")
    for key in ("data_source", "notes", "trend", "dso_change", "chart"):
        dumped.pop(key)
    return dumped


@pytest.fixture
def snapshot_db(db_url: str) -> str:
    from db.demo import SeedOptions, seed_demo_portfolio

    seed_demo_portfolio(db_url, SeedOptions(customers=40, seed=3, as_of=DEMO_AS_OF))
    refresh_receivable_snapshots(db_url, DEMO_AS_OF)
    return db_url


def _without_snapshots(monkeypatch: pytest.MonkeyPatch, keep: set[date] | None = None) -> None:
    real = queries.usable_snapshot_dates

    def usable(session, dates, params):
        found, fingerprint = real(session, dates, params)
        return (found & keep if keep is not None else set()), fingerprint

    monkeypatch.setattr(queries, "usable_snapshot_dates", usable)


ARGUMENT_SETS = [
    {},
    {"group_by": "region", "min_days_past_due": 91, "broken_promise_in_period": True, "exclude_disputed": True},
    {"group_by": "customer", "top_n": 3, "min_balance": "10000"},
    {"group_by": "currency", "currencies": ["EUR", "USD", "GBP"]},
]


def test_snapshot_and_live_agree(snapshot_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from_snapshot = [summary(snapshot_db, **args) for args in ARGUMENT_SETS]
    assert {r.data_source for r in from_snapshot} == {"snapshot"}
    assert_matches(from_snapshot[0].totals, reference(load_raw(snapshot_db), DEMO_AS_OF, today=DEMO_AS_OF))
    _without_snapshots(monkeypatch)
    live = [summary(snapshot_db, **args) for args in ARGUMENT_SETS]
    assert {r.data_source for r in live} == {"live"}
    for snap, computed in zip(from_snapshot, live, strict=True):
        assert _comparable(snap) == _comparable(computed)


def test_live_mid_month_reads_complete_months_from_the_previous_month_end(
    snapshot_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_of = date(2026, 9, 17)
    hybrid = summary(snapshot_db, as_of=as_of.isoformat(), group_by="region")
    assert hybrid.data_source == "live" and any("2026-08-31 snapshot" in note for note in hybrid.notes)
    _without_snapshots(monkeypatch)
    ledger_only = summary(snapshot_db, as_of=as_of.isoformat(), group_by="region")
    assert _comparable(hybrid) == _comparable(ledger_only)
    assert_matches(hybrid.totals, reference(load_raw(snapshot_db), as_of))


def test_trend_and_dso_change_read_month_end_snapshots(snapshot_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = load_raw(snapshot_db)
    result = summary(snapshot_db, trend_months=4)
    dates = [point.as_of for point in result.trend]
    assert dates == [date(2026, 5, 31), date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31), DEMO_AS_OF]
    assert result.trend[-1].open_receivables == result.totals.open_receivables.value
    for point in result.trend[:-1]:
        assert point.source == "snapshot"
        # Constant currency: every point is converted at the as-of date's rates.
        rated = reference(raw, point.as_of, rates_on=DEMO_AS_OF)
        assert point.open_receivables == cents(rated.ar)
        assert point.overdue == cents(rated.ar - rated.ar_current)
        assert point.pct_over_90 == rated.pct_over_90
        assert point.dso == rated.dso
    change = result.dso_change
    assert change is not None and change.from_date == date(2026, 8, 31) and change.to_date == DEMO_AS_OF
    assert change.delta_dso == change.dso_to - change.dso_from == change.delta_best_possible_dso + change.delta_add
    assert change.dso_to == result.totals.dso.value and change.dso_from == result.trend[-2].dso
    # A month end without a current snapshot is left out, and said so.
    _without_snapshots(monkeypatch, keep={DEMO_AS_OF, date(2026, 8, 31)})
    partial = summary(snapshot_db, trend_months=3)
    assert [p.as_of for p in partial.trend] == [date(2026, 8, 31), DEMO_AS_OF]
    assert sum("left out" in note for note in partial.notes) == 2


ROLLUP_ARGUMENT_SETS = [
    {},
    {"group_by": "region"},
    {"group_by": "segment"},
    {"group_by": "collector"},
    {"group_by": "risk_class"},
    {"group_by": "currency"},
    {"group_by": "currency", "exclude_disputed": True, "period_months": 6},
    {"group_by": "collector", "regions": ["EMEA"], "period_months": 1},
    {"group_by": "region", "currencies": ["EUR", "USD"], "risk_classes": ["A", "B", "C"]},
    {"exclude_disputed": True, "segments": ["SMB"]},
]


@pytest.mark.parametrize("as_of", [DEMO_AS_OF, date(2026, 8, 31), date(2026, 4, 30)])
def test_rollup_and_snapshot_scan_agree(snapshot_db: str, monkeypatch: pytest.MonkeyPatch, as_of: date) -> None:
    import tools.portfolio as portfolio_tool

    calls: list[object] = []
    real = queries.rollup_totals

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("group_by"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(queries, "rollup_totals", counted)

    def dumped(args: dict) -> dict:
        result = summary(snapshot_db, as_of=as_of.isoformat(), **args)
        assert result.data_source == "snapshot"
        out = result.model_dump(mode="json")
        out.pop("chart")
        return out

    from_rollup = [dumped(args) for args in ROLLUP_ARGUMENT_SETS]
    # Every argument set read its totals from the rollup (grouping by currency: the whole-book counts as well).
    assert len(calls) == len(ROLLUP_ARGUMENT_SETS) + 2
    monkeypatch.setattr(portfolio_tool, "USE_ROLLUP", False)
    calls.clear()
    scanned = [dumped(args) for args in ROLLUP_ARGUMENT_SETS]
    assert calls == []
    for args, rolled, scan in zip(ROLLUP_ARGUMENT_SETS, from_rollup, scanned, strict=True):
        assert rolled == scan, args


def test_a_changed_customer_makes_the_rollup_unused(snapshot_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.portfolio as portfolio_tool

    with write_session(snapshot_db) as s:
        customer = s.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        customer.region = "Elsewhere"
    monkeypatch.setattr(queries, "rollup_totals", lambda *a, **k: pytest.fail("read a stale rollup"))
    grouped = summary(snapshot_db, group_by="region")
    assert "Elsewhere" in {g.key for g in grouped.groups}
    monkeypatch.setattr(portfolio_tool, "USE_ROLLUP", False)
    assert grouped.model_dump() == summary(snapshot_db, group_by="region").model_dump()


def test_rollup_cells_equal_snapshot_totals(snapshot_db: str) -> None:
    """The query level: the same cells, to the cent and the count, for every grouping and both counts variants."""
    selections = [
        queries.Selection(),
        queries.Selection(exclude_disputed=True),
        queries.Selection(regions=("EMEA", "APAC"), currencies=("EUR", "USD")),
    ]
    with read_session(snapshot_db) as s:
        for as_of in (DEMO_AS_OF, date(2026, 7, 31)):
            for group_by in (None, "region", "segment", "collector", "risk_class", "currency"):
                for selection in selections:
                    for flows in (True, False):
                        scan = queries.snapshot_totals(s, dn(as_of), selection, group_by, None, 3, flows=flows)
                        rolled = queries.rollup_totals(s, dn(as_of), selection, group_by, 3, flows=flows)
                        assert sorted(map(repr, scan)) == sorted(map(repr, rolled)), (as_of, group_by, selection)
                        assert scan or selection.regions is not None


# --- the IBM sample (all settled: past as-of dates) -----------------------------------------------------------------


def test_ibm_sample_dso_cei_and_ageing(db_url: str) -> None:
    from integrations.importers.importer import import_file

    import_file(IBM_SAMPLE, "ibm-ar", url=db_url)
    raw = load_raw(db_url)
    for as_of in (date(2013, 3, 31), date(2013, 6, 30), date(2013, 9, 30)):
        result = summary(db_url, today=date(2014, 2, 1), as_of=as_of.isoformat())
        assert result.data_source == "live" and not result.fx_rates  # one currency, no snapshots
        expected = reference(raw, as_of)
        assert expected.ar > 0 and expected.sales > 0
        assert_matches(result.totals, expected)
        assert result.totals.cei.value is not None and result.totals.dso.value is not None
        # Disputed items in the sample are open from invoice date to settlement: some are open at these dates.
        assert result.totals.disputed.value == cents(expected.disputed)


# --- hand-made ledgers: edge cases ----------------------------------------------------------------------------------


def test_no_sales_in_the_period_is_not_defined_rather_than_a_division_by_zero(db_url: str) -> None:
    with write_session(db_url) as s:
        quiet = f.customer(s, "Quiet Ltd")
        f.invoice(s, quiet, "1000", issued=date(2026, 1, 10))
    result = summary(db_url)
    t = result.totals
    assert t.open_receivables.value == D("1000.00") and t.sales.value == D("0.00")
    for kpi in (t.dso, t.best_possible_dso, t.add):
        assert kpi.value is None and kpi.note and "not defined" in kpi.note
    assert t.dso_count_back.value is None and "not determinable" in (t.dso_count_back.note or "")
    assert t.cei.value == D("0.0")  # B = 1000, nothing collected, nothing current: (1000 − 1000) / 1000
    assert t.pct_over_90.value == D("100.0") and t.pct_current.value == D("0.0")
    assert t.promise_kept_rate_count.value is None and t.dispute_cycle_time.value is None


def test_an_empty_book(db_url: str) -> None:
    result = summary(db_url, group_by="region")
    assert result.totals.open_receivables.value == 0 and result.groups == [] and result.top_exposures == []
    assert result.totals.pct_current.value is None and result.concentration.value is None


def test_credit_notes_and_credit_balances(db_url: str) -> None:
    with write_session(db_url) as s:
        owing = f.customer(s, "Owing Co")
        f.invoice(s, owing, "1000", issued=date(2026, 9, 1))
        f.invoice(s, owing, "-300", issued=date(2026, 9, 10), due=date(2026, 9, 10), credit_note=True)
        credit = f.customer(s, "Credit Co")
        f.invoice(s, credit, "-200", issued=date(2026, 9, 5), due=date(2026, 9, 5), credit_note=True)
    result = summary(db_url, group_by="customer")
    t = result.totals
    assert t.open_receivables.value == D("500.00")
    assert t.not_yet_due.value == D("1000.00") and t.overdue.value == D("-500.00")
    assert t.sales.value == D("500.00")  # net of credit notes
    assert (t.customers_with_balance.value, t.customers_with_credit_balance.value) == (2, 1)
    assert t.credit_balances.value == D("-200.00")
    assert [(e.name, e.exposure, e.share_pct) for e in result.top_exposures] == [("Owing Co", D("700.00"), D("100.0"))]
    assert result.concentration.value == D("100.0")  # of gross exposure 700, not of the net 500
    assert [g.label for g in result.groups] == ["Owing Co", "Other customers"]
    assert result.groups[1].figures.open_receivables.value == D("-200.00")


def test_a_customer_owing_in_two_currencies_counts_once(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = date(2026, 9, 30)
    with write_session(db_url) as s:
        f.fx_rate(s, "EUR", "USD", "1.10", date(2026, 9, 1))
        both = f.customer(s, "Two Currencies AG", currency="EUR")
        f.invoice(s, both, "1000", issued=date(2026, 9, 1))
        f.invoice(s, both, "500", issued=date(2026, 9, 2), currency="USD")
        for k in range(12):
            other = f.customer(s, f"Single {k} Inc")
            f.invoice(s, other, str(900 + k), issued=date(2026, 9, 3))
    refresh_receivable_snapshots(db_url, today)
    results = [summary(db_url, group_by="segment")]
    _without_snapshots(monkeypatch)
    results.append(summary(db_url, group_by="segment"))
    for result in results:
        assert result.totals.customers_with_balance.value == 13
        assert result.groups[0].figures.customers_with_balance.value == 13
        top = result.top_exposures[0]
        assert (top.name, top.exposure, top.currencies) == ("Two Currencies AG", D("1600.00"), ["EUR", "USD"])
        assert result.fx_rates[0].from_currency == "EUR" and result.fx_rates[0].rate == D("1.10")
    assert results[0].data_source == "snapshot" and results[1].data_source == "live"
    by_currency = summary(db_url, group_by="currency")
    counts = {g.key: g.figures.customers_with_balance.value for g in by_currency.groups}
    assert counts == {"USD": 13, "EUR": 1} and by_currency.totals.customers_with_balance.value == 13


def test_promises_and_disputes_of_the_period(db_url: str) -> None:
    with write_session(db_url) as s:
        who = f.customer(s, "Promising Ltd")
        a = f.invoice(s, who, "1000", issued=date(2026, 6, 1))
        b = f.invoice(s, who, "3000", issued=date(2026, 6, 1))
        kept = f.promise(s, who, "1000", taken=date(2026, 7, 10), promised=date(2026, 7, 20), item=a)
        kept.status, kept.amount_paid, kept.resolved_at = "kept", D("1000"), f.at(date(2026, 7, 20), 22)
        broken = f.promise(s, who, "3000", taken=date(2026, 8, 1), promised=date(2026, 8, 10), item=b)
        broken.status, broken.amount_paid, broken.resolved_at = "partially_kept", D("1500"), f.at(date(2026, 8, 13), 22)
        f.promise(s, who, "500", taken=date(2026, 9, 20), promised=date(2026, 9, 29), item=b)  # still open
        f.dispute(s, a, opened=date(2026, 6, 20), resolved=date(2026, 7, 20))  # 30 days
        f.dispute(s, b, opened=date(2026, 8, 1), resolved=date(2026, 8, 11))  # 10 days
        f.dispute(s, b, opened=date(2026, 3, 1), resolved=date(2026, 4, 1))  # resolved before the period
        f.invoice(s, f.customer(s, "Never Promised Ltd"), "200", issued=date(2026, 6, 1))
    t = summary(db_url).totals
    assert t.promises_evaluated.value == 2 and "1 still pending" in t.promises_evaluated.formula
    assert t.promises_broken.value == 0  # partially kept is not broken
    assert t.promise_kept_rate_count.value == D("50.0")  # partially kept is not kept
    assert t.promise_kept_rate_amount.value == D("62.5")  # (1000 + 1500) / 4000
    assert t.disputes_resolved.value == 2 and t.dispute_cycle_time.value == D("20.0")
    broken_only = summary(db_url, broken_promise_in_period=True)
    assert broken_only.totals.open_receivables.value == 0  # partially kept is not broken
    kept_only = summary(db_url, kept_promise_in_period=True, group_by="customer")
    assert [g.label for g in kept_only.groups if g.figures.open_receivables.value] == ["Promising Ltd"]
    assert kept_only.totals.open_receivables.value == t.open_receivables.value - 200
    assert kept_only.filters_applied.kept_promise_in_period
    assert any("kept in full" in line for line in kept_only.filters_applied.descriptions)
    year = summary(db_url, activity_period_start=date(2026, 1, 1))
    assert (year.period.start, year.period.months) == (date(2026, 7, 1), 3)  # the other figures keep their period
    assert year.activity_period is not None and year.activity_period.start == date(2026, 1, 1)
    assert year.totals.disputes_resolved.value == 3 and year.totals.dispute_cycle_time.value == D("23.7")
    assert year.totals.promises_evaluated.value == 2 and year.totals.sales == t.sales
    assert any("Promise and dispute figures cover 2026-01-01" in note for note in year.notes)
    earlier = summary(db_url, activity_period_start=date(2026, 1, 1), compare_to=date(2026, 6, 30)).compared
    assert earlier is not None and earlier.totals.disputes_resolved.value == 1  # Jul 2025 to Jun 2026: the April one
    with pytest.raises(CreditDeskError):
        summary(db_url, activity_period_start=date(2024, 1, 1))  # more than 24 months
    with pytest.raises(CreditDeskError):
        summary(db_url, activity_period_start=date(2026, 1, 15))  # not a month's first day


def test_customers_with_a_promise_open_at_the_as_of_date(db_url: str) -> None:
    with write_session(db_url) as s:
        waiting = f.customer(s, "Waiting Ltd")
        f.invoice(s, waiting, "400", issued=date(2026, 9, 1))
        f.promise(s, waiting, "400", taken=date(2026, 11, 2), promised=date(2026, 11, 30))
        settled = f.customer(s, "Settled Ltd")
        f.invoice(s, settled, "700", issued=date(2026, 9, 1))
        f.promise(s, settled, "700", taken=date(2026, 10, 1), promised=date(2026, 10, 15),
                  status=PromiseStatus.KEPT, resolved=date(2026, 10, 15))  # fmt: skip
        silent = f.customer(s, "Silent Ltd")
        f.invoice(s, silent, "900", issued=date(2026, 9, 1))
    today = summary(db_url, today=date(2026, 11, 16), open_promise=True, group_by="customer")
    assert [g.label for g in today.groups] == ["Waiting Ltd", "Other customers"] and today.filters_applied.open_promise
    assert today.totals.open_receivables.value == D("400.00")
    assert any("promise to pay open" in d for d in today.filters_applied.descriptions)
    earlier = summary(db_url, today=date(2026, 11, 16), as_of=date(2026, 10, 10), open_promise=True,
                      group_by="customer")  # fmt: skip
    assert earlier.groups[0].label == "Settled Ltd"  # open then, kept on the 15th
    assert earlier.totals.open_receivables.value == D("700.00")


# --- who may see what -----------------------------------------------------------------------------------------------


def _staff(url: str, name: str) -> Actor:
    with read_session(url) as s:
        user = s.scalars(select(StaffUser).where(StaffUser.name == name)).one()
        return Actor.from_user(user)


def test_a_collector_sees_only_their_book(demo_db_url: str, raw_demo: Raw) -> None:
    casey = _staff(demo_db_url, "casey")
    result = summary(demo_db_url, actor=casey, group_by="collector")
    book = set(raw_demo.customers.id[raw_demo.customers.collector_id == casey.id])
    assert_matches(result.totals, reference(raw_demo, DEMO_AS_OF, customers=book, today=DEMO_AS_OF))
    assert result.filters_applied.restricted_to_own_book and [g.label for g in result.groups] == ["casey"]
    assert {t.collector for t in result.top_exposures} == {"casey"}
    assert summary(demo_db_url, actor=casey, collectors=["casey"]).totals == result.totals
    with pytest.raises(CreditDeskError) as error:
        summary(demo_db_url, actor=casey, collectors=["cleo"])
    assert error.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(CreditDeskError) as error:
        summary(demo_db_url, actor=_staff(demo_db_url, "sam"))  # sales
    assert error.value.code == ErrorCode.FORBIDDEN


def test_an_analyst_may_filter_on_a_collector(demo_db_url: str, raw_demo: Raw) -> None:
    result = summary(demo_db_url, actor=_staff(demo_db_url, "avery"), collectors=["Cleo"])
    cleo = int(raw_demo.staff.id[raw_demo.staff.name == "cleo"].iloc[0])
    book = set(raw_demo.customers.id[raw_demo.customers.collector_id == cleo])
    assert_matches(result.totals, reference(raw_demo, DEMO_AS_OF, customers=book, today=DEMO_AS_OF))
    assert not result.filters_applied.restricted_to_own_book


# --- charts ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("chart", "group_by"), [("ageing", None), ("trend", None), ("group", "region")])
def test_charts_are_planned_with_alt_text_and_drawn_on_first_use(
    demo_db_url: str, chart: str, group_by: str | None
) -> None:
    args = {"chart": chart, **({"group_by": group_by} if group_by else {})}
    result = summary(demo_db_url, **args)
    assert result.chart is not None and result.chart.kind == chart
    path = Path(result.chart.path)
    assert path.parent == get_settings().data_dir / "charts"
    assert path.with_suffix(".json").is_file()
    assert materialise(path) == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert result.chart.alt_text and result.reporting_currency in result.chart.alt_text
    assert summary(demo_db_url, **args).chart.path == result.chart.path  # the name follows from the request
    assert summary(demo_db_url, **args, top_n=5).chart.path != result.chart.path


def test_planning_a_chart_draws_nothing_until_it_is_used(tmp_path: Path) -> None:
    from tools.charts import AgeingChart, plan

    spec = AgeingChart(labels=["current"], undisputed=[Decimal("10")], disputed=[Decimal("0")], currency="EUR",
                       as_of=date(2026, 11, 16))  # fmt: skip
    path = tmp_path / "chart.png"
    assert "current 10" in plan(path, spec) and not path.exists()
    assert materialise(path) == path and materialise(tmp_path / "never-planned.png") is None


# --- input checks ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"min_days_past_due": 45}, "not an ageing bucket boundary"),
        ({"max_days_past_due": 100}, "not an ageing bucket boundary"),
        ({"min_days_past_due": 61, "max_days_past_due": 30}, "above max_days_past_due"),
        ({"period_start": "2026-07-15"}, "first day of a month"),
        ({"period_start": "2026-01-01"}, "1 to 6 months"),
        ({"period_start": "2026-07-01", "period_months": 2}, "disagree"),
        ({"period_months": 7}, "period_months"),
        ({"as_of": "2026-09-30", "period_end": "2026-09-29"}, "period_end"),
        ({"regions": ["Atlantis"]}, "unknown region"),
        ({"collectors": ["nobody"]}, "no staff user"),
        ({"currencies": ["XXX"]}, "ISO 4217"),
        ({"chart": "group"}, "needs group_by"),
        ({"as_of": "2026-10-01"}, "in the future"),
        ({"group_by": "colour"}, "group_by"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(demo_db_url: str, args: dict, fragment: str) -> None:
    with pytest.raises(CreditDeskError) as error:
        summary(demo_db_url, **args)
    assert error.value.code == ErrorCode.INVALID_INPUT and fragment in error.value.message


def test_bucket_bounds_are_read_and_echoed(demo_db_url: str) -> None:
    result = summary(demo_db_url, min_days_past_due=30, max_days_past_due=90)
    assert result.filters_applied.buckets_selected == ["31-60", "61-90"]
    assert any("more than 30 days" in note for note in result.notes)
    assert [row.selected for row in result.totals.ageing] == [False, False, True, True, False, False]
    current_only = summary(demo_db_url, max_days_past_due=0)
    assert current_only.totals.overdue.value == 0
    assert current_only.totals.open_receivables.value == current_only.totals.not_yet_due.value


def test_every_figure_states_its_definition(demo_db_url: str) -> None:
    result = summary(demo_db_url)
    for name, kpi in result.totals:
        if name == "ageing":
            continue
        assert kpi.unit and kpi.formula, name
    for key in ("dso", "dso_count_back", "best_possible_dso", "add", "cei", "promise_kept_rate", "concentration"):
        assert result.definitions[key]
    assert "CRF" in result.definitions["add"] and "B (receivables at the start" in result.definitions["cei"]
    assert "exact" in result.definitions["cei"] and result.policy_version
    assert result.totals.dso.formula.startswith("AR_end / S × D") and result.totals.dso.unit == "days"
    assert result.totals.open_receivables.unit == "USD" and result.reporting_currency == "USD"
