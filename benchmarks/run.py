"""Portfolio-scale timings: every engine tool on SQLite and PostgreSQL, p50/p95, next to the naive pandas path.

`creditdesk bench` seeds (or reuses) a 100k-customer / ~2M-invoice portfolio per database, refreshes its derived
data, loads the database into memory (as a running server has it after its first minutes), warms each tool up,
then times it through the registry exactly as the assistant calls it. Timings are wall clock on this machine, in one
process, one call at a time.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks import naive
from core.dates import business_today
from db.engine import get_engine, read_session
from db.migrate import upgrade
from db.models import Customer, Dispute, StaffUser
from tools.context import Actor, ToolContext
from tools.registry import call_tool

Progress = Callable[[str, int, int], None]


@dataclass
class Timing:
    name: str
    runs: int
    p50_ms: float
    p95_ms: float
    target_ms: float | None = None
    naive_ms: float | None = None

    @property
    def ratio(self) -> float | None:
        return round(self.naive_ms / self.p50_ms, 1) if self.naive_ms and self.p50_ms else None

    @property
    def meets_target(self) -> bool | None:
        return None if self.target_ms is None else self.p95_ms <= self.target_ms


@dataclass
class BackendReport:
    backend: str
    url: str
    customers: int
    invoices: int
    seed_seconds: float | None
    derived_seconds: float | None
    timings: list[Timing] = field(default_factory=list)
    warmed: str = ""


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def warm_database(engine: Any) -> str:
    """Bring the database's pages into memory first, so tool timings measure the steady state rather than which
    random customer happened to be on disk: the SQLite file is read through the OS page cache; PostgreSQL tables
    and indexes are loaded with pg_prewarm when the extension is available."""
    started = time.perf_counter()
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        with path.open("rb") as handle:
            while handle.read(16 << 20):
                pass
        return f"SQLite file read into the page cache in {time.perf_counter() - started:.1f} s"
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            pages = connection.exec_driver_sql(
                "SELECT coalesce(sum(pg_prewarm(c.oid)), 0) FROM pg_class c "
                "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')"
            ).scalar()
    except Exception as error:  # no extension or no right to create it: time it cold and say so
        return f"not prewarmed ({type(error).__name__})"
    return f"{int(pages or 0):,} PostgreSQL pages prewarmed in {time.perf_counter() - started:.1f} s"


def time_calls(name: str, calls: list[Callable[[], Any]], *, warmup: int = 3, target_ms: float | None = None) -> Timing:
    for call in calls[:warmup]:
        call()
    durations = []
    for call in calls:
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    return Timing(name, len(durations), _percentile(durations, 50), _percentile(durations, 95), target_ms)


def ensure_portfolio(
    url: str, customers: int, seed: int, today: date, progress: Progress | None
) -> tuple[float | None, float | None]:
    """Seed when the database holds fewer customers than asked; refresh derived data when it is missing."""
    from db.demo import SeedOptions, reset_business_data, seed_demo_portfolio
    from tools.maintenance import ensure_today_snapshot, refresh_derived_data

    upgrade(url)
    with read_session(url) as session:
        present = int(session.scalar(select(func.count()).select_from(Customer)) or 0)
    seed_seconds = derived_seconds = None
    if present < customers:
        if present:
            reset_business_data(url)
        started = time.perf_counter()
        seed_demo_portfolio(url, SeedOptions(customers=customers, seed=seed, as_of=today), progress=progress)
        seed_seconds = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        refresh_derived_data(url, today, progress=progress)
        derived_seconds = round(time.perf_counter() - started, 1)
    else:
        started = time.perf_counter()
        if ensure_today_snapshot(url, today):
            derived_seconds = round(time.perf_counter() - started, 1)
    return seed_seconds, derived_seconds


def _sample(url: str, runs: int, rng: random.Random) -> tuple[list[int], list[int], str]:
    with read_session(url) as session:
        max_id = int(session.scalar(select(func.max(Customer.id))) or 1)
        dispute_ids = list(session.scalars(select(Dispute.id).order_by(Dispute.id).limit(5000)))
        collector = session.scalars(select(StaffUser.name).where(StaffUser.name == "casey")).one()
    customer_ids = [rng.randint(12, max_id) for _ in range(runs)]
    return customer_ids, [rng.choice(dispute_ids) for _ in range(runs)] if dispute_ids else [], collector


def benchmark_backend(
    backend: str,
    url: str,
    *,
    customers: int,
    seed: int,
    runs: int,
    naive_runs: int,
    today: date | None = None,
    progress: Progress | None = None,
) -> BackendReport:
    today = today or business_today()
    seed_seconds, derived_seconds = ensure_portfolio(url, customers, seed, today, progress)
    ctx = ToolContext(actor=Actor.operator(), database_url=url, today=today)
    rng = random.Random(seed)
    customer_ids, dispute_ids, collector = _sample(url, runs, rng)
    history = date(today.year, today.month, 1).replace(day=15)
    history = history if history < today else today

    def tool(name: str, args: dict[str, Any]) -> Callable[[], Any]:
        return lambda: call_tool(name, args, ctx)

    few = max(5, runs // 5)
    cases: list[tuple[str, list[Callable[[], Any]], float | None]] = [
        (
            "get_customer_exposure",
            [tool("get_customer_exposure", {"customer": str(c), "include_group": False}) for c in customer_ids],
            5.0,
        ),
        (
            "check_order_release",
            [tool("check_order_release", {"customer": str(c), "order_amount": "25000"}) for c in customer_ids],
            None,
        ),
        ("score_customer", [tool("score_customer", {"customer": str(c)}) for c in customer_ids], None),
        ("recommend_credit_limit", [tool("recommend_credit_limit", {"customer": str(c)}) for c in customer_ids], None),
        ("draft_dunning_message", [tool("draft_dunning_message", {"customer": str(c)}) for c in customer_ids], None),
        ("summarize_dispute", [tool("summarize_dispute", {"dispute_id": d}) for d in dispute_ids], None),
        ("build_worklist (whole book, top 50)", [tool("build_worklist", {"page_size": 50})] * few, 150.0),
        ("build_worklist (one collector, top 20)", [tool("build_worklist", {"collector": collector})] * few, None),
        ("get_portfolio_summary (today)", [tool("get_portfolio_summary", {})] * few, 300.0),
        (
            "get_portfolio_summary (today, by region)",
            [tool("get_portfolio_summary", {"group_by": "region"})] * few,
            300.0,
        ),
        (
            "get_portfolio_summary (10 worst payers by days late)",
            [tool("get_portfolio_summary", {"payers": "latest_first"})] * few,
            300.0,
        ),
        (
            "get_portfolio_summary (10 smallest overdue balances)",
            [tool("get_portfolio_summary", {"rank_by": "overdue", "rank_order": "smallest_first"})] * few,
            300.0,
        ),
        (
            f"get_portfolio_summary (as of {history}, not a snapshot date)",
            [tool("get_portfolio_summary", {"as_of": history.isoformat()})] * max(3, few // 2),
            1500.0,
        ),
        ("resolve_customer (fuzzy name)", [tool("resolve_customer", {"query": "acme logistic"})] * few, None),
    ]
    engine = get_engine(url)
    with engine.connect() as connection:
        invoices = int(connection.exec_driver_sql("SELECT count(*) FROM invoice").scalar() or 0)
    report = BackendReport(
        backend, engine.url.render_as_string(hide_password=True), customers, invoices, seed_seconds, derived_seconds
    )
    report.warmed = warm_database(engine)
    for index, (name, calls, target) in enumerate(cases, start=1):
        if calls:
            report.timings.append(time_calls(name, calls, target_ms=target))
        if progress:
            progress(f"{backend} tools", index, len(cases))
    naive_cases: dict[str, Callable[[], Any]] = {
        "get_customer_exposure": lambda: naive.naive_customer_exposure(engine, customer_ids[0], today),
        "build_worklist (whole book, top 50)": lambda: naive.naive_worklist(engine, today),
        "get_portfolio_summary (today)": lambda: naive.naive_portfolio_summary(engine, today),
    }
    if naive_runs:
        for index, (name, run) in enumerate(naive_cases.items(), start=1):
            durations = []
            for _ in range(naive_runs):
                started = time.perf_counter()
                run()
                durations.append((time.perf_counter() - started) * 1000)
            for timing in report.timings:
                if timing.name == name:
                    timing.naive_ms = round(statistics.median(durations), 1)
            if progress:
                progress(f"{backend} naive", index, len(naive_cases))
    return report


def render_markdown(reports: list[BackendReport]) -> str:
    lines = ["# creditdesk benchmark", ""]
    for report in reports:
        lines.append(
            f"## {report.backend}: {report.customers:,} customers, {report.invoices:,} invoices"
            + (
                f" (seeded in {report.seed_seconds} s, derived data {report.derived_seconds} s)"
                if report.seed_seconds
                else ""
            )
        )
        lines.append("")
        if report.warmed:
            lines.extend([f"Before timing: {report.warmed}.", ""])
        lines.append("| tool | runs | p50 ms | p95 ms | target p95 | naive pandas ms | naive / p50 |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for t in report.timings:
            target = "" if t.target_ms is None else f"≤ {t.target_ms:g} {'✅' if t.meets_target else '❌'}"
            lines.append(
                f"| {t.name} | {t.runs} | {t.p50_ms} | {t.p95_ms} | {target} | {t.naive_ms or ''} | "
                f"{f'{t.ratio}×' if t.ratio else ''} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_results(reports: list[BackendReport], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    markdown = directory / f"bench-{stamp}.md"
    data = directory / f"bench-{stamp}.json"
    markdown.write_text(render_markdown(reports), encoding="utf-8")
    data.write_text(
        json.dumps(
            [
                {
                    **asdict(r),
                    "timings": [{**asdict(t), "ratio": t.ratio, "meets_target": t.meets_target} for t in r.timings],
                }
                for r in reports
            ],
            indent=1,
        ),
        encoding="utf-8",
    )
    return markdown, data
