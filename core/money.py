"""Money is `Decimal`, quantised to the cent, in an ISO 4217 currency. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from core.errors import CreditDeskError, invalid_input

CENT = Decimal("0.01")
# Larger than any credit limit or invoice a B2B desk will see; anything above is a typo or an attack.
MAX_AMOUNT = Decimal("1000000000000")

# Active ISO 4217 codes (2024 list; funds and precious-metal codes left out on purpose).
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWL",
    ]
)


def parse_money(value: Any, *, field: str = "amount", allow_negative: bool = False) -> Decimal:
    """Parse user or file input into a cent-exact Decimal, refusing floats' surprises, NaN and absurd sizes."""
    if isinstance(value, bool) or value is None:
        raise invalid_input(f"{field} is required and must be a number", field=field)
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("_", "")
        if value.startswith("(") and value.endswith(")"):
            value = "-" + value[1:-1]
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise invalid_input(f"{field} {value!r} is not a valid amount", field=field) from None
    if not amount.is_finite():
        raise invalid_input(f"{field} must be a finite number", field=field)
    if amount != quantize(amount):
        raise invalid_input(f"{field} {value} has more than two decimal places", field=field)
    amount = quantize(amount)
    if amount < 0 and not allow_negative:
        raise invalid_input(f"{field} must not be negative (got {amount})", field=field)
    if abs(amount) >= MAX_AMOUNT:
        raise invalid_input(f"{field} {amount} is implausibly large", field=field)
    return amount


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def validate_currency(code: Any, *, field: str = "currency") -> str:
    if not isinstance(code, str) or code.strip().upper() not in ISO_4217:
        raise invalid_input(f"{field} {code!r} is not an ISO 4217 currency code", field=field)
    return code.strip().upper()


def format_money(amount: Decimal, currency: str | None = None) -> str:
    text = f"{quantize(amount):,.2f}"
    return f"{currency} {text}" if currency else text


# Pydantic turns ValueError into a ValidationError; our own error type would escape it.
def _to_money(value: Any) -> Decimal:
    try:
        return parse_money(value, allow_negative=True)
    except CreditDeskError as error:
        raise ValueError(error.message) from None


def _to_positive_money(value: Any) -> Decimal:
    try:
        return parse_money(value)
    except CreditDeskError as error:
        raise ValueError(error.message) from None


def _to_currency(value: Any) -> str:
    try:
        return validate_currency(value)
    except CreditDeskError as error:
        raise ValueError(error.message) from None


MoneyField = Annotated[Decimal, BeforeValidator(_to_money), PlainSerializer(lambda d: str(d), return_type=str)]
PositiveMoneyField = Annotated[
    Decimal, BeforeValidator(_to_positive_money), PlainSerializer(lambda d: str(d), return_type=str)
]
CurrencyField = Annotated[str, BeforeValidator(_to_currency)]
