"""Credit-limit recommendation: each method against hand-worked numbers, caps that bind, rounding down, the
approver from the authority matrix, what-if terms, and customers without the data a method needs.
Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session, write_session
from db.models import BureauReport, CustomerFinancials, Role
from tests.support import factories as f
from tools.context import Actor, ToolContext
from tools.fx import FxConverter
from tools.limits import _authority, round_down
from tools.policy import load_policy
from tools.registry import call_tool

D = Decimal
AS_OF = date(2026, 6, 30)
TODAY = date(2026, 11, 22)


def ctx_for(url: str, actor: Actor | None = None) -> ToolContext:
    return ToolContext(actor=actor or Actor.operator(), database_url=url, today=TODAY, reporting_currency="USD")


def recommend(url: str, customer: str, **kwargs: Any) -> Any:
    return call_tool("recommend_credit_limit", {"customer": customer, "as_of": AS_OF, **kwargs}, ctx_for(url))


def _statement(s: Any, who: Any, **figures: str) -> None:
    values = {
        "revenue": "2000000",
        "net_income": "100000",
        "total_assets": "1000000",
        "total_liabilities": "400000",
        "intangible_assets": "100000",
        "current_assets": "300000",
        "current_liabilities": "150000",
    } | figures
    s.add(
        CustomerFinancials(
            customer_id=who.id,
            period_end=date(2025, 12, 31),
            currency=who.currency,
            **{k: D(v) for k, v in values.items()},
        )
    )


def build(
    url: str,
    *,
    name: str = "Limit Works",
    bureau_max: str | None = "25500",
    statement: dict[str, str] | None = None,
    big_book: bool = True,
    sales: bool = True,
) -> None:
    """A class A customer: 10,000 a month on 30-day terms, paid on the due date; limit 20,000 since 2025."""
    with write_session(url) as s:
        who = f.customer(s, name, since=date(2020, 1, 1))
        f.credit_limit(s, who, "20000", since=date(2025, 1, 1))
        if sales:
            for month in range(12):
                issued = date(2025 + (month + 6) // 12, (month + 6) % 12 + 1, 5)
                inv = f.invoice(s, who, "10000", issued=issued)
                if inv.due_date <= AS_OF:
                    f.pay(s, inv, "10000", on=inv.due_date)
        if statement is not None:
            _statement(s, who, **statement)
        s.add(
            BureauReport(
                customer_id=who.id,
                agency="test",
                report_date=date(2026, 5, 1),
                paydex=85,
                max_credit_recommendation=D(bureau_max) if bureau_max else None,
                currency="USD",
            )
        )
        if big_book:
            other = f.customer(s, f"{name} Big Book", since=date(2015, 1, 1))
            f.invoice(s, other, "5000000", issued=date(2026, 3, 1))


def methods(result: Any) -> dict[str, Any]:
    return {m.code: m for m in result.methods}


def test_hand_worked_methods_caps_and_rounding(db_url: str) -> None:
    build(db_url, statement={})
    r = recommend(db_url, "limit works")
    assert r.risk_class == "A"
    m = methods(r)
    # 120,000 over 12 months = 10,000 a month × 30 / 30 × 1.2
    assert m["needs_based"].value == D("12000.00")
    assert m["needs_based"].inputs["net_purchases"] == D("120000.00")
    assert m["tangible_net_worth"].value == D("50000.00")  # 10% × (1,000,000 − 400,000 − 100,000)
    assert m["working_capital"].value == D("30000.00")  # 20% × (300,000 − 150,000)
    assert m["risk_class_cap"].value == D("2000000.00")
    assert m["bureau_cap"].value == D("25500.00")
    assert m["concentration_cap"].value == D("512000.00")  # 10% × (120,000 + 5,000,000)
    assert r.base_value == D("30000.00")  # median of 12,000 / 50,000 / 30,000
    assert r.capped_value == D("25500.00") and r.binding_constraint == "bureau_cap"
    assert m["bureau_cap"].bound and not m["working_capital"].bound
    assert all(method.used for method in r.methods)
    assert r.recommended_limit == D("25000.00")  # rounded down, never up
    assert r.current_limit == D("20000.00")
    assert r.change_amount == D("5000.00") and r.change_pct == D("25.0") and r.direction == "increase"
    assert r.approver_role == "credit_analyst" and r.four_eyes
    assert "propose_credit_limit_change" in r.note and "changes nothing" in r.note
    assert r.recommended_limit_reporting == D("25000.00")


def test_median_binds_without_a_bureau_recommendation_and_what_if_terms(db_url: str) -> None:
    build(db_url, statement={}, bureau_max=None)
    r = recommend(db_url, "limit works", what_if_terms_days=[15, 45, 60, 90, 120])
    m = methods(r)
    assert not m["bureau_cap"].applicable and "no maximum credit recommendation" in m["bureau_cap"].note
    assert r.recommended_limit == D("30000.00") and r.binding_constraint == "working_capital"
    assert m["working_capital"].bound
    table = {row.terms_days: row for row in r.what_if}
    assert list(table) == [15, 30, 45, 60, 90, 120] and table[30].customer_terms
    assert {t: row.needs_based for t, row in table.items()} == {
        15: D("6000.00"),
        30: D("12000.00"),
        45: D("18000.00"),
        60: D("24000.00"),
        90: D("36000.00"),
        120: D("48000.00"),
    }
    # Median of (needs, 50,000, 30,000): 30,000 until needs passes it.
    assert {t: row.recommended_limit for t, row in table.items()} == {
        15: D("30000.00"),
        30: D("30000.00"),
        45: D("30000.00"),
        60: D("30000.00"),
        90: D("36000.00"),
        120: D("48000.00"),
    }
    assert table[90].binding == "needs_based"
    # +16,000 stays with an analyst; +28,000 exceeds the analyst's 25,000 increase.
    assert table[90].approver_role == "credit_analyst" and table[120].approver_role == "credit_manager"


def test_concentration_cap_binds_in_a_small_book(db_url: str) -> None:
    build(db_url, statement={}, big_book=False)
    r = recommend(db_url, "limit works")
    assert methods(r)["concentration_cap"].value == D("12000.00")  # 10% of our 120,000 of sales
    assert r.binding_constraint == "concentration_cap" and r.recommended_limit == D("12000.00")
    assert r.direction == "decrease" and r.approver_role == "credit_analyst"


def test_no_financials_and_negative_net_worth(db_url: str) -> None:
    build(db_url, name="No Statements", bureau_max=None)
    build(
        db_url,
        name="Deep Red",
        bureau_max=None,
        big_book=False,
        statement={"total_liabilities": "1200000", "current_liabilities": "400000"},
    )
    plain = recommend(db_url, "no statements")
    m = methods(plain)
    assert not m["tangible_net_worth"].applicable and "no financial statement" in m["tangible_net_worth"].note
    assert not m["working_capital"].applicable
    assert plain.base_value == D("12000.00") and plain.recommended_limit == D("12000.00")
    assert plain.binding_constraint == "needs_based"

    red = recommend(db_url, "deep red")
    m = methods(red)
    assert not m["tangible_net_worth"].applicable
    assert m["tangible_net_worth"].note.startswith("not applicable: negative net worth (-200000.00)")
    assert not m["working_capital"].applicable and "not positive (-100000.00)" in m["working_capital"].note
    assert red.recommended_limit is not None


def test_no_basis_for_a_limit(db_url: str) -> None:
    build(db_url, name="Brand New", sales=False, bureau_max=None, big_book=True)
    r = recommend(db_url, "brand new")
    m = methods(r)
    assert "no sales" in m["needs_based"].note
    assert r.recommended_limit is None and r.direction == "no recommendation"
    assert r.approver_role is None and r.change_amount is None
    assert "No base method applies" in r.explanation
    assert all(row.recommended_limit is None for row in r.what_if)


class UsdOnly:
    """A converter for a book in the reporting currency (no rates needed)."""

    to_currency = "USD"

    def convert(self, amount: Decimal, currency: str) -> Decimal:
        assert currency == "USD"
        return amount


@pytest.mark.parametrize(
    ("current", "new", "risk_class", "role"),
    [
        ("20000", "40000", "A", "credit_analyst"),  # +20,000, new ≤ 100,000
        ("20000", "45001", "A", "credit_manager"),  # +25,001 > 25,000
        ("90000", "110000", "B", "credit_manager"),  # new limit above 100,000
        ("10000", "20000", "C", "credit_analyst"),
        ("10000", "20000", "D", "credit_manager"),  # class D is outside the analyst row
        ("10000", "20000", "E", "admin"),  # class E only through the last row
        ("100000", "300000", "A", "admin"),  # +200,000 > 100,000
        ("400000", "500000", "B", "credit_manager"),  # +100,000, new 500,000: the manager row's bounds
        ("50000", "10000", "E", "credit_analyst"),  # any decrease
    ],
)
def test_approver_follows_the_authority_matrix(current: str, new: str, risk_class: str, role: str) -> None:
    authority = _authority(load_policy(), D(current), D(new), risk_class, UsdOnly(), "USD")  # type: ignore[arg-type]
    assert authority.role == role
    assert authority.four_eyes is load_policy().authority.four_eyes_for_limit_changes


def test_authority_uses_reporting_currency_amounts(db_url: str) -> None:
    with write_session(db_url) as s:
        f.fx_rate(s, "EUR", "USD", "1.25", date(2026, 6, 1))
    with read_session(db_url) as s:
        fx = FxConverter(s, "USD", AS_OF)
        # +21,000 EUR is +26,250 USD: above the analyst's 25,000.
        authority = _authority(load_policy(), D("20000"), D("41000"), "A", fx, "EUR")
    assert authority.role == "credit_manager"
    assert "26250.00 USD" in authority.explanation


def test_round_down() -> None:
    step = load_policy().limits.rounding
    assert round_down(D("25999.99"), step) == D("25000.00")
    assert round_down(D("26000.00"), step) == D("26000.00")
    assert round_down(D("999.99"), step) == D("0.00")


def test_foreign_currency_customer_and_roles(db_url: str) -> None:
    with write_session(db_url) as s:
        f.fx_rate(s, "EUR", "USD", "1.25", date(2026, 6, 1))
        casey = f.staff(s, "casey", Role.COLLECTOR)
        who = f.customer(s, "Euro Works", currency="EUR", collector=casey, since=date(2020, 1, 1))
        f.credit_limit(s, who, "20000", since=date(2025, 1, 1))
        for month in range(12):
            issued = date(2025 + (month + 6) // 12, (month + 6) % 12 + 1, 5)
            inv = f.invoice(s, who, "10000", issued=issued)
            if inv.due_date <= AS_OF:
                f.pay(s, inv, "10000", on=inv.due_date - timedelta(days=1))
        casey_actor = Actor.from_user(casey)
    r = recommend(db_url, "euro works")
    assert r.currency == "EUR" and r.reporting_currency == "USD"
    m = methods(r)
    assert m["needs_based"].value == D("12000.00") and m["needs_based"].value_reporting == D("15000.00")
    # Our book: 120,000 EUR = 150,000 USD → 10% = 15,000 USD = 12,000 EUR.
    assert m["concentration_cap"].value == D("12000.00")
    assert r.recommended_limit == D("12000.00") and r.recommended_limit_reporting == D("15000.00")
    assert [rate.from_currency for rate in r.fx_rates] == ["EUR"]
    with pytest.raises(CreditDeskError) as error:
        call_tool("recommend_credit_limit", {"customer": "euro works"}, ctx_for(db_url, casey_actor))
    assert error.value.code == ErrorCode.FORBIDDEN
