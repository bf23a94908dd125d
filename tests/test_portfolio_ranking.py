"""get_portfolio_summary's `open_invoices` count and `rank_by` ranking (issue 12): figures against an independent
computation over the raw tables (plain Python/pandas, the reference of tests/test_portfolio.py) at fixed dates,
under every filter, per group, from snapshots and live, never from a whole-book rollup when filtered; the IBM
sample read straight from its CSV; and a hand-made ledger for the edges of "open" (part paid, paid after the date,
credit notes, disputes, a payment reversed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session, write_session
from db.models import Customer, Invoice, InvoiceStatus
from db.queries import portfolio as queries
from tests.conftest import DEMO_AS_OF
from tests.support import factories as f
from tests.support.paths import IBM_SAMPLE
from tests.test_portfolio import (
    Raw,
    _without_snapshots,
    assert_matches,
    cents,
    open_items,
    reference,
    usd_rate,
)
from tests.test_portfolio import summary as plain_summary
from tests.test_portfolio_filters import Book, balances, load_book, over_limit, with_country
from tools.maintenance import refresh_receivable_snapshots
from tools.portfolio import Kpi, PortfolioSummary

D = Decimal


def summary(url: str, **args: object) -> PortfolioSummary:
    """The summary with the open invoices counted (they are counted only when asked for)."""
    return plain_summary(url, count_open_invoices=True, **args)  # type: ignore[arg-type]


PAST = date(2026, 6, 30)
MONTH_END = date(2026, 8, 31)
ALL = tuple(range(6))


# --- the independent reference --------------------------------------------------------------------------------------


@dataclass
class Ledger:
    book: Book
    kinds: dict[int, str]  # invoice id → "invoice" | "credit_note"

    @property
    def raw(self) -> Raw:
        return self.book.raw


def load_ledger(url: str) -> Ledger:
    with read_session(url) as s:
        kinds = {int(i): str(k) for i, k in s.execute(select(Invoice.id, Invoice.kind))}
    return Ledger(load_book(url), kinds)


_ledgers: dict[str, Ledger] = {}


@pytest.fixture
def ledger(demo_db_url: str) -> Ledger:
    """The shared demo database is read-only: its tables are loaded once per backend."""
    if demo_db_url not in _ledgers:
        _ledgers[demo_db_url] = load_ledger(demo_db_url)
    return _ledgers[demo_db_url]


def selected_items(
    ledger: Ledger,
    as_of: date,
    *,
    customers: set[int] | None = None,
    currencies: Iterable[str] | None = None,
    buckets: Iterable[int] = ALL,
    exclude_disputed: bool = False,
) -> pd.DataFrame:
    """Items open at the end of `as_of` (amount less allocations applied by then ≠ 0) under the filters."""
    items = open_items(ledger.raw, as_of)
    mask = items.bucket.isin(list(buckets))
    if customers is not None:
        mask &= items.customer_id.isin(customers)
    if currencies is not None:
        mask &= items.currency.isin(list(currencies))
    if exclude_disputed:
        mask &= ~items.disputed
    return items[mask]


def invoice_count(ledger: Ledger, as_of: date, **filters: object) -> int:
    """Open invoices: items of kind "invoice" only (credit notes are not counted)."""
    items = selected_items(ledger, as_of, **filters)  # type: ignore[arg-type]
    return sum(1 for item_id in items.id if ledger.kinds[int(item_id)] == "invoice")


def customer_measures(ledger: Ledger, as_of: date, **filters: object) -> dict[str, dict[int, Decimal]]:
    """Per customer, in USD at the as-of rates: the selected receivables, their past-due part and their disputed part
    (disputed shown even when the filter leaves disputed items out of the receivables)."""
    exclude = bool(filters.pop("exclude_disputed", False))
    items = selected_items(ledger, as_of, **filters)  # type: ignore[arg-type]
    out: dict[str, dict[int, Decimal]] = {"open_receivables": {}, "overdue": {}, "disputed": {}}
    for customer_id, currency, bucket, disputed, amount in zip(
        items.customer_id, items.currency, items.bucket, items.disputed, items.open, strict=True
    ):
        usd = amount * usd_rate(ledger.raw, currency, as_of)
        customer = int(customer_id)
        for measure in ("open_receivables", "overdue", "disputed"):
            out[measure].setdefault(customer, D(0))
        if disputed:
            out["disputed"][customer] += usd
        if exclude and disputed:
            continue
        out["open_receivables"][customer] += usd
        if bucket > 0:
            out["overdue"][customer] += usd
    return out


def number(kpi: Kpi) -> Decimal:
    assert kpi.value is not None, kpi
    return kpi.value


def ranked(values: dict[int, Decimal]) -> list[tuple[int, Decimal]]:
    return sorted(((c, v) for c, v in values.items() if v > 0), key=lambda cv: (-cv[1], cv[0]))


def members_where(ledger: Ledger, column: str, values: Iterable[object]) -> set[int]:
    customers = ledger.raw.customers
    return {int(c) for c, v in zip(customers.id, customers[column], strict=True) if v in set(values)}


def staff_id(ledger: Ledger, name: str) -> int:
    return int(ledger.raw.staff.id[ledger.raw.staff.name == name].iloc[0])


# --- open invoices on the demo portfolio ----------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [DEMO_AS_OF, MONTH_END, PAST])
def test_open_invoices_match_the_ledger(demo_db_url: str, ledger: Ledger, as_of: date) -> None:
    result = summary(demo_db_url, as_of=as_of.isoformat(), group_by="region")
    expected = invoice_count(ledger, as_of)
    assert expected > 0
    kpi = result.totals.open_invoices
    assert (kpi.value, kpi.unit) == (expected, "count")
    assert "credit notes not counted" in kpi.formula
    assert "Credit notes are not counted" in result.definitions["open_invoices"]
    for group in result.groups:
        part = members_where(ledger, "region", [group.key])
        assert group.figures.open_invoices.value == invoice_count(ledger, as_of, customers=part), group.key
    assert sum(number(g.figures.open_invoices) for g in result.groups) == expected


def test_open_credit_notes_are_not_counted(demo_db_url: str, ledger: Ledger) -> None:
    items = open_items(ledger.raw, DEMO_AS_OF)
    credit_notes = sum(1 for item_id in items.id if ledger.kinds[int(item_id)] == "credit_note")
    assert credit_notes > 0, "the demo has open credit notes"
    assert summary(demo_db_url).totals.open_invoices.value == len(items) - credit_notes


def test_open_invoices_per_currency_and_per_customer(demo_db_url: str, ledger: Ledger) -> None:
    by_currency = summary(demo_db_url, group_by="currency")
    for group in by_currency.groups:
        assert group.figures.open_invoices.value == invoice_count(ledger, DEMO_AS_OF, currencies=[group.key])
    assert by_currency.totals.open_invoices.value == invoice_count(ledger, DEMO_AS_OF)
    by_customer = summary(demo_db_url, group_by="customer", top_n=4, as_of=PAST.isoformat())
    shown = [int(g.key) for g in by_customer.groups if g.key is not None]
    assert len(shown) == 4
    for group, customer in zip(by_customer.groups, shown, strict=False):
        assert group.figures.open_invoices.value == invoice_count(ledger, PAST, customers={customer})
    rest = set(ledger.raw.customers.id) - set(shown)
    assert by_customer.groups[-1].key is None
    assert by_customer.groups[-1].figures.open_invoices.value == invoice_count(ledger, PAST, customers=rest)


FILTER_CASES = [
    pytest.param({"regions": ["EMEA"], "segments": ["Enterprise", "SMB"]}, id="region-segment"),
    pytest.param(
        {"currencies": ["EUR", "USD"], "min_days_past_due": 31, "max_days_past_due": 90}, id="currency-dpd-range"
    ),
    pytest.param({"exclude_disputed": True, "min_days_past_due": 91}, id="undisputed-91+"),
    pytest.param({"max_days_past_due": 0}, id="not-yet-due"),
    pytest.param({"countries": ["DE", "fr"]}, id="countries"),
    pytest.param({"collectors": ["casey", "cleo"]}, id="collectors"),
    pytest.param({"risk_classes": ["a", "C"]}, id="risk-classes"),
    pytest.param({"min_balance": "100000", "exclude_disputed": True}, id="min-balance"),
    pytest.param({"over_limit": True}, id="over-limit"),
    pytest.param(
        {
            "over_limit": True,
            "countries": ["US", "GB", "DE", "CA"],
            "currencies": ["USD", "GBP", "EUR"],
            "exclude_disputed": True,
            "min_balance": "20000",
            "min_days_past_due": 1,
        },
        id="everything",
    ),
]


def _expected_selection(ledger: Ledger, as_of: date, args: dict) -> tuple[set[int] | None, dict]:
    """The customers and item filters a set of tool arguments means, from the raw tables."""
    customers: set[int] | None = None

    def narrow(members: set[int]) -> None:
        nonlocal customers
        customers = members if customers is None else customers & members

    if "regions" in args:
        narrow(members_where(ledger, "region", args["regions"]))
    if "segments" in args:
        narrow(members_where(ledger, "segment", args["segments"]))
    if "countries" in args:
        narrow(with_country(ledger.book, *(code.upper() for code in args["countries"])))
    if "collectors" in args:
        narrow(members_where(ledger, "collector_id", [staff_id(ledger, name) for name in args["collectors"]]))
    if "risk_classes" in args:
        narrow(members_where(ledger, "risk_class", [c.upper() for c in args["risk_classes"]]))
    currencies = set(args["currencies"]) if "currencies" in args else None
    exclude = bool(args.get("exclude_disputed", False))
    if "min_balance" in args:
        owing = balances(ledger.book, as_of, exclude_disputed=exclude, currencies=currencies)
        narrow({c for c, v in owing.items() if v >= D(args["min_balance"])})
    if args.get("over_limit"):
        narrow(set(over_limit(ledger.book, as_of)))
    lowest = {None: 0, 0: 0, 1: 1, 31: 2, 91: 4}[args.get("min_days_past_due")]
    highest = {None: 5, 0: 0, 90: 3}[args.get("max_days_past_due")]
    filters = {"currencies": currencies, "buckets": range(lowest, highest + 1), "exclude_disputed": exclude}
    return customers, filters


@pytest.mark.parametrize("args", FILTER_CASES)
@pytest.mark.parametrize("as_of", [DEMO_AS_OF, PAST])
def test_open_invoices_respect_every_filter(demo_db_url: str, ledger: Ledger, args: dict, as_of: date) -> None:
    customers, filters = _expected_selection(ledger, as_of, args)
    result = summary(demo_db_url, as_of=as_of.isoformat(), group_by="segment", **args)
    expected = invoice_count(ledger, as_of, customers=customers, **filters)
    assert result.totals.open_invoices.value == expected
    # The same customers and items as the money figures.
    assert_matches(result.totals, reference(ledger.raw, as_of, customers=customers, today=DEMO_AS_OF, **filters))
    for group in result.groups:
        part = members_where(ledger, "segment", [group.key])
        wanted = invoice_count(ledger, as_of, customers=part if customers is None else part & customers, **filters)
        assert group.figures.open_invoices.value == wanted, group.key
    assert sum(number(g.figures.open_invoices) for g in result.groups) == expected


def test_a_filter_that_matches_nothing_counts_nothing(demo_db_url: str) -> None:
    result = summary(demo_db_url, countries=["ZZ"])
    assert result.totals.open_invoices.value == 0 and result.top_exposures == []


# --- ranking on the demo portfolio ----------------------------------------------------------------------------------


def test_the_default_ranking_is_exposure(demo_db_url: str, ledger: Ledger) -> None:
    default = summary(demo_db_url, group_by="customer", top_n=5)
    explicit = summary(demo_db_url, group_by="customer", top_n=5, rank_by="exposure")
    assert default.model_dump() == explicit.model_dump()
    assert default.rank_by == "exposure"
    expected = reference(ledger.raw, DEMO_AS_OF, today=DEMO_AS_OF).exposures[:5]
    assert [(t.customer_id, t.exposure) for t in default.top_exposures] == [(c, cents(v)) for c, v in expected]
    assert [g.key for g in default.groups] == [*(str(c) for c, _ in expected), None]
    assert "'exposure'" in default.definitions["rank_by"] and "by exposure" in default.definitions["top_exposures"]


@pytest.mark.parametrize("measure", ["open_receivables", "overdue", "disputed"])
@pytest.mark.parametrize("as_of", [DEMO_AS_OF, MONTH_END])
def test_rank_by_each_measure(demo_db_url: str, ledger: Ledger, measure: str, as_of: date) -> None:
    result = summary(demo_db_url, as_of=as_of.isoformat(), rank_by=measure, top_n=8, group_by="customer")
    values = customer_measures(ledger, as_of)[measure]
    expected = ranked(values)[:8]
    assert len(expected) >= 3, "the demo has customers with such a balance (3 to 6 with disputed items)"
    field = {"open_receivables": "receivables"}.get(measure, measure)
    assert [(t.customer_id, getattr(t, field)) for t in result.top_exposures] == [(c, cents(v)) for c, v in expected]
    assert [t.rank for t in result.top_exposures] == list(range(1, len(expected) + 1))
    assert [g.key for g in result.groups] == [*(str(c) for c, _ in expected), None]
    assert result.rank_by == measure and f"'{measure}'" in result.definitions["rank_by"]
    assert f"ranked by {measure}" in result.definitions["top_exposures"]
    # The other columns are each customer's own figures; the share is still of the gross exposure.
    measures = customer_measures(ledger, as_of)
    for row in result.top_exposures:
        assert row.receivables == cents(measures["open_receivables"][row.customer_id])
        assert row.overdue == cents(measures["overdue"][row.customer_id])
        assert row.disputed == cents(measures["disputed"][row.customer_id])
    # Concentration stays on the 10 largest by exposure whatever the ranking.
    assert result.concentration == summary(demo_db_url, as_of=as_of.isoformat()).concentration


@pytest.mark.parametrize("measure", ["exposure", "open_receivables", "overdue", "disputed"])
def test_smallest_first_for_each_measure(demo_db_url: str, ledger: Ledger, measure: str) -> None:
    """ "The 6 smallest balances": positive values only, smallest first (ties by customer id)."""
    result = summary(demo_db_url, rank_by=measure, rank_order="smallest_first", top_n=6, group_by="customer")
    if measure == "exposure":
        values = dict(reference(ledger.raw, DEMO_AS_OF, today=DEMO_AS_OF).exposures)
    else:
        values = customer_measures(ledger, DEMO_AS_OF)[measure]
    expected = sorted(((c, v) for c, v in values.items() if cents(v) > 0), key=lambda cv: (cv[1], cv[0]))[:6]
    field = {"open_receivables": "receivables"}.get(measure, measure)
    assert [(t.customer_id, getattr(t, field)) for t in result.top_exposures] == [(c, cents(v)) for c, v in expected]
    assert [g.key for g in result.groups] == [*(str(c) for c, _ in expected), None]
    assert result.rank_order == "smallest_first"


def test_the_biggest_past_due_customer_at_a_month_end(demo_db_url: str, ledger: Ledger) -> None:
    """ "Biggest past-due customer at August 2026 month end" = top_n=1, rank_by=overdue, as_of=2026-08-31."""
    result = summary(demo_db_url, as_of=MONTH_END.isoformat(), top_n=1, rank_by="overdue")
    (customer, value), *_ = ranked(customer_measures(ledger, MONTH_END)["overdue"])
    assert [(t.customer_id, t.overdue) for t in result.top_exposures] == [(customer, cents(value))]
    grouped = summary(demo_db_url, as_of=MONTH_END.isoformat(), top_n=1, rank_by="overdue", group_by="customer")
    assert [g.key for g in grouped.groups] == [str(customer), None]
    assert grouped.groups[0].figures.overdue.value == cents(value)


def test_five_customers_with_the_most_disputed_balance_in_emea(demo_db_url: str, ledger: Ledger) -> None:
    result = summary(demo_db_url, regions=["EMEA"], rank_by="disputed", top_n=5)
    emea = members_where(ledger, "region", ["EMEA"])
    expected = ranked(customer_measures(ledger, DEMO_AS_OF, customers=emea)["disputed"])[:5]
    assert expected, "EMEA customers have disputed items"
    assert [(t.customer_id, t.disputed) for t in result.top_exposures] == [(c, cents(v)) for c, v in expected]
    assert {t.region for t in result.top_exposures} == {"EMEA"}
    assert all(t.disputed > 0 for t in result.top_exposures)


def test_ranking_with_filters_and_dimension_groups(demo_db_url: str, ledger: Ledger) -> None:
    """Overdue within 31+ days, undisputed, EUR/USD, ranked; the groups of a grouping follow the same measure."""
    args: dict[str, Any] = {"min_days_past_due": 31, "exclude_disputed": True, "currencies": ["EUR", "USD"]}
    result = summary(demo_db_url, rank_by="overdue", top_n=6, group_by="collector", **args)
    measures = customer_measures(
        ledger, DEMO_AS_OF, currencies=["EUR", "USD"], buckets=[2, 3, 4, 5], exclude_disputed=True
    )
    expected = ranked(measures["overdue"])[:6]
    assert [(t.customer_id, t.overdue) for t in result.top_exposures] == [(c, cents(v)) for c, v in expected]
    overdue = [number(g.figures.overdue) for g in result.groups]
    assert overdue == sorted(overdue, reverse=True)
    disputed = summary(demo_db_url, rank_by="disputed", group_by="region")
    amounts = [number(g.figures.disputed) for g in disputed.groups]
    assert amounts == sorted(amounts, reverse=True)


def test_ranking_over_the_limit_at_a_past_date(demo_db_url: str, ledger: Ledger) -> None:
    over = set(over_limit(ledger.book, PAST))
    result = summary(demo_db_url, as_of=PAST.isoformat(), over_limit=True, rank_by="open_receivables", top_n=50)
    expected = ranked(customer_measures(ledger, PAST, customers=over)["open_receivables"])
    assert [(t.customer_id, t.receivables) for t in result.top_exposures] == [(c, cents(v)) for c, v in expected]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"rank_by": "disputed", "exclude_disputed": True}, "exclude_disputed"),
        ({"rank_by": "size"}, "rank_by"),
        ({"rank_by": None}, "rank_by"),
        ({"rankby": "overdue"}, "rankby"),
    ],
)
def test_bad_ranking_input_is_refused(demo_db_url: str, args: dict, fragment: str) -> None:
    with pytest.raises(CreditDeskError) as error:
        summary(demo_db_url, **args)
    assert error.value.code == ErrorCode.INVALID_INPUT and fragment in error.value.message


def test_overdue_ranking_of_a_range_without_past_due_buckets_is_empty_and_said_so(demo_db_url: str) -> None:
    result = summary(demo_db_url, rank_by="overdue", max_days_past_due=0)
    assert result.top_exposures == [] and any("ranked by overdue" in note for note in result.notes)


# --- snapshots, live and the rollup ---------------------------------------------------------------------------------


@pytest.fixture
def snapshot_db(db_url: str) -> str:
    from db.demo import SeedOptions, seed_demo_portfolio

    seed_demo_portfolio(db_url, SeedOptions(customers=40, seed=3, as_of=DEMO_AS_OF))
    refresh_receivable_snapshots(db_url, DEMO_AS_OF)
    return db_url


SNAPSHOT_ARGUMENT_SETS: list[dict[str, Any]] = [
    {"rank_by": "overdue", "group_by": "customer", "top_n": 3},
    {"rank_by": "disputed", "group_by": "region", "top_n": 4},
    {"rank_by": "open_receivables", "group_by": "currency", "exclude_disputed": True, "min_days_past_due": 1},
    {"rank_by": "overdue", "as_of": MONTH_END.isoformat(), "over_limit": True, "group_by": "segment"},
    {"min_balance": "5000", "group_by": "collector", "max_days_past_due": 60},
    {"rank_order": "smallest_first", "group_by": "customer", "top_n": 4},
    {"rank_by": "overdue", "rank_order": "smallest_first", "top_n": 5, "regions": ["EMEA"]},
]


def test_snapshot_and_live_agree(snapshot_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from_snapshot = [summary(snapshot_db, **args) for args in SNAPSHOT_ARGUMENT_SETS]
    assert {r.data_source for r in from_snapshot} == {"snapshot"}
    ledger = load_ledger(snapshot_db)
    first = from_snapshot[0]
    assert first.totals.open_invoices.value == invoice_count(ledger, DEMO_AS_OF)
    expected = ranked(customer_measures(ledger, DEMO_AS_OF)["overdue"])[:3]
    assert [(t.customer_id, t.overdue) for t in first.top_exposures] == [(c, cents(v)) for c, v in expected]
    _without_snapshots(monkeypatch)
    live = [summary(snapshot_db, **args) for args in SNAPSHOT_ARGUMENT_SETS]
    assert {r.data_source for r in live} == {"live"}
    for snap, computed in zip(from_snapshot, live, strict=True):
        a, b = snap.model_dump(mode="json"), computed.model_dump(mode="json")
        for key in ("data_source", "notes", "trend", "dso_change", "chart"):
            a.pop(key), b.pop(key)
        assert a == b


def test_open_invoices_with_and_without_the_rollup(snapshot_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.portfolio as portfolio_tool

    calls: list[object] = []
    real = queries.rollup_totals

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("group_by"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(queries, "rollup_totals", counted)
    whole_book: list[dict[str, Any]] = [
        {"group_by": "region"},
        {"rank_by": "overdue"},
        {"group_by": "currency", "exclude_disputed": True},
    ]
    filtered: list[dict[str, Any]] = [
        {"min_days_past_due": 31, "rank_by": "overdue"},
        {"min_balance": "1000", "group_by": "region"},
        {"over_limit": True, "rank_by": "open_receivables"},
        {"countries": ["DE", "US"], "rank_by": "disputed", "group_by": "segment"},
    ]
    rolled = [summary(snapshot_db, **args).model_dump(mode="json") for args in whole_book]
    assert calls, "unfiltered questions read the rollup"
    calls.clear()
    answered = [summary(snapshot_db, **args).model_dump(mode="json") for args in filtered]
    assert calls == [], "a filtered question never reads the whole-book rollup"
    monkeypatch.setattr(portfolio_tool, "USE_ROLLUP", False)
    assert rolled == [summary(snapshot_db, **args).model_dump(mode="json") for args in whole_book]
    assert answered == [summary(snapshot_db, **args).model_dump(mode="json") for args in filtered]
    ledger = load_ledger(snapshot_db)
    assert D(rolled[0]["totals"]["open_invoices"]["value"]) == invoice_count(ledger, DEMO_AS_OF)
    wanted = invoice_count(ledger, DEMO_AS_OF, buckets=[2, 3, 4, 5])
    assert D(answered[0]["totals"]["open_invoices"]["value"]) == wanted


# --- the IBM sample, read straight from its CSV ---------------------------------------------------------------------


def _ibm_csv() -> pd.DataFrame:
    frame = pd.read_csv(IBM_SAMPLE, dtype=str, encoding="utf-8-sig")
    for column in ("InvoiceDate", "DueDate", "SettledDate"):
        frame[column] = [pd.Timestamp(v).date() for v in pd.to_datetime(frame[column], format="%m/%d/%Y")]
    frame["amount"] = pd.Series([D(v) for v in frame.InvoiceAmount], index=frame.index, dtype=object)
    return frame


def test_ibm_sample_open_invoices_and_the_largest_past_due_customer(db_url: str) -> None:
    from integrations.importers.importer import import_file

    import_file(IBM_SAMPLE, "ibm-ar", url=db_url)
    csv = _ibm_csv()
    today = date(2014, 2, 1)

    # "How many invoices were open at the end of 2012?" Open at the end of t: invoiced by t, settled after t.
    year_end = date(2012, 12, 31)
    open_then = csv[(csv.InvoiceDate <= year_end) & (csv.SettledDate > year_end)]
    result = summary(db_url, today=today, as_of=year_end.isoformat(), group_by="region")
    assert result.data_source == "live"
    assert result.totals.open_invoices.value == len(open_then) == 99
    assert result.totals.open_receivables.value == sum(open_then.amount, D(0))
    for group in result.groups:
        assert group.figures.open_invoices.value == int((open_then.countryCode == group.key).sum()), group.key
    # Disputed invoices are under dispute while open; past-due ones are due before the date.
    undisputed = summary(db_url, today=today, as_of=year_end.isoformat(), exclude_disputed=True)
    assert undisputed.totals.open_invoices.value == int((open_then.Disputed == "No").sum())
    past_due = summary(db_url, today=today, as_of=year_end.isoformat(), min_days_past_due=1)
    assert past_due.totals.open_invoices.value == int((open_then.DueDate < year_end).sum())

    # "Which customer had the largest past-due balance at September 2013 month end?"
    month_end = date(2013, 9, 30)
    late = csv[(csv.InvoiceDate <= month_end) & (csv.SettledDate > month_end) & (csv.DueDate < month_end)]
    per_customer: dict[str, Decimal] = {}
    for customer, amount in zip(late.customerID, late.amount, strict=True):
        per_customer[customer.upper()] = per_customer.get(customer.upper(), D(0)) + amount
    (biggest, owed), (second, _) = sorted(per_customer.items(), key=lambda cv: (-cv[1], cv[0]))[:2]
    top = summary(db_url, today=today, as_of=month_end.isoformat(), top_n=1, rank_by="overdue")
    assert [(t.external_id, t.overdue) for t in top.top_exposures] == [(biggest, owed)]
    assert (biggest, owed) == ("9181-HEKGV", D("172.37"))
    assert top.rank_by == "overdue"
    grouped = summary(db_url, today=today, as_of=month_end.isoformat(), top_n=2, rank_by="overdue", group_by="customer")
    with read_session(db_url) as s:
        external = {int(i): str(e) for i, e in s.execute(select(Customer.id, Customer.external_id))}
    assert [external[int(g.key)] for g in grouped.groups if g.key is not None] == [biggest, second]
    assert grouped.groups[0].figures.overdue.value == owed
    open_of_biggest = (
        (csv.customerID.str.upper() == biggest) & (csv.InvoiceDate <= month_end) & (csv.SettledDate > month_end)
    )
    assert grouped.groups[0].figures.open_invoices.value == int(open_of_biggest.sum())


# --- a hand-made ledger: the edges of "open" ------------------------------------------------------------------------


TODAY = DEMO_AS_OF  # 2026-09-30


def _hand_made_ledger(url: str) -> dict[str, int]:
    with write_session(url) as s:
        f.fx_rate(s, "EUR", "USD", "1.20", on=date(2026, 1, 1))
        one = f.customer(s, "One Ltd")
        two = f.customer(s, "Two GmbH", currency="EUR")
        three = f.customer(s, "Three Inc")
        f.invoice(s, one, "1000", issued=date(2026, 7, 1))  # A: due 07-31, open throughout
        b = f.invoice(s, one, "500", issued=date(2026, 9, 1))  # B: 200 paid on 09-10, 300 open
        f.pay(s, b, "200", on=date(2026, 9, 10))
        c = f.invoice(s, one, "400", issued=date(2026, 8, 1))  # C: paid in full on 09-15
        f.pay(s, c, "400", on=date(2026, 9, 15))
        f.invoice(s, one, "-300", issued=date(2026, 9, 5), due=date(2026, 9, 5), credit_note=True)  # D: credit note
        e = f.invoice(s, one, "800", issued=date(2026, 8, 1))  # E: disputed from 09-01
        f.dispute(s, e, opened=date(2026, 9, 1))
        # F: paid on 08-10, the payment reversed on 08-20, paid again on 09-05: not open on 08-15 though settled later.
        g = f.invoice(s, three, "1000", issued=date(2026, 7, 15))
        f.pay(s, g, "1000", on=date(2026, 8, 10))
        f.pay(s, g, "-1000", on=date(2026, 8, 20))
        g.settled_date, g.settled_dn, g.status = None, None, InvoiceStatus.OPEN
        s.flush()
        f.pay(s, g, "1000", on=date(2026, 9, 5))
        f.invoice(s, two, "250", issued=date(2026, 9, 10))  # H: in EUR
        # Three also owes 100 long past due and holds a larger credit note not yet due: negative exposure.
        f.invoice(s, three, "100", issued=date(2026, 6, 1))
        f.invoice(s, three, "-900", issued=date(2026, 9, 25), due=date(2026, 10, 25), credit_note=True)
        return {"one": one.id, "two": two.id, "three": three.id}


def test_the_edges_of_open_on_a_hand_made_ledger(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _hand_made_ledger(db_url)

    def count(as_of: date, **args: Any) -> Decimal | None:
        return summary(db_url, today=TODAY, as_of=as_of.isoformat(), **args).totals.open_invoices.value

    # 09-30: A, B (part paid), E (disputed), H (EUR) and Three's 100; C and F are paid, credit notes not counted.
    expectations: list[tuple[date, dict[str, Any], int]] = [
        (TODAY, {}, 5),
        (TODAY, {"exclude_disputed": True}, 4),
        (TODAY, {"currencies": ["EUR"]}, 1),
        (TODAY, {"min_days_past_due": 31}, 2),  # A (61 days) and Three's 100 (91+)
        (TODAY, {"max_days_past_due": 30}, 3),  # B and H not yet due, E 30 days past due
        (date(2026, 9, 10), {}, 6),  # A, B, C, E, H (issued that day) and Three's 100
        (date(2026, 8, 25), {}, 5),  # A, C, E, F (reopened by the reversal) and Three's 100
        (date(2026, 8, 15), {}, 4),  # F paid on 08-10 is not open, though its settlement date is later
        (date(2026, 6, 30), {}, 1),
    ]
    results = [count(day, **args) for day, args, _ in expectations]
    assert results == [wanted for *_, wanted in expectations]
    per_customer = summary(db_url, today=TODAY, group_by="customer", top_n=5)
    counts = {g.key: g.figures.open_invoices.value for g in per_customer.groups}
    assert counts == {str(ids["one"]): 3, str(ids["two"]): 1, None: 1}  # Three's exposure is negative: "Other"
    # The same from snapshots (today and the month ends).
    refresh_receivable_snapshots(db_url, TODAY)
    snapshot = [count(day, **args) for day, args, _ in expectations]
    assert snapshot == results
    assert summary(db_url, today=TODAY, as_of="2026-08-31").data_source == "snapshot"

    # Ranking: Three owes 100 overdue but has a negative exposure (credit note 900 not yet due).
    by_exposure = summary(db_url, today=TODAY, top_n=5)
    assert [t.customer_id for t in by_exposure.top_exposures] == [ids["one"], ids["two"]]
    by_overdue = summary(db_url, today=TODAY, top_n=5, rank_by="overdue")
    # One: A 1,000 + E 800 + the credit note −300 (due 09-05, so past due) = 1,500; Three: 100.
    assert [(t.customer_id, t.overdue) for t in by_overdue.top_exposures] == [
        (ids["one"], D("1500.00")),
        (ids["three"], D("100.00")),
    ]
    assert by_overdue.top_exposures[1].exposure == D("-800.00")
    by_disputed = summary(db_url, today=TODAY, rank_by="disputed", group_by="customer")
    assert [(t.customer_id, t.disputed) for t in by_disputed.top_exposures] == [(ids["one"], D("800.00"))]
    assert [g.key for g in by_disputed.groups] == [str(ids["one"]), None]
    by_receivables = summary(db_url, today=TODAY, rank_by="open_receivables", currencies=["EUR"])
    assert [(t.customer_id, t.receivables) for t in by_receivables.top_exposures] == [(ids["two"], D("300.00"))]
    _without_snapshots(monkeypatch)
    assert summary(db_url, today=TODAY, top_n=5, rank_by="overdue").top_exposures == by_overdue.top_exposures


def test_open_invoices_are_counted_only_when_asked_for(demo_db_url: str) -> None:
    result = plain_summary(demo_db_url, as_of=DEMO_AS_OF.isoformat())
    assert result.totals.open_invoices.value is None
    assert result.totals.open_invoices.note and "count_open_invoices" in result.totals.open_invoices.note
