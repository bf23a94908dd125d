"""PNG charts for tool answers. A tool *plans* a chart: it writes a small JSON spec of the plotted figures beside
the chart's path and gets the alt text back, which states those figures. The PNG is drawn on first use
(`materialise`: when a surface serves, uploads or prints it), with matplotlib's Agg canvas (no display, no pyplot
global state, so safe in worker threads). Drawing costs a few hundred milliseconds; most answers that plan a chart
are read as text (the CLI, evaluations, Slack threads nobody opens), so the answer never waits for it.

A chart's file name carries a digest of its figures, so a name always means the same picture and a spec never goes
stale. matplotlib is imported only when drawing.
"""

from __future__ import annotations

import os
import tempfile
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 8.0, 4.5, 100
UNDISPUTED, DISPUTED, OVERDUE, LINE = "#2f6db5", "#d98c2b", "#c0392b", "#444444"
_DRAWING = threading.Lock()


def compact(amount: Decimal | float) -> str:
    """1234567 → '1.23M' (for alt texts and labels)."""
    value = float(amount)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.0f}"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    currency: str


class AgeingChart(_Spec):
    """Stacked bars per ageing bucket: undisputed, then disputed on top."""

    kind: Literal["ageing"] = "ageing"
    labels: list[str]
    undisputed: list[Decimal]
    disputed: list[Decimal]
    as_of: date

    def alt_text(self) -> str:
        parts = ", ".join(
            f"{label} {compact(u + d)}" for label, u, d in zip(self.labels, self.undisputed, self.disputed, strict=True)
        )
        return f"Bar chart of open receivables by ageing bucket at {self.as_of} in {self.currency}: {parts}."

    def draw(self, figure: Figure) -> None:
        axes = figure.add_subplot()
        positions = range(len(self.labels))
        lower = [float(v) for v in self.undisputed]
        axes.bar(positions, lower, color=UNDISPUTED, label="undisputed")
        axes.bar(positions, [float(v) for v in self.disputed], bottom=lower, color=DISPUTED, label="disputed")
        axes.set_xticks(list(positions), list(self.labels))
        axes.set_xlabel("days past due (by due date)")
        axes.set_ylabel(self.currency)
        axes.set_title(f"Open receivables by ageing bucket, {self.as_of}")
        axes.legend()


class TrendChart(_Spec):
    """Receivables and overdue per month end (left axis), DSO (right axis)."""

    kind: Literal["trend"] = "trend"
    dates: list[date]
    receivables: list[Decimal]
    overdue: list[Decimal]
    dso: list[Decimal | None]

    def alt_text(self) -> str:
        if not self.dates:
            return "Empty trend chart: no month-end snapshot was available."
        first, last = 0, len(self.dates) - 1
        return (
            f"Line chart of open receivables, overdue ({self.currency}) and DSO from {self.dates[first]} to "
            f"{self.dates[last]}: receivables {compact(self.receivables[first])} → {compact(self.receivables[last])}, "
            f"overdue {compact(self.overdue[first])} → {compact(self.overdue[last])}, DSO {self.dso[first]} → "
            f"{self.dso[last]} days."
        )

    def draw(self, figure: Figure) -> None:
        axes = figure.add_subplot()
        labels = [d.isoformat() for d in self.dates]
        axes.plot(labels, [float(v) for v in self.receivables], marker="o", color=UNDISPUTED, label="open receivables")
        axes.plot(labels, [float(v) for v in self.overdue], marker="o", color=OVERDUE, label="overdue")
        axes.set_ylabel(self.currency)
        axes.tick_params(axis="x", labelrotation=30)
        right = axes.twinx()
        dso = [float(v) if v is not None else float("nan") for v in self.dso]
        right.plot(labels, dso, ls="--", color=LINE, label="DSO")
        right.set_ylabel("DSO (days)")
        handles = axes.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        axes.legend(handles=handles, loc="upper left")
        axes.set_title("Receivables and DSO by month end")


class GroupChart(_Spec):
    """Horizontal stacked bars per group: not yet due and overdue."""

    kind: Literal["group"] = "group"
    labels: list[str]
    not_yet_due: list[Decimal]
    overdue: list[Decimal]
    dimension: str
    as_of: date

    def alt_text(self) -> str:
        parts = ", ".join(
            f"{label} {compact(c + o)} ({compact(o)} overdue)"
            for label, c, o in zip(self.labels, self.not_yet_due, self.overdue, strict=True)
        )
        dimension = self.dimension.replace("_", " ")
        return f"Bar chart of open receivables by {dimension} at {self.as_of} in {self.currency}: {parts}."

    def draw(self, figure: Figure) -> None:
        axes = figure.add_subplot()
        positions = list(range(len(self.labels)))
        current = [float(v) for v in self.not_yet_due]
        axes.barh(positions, current, color=UNDISPUTED, label="not yet due")
        axes.barh(positions, [float(v) for v in self.overdue], left=current, color=OVERDUE, label="overdue")
        axes.set_yticks(positions, list(self.labels))
        axes.invert_yaxis()
        axes.set_xlabel(self.currency)
        axes.set_title(f"Open receivables by {self.dimension.replace('_', ' ')}, {self.as_of}")
        axes.legend()


ChartSpec = Annotated[AgeingChart | TrendChart | GroupChart, Field(discriminator="kind")]
_SPECS: TypeAdapter[AgeingChart | TrendChart | GroupChart] = TypeAdapter(ChartSpec)


def spec_bytes(spec: AgeingChart | TrendChart | GroupChart) -> bytes:
    """The spec as canonical JSON (the same figures give the same bytes, so they can name the file)."""
    return spec.model_dump_json().encode()


def _spec_file(path: Path) -> Path:
    return path.with_suffix(".json")


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=target.parent, prefix=".chart-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def plan(path: str | Path, spec: AgeingChart | TrendChart | GroupChart) -> str:
    """Record `spec` as the chart to draw at `path` and return its alt text. Nothing is drawn yet."""
    target = Path(path)
    spec_file = _spec_file(target)
    if not target.is_file() and not spec_file.is_file():
        _write_atomically(spec_file, spec_bytes(spec))
    return spec.alt_text()


def materialise(path: str | Path) -> Path | None:
    """The chart's PNG, drawn now from its spec if it was only planned; None when there is neither."""
    target = Path(path)
    if target.is_file():
        return target
    try:
        spec = _SPECS.validate_json(_spec_file(target).read_bytes())
    except FileNotFoundError:
        return None
    with _DRAWING:
        if not target.is_file():
            _write_atomically(target, draw(spec))
    return target


def draw(spec: AgeingChart | TrendChart | GroupChart) -> bytes:
    """The PNG bytes of `spec` (no software/version metadata: the same figures give the same bytes)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    figure.set_layout_engine("constrained")
    spec.draw(figure)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
