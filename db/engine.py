"""Engines and sessions. Reads run on a read-only connection; only the write path can change data."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings

_engines: dict[tuple[str, bool], Engine] = {}
_lock = threading.Lock()


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def require_supported_backend(backend: str) -> None:
    """creditdesk runs on SQLite (the zero-setup default) and PostgreSQL (production); anything else is refused."""
    if backend not in SUPPORTED_BACKENDS:
        raise CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            f"the {backend} database is not supported: use a sqlite:/// or postgresql:// URL",
            details={"backend": backend},
        )


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them; refuse other databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CreditDeskError(
            ErrorCode.INVALID_INPUT, "the database URL cannot be read: expected sqlite:///PATH or postgresql://…"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    require_supported_backend(parsed.get_backend_name())
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine, *, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=1073741824")
        cursor.execute("PRAGMA temp_store=MEMORY")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    # pysqlite's own transaction handling is off (isolation_level=None); we emit BEGIN ourselves so that a read
    # session sees one snapshot and a write session takes the write lock up front instead of failing mid-way.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def build_engine(url: str, *, read_only: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None, "timeout": 15},
            pool_size=8,
            max_overflow=8,
        )
        _configure_sqlite(engine, read_only=read_only)
        return engine
    connect_args: dict[str, Any] = {}
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    return create_engine(url, connect_args=connect_args, pool_size=10, max_overflow=10, pool_pre_ping=True)


def get_engine(url: str | None = None, *, read_only: bool = False) -> Engine:
    key = (normalise_url(url or get_settings().resolved_database_url), read_only)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = build_engine(key[0], read_only=read_only)
        return engine


def dispose_engine(url: str) -> None:
    """Close both pools of one database (tests drop databases; pooled connections would block that)."""
    with _lock:
        for read_only in (False, True):
            engine = _engines.pop((normalise_url(url), read_only), None)
            if engine is not None:
                engine.dispose()


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def write_session(url: str | None = None) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_session(url: str | None = None) -> Iterator[Session]:
    """A session on a connection the database itself refuses to write with."""
    factory = sessionmaker(bind=get_engine(url, read_only=True), expire_on_commit=False)
    # Closing (not rolling back) ends the transaction without expiring what was loaded.
    with factory() as session:
        yield session


def backend_name(url: str | None = None) -> str:
    return make_url(normalise_url(url or get_settings().resolved_database_url)).get_backend_name()
