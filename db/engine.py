"""Engines and sessions. Reads run on a read-only connection; only the write path can change data.

A session checks its database on first use, once per engine: reachable, the SQLite file present (neither a read nor
a write session creates one; only migrations do), the schema at this code's Alembic head. Database faults become
`CreditDeskError`s that say what is wrong and what to run (`database_fault`), so every surface reports them alike.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings

_engines: dict[tuple[str, bool], Engine] = {}
_verified: set[tuple[str, bool]] = set()  # engines whose database was found at the Alembic head
_lock = threading.Lock()
CONNECT_TIMEOUT_SECONDS = 10
URL_HELP = "--db or CREDITDESK_DATABASE_URL"


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def require_supported_backend(backend: str) -> None:
    """creditdesk runs on SQLite (the zero-setup default) and PostgreSQL (production); anything else is refused."""
    if backend not in SUPPORTED_BACKENDS:
        raise CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            f"the {backend} database is not supported: use a sqlite:/// or postgresql:// URL ({URL_HELP})",
            details={"backend": backend},
        )


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them; refuse other databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            f"the database URL cannot be read: expected sqlite:///PATH or postgresql://… ({URL_HELP})",
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    require_supported_backend(parsed.get_backend_name())
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine, *, read_only: bool) -> None:
    if read_only and engine.url.database not in (None, "", ":memory:"):

        @event.listens_for(engine, "do_connect")
        def _open_existing_only(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
            # mode=rw: a read never creates a missing database file (sqlite3 would create an empty one).
            cargs[0] = Path(cargs[0]).absolute().as_uri() + "?mode=rw"
            cparams["uri"] = True

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
        if parsed.database and parsed.database != ":memory:" and not read_only:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None, "timeout": 15},
            pool_size=8,
            max_overflow=8,
        )
        _configure_sqlite(engine, read_only=read_only)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
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
            key = (normalise_url(url), read_only)
            _verified.discard(key)
            engine = _engines.pop(key, None)
            if engine is not None:
                engine.dispose()


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _verified.clear()


# --- faults -----------------------------------------------------------------------------------------------------------


def describe_database(url: str | URL) -> str:
    """Where the database is, for messages: the SQLite file, or PostgreSQL's database, host and port (never the
    user or password)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite database {_sqlite_path(parsed) or 'in memory'}"
    return (
        f"PostgreSQL database {parsed.database or '(default)'!r} at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    )


def _sqlite_path(parsed: URL) -> Path | None:
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).absolute()


def missing_sqlite_file(url: str | URL) -> CreditDeskError | None:
    parsed = make_url(url) if isinstance(url, str) else url
    path = _sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is None or path.exists():
        return None
    return CreditDeskError(
        ErrorCode.NOT_MIGRATED,
        f"there is no database at {path}: run `creditdesk init` to create it (or point {URL_HELP} at another one)",
        details={"database": str(path)},
    )


_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "connection failed",
    "connection timeout",
    "timeout expired",
    "timed out",
    "could not translate host name",
    "name or service not known",
    "temporary failure in name resolution",
    "no route to host",
    "network is unreachable",
    "server closed the connection",
    "connection is closed",
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "too many clients",
    "remaining connection slots",
    "consuming input failed",
    "ssl syscall error",
)
_BUSY = ("database is locked", "database table is locked", "lock timeout", "could not obtain lock", "deadlock detected")
_NO_SCHEMA = ("no such table", "no such column", "undefinedtable", "undefinedcolumn", "has no column named")
_BAD_LOGIN = ("password authentication failed", "no password supplied", "authentication failed")
_DAMAGED = ("file is not a database", "database disk image is malformed", "malformed database schema")


