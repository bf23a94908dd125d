"""Bad input never changes money: a currency written in an amount must agree with the customer's or the row's,
amounts respect the currency's minor unit (JPY has none), and approval dates are business dates in the configured
time zone. Database cases run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from typer.testing import CliRunner

from core.amounts import amount_in, parse_amount, stated_currency
from core.errors import CreditDeskError, ErrorCode
from core.money import MoneyField, PositiveMoneyField
from core.settings import get_settings, reset_settings
from db.engine import read_session, write_session
from db.models import CreditLimit, Invoice, Payment, PromiseToPay, Proposal, Role
from integrations.cli import app
from integrations.importers import import_file
from tests.support import clock
from tests.support import factories as f
from tests.support.read_tools import call as call_on
from tests.test_importer import counts_of, errors_by_line, rejection, write_csv
from tools.actions.definitions import CreditLimitChangeInput, PromiseToPayInput
from tools.actions.proposals import decide_proposal
from tools.context import Actor, ToolContext
from tools.registry import call_tool

D = Decimal


class Amounts(BaseModel):
    positive: PositiveMoneyField
    signed: MoneyField | None = None


# --- the parser keeps the currency it read --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency"),
    [("3000 USD", "USD"), ("$3000", "USD"), ("EUR 100", "EUR"), ("€12.50", "EUR"), ("1.2m GBP", "GBP")],
)
def test_money_fields_keep_the_currency_the_text_names(text: str, currency: str) -> None:
    value = Amounts(positive=text, signed=f"-{text}").positive
    assert stated_currency(value) == currency
    with pytest.raises(CreditDeskError) as caught:
        amount_in(value, "AUD", field="amount", whose="Kookaburra")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert currency in caught.value.message and "AUD" in caught.value.message and text in caught.value.message
    assert amount_in(value, currency) == value


def test_a_plain_number_names_no_currency_and_fits_any() -> None:
    value = Amounts(positive="3000").positive
    assert stated_currency(value) is None and amount_in(value, "JPY") == D(3000)


@pytest.mark.parametrize("text", ["1000.5", "1000.50", "999.01"])
def test_zero_decimal_currencies_refuse_decimals(text: str) -> None:
    with pytest.raises(CreditDeskError, match="more decimals than JPY has"):
        amount_in(Amounts(positive=text).positive, "JPY")
    with pytest.raises(ValidationError, match="more decimals than JPY has"):  # the text names JPY: refused at once
        Amounts(positive=f"JPY {text}")


def test_whole_json_floats_are_accepted_and_fractional_ones_refused() -> None:
    assert Amounts(positive=1e4).positive == D(10000)
    assert Amounts(positive=10000.0).positive == D(10000)
    with pytest.raises(ValidationError, match="floating-point"):
        Amounts(positive=0.5)
    with pytest.raises(CreditDeskError, match="floating-point"):
        parse_amount(10000.0)  # the parser itself never takes a float; the money fields convert whole ones


@pytest.mark.parametrize("text", ["1.000", "50.000 EUR", "1.250.000"])
def test_a_dot_grouped_thousand_gets_a_locale_hint(text: str) -> None:
    with pytest.raises(CreditDeskError) as caught:
        parse_amount(text)
    assert "'.' separates thousands" in caught.value.message and "de_DE" in caught.value.message


@pytest.mark.parametrize("value", ["20261210", 20261210, "10.12.2026", "2026-12-10T00:00", "next friday"])
def test_dates_must_be_written_yyyy_mm_dd(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        PromiseToPayInput(customer="x", amount="10", promised_date=value)
    assert "use YYYY-MM-DD" in str(caught.value) and "zero time" not in str(caught.value)
    with pytest.raises(ValidationError, match="not a real calendar date"):
        CreditLimitChangeInput(customer="x", new_limit="10", reason="test", review_date="2026-02-30")
    assert PromiseToPayInput(customer="x", amount="10", promised_date="2026-12-10").promised_date == date(2026, 12, 10)
    assert CreditLimitChangeInput(customer="x", new_limit="10", reason="test").review_date is None


# --- tools: promises, limits, release checks ------------------------------------------------------------------------


@dataclass
class Desk:
    url: str
    eur: str = "Southlight Foods KG"
    aud: str = "Kookaburra Pty"
    jpy: str = "Sakura Trading KK"
    usd: str = "Plainfield Supply"


def _seed_desk(url: str, today: date) -> Desk:
    with write_session(url) as s:
        cara = f.staff(s, "cara", Role.COLLECTOR)
        f.staff(s, "avery", Role.CREDIT_ANALYST)
        f.staff(s, "morgan", Role.CREDIT_MANAGER)
        for currency, rate in (("EUR", "1.10"), ("AUD", "0.65"), ("JPY", "0.0067")):
            f.fx_rate(s, currency, "USD", rate, today - timedelta(days=1))
        for name, currency, limit, open_amount in (
            ("Southlight Foods KG", "EUR", "40000", "10000"),
            ("Kookaburra Pty", "AUD", "40000", "10000"),
            ("Sakura Trading KK", "JPY", "5000000", "800000"),
            ("Plainfield Supply", "USD", "40000", "10000"),
        ):
            who = f.customer(s, name, currency=currency, collector=cara, risk_class="B", since=date(2020, 1, 1))
            f.credit_limit(s, who, limit, since=today - timedelta(days=300), review=today + timedelta(days=200))
            f.invoice(s, who, open_amount, issued=today - timedelta(days=10))
            f.order(s, who, "1000", on=today - timedelta(days=1), hold=True)
    return Desk(url)


@pytest.fixture
def desk(db_url: str) -> Desk:
    return _seed_desk(db_url, clock.today())


def call(url: str, name: str, who: str, **arguments: Any) -> Any:
    return call_on(url, name, who, today=clock.today(), **arguments)


def refused(url: str, name: str, who: str, **arguments: Any) -> CreditDeskError:
    with pytest.raises(CreditDeskError) as caught:
        call(url, name, who, **arguments)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    return caught.value


def nothing_written(url: str) -> bool:
    with read_session(url) as s:
        return not s.scalar(select(func.count()).select_from(Proposal)) and not s.scalar(
            select(func.count()).select_from(PromiseToPay)
        )


def limits_of(url: str) -> list[str]:
    with read_session(url) as s:
        return [p.payload["new_limit"] for p in s.scalars(select(Proposal).order_by(Proposal.id))]


@pytest.mark.parametrize(
    ("customer", "amount", "named", "kept_in"),
    [
        ("eur", "3000 USD", "USD", "EUR"),
        ("eur", "USD 3,000", "USD", "EUR"),
        ("aud", "$3000", "USD", "AUD"),
        ("usd", "€3000", "EUR", "USD"),
        ("jpy", "3000 EUR", "EUR", "JPY"),
    ],
)
def test_a_promise_in_another_currency_is_refused(
    desk: Desk, customer: str, amount: str, named: str, kept_in: str
) -> None:
    promised = (clock.today() + timedelta(days=5)).isoformat()
    error = refused(
        desk.url, "log_promise_to_pay", "cara", customer=getattr(desk, customer), amount=amount, promised_date=promised
    )
    assert named in error.message and kept_in in error.message
    assert nothing_written(desk.url)


def test_a_promise_in_the_customers_own_currency_still_executes(desk: Desk) -> None:
    promised = (clock.today() + timedelta(days=5)).isoformat()
    result = call(desk.url, "log_promise_to_pay", "cara", customer=desk.eur, amount="3000 EUR", promised_date=promised)
    assert result.status == "approved"
    with read_session(desk.url) as s:
        promise = s.scalars(select(PromiseToPay)).one()
    assert (promise.amount, promise.currency) == (D("3000.00"), "EUR")


def test_a_yen_promise_with_decimals_is_refused_and_a_whole_one_kept(desk: Desk) -> None:
    promised = (clock.today() + timedelta(days=5)).isoformat()
    for amount in ("1000.5", "1000.05", "¥1000.5"):
        error = refused(
            desk.url, "log_promise_to_pay", "cara", customer=desk.jpy, amount=amount, promised_date=promised
        )
        assert "JPY" in error.message and "decimals" in error.message
    assert nothing_written(desk.url)
    result = call(desk.url, "log_promise_to_pay", "avery", customer=desk.jpy, amount="1000", promised_date=promised)
    assert result.status == "pending"


@pytest.mark.parametrize(
    "arguments",
    [{"new_limit": "50,000 USD"}, {"new_limit": "$50,000"}, {"change_by": "5000 USD"}, {"change_by": "-USD 5000"}],
)
def test_a_limit_in_another_currency_is_refused(desk: Desk, arguments: dict[str, str]) -> None:
    error = refused(desk.url, "propose_credit_limit_change", "avery", customer=desk.eur, reason="test", **arguments)
    assert "USD" in error.message and "EUR" in error.message
    assert nothing_written(desk.url)
    call(desk.url, "propose_credit_limit_change", "avery", customer=desk.eur, reason="test", new_limit="50,000 EUR")
    assert limits_of(desk.url) == ["50000.00"]


@pytest.mark.parametrize("arguments", [{"new_limit": "6000000.5"}, {"change_by": "1000.25"}])
def test_a_yen_limit_with_decimals_is_refused(desk: Desk, arguments: dict[str, str]) -> None:
    error = refused(desk.url, "propose_credit_limit_change", "avery", customer=desk.jpy, reason="test", **arguments)
    assert "more decimals than JPY has (0)" in error.message
    assert nothing_written(desk.url)


def test_a_zero_limit_says_a_limit_must_be_positive(desk: Desk) -> None:
    error = refused(desk.url, "propose_credit_limit_change", "avery", customer=desk.eur, reason="test", new_limit="0")
    assert "must be positive" in error.message and "None" not in error.message
    error = refused(
        desk.url, "propose_credit_limit_change", "avery", customer=desk.eur, reason="test", change_by="-40000"
    )
    assert "zero or below" in error.message and "must be positive" in error.message
    assert nothing_written(desk.url)


def test_the_release_check_reads_amounts_in_their_currency(desk: Desk) -> None:
    error = refused(desk.url, "check_order_release", "avery", customer=desk.jpy, order_amount="1000.5")
    assert "more decimals than JPY has" in error.message
    error = refused(desk.url, "check_order_release", "avery", customer=desk.eur, order_amount="500 USD", currency="EUR")
    assert "USD" in error.message and "EUR" in error.message
    plain = call(desk.url, "check_order_release", "avery", customer=desk.eur, order_amount="550")
    in_dollars = call(desk.url, "check_order_release", "avery", customer=desk.eur, order_amount="605 USD")
    assert plain.order_amount == D("550.00") and in_dollars.order_amount == D("550.00")  # 605 USD at 1.10 EUR


def test_approval_refuses_an_amount_the_customers_currency_no_longer_allows(desk: Desk) -> None:
    promised = (clock.today() + timedelta(days=5)).isoformat()
    pending = call(desk.url, "log_promise_to_pay", "avery", customer=desk.usd, amount="100.50", promised_date=promised)
    assert pending.status == "pending"
    with write_session(desk.url) as s:
        s.execute(Proposal.__table__.update().where(Proposal.id == pending.id).values(customer_id=_id_of(s, desk.jpy)))
    with pytest.raises(CreditDeskError) as caught:
        decide_proposal(desk.url, pending.id, _actor(desk.url, "avery"), "approve", via="test")
    assert caught.value.code is ErrorCode.STALE and "JPY" in caught.value.message
    with read_session(desk.url) as s:
        assert s.scalar(select(func.count()).select_from(PromiseToPay)) == 0


def _id_of(session: Any, name: str) -> int:
    from db.models import Customer

    return int(session.scalars(select(Customer.id).where(Customer.name == name)).one())


def _actor(url: str, name: str) -> Actor:
    from tests.support.read_tools import actor

    return actor(url, name)


# --- approval dates are business dates in the configured time zone --------------------------------------------------


@pytest.fixture
def los_angeles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CREDITDESK_TIMEZONE", "America/Los_Angeles")
    reset_settings()
    yield
    monkeypatch.delenv("CREDITDESK_TIMEZONE")
    reset_settings()


def test_a_promise_due_today_in_the_business_zone_is_approved_after_utc_midnight(
    db_url: str, los_angeles: None
) -> None:
    # 03:00 UTC on 21 Nov is still 20 Nov (19:00) in Los Angeles: a promise for 20 Nov has not passed.
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    local_today = date(2026, 11, 20)
    assert get_settings().timezone == "America/Los_Angeles"
    with time_machine.travel(now, tick=False):
        desk = _seed_desk(db_url, local_today)
        ctx = ToolContext(actor=_actor(db_url, "avery"), database_url=db_url)
        assert ctx.today == local_today
        arguments = {"customer": desk.eur, "amount": "2000", "promised_date": local_today.isoformat()}
        pending = call_tool("log_promise_to_pay", arguments, ctx)
        assert pending.status == "pending"
        outcome = decide_proposal(db_url, pending.id, _actor(db_url, "avery"), "approve", via="test")
        assert outcome.executed
        limit = call_tool(
            "propose_credit_limit_change",
            {"customer": desk.eur, "change_by": "1000", "reason": "test"},
            ToolContext(actor=_actor(db_url, "avery"), database_url=db_url),
        )
        assert decide_proposal(db_url, limit.id, _actor(db_url, "morgan"), "approve", via="test").executed
    with read_session(db_url) as s:
        promise = s.scalars(select(PromiseToPay)).one()
        current = s.scalars(
            select(CreditLimit).where(CreditLimit.valid_to.is_(None), CreditLimit.amount == 41000)
        ).one()
    assert promise.promised_date == local_today
    assert current.review_date is not None and current.review_date.day == local_today.day  # months from 20 Nov


def test_a_promise_for_yesterday_in_the_business_zone_is_refused_at_approval(db_url: str, los_angeles: None) -> None:
    # Proposed at 23:00 LA time on 20 Nov for 20 Nov; decided at 09:00 UTC on 21 Nov = 01:00 on 21 Nov in LA.
    with time_machine.travel(datetime(2026, 11, 21, 7, 0, tzinfo=UTC), tick=False):
        desk = _seed_desk(db_url, date(2026, 11, 20))
        ctx = ToolContext(actor=_actor(db_url, "avery"), database_url=db_url)
        pending = call_tool(
            "log_promise_to_pay", {"customer": desk.eur, "amount": "2000", "promised_date": "2026-11-20"}, ctx
        )
    with (
        time_machine.travel(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), tick=False),
        pytest.raises(CreditDeskError, match="has passed"),
    ):
        decide_proposal(db_url, pending.id, _actor(db_url, "avery"), "approve", via="test")


# --- imports ----------------------------------------------------------------------------------------------------


CUSTOMERS = [
    ["customer_id", "name", "currency", "country", "payment_terms_days"],
    ["C-1", "Acme Corporation", "EUR", "de", "45"],
    ["C-2", "Globex Ltd", "USD", "", ""],
    ["C-3", "Sakura Trading KK", "JPY", "jp", "30"],
    ["C-4", "Initech Inc", "USD", "us", "30"],
]
INVOICE_HEADER = ["invoice_number", "customer_id", "document_type", "invoice_date", "due_date", "amount", "currency"]


@pytest.fixture
def imported(db_url: str, tmp_path: Path) -> str:
    report = import_file(write_csv(tmp_path / "customers.csv", CUSTOMERS), "customers", url=db_url)
    assert counts_of(report) == {"customers": (4, 0, 0)}
    return db_url


def _reasons(error: CreditDeskError) -> dict[int, list[tuple[str | None, str]]]:
    return {line: [(i["column"], i["reason"]) for i in items] for line, items in errors_by_line(error).items()}


def test_invoice_cells_in_another_currency_or_with_yen_decimals_are_bad_rows(imported: str, tmp_path: Path) -> None:
    rows = [
        INVOICE_HEADER,
        ["OK-1", "C-2", "INV", "2024-01-10", "2024-02-09", "USD 100", "USD"],
        ["BAD-1", "C-2", "INV", "2024-01-10", "2024-02-09", "EUR 100", "USD"],
        ["BAD-2", "C-1", "INV", "2024-01-10", "2024-02-09", "$250.00", "EUR"],
        ["BAD-3", "C-3", "INV", "2024-01-10", "2024-02-09", "1000.5", "JPY"],
        ["OK-2", "C-3", "INV", "2024-01-10", "2024-02-09", "¥1,000", "JPY"],
    ]
    path = write_csv(tmp_path / "invoices.csv", rows)
    error = rejection(lambda: import_file(path, "invoices", url=imported))
    reasons = _reasons(error)
    assert sorted(reasons) == [3, 4, 5]
    assert reasons[3][0][0] == "amount" and "EUR" in reasons[3][0][1] and "USD" in reasons[3][0][1]
    assert "USD" in reasons[4][0][1] and "EUR" in reasons[4][0][1]
    assert "more decimals than JPY has (0)" in reasons[5][0][1]
    with read_session(imported) as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 0
    report = import_file(path, "invoices", url=imported, skip_bad_rows=True)
    assert counts_of(report)["invoices"] == (2, 0, 0)
    with read_session(imported) as s:
        stored = {i.number: (i.amount, i.currency) for i in s.scalars(select(Invoice))}
    assert stored == {"OK-1": (D("100.00"), "USD"), "OK-2": (D("1000.00"), "JPY")}


def test_payment_cells_in_another_currency_are_bad_rows(imported: str, tmp_path: Path) -> None:
    header = ["payment_reference", "customer_id", "received_date", "amount", "currency", "invoice_number",
              "applied_amount", "method"]  # fmt: skip
    rows = [header, ["BANK-1", "C-2", "2024-02-11", "EUR 700.00", "USD", "", "", "wire"]]
    error = rejection(lambda: import_file(write_csv(tmp_path / "p.csv", rows), "payments", url=imported))
    (reason,) = _reasons(error)[2]
    assert reason[0] == "amount" and "EUR" in reason[1] and "USD" in reason[1]
    with read_session(imported) as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0


def test_credit_limits_must_be_in_the_customers_currency(imported: str, tmp_path: Path) -> None:
    header = ["customer_id", "credit_limit", "currency", "valid_from"]
    rows = [
        header,
        ["C-1", "50,000", "USD", "2024-01-01"],  # the customer is kept in EUR
        ["C-4", "EUR 50,000", "USD", "2024-01-01"],  # the cell contradicts the row
        ["C-3", "5000000.5", "JPY", "2024-01-01"],  # yen have no decimals
        ["C-2", "USD 60,000", "USD", "2024-01-01"],
    ]
    path = write_csv(tmp_path / "limits.csv", rows)
    error = rejection(lambda: import_file(path, "credit-limits", url=imported))
    reasons = _reasons(error)
    assert sorted(reasons) == [2, 3, 4]
    assert "EUR" in reasons[2][0][1] and "USD" in reasons[2][0][1]
    assert "EUR" in reasons[3][0][1] and "USD" in reasons[3][0][1]
    assert "JPY" in reasons[4][0][1]
    report = import_file(path, "credit-limits", url=imported, skip_bad_rows=True)
    assert counts_of(report) == {"credit_limits": (1, 0, 0)}
    with read_session(imported) as s:
        assert [(c.amount, c.currency) for c in s.scalars(select(CreditLimit))] == [(D("60000.00"), "USD")]


def test_the_import_command_prints_the_detected_format(imported: str, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", "sqlite:///unused-by-this-test.db")
    monkeypatch.setenv("COLUMNS", "200")
    rows = [INVOICE_HEADER, ["DE-1", "C-1", "INV", "2024-01-10", "2024-02-09", "1.250,50", "EUR"]]
    path = write_csv(tmp_path / "german.csv", rows)
    report = import_file(path, "invoices", url=imported, dry_run=True)
    assert report.notes
    result = CliRunner().invoke(app, ["--db", imported, "import", str(path), "--mapping", "invoices", "--dry-run"])
    assert result.exit_code == 0, result.output
    for note in report.notes:
        assert note in result.output.replace("\n", " ")
    reset_settings()
