"""Scorecard: factors against an independent recomputation from raw rows (demo portfolio), the policy's bands and
classes, neutral factors, point in time, the batch equal to the per-customer tool, and the history it writes.
Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session, write_session
from db.models import (
    BureauReport,
    CreditLimit,
    CreditScore,
    Customer,
    CustomerFinancials,
    Dispute,
    Invoice,
    InvoiceKind,
    OrderStatus,
    PaymentAllocation,
    Role,
    SalesOrder,
)
from tests.conftest import DEMO_AS_OF
from tests.support import factories as f
from tools.context import Actor, ToolContext
from tools.policy import load_policy
from tools.registry import call_tool
from tools.scoring import (
    PaidTotals,
    ScoreInputs,
    UtilisationFacts,
    compute_scorecard,
    refresh_scores,
    score_book,
)

D = Decimal
POLICY_YAML = Path(__file__).resolve().parent.parent / "knowledge" / "policies" / "policy.yaml"


def ctx_for(url: str, today: date = DEMO_AS_OF, actor: Actor | None = None) -> ToolContext:
    return ToolContext(actor=actor or Actor.operator(), database_url=url, today=today, reporting_currency="USD")


def score(url: str, customer: str | int, today: date = DEMO_AS_OF, **kwargs: Any) -> Any:
    return call_tool("score_customer", {"customer": str(customer), **kwargs}, ctx_for(url, today))


# --- an independent reading of the raw tables (ORM rows, plain Python; no scoring code) -----------------------


def raw_policy() -> dict[str, Any]:
    return yaml.safe_load(POLICY_YAML.read_text(encoding="utf-8"))


def band_points(bands: list[dict[str, Any]], value: Decimal) -> int:
    for band in bands:
        if "max" in band and value <= D(str(band["max"])):
            return int(band["points"])
        if "min" in band and value >= D(str(band["min"])):
            return int(band["points"])
        if "max" not in band and "min" not in band:
            return int(band["points"])
    raise AssertionError("no band")


def one(value: Decimal) -> Decimal:
    return value.quantize(D("0.1"), rounding=ROUND_HALF_UP)


def minus_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def weighted_mean(invoices: list[Invoice], days: dict[int, int]) -> Decimal:
    return sum((i.amount * days[i.id] for i in invoices), D(0)) / sum((i.amount for i in invoices), D(0))


def in_force_at(limit: CreditLimit, moment: datetime) -> bool:
    return limit.valid_from <= moment and (limit.valid_to is None or limit.valid_to > moment)


def financial_points(st: CustomerFinancials, tests: dict[str, Any]) -> int:
    def threshold(name: str) -> Decimal:
        return D(str(tests[name]["threshold"]))

    points = 0
    current = (st.current_assets / st.current_liabilities).quantize(D("0.01")) if st.current_liabilities > 0 else None
    if current is not None and current >= threshold("current_ratio_min"):
        points += tests["current_ratio_min"]["points"]
    if st.total_assets > 0 and one(st.total_liabilities * 100 / st.total_assets) <= threshold("debt_to_assets_max_pct"):
        points += tests["debt_to_assets_max_pct"]["points"]
    if st.revenue > 0 and one(st.net_income * 100 / st.revenue) >= threshold("net_margin_min_pct"):
        points += tests["net_margin_min_pct"]["points"]
    return points


@dataclass
class Expected:
    values: dict[str, Decimal | None]
    points: dict[str, int]
    score: int
    risk_class: str


def independent_expectations(url: str, as_of: date, today: date) -> dict[int, Expected]:
    policy = raw_policy()
    scoring = policy["scoring"]
    neutral = scoring["neutral_points"]
    minimum = scoring["min_paid_invoices"]
    start, recent = minus_months(as_of, scoring["history_months"]), minus_months(as_of, 3)
    end_of_day = datetime.combine(as_of, time.max, tzinfo=UTC)
    with read_session(url) as s:
        customers = s.scalars(select(Customer)).all()
        invoices = s.scalars(select(Invoice)).all()
        allocations = s.scalars(select(PaymentAllocation)).all()
        disputes = s.scalars(select(Dispute)).all()
        bureau = s.scalars(select(BureauReport)).all()
        statements = s.scalars(select(CustomerFinancials)).all()
        limits = s.scalars(select(CreditLimit)).all()
        orders = s.scalars(select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN)).all()
    by_customer: dict[int, list[Invoice]] = defaultdict(list)
    for inv in invoices:
        by_customer[inv.customer_id].append(inv)
    paid_by_as_of: dict[int, Decimal] = defaultdict(Decimal)
    for alloc in allocations:
        if alloc.applied_date <= as_of:
            paid_by_as_of[alloc.invoice_id] += alloc.amount
    disputed_ids = {d.invoice_id for d in disputes if d.opened_at <= end_of_day}
    expectations = {}
    for c in customers:
        assert all(inv.currency == c.currency for inv in by_customer[c.id]), "demo customers bill in one currency"
        values: dict[str, Decimal | None] = {}
        settled = {i.id: i.settled_date for i in by_customer[c.id] if i.kind == InvoiceKind.INVOICE and i.settled_date}
        paid = [i for i in by_customer[c.id] if i.id in settled and start < settled[i.id] <= as_of]
        amount = sum((i.amount for i in paid), D(0))
        late_days = {i.id: (settled[i.id] - i.due_date).days for i in paid}
        if len(paid) >= minimum and amount > 0:
            values["average_days_late"] = one(sum((i.amount * late_days[i.id] for i in paid), D(0)) / amount)
            values["share_paid_late"] = one(D(sum(1 for i in paid if late_days[i.id] > 5)) * 100 / len(paid))
            recent_paid = [i for i in paid if settled[i.id] > recent]
            earlier = [i for i in paid if settled[i.id] <= recent]
            if recent_paid and earlier:
                values["lateness_trend"] = one(
                    weighted_mean(recent_paid, late_days) - weighted_mean(earlier, late_days)
                )
        issued = [i for i in by_customer[c.id] if i.kind == InvoiceKind.INVOICE and start < i.issue_date <= as_of]
        if len(issued) >= minimum:
            values["dispute_rate"] = one(D(sum(1 for i in issued if i.id in disputed_ids)) * 100 / len(issued))
        open_total = D(0)
        for i in by_customer[c.id]:
            if i.issue_date <= as_of and (i.settled_date is None or i.settled_date > as_of):
                open_total += i.amount - paid_by_as_of[i.id]
        if as_of >= today:
            open_total += sum((o.open_amount for o in orders if o.customer_id == c.id), D(0))
        in_force = [lim for lim in limits if lim.customer_id == c.id and in_force_at(lim, end_of_day)]
        if in_force and in_force[0].amount > 0:
            values["utilisation"] = (open_total * 100 / in_force[0].amount).quantize(D("0.1"))
        reports = sorted(
            (r for r in bureau if r.customer_id == c.id and r.report_date <= as_of), key=lambda r: (r.report_date, r.id)
        )
        if reports and reports[-1].paydex is not None:
            values["bureau_paydex"] = D(reports[-1].paydex)
        filed = sorted(
            (st for st in statements if st.customer_id == c.id and st.period_end <= as_of),
            key=lambda st: (st.period_end, st.id),
        )
        if filed:
            values["financial_strength"] = D(financial_points(filed[-1], scoring["financial_tests"]))
        if c.customer_since is not None:
            values["relationship_years"] = one(D(max(0, (as_of - c.customer_since).days)) / D("365.25"))
        points_by_factor = {}
        for code, factor in scoring["factors"].items():
            value = values.get(code)
            if value is None:
                points_by_factor[code] = neutral
            elif code == "financial_strength":
                points_by_factor[code] = int(value)
            else:
                points_by_factor[code] = band_points(factor["bands"], value)
        total = sum(D(factor["weight"]) * points_by_factor[code] / 100 for code, factor in scoring["factors"].items())
        final = int(total.quantize(D(1), rounding=ROUND_HALF_UP))
        risk_class = next(b["class"] for b in policy["risk_classes"] if final >= b["min_score"])
        expectations[c.id] = Expected(values, points_by_factor, final, risk_class)
    return expectations


_tool_results: dict[tuple[str, date, int], dict[int, Any]] = {}


def tool_results(url: str, today: date, count: int = 150) -> dict[int, Any]:
    """score_customer for the first `count` demo customers, once per database and 'today'."""
    key = (url, today, count)
    if key not in _tool_results:
        with read_session(url) as s:
            ids = list(s.scalars(select(Customer.id).order_by(Customer.id).limit(count)))
        _tool_results[key] = {cid: score(url, cid, today, as_of=DEMO_AS_OF) for cid in ids}
    return _tool_results[key]


# --- policy shape ------------------------------------------------------------------------------------------------


def test_bands_weights_and_classes_are_consistent() -> None:
    policy = load_policy()
    scoring = policy.scoring
    assert sum(f.weight for f in scoring.factors.values()) == 100
    for code, factor in scoring.factors.items():
        if code == "financial_strength":
            assert not factor.bands
            continue
        assert factor.bands, code
        last = factor.bands[-1]
        assert last.max is None and last.min is None, f"{code}: the last band must catch everything"
        assert all(0 <= b.points <= 100 for b in factor.bands)
    assert sum(t.points for t in scoring.financial_tests.values()) == 100
    assert 0 <= scoring.neutral_points <= 100


@pytest.mark.parametrize(
    ("score_value", "expected"),
    [(100, "A"), (80, "A"), (79, "B"), (65, "B"), (64, "C"), (50, "C"), (49, "D"), (35, "D"), (34, "E"), (0, "E")],
)
def test_class_boundaries(score_value: int, expected: str) -> None:
    assert load_policy().risk_class_for(score_value).risk_class == expected


def _inputs(**overrides: Any) -> ScoreInputs:
    base: dict[str, Any] = {
        "customer_id": 1,
        "currency": "USD",
        "customer_since": None,
        "paid": PaidTotals(),
        "issued_invoices": 0,
        "disputed_invoices": 0,
        "utilisation": UtilisationFacts(D(0), None, None),
        "bureau": None,
        "financials": None,
    }
    return ScoreInputs(**(base | overrides))


def test_everything_missing_scores_neutral_points() -> None:
    policy = load_policy()
    card = compute_scorecard(policy, DEMO_AS_OF, _inputs())
    assert all(f.neutral and f.points == policy.scoring.neutral_points for f in card.factors)
    assert card.score == policy.scoring.neutral_points and card.band.risk_class == "C"
    # Points lost: average days late 12.5, bureau 10, share paid late 7.5, then 5s and 2.5s.
    codes = [f.reason_code for f in card.top_reasons()]
    assert codes == ["THIN_PAYMENT_HISTORY", "NO_BUREAU_DATA", "THIN_PAYMENT_HISTORY"]


def test_score_rounds_half_up() -> None:
    """All neutral (50.0) but a two-year relationship (60 points: +0.5) → 50.5 → 51, not banker's 50."""
    card = compute_scorecard(load_policy(), DEMO_AS_OF, _inputs(customer_since=date(2024, 9, 30)))
    assert card.unrounded == D("50.5") and card.score == 51


