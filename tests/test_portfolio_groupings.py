"""get_portfolio_summary split by country and by industry (the customer master's fields): every group's figures
against the independent reference of tests/test_portfolio.py over that group's customers, today and at a past date,
from snapshots and live; the groups add up to the total; never read from the whole-book rollup (it has neither
dimension). On SQLite and PostgreSQL (`demo_db_url`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from db.engine import read_session
from db.models import Customer
from db.queries import portfolio as queries
from tests.conftest import DEMO_AS_OF
from tests.test_portfolio import _without_snapshots, assert_matches, reference, summary
from tests.test_portfolio_filters import Book, book  # noqa: F401 - the fixture is used by name

PAST = date(2026, 6, 30)


def _customers_by(url: str, field: str) -> dict[str | None, set[int]]:
    column = {"country": Customer.country, "industry": Customer.industry}[field]
    groups: dict[str | None, set[int]] = {}
    with read_session(url) as session:
        for customer_id, value in session.execute(select(Customer.id, column)):
            groups.setdefault(value, set()).add(int(customer_id))
    return groups


@pytest.mark.parametrize("field", ["country", "industry"])
@pytest.mark.parametrize("as_of", [DEMO_AS_OF, PAST])
def test_each_group_matches_the_reference_over_its_customers(
    demo_db_url: str,
    book: Book,  # noqa: F811
    field: str,
    as_of: date,
) -> None:
    members = _customers_by(demo_db_url, field)
    assert len([key for key in members if key is not None]) > 2  # the demo book has several of each
    today = DEMO_AS_OF if as_of == DEMO_AS_OF else None
    result = summary(demo_db_url, group_by=field, as_of=as_of.isoformat())
    assert result.group_by == field
    assert result.groups
    for group in result.groups:
        assert_matches(group.figures, reference(book.raw, as_of, customers=members[group.key], today=today))
    total = sum((g.figures.open_receivables.value for g in result.groups), start=Decimal(0))
    # each group is converted and rounded to the cent on its own
    assert abs(total - result.totals.open_receivables.value) <= Decimal("0.01") * len(result.groups)


def test_a_split_by_industry_within_a_filter_and_without_snapshots(
    demo_db_url: str,
    book: Book,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without_snapshots(monkeypatch)
    by_industry = _customers_by(demo_db_url, "industry")
    in_region = {c for c, region in zip(book.raw.customers.id, book.raw.customers.region, strict=True)
                 if region == "North America"}  # fmt: skip
    result = summary(demo_db_url, group_by="industry", regions=["North America"], exclude_disputed=True)
    assert result.data_source == "live"
    assert result.groups
    for group in result.groups:
        part = by_industry[group.key] & in_region
        expected = reference(book.raw, DEMO_AS_OF, customers=part, today=DEMO_AS_OF, exclude_disputed=True)
        assert_matches(group.figures, expected)


def test_country_and_industry_splits_never_come_from_the_rollup() -> None:
    assert not queries.rollup_compatible(queries.Selection(), "country", None)
    assert not queries.rollup_compatible(queries.Selection(), "industry", None)
    assert queries.rollup_compatible(queries.Selection(), "region", None)
