"""Migrations build exactly the schema the models describe, and go down and up cleanly, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import db.models
from db.engine import dispose_engine, get_engine
from db.migrate import current_revision, downgrade, head_revision, upgrade
from tests.support.databases import create_pg_database, drop_pg_database, pg_url, require_postgres


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        yield url
        dispose_engine(url)
        return
    require_postgres()
    name = create_pg_database(prefix="cd_mig")
    yield pg_url(name)
    drop_pg_database(name)


def _tables(url: str) -> set[str]:
    return set(inspect(get_engine(url)).get_table_names()) - {"alembic_version"}


def _schema_drift(url: str) -> list[object]:
    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, db.models.Base.metadata))


# SQLite cannot reflect expression indexes (ix_customer_external_id_upper), so autogenerate skips comparing that one
# index there with a warning; PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning", "ignore:.*expression-based index")
def test_upgrade_matches_models_and_downgrade_is_clean(empty_db_url: str) -> None:
    assert _tables(empty_db_url) == set()
    upgrade(empty_db_url)
    assert current_revision(empty_db_url) == head_revision()
    assert _tables(empty_db_url) == set(db.models.Base.metadata.tables)
    assert _schema_drift(empty_db_url) == []

    downgrade(empty_db_url, "base")
    assert current_revision(empty_db_url) is None
    assert _tables(empty_db_url) == set()

    upgrade(empty_db_url)
    assert _schema_drift(empty_db_url) == []


def test_each_step_downgrades_and_upgrades(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    revisions = []
    while (revision := current_revision(empty_db_url)) is not None:
        revisions.append(revision)
        downgrade(empty_db_url, "-1")
    assert revisions and revisions[0] == head_revision()
    for revision in reversed(revisions):
        upgrade(empty_db_url, revision)
        assert current_revision(empty_db_url) == revision
