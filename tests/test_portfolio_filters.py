"""get_portfolio_summary's customer-level filters `countries` and `over_limit` (issue 12): figures against an
independent computation over the raw tables (plain Python/pandas, the reference of tests/test_portfolio.py), on
their own, together with the other filters and groupings, at today's and a past date, from snapshots and live,
never from a whole-book rollup; plus hand-made ledgers for the edge cases of the limit comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import select

from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session, write_session
from db.models import CreditLimit, Customer
from db.queries import portfolio as queries
from tests.conftest import DEMO_AS_OF
from tests.support import factories as f
from tests.test_portfolio import (
    Raw,
    _without_snapshots,
    assert_matches,
    cents,
    ctx_for,
    end_of,
    load_raw,
    open_items,
    reference,
    summary,
    usd_rate,
)
from tools.policy import load_policy
from tools.registry import call_tool

D = Decimal
PAST = date(2026, 6, 30)


# --- the independent reference --------------------------------------------------------------------------------------


@dataclass
class Book:
    raw: Raw
    countries: dict[int, str | None]
    external_ids: dict[int, str]
    limits: list[tuple[int, Decimal, str, object, object]]  # customer, amount, currency, valid_from, valid_to


def load_book(url: str) -> Book:
    with read_session(url) as s:
        rows = s.execute(select(Customer.id, Customer.country, Customer.external_id)).all()
        countries = {int(row[0]): row[1] for row in rows}
        external_ids = {int(row[0]): row[2] for row in rows}
        limits = [
            (int(row[0]), D(row[1]), row[2], row[3], row[4])
            for row in s.execute(
                select(
                    CreditLimit.customer_id,
                    CreditLimit.amount,
                    CreditLimit.currency,
                    CreditLimit.valid_from,
                    CreditLimit.valid_to,
                )
            )
        ]
    return Book(load_raw(url), countries, external_ids, limits)


_books: dict[str, Book] = {}


@pytest.fixture
def book(demo_db_url: str) -> Book:
    """The shared demo database is read-only: its tables are loaded once per backend."""
    if demo_db_url not in _books:
        _books[demo_db_url] = load_book(demo_db_url)
    return _books[demo_db_url]


def limits_at(book: Book, as_of: date) -> dict[int, Decimal]:
    """The limit in force at the end of `as_of` (valid_from <= t < valid_to, the latest one), in USD."""
    moment = end_of(as_of)
    chosen: dict[int, tuple[object, Decimal]] = {}
    for customer_id, amount, currency, valid_from, valid_to in book.limits:
        if valid_from <= moment and (valid_to is None or valid_to > moment):
            usd = amount * usd_rate(book.raw, currency, as_of)
            if customer_id not in chosen or valid_from > chosen[customer_id][0]:  # type: ignore[operator]
                chosen[customer_id] = (valid_from, usd)
    return {customer_id: usd for customer_id, (_, usd) in chosen.items()}


def exposures_at(book: Book, as_of: date, today: date) -> dict[int, Decimal]:
    """get_customer_exposure's total exposure in USD: every open item at the end of `as_of` (disputed ones as the
    policy says), plus today's open orders when `as_of` is today."""
    raw = book.raw
    items = open_items(raw, as_of)
    if not load_policy().exposure.include_disputed_items:
        items = items[~items.disputed]
    exposure: dict[int, Decimal] = {}
    for customer_id, currency, amount in zip(items.customer_id, items.currency, items.open, strict=True):
        exposure[customer_id] = exposure.get(customer_id, D(0)) + amount * usd_rate(raw, currency, as_of)
    if as_of >= today and load_policy().exposure.include_open_orders:
        orders = raw.orders[raw.orders.status == "open"]
        for customer_id, currency, amount in zip(orders.customer_id, orders.currency, orders.open_amount, strict=True):
            exposure[customer_id] = exposure.get(customer_id, D(0)) + amount * usd_rate(raw, currency, as_of)
    return exposure


def over_limit(book: Book, as_of: date, today: date = DEMO_AS_OF, percent: int = 100) -> dict[int, Decimal]:
    """Customers whose exposure exceeds `percent` % of their limit in force, with that exposure (USD)."""
    limits = limits_at(book, as_of)
    exposure = exposures_at(book, as_of, today)
    return {c: v for c, v in exposure.items() if c in limits and v > limits[c] * percent / 100}


