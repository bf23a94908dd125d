from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from core import dates
from core.errors import CreditDeskError, ErrorCode
from core.money import (
    CurrencyField,
    MoneyField,
    PositiveMoneyField,
    format_money,
    parse_money,
    validate_currency,
)
from core.settings import Settings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("78.0", Decimal("78.00")),
        (12, Decimal("12.00")),
        (" 5 ", Decimal("5.00")),
        ("40k", Decimal("40000.00")),
        ("USD 40,000", Decimal("40000.00")),
    ],
)
def test_parse_money_accepts_common_spellings(raw: object, expected: Decimal) -> None:
    assert parse_money(raw) == expected
    assert parse_money(raw).as_tuple().exponent == -2


@pytest.mark.parametrize(
    "raw", ["-5", "abc", "", "NaN", "Infinity", "1e15", "12.345", "12.3400", None, True, 0.1, 1e6, float("nan")]
)
def test_parse_money_refuses_bad_amounts(raw: object) -> None:
    with pytest.raises(CreditDeskError) as info:
        parse_money(raw)
    assert info.value.code is ErrorCode.INVALID_INPUT


def test_parse_money_negative_only_when_allowed() -> None:
    assert parse_money("(40.00)", allow_negative=True) == Decimal("-40.00")
    with pytest.raises(CreditDeskError, match="negative"):
        parse_money("-40")


def test_currency_codes_are_iso_4217() -> None:
    assert validate_currency(" eur ") == "EUR"
    for bad in ("EURO", "XYZ", "", 978, None):
        with pytest.raises(CreditDeskError):
            validate_currency(bad)


def test_money_fields_in_models() -> None:
    class Limit(BaseModel):
        amount: PositiveMoneyField
        delta: MoneyField
        currency: CurrencyField

    limit = Limit(amount="150000", delta="-2.5", currency="gbp")
    assert limit.amount == Decimal("150000.00") and limit.delta == Decimal("-2.50") and limit.currency == "GBP"
    assert limit.model_dump(mode="json") == {"amount": "150000.00", "delta": "-2.50", "currency": "GBP"}
    with pytest.raises(ValidationError):
        Limit(amount="-1", delta="0", currency="USD")
    with pytest.raises(ValidationError):
        Limit(amount="1", delta="0", currency="US$")


def test_format_money() -> None:
    assert format_money(Decimal("1234567.5"), "USD") == "USD 1,234,567.50"


def test_day_numbers_round_trip() -> None:
    assert dates.day_number(date(1970, 1, 1)) == 0
    assert dates.day_number(date(2026, 11, 22)) - dates.day_number(date(2026, 10, 23)) == 30
    for day in (date(1999, 12, 31), date(2024, 2, 29), date(2026, 11, 22)):
        assert dates.from_day_number(dates.day_number(day)) == day


def test_calendar_helpers() -> None:
    assert dates.quarter_end(2026, 2) == date(2026, 6, 30)
    assert dates.quarter_start(2026, 4) == date(2026, 10, 1)
    assert dates.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert dates.add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
    assert dates.month_end(date(2024, 2, 3)) == date(2024, 2, 29)
    assert dates.quarter_of(date(2026, 11, 22)) == 4


def test_ensure_aware_normalises_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert dates.ensure_aware(datetime(2026, 1, 1, 12, tzinfo=plus_two)) == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert dates.ensure_aware(datetime(2026, 1, 1, 12)).tzinfo is UTC


def test_settings_defaults_and_standard_names(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CREDITDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("CREDITDESK_REPORTING_CURRENCY", "eur")
    settings = Settings(_env_file=None)
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'creditdesk.db').resolve()}"
    assert settings.reporting_currency == "EUR"
    assert settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value() == "xoxb-test"
    assert "sk-test" not in repr(settings)
    assert settings.chroma_path == tmp_path / "chroma"
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", "postgresql://u@h/db")
    assert Settings(_env_file=None).resolved_database_url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("mysql://root@127.0.0.1/test", ErrorCode.NOT_CONFIGURED),
        ("oracle://scott@db/orcl", ErrorCode.NOT_CONFIGURED),
        ("not a database url", ErrorCode.NOT_CONFIGURED),
    ],
)
def test_only_sqlite_and_postgresql_urls_are_accepted(url: str, code: ErrorCode) -> None:
    from db.engine import get_engine, normalise_url

    with pytest.raises(CreditDeskError) as raised:
        get_engine(url)
    assert raised.value.code is code
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
