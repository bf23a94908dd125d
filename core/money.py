"""Money is `Decimal`, quantised to the cent, in an ISO 4217 currency. Never float. Parsing lives in `core.amounts`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, ValidatorFunctionWrapHandler, WrapValidator

from core.errors import CreditDeskError, invalid_input

if TYPE_CHECKING:
    from core.amounts import NumberFormat

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


def parse_money(
    value: Any,
    *,
    field: str = "amount",
    allow_negative: bool = False,
    number_format: NumberFormat | None = None,
    currency: str | None = None,
    shorthand: bool = True,
) -> Decimal:
    """An exact amount from user or file input (`core.amounts.parse_amount`), quantised to the currency's minor unit
    (cents when the currency is not known); anything malformed is a `CreditDeskError(INVALID_INPUT)`."""
    from core.amounts import parse_amount

    return parse_amount(
        value,
        field=field,
        allow_negative=allow_negative,
        number_format=number_format,
        currency=currency,
        shorthand=shorthand,
    ).amount


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def validate_currency(code: Any, *, field: str = "currency") -> str:
    if not isinstance(code, str) or code.strip().upper() not in ISO_4217:
        raise invalid_input(f"{field} {code!r} is not an ISO 4217 currency code", field=field)
    return code.strip().upper()


def format_money(amount: Decimal, currency: str | None = None) -> str:
    text = f"{quantize(amount):,.2f}"
    return f"{currency} {text}" if currency else text


def _json_number(value: Any) -> Any:
    """A whole JSON number (27000.0, as language models send) is exact; any other float is refused by the parser."""
    if isinstance(value, float) and value.is_integer() and abs(value) < float(MAX_AMOUNT):
        return int(value)
    return value


# Pydantic turns ValueError into a ValidationError; our own error type would escape it. The wrap keeps the
# currency the text named on the value (`core.amounts.StatedAmount`) for the tool that learns the real currency later.
def _money_validator(allow_negative: bool) -> WrapValidator:
    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Decimal:
        from core.amounts import parse_amount, stated

        raw = _json_number(value)
        try:
            parsed = parse_amount(raw, allow_negative=allow_negative)
        except CreditDeskError as error:
            raise ValueError(error.message) from None
        return stated(parsed.__class__(handler(parsed.amount), parsed.currency, parsed.stated), str(raw).strip())

    return WrapValidator(validate)


def _to_currency(value: Any) -> str:
    try:
        return validate_currency(value)
    except CreditDeskError as error:
        raise ValueError(error.message) from None


def _to_percentage(value: Any) -> Decimal:
    """A share such as 90, "90", "90%" or "87.5 %", read by the one amount parser (no `k`/`m` shorthand, no
    currency, no exponent); a fractional float is refused as amounts are."""
    from core.amounts import parse_amount

    raw = _json_number(value)
    if isinstance(raw, str):
        raw = raw.strip().removesuffix("%").strip()
    try:
        return parse_amount(raw, field="percentage", shorthand=False).amount
    except CreditDeskError as error:
        raise ValueError(error.message) from None


MoneyField = Annotated[Decimal, _money_validator(True), PlainSerializer(lambda d: str(d), return_type=str)]
PositiveMoneyField = Annotated[Decimal, _money_validator(False), PlainSerializer(lambda d: str(d), return_type=str)]
CurrencyField = Annotated[str, BeforeValidator(_to_currency)]
PercentageField = Annotated[
    Decimal, BeforeValidator(_to_percentage), PlainSerializer(lambda d: f"{d.normalize():f}", return_type=str)
]