def test_points_weights_and_contributions() -> None:
    policy = load_policy()
    # Behaviour: 2 days late (85), 0% late (100), trend 0 (80), utilisation 40% (100), disputes 0% (100),
    # PAYDEX 85 (100), no financials (neutral 50), 2 years (60):
    # 25×.85 + 15 + 10×.8 + 10 + 5 + 20 + 10×.5 + 5×.6 = 21.25 + 15 + 8 + 10 + 5 + 20 + 5 + 3 = 87.25.
    paid = PaidTotals(10, 0, D(1000), D(2000), 4, D(400), D(800))
    from db.queries.scoring import BureauRow

    bureau = BureauRow(1, date(2026, 6, 1), "test", 85, None, None, None, "USD")
    card = compute_scorecard(
        policy,
        DEMO_AS_OF,
        _inputs(
            paid=paid,
            issued_invoices=10,
            utilisation=UtilisationFacts(D(400), D(1000), D("40.0")),
            bureau=bureau,
            customer_since=date(2024, 9, 30),
        ),
    )
    assert [f.points for f in card.factors] == [85, 100, 80, 100, 100, 100, 50, 60]
    assert card.unrounded == D("87.25") and card.score == 87 and card.band.risk_class == "A"
    assert [f.code for f in card.top_reasons()] == ["financial_strength", "average_days_late", "lateness_trend"]
    assert sum(f.contribution for f in card.factors) == card.unrounded


