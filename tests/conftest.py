"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL: each test gets a fresh database cloned from a migrated template (CREATE DATABASE … TEMPLATE), so
tests may commit freely and run concurrently. In CI (CI=true) a missing server fails the run instead of
skipping, and any skipped test fails the session (see `pytest_sessionfinish`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from core.settings import reset_settings
from db.engine import dispose_engine
from db.migrate import upgrade
from tests.support import clock
from tests.support.databases import IN_CI, create_pg_database, drop_pg_database, pg_url, require_postgres


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--business-date",
        default=os.environ.get("CREDITDESK_TEST_DATE", clock.DEFAULT_BUSINESS_DATE.isoformat()),
        help="The business day the whole session runs on (the process clock is moved there; default %(default)s).",
    )


def pytest_configure(config: pytest.Config) -> None:
    clock.start(date.fromisoformat(str(config.getoption("--business-date"))))


def pytest_unconfigure(config: pytest.Config) -> None:
    clock.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"business date: {clock.today().isoformat()} (process clock moved there; --business-date to change)"


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    data_dir = tmp_path_factory.mktemp("var")
    saved = {k: os.environ.get(k) for k in ("CREDITDESK_DATA_DIR", "CREDITDESK_DATABASE_URL", "OPENAI_API_KEY")}
    os.environ["CREDITDESK_DATA_DIR"] = str(data_dir)
    os.environ.pop("CREDITDESK_DATABASE_URL", None)
    os.environ.pop("OPENAI_API_KEY", None)
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    reset_settings()
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()


@pytest.fixture(autouse=True)
def _environment_restored_after_each_test() -> Iterator[None]:
    """The CLI's global `--db` option writes CREDITDESK_DATABASE_URL into the process environment (right for a
    process, wrong between tests): put back whatever any test changed, and drop the cached settings."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    dispose_engine(url)
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    require_postgres()
    name = create_pg_database(prefix="cd_tpl")
    upgrade(pg_url(name))
    dispose_engine(pg_url(name))
    yield name
    drop_pg_database(name)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database of the parametrised backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
        yield url
        dispose_engine(url)
        return
    name = create_pg_database(template=request.getfixturevalue("pg_template"))
    yield pg_url(name)
    drop_pg_database(name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI nothing may be skipped silently: a skipped test means a suite did not really run."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) were skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


DEMO_AS_OF = date(2026, 9, 30)
DEMO_CUSTOMERS = 150
DEMO_SEED = 7


class _DemoDatabases:
    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.pg_names: list[str] = []


@pytest.fixture(scope="session")
def _demo_databases() -> Iterator[_DemoDatabases]:
    """Seeded demo portfolios, built lazily once per backend and shared read-only by the engine tests."""
    demos = _DemoDatabases()
    yield demos
    for name in demos.pg_names:
        drop_pg_database(name)


@pytest.fixture
def demo_db_url(backend: str, request: pytest.FixtureRequest, _demo_databases: _DemoDatabases) -> str:
    """A migrated database holding the deterministic demo portfolio (150 customers, seed 7, as of 2026-09-30).
    Shared by many tests: treat it as read-only."""
    if backend not in _demo_databases.urls:
        from db.demo import SeedOptions, seed_demo_portfolio

        if backend == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            path = template.parent / "demo.db"
            shutil.copyfile(template, path)
            url = f"sqlite:///{path}"
        else:
            name = create_pg_database(template=request.getfixturevalue("pg_template"), prefix="cd_demo")
            _demo_databases.pg_names.append(name)
            url = pg_url(name)
        seed_demo_portfolio(url, SeedOptions(customers=DEMO_CUSTOMERS, seed=DEMO_SEED, as_of=DEMO_AS_OF))
        for hook in DEMO_POST_SEED_HOOKS:
            hook(url)
        _demo_databases.urls[backend] = url
    return _demo_databases.urls[backend]


# Steps run once on each freshly seeded demo database (e.g. building snapshots or scores), registered by modules
# that need derived data; kept here so every engine test sees the same prepared portfolio.
DEMO_POST_SEED_HOOKS: list[Callable[[str], None]] = []


SEEDED_CUSTOMERS = 40
SEEDED_SEED = 11


class _SeededTemplates:
    def __init__(self) -> None:
        self.sqlite_path: Path | None = None
        self.pg_name: str | None = None


@pytest.fixture(scope="session")
def _seeded_templates() -> Iterator[_SeededTemplates]:
    templates = _SeededTemplates()
    yield templates
    if templates.pg_name:
        drop_pg_database(templates.pg_name)


def _seed_template(url: str) -> None:
    from db.demo import SeedOptions, seed_demo_portfolio
    from tools.maintenance import refresh_derived_data

    today = clock.today()
    seed_demo_portfolio(url, SeedOptions(customers=SEEDED_CUSTOMERS, seed=SEEDED_SEED, as_of=today))
    refresh_derived_data(url, today)
    dispose_engine(url)


@pytest.fixture
def seeded_db_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, _seeded_templates: _SeededTemplates
) -> Iterator[str]:
    """A writable copy, per test, of a small demo portfolio anchored at the session's business date (40 customers,
    seed 11), with its derived data (snapshots and scores) built."""
    if backend == "sqlite":
        if _seeded_templates.sqlite_path is None:
            template: Path = request.getfixturevalue("sqlite_template")
            path = template.parent / "seeded.db"
            shutil.copyfile(template, path)
            _seed_template(f"sqlite:///{path}")
            _seeded_templates.sqlite_path = path
        copy = tmp_path / "seeded.db"
        shutil.copyfile(_seeded_templates.sqlite_path, copy)
        url = f"sqlite:///{copy}"
        yield url
        dispose_engine(url)
        return
    if _seeded_templates.pg_name is None:
        name = create_pg_database(template=request.getfixturevalue("pg_template"), prefix="cd_seeded")
        _seed_template(pg_url(name))
        _seeded_templates.pg_name = name
    clone = create_pg_database(template=_seeded_templates.pg_name)
    yield pg_url(clone)
    drop_pg_database(clone)