def with_country(book: Book, *codes: str) -> set[int]:
    return {c for c, country in book.countries.items() if country in codes}


def balances(book: Book, as_of: date, *, exclude_disputed: bool, currencies: set[str] | None = None) -> dict:
    items = open_items(book.raw, as_of)
    if exclude_disputed:
        items = items[~items.disputed]
    out: dict[int, Decimal] = {}
    for customer_id, currency, amount in zip(items.customer_id, items.currency, items.open, strict=True):
        if currencies is None or currency in currencies:
            out[customer_id] = out.get(customer_id, D(0)) + amount * usd_rate(book.raw, currency, as_of)
    return out


# --- countries ------------------------------------------------------------------------------------------------------


def test_countries_filter_case_insensitively(demo_db_url: str, book: Book) -> None:
    members = with_country(book, "DE", "FR")
    assert 0 < len(members) < len(book.countries)
    result = summary(demo_db_url, countries=["de", " Fr"])
    assert_matches(result.totals, reference(book.raw, DEMO_AS_OF, customers=members, today=DEMO_AS_OF))
    expected = reference(book.raw, DEMO_AS_OF, customers=members, today=DEMO_AS_OF)
    assert result.totals.open_orders.value == cents(expected.orders)
    assert [(t.customer_id, t.exposure) for t in result.top_exposures] == [
        (c, cents(v)) for c, v in expected.exposures[:10]
    ]
    applied = result.filters_applied
    assert applied.countries == ["de", " Fr"] and applied.over_limit is False
    assert any("country DE, FR" in text for text in applied.descriptions)


def test_countries_per_group_and_at_a_past_date(demo_db_url: str, book: Book) -> None:
    members = with_country(book, "US", "CA", "MX")
    result = summary(demo_db_url, countries=["US", "CA", "MX"], group_by="segment", as_of=PAST.isoformat())
    assert_matches(result.totals, reference(book.raw, PAST, customers=members))
    segments = dict(zip(book.raw.customers.id, book.raw.customers.segment, strict=True))
    assert result.groups
    for group in result.groups:
        part = {c for c in members if segments[c] == group.key}
        assert_matches(group.figures, reference(book.raw, PAST, customers=part))


def _with_status(url: str, *statuses: str) -> set[int]:
    with read_session(url) as s:
        rows = s.execute(select(Customer.id, Customer.credit_status)).all()
    return {int(customer_id) for customer_id, status in rows if str(status) in statuses}


def test_credit_status_filter_today_and_at_a_past_date(demo_db_url: str, book: Book) -> None:
    members = _with_status(demo_db_url, "Hold", "Stop")
    assert 0 < len(members) < len(book.countries)
    result = summary(demo_db_url, credit_statuses=["hold", "Stop"], group_by="customer", top_n=50)
    expected = reference(book.raw, DEMO_AS_OF, customers=members, today=DEMO_AS_OF)
    assert_matches(result.totals, expected)
    assert {g.key for g in result.groups if g.key is not None} <= {str(c) for c in members}
    assert result.filters_applied.credit_statuses == ["Hold", "Stop"]
    assert any("credit status Hold, Stop" in text and "today" in text for text in result.filters_applied.descriptions)
    past = summary(demo_db_url, credit_statuses=["OK"], as_of=PAST.isoformat(), group_by="segment")
    assert_matches(past.totals, reference(book.raw, PAST, customers=_with_status(demo_db_url, "OK")))
    with pytest.raises(CreditDeskError) as error:
        summary(demo_db_url, credit_statuses=["frozen"])
    assert error.value.code is ErrorCode.INVALID_INPUT


def _in_industry(url: str, *industries: str) -> set[int]:
    with read_session(url) as s:
        rows = s.execute(select(Customer.id, Customer.industry)).all()
    return {int(customer_id) for customer_id, industry in rows if industry in industries}


