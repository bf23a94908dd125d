"""The README's limit examples do what it says on any business date: on the demo portfolio `make run` seeds, a
proposal made as avery is one a credit manager (morgan) may approve, and approving it executes it once."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integrations.cli import app
from tests.support.surfaces import executed_events, proposal_decision

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
DEMO_CUSTOMERS, DEMO_SEED = 300, 42  # what `creditdesk init` (make run) seeds


def _ask_example() -> list[str]:
    line = next(line for line in README.splitlines() if "approve it as morgan" in line and "creditdesk ask" in line)
    return shlex.split(line.split("#", 1)[0])[1:]


def _tool_example() -> list[str]:
    match = re.search(r"creditdesk (tool propose_credit_limit_change[^\n]*)\\\n\s*(--json '[^']*')", README)
    assert match is not None
    return shlex.split(match.group(1)) + shlex.split(match.group(2))


@pytest.fixture
def readme_demo(db_url: str) -> str:
    seeded = CliRunner().invoke(
        app, ["--db", db_url, "seed", "--customers", str(DEMO_CUSTOMERS), "--seed", str(DEMO_SEED)]
    )
    assert seeded.exit_code == 0, seeded.output
    return db_url


@pytest.mark.slow
@pytest.mark.parametrize("example", [_ask_example, _tool_example], ids=["ask", "tool"])
def test_readme_limit_example_is_approved_by_a_credit_manager(readme_demo: str, example: object) -> None:
    runner = CliRunner()
    args = example()  # type: ignore[operator]
    assert "--as" in args and args[args.index("--as") + 1] == "avery"
    proposed = runner.invoke(app, ["--db", readme_demo, *args])
    assert proposed.exit_code == 0, proposed.output
    if args[0] == "tool":
        assert json.loads(args[args.index("--json") + 1])["change_by"]
    approved = runner.invoke(app, ["--db", readme_demo, "proposals", "approve", "1", "--as", "morgan"])
    assert approved.exit_code == 0, approved.output
    assert proposal_decision(readme_demo, 1) == "approved" and executed_events(readme_demo, 1) == 1
