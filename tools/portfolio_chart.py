"""The portfolio summary's chart: the figures to plot taken from the summary, a file name that follows from the
request and the figures, and the plan (spec and alt text) that `tools.charts` draws on first use."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from core.settings import get_settings
from tools import charts

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.portfolio import ChartInfo, PortfolioSummary, PortfolioSummaryInput


def chart_path(ctx: ToolContext, args: PortfolioSummaryInput, as_of: date, figures: bytes) -> str:
    """Where the chart of this request goes: named by the request and by the plotted figures, so a name always
    means one picture."""
    request = {
        "args": args.model_dump(mode="json"),
        "as_of": as_of.isoformat(),
        "currency": ctx.reporting_currency,
        "book": ctx.book_collector_id,
    }
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode() + figures).hexdigest()[:16]
    return str(get_settings().data_dir / "charts" / f"portfolio-{args.chart}-{digest}.png")


def chart_spec(
    args: PortfolioSummaryInput, summary: PortfolioSummary
) -> charts.AgeingChart | charts.TrendChart | charts.GroupChart:
    currency = summary.reporting_currency
    if args.chart == "ageing":
        rows = summary.totals.ageing
        return charts.AgeingChart(
            labels=[r.bucket for r in rows],
            undisputed=[r.excluding_disputed for r in rows],
            disputed=[r.including_disputed - r.excluding_disputed for r in rows],
            currency=currency,
            as_of=summary.as_of,
        )
    if args.chart == "trend":
        points = summary.trend
        return charts.TrendChart(
            dates=[p.as_of for p in points],
            receivables=[p.open_receivables for p in points],
            overdue=[p.overdue for p in points],
            dso=[p.dso for p in points],
            currency=currency,
        )
    groups = summary.groups
    return charts.GroupChart(
        labels=[g.label for g in groups],
        not_yet_due=[g.figures.not_yet_due.value or Decimal(0) for g in groups],
        overdue=[g.figures.overdue.value or Decimal(0) for g in groups],
        currency=currency,
        dimension=summary.group_by or "group",
        as_of=summary.as_of,
    )


def render_chart(ctx: ToolContext, args: PortfolioSummaryInput, summary: PortfolioSummary) -> ChartInfo | None:
    """The chart the request asked for, planned (its PNG is drawn when a surface first uses it)."""
    if args.chart == "none":
        return None
    spec = chart_spec(args, summary)
    path = chart_path(ctx, args, summary.as_of, charts.spec_bytes(spec))
    from tools.portfolio import ChartInfo  # the summary's own model: imported late, the summary imports this module

    return ChartInfo(kind=args.chart, path=path, alt_text=charts.plan(path, spec))
