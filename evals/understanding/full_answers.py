"""Fully correct answers (issue 12's end-to-end measure): an item is answered fully correctly when it is understood
(the right capability with the customer, amounts and dates right, see `score.py`) **and** every other slot its label
states reached the tool — a portfolio question's measure, filters, grouping, ranking, list, period and comparison;
another tool's flags (group roll-up, dunning level and tone, what-if terms, promise state, dispute status …) — **and**
the answering call succeeded. A labelled part that no tool argument can carry counts only when the answer says it was
not applied (the label rules in the README ask exactly that). Free-text slots (reasons, notes, contacts, policy
topics) count when the call carries some text for them.

The figures themselves are not re-derived here: a tool given the right arguments is checked against independent
computations by the tool tests (`tests/test_*reference*`, the IBM as-of figures), so the right arguments to a tool
that ran are the right answer. What this adds to "understood" is everything the cheap slots leave out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from assistant.types import AssistantReply

# Days-past-due buckets as the portfolio tool reports them selected (inclusive day ranges).
BUCKETS = {"current": (None, 0), "1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90), "91-120": (91, 120),
           "120+": (121, None)}  # fmt: skip
# How a measure shows in a portfolio answer's body (definitions, notes and the filter line left out).
MEASURE_WORDS = {
    "open_ar": r"open (?:AR|receivables)|\breceivables\b|\bopen AR\b|\bAR\b",
    "overdue": r"overdue|past[- ]due",
    "ageing": r"\b1-30\b|\bage?ing\b",
    "exposure": r"exposure",
    "disputed_balance": r"disput",
    "open_invoice_count": r"\binvoices?\b",
    "customer_count": r"\bcustomers?\b",
    "dso": r"\bDSO\b",
    "dso_countback": r"count-?back",
    "best_possible_dso": r"best possible|\bBPDSO\b",
    "dso_change": r"\bDSO\b",
    "add": r"\bADD\b|days delinquent",
    "cei": r"\bCEI\b|collection effectiveness",
    "pct_current": r"current",
    "pct_over_90": r"over 90|\b9[01]\+",
    "broken_promises": r"broken",
    "promise_kept_rate": r"\bkept\b",
    "dispute_cycle_time": r"cycle|days to (?:resolve|close)",
    "credit_limit_utilisation": r"utili[sz]",
    "concentration": r"concentration",
}
# A ranking the tool can make: the label's measure -> the tool's rank_by.
RANKS = {"exposure": "exposure", "open_ar": "open_receivables", "overdue": "overdue", "disputed_balance": "disputed"}
# Labelled filter -> the result's filters_applied field (the same values, compared as sets, case-insensitively).
LIST_FILTERS = {"region": "regions", "country": "countries", "segment": "segments", "collector": "collectors",
                "risk_class": "risk_classes", "currency": "currencies", "credit_status": "credit_statuses",
                "industry": "industries"}  # fmt: skip
FREE_TEXT = frozenset({"reason", "text", "resolution", "contact", "query"})
SCORED_ELSEWHERE = frozenset({"customer", "amount", "new_limit", "change_by", "order_amount", "min_amount", "as_of",
                              "compare_to", "promised_date", "review_date", "readings"})  # fmt: skip
# Label keys that name a tool argument of another name (one risk class is a list of one to the worklist).
ARGUMENT_NAMES = {("get_invoice", "number"): ("number", "invoice_number"),
                  ("get_invoice", "invoice_number"): ("number", "invoice_number"),
                  ("build_worklist", "risk_class"): ("risk_class", "risk_classes"),
                  ("build_worklist", "risk_classes"): ("risk_classes", "risk_class")}  # fmt: skip
# A payment-behaviour window is the result's.
WINDOW = {"period_start": "window_start", "period_end": "window_end"}
_NOT_APPLIED_RE = re.compile(
    r"\bnot applied\b|\bcan(?:no|')t (?:filter|rank|sort|split)\b|\bnot (?:filtered|ranked|split) by\b", re.I
)
_DEFINITIONS_RE = re.compile(r"(?m)^_.*_$|^(?:Note|\*\*Not applied\*\*)\b.*$")
_CUSTOMER_TABLE_RE = re.compile(r"(?im)^\|[^\n]*\bcustomer\b[^\n]*\|$")
# How a slot's value shows in an answer when the tool has no argument for it (it answers all of them at once).
ANSWER_WORDS = {
    ("get_payment_behaviour", "measure"): {"avg_days_to_pay": r"days to pay", "avg_days_late": r"days late",
                                           "pct_paid_late": r"paid late", "trend": r"\btrend\b"},
    ("get_promise_history", "promise_state"): {"last": r"\blast promise\b", "open": r"\bopen\b",
                                               "kept": r"\bkept\b", "broken": r"\bbroken\b"},
}  # fmt: skip


# Measures of promises and disputes: the tool may cover them over a longer period than the rest (activity_period)
ACTIVITY_MEASURES = frozenset({"promise_kept_rate", "broken_promises", "dispute_cycle_time"})


def with_defaults(capability: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments with the tool's defaults filled in (calls are recorded without them)."""
    from tools.registry import get_tool

    fields = get_tool(capability).input_model.model_fields
    defaults = {name: info.default for name, info in fields.items() if info.default is not None}
    return defaults | {k: v for k, v in arguments.items() if v is not None}


