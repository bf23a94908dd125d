"""Scoring jobs: `creditdesk scores refresh` and `creditdesk model train|evaluate` (operator commands)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from core.errors import CreditDeskError
from integrations.cli.render import console, fail, progress_bar

if TYPE_CHECKING:
    from tools.payment_model import PaymentModelMetrics

scores_app = typer.Typer(help="Credit scores: the policy scorecard for every customer.", no_args_is_help=True)
model_app = typer.Typer(help="The payment-behaviour model (probability of paying late).", no_args_is_help=True)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _today() -> date:
    from core.dates import business_today
    from core.settings import get_settings

    return business_today(get_settings().timezone)


@scores_app.command("refresh")
def refresh_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of this date (default today).")] = None,
) -> None:
    """Score every customer, append the score history and update each customer's risk class and score."""
    from tools.scoring import refresh_scores

    try:
        with progress_bar() as progress:
            report = refresh_scores(None, _parse_date(as_of), progress=progress)
    except CreditDeskError as error:
        fail(error)
    table = Table("risk class", "customers", title=f"Scores as of {report.as_of} ({report.scorecard_version})")
    for risk_class, count in report.risk_classes.items():
        table.add_row(risk_class, f"{count:,}")
    console.print(table)
    console.print(
        f"{report.customers_scored:,} customers scored (mean {report.mean_score}), {report.history_rows_written:,} "
        f"history rows written, {report.customers_updated:,} customers updated in {report.seconds:.1f} s"
    )
    probability = (
        f"{report.late_probabilities:,} late-payment probabilities from {report.model_version}"
        if report.model_version
        else f"no late-payment probabilities: {report.model_note}"
    )
    console.print(probability)


def _metrics_table(metrics: PaymentModelMetrics, title: str) -> None:
    auc = f"{metrics.auc:.3f}" if metrics.auc is not None else "n/a (one outcome only)"
    skill = f"{metrics.brier_skill:.3f}" if metrics.brier_skill is not None else "n/a"
    console.print(
        f"[bold]{title}[/]: AUC {auc} · Brier {metrics.brier:.4f} (no-skill {metrics.brier_reference:.4f}, "
        f"skill {skill}) · {metrics.invoices:,} invoices, {metrics.late_invoices:,} late "
        f"({metrics.observed_late_rate:.1%}), issued {metrics.issued_from} … {metrics.issued_to}"
    )
    table = Table("decile", "invoices", "mean predicted", "observed late", "predicted range", title="Calibration")
    for row in metrics.calibration:
        table.add_row(
            str(row.bin),
            f"{row.invoices:,}",
            f"{row.mean_predicted:.1%}",
            f"{row.observed_rate:.1%}",
            f"{row.min_predicted:.1%} – {row.max_predicted:.1%}",
        )
    console.print(table)
    console.print(f"evaluated on {metrics.evaluated_on}")


@model_app.command("train")
def train_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Train on data up to this date (default today).")] = None,
    late_days: Annotated[
        int | None,
        typer.Option("--late-days", min=0, help="Late = paid more than N days after due (default: policy)."),
    ] = None,
) -> None:
    """Train the payment model on history up to the as-of date, hold out the latest quarter, save it."""
    from db.engine import read_session
    from tools.payment_model import train_payment_model

    day = _parse_date(as_of) or _today()
    try:
        with read_session() as session, progress_bar() as progress:
            result = train_payment_model(session, day, late_days, progress=progress)
    except CreditDeskError as error:
        fail(error)
    if result.metadata is None:
        console.print(f"[bold yellow]{result.message}[/]")
        raise typer.Exit(1)
    meta = result.metadata
    console.print(f"{meta.version}: {result.message} ({result.seconds:.1f} s); saved to {result.saved_to}")
    _metrics_table(meta.metrics, f"Held-out (late > {meta.late_threshold_days} days)")
    coefficients = Table("feature", "coefficient (standardised)", title="What drives the prediction")
    for name, value in sorted(meta.coefficients.items(), key=lambda item: -abs(item[1])):
        coefficients.add_row(name, f"{value:+.3f}")
    console.print(coefficients)


@model_app.command("evaluate")
def evaluate_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Outcomes known at this date (default today).")] = None,
) -> None:
    """Evaluate the saved model on invoices issued after its training period (never seen in training)."""
    from db.engine import read_session
    from tools.payment_model import evaluate_payment_model, load_payment_model

    day = _parse_date(as_of) or _today()
    model = load_payment_model()
    if model is None:
        fail("no trained payment model; run `creditdesk model train` first")
    try:
        with read_session() as session:
            metrics = evaluate_payment_model(session, day, model=model)
    except CreditDeskError as error:
        fail(error)
    console.print(f"{model.metadata.version} (trained on data up to {model.metadata.as_of})")
    _metrics_table(metrics, f"Out-of-time (late > {metrics.late_threshold_days} days)")


def register(app: typer.Typer) -> None:
    app.add_typer(scores_app, name="scores")
    app.add_typer(model_app, name="model")