def test_industry_filter_today_and_at_a_past_date(demo_db_url: str, book: Book) -> None:
    members = _in_industry(demo_db_url, "Retail", "Healthcare")
    assert 0 < len(members) < len(book.countries)
    result = summary(demo_db_url, industries=["retail", "Healthcare"], group_by="customer", top_n=50)
    assert_matches(result.totals, reference(book.raw, DEMO_AS_OF, customers=members, today=DEMO_AS_OF))
    assert {g.key for g in result.groups if g.key is not None} <= {str(c) for c in members}
    assert result.filters_applied.industries == ["retail", "Healthcare"]
    assert any("industry Retail, Healthcare" in text for text in result.filters_applied.descriptions)
    past = summary(demo_db_url, industries=["Retail"], as_of=PAST.isoformat(), group_by="region")
    assert_matches(past.totals, reference(book.raw, PAST, customers=_in_industry(demo_db_url, "Retail")))
    with pytest.raises(CreditDeskError) as error:
        summary(demo_db_url, industries=["Aerospace"])
    assert error.value.code is ErrorCode.INVALID_INPUT
    assert not queries.rollup_compatible(queries.Selection(industries=("Retail",)), None, None)


def test_an_unknown_country_matches_nothing_and_is_reported(demo_db_url: str, book: Book) -> None:
    nothing = summary(demo_db_url, countries=["zz"], group_by="region")
    assert nothing.totals.open_receivables.value == 0 and nothing.totals.sales.value == 0
    assert nothing.groups == [] and nothing.top_exposures == []
    assert nothing.filters_applied.countries == ["zz"]
    assert any("ZZ" in text and "matches nothing" in text for text in nothing.filters_applied.descriptions)
    assert any("ZZ" in note for note in nothing.notes)
    mixed = summary(demo_db_url, countries=["GB", "ZZ"])
    assert mixed.totals == summary(demo_db_url, countries=["gb"]).totals
    members = with_country(book, "GB")
    assert_matches(mixed.totals, reference(book.raw, DEMO_AS_OF, customers=members, today=DEMO_AS_OF))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"countries": []}, "at least one value"),
        ({"countries": ["  "]}, "at least one value"),
        ({"over_limit": "sometimes"}, "over_limit"),
        ({"over_limits": True}, "over_limits"),
    ],
)
def test_bad_filter_input_is_refused(demo_db_url: str, args: dict, fragment: str) -> None:
    with pytest.raises(CreditDeskError) as error:
        summary(demo_db_url, **args)
    assert error.value.code == ErrorCode.INVALID_INPUT and fragment in error.value.message


# --- over the credit limit ------------------------------------------------------------------------------------------


def test_customers_above_their_limit_today(demo_db_url: str, book: Book) -> None:
    """ "Which customers are above their credit limit?" = group_by=customer, over_limit=true."""
    over = over_limit(book, DEMO_AS_OF)
    assert 3 <= len(over) <= 50, "the demo has some customers over their limit"
    result = summary(demo_db_url, over_limit=True, group_by="customer", top_n=50)
    ranked = sorted(over.items(), key=lambda cv: (-cv[1], cv[0]))
    assert [g.key for g in result.groups] == [*(str(c) for c, _ in ranked), None]
    assert result.groups[-1].label == "Other customers" and result.groups[-1].figures.total_exposure.value == 0
    # The exposure shown (top_n long) is the one compared with the limit (no other filter): receivables + orders.
    assert [(t.customer_id, t.exposure) for t in result.top_exposures] == [(c, cents(v)) for c, v in ranked]
    expected = reference(book.raw, DEMO_AS_OF, customers=set(over), today=DEMO_AS_OF)
    assert_matches(result.totals, expected)
    assert result.totals.total_exposure.value == cents(sum(over.values(), D(0)))
    assert result.filters_applied.over_limit is True
    assert "today's order book" in result.definitions["over_limit"]
    assert any("over their credit limit" in text for text in result.filters_applied.descriptions)
    # A shorter list keeps the rest in "Other customers".
    short = summary(demo_db_url, over_limit=True, group_by="customer", top_n=2)
    assert [g.key for g in short.groups] == [str(ranked[0][0]), str(ranked[1][0]), None]
    rest = reference(book.raw, DEMO_AS_OF, customers={c for c, _ in ranked[2:]}, today=DEMO_AS_OF)
    assert abs(short.groups[-1].figures.open_receivables.value - cents(rest.selected)) <= D("0.02")
    assert short.groups[-1].figures.customers_with_balance.value == rest.with_balance


