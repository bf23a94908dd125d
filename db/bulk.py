"""Column-oriented bulk inserts that bypass the ORM: COPY on PostgreSQL, one `executemany` on SQLite.

Callers pass one sequence per column: numpy arrays (a masked array, or NaT in a datetime64 array, stands for NULL)
or plain Python sequences (None for NULL). Each value is converted to what the column's SQLAlchemy type would have
stored, chosen from `table.c[name].type`:

- `Money`: integer cents in; INTEGER cents on SQLite, NUMERIC text ("-5.00") for PostgreSQL.
- `Rate`: Decimal (or anything `Decimal(str(x))` accepts) in; TEXT on SQLite.
- `Date`: `datetime64[D]` arrays or `date` objects in; 'YYYY-MM-DD'.
- `UTCDateTime`: `datetime64` arrays (naive, UTC) or aware datetimes in; naive UTC text with microseconds on SQLite,
  '+00:00' timestamptz text on PostgreSQL.
- `Boolean`: 0/1 on SQLite, t/f on PostgreSQL. Everything else goes through as given (ints, plain `str`).

Rows go into the caller's transaction; nothing here commits. For loads of millions of rows, `deferred_indexes`
drops secondary indexes (and PostgreSQL foreign keys) for the duration and rebuilds them from the database's own
definitions afterwards: building an index once is far cheaper than maintaining it row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import BindParameter, Boolean, Connection, Date, Engine, Table, bindparam, func, inspect, select, text
from sqlalchemy.types import TypeEngine

from core.dates import ensure_aware
from db.engine import require_supported_backend
from db.types import Money, Rate, UTCDateTime

ColumnValues = np.ndarray | Sequence[Any]


def insert_columns(conn: Connection, table: Table, columns: Mapping[str, ColumnValues]) -> int:
    """Insert rows given column by column; returns the number of rows written."""
    names = list(columns)
    if not names:
        return 0
    lengths = {len(columns[name]) for name in names}
    if len(lengths) != 1:
        raise ValueError(f"{table.name}: columns differ in length ({sorted(lengths)})")
    rows = lengths.pop()
    if rows == 0:
        return 0
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {unknown}")
    dialect = conn.dialect.name
    require_supported_backend(dialect)
    values = [_storage_values(table.c[name].type, columns[name], dialect) for name in names]
    if dialect == "postgresql":
        _copy_postgresql(conn, table, names, values)
    else:
        _executemany_sqlite(conn, table, names, values)
    return rows


def max_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def reset_id_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """After explicit ids were written, point PostgreSQL's serial sequences past them (no-op on SQLite)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" not in table.c:
            continue
        highest = func.max(table.c.id)
        conn.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(table.name, "id"), func.coalesce(highest, 1), highest.is_not(None)
                )
            ).select_from(table)
        )


def analyze(conn: Connection) -> None:
    """Refresh planner statistics after a large load."""
    conn.execute(text("ANALYZE"))


def existing_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


@dataclass(frozen=True)
class _Deferred:
    drop: str
    create: str


@contextmanager
def deferred_indexes(conn: Connection, tables: Iterable[Table]) -> Iterator[int]:
    """Drop the secondary indexes of `tables` (on PostgreSQL also their foreign keys) and recreate them, from the
    definitions the database reports, when the block ends; yields how many objects were deferred.

    Use it inside a transaction that rolls back on error (`engine.begin()`): DDL is transactional on SQLite and
    PostgreSQL, so a failed load brings the schema back untouched. Primary keys and unique constraints stay in
    place; unique and partial indexes are rebuilt, which re-checks them. Other sessions wait on the tables until
    the transaction ends. Recreating a foreign key validates every row in one pass instead of one trigger per row.
    """
    names = sorted({table.name for table in tables})
    deferred = (
        _postgresql_deferrable(conn, names) if conn.dialect.name == "postgresql" else _sqlite_deferrable(conn, names)
    )
    for item in deferred:
        conn.execute(text(item.drop))
    yield len(deferred)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for item in reversed(deferred):
        conn.execute(text(item.create))


