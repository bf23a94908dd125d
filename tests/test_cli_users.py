from __future__ import annotations

import pytest
from typer.testing import CliRunner

from core.settings import reset_settings
from db.engine import read_session
from db.models import Role
from db.queries.staff import find_staff_user
from integrations.cli import app


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch):
    # setenv (not delenv) so that monkeypatch restores whatever the CLI's --db option writes into the environment
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", "sqlite:///unused-by-this-test.db")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--db", db_url, *args])

    yield invoke
    reset_settings()


def test_add_and_list_users(cli, db_url: str) -> None:
    result = cli(
        "users",
        "add",
        "dana",
        "--role",
        "credit-manager",
        "--email",
        "Dana@Example.com",
        "--slack-id",
        "U0DANA",
        "--approval-limit",
        "250,000",
    )
    assert result.exit_code == 0, result.output
    with read_session(db_url) as session:
        user = find_staff_user(session, "DANA")
        assert user is not None
        assert user.role is Role.CREDIT_MANAGER
        assert str(user.approval_limit) == "250000.00"
        assert find_staff_user(session, "dana@example.com") is not None
        assert find_staff_user(session, "U0DANA") is not None
    listing = cli("users", "list")
    assert listing.exit_code == 0 and "dana" in listing.output and "250,000.00" in listing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "add", "x", "--role", "cfo"), "unknown role"),
        (("users", "add", "x", "--role", "collector", "--approval-limit", "-5"), "negative"),
        (("users", "add", "x", "--role", "collector", "--email", "not-an-address"), "e-mail"),
    ],
)
def test_bad_user_input_is_refused_and_changes_nothing(cli, db_url: str, args, message: str) -> None:
    result = cli(*args)
    assert result.exit_code != 0
    assert message in result.output
    with read_session(db_url) as session:
        assert find_staff_user(session, "x") is None


def test_duplicate_user_is_a_conflict(cli) -> None:
    assert cli("users", "add", "lee", "--role", "collector").exit_code == 0
    again = cli("users", "add", "lee", "--role", "collector")
    assert again.exit_code != 0 and "already exists" in again.output