def test_customers_using_more_than_a_share_of_their_limit(demo_db_url: str, book: Book) -> None:
    """ "Customers with utilisation over 90 %" = min_utilisation_pct=90; over_limit too means the higher of the two."""
    over_90 = over_limit(book, DEMO_AS_OF, percent=90)
    assert len(over_90) > len(over_limit(book, DEMO_AS_OF))
    assert len(over_90) <= 50
    result = summary(demo_db_url, min_utilisation_pct=90, group_by="customer", top_n=50)
    assert {int(g.key) for g in result.groups if g.key is not None} == set(over_90)
    assert_matches(result.totals, reference(book.raw, DEMO_AS_OF, customers=set(over_90), today=DEMO_AS_OF))
    assert result.filters_applied.min_utilisation_pct == 90
    assert any("more than 90% of their credit limit" in text for text in result.filters_applied.descriptions)
    both = summary(demo_db_url, min_utilisation_pct=90, over_limit=True, group_by="customer", top_n=50)
    assert {int(g.key) for g in both.groups if g.key is not None} == set(over_limit(book, DEMO_AS_OF))
    past = summary(demo_db_url, min_utilisation_pct="75", as_of=PAST.isoformat())
    expected = reference(book.raw, PAST, customers=set(over_limit(book, PAST, percent=75)))
    assert_matches(past.totals, expected)
    as_text = summary(demo_db_url, min_utilisation_pct=" 90 %", group_by="customer", top_n=50)
    assert as_text.filters_applied.min_utilisation_pct == 90
    assert {g.key for g in as_text.groups} == {g.key for g in result.groups}
    for bad in (0, -5, 5000, "lots", "1e3", "9k", 92.5, True, "NaN"):
        with pytest.raises(CreditDeskError) as error:
            summary(demo_db_url, min_utilisation_pct=bad)
        assert error.value.code is ErrorCode.INVALID_INPUT


def test_over_limit_agrees_with_get_customer_exposure(demo_db_url: str, book: Book) -> None:
    ctx = ctx_for(demo_db_url)
    over_by_tool = set()
    for customer_id, external_id in book.external_ids.items():
        exposure = call_tool("get_customer_exposure", {"customer": external_id, "include_group": False}, ctx)
        figures = exposure.figures
        if figures.credit_limit is not None and figures.total_exposure > figures.credit_limit:
            over_by_tool.add(customer_id)
    assert over_by_tool == set(over_limit(book, DEMO_AS_OF))
    result = summary(demo_db_url, over_limit=True, group_by="customer", top_n=50)
    assert {int(g.key) for g in result.groups if g.key is not None} == over_by_tool


def test_over_limit_at_a_past_date_compares_receivables_only(demo_db_url: str, book: Book) -> None:
    over = over_limit(book, PAST)
    assert over and over.keys() != over_limit(book, DEMO_AS_OF).keys()
    listed = summary(demo_db_url, over_limit=True, group_by="customer", top_n=50, as_of=PAST.isoformat())
    ranked = sorted(over.items(), key=lambda cv: (-cv[1], cv[0]))
    assert [(t.customer_id, t.exposure) for t in listed.top_exposures] == [(c, cents(v)) for c, v in ranked]
    result = summary(demo_db_url, over_limit=True, group_by="region", as_of=PAST.isoformat())
    expected = reference(book.raw, PAST, customers=set(over))
    assert_matches(result.totals, expected)
    assert result.totals.open_orders.value == 0
    assert "without open orders" in result.definitions["over_limit"]
    regions = dict(zip(book.raw.customers.id, book.raw.customers.region, strict=True))
    for group in result.groups:
        assert_matches(group.figures, reference(book.raw, PAST, customers={c for c in over if regions[c] == group.key}))
    assert sum(g.figures.customers_with_balance.value for g in result.groups) == len(over)


