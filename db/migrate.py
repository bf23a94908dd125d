"""Alembic, driven from code: `creditdesk db upgrade` and the test suite both come through here."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings
from db.engine import database_fault, describe_database, get_engine, missing_sqlite_file, normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url or get_settings().resolved_database_url))
    return config


def _run(url: str | None, action: str, revision: str) -> None:
    """Run an Alembic command; an unreachable server or an unknown revision is a clear `CreditDeskError`."""
    config = alembic_config(url)
    try:
        getattr(command, action)(config, revision)
    except CommandError as error:
        raise CreditDeskError(ErrorCode.INVALID_INPUT, f"cannot {action} to {revision!r}: {error}") from None
    except SQLAlchemyError as error:
        fault = database_fault(error, url)
        if fault is None:
            raise
        raise fault from error


def upgrade(url: str | None = None, revision: str = "head") -> None:
    _run(url, "upgrade", revision)


def downgrade(url: str | None = None, revision: str = "-1") -> None:
    missing = missing_sqlite_file(normalise_url(url or get_settings().resolved_database_url))
    if missing is not None:
        raise missing
    _run(url, "downgrade", revision)


def _inspect(url: str | None, read: Callable[[Connection, str], T]) -> T:
    """Run `read` on a read-only connection (a missing SQLite file is an error, never created)."""
    resolved = normalise_url(url or get_settings().resolved_database_url)
    missing = missing_sqlite_file(resolved)
    if missing is not None:
        raise missing
    try:
        with get_engine(resolved, read_only=True).connect() as connection:
            return read(connection, describe_database(resolved))
    except SQLAlchemyError as error:
        fault = database_fault(error, resolved)
        if fault is None:
            raise
        raise fault from error


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at (None: no schema)."""
    return _inspect(url, lambda connection, _where: MigrationContext.configure(connection).get_current_revision())


def schema_fault(url: str | None = None) -> CreditDeskError | None:
    """None when the database is at this code's head revision; otherwise what is wrong and what to run."""
    return _inspect(url, schema_problem)


@lru_cache(maxsize=1)
def _script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str | None:
    return _script_directory().get_current_head()


def is_up_to_date(url: str | None = None) -> bool:
    return current_revision(url) == head_revision()


def schema_problem(connection: Connection, where: str) -> CreditDeskError | None:
    """None when the database on `connection` is at this code's head revision; otherwise what to run."""
    current = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if current == head:
        return None
    details = {"database": where, "revision": current, "head": head}
    if current is None:
        return CreditDeskError(
            ErrorCode.NOT_MIGRATED,
            f"the {where} has no creditdesk tables yet: run `creditdesk init` (or `creditdesk db upgrade` for an "
            "empty schema)",
            details=details,
        )
    try:
        known = _script_directory().get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        return CreditDeskError(
            ErrorCode.NOT_MIGRATED,
            f"the {where} is at schema revision {current}, which this creditdesk does not know (it needs {head}): "
            "upgrade creditdesk, or use another database",
            details=details,
        )
    return CreditDeskError(
        ErrorCode.NOT_MIGRATED,
        f"the {where} is at schema revision {current}, this creditdesk needs {head}: run `creditdesk db upgrade`",
        details=details,
    )
