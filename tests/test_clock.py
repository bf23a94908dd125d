"""The product has one clock (core.dates), and the test session controls it: no test depends on the real date."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

from core.dates import business_today, utcnow
from tests.support import clock

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("core", "db", "tools", "knowledge", "assistant", "integrations", "evals")
CLOCK_MODULE = ROOT / "core" / "dates.py"
# Calls that read the wall clock. Everything else asks core.dates (utcnow, business_today), which tests control.
WALL_CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("datetime", "today")}


def _wall_clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if (name, node.func.attr) in WALL_CLOCK_CALLS:
                found.append(f"{path}:{node.lineno}")
    return found


def test_product_code_reads_the_time_only_through_core_dates() -> None:
    offenders = [
        place
        for package in PRODUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != CLOCK_MODULE and "migrations" not in path.parts
        for place in _wall_clock_reads(path)
    ]
    assert offenders == []


def test_the_scan_finds_a_wall_clock_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    reads = ("datetime.datetime.now()", "datetime.date.today()", "now()")  # text to scan, not run: no travel needed
    sample.write_text("import datetime\n" + "".join(f"x = {call}\n" for call in reads))
    assert _wall_clock_reads(sample) == [f"{sample}:2", f"{sample}:3"]


def test_the_session_runs_on_its_business_date() -> None:
    """Every reading below is taken under the session's time_machine travel, so each must be the business date."""
    # noon UTC is the same day from UTC-12 to UTC+11
    readings = [business_today(zone) for zone in ("UTC", "Asia/Tokyo", "America/Los_Angeles")]  # time_machine
    now = utcnow()
    assert now.tzinfo is not None
    readings += [now.date(), datetime.now(UTC).date(), date.today()]  # time_machine travel moved the wall clock too
    assert readings == [clock.today()] * 6


def test_the_clock_ticks() -> None:
    first = utcnow()
    second = utcnow()
    assert second >= first