def _postgresql_deferrable(conn: Connection, names: list[str]) -> list[_Deferred]:
    tables: BindParameter[list[str]] = bindparam("names", value=names, expanding=True)
    foreign_keys = conn.execute(
        text(
            "SELECT format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, t.relname, k.conname), "
            "format('ALTER TABLE %I.%I ADD CONSTRAINT %I ', n.nspname, t.relname, k.conname) "
            "|| pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE k.contype = 'f' AND n.nspname = current_schema() AND t.relname IN :names "
            "ORDER BY t.relname, k.conname"
        ).bindparams(tables)
    ).all()
    indexes = conn.execute(
        text(
            "SELECT format('DROP INDEX %I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = current_schema() AND t.relname IN :names "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY t.relname, c.relname"
        ).bindparams(tables)
    ).all()
    # Foreign keys go first and come back last, after the indexes they may use.
    return [_Deferred(drop, create) for drop, create in [*foreign_keys, *indexes]]


def _sqlite_deferrable(conn: Connection, names: list[str]) -> list[_Deferred]:
    rows = conn.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN :names "
            "ORDER BY tbl_name, name"
        ).bindparams(bindparam("names", value=names, expanding=True))
    ).all()
    return [_Deferred(f"DROP INDEX {_quoted(conn, name)}", sql) for name, sql in rows]