# --- the demo portfolio against the independent recomputation -----------------------------------------------------


def test_factors_match_independent_recomputation(demo_db_url: str) -> None:
    expected = independent_expectations(demo_db_url, DEMO_AS_OF, DEMO_AS_OF)
    results = tool_results(demo_db_url, DEMO_AS_OF)
    assert len(results) == len(expected) == 150
    neutral_seen = set()
    for cid, result in results.items():
        want = expected[cid]
        got = {factor.code: factor for factor in result.factors}
        for code, factor in got.items():
            assert factor.value == want.values.get(code), (cid, code)
            assert factor.points == want.points[code], (cid, code)
            assert factor.neutral == (want.values.get(code) is None), (cid, code)
            assert factor.contribution == D(factor.weight) * factor.points / 100
            if factor.neutral:
                neutral_seen.add(code)
        assert result.score == want.score and result.risk_class == want.risk_class, cid
        assert sum(f.weight for f in result.factors) == 100
        assert [r.points_lost for r in result.reason_codes] == sorted(
            (r.points_lost for r in result.reason_codes), reverse=True
        )
    # The demo portfolio exercises missing data too (customers without statements or young relationships).
    assert "financial_strength" in neutral_seen
    assert {r.risk_class for r in results.values()} >= {"A", "B", "C", "D", "E"}


