"""The policy knowledge base from the command line: `creditdesk ingest PATH...` and `creditdesk bench-retrieval`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from core.errors import CreditDeskError
from integrations.cli.render import console, fail, progress_bar


def _print_report(report: Any) -> None:
    table = Table("document", "version", "status", "chunks", "+ / −", "source", title="Policy knowledge base")
    for outcome in report.documents:
        table.add_row(
            outcome.title[:60] or outcome.doc_id,
            outcome.version or "",
            outcome.status,
            f"{outcome.chunks:,}",
            f"+{outcome.added} / −{outcome.removed}",
            Path(outcome.source).name,
        )
    console.print(table)
    rate = f" ({report.chunks_per_second:.1f} chunks/s)" if report.chunks_per_second else ""
    console.print(
        f"{report.count('added')} added, {report.count('updated')} updated, {report.count('unchanged')} unchanged, "
        f"{report.count('removed')} removed; {report.chunks_added:,} chunks embedded, {report.chunks_removed:,} "
        f"deleted in {report.seconds:.1f} s{rate}"
    )


def ingest_documents(paths: list[Path], version: str | None = None) -> None:
    """Ingest with a progress bar and print what changed (used by `ingest` and `init`)."""
    from knowledge.ingest import ingest_paths

    with progress_bar() as progress:
        report = ingest_paths(paths, version=version, progress=progress)
    _print_report(report)


def ingest_default_documents() -> None:
    """What `init` ingests: our handbook plus the documents listed in CREDITDESK_POLICY_DOCS."""
    from knowledge.ingest import default_sources

    ingest_documents(default_sources())


def rebuild_documents(paths: list[Path], version: str | None = None) -> None:
    """Delete the knowledge base and ingest the handbook, the configured documents and `paths` into a new one."""
    from knowledge.ingest import rebuild

    with progress_bar() as progress:
        report = rebuild(paths, version=version, progress=progress)
    _print_report(report)


def ingest_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (.md .txt .html .pdf .docx); default: the handbook + policy_docs."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Version to record for these documents (overrides their own metadata).")
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Delete the knowledge base (a damaged one too) and ingest the handbook, policy_docs and PATHS anew.",
        ),
    ] = False,
) -> None:
    """Add or refresh policy documents: unchanged files are skipped, changed ones replaced, removed ones deleted."""
    try:
        if rebuild:
            rebuild_documents(list(paths or []), version)
        elif paths:
            ingest_documents(list(paths), version)
        else:
            ingest_default_documents()
    except CreditDeskError as error:
        fail(error)


def bench_retrieval_command(
    chunks: Annotated[int, typer.Option(min=100, help="Chunks to build (the real corpus, replicated).")] = 10_000,
    queries: Annotated[int, typer.Option(min=10, help="Timed searches per mode.")] = 200,
    store_dir: Annotated[
        Path | None, typer.Option(help="Keep (and reuse) the benchmark store here; default a temporary folder.")
    ] = None,
    output: Annotated[Path, typer.Option(help="Where the Markdown and JSON reports go.")] = Path("benchmarks/results"),
) -> None:
    """Ingestion throughput and search latency (p50/p95) of the policy knowledge base over 10k+ chunks."""
    from benchmarks.retrieval import render_markdown, run_benchmark, write_results

    with progress_bar() as progress:
        report = run_benchmark(target_chunks=chunks, queries=queries, store_dir=store_dir, progress=progress)
    console.print(render_markdown(report))
    markdown, data = write_results(report, output)
    console.print(f"written {markdown} and {data}")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.command("bench-retrieval")(bench_retrieval_command)