def says_not_applied(reply: AssistantReply) -> bool:
    return _NOT_APPLIED_RE.search(reply.text) is not None


def answer_body(text: str) -> str:
    """The answer without its definitions and notes (they name every measure they define)."""
    return _DEFINITIONS_RE.sub(" ", text)


def about_the_same(label: str, given: str) -> bool:
    """Free text scored leniently: present, and sharing the start of a word of four letters or more with the label's."""
    stems = {word[:6] for word in re.findall(r"[^\W\d_]{4,}", label.casefold())}  # "deterioration" ~ "deteriorated"
    return bool(given.strip()) and (not stems or any(stem in given.casefold() for stem in stems))


def _values(value: Any) -> set[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return {str(v).strip().casefold() for v in items if v is not None}


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return bool(expected) == bool(got)
    if isinstance(expected, list | tuple) or isinstance(got, list | tuple):
        return _values(expected) == _values(got)
    try:
        return Decimal(str(expected)) == Decimal(str(got))
    except InvalidOperation:
        return str(expected).strip().casefold()[:10] == str(got).strip().casefold()[:10]


def expected_buckets(low: int | None, high: int | None) -> set[str]:
    """The ageing buckets a days-past-due range covers (a bound inside a bucket takes the whole bucket)."""
    low = 1 if low is None else low
    chosen = set()
    for name, (start, end) in BUCKETS.items():
        start_day = -(10**6) if start is None else start
        end_day = 10**6 if end is None else end
        if end_day >= low and (high is None or start_day <= high):
            chosen.add(name)
    return chosen


def own_book(value: Any, user: str | None) -> bool:
    """A collector's "my …": the tools restrict a collector to their own book by role, with or without the name."""
    return user is not None and _values(value) == {user.casefold()}


def portfolio_checks(slots: dict[str, Any], arguments: dict[str, Any], result: dict[str, Any],
                     reply: AssistantReply, collector: str | None = None,
                     country_codes_are_regions: bool = False) -> dict[str, bool]:  # fmt: skip
    applied = result.get("filters_applied") or {}
    body = answer_body(reply.text)
    checks: dict[str, bool] = {}
    measure = slots.get("measure")
    selected = set(applied.get("buckets_selected") or []) - {"current"}
    if measure in MEASURE_WORDS:
        checks["measure"] = re.search(MEASURE_WORDS[measure], body, re.I) is not None or (
            measure == "overdue" and bool(selected)  # "the 90+ total": the selected past-due receivables
        )
        if measure == "open_invoice_count":
            checks["measure"] = checks["measure"] and bool(arguments.get("count_open_invoices"))
    filters = dict(slots.get("filters") or {})
    if own_book(filters.get("collector"), collector) and applied.get("restricted_to_own_book"):
        checks["filters.collector"] = bool(filters.pop("collector"))
    if "country" in filters and all(v.isdigit() for v in _values(filters["country"])):
        # the IBM sample's numeric country codes are imported as its regions (the ibm-ar mapping)
        wanted = _values(filters.pop("country"))
        checks["filters.country"] = wanted in (_values(applied.get("countries") or []),
                                               _values(applied.get("regions") or []))  # fmt: skip
    for key, field in LIST_FILTERS.items():
        if key in filters:
            checks[f"filters.{key}"] = _values(filters.pop(key)) == _values(applied.get(field) or [])
    if "dpd_min" in filters or "dpd_max" in filters:
        wanted = expected_buckets(filters.pop("dpd_min", None), filters.pop("dpd_max", None))
        checks["filters.days_past_due"] = wanted == set(applied.get("buckets_selected") or [])
    if "over_limit" in filters:
        checks["filters.over_limit"] = filters.pop("over_limit") is True and bool(applied.get("over_limit"))
    promise_fields = {"broken": "broken_promise_in_period", "kept": "kept_promise_in_period", "open": "open_promise"}
    if filters.get("promise_state") in promise_fields:
        checks["filters.promise_state"] = bool(applied.get(promise_fields[filters.pop("promise_state")]))
    if filters.get("disputed") == "exclude":
        filters.pop("disputed")
        checks["filters.disputed"] = bool(applied.get("exclude_disputed"))
    elif filters.get("disputed") == "only":
        filters.pop("disputed")
        checks["filters.disputed"] = (
            arguments.get("rank_by") == "disputed" or measure == "disputed_balance" or says_not_applied(reply)
        )
    for key, field in (("min_balance", "min_balance"), ("review_due_by", "review_due_by"),
                       ("min_utilisation", "min_utilisation_pct")):  # fmt: skip
        if key in filters:
            checks[f"filters.{key}"] = applied.get(field) is not None and _same(filters.pop(key), applied[field])
    for key in filters:  # no argument carries them
        checks[f"filters.{key}"] = says_not_applied(reply)
    if "group_by" in slots:
        checks["group_by"] = slots["group_by"] == result.get("group_by") or (
            slots["group_by"] == "country"
            and (says_not_applied(reply) or (country_codes_are_regions and result.get("group_by") == "region"))
        )
    rank = slots.get("rank")
    if isinstance(rank, dict) and rank.get("by") == "add":
        # worst or best payers: customers ranked by the days late of what they paid (the `payers` ranking)
        order = "latest_first" if rank.get("order") != "bottom" else "earliest_first"
        top_n = with_defaults("get_portfolio_summary", arguments).get("top_n")
        checks["rank"] = arguments.get("payers") == order and top_n == rank.get("n")
    elif isinstance(rank, dict):
        tool_rank = RANKS.get(str(rank.get("by")))
        if tool_rank is None:
            checks["rank"] = says_not_applied(reply)
        else:
            top_n = with_defaults("get_portfolio_summary", arguments).get("top_n")
            order = "smallest_first" if rank.get("order") == "bottom" else "largest_first"
            checks["rank"] = (
                top_n == rank.get("n")
                and result.get("rank_by") == tool_rank
                and result.get("rank_order", "largest_first") == order
            )
    if slots.get("list"):
        checks["list"] = arguments.get("group_by") == "customer" or _CUSTOMER_TABLE_RE.search(body) is not None
    activity = measure in ACTIVITY_MEASURES or "promise_state" in (slots.get("filters") or {})
    periods = {**result, "period": result["activity_period"]} if activity and result.get("activity_period") else result
    for key in ("period_start", "period_end", "trend_months"):
        if key in slots:
            checks[key] = _period_matches(key, slots[key], arguments, periods)
    if "sales_window_days" in slots:  # the tool's periods are calendar months: 90 days is three of them
        months = (result.get("period") or {}).get("months")
        checks["sales_window_days"] = months == max(1, round(int(slots["sales_window_days"]) / 30))
    return checks


def _period_matches(key: str, value: Any, arguments: dict[str, Any], result: dict[str, Any]) -> bool:
    period = result.get("period") or {}
    if key == "trend_months":
        return len(result.get("trend") or []) >= int(value) or arguments.get("trend_months") == value
    field = "start" if key == "period_start" else "end"
    return str(period.get(field, ""))[:10] == str(value)[:10]


def tool_checks(capability: str, slots: dict[str, Any], arguments: dict[str, Any], result: dict[str, Any],
                reply: AssistantReply, collector: str | None = None) -> dict[str, bool]:  # fmt: skip
    checks: dict[str, bool] = {}
    body = answer_body(reply.text)
    for key, value in slots.items():
        if key in SCORED_ELSEWHERE:
            continue
        words = ANSWER_WORDS.get((capability, key), {})
        if str(value) in words:
            checks[key] = re.search(words[str(value)], body, re.I) is not None
            continue
        if capability == "get_payment_behaviour" and key in WINDOW:
            checks[key] = str(result.get(WINDOW[key], ""))[:10] == str(value)[:10]
            continue
        names = ARGUMENT_NAMES.get((capability, key), (key,))
        got = next((arguments[name] for name in names if arguments.get(name) is not None), None)
        if got is None and key not in FREE_TEXT:
            got = result.get(key)  # the tool filled it itself (a limit change in the customer's currency)
        if key == "currency" and got is None:  # a proposal in the customer's currency names it in its summary
            got = value if re.search(rf"\b{re.escape(str(value))}\b", str(result.get("summary", ""))) else None
        if key in ("collector", "collectors") and got is None and own_book(value, collector):
            checks[key] = True
        elif key in FREE_TEXT:
            checks[key] = about_the_same(str(value), str(got or ""))
        elif key == "include_group" and not value:
            checks[key] = not got
        else:
            checks[key] = got is not None and _same(value, got)
    return checks


def full_checks(
    capability: str,
    slots: dict[str, Any],
    reply: AssistantReply,
    call_of: Callable[[AssistantReply], Any],
    *,
    collector: str | None = None,
    country_codes_are_regions: bool = False,
) -> dict[str, bool]:
    """Each labelled slot beyond the cheap ones, right or wrong, for a reply whose tool is the label's.
    `collector`: the asking user when a collector (whose tools keep to their own book);
    `country_codes_are_regions`: the IBM sample, whose import files each country code as a region."""
    call = call_of(reply)
    if call is None:
        return {}
    checks = {"tool_succeeded": call.error is None and call.result is not None}
    arguments = with_defaults(capability, call.arguments)
    if capability == "get_portfolio_summary":
        checks |= portfolio_checks(slots, arguments, call.result or {}, reply, collector, country_codes_are_regions)
    else:
        checks |= tool_checks(capability, slots, arguments, call.result or {}, reply, collector)
    return checks