def test_utilisation_is_the_exposure_tools_figure(demo_db_url: str) -> None:
    results = tool_results(demo_db_url, DEMO_AS_OF)
    for cid in list(results)[:20]:
        exposure: Any = call_tool(
            "get_customer_exposure", {"customer": str(cid), "as_of": DEMO_AS_OF}, ctx_for(demo_db_url)
        )
        factor = next(f for f in results[cid].factors if f.code == "utilisation")
        assert factor.value == exposure.figures.utilisation_pct


@pytest.mark.parametrize(
    ("today", "count"), [(DEMO_AS_OF, 150), (date(2026, 11, 22), 50)], ids=["orders-in", "past-as-of"]
)
def test_batch_equals_per_customer(demo_db_url: str, today: date, count: int) -> None:
    """Every customer when 'today' is the as-of date (open orders count); a sample for a past as-of date."""
    results = tool_results(demo_db_url, today, count)
    with read_session(demo_db_url) as s:
        book = score_book(s, DEMO_AS_OF, today)
    assert len(book.cards) == 150 and set(results) <= set(book.cards)
    for cid, single in results.items():
        card = book.cards[cid]
        assert (card.score, card.band.risk_class, card.unrounded) == (
            single.score,
            single.risk_class,
            single.score_unrounded,
        ), cid
        assert [(f.code, f.value, f.points, f.reason) for f in card.factors] == [
            (f.code, f.value, f.points, f.reason) for f in single.factors
        ], cid
        assert book.late.probabilities.get(cid) == single.late_payment.probability, cid


# --- handcrafted ledgers -------------------------------------------------------------------------------------------

AS_OF = date(2026, 6, 30)


def _steady_customer(s: Any, name: str = "Steady Trading") -> Any:
    who = f.customer(s, name, since=date(2021, 3, 1))
    f.credit_limit(s, who, "50000", since=date(2025, 1, 1))
    day = date(2025, 7, 5)
    for month in range(12):
        issued = minus_months(day, -month)
        inv = f.invoice(s, who, "1000", issued=issued)
        paid_on = inv.due_date + timedelta(days=3 if month % 3 else 12)
        if paid_on <= AS_OF:
            f.pay(s, inv, "1000", on=paid_on)
    s.add(BureauReport(customer_id=who.id, agency="test", report_date=date(2026, 3, 1), paydex=72, currency="USD"))
    s.add(
        CustomerFinancials(
            customer_id=who.id,
            period_end=date(2025, 12, 31),
            currency="USD",
            revenue=D("500000"),
            net_income=D("20000"),
            total_assets=D("300000"),
            total_liabilities=D("150000"),
            intangible_assets=D("10000"),
            current_assets=D("120000"),
            current_liabilities=D("60000"),
        )
    )
    s.flush()
    return who


