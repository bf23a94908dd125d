"""Creating and dropping throw-away test databases."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from db.engine import dispose_engine

PG_ADMIN_URL = os.environ.get("CREDITDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_conninfo(dbname: str | None = None) -> str:
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"))
    if dbname:
        info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def pg_url(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(_pg_conninfo(dbname))
    user = info.get("user", "postgres")
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    return f"postgresql+psycopg://{user}@{host}:{port}/{dbname}"


def _pg_admin(sql: str) -> None:
    with psycopg.connect(_pg_conninfo(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


_pg_status: dict[str, str | None] = {}


def require_postgres() -> None:
    if "error" not in _pg_status:
        try:
            with psycopg.connect(_pg_conninfo(), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            _pg_status["error"] = None
        except psycopg.Error as exc:
            _pg_status["error"] = str(exc).strip().splitlines()[0]
    error = _pg_status["error"]
    if error:
        message = f"PostgreSQL at {PG_ADMIN_URL} unavailable: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def create_pg_database(template: str | None = None, prefix: str = "cd_t") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_pg_database(name: str) -> None:
    dispose_engine(pg_url(name))
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
