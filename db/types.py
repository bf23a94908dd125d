"""Column types that behave identically on SQLite and PostgreSQL.

- `Money`: NUMERIC(18,2) on PostgreSQL; on SQLite, whose NUMERIC is a binary float, an INTEGER count of cents.
  Both read back as cent-exact `Decimal`, and `SUM()` stays exact on both.
- `Rate`: an exact decimal (FX rates); TEXT on SQLite.
- `UTCDateTime`: timezone-aware in, timezone-aware (UTC) out, on both databases.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

if TYPE_CHECKING:
    from sqlalchemy.sql import Select

from core.dates import ensure_aware
from core.money import quantize

_HUNDRED = Decimal(100)


class Money(TypeDecorator[Decimal]):
    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = quantize(value if isinstance(value, Decimal) else Decimal(str(value)))
        if dialect.name == "sqlite":
            return int(amount * _HUNDRED)
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):  # AVG() and friends return REAL cents
                return quantize(Decimal(repr(value)) / _HUNDRED)
            return (Decimal(int(value)) / _HUNDRED).quantize(Decimal("0.01"))
        return quantize(value if isinstance(value, Decimal) else Decimal(str(value)))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class Rate(TypeDecorator[Decimal]):
    impl = Numeric(20, 10)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(20, 10, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        rate = value if isinstance(value, Decimal) else Decimal(str(value))
        return str(rate) if dialect.name == "sqlite" else rate

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).normalize() if dialect.name == "sqlite" else Decimal(value).normalize()


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("UTCDateTime needs a datetime")
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: datetimes must be timezone-aware")
        aware = ensure_aware(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return ensure_aware(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Cents(TypeDecorator[Decimal]):
    """Exact money as a BIGINT count of cents on every database: for derived aggregate tables, where integer sums
    are several times faster than NUMERIC ones. Reads back as cent-exact `Decimal`."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:  # noqa: ARG002
        if value is None:
            return None
        if isinstance(value, int):
            raise TypeError("Cents takes Decimal amounts, not raw integers")
        amount = quantize(value if isinstance(value, Decimal) else Decimal(str(value)))
        return int(amount * _HUNDRED)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: ARG002
        if value is None:
            return None
        return (Decimal(int(value)) / _HUNDRED).quantize(Decimal("0.01"))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


# A select of any number of columns (SQLAlchemy 2.1 types selects by their column tuple).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"
