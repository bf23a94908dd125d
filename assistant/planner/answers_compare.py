"""A portfolio figure set beside the same query at an earlier date ("this quarter vs last", "since last week"):
both values as the tool gave them, side by side, with the dates each covers."""

from __future__ import annotations

from typing import Any

from .answers_portfolio import FOCUS_KPIS, KPI_LABELS, kpi_text
from .format import table

J = dict[str, Any]


def comparison(now: J, earlier: J, focus: list[str], label: str) -> str:
    keys: list[str] = []
    for name in focus:
        keys.extend(k for k in FOCUS_KPIS.get(name, []) if k not in keys)
    if not keys:
        keys = FOCUS_KPIS["default"]
    first, second = now["period"], earlier["period"]
    rows = [[KPI_LABELS.get(k, k), kpi_text(now["totals"][k]), kpi_text(earlier["totals"][k])] for k in keys]
    headers = [
        "measure",
        f"as of {now['as_of']} (period {first['start']}–{first['end']})",
        f"as of {earlier['as_of']} (period {second['start']}–{second['end']})",
    ]
    return f"Compared ({label}), same filters at both dates:" + table(headers, rows)