def test_neutral_factors_when_data_is_missing(db_url: str) -> None:
    with write_session(db_url) as s:
        f.customer(s, "Blank Slate")
        thin = f.customer(s, "Thin File", since=date(2026, 1, 1))
        for issued in (date(2026, 3, 1), date(2026, 4, 1)):
            inv = f.invoice(s, thin, "500", issued=issued)
            f.pay(s, inv, "500", on=inv.due_date)
        s.add(BureauReport(customer_id=thin.id, agency="test", report_date=date(2026, 5, 1), paydex=None))
    blank = score(db_url, "blank slate", AS_OF, as_of=AS_OF)
    assert all(factor.neutral for factor in blank.factors)
    assert blank.score == 50 and blank.risk_class == "C"
    reasons = {factor.code: factor.reason for factor in blank.factors}
    assert reasons["bureau_paydex"] == "no bureau report on or before the as-of date"
    assert "no financial statement" in reasons["financial_strength"]
    assert "no credit limit" in reasons["utilisation"]
    assert blank.late_payment.available is False

    thin_score = score(db_url, "thin file", AS_OF, as_of=AS_OF)
    by_code = {factor.code: factor for factor in thin_score.factors}
    for code in ("average_days_late", "share_paid_late", "lateness_trend"):
        assert by_code[code].neutral and "only 2 invoice(s) paid" in by_code[code].reason
    assert by_code["bureau_paydex"].neutral and "has no PAYDEX" in by_code["bureau_paydex"].reason
    assert not by_code["relationship_years"].neutral and by_code["relationship_years"].points == 30
    assert thin_score.window.paid_invoices == 2


def _snapshot(result: Any) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    data.pop("customer")  # today's master data (stored risk class) is not a point-in-time figure
    return data


def test_point_in_time(db_url: str) -> None:
    with write_session(db_url) as s:
        who = _steady_customer(s)
        open_item = s.scalars(
            select(Invoice).where(Invoice.customer_id == who.id, Invoice.settled_dn.is_(None)).order_by(Invoice.id)
        ).first()
        assert open_item is not None
    before = score(db_url, "steady", date(2026, 11, 22), as_of=AS_OF)
    with read_session(db_url) as s:
        book_before = score_book(s, AS_OF, date(2026, 11, 22)).cards
    # Everything below is dated after the as-of date.
    with write_session(db_url) as s:
        who = s.get_one(Customer, who.id)
        late = f.invoice(s, who, "9000", issued=date(2026, 7, 2))
        f.dispute(s, late, opened=date(2026, 7, 10))
        item = s.get_one(Invoice, open_item.id)
        f.pay(s, item, str(item.open_amount), on=date(2026, 9, 30))
        s.add(BureauReport(customer_id=who.id, agency="test", report_date=date(2026, 7, 1), paydex=20))
        s.add(
            CustomerFinancials(
                customer_id=who.id,
                period_end=date(2026, 6, 30) + timedelta(days=1),
                currency="USD",
                revenue=D("1"),
                net_income=D("-100"),
                total_assets=D("10"),
                total_liabilities=D("100"),
                intangible_assets=D("0"),
                current_assets=D("1"),
                current_liabilities=D("100"),
            )
        )
        current = s.scalars(select(CreditLimit).where(CreditLimit.customer_id == who.id)).one()
        current.valid_to = f.at(date(2026, 8, 1), 0)
        f.credit_limit(s, who, "1000", since=date(2026, 8, 1))
        f.order(s, who, "99999", on=date(2026, 10, 1))
    after = score(db_url, "steady", date(2026, 11, 22), as_of=AS_OF)
    assert _snapshot(after) == _snapshot(before)
    with read_session(db_url) as s:
        book_after = score_book(s, AS_OF, date(2026, 11, 22)).cards
    assert {k: (c.score, c.unrounded) for k, c in book_after.items()} == {
        k: (c.score, c.unrounded) for k, c in book_before.items()
    }
    # …while scoring at a later date does see the new data.
    later = score(db_url, "steady", date(2026, 11, 22), as_of=date(2026, 11, 22))
    assert later.score < before.score


def test_compare_to_scores_the_earlier_date_as_a_score_at_that_date_would(demo_db_url: str) -> None:
    """ "How has X's score moved since 30 June?": the comparison is the customer scored at that date, point in time,
    and what moved is each factor's contribution then and now."""
    customers = [1, 2, 6]
    for customer in customers:
        now = score(demo_db_url, customer, compare_to=date(2026, 6, 30))
        then = score(demo_db_url, customer, as_of=date(2026, 6, 30))
        compared = now.compared
        assert compared is not None
        assert (compared.score, compared.risk_class) == (then.score, then.risk_class)
        assert compared.change_points == now.score - then.score
        assert compared.class_changed == (now.risk_class != then.risk_class)
        then_by_code = {factor.code: factor.contribution for factor in then.factors}
        moved = {m.code: (m.contribution_then, m.contribution_now) for m in compared.moves}
        for factor in now.factors:
            if factor.contribution != then_by_code[factor.code]:
                assert moved[factor.code] == (then_by_code[factor.code], factor.contribution)
            else:
                assert factor.code not in moved
    assert score(demo_db_url, 1).compared is None


