"""Currency conversion into the reporting currency, with the rates used recorded for the answer."""

from __future__ import annotations

import threading
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode
from core.money import quantize
from db.queries.fx import fx_table_fingerprint, latest_rates_on

PIVOT = "USD"
RATE_PLACES = Decimal("0.00000001")


_rate_cache: dict[tuple[str, date], tuple[tuple[int, int], dict[tuple[str, str], tuple[Decimal, date]]]] = {}
_rate_cache_lock = threading.Lock()
_RATE_CACHE_SIZE = 512


def _cached_rates(session: Session, on: date) -> dict[tuple[str, str], tuple[Decimal, date]]:
    """Rates per (database, date), reused while the rate table is unchanged."""
    key = (str(session.get_bind().engine.url), on)
    fingerprint = fx_table_fingerprint(session)
    with _rate_cache_lock:
        cached = _rate_cache.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
    rates = latest_rates_on(session, on)
    with _rate_cache_lock:
        if len(_rate_cache) >= _RATE_CACHE_SIZE:
            _rate_cache.clear()
        _rate_cache[key] = (fingerprint, rates)
    return rates


class FxRateUsed(BaseModel):
    from_currency: str
    to_currency: str
    rate: Decimal
    rate_date: date | None
    how: str  # "identity", "direct", "inverse" or "via USD"


class FxConverter:
    """Converts into one target currency at the latest rates on or before `on` (loaded once per instance)."""

    def __init__(self, session: Session, to_currency: str, on: date) -> None:
        self.to_currency = to_currency
        self.on = on
        self._rates = _cached_rates(session, on)
        self._used: dict[str, FxRateUsed] = {}

    def _pair(self, source: str, target: str) -> tuple[Decimal, date] | None:
        direct = self._rates.get((source, target))
        if direct is not None:
            return direct
        inverse = self._rates.get((target, source))
        if inverse is not None and inverse[0] != 0:
            return (Decimal(1) / inverse[0]).quantize(RATE_PLACES, rounding=ROUND_HALF_UP), inverse[1]
        return None

    def rate(self, currency: str) -> FxRateUsed:
        cached = self._used.get(currency)
        if cached is not None:
            return cached
        if currency == self.to_currency:
            used = FxRateUsed(
                from_currency=currency, to_currency=currency, rate=Decimal(1), rate_date=None, how="identity"
            )
        elif (pair := self._pair(currency, self.to_currency)) is not None:
            how = "direct" if (currency, self.to_currency) in self._rates else "inverse"
            used = FxRateUsed(
                from_currency=currency, to_currency=self.to_currency, rate=pair[0], rate_date=pair[1], how=how
            )
        else:
            first = self._pair(currency, PIVOT)
            second = self._pair(PIVOT, self.to_currency)
            if first is None or second is None:
                raise CreditDeskError(
                    ErrorCode.NOT_CONFIGURED,
                    f"no exchange rate {currency}→{self.to_currency} on or before {self.on}",
                    details={"from": currency, "to": self.to_currency},
                )
            used = FxRateUsed(
                from_currency=currency,
                to_currency=self.to_currency,
                rate=(first[0] * second[0]).quantize(RATE_PLACES, rounding=ROUND_HALF_UP),
                rate_date=min(first[1], second[1]),
                how=f"via {PIVOT}",
            )
        self._used[currency] = used
        return used

    def convert(self, amount: Decimal, currency: str) -> Decimal:
        """`amount` in `currency` expressed in the target currency."""
        return quantize(amount * self.rate(currency).rate)

    def convert_between(self, amount: Decimal, source: str, target: str) -> Decimal:
        """Between two currencies through the target currency's rates (one rounding, at the end)."""
        if source == target:
            return amount
        return quantize(amount * self.rate(source).rate / self.rate(target).rate)

    def rates_used(self) -> list[FxRateUsed]:
        return [rate for rate in self._used.values() if rate.how != "identity"]
