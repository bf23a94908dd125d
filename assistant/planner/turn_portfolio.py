"""The offline planner's portfolio questions: measures, filters, rankings, lists and comparisons as one query."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from assistant.catalogue import by_intent
from assistant.types import Choice
from core.dates import add_months, month_end, month_start

from . import answers_compare, answers_portfolio
from .comparisons import Comparison, change_between, compared_date, comparison, earlier_arguments, period_length
from .context import (
    INDUSTRY_ALIASES,
    REGION_ALIASES,
    SEGMENT_ALIASES,
    last_call,
    match_staff,
    match_values,
    vocabulary,
)
from .entities import (
    dpd_range,
    risk_classes,
)
from .intents import Intent
from .phrases import (
    _AGO_RE,
    _LIST_THEM_RE,
    _NARROW_RE,
    _REFINE_RE,
    _REVIEWS_DUE_NOW_RE,
    _VS_NOW_RE,
    BOOK_WORDS_RE,
    CONTINUES_RE,
    EXCLUDE_DISPUTED_RE,
    FOLLOW_UP_RE,
    GROUP_BY_RE,
    ONLY_RE,
    SAME_BUT_RE,
    WIDEN_RE,
)
from .portfolio_query import (
    KEPT_PROMISE_RE,
    KEPT_PROMISES_LISTED_RE,
    LIMIT_SIZE_RE,
    MAX_RANKED,
    OPEN_PROMISE_RE,
    REFERS_BACK_RE,
    asks_for_one,
    collection_rate_unnamed,
    counts_invoices,
    counts_overdue_customers,
    credit_statuses,
    days_unnamed,
    lists_customers,
    measure_unnamed,
    not_applied,
    over_limit,
    payer_order,
    rank_measure,
    ranking_count,
    rate_unnamed,
    sales_window_months,
    smallest_first,
    utilisation_threshold,
)
from .turn_customers import TurnCustomers
from .turn_state import Stop

_ADD_VERB_RE = re.compile(r"^\W*(?:(?:ok|and|also|now|then|pls|please)\W+)*(?-i:add|Add)\b", re.I)
_LIST_FILTERS = ("regions", "countries", "segments", "industries", "collectors", "risk_classes", "credit_statuses",
                 "currencies")  # fmt: skip
_DISPUTED_ONLY_RE = re.compile(r"\b(?:in|under)\s+dispute\b|\bdisputed\s+(?:invoices?|items?)\b", re.I)
# "overdue by segment - disputed invoices only", "open invoices currently in dispute": a filter the tool has not
_ONLY_DISPUTED_RE = re.compile(
    r"\b(?:disputed|in\s+dispute)\s+(?:(?:invoices?|items?|ones?)\s+)?only\b"
    r"|\bonly\s+(?:the\s+)?(?:disputed|in[- ]dispute)\b|\b(?:currently|still)\s+(?:in|under)\s+dispute\b"
    # "how much of what's overdue is actually under dispute?"
    r"|\bhow\s+much\s+of\b.{0,40}\b(?:is|are|was|were)\s+(?:\w+\s+)?(?:(?:in|under)\s+dispute|disputed)\b"
    # "what portion of the german overdue is actually in dispute?", "what share of overdue is disputed"
    r"|\b(?:portion|share|part|proportion|percentage|%|slice|chunk|bit)\s+of\b.{0,40}\b(?:is|are|was|were)\s+"
    r"(?:\w+\s+)?(?:(?:in|under)\s+disputes?|disputed|tied\s+up\s+in\s+disputes?)\b"
    r"|\btied\s+up\s+in\s+(?:a\s+)?disputes?\b",
    re.I,
)
# Currencies named in words or lower case ("open receivables in euros", "only gbp items")
_CURRENCY_WORDS = {"euros": "EUR", "euro": "EUR", "eur": "EUR", "sterling": "GBP", "pounds": "GBP", "gbp": "GBP",
                   "pesos": "MXN", "mxn": "MXN", "usd": "USD", "cad": "CAD", "aud": "AUD", "sgd": "SGD", "chf": "CHF",
                   "yen": "JPY", "jpy": "JPY", "us dollar": "USD", "canadian dollar": "CAD", "australian dollar": "AUD",
                   "singapore dollar": "SGD", "swiss franc": "CHF", "mexican peso": "MXN"}  # fmt: skip
_CURRENCY_WORD = "(" + "|".join(sorted(_CURRENCY_WORDS, key=len, reverse=True)) + ")"
# A currency's full name says it alone: "overdue in canadian dollar terms", "australian-dollar AR"
_FULL_NAME = "(" + "|".join(name.replace(" ", "[- ]") for name in _CURRENCY_WORDS if " " in name) + ")s?"
# "in euros", "only gbp", "euro-denominated receivables", "sterling invoices", "denominated in pesos"
_CURRENCY_WORDS_RE = re.compile(
    rf"\b{_FULL_NAME}\b"
    rf"|\b(?:in|only|of)\s+{_CURRENCY_WORD}\b(?!\s*\d)"
    rf"|\b{_CURRENCY_WORD}[- ](?:denominated|currency|invoices?|receivables|items|balances|customers|accounts|book)\b"
    rf"|\bdenominated\s+in\s+{_CURRENCY_WORD}\b",
    re.I,
)
_SIDE_BY_SIDE_RE = re.compile(
    r"\bvs\.?\b|\bversus\b|\bcompared?\b|\bagainst\b|\bside[- ]by[- ]side\b|\beach\b|\brespectively\b"
    r"|\bseparately\b|\bindividually\b",
    re.I,
)
_DIMENSIONS = [("regions", "region"), ("countries", "country"), ("segments", "segment"), ("industries", "industry"),
               ("collectors", "collector"), ("risk_classes", "risk_class"), ("currencies", "currency")]  # fmt: skip
# "make it 10" after a top 5: how many rows now
_MAKE_IT_RE = re.compile(r"\bmake\s+(?:it|that)\s+(?:the\s+)?(?:(?:top|bottom)\s*)?(\d{1,2})\b", re.I)
# The portfolio tool's periods run one to six calendar months; its promise and dispute figures up to 24.
MAX_PERIOD_MONTHS = 6
MAX_ACTIVITY_MONTHS = 24
_OVERDUE_WORD_RE = re.compile(r"\b(?:overdue|past[- ]due|late|delinquent)\b", re.I)
_ACTIVITY_RE = re.compile(r"\b(?:promis\w*|ptps?|disput\w*)\b", re.I)
_SALES_MEASURE_RE = re.compile(r"\b(?:dso|cei|add|sales|collection effectiveness|days sales)\b", re.I)


_WORST_BEST_RE = re.compile(r"\b(?:(worst|slowest|latest)|best|fastest|quickest|earliest)\b", re.I)
# The measures a ranking can be by (the tool's rank_by), as the answers name their focus
_RANKABLE = ("overdue", "disputed", "open_receivables", "exposure")
_FOCUS_RANKS = {"receivables": "open_receivables"}
_SAME_DAY_IN_RE = re.compile(r"\b(?:the\s+)?same\s+(?:date|day|point)\s+(?:in|of)\s+((?:19|20)\d\d)\b", re.I)


_DATE_ARGUMENTS = frozenset({"as_of", "period_start", "compare_to", "compare_period_start", "activity_period_start",
                             "review_due_by"})  # fmt: skip


def _as_date(key: str, value: Any) -> Any:
    return date.fromisoformat(value[:10]) if key in _DATE_ARGUMENTS and isinstance(value, str) else value


class TurnPortfolio(TurnCustomers):
    """A question about the book, read as one typed portfolio query."""

    def portfolio(self) -> str:
        vocab = vocabulary(self.request.database_url)
        text = self.text
        lowered = text.lower()
        args: dict[str, Any] = {}
        previous = last_call(self.history, "get_portfolio_summary")
        if measure_unnamed(text) and previous is None:
            self.ask_measure()
        again = FOLLOW_UP_RE.match(text) or SAME_BUT_RE.match(text)
        widen = previous is not None and WIDEN_RE.match(text) is not None
        just_before = previous is not None and bool(self.history) and previous in self.history[-1].tool_calls
        carried = previous is not None and bool(
            again
            or widen
            or _LIST_THEM_RE.match(text)
            or _REFINE_RE.match(text)
            or _NARROW_RE.match(text)
            or CONTINUES_RE.match(text)
            or (just_before and (ONLY_RE.match(text) or REFERS_BACK_RE.search(text)))
        )
        if previous is not None and carried:
            # the thread keeps the call's arguments as JSON: its dates come back as ISO strings
            args = {k: _as_date(k, v) for k, v in previous.arguments.items() if k not in ("chart",)}
        if previous is not None and _LIST_THEM_RE.match(text):
            args.update(group_by="customer", top_n=max(int(args.get("top_n", 0) or 0), 50))
        top = ranking_count(text, self.spans)  # before the grouping's words: "which 3 collectors …"
        group = GROUP_BY_RE.search(text)
        dimension = next(g for g in group.groups() if g).lower() if group else ""
        dimension = {"currencie": "currency", "countrie": "country"}.get(dimension, dimension)  # "currencies ranked"
        if group and dimension in ("country", "countries"):
            # an import that files country codes as regions (the IBM sample's) is split by them
            self.spans.add(*group.span())
            codes = all(region.isdigit() for region in vocab.regions) and bool(vocab.regions)
            args["group_by"] = "region" if codes else "country"
        elif group and dimension.startswith(("industr", "sector", "vertical")):
            self.spans.add(*group.span())
            args["group_by"] = "industry"
        elif group:
            self.spans.add(*group.span())
            key = dimension.replace(" ", "_").replace("colector", "collector")
            key = "segment" if key.startswith("segm") else key
            grade = key in ("class", "risk_class") or key.endswith(("grade", "rating", "band"))
            args["group_by"] = "risk_class" if grade else key
        elif re.search(r"\b(?:every|each)\s+(?:single\s+)?(?:customer|account|client|debtor)|\blist\s+(?:all|every)\b"
                       r"|\bcustomer[- ]by[- ]customer\b", text, re.I):  # fmt: skip
            args["group_by"] = "customer"  # "every customer's balance": one row per customer (the largest first)
            args.setdefault("top_n", 50)
        counted = None
        if top is not None and not 1 <= top <= MAX_RANKED:  # "top 500": the most a list shows, and said so
            counted = f"a ranking of {top}: a list shows 1 to {MAX_RANKED} customers"
            top = max(1, min(top, MAX_RANKED))
        more = (
            None
            if top
            else re.search(r"\bmake\s+(?:it|that)\s+(?:the\s+)?(?:(?:top|bottom)\s*)?(\d{1,2})\b", text, re.I)
        )
        if more:  # "make it 10" after a top 5
            self.spans.add(*more.span())
            top = max(1, min(int(more.group(1)), 50))
        if top:
            args["top_n"] = top
        between = change_between(text, self.today, self.spans)
        if between is not None:  # "DSO went up between Q2 and Q3": Q3, compared with Q2
            earlier_point, later_point = between
            args["as_of"] = later_point.day
            if later_point.period_start is not None:
                args["period_start"] = later_point.period_start
            if earlier_point.period_start is not None:
                args["compare_period_start"] = earlier_point.period_start
        # before dates: "since last week" is the earlier date, not as-of; "a month ago" is that day, not a month-end
        compared_on = compared_date(text, self.today, self.spans) if _AGO_RE.search(text) else None
        compared = comparison(text, self.spans) if compared_on is None else None
        compared_on = compared_on or (None if compared is not None else compared_date(text, self.today, self.spans))
        if between is not None and compared_on is None and compared is None:
            compared_on = (between[0].day, f"{between[0].label or between[0].day}")
        measure = rank_measure(text)
        payers = payer_order(text)
        if payers is not None:
            args["payers"] = payers  # "5 worst payers in EMEA": ranked by days late, beside the figures
        elif measure is not None:
            args["rank_by"] = measure
        if payers is None and smallest_first(text):
            args["rank_order"] = "smallest_first"  # "the 3 smallest balances in APAC"
            args.setdefault("top_n", 10)
        if asks_for_one(text) and "top_n" not in args:
            args["top_n"] = 1
        if counts_invoices(text):
            args["count_open_invoices"] = True
        # "how many invoices are overdue", "how many customers are past due": the past-due ones only
        counts_past_due = (counts_invoices(text) and _OVERDUE_WORD_RE.search(text)) or counts_overdue_customers(text)
        window = sales_window_months(text, self.spans)  # before day ranges: "90 days of sales" is no age filter
        if over_limit(text, self.spans):
            args["over_limit"] = True
        shortened = None
        same_day = _SAME_DAY_IN_RE.search(text)  # "at 31 May 2013 vs the same date in 2012"
        if same_day is not None:
            self.spans.add(*same_day.span())
        found = self.reporting_dates()  # before day ranges: "2035-01" is no bucket
        if found:
            mention = found[0]
            if mention.day < self.today or (mention.period_start is None and mention.day != self.today):
                args["as_of"] = mention.day  # "right now", "today": the default date, not one pinned in the thread
            if mention.period_start is not None and (mention.day >= self.today or mention.period_months is None):
                args["period_start"] = mention.period_start
                earliest = add_months(month_start(mention.day), -(MAX_PERIOD_MONTHS - 1))
                if mention.period_start < earliest:  # "DSO this year": the tool's periods are one to six months
                    args["period_start"] = earliest
                    about_activity = _ACTIVITY_RE.search(text) or (
                        carried and {"promises", "disputes"} & set(self.focus_of(previous))
                    )  # "and YTD?" after the promise kept rate
                    activity = about_activity and mention.period_start >= add_months(
                        month_start(mention.day), -(MAX_ACTIVITY_MONTHS - 1)
                    )
                    if activity:  # "promise kept rate YTD": promises and disputes over the whole of it
                        args["activity_period_start"] = mention.period_start
                    if not activity or _SALES_MEASURE_RE.search(text):
                        shortened = (
                            f"the whole of {mention.label or 'that period'}: periods are at most {MAX_PERIOD_MONTHS} "
                            f"months, so the figures {'other than promises and disputes ' if activity else ''}run "
                            f"from {earliest}"
                        )
            elif mention.period_months is not None:
                args["period_months"] = max(1, min(mention.period_months, 6))
        elif "as_of" not in args and (held := self.thread_as_of()) is not None:
            args["as_of"] = held  # "top 10 customers?" after open AR at 30 Nov 2012: at that date too
        if window is not None and "period_start" not in args:
            args["period_months"] = window
        utilisation = utilisation_threshold(text, self.spans)
        if utilisation is not None:
            args["min_utilisation_pct"] = str(utilisation)
        share_over = re.search(r"(?:%|\b(?:percent\w*|share|proportion)\b).{0,40}"
                               r"\b(?:over|above|more than|past|beyond|older than)\s+90\b"
                               r"|\b(?:over|above) 90\b.{0,20}(?:%|percent)",
                               text, re.I)  # fmt: skip
        # "and how much of that is over 60?" after a portfolio figure: days past due, said without the unit
        # "and over 60?" after a days-past-due figure: a new threshold for it
        of_that = previous is not None and (
            re.search(r"\bof\s+(?:that|those|it|them)\b|\boverdue\b", text, re.I)
            or (again and previous.arguments.get("min_days_past_due") is not None)
        )
        dpd = None if share_over else dpd_range(text, self.spans, bare_over=bool(of_that))
        if dpd is not None:
            if dpd.minimum is not None:
                args["min_days_past_due"] = dpd.minimum
            if dpd.maximum is not None:
                args["max_days_past_due"] = dpd.maximum
        elif counts_past_due:
            args["min_days_past_due"] = 1
        regions = match_values(text, vocab.regions, REGION_ALIASES, self.spans)
        if regions:
            args["regions"] = regions
        industries = match_values(text, vocab.industries, INDUSTRY_ALIASES, self.spans)
        if industries:
            args["industries"] = industries
        segments = match_values(text, vocab.segments, SEGMENT_ALIASES, self.spans)
        if segments:
            args["segments"] = segments
        collectors = match_staff(text, vocab, self.spans, roles=frozenset({"collector"}))
        if collectors:
            args["collectors"] = collectors
        countries = self.countries(vocab)
        if countries:
            args["countries"] = countries
        classes = risk_classes(text, self.spans)
        if classes:
            args["risk_classes"] = classes
        statuses = credit_statuses(text, self.spans)
        if statuses:
            args["credit_statuses"] = statuses
        currencies = re.findall(r"\b(?:in|only)\s+([A-Z]{3})\b(?:\s+only)?|\b([A-Z]{3})\s+(?:items|invoices|receivables"
                                r"|balances|customers|accounts|book)\b", text)  # fmt: skip
        currencies += [
            ("", _CURRENCY_WORDS[next(word for word in found if word).lower().replace("-", " ")])
            for found in _CURRENCY_WORDS_RE.findall(text)
        ]
        # "AUD + SGD overdue": a code standing alone, not the currency of an amount ("AUD 2,454.98")
        currencies += [
            ("", code.group(0))
            for code in re.finditer(r"(?<![\d.,])\b[A-Z]{3}\b(?!\s*[\d$€£])", text)
            if not self.spans.covers(*code.span())
        ]
        picked = list(dict.fromkeys(c for pair in currencies for c in pair if c and c in vocab.currencies))
        if picked:
            args["currencies"] = picked
        if re.search(
            r"\bbroken\s+(?:promises?|ptps?)\b|\b(?:promises?|ptps?)\s+(?:(?:was|were|has\s+been|have\s+been|got)\s+)?broken\b"
            r"|\bbroken? (?:a |their |its |any )?(?:promise|ptp)",
            text,
            re.I,
        ):
            args["broken_promise_in_period"] = True
            args.pop("kept_promise_in_period", None)
        elif (
            KEPT_PROMISE_RE.search(text)
            or (lists_customers(text) and KEPT_PROMISES_LISTED_RE.search(text))
            or (args.get("broken_promise_in_period") and re.search(r"\b(?:kept|honou?red)\b", text, re.I))
        ):
            args["kept_promise_in_period"] = True  # "and which ones kept theirs?" after those that broke one
            args.pop("broken_promise_in_period", None)
        elif OPEN_PROMISE_RE.search(text):
            args["open_promise"] = True
        if EXCLUDE_DISPUTED_RE.search(text):
            args["exclude_disputed"] = True
        elif _ONLY_DISPUTED_RE.search(text):
            args.pop("exclude_disputed", None)  # "now only the disputed ones" after the figures without them
        minimum = re.search(
            r"\b(?:owing|balances?|owes?)\s+(?:us\s+)?(?:of\s+)?(?:at least|over|above|more than|>=?)\s*"
            # "owe us 50k or more", "balances of 100k+"
            r"|\b(?:owing|owes?|balances?|outstanding)\b.{0,25}?\d[\d.,]*\s*(?:k|m|mm|bn|grand)?\s*"
            r"(?:\+|or (?:more|above|over)\b|plus\b|and (?:up|above|over)\b)"
            # "with more than 50k owing", "over 100k outstanding"
            r"|\b(?:more\s+than|over|above|at\s+least|>=?)\s*[$£€]?\d[\d.,]*\s*(?:k|m|mm|bn|grand)?\s+"
            r"(?:owing|owed|outstanding|open|in\s+(?:ar|receivables))\b",
            text,
            re.I,
        )
        if (minimum or (lists_customers(text) and re.search(r"\b(?:more|over|above|at least)\b", text, re.I))) and not (
            LIMIT_SIZE_RE.search(text)  # "customers with limits over 500k": the limit's size, not the balance
        ):
            amount = self.amount()
            if amount is not None:
                args["min_balance"] = str(amount.amount)
        review_due_by = self.review_due_by or (self.today if _REVIEWS_DUE_NOW_RE.search(text) else None)
        if review_due_by is not None:
            args["review_due_by"] = review_due_by
        selecting = ("over_limit", "min_balance", "min_days_past_due", "broken_promise_in_period", "open_promise",
                     "kept_promise_in_period", "risk_classes", "credit_statuses", "min_utilisation_pct")  # fmt: skip
        if "group_by" not in args and (
            (lists_customers(text) and any(args.get(key) for key in selecting)) or review_due_by
        ):
            args["group_by"] = "customer"  # "who owes us more than 750k": the customers, largest first
            args.setdefault("top_n", 50)
        trend = re.search(
            r"\btrend\w*\b|\bover time\b|\bhistory\b|\bmonth by month\b|\bmonth[- ]ends\b"
            r"|\beach of the (?:past|last) \d{1,2} months\b|\bmonth[- ]end\b.{0,40}\beach\b",
            lowered,
        )
        months = re.search(
            r"\b(?:over|for|last|past)\s+(?:the\s+)?(\d{1,2})\s+months?(?:[- ]ends?)?\b"
            r"|\b(\d{1,2})[- ]months?\s+(?:[\w%-]+\s+){0,2}trend\b|\b(?:over|for|in)\s+the\s+(?:past|last)\s+(year)\b"
            r"|\btrend\w*\W+(\d{1,2})\s*months?\b",  # "DSO trend, 12 months"
            lowered,
        )
        if trend and months:
            # "over the past year, month by month": 12
            count = months.group(1) or months.group(2) or months.group(4) or "12"
            args["trend_months"] = max(0, min(int(count), 12))
        if re.search(r"\bchart\b|\bgraph\b|\bplot\b|\bvisual\w*\b|\bpicture\b", lowered):
            drawn_before = self.focus_of(previous) if carried else []  # "chart it" after the DSO trend: the trend
            args["chart"] = (
                "trend" if trend or "trend" in drawn_before else "group" if args.get("group_by") else "ageing"
            )
        if "group_by" not in args and compared is None and compared_on is None and _SIDE_BY_SIDE_RE.search(text):
            # "% over 90 - enterprise vs mid-market": two values of one dimension, side by side
            split = next((dimension for key, dimension in _DIMENSIONS if len(args.get(key) or []) >= 2), None)
            if split is not None:
                args["group_by"] = split
        if widen and previous is not None:  # "add APAC too" after EMEA: both
            for key in _LIST_FILTERS:
                if args.get(key) and previous.arguments.get(key):
                    args[key] = list(dict.fromkeys([*previous.arguments[key], *args[key]]))
        if widen:  # "add APAC too": the verb, not ADD the measure
            lowered = _ADD_VERB_RE.sub("", text).lower()
        focus = self.portfolio_focus(lowered, args)
        earlier_focus = self.focus_of(previous) if carried and not self.portfolio_focus(lowered, {}) else []
        # "top 10 customers?" right after open AR at a date: ranked by the figure just shown
        thread_focus = self.focus_of(previous) if carried or (just_before and top) else []
        worst_or_best = _WORST_BEST_RE.search(text)
        ranked_payers = previous is not None and previous.arguments.get("payers") and (carried or just_before)
        if payers is None and worst_or_best and ranked_payers:  # "and the 5 best?" after the 5 worst payers
            args["payers"] = "earliest_first" if worst_or_best.group(1) is None else "latest_first"
        elif top and measure is None and payers is None and "dso" in thread_focus and worst_or_best:
            # "who are the 5 worst?" after the average days delinquent: ranked by how late they pay
            args["payers"] = "earliest_first" if worst_or_best.group(1) is None else "latest_first"
        elif top and measure is None and "rank_by" not in args and "payers" not in args:
            # "top 5 of those by amount" after the overdue: ranked by the figure the thread is about
            ranked_by = [_FOCUS_RANKS.get(name, name) for name in thread_focus]
            args["rank_by"] = next((name for name in ranked_by if name in _RANKABLE), "exposure")
        if earlier_focus:  # "and for Q3?" after CEI per collector: still the CEI
            focus = [*earlier_focus, *(name for name in focus if name not in earlier_focus and name != "split")]
        self.focus = focus
        if _ONLY_DISPUTED_RE.search(text):
            # the disputed part beside the figure asked for ("overdue … disputed items only")
            wanted = ["disputed", *(["overdue"] if re.search(r"\boverdue\b|\bpast[- ]due\b", lowered) else [])]
            focus += [name for name in wanted if name not in focus]
        if compared is not None:
            asked_months = (found[0].period_months or period_length(found[0].label)) if found else None
            earlier = earlier_arguments(args, compared, self.today, asked_months)
            args["compare_to"] = earlier["as_of"]
            if earlier.get("period_start"):
                args["compare_period_start"] = earlier["period_start"]
        if compared is None and compared_on is None and args.get("as_of") and _VS_NOW_RE.search(text):
            compared_on = (args.pop("as_of"), "vs now")  # "open AR at end of Q3 vs now": now, and then
        if same_day is not None and compared is None and compared_on is None:
            when = args.get("as_of") or self.today
            that_year = month_end(date(int(same_day.group(1)), when.month, 1))  # a month end's: that month's end
            if when != month_end(when):
                that_year = that_year.replace(day=min(when.day, that_year.day))
            compared_on = (that_year, same_day.group(0))
        if compared_on is not None and compared_on[0] < (args.get("as_of") or self.today):
            args["compare_to"] = compared_on[0]
            compared = Comparison(unit=None, label=compared_on[1])
        result = self.call("get_portfolio_summary", args)
        if result.get("chart"):
            self.charts.append(result["chart"]["path"])
        whole = bool(BOOK_WORDS_RE.search(text) or re.search(r"\bportfolio\b|\bcompany\b|\bour\b", text, re.I))
        answer = answers_portfolio.portfolio(result, focus=focus, whole_book_asked=whole)
        missing = [
            part
            for part in not_applied(text)
            if not (args.get("review_due_by") and "review" in part)
            and not (args.get("payers") and "days late" in part)
            and not (args.get("credit_statuses") and "credit status" in part)
            and not (args.get("min_utilisation_pct") and "utilisation" in part)
            and not (args.get("open_promise") and "open promises" in part)
        ]
        if args.get("count_open_invoices") and _DISPUTED_ONLY_RE.search(text) and not args.get("exclude_disputed"):
            missing.append("only disputed invoices: the count is of every open invoice; the disputed balance is shown")
        elif _ONLY_DISPUTED_RE.search(text) and not args.get("exclude_disputed") and args.get("rank_by") != "disputed":
            missing.append("only disputed items: the figures cover every item; the disputed part is shown beside them")
        missing += [note for note in (shortened, counted) if note]
        if missing:
            answer = "**Not applied** — " + "; ".join(missing) + ".\n\n" + answer
        if compared is None or not result.get("compared"):
            return answer
        return answer + "\n\n" + answers_compare.comparison(result, result["compared"], focus, compared.label)

    def focus_of(self, call: Any) -> list[str]:
        """The measures the answer holding `call` focused on."""
        return next((list(reply.focus) for reply in reversed(self.history) if call in reply.tool_calls), [])

    def ask_measure(self) -> None:
        """Which figure, as choices: each re-asks the question with its measure named."""
        capability = by_intent(Intent.PORTFOLIO.value)
        assert capability is not None
        readings = [
            ("open receivables", "open AR"),
            ("overdue", "overdue"),
            ("total exposure", "exposure"),
            ("DSO", "DSO"),
        ]
        if days_unnamed(self.text):  # "how many days are we at?": which count of days
            readings = [("DSO (days sales outstanding)", "DSO"), ("ADD (average days delinquent)", "ADD")]
        elif collection_rate_unnamed(self.text):  # "collection rate for Q3?"
            readings = [("CEI (collection effectiveness)", "CEI"), ("promises kept (rate)", "promises kept rate")]
        elif rate_unnamed(self.text):  # "SMB percentage?": which ratio
            readings = [
                ("% current (not yet due)", "% current"),
                ("% over ninety days past due", "% over 90"),
                ("CEI (collection effectiveness)", "CEI"),
                ("promises kept (rate)", "promises kept rate"),
            ]
        self.choices = [
            Choice(number=n, label=label, capability=capability.name, text=f"{self.text} ({word})")
            for n, (label, word) in enumerate(readings, start=1)
        ]
        lines = "\n".join(f"{c.number}. {c.label}" for c in self.choices)
        raise Stop(f"Which figure do you mean?\n{lines}\nReply with the number. Nothing was answered.", None)

    @staticmethod
    def portfolio_focus(lowered: str, args: dict[str, Any]) -> list[str]:
        focus = []
        checks = [
            (
                "dso",
                r"\bdso\b|\bdays sales\b|\bbpdso\b|\badd\b|\bdelinquen|\baverage days (?:past due|overdue|late)\b"
                r"|\bcount[- ]?back\b|\bbest[- ]possible\b",
            ),
            ("cei", r"\bcei\b|\bcollection effectiveness\b"),
            ("ageing", r"\bag(?:e)?ing\b|\baged\b|\bbuckets?\b"),
            ("top", r"\btop\b|\blargest\b|\bbiggest\b|\bowes?\b.{0,20}\bmost\b|\bhighest\b"),
            ("concentration", r"\bconcentrat"),
            ("trend", r"\btrend|\bover time\b|\bmonth by month\b|\beach of the (?:past|last) \d{1,2} months\b"),
            (
                "current",
                r"% ?current|\b(?:percent(?:age)?|pct)\s+current\b|\bnot\s+(?:yet\s+)?(?:due|overdue)\b"
                r"|(?:%|\b(?:percent\w*|share|proportion)\b).{0,30}"
                r"(?:\b(?:over|more than|above|beyond|past|older than) 90\b|\b90\+)",
            ),
            (
                "promises",
                r"\bpromises? kept\b|\bkept rate\b|\bpromise performance\b"
                r"|\b(?:promis\w*|proms\w*|ptps?)\b.{0,30}\b(?:bro(?:ke|ek)n|broke|missed|kept)\b"
                r"|\b(?:bro(?:ke|ek)n|missed)\s+(?:promis\w*|proms\w*|ptps?)\b",
            ),
            (
                "disputes",
                r"\bdisput\w* cycle\b|\bdisputes? resolved\b|\bhow long\b.{0,30}\bdisputes?\b"
                r"|\bdisputes?\b.{0,30}\b(?:to (?:close|resolve|settle)|taking)\b"
                r"|\b(?:days?|time)\s+to\s+(?:close|resolve|settle|sort)\w*\b.{0,20}\bdisputes?\b",
            ),
            ("disputed", r"\bdisput(?:ed|es?)\b|\bin dispute\b"),
            (
                "receivables",
                r"\bopen\s+(?:ar|a/r|receivables?|balances?)\b|\b(?:ar|receivables)\s+(?:open|outstanding)\b",
            ),
            ("current", r"(?:%|\b(?:percent\w*|share|proportion|how much)\b).{0,40}\bcurrent\b"),
            (
                "customers",
                r"\bhow many\s+(?:\w+\s+){0,3}(?:customers|accounts|clients|debtors)\b"
                r"|\bnumber of (?:customers|accounts|clients|debtors)\b"
                r"|\b(?:customer|account|client|debtor|head)\s*counts?\b|\bcount of (?:customers|accounts|clients)\b",
            ),
        ]
        for name, pattern in checks:
            if re.search(pattern, lowered) and name not in focus:
                focus.append(name)
        if (
            not focus
            and re.search(r"\b(?:overdue|past[- ]due|in arrears)\b", lowered)
            and not re.search(r"%|\b(?:percent\w*|share|proportion|ratio|rate)\b", lowered)
        ):
            focus.append("overdue")  # "what's overdue in my book?": the overdue, and later rankings by it
        if "disputed" in focus and ("disputes" in focus or EXCLUDE_DISPUTED_RE.search(lowered)):
            focus.remove("disputed")  # "leave out anything in dispute" filters; "dispute cycle time" is its own
        if args.get("group_by") and not focus:
            focus.append("split")  # "by region" alone: receivables and overdue per group
        if args.get("min_days_past_due") is not None or "exposure" in lowered:
            focus.insert(0, "exposure")
        if re.search(r"\bexpos(?:ure|ed)\b", lowered) and args.get("group_by") and args.get("group_by") != "customer":
            focus.insert(0, "exposed")  # "exposure by risk class": the exposure column in the split
        if args.get("count_open_invoices"):
            focus.insert(0, "invoices")
        if args.get("rank_by") or args.get("rank_order") or (args.get("top_n") == 1 and "top" not in focus):
            focus.append("top")
        return focus