def database_fault(error: BaseException, url: str | None = None) -> CreditDeskError | None:
    """A clear `CreditDeskError` for a database that cannot serve (unreachable, busy, missing, not migrated,
    misconfigured, damaged), or None when `error` is something else (a bug, a constraint violation…)."""
    try:
        parsed = make_url(normalise_url(url or get_settings().resolved_database_url))
    except CreditDeskError as bad_url:
        return bad_url
    where = describe_database(parsed)
    if isinstance(error, PoolTimeoutError):
        return CreditDeskError(
            ErrorCode.UNAVAILABLE,
            f"every connection to the {where} is busy: try again shortly",
            details={"database": where},
        )
    if not isinstance(error, DBAPIError):
        return None
    orig = error.orig if error.orig is not None else error
    text = str(orig).strip()
    lowered = f"{type(orig).__name__} {text}".lower()
    first_line = text.splitlines()[0] if text else type(orig).__name__
    details = {"database": where}
    if parsed.get_backend_name() == "sqlite" and "unable to open database file" in lowered:
        missing = missing_sqlite_file(parsed)
        if missing is not None:
            return missing
        return CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            f"the {where} cannot be opened (check that its folder and file are readable and writable)",
            details=details,
        )
    if any(marker in lowered for marker in _DAMAGED):
        return CreditDeskError(
            ErrorCode.DAMAGED,
            f"the {where} is damaged or not a creditdesk database: restore it from a backup, or move it away and "
            "run `creditdesk init`",
            details=details,
        )
    if any(marker in lowered for marker in _BUSY):
        return CreditDeskError(
            ErrorCode.UNAVAILABLE, f"the {where} is busy (locked by other work): try again shortly", details=details
        )
    if 'database "' in lowered and "does not exist" in lowered:
        return CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            f"the {where} does not exist: create it (`createdb {parsed.database}`), then run `creditdesk init`",
            details=details,
        )
    if any(marker in lowered for marker in _BAD_LOGIN) or ('role "' in lowered and "does not exist" in lowered):
        return CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            f"the server of the {where} refused the login: check the user and password in the URL ({URL_HELP})",
            details=details,
        )
    if any(marker in lowered for marker in _UNREACHABLE):
        return CreditDeskError(
            ErrorCode.UNAVAILABLE,
            f"cannot reach the {where} ({_reason(first_line)}): start the database server or fix {URL_HELP}",
            details=details,
        )
    if any(marker in lowered for marker in _NO_SCHEMA) or (
        ("relation" in lowered or "column" in lowered) and "does not exist" in lowered
    ):
        return _schema_fault(parsed) or CreditDeskError(
            ErrorCode.NOT_MIGRATED,
            f"the {where} lacks tables or columns this creditdesk needs: run `creditdesk db upgrade`",
            details=details,
        )
    return None


def _reason(first_line: str) -> str:
    lowered = first_line.lower()
    for marker, reason in (
        ("refused", "connection refused"),
        ("timeout", "timed out"),
        ("timed out", "timed out"),
        ("translate host name", "unknown host"),
        ("name or service not known", "unknown host"),
        ("name resolution", "unknown host"),
        ("too many clients", "too many connections"),
        ("starting up", "the server is starting up"),
        ("shutting down", "the server is shutting down"),
    ):
        if marker in lowered:
            return reason
    return "the connection failed"


def _schema_fault(parsed: URL) -> CreditDeskError | None:
    """What is wrong with the schema of a reachable database, precisely (None if it cannot tell)."""
    from db.migrate import schema_problem

    try:
        with get_engine(parsed.render_as_string(hide_password=False), read_only=True).connect() as connection:
            return schema_problem(connection, describe_database(parsed))
    except SQLAlchemyError:
        return None


def _check_schema(connection: Connection, key: tuple[str, bool]) -> None:
    from db.migrate import schema_problem

    problem = schema_problem(connection, describe_database(connection.engine.url))
    if problem is not None:
        raise problem
    with _lock:
        _verified.add(key)


def verify_database(url: str | None = None, *, read_only: bool = False) -> Engine:
    """The engine for `url` once its database is known to serve this code: the SQLite file exists, the server
    answers, and the schema is at the Alembic head. Checked once per engine; raises a clear `CreditDeskError`."""
    key = (normalise_url(url or get_settings().resolved_database_url), read_only)
    if key in _verified:
        return get_engine(key[0], read_only=read_only)
    missing = missing_sqlite_file(key[0])
    if missing is not None:
        raise missing  # before get_engine, which would create the file's folder
    engine = get_engine(key[0], read_only=read_only)
    try:
        with engine.connect() as connection:
            _check_schema(connection, key)
    except SQLAlchemyError as error:
        fault = database_fault(error, key[0])
        if fault is None:
            raise
        raise fault from error
    return engine


def _session(url: str | None, *, read_only: bool) -> Session:
    """A session whose first use of the database checks it (once per engine): a session that never touches the
    database (a tool that only reads the policy store) needs none."""
    key = (normalise_url(url or get_settings().resolved_database_url), read_only)
    session = Session(bind=get_engine(key[0], read_only=read_only), expire_on_commit=False)
    if key not in _verified:

        @event.listens_for(session, "after_begin")
        def _verify_first(_session: Session, _transaction: Any, connection: Connection) -> None:
            if key not in _verified:
                _check_schema(connection, key)

    return session


@contextmanager
def write_session(url: str | None = None) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    missing = missing_sqlite_file(normalise_url(url or get_settings().resolved_database_url))
    if missing is not None:
        raise missing  # a write would create an empty file
    with _session(url, read_only=False) as session, session.begin():
        yield session


@contextmanager
def read_session(url: str | None = None) -> Iterator[Session]:
    """A session on a connection the database itself refuses to write with. A database fault inside the block
    comes out as the `CreditDeskError` that explains it (a read has nothing to retry or roll back)."""
    # Closing (not rolling back) ends the transaction without expiring what was loaded.
    with _session(url, read_only=True) as session:
        try:
            yield session
        except DBAPIError as error:
            fault = database_fault(error, url)
            if fault is None:
                raise
            raise fault from error


def backend_name(url: str | None = None) -> str:
    return make_url(normalise_url(url or get_settings().resolved_database_url)).get_backend_name()