def test_over_limit_with_every_other_kind_of_filter(demo_db_url: str, book: Book) -> None:
    """Over the limit (on the whole exposure) AND country AND minimum balance (selected currencies, undisputed)
    AND the currency, disputed and days-past-due filters on the figures, grouped, with a short top list."""
    codes = ("US", "GB", "DE", "CA")
    currencies = {"USD", "GBP", "EUR"}
    owing = balances(book, DEMO_AS_OF, exclude_disputed=True, currencies=currencies)
    minimum = D(20000)
    members = set(over_limit(book, DEMO_AS_OF)) & with_country(book, *codes)
    members &= {c for c, v in owing.items() if v >= minimum}
    assert members, "the combination leaves some customers"
    args = {
        "over_limit": True,
        "countries": list(codes),
        "min_balance": str(minimum),
        "currencies": sorted(currencies),
        "exclude_disputed": True,
        "min_days_past_due": 31,
        "group_by": "collector",
        "top_n": 2,
    }
    result = summary(demo_db_url, **args)
    expected = reference(
        book.raw, DEMO_AS_OF, customers=members, currencies=currencies, exclude_disputed=True, buckets=[2, 3, 4, 5]
    )
    assert_matches(result.totals, expected)
    assert [(t.customer_id, t.exposure) for t in result.top_exposures] == [
        (c, cents(v)) for c, v in expected.exposures[:2]
    ]
    collectors = {
        c: None if pd.isna(v) else str(int(v))
        for c, v in zip(book.raw.customers.id, book.raw.customers.collector_id, strict=True)
    }
    assert {g.key for g in result.groups} == {collectors[c] for c in members}
    for group in result.groups:
        part = {c for c in members if collectors[c] == group.key}
        wanted = reference(
            book.raw, DEMO_AS_OF, customers=part, currencies=currencies, exclude_disputed=True, buckets=[2, 3, 4, 5]
        )
        assert_matches(group.figures, wanted)
    described = " ".join(result.filters_applied.descriptions)
    assert "country US, GB, DE, CA" in described and "over their credit limit" in described


# --- snapshots, live and the rollup ---------------------------------------------------------------------------------


@pytest.fixture
def snapshot_db(db_url: str) -> str:
    from db.demo import SeedOptions, seed_demo_portfolio
    from tools.maintenance import refresh_receivable_snapshots

    seed_demo_portfolio(db_url, SeedOptions(customers=40, seed=3, as_of=DEMO_AS_OF))
    refresh_receivable_snapshots(db_url, DEMO_AS_OF)
    return db_url


def _two_countries(url: str) -> list[str]:
    with read_session(url) as s:
        rows = s.execute(select(Customer.country).where(Customer.country.is_not(None)).distinct()).scalars().all()
    return sorted(rows)[:2]