def test_compare_to_must_be_before_the_as_of_date(demo_db_url: str) -> None:
    for bad in ({"as_of": "2026-06-30", "compare_to": "2026-06-30"}, {"compare_to": "2026-12-01"}):
        with pytest.raises(CreditDeskError) as raised:
            score(demo_db_url, 1, **bad)
        assert raised.value.code == ErrorCode.INVALID_INPUT


def test_refresh_writes_history_and_customer_columns(db_url: str) -> None:
    with write_session(db_url) as s:
        _steady_customer(s, "Steady Trading")
        _steady_customer(s, "Second Steady")
        f.customer(s, "Blank Slate")
    today = date(2026, 11, 22)
    first = refresh_scores(db_url, date(2026, 5, 31), today=today)
    second = refresh_scores(db_url, AS_OF, today=today)
    assert first.customers_scored == second.customers_scored == 3
    assert first.history_rows_written == second.history_rows_written == 3
    assert second.customers_updated == 3
    assert sum(second.risk_classes.values()) == 3
    with read_session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(CreditScore)) == 6
        rows = {c.name: c for c in s.scalars(select(Customer))}
        stored = {r.customer_id: r for r in s.scalars(select(CreditScore).where(CreditScore.as_of == AS_OF))}
    for customer in rows.values():
        row = stored[customer.id]
        assert (customer.risk_score, customer.risk_class) == (row.score, row.risk_class)
        assert customer.scored_at == row.scored_at == second.scored_at
        assert set(row.factors["factors"]) == set(load_policy().scoring.factors)
        single = score(db_url, customer.name, today, as_of=AS_OF)
        assert (single.score, single.risk_class) == (row.score, row.risk_class)
    # A back-dated run adds history but leaves the newer result on the customer.
    backfill = refresh_scores(db_url, date(2026, 4, 30), today=today)
    assert backfill.history_rows_written == 3 and backfill.customers_updated == 0
    with read_session(db_url) as s:
        assert {c.scored_at for c in s.scalars(select(Customer))} == {second.scored_at}
    trend = score(db_url, "steady trading", today, as_of=AS_OF)
    assert [point.as_of for point in trend.history] == [AS_OF, date(2026, 5, 31), date(2026, 4, 30)]
    assert trend.trend.previous_as_of == date(2026, 5, 31)
    assert trend.trend.change_points == trend.score - trend.history[1].score


def test_roles_and_visibility(db_url: str) -> None:
    with write_session(db_url) as s:
        casey = f.staff(s, "casey", Role.COLLECTOR)
        f.staff(s, "sam", Role.SALES)
        f.customer(s, "Casey Book", collector=casey)
        f.customer(s, "Someone Else")
        casey_actor = Actor.from_user(casey)
    own: Any = call_tool("score_customer", {"customer": "casey book"}, ctx_for(db_url, AS_OF, casey_actor))
    assert own.customer.name == "Casey Book"
    with pytest.raises(CreditDeskError) as error:
        call_tool("score_customer", {"customer": "someone else"}, ctx_for(db_url, AS_OF, casey_actor))
    assert error.value.code == ErrorCode.NOT_FOUND  # outside the book reads as not found
    sales = Actor(id=99, name="sam", role=Role.SALES)
    with pytest.raises(CreditDeskError) as error:
        call_tool("score_customer", {"customer": "casey book"}, ctx_for(db_url, AS_OF, sales))
    assert error.value.code == ErrorCode.FORBIDDEN


def test_cli_refresh(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from core.settings import reset_settings
    from integrations.cli import score_commands

    with write_session(db_url) as s:
        _steady_customer(s)
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", db_url)
    reset_settings()
    try:
        app = typer.Typer()
        score_commands.register(app)
        result = CliRunner().invoke(app, ["scores", "refresh", "--as-of", AS_OF.isoformat()])
    finally:
        monkeypatch.delenv("CREDITDESK_DATABASE_URL")
        reset_settings()
    assert result.exit_code == 0, result.output
    assert "1 customers scored" in result.output
    with read_session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(CreditScore)) == 1
