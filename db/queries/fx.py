"""Exchange-rate lookups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from db.models import FxRate
from db.types import AnySelect


def latest_rates_on(session: Session, on: date) -> dict[tuple[str, str], tuple[Decimal, date]]:
    """For every currency pair, the latest rate dated on or before `on`: {(from, to): (rate, rate_date)}."""
    later = aliased(FxRate)
    newest = (
        select(func.max(later.rate_date))
        .where(
            and_(
                later.from_currency == FxRate.from_currency,
                later.to_currency == FxRate.to_currency,
                later.rate_date <= on,
            )
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(FxRate.from_currency, FxRate.to_currency, FxRate.rate, FxRate.rate_date).where(
            FxRate.rate_date == newest
        )
    ).all()
    return {(row.from_currency, row.to_currency): (row.rate, row.rate_date) for row in rows}


def fx_table_fingerprint(session: Session) -> tuple[int, int]:
    """Changes whenever a rate is added or removed (rates are never edited in place)."""
    count, max_id = session.connection().execute(_fingerprint_statement()).one()
    return int(count or 0), int(max_id or 0)


@cache
def _fingerprint_statement() -> AnySelect:
    return select(func.count(), func.max(FxRate.id)).select_from(FxRate)
