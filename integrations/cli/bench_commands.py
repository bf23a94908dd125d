"""`creditdesk bench`: portfolio-scale timings of every tool (code in benchmarks/)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from integrations.cli.render import console, progress_bar


def bench_command(
    sqlite: Annotated[
        str | None,
        typer.Option(help="SQLite file or sqlite:/// URL to seed or reuse (default: <data dir>/bench.db)."),
    ] = None,
    postgres: Annotated[
        str | None,
        typer.Option(help="PostgreSQL URL to seed or reuse (default: $CREDITDESK_BENCH_POSTGRES_URL; none = skip)."),
    ] = None,
    customers: Annotated[
        int, typer.Option(min=100, help="Portfolio size to seed when the database is smaller.")
    ] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the generated portfolio.")] = 42,
    runs: Annotated[int, typer.Option(min=5, help="Calls per per-customer tool.")] = 100,
    naive_runs: Annotated[int, typer.Option(min=0, help="Runs of each naive pandas baseline (0 = skip).")] = 3,
    output: Annotated[Path, typer.Option(help="Where the Markdown and JSON reports go.")] = Path("benchmarks/results"),
) -> None:
    """Seed or reuse a 100k-customer portfolio and time every tool on SQLite and PostgreSQL."""
    from benchmarks.run import benchmark_backend, render_markdown, write_results
    from core.settings import get_settings

    sqlite_file = Path(sqlite) if sqlite and "://" not in sqlite else get_settings().data_dir / "bench.db"
    sqlite_url = sqlite if sqlite and "://" in sqlite else f"sqlite:///{sqlite_file.resolve()}"
    targets = [("sqlite", sqlite_url)]
    postgres = postgres or os.environ.get("CREDITDESK_BENCH_POSTGRES_URL")
    if postgres:
        targets.append(("postgresql", postgres))
    reports = []
    with progress_bar() as progress:
        for backend, url in targets:
            reports.append(
                benchmark_backend(
                    backend, url, customers=customers, seed=seed, runs=runs, naive_runs=naive_runs, progress=progress
                )
            )
    console.print(render_markdown(reports))
    markdown, data = write_results(reports, output)
    console.print(f"written {markdown} and {data}")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)
