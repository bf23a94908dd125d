"""PNG charts for tool answers, drawn with matplotlib's Agg canvas (no display, no pyplot global state, so safe in
worker threads). Each function writes one file and returns a short alt text that states the plotted figures.

matplotlib is imported inside the functions: it costs a few hundred milliseconds and most answers have no chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 8.0, 4.5, 100
UNDISPUTED, DISPUTED, OVERDUE, LINE = "#2f6db5", "#d98c2b", "#c0392b", "#444444"


def compact(amount: Decimal | float) -> str:
    """1234567 → '1.23M' (for alt texts and labels)."""
    value = float(amount)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.0f}"


def _figure() -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    figure.set_layout_engine("constrained")
    return figure


def _save(figure: Figure, path: str | Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    # No software/version metadata: the same figures give the same bytes.
    figure.savefig(target, format="png", metadata={"Software": None})


def ageing_chart(
    path: str | Path,
    labels: Sequence[str],
    undisputed: Sequence[Decimal],
    disputed: Sequence[Decimal],
    currency: str,
    as_of: date,
) -> str:
    """Stacked bars per ageing bucket: undisputed, then disputed on top."""
    figure = _figure()
    axes = figure.add_subplot()
    positions = range(len(labels))
    lower = [float(v) for v in undisputed]
    upper = [float(v) for v in disputed]
    axes.bar(positions, lower, color=UNDISPUTED, label="undisputed")
    axes.bar(positions, upper, bottom=lower, color=DISPUTED, label="disputed")
    axes.set_xticks(list(positions), list(labels))
    axes.set_xlabel("days past due (by due date)")
    axes.set_ylabel(currency)
    axes.set_title(f"Open receivables by ageing bucket, {as_of}")
    axes.legend()
    _save(figure, path)
    parts = ", ".join(f"{label} {compact(u + d)}" for label, u, d in zip(labels, undisputed, disputed, strict=True))
    return f"Bar chart of open receivables by ageing bucket at {as_of} in {currency}: {parts}."


def trend_chart(
    path: str | Path,
    dates: Sequence[date],
    receivables: Sequence[Decimal],
    overdue: Sequence[Decimal],
    dso: Sequence[Decimal | None],
    currency: str,
) -> str:
    """Receivables and overdue per month end (left axis), DSO (right axis)."""
    figure = _figure()
    axes = figure.add_subplot()
    labels = [d.isoformat() for d in dates]
    axes.plot(labels, [float(v) for v in receivables], marker="o", color=UNDISPUTED, label="open receivables")
    axes.plot(labels, [float(v) for v in overdue], marker="o", color=OVERDUE, label="overdue")
    axes.set_ylabel(currency)
    axes.tick_params(axis="x", labelrotation=30)
    right = axes.twinx()
    right.plot(labels, [float(v) if v is not None else float("nan") for v in dso], ls="--", color=LINE, label="DSO")
    right.set_ylabel("DSO (days)")
    handles = axes.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    axes.legend(handles=handles, loc="upper left")
    axes.set_title("Receivables and DSO by month end")
    _save(figure, path)
    if not dates:
        return "Empty trend chart: no month-end snapshot was available."
    first, last = 0, len(dates) - 1
    return (
        f"Line chart of open receivables, overdue ({currency}) and DSO from {dates[first]} to {dates[last]}: "
        f"receivables {compact(receivables[first])} → {compact(receivables[last])}, overdue "
        f"{compact(overdue[first])} → {compact(overdue[last])}, DSO {dso[first]} → {dso[last]} days."
    )


def group_chart(
    path: str | Path,
    labels: Sequence[str],
    not_yet_due: Sequence[Decimal],
    overdue: Sequence[Decimal],
    currency: str,
    dimension: str,
    as_of: date,
) -> str:
    """Horizontal stacked bars per group: not yet due and overdue."""
    figure = _figure()
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    current = [float(v) for v in not_yet_due]
    late = [float(v) for v in overdue]
    axes.barh(positions, current, color=UNDISPUTED, label="not yet due")
    axes.barh(positions, late, left=current, color=OVERDUE, label="overdue")
    axes.set_yticks(positions, list(labels))
    axes.invert_yaxis()
    axes.set_xlabel(currency)
    axes.set_title(f"Open receivables by {dimension.replace('_', ' ')}, {as_of}")
    axes.legend()
    _save(figure, path)
    parts = ", ".join(
        f"{label} {compact(c + o)} ({compact(o)} overdue)"
        for label, c, o in zip(labels, not_yet_due, overdue, strict=True)
    )
    return f"Bar chart of open receivables by {dimension.replace('_', ' ')} at {as_of} in {currency}: {parts}."
