"""`creditdesk eval`: the evaluation harness (persona sets and the red-team set) against the offline planner or a
model, with a Markdown + JSON report compared to a saved baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from integrations.cli.render import console


def eval_command(
    model: Annotated[
        str | None, typer.Option(help="Model name for the configured OpenAI-compatible provider (LLM mode).")
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Eval set(s) to run (default: all in evals/datasets).")
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="Saved JSON report to compare with (offline default: evals/baselines/offline.json)."),
    ] = None,
    output: Annotated[Path, typer.Option(help="Where eval-report.md and eval-report.json go.")] = Path("var/eval"),
    db: Annotated[
        str | None, typer.Option("--db", help="Reuse this database (a SQLite file is copied first) instead of seeding.")
    ] = None,
    customers: Annotated[int, typer.Option(min=20, help="Customers in the freshly seeded demo portfolio.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the demo portfolio.")] = 11,
    planner: Annotated[
        bool, typer.Option("--planner", help="Force the offline planner even if a model is set.")
    ] = False,
    sql_baseline: Annotated[
        bool | None,
        typer.Option("--sql-baseline/--no-sql-baseline", help="Also run the plain SQL-agent baseline (LLM mode)."),
    ] = None,
    save_baseline: Annotated[
        Path | None, typer.Option(help="Also write this run as a baseline file (metrics and per-case pass/fail).")
    ] = None,
    fail_on_regression: Annotated[
        bool, typer.Option(help="Exit with status 1 when the comparison with the baseline finds a regression.")
    ] = False,
) -> None:
    """Run the eval sets through the assistant and score them (tools, arguments, facts, grounding, citations,
    refusals, unauthorised writes, leaks, injections, latency, model usage)."""
    import json

    from evals.runner import EvalOptions, baseline_json, metrics_table, run_eval

    if model is not None and not planner:
        from evals.understanding.score import model_settings

        model_settings(model)  # no provider configured: one clear line before anything is seeded
    sql_url = None if db is None else (db if "://" in db else f"sqlite:///{Path(db).resolve()}")
    options = EvalOptions(
        sets=sets or None,
        model=model,
        engine="planner" if planner else "auto",
        database_url=sql_url,
        customers=customers,
        seed=seed,
        output=output,
        baseline=baseline,
        sql_baseline=sql_baseline,
    )
    with console.status("running the eval sets…"):
        report = run_eval(options)
    for system in report.systems:
        console.print(f"[bold]{system.system}[/bold] ({system.engine})")
        console.print(metrics_table(system.metrics), markup=False)
    regressions = report.comparison.get("regressions", []) if report.comparison else []
    if report.comparison:
        console.print(f"compared with {report.comparison['baseline']}: {len(regressions)} regression(s)")
        for item in regressions:
            console.print(f"  REGRESSION {item}", markup=False)
    console.print(f"reports: {output / 'eval-report.md'} and {output / 'eval-report.json'}")
    if save_baseline is not None:
        save_baseline.parent.mkdir(parents=True, exist_ok=True)
        save_baseline.write_text(json.dumps(baseline_json(report), indent=1, default=str) + "\n", encoding="utf-8")
        console.print(f"baseline written to {save_baseline}")
    if fail_on_regression and regressions:
        raise typer.Exit(1)


def understanding_command(
    output: Annotated[
        Path, typer.Option(help="Where the Markdown report goes (the saved 'before': evals/understanding/baseline.md).")
    ] = Path("var/eval/understanding.md"),
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items (a quick look).")] = None,
    knowledge: Annotated[
        bool, typer.Option("--knowledge/--no-knowledge", help="Build the policy knowledge base for search_policy.")
    ] = True,
    title: Annotated[
        str | None,
        typer.Option(help="The report's heading (default: the offline desk, or the model named with --model)."),
    ] = None,
    labelled_set: Annotated[
        str, typer.Option("--set", help="test (frozen, report only), or dev, dev2 … dev33 (for tuning).")
    ] = "test",
    model: Annotated[
        str | None,
        typer.Option(
            help="Ask this model through the LLM agent instead of the offline desk, on the configured provider "
            "(CREDITDESK_LLM_BASE_URL and CREDITDESK_LLM_API_KEY for any OpenAI-compatible server, or OPENAI_API_KEY, "
            "or Azure).",
        ),
    ] = None,
) -> None:
    """Score the current offline desk — or, with --model, the LLM agent on that model — on the frozen understanding
    test set (evals/understanding/test.jsonl) or the dev set: intent accuracy, slot accuracy, clarification rate and
    confidently wrong answers."""
    from evals.understanding.score import (
        LABELLED_SETS,
        load_items,
        model_settings,
        render_markdown,
        run_items,
        summarise,
    )

    if labelled_set not in LABELLED_SETS:
        raise typer.BadParameter("--set is one of " + ", ".join(LABELLED_SETS))
    if model is not None:
        model_settings(model)  # no provider configured: one clear line before anything is seeded
    everything = load_items(LABELLED_SETS[labelled_set])
    items = everything[:limit] if limit else everything
    if title is None:
        title = "Understanding test set: " + ("offline desk" if model is None else f"model {model}")
    with console.status(f"asking {len(items)} items…"):
        judgements = run_items(items, knowledge=knowledge, model=model)
    overall = summarise(judgements).overall
    console.print(
        f"intent accuracy {overall.intent_accuracy:.1%} ({overall.right}/{overall.items}), "
        f"confidently wrong {overall.confidently_wrong}, slot accuracy "
        + ("n/a" if overall.slot_accuracy is None else f"{overall.slot_accuracy:.1%}"),
        markup=False,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_markdown(judgements, header=f"# {title}"), encoding="utf-8")
    console.print(f"report: {output}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("eval-understanding")(understanding_command)
