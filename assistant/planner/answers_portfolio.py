"""The offline planner's portfolio answers: the figures a question focuses on, groups, rankings, ageing and the
trend, with the definitions the tool gave. `answers_compare` puts two of them side by side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .answers import definitions_line, paragraphs
from .format import bullets, count, days, money, pct, plain, table

J = dict[str, Any]


FOCUS_KPIS = {
    "dso": ["dso", "dso_count_back", "best_possible_dso", "add"],
    "cei": ["cei"],
    "current": ["pct_current", "pct_over_90"],
    "promises": ["promise_kept_rate_count", "promise_kept_rate_amount", "promises_evaluated", "promises_broken"],
    "disputes": ["disputed", "dispute_cycle_time", "disputes_resolved"],
    "disputed": ["disputed", "open_receivables"],
    "overdue": ["overdue"],
    "receivables": ["open_receivables", "overdue"],
    "customers": ["customers_with_balance", "open_receivables"],
    "invoices": ["open_invoices", "open_receivables"],
    "exposed": ["total_exposure", "open_receivables", "overdue"],
    "default": ["open_receivables", "overdue", "total_exposure", "pct_over_90", "dso", "cei"],
}
KPI_LABELS = {
    "open_receivables": "Open receivables",
    "open_invoices": "Open invoices",
    "not_yet_due": "Not yet due",
    "overdue": "Overdue",
    "disputed": "Disputed",
    "customers_with_balance": "Customers with a balance",
    "open_orders": "Open orders",
    "total_exposure": "Total exposure",
    "dso": "DSO",
    "dso_count_back": "DSO (count-back)",
    "best_possible_dso": "Best possible DSO",
    "add": "ADD",
    "cei": "CEI",
    "pct_current": "% current",
    "pct_over_90": "% over 90 days",
    "promise_kept_rate_count": "Promises kept (count)",
    "promise_kept_rate_amount": "Promises kept (amount)",
    "promises_evaluated": "Promises evaluated",
    "promises_broken": "Promises broken",
    "dispute_cycle_time": "Dispute cycle time",
    "disputes_resolved": "Disputes resolved",
}
DEFINITION_KEYS = {
    "open_invoices": "open_invoices",
    "dso": "dso",
    "dso_count_back": "dso_count_back",
    "best_possible_dso": "best_possible_dso",
    "add": "add",
    "cei": "cei",
    "pct_current": "pct_current",
    "pct_over_90": "pct_over_90",
    "open_receivables": "open_receivables",
    "total_exposure": "total_exposure",
    "promise_kept_rate_count": "promise_kept_rate",
    "dispute_cycle_time": "dispute_cycle_time",
}


def kpi_text(kpi: J) -> str:
    value, unit = kpi.get("value"), kpi.get("unit")
    if value is None:
        return f"n/a ({kpi.get('note') or 'not defined'})"
    if unit == "%":
        return pct(value)
    if unit == "days":
        return days(value)
    if unit == "count":
        return count(value)
    return money(value, unit)


def portfolio(result: J, *, focus: list[str], whole_book_asked: bool = False) -> str:
    totals = result["totals"]
    filters = result["filters_applied"]
    period = result["period"]
    own_book = bool(filters.get("restricted_to_own_book"))
    scope = "the whole book" if not filters["descriptions"] else "the selection"
    if own_book:
        scope = "your book" if len(filters["descriptions"]) == 1 else "the selection from your book"
    lines = [
        f"Portfolio — {scope} as of {result['as_of']} ({result['reporting_currency']}; period {period['start']} to "
        f"{period['end']}, data from {result['data_source']}):"
    ]
    if own_book and whole_book_asked:
        lines.append(
            "As a collector you see only your own book, so these figures cover just the customers assigned to you; "
            "ask a credit analyst or manager for the company-wide view."
        )
    if filters["descriptions"]:
        lines.append("Filters: " + " ".join(filters["descriptions"]))
    keys: list[str] = []
    for name in focus:
        for key in FOCUS_KPIS.get(name, []):
            if key not in keys:
                keys.append(key)
    payers = result.get("payers")
    if not keys and payers:
        keys = ["overdue", "add"]
    if not keys and not {"ageing", "split", "top", "concentration", "trend"} & set(focus):
        keys = FOCUS_KPIS["default"]
    used_definitions: list[str] = []
    groups = [g for g in result.get("groups") or [] if g["key"] is not None or result["group_by"] != "customer"]
    if result.get("group_by") and not groups:  # nothing selected, so no group to show
        lines.append(f"No customer{' of your book' if own_book else ''} matches these filters.")
        lines.extend(f"Note: {note}" for note in result.get("notes", []))
        return paragraphs(lines)
    rest = result["groups"][-1] if result.get("groups") else None
    if groups and result["group_by"] == "customer" and rest and rest["key"] is None and _any_figure(rest):
        groups.append(rest)  # "Other customers": what the list leaves out
    if groups and not keys and "ageing" in focus:  # "ageing by region": the buckets of each group
        buckets = [a["bucket"] for a in totals["ageing"]]
        currency = result["reporting_currency"]
        rows = [
            [g["label"], *(money(a["including_disputed"], currency) for a in g["figures"]["ageing"]),
             kpi_text(g["figures"]["open_receivables"])]
            for g in groups
        ]  # fmt: skip
        rows.append(["**total**", *(money(a["including_disputed"], currency) for a in totals["ageing"]),
                     kpi_text(totals["open_receivables"])])  # fmt: skip
        lines.append(table([str(result["group_by"]).replace("_", " "), *buckets, "Open receivables"], rows))
    elif groups:
        group_keys = keys or ["open_receivables", "overdue"]
        headers = [str(result["group_by"]).replace("_", " "), *(KPI_LABELS.get(k, k) for k in group_keys)]
        rows = [[g["label"], *(kpi_text(g["figures"][k]) for k in group_keys)] for g in groups]
        rows.append(["**total**", *(kpi_text(totals[k]) for k in group_keys)])
        lines.append(table(headers, rows))
        used_definitions.extend(DEFINITION_KEYS[k] for k in group_keys if k in DEFINITION_KEYS)
    elif keys:
        lines.append(bullets([f"{KPI_LABELS.get(k, k)}: **{kpi_text(totals[k])}**" for k in keys]))
        used_definitions.extend(DEFINITION_KEYS[k] for k in keys if k in DEFINITION_KEYS)
    if "ageing" in focus and not groups:
        rows = [
            [a["bucket"], money(a["including_disputed"], result["reporting_currency"]),
             money(a["excluding_disputed"], result["reporting_currency"])]
            for a in totals["ageing"]
        ]  # fmt: skip
        lines.append(table(["bucket", "including disputed", "excluding disputed"], rows))
        used_definitions.append("ageing")
    if "ageing" in focus and groups:
        used_definitions.append("ageing")
    if "top" in focus or "concentration" in focus:
        if "top" in focus:
            currency = result["reporting_currency"]
            ranked_by = result.get("rank_by") or "exposure"
            extra = {"open_receivables": "receivables", "disputed": "disputed"}.get(ranked_by)
            rows = [
                [plain(t["rank"]), t["name"], money(t["exposure"], currency), money(t["overdue"], currency),
                 *([money(t[extra], currency)] if extra else []), pct(t["share_pct"]), t["risk_class"] or "n/a"]
                for t in result["top_exposures"]
            ]  # fmt: skip
            order = "smallest first" if result.get("rank_order") == "smallest_first" else "largest first"
            if ranked_by != "exposure" or order == "smallest first":
                lines.append(f"Ranked by {ranked_by.replace('_', ' ')}, {order}.")
            headers = ["rank", "customer", "exposure", "overdue", *([extra] if extra else []), "share", "class"]
            lines.append(table(headers, rows))
        lines.append(f"Concentration: **{kpi_text(result['concentration'])}** ({result['concentration']['formula']}).")
        used_definitions.append("concentration")
    if payers:
        lines.append(payer_table(payers, result["reporting_currency"]))
        used_definitions.insert(0, "payers")
    if "trend" in focus and result.get("trend"):
        rows = [
            [t["as_of"], money(t["open_receivables"], result["reporting_currency"]),
             money(t["overdue"], result["reporting_currency"]), pct(t["pct_over_90"]), days(t["dso"])]
            for t in result["trend"]
        ]  # fmt: skip
        lines.append(table(["month end", "open receivables", "overdue", "% over 90", "DSO"], rows))
        if result.get("dso_change"):
            lines.append(result["dso_change"]["explanation"])
    lines.extend(f"Note: {note}" for note in result.get("notes", []))
    if result.get("chart"):
        lines.append(f"Chart: {result['chart']['alt_text']}")
    definitions = result.get("definitions", {})
    seen: list[str] = []
    for key in ["ageing", *used_definitions]:
        text = definitions.get(key)
        if text and text not in seen and (key != "ageing" or "ageing" in used_definitions or groups):
            seen.append(text)
    lines.append(definitions_line(seen[:4]))
    return paragraphs(lines)


def _any_figure(group: J) -> bool:
    return any(
        kpi.get("value") not in (None, 0, "0", "0.00") for kpi in group["figures"].values() if isinstance(kpi, dict)
    )


def payer_table(payers: J, currency: str) -> str:
    order = "latest payers first" if payers["order"] == "latest_first" else "earliest payers first"
    heading = (
        f"Payers ranked by average days late ({order}), invoices paid {payers['window_start']} to "
        f"{payers['window_end']}, customers with at least {payers['min_paid_invoices']} paid:"
    )
    if not payers["rows"]:
        return heading + "\n\nNo customer of the selection paid that many invoices in the period."
    rows = [
        [plain(p["rank"]), p["name"], _lateness(p["weighted_average_days_late"]), count(p["paid_invoices"]),
         pct(p["share_paid_late_pct"]), money(p["paid_amount"], currency), p["risk_class"] or "n/a"]
        for p in payers["rows"]
    ]  # fmt: skip
    headers = ["rank", "customer", "average (weighted)", "paid invoices", "paid late", "paid", "class"]
    return heading + "\n\n" + table(headers, rows)


def _lateness(value: Any) -> str:
    """Days late as people say it: "12.5 days late", "3.0 days early", "on time"."""
    if value is None:
        return "n/a"
    number = Decimal(str(value))
    if number == 0:
        return "on time"
    return f"{days(abs(number))} {'late' if number > 0 else 'early'}"