def delete_all(engine: Engine, tables: Sequence[Table]) -> None:
    """Empty `tables` (given children first) in one transaction and restart their id sequences.

    PostgreSQL: one TRUNCATE ... RESTART IDENTITY. SQLite: DELETE per table with foreign-key enforcement switched off
    for the connection, which lets SQLite drop whole b-trees instead of deleting (and checking) row by row; the
    order already keeps every reference valid.
    """
    if not tables:
        return
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(_quoted(conn, t.name) for t in tables)} RESTART IDENTITY"))
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                for table in tables:
                    conn.execute(table.delete())
                if "sqlite_sequence" in existing_tables(conn):
                    names: BindParameter[list[str]] = bindparam("names", value=[t.name for t in tables], expanding=True)
                    conn.execute(text("DELETE FROM sqlite_sequence WHERE name IN :names").bindparams(names))
        finally:
            raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def checkpoint(engine: Engine) -> None:
    """SQLite: fold the write-ahead log into the database file and truncate it (a big load leaves it huge)."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    finally:
        raw.close()


def _executemany_sqlite(conn: Connection, table: Table, names: list[str], values: list[list[Any]]) -> None:
    placeholders = ", ".join("?" for _ in names)
    # Identifiers come from the table metadata, never from input.
    sql = f"INSERT INTO {_quoted(conn, table.name)} ({_column_list(conn, names)}) VALUES ({placeholders})"  # noqa: S608
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, zip(*values, strict=True))
    finally:
        cursor.close()


def _copy_postgresql(conn: Connection, table: Table, names: list[str], values: list[list[Any]]) -> None:
    sql = f"COPY {_quoted(conn, table.name)} ({_column_list(conn, names)}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for row in zip(*values, strict=True):
            copy.write_row(row)


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _column_list(conn: Connection, names: list[str]) -> str:
    return ", ".join(_quoted(conn, name) for name in names)


def _storage_values(col_type: TypeEngine[Any], values: ColumnValues, dialect: str) -> list[Any]:
    """Python values in the form the column's type would have bound them (COPY's text form for PostgreSQL)."""
    if isinstance(col_type, Money):
        return _cents_texts(values) if dialect == "postgresql" else _plain(values)
    if isinstance(col_type, Rate):
        return [None if v is None else str(_decimal(v)) for v in _plain(values)]
    if isinstance(col_type, UTCDateTime):
        return _timestamp_texts(values, suffix="+00:00" if dialect == "postgresql" else "")
    if isinstance(col_type, Date):
        return _date_texts(values)
    if isinstance(col_type, Boolean):
        as_bool = bool if dialect == "postgresql" else int
        return [None if v is None else as_bool(v) for v in _plain(values)]
    return _plain(values)


# --- shared conversions ------------------------------------------------------------------------------------------


def _plain(values: ColumnValues) -> list[Any]:
    """Python values; masked entries become None."""
    if isinstance(values, np.ndarray):
        return values.tolist()  # MaskedArray.tolist() turns masked entries into None
    return list(values)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _cents_texts(values: ColumnValues) -> list[str | None]:
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        mask = np.ma.getmaskarray(values)
        cents = np.ma.getdata(values).astype(np.int64)
        magnitude = np.abs(cents)
        texts = np.strings.add(
            np.strings.add(np.where(cents < 0, "-", ""), (magnitude // 100).astype(str)),
            np.strings.add(".", np.strings.zfill((magnitude % 100).astype(str), 2)),
        )
        return _masked_texts(texts, mask)
    return [None if v is None else _one_cents_text(int(v)) for v in _plain(values)]


def _one_cents_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _date_texts(values: ColumnValues) -> list[str | None]:
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        days = values.astype("datetime64[D]")
        nat = np.isnat(days)
        return _masked_texts(_day_texts(np.where(nat, 0, days.view(np.int64))), nat)
    return _each(values, lambda v: (v.date() if isinstance(v, datetime) else v).isoformat())


def _timestamp_texts(values: ColumnValues, *, suffix: str) -> list[str | None]:
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        micros = values.astype("datetime64[us]")
        nat = np.isnat(micros)
        texts = _micros_texts(np.where(nat, 0, micros.view(np.int64)))
        if suffix:
            texts = np.strings.add(texts, suffix)
        return _masked_texts(texts, nat)
    return _each(values, lambda v: _one_timestamp_text(v) + suffix)


# Formatting through lookup tables: numpy's datetime_as_string costs ~0.6 µs a value, a table lookup almost nothing.


def _day_texts(days: np.ndarray) -> np.ndarray:
    if days.size == 0:
        return np.array([], dtype="<U10")
    first = int(days.min())
    table = np.datetime_as_string(np.arange(first, int(days.max()) + 1).astype("datetime64[D]"), unit="D")
    return table[days - first]


@cache
def _seconds_of_day_texts() -> np.ndarray:
    seconds = np.arange(86_400)
    hours = np.strings.zfill((seconds // 3600).astype(str), 2)
    minutes = np.strings.zfill((seconds // 60 % 60).astype(str), 2)
    secs = np.strings.zfill((seconds % 60).astype(str), 2)
    return np.strings.add(np.strings.add(np.strings.add(hours, ":"), np.strings.add(minutes, ":")), secs)


def _micros_texts(micros: np.ndarray) -> np.ndarray:
    days, micro_of_day = np.divmod(micros, 86_400_000_000)
    seconds, fraction = np.divmod(micro_of_day, 1_000_000)
    texts = np.strings.add(np.strings.add(_day_texts(days), " "), _seconds_of_day_texts()[seconds])
    if fraction.any():
        return np.strings.add(np.strings.add(texts, "."), np.strings.zfill(fraction.astype(str), 6))
    return np.strings.add(texts, ".000000")


def _one_timestamp_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: pass aware datetimes or numpy datetime64 (UTC)")
    return ensure_aware(value).astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _masked_texts(texts: np.ndarray, mask: np.ndarray) -> list[str | None]:
    result: list[str | None] = texts.tolist()
    if mask.any():
        for index in np.flatnonzero(mask).tolist():
            result[index] = None
    return result


def _each(values: ColumnValues, convert: Callable[[Any], str]) -> list[str | None]:
    return [None if v is None else convert(v) for v in _plain(values)]