def test_filtered_questions_are_never_answered_from_the_rollup(
    snapshot_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tools.portfolio as portfolio_tool

    countries = _two_countries(snapshot_db)
    calls: list[object] = []
    real = queries.rollup_totals

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("group_by"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(queries, "rollup_totals", counted)
    assert summary(snapshot_db, group_by="region").data_source == "snapshot"
    assert calls, "the unfiltered question reads the rollup (so the check below can see it)"
    argument_sets = [
        {"countries": countries},
        {"countries": countries, "group_by": "region"},
        {"over_limit": True},
        {"over_limit": True, "group_by": "currency"},
        {"over_limit": True, "countries": countries, "group_by": "segment"},
        {"credit_statuses": ["Hold", "Stop"], "group_by": "region"},
        {"industries": ["Manufacturing"], "group_by": "collector"},
    ]
    calls.clear()
    filtered = [summary(snapshot_db, **args).model_dump(mode="json") for args in argument_sets]
    assert calls == []
    monkeypatch.setattr(portfolio_tool, "USE_ROLLUP", False)
    assert filtered == [summary(snapshot_db, **args).model_dump(mode="json") for args in argument_sets]
    rule = queries.OverLimitRule(moment=end_of(DEMO_AS_OF), include_orders=True, include_disputed=True)
    assert not queries.rollup_compatible(queries.Selection(countries=("DE",)), None, None)
    assert not queries.rollup_compatible(queries.Selection(over_limit=rule), "region", None)
    assert queries.Selection(countries=("DE",)).needs_customer_table


def test_snapshot_and_live_agree_on_the_new_filters(snapshot_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    countries = _two_countries(snapshot_db)
    argument_sets = [
        {"over_limit": True, "group_by": "customer", "top_n": 3},
        {"over_limit": True, "countries": countries, "group_by": "region", "min_balance": "1000"},
        {"countries": countries, "group_by": "currency", "exclude_disputed": True},
        {"over_limit": True, "as_of": "2026-08-31", "group_by": "customer", "top_n": 5},
        {"credit_statuses": ["Hold", "Stop"], "group_by": "collector"},
    ]
    from_snapshot = [summary(snapshot_db, **args) for args in argument_sets]
    assert {r.data_source for r in from_snapshot} == {"snapshot"}
    _without_snapshots(monkeypatch)
    live = [summary(snapshot_db, **args) for args in argument_sets]
    assert {r.data_source for r in live} == {"live"}
    for snap, computed in zip(from_snapshot, live, strict=True):
        a, b = snap.model_dump(mode="json"), computed.model_dump(mode="json")
        for key in ("data_source", "notes", "trend", "dso_change", "chart"):
            a.pop(key), b.pop(key)
        assert a == b
    book = load_book(snapshot_db)
    for result, as_of in ((from_snapshot[0], DEMO_AS_OF), (from_snapshot[3], date(2026, 8, 31))):
        over = over_limit(book, as_of)
        ranked = sorted(over.items(), key=lambda cv: (-cv[1], cv[0]))
        shown = [g.key for g in result.groups if g.key is not None]
        assert shown == [str(c) for c, _ in ranked[: len(shown)]]
        assert_matches(result.totals, reference(book.raw, as_of, customers=set(over), today=DEMO_AS_OF))


# --- hand-made ledgers: the edges of the limit comparison ------------------------------------------------------------


TODAY = DEMO_AS_OF


def test_limit_edges_on_a_hand_made_ledger(db_url: str) -> None:
    with write_session(db_url) as s:
        f.fx_rate(s, "EUR", "USD", "1.25", on=date(2026, 1, 1))
        # 800 owed + a 300 order today: over (1,100 > 1,000); at a past date the order does not count.
        orders = f.customer(s, "Orders Push Over Ltd")
        f.credit_limit(s, orders, "1000", since=date(2026, 1, 1))
        f.invoice(s, orders, "800", issued=date(2026, 9, 1))
        f.order(s, orders, "300", on=date(2026, 9, 20))
        # Exactly at the limit: not over.
        exact = f.customer(s, "Exactly At Limit Ltd")
        f.credit_limit(s, exact, "500", since=date(2026, 1, 1))
        f.invoice(s, exact, "500", issued=date(2026, 9, 2))
        # No limit at all: never over, however much is owed.
        f.invoice(s, f.customer(s, "No Limit Ltd"), "90000", issued=date(2026, 9, 3))
        # A limit raised on 2026-09-15: over before (700 > 400), within after (700 <= 2,000).
        raised = f.customer(s, "Raised Limit Ltd")
        f.credit_limit(s, raised, "400", since=date(2026, 1, 1), until=date(2026, 9, 15))
        f.credit_limit(s, raised, "2000", since=date(2026, 9, 15))
        f.invoice(s, raised, "700", issued=date(2026, 8, 20))
        # In EUR, over through a disputed invoice (disputed items count towards exposure) and a USD item.
        euro = f.customer(s, "Euro Disputed GmbH", currency="EUR")
        f.credit_limit(s, euro, "1000", since=date(2026, 1, 1))
        f.invoice(s, euro, "600", issued=date(2026, 9, 5))
        f.dispute(s, f.invoice(s, euro, "300", issued=date(2026, 9, 6)), opened=date(2026, 9, 10))
        f.invoice(s, euro, "200", issued=date(2026, 9, 7), currency="USD")  # 160 EUR: 1,060 EUR > 1,000 EUR
        # A limit of 0 is a limit: any positive exposure exceeds it.
        zero = f.customer(s, "Zero Limit Ltd")
        f.credit_limit(s, zero, "0", since=date(2026, 1, 1))
        f.invoice(s, zero, "10", issued=date(2026, 9, 8))
        for who, code in ((orders, "de"), (exact, "DE"), (raised, "FR"), (euro, "DE"), (zero, "US")):
            who.country = code
        ids = {c.name: c.id for c in (orders, exact, raised, euro, zero)}
    assert load_policy().exposure.include_disputed_items and load_policy().exposure.include_open_orders

    def over_ids(**args: object) -> list[str | None]:
        result = summary(db_url, today=TODAY, over_limit=True, group_by="customer", top_n=50, **args)
        return [g.key for g in result.groups]

    now = over_ids()
    assert now == [str(ids["Euro Disputed GmbH"]), str(ids["Orders Push Over Ltd"]), str(ids["Zero Limit Ltd"]), None]
    result = summary(db_url, today=TODAY, over_limit=True)
    # 1,060 EUR × 1.25 + 800 + 300 (order) + 10.
    assert result.totals.total_exposure.value == D("1325.00") + D("1100.00") + D("10.00")
    assert result.totals.open_orders.value == D("300.00")
    # The disputed filter changes the figures, not who is over the limit.
    undisputed = summary(db_url, today=TODAY, over_limit=True, exclude_disputed=True)
    assert undisputed.totals.open_receivables.value == D("1325.00") - D("375.00") + D("800.00") + D("10.00")
    # Before the limit was raised, and without today's orders.
    past = over_ids(as_of="2026-09-14")
    assert past == [str(ids["Euro Disputed GmbH"]), str(ids["Raised Limit Ltd"]), str(ids["Zero Limit Ltd"]), None]
    # Country codes match case-insensitively as stored ("de" and "DE" are both stored).
    germany = summary(db_url, today=TODAY, countries=["DE"], group_by="customer", top_n=50)
    assert {g.key for g in germany.groups} == {
        str(ids["Orders Push Over Ltd"]),
        str(ids["Exactly At Limit Ltd"]),
        str(ids["Euro Disputed GmbH"]),
        None,
    }
    german_over = summary(db_url, today=TODAY, countries=["de"], over_limit=True, group_by="customer")
    assert [g.key for g in german_over.groups] == [
        str(ids["Euro Disputed GmbH"]),
        str(ids["Orders Push Over Ltd"]),
        None,
    ]
    assert german_over.totals.total_exposure.value == D("1325.00") + D("1100.00")


# --- limit reviews due ----------------------------------------------------------------------------------------------


def reviews_due(url: str, as_of: date, by: date) -> set[int]:
    """Customers whose limit in force at the end of `as_of` (the latest valid_from) has a review date <= `by`."""
    moment = end_of(as_of)
    with read_session(url) as s:
        rows = s.execute(
            select(CreditLimit.customer_id, CreditLimit.valid_from, CreditLimit.valid_to, CreditLimit.review_date)
        ).all()
    chosen: dict[int, tuple[object, date | None]] = {}
    for customer_id, valid_from, valid_to, review in rows:
        in_force = valid_from <= moment and (valid_to is None or valid_to > moment)
        if in_force and (customer_id not in chosen or valid_from > chosen[customer_id][0]):  # type: ignore[operator]
            chosen[customer_id] = (valid_from, review)
    return {c for c, (_, review) in chosen.items() if review is not None and review <= by}


def test_customers_with_a_limit_review_due_by_a_date_ahead(demo_db_url: str, book: Book) -> None:
    """ "Which accounts are due for a limit review by the end of the month?": a date after the as-of date."""
    by = date(DEMO_AS_OF.year + (DEMO_AS_OF.month == 12), DEMO_AS_OF.month % 12 + 1, 1)
    due = reviews_due(demo_db_url, DEMO_AS_OF, by)
    assert 3 <= len(due) < len(book.countries), "the demo has some reviews due, not all"
    result = summary(demo_db_url, review_due_by=by, group_by="customer", top_n=50)
    assert_matches(result.totals, reference(book.raw, DEMO_AS_OF, customers=due, today=DEMO_AS_OF))
    listed = {int(g.key) for g in result.groups if g.key is not None}
    owing = {c for c, v in balances(book, DEMO_AS_OF, exclude_disputed=False).items() if v != 0}
    assert due & owing <= listed <= due
    assert result.filters_applied.review_due_by == by
    assert any(f"on or before {by}" in text for text in result.filters_applied.descriptions)
    assert any("nothing open" in note for note in result.notes)
    # With a region too: the review rule and the other customer filters both hold.
    emea = summary(demo_db_url, review_due_by=by, regions=["EMEA"], group_by="customer", top_n=50)
    assert {int(g.key) for g in emea.groups if g.key is not None} <= listed
