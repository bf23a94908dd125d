"""The benchmark harness itself: a tiny portfolio through the same code path `creditdesk bench` runs at 100k."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from benchmarks.run import benchmark_backend, render_markdown, write_results


def test_benchmark_times_every_tool_and_compares_with_the_naive_path(db_url: str, tmp_path: Path) -> None:
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    report = benchmark_backend(backend, db_url, customers=120, seed=5, runs=5, naive_runs=1, today=date(2026, 9, 30))
    assert report.customers == 120 and report.invoices > 0
    assert report.warmed  # the database was loaded into memory (or it says why not) before timing
    names = {t.name for t in report.timings}
    assert {"get_customer_exposure", "build_worklist (whole book, top 50)", "get_portfolio_summary (today)"} <= names
    for timing in report.timings:
        assert timing.runs >= 3 and 0 < timing.p50_ms <= timing.p95_ms
    naive = {t.name: t for t in report.timings if t.naive_ms}
    assert set(naive) == {
        "get_customer_exposure",
        "build_worklist (whole book, top 50)",
        "get_portfolio_summary (today)",
    }
    markdown = render_markdown([report])
    assert f"## {backend}: 120 customers" in markdown and "naive / p50" in markdown
    md_path, json_path = write_results([report], tmp_path)
    assert md_path.read_text(encoding="utf-8") == markdown and json_path.exists()
