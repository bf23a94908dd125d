"""The parts of a portfolio question beyond one set of filters: a list of the customers that meet a condition ("who
owes us more than 750k", "customers over their limit"), rankings, counts, sales windows and utilisation thresholds.
Pure functions of the text, so the planner stays one typed query per tool call (comparisons: `comparisons`)."""

from __future__ import annotations

import re
from decimal import Decimal

from .entities import Spans

IC = re.IGNORECASE

# "who owes us more than 750k", "customers over their limit", "which accounts are above 0.8m", "list customers …"
LIST_RE = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:(?:who|which)\s+|what\s+(?=(?:customers?|accounts?|clients?|debtors?|companies)\b))"
    r"(?:customers?|accounts?|clients?|debtors?|companies|one|ones)?\b"
    r"|\b(?:list|show|give)\s+(?:me\s+)?(?:all\s+|the\s+|my\s+|our\s+)?(?:customers|accounts|clients|debtors)\b"
    r"|^\W*(?:pls\s+|please\s+|can\s+you\s+)?list\b"  # "list the acounts on Hold or Stop": a list, typo or not
    r"|\b(?:customers|accounts|clients|debtors|names)\s+(?:(?:in|on|from|of)\s+(?:my|our|the|his|her)\s+(?:book|portfolio|"
    r"list|patch)\s+)?(?:that|who|which|where|whose|with|above|over|owing|exceeding|in breach)\b"
    # "customers in country 897 owing at least 500": a place between
    r"|\b(?:customers|accounts|clients|debtors)\s+(?:in|from|on)\s+(?:[\w-]+\s+){1,3}?(?:that|who|which|with|owing|owe|exceeding)\b"
    r"|^\W*(?:\w+\W+){0,2}?who(?:'s|\s+has|\s+have)\s+got\b"  # "who's got invoices sitting 31 to 60 days past due?"
    r"|\bhow many\s+(?:customers|accounts|clients)\b"
    r"|\bwhich\s+(?:customers|accounts|clients|debtors|companies)\b"  # "as of 31/10/2013: which customers in 770 had …"
    r"|^\W*(?:\w+\W+){0,3}?(?:any(?:one|body)|any\s+(?:customers?|accounts?|clients?))\b"  # "anyone owing 250k+?"
    r"|\b(?:list|name)\s+(?:them|those|'em)\b"  # "… or more? list them"
    # "wich of my customers are over there limit?", "Customers on Hold or Stop — can I get the list?"
    r"|\b(?:who|which|wich|whcih)\s+of\s+(?:my|our|the|your)\s+(?:customers|accounts|clients|debtors)\b"
    r"|\b(?:get|have|see|send|pull|want|need)\s+(?:me\s+)?(?:the|a)\s+list\b|\blist\s+(?:of\s+(?:them|those|names)|please|pls)\b",
    IC,
)
OVER_LIMIT_RE = re.compile(
    r"\b(?:over|above|exceed\w*|beyond|breach\w*|in excess of|past|blown|blew"
    r"|(?:blow\w*|bust\w*|bursting|going|gone|went)\s+(?:through|past|over|beyond))\s+"
    r"(?:their|thier|there|its|the|his|her)?\s*"
    r"(?:credit\s+)?(?:limits?|lines?)\b|\bover[- ]limit\b|\blimit\s+breach\w*\b|\bover\s+the\s+line\b",
    IC,
)

# "customers with an open PTP", "which accounts have a promise to pay outstanding", "pending promises"
OPEN_PROMISE_RE = re.compile(
    r"\b(?:open|pending|outstanding|live|active|current)\s+(?:promises?|ptps?)\b"
    r"|\b(?:promises?|ptps?)\s+(?:to\s+pay\s+)?(?:(?:is|are)\s+)?(?:still\s+)?(?:open|pending|outstanding|live)\b",
    IC,
)

# "customers that kept their promises", "who honoured their PTPs": a selection, not the kept rate. The bare "kept
# promises" / "promises kept" selects only when customers are listed ("accounts with kept promises").
KEPT_PROMISE_RE = re.compile(
    r"\b(?:kept|honou?red|stuck to|kept to|made good on)\s+(?:(?:all|each|every one) of\s+)?(?:their|its|his|her|a|the)"
    r"\s+(?:promises?|ptps?|word)\b",
    IC,
)
KEPT_PROMISES_LISTED_RE = re.compile(r"\bkept\s+(?:promises?|ptps?)\b|\b(?:promises?|ptps?)\s+(?:were\s+)?kept\b", IC)


def lists_customers(text: str) -> bool:
    return bool(LIST_RE.search(text))


def over_limit(text: str, spans: Spans) -> bool:
    match = OVER_LIMIT_RE.search(text)
    if match is None:
        return False
    spans.add(*match.span())
    return True


# "biggest past-due customer", "most overdue accounts", "top 5 by disputed balance", "ranked by open AR"
_RANK_RE = re.compile(
    r"\b(?:top|largest|biggest|highest|most|worst|rank\w*|order\w*|sort\w*|bottom|smallest|lowest|least)\b.{0,40}?"
    r"\b(overdue|past[- ]due|late|delinquen\w*|disput\w*|open (?:ar|balance|receivables?)|receivables?|balances?|ar"
    r"|outstanding)\b"
    r"|\b(overdue|past[- ]due|disputed)\s+(?:customers?|accounts?|clients?)\b.{0,20}\b(?:top|largest|biggest|most)\b"
    # "our three biggest debtors", "who owes us the most": what they owe
    r"|\b(?:largest|biggest|highest)\s+(debtors?)\b"
    r"|\b(owes?|owed|owing)\s+(?:us\s+)?(?:the\s+)?most\b(?!\s+\w*\s*(?:overdue|past))",
    IC,
)
_BY_EXPOSURE_RE = re.compile(r"\b(?:by|on|in terms of)\s+(?:total\s+|gross\s+|overall\s+)?exposures?\b", IC)
_RANK_MEASURES = {"overdue": "overdue", "past": "overdue", "late": "overdue", "delinquen": "overdue",
                  "debtor": "open_receivables", "owe": "open_receivables",
                  "disput": "disputed", "open": "open_receivables", "receivable": "open_receivables",
                  "balance": "open_receivables", "ar": "open_receivables",
                  "outstanding": "open_receivables"}  # fmt: skip
_ONE_RE = re.compile(
    r"\b(?:the\s+)?(?:largest|biggest|highest|worst|top)\s+(?:[\w-]+\s+){0,2}?(?:customer|account|client|debtor)\b"
    r"(?!s)|\bwho\s+(?:is|'s)\s+(?:the\s+)?(?:largest|biggest|highest|worst)\b"
    r"|\bwhich\s+(?:[\w-]+\s+){0,2}?(?:customer|account|client|debtor)\s+(?:has|had|is|was|owes|owed|carries|carried"
    r"|holds|held)\b"
    r".{0,30}\b(?:largest|biggest|highest|most|worst)\b"
    # "biggest single exposure", "who owes us the most past-due money"
    r"|\b(?:largest|biggest|highest)\s+single\b|^\W*who\s+(?:owes|has|carries|holds)\s+(?:us\s+|me\s+)?(?:the\s+|teh\s+)?most\b",
    IC,
)
_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
           "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "dozen": 12}  # fmt: skip
_COUNT = rf"(\d{{1,2}}|{'|'.join(_COUNTS)})"
_RANK_WORD = (r"(?:largest|biggest|highest|heaviest|worst|slowest|latest|best|fastest|quickest|earliest|promptest"
              r"|tardiest|poorest|smallest|lowest|least|most|top|bottom|longest)")  # fmt: skip
# How many a ranking asks for: "top 5", "top five", "bottom 3", "the 10 worst", "3 customers with the largest …",
# "… and give me 10" — a count next to a ranking word or the thing ranked, never an amount or a number of days.
_RANK_COUNT_RE = re.compile(
    rf"\b(?:top|bottom)\s*(?:(\d{{3,4}})|{_COUNT})\b"  # "top 500": more than a list holds, said so
    rf"|\b{_COUNT}\s+(?:of\s+(?:the|our)\s+)?{_RANK_WORD}\b"
    rf"|\b(?:largest|biggest|highest|worst|slowest|best|fastest|smallest|lowest)\s+{_COUNT}\b"
    r"(?!\s*(?:\+|%|-|days?\b|k\b|m\b|dpd\b))"
    rf"|\b{_COUNT}\s+(?P<between>(?:[A-Za-z-]+\s+){{1,2}})?(?:customers|accounts|clients|debtors|payers|names|collectors"
    r"|regions"
    r"|countries|segments|industries|currencies)\b"
    rf"(?=.{{0,40}}\b{_RANK_WORD})"
    rf"|\b(?:give|show)\s+(?:me\s+)?(?:the\s+)?{_COUNT}\s*(?:of them|instead|rows|names|please|pls|\W*$)",
    IC,
)


# "our 5 worst payers in EMEA", "who pays us the slowest", "best payers", "customers paying latest", "highest ADD"
_LATE_PAYERS_RE = re.compile(
    r"\b(?:worst|slowest|latest|tardiest|poorest|laziest)\s+(?:[\w-]+\s+)?(?:payers?|paying)\b"
    r"|\bpay(?:s|ing)?\s+(?:us\s+)?(?:the\s+)?(?:slowest|latest|most\s+late|worst|last)\b"
    r"|\bpayers?\b.{0,20}\b(?:most|longest)\s+(?:days\s+)?late\b|\b(?:most|longest)\s+days\s+late\b"
    r"|\b(?:highest|worst|biggest|top)\s+(?:\d+\s+)?(?:by\s+)?(?:add|average days (?:late|delinquent))\b"
    r"|\b(?:ranked|rank|sorted|sort|ordered)\s+by\s+(?:add|days late|average days late)\b"
    r"|\b(?:slowest|latest|tardiest)\s+(?:to\s+pay|at\s+paying|in\s+paying)\b"  # "the slowest to pay us"
    r"|\b(?:take|takes|taking)\s+(?:the\s+)?(?:longest|most\s+time)\s+to\s+pay\b",  # "… take the longest to pay us"
    IC,
)
# "top 5 customers by ADD", "bottom 3 by average days delinquent": a ranking by how late they pay
_BY_LATENESS_RE = re.compile(
    r"\b(?:by|on|in\s+terms\s+of)\s+(?:their\s+|the\s+)?(?:add\b|(?:avg|average|mean)\s+days\s+(?:late|delinquent|to\s+pay)"
    r"|days\s+(?:late|delinquent|beyond\s+terms))",
    IC,
)
_FEWEST_FIRST_RE = re.compile(r"\b(?:bottom|smallest|lowest|least|best|fewest)\b", IC)
_EARLY_PAYERS_RE = re.compile(
    r"\b(?:best|fastest|quickest|promptest|most\s+punctual|earliest)\s+(?:[\w-]+\s+)?(?:payers?|paying)\b"
    r"|\bpay(?:s|ing)?\s+(?:us\s+)?(?:the\s+)?(?:fastest|quickest|earliest|most\s+promptly|best|first)\b"
    r"|\b(?:lowest|best)\s+(?:\d+\s+)?(?:by\s+)?(?:add|average days (?:late|delinquent))\b"
    r"|\b(?:fastest|quickest|promptest)\s+(?:to\s+pay|at\s+paying|in\s+paying)\b",
    IC,
)


# "the 3 smallest balances", "bottom 5 by overdue", "lowest exposure customers": smallest (positive) first
_SMALLEST_FIRST_RE = re.compile(
    r"\b(?:bottom|smallest|lowest|least)\s+(?:\d+\s+|[a-z]+\s+){0,2}?(?:customers?|accounts?|clients?|debtors?|balances?"
    r"|exposures?|by|amounts?|open|overdue|receivables?|ar)\b|\bbottom\s*\d+\b",
    IC,
)


def smallest_first(text: str) -> bool:
    return bool(_SMALLEST_FIRST_RE.search(text)) and payer_order(text) is None


_STATUS = r"(ok|watch|hold|stop)"
# "accounts on hold", "customers on Hold or Stop", "credit status watch", "hold/stop accounts"
_CREDIT_STATUS_RE = re.compile(
    rf"\b(?:on|in)\s+(?:credit\s+)?{_STATUS}(?:\s*(?:or|and|/|,|&)\s*(?:on\s+)?{_STATUS})?\b(?!\s+(?:orders?|the))"
    rf"|\bcredit\s+status(?:es)?\s+(?:of\s+|is\s+|=\s*)?{_STATUS}(?:\s*(?:or|and|/|,|&)\s*{_STATUS})?\b"
    rf"|\b{_STATUS}\s*(?:or|/|&)\s*{_STATUS}\s+(?:customers|accounts|clients|status)\b"
    r"|\b(watch|stop)[- ]?(?:list(?:ed)?\s+|status\s+)?(?:customers|accounts|clients)\b"  # "Watch accounts"
    r"|\bon-(hold|stop)\s+(?:customers|accounts|clients)\b"
    # "on the watch list", "with status hold", "stopped accounts", "accounts that are on stop"
    r"|\bon\s+(?:the\s+|our\s+)?(watch)[- ]?list\b"
    rf"|\b(?:with|having|in|at)\s+(?:a\s+|the\s+)?(?:credit\s+)?status\s+(?:of\s+)?{_STATUS}\b"
    r"|\b(stopp|held)(?:ed)?\s+(?:customers|accounts|clients)\b",
    IC,
)
_STATUS_NAMES = {"ok": "OK", "watch": "Watch", "hold": "Hold", "stop": "Stop", "stopp": "Stop", "held": "Hold"}


def credit_statuses(text: str, spans: Spans) -> list[str]:
    """The customers' credit statuses a question selects ("accounts on Hold or Stop")."""
    match = _CREDIT_STATUS_RE.search(text)
    if match is None:
        return []
    spans.add(*match.span())
    return list(dict.fromkeys(_STATUS_NAMES[g.lower()] for g in match.groups() if g))


def payer_order(text: str) -> str | None:
    """A ranking of customers by how late they pay: worst payers first, or best first."""
    if _LATE_PAYERS_RE.search(text):
        return "latest_first"
    if _EARLY_PAYERS_RE.search(text):
        return "earliest_first"
    if _BY_LATENESS_RE.search(text):
        return "earliest_first" if _FEWEST_FIRST_RE.search(text) else "latest_first"
    return None


MAX_RANKED = 50


def ranking_count(text: str, spans: Spans) -> int | None:
    """How many rows a ranking asks for, as asked ("top 0", "top 500" too: the caller says what it shows)."""
    for match in _RANK_COUNT_RE.finditer(text):
        if spans.covers(*match.span()):
            continue
        between = match.span("between")
        if between[0] >= 0:  # "which 5 SMB accounts": the word between is a filter's, read by its own parser
            spans.add(match.start(), between[0])
            spans.add(between[1], match.end())
        else:
            spans.add(*match.span())
        counted = [group for name, group in _numbered_groups(match) if group is not None]
        word = counted[0].lower()
        return int(word) if word.isdigit() else _COUNTS[word]
    return None


def _numbered_groups(match: re.Match[str]) -> list[tuple[int, str | None]]:
    """The match's unnamed groups, in order (the counts the ranking gives, in words or digits)."""
    named = set(match.re.groupindex.values())
    return [(index, match.group(index)) for index in range(1, match.re.groups + 1) if index not in named]


_INVOICES = r"(?:inv(?:oice|ioce|ocie|oce|ice)s?|bills?|items?)"  # typed fast: "invocies", "invoces"
COUNT_INVOICES_RE = re.compile(
    rf"\b(?:how many|number of|count of|count|no\.? of|#)\s+(?:the\s+)?(?:open\s+|unpaid\s+|outstanding\s+)?"
    rf"{_INVOICES}\b|\b{_INVOICES}\s+(?:still\s+)?(?:open|outstanding|unpaid)\b.{{0,20}}\bcount\b"
    # "open invoice count on my book?"
    rf"|\b(?:open|unpaid|outstanding)\s+(?:invoice|inv)s?\s+(?:count|total\s+count|number)\b",
    IC,
)


def rank_measure(text: str) -> str | None:
    """The measure a ranking question ranks by: exposure when it says so ("5 smallest by exposure over 60 days past
    due": the days are a filter), else the one it names besides exposure, if any."""
    if _BY_EXPOSURE_RE.search(text):
        return "exposure"
    match = _RANK_RE.search(text)
    if match is None:
        return None
    word = next((group for group in match.groups() if group), "").lower()
    return next((measure for stem, measure in _RANK_MEASURES.items() if word.startswith(stem)), None)


def asks_for_one(text: str) -> bool:
    """ "the biggest past-due customer", "who is the largest debtor": one customer, not a list."""
    return bool(_ONE_RE.search(text))


def counts_invoices(text: str) -> bool:
    return bool(COUNT_INVOICES_RE.search(text))


# "how many customers are overdue", "number of accounts with past due invoices": a count of the overdue ones only
_COUNTS_OVERDUE_CUSTOMERS_RE = re.compile(
    r"\b(?:how many|number of|count of|no\.? of)\s+(?:\w+\s+){0,2}(?:customers|accounts|clients|debtors)\b"
    r".{0,40}?\b(?:overdue|past[- ]due|in arrears|delinquent)\b",
    IC,
)


def counts_overdue_customers(text: str) -> bool:
    return bool(_COUNTS_OVERDUE_CUSTOMERS_RE.search(text))


# "DSO using the trailing 90 days of sales", "sales over the last 2 months": the period of sales, not an age filter
_SALES_WINDOW_RE = re.compile(
    r"\b(?:trailing|last|past|previous|prior)\s+(\d{1,3})\s+(days?|months?)(?:'|'s)?\s+(?:of\s+)?(?:sales|revenue|billings?)\b"
    r"|\b(?:sales|revenue|billings?)\s+(?:window\s+)?(?:of|over|for)\s+(?:the\s+)?(?:trailing|last|past)\s+(\d{1,3})\s+"
    r"(days?|months?)\b"
    r"|\b(\d{1,3})[- ](days?|months?)\s+(?:of\s+)?(?:sales|revenue|billings?)\s+(?:window|base|period)\b",
    IC,
)


def sales_window_months(text: str, spans: Spans) -> int | None:
    """The months of sales a DSO question asks for (90 days → 3 months; the tool's periods are whole months)."""
    match = _SALES_WINDOW_RE.search(text)
    if match is None:
        return None
    spans.add(*match.span())
    number = int(match.group(1) or match.group(3) or match.group(5))
    unit = (match.group(2) or match.group(4) or match.group(6)).lower()
    months = number if unit.startswith("month") else round(number / 30)
    return max(1, min(months, 6))


_PERCENT = r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent|pct)"
_UTILISATION_RE = re.compile(
    r"\butili[sz]\w*(?:\s+(?:of|on|against)\s+(?:their|its|the)?\s*(?:credit\s+)?limits?)?\s+(?:is\s+|are\s+|at\s+)?"
    r"(?:over|above|more than|greater than|higher than|>=?|at least|exceeding|north of|beyond)\s*{pct}"
    r"|\b(?:using|used|utili[sz]ing|at|over|above|more than|beyond|exceeding)\s+"
    r"(?:more than\s+|over\s+|above\s+|at least\s+)?{pct}\s+of\s+(?:their|its|the)?\s*(?:credit\s+)?limits?\b"
    r"|\b(?:over|above|more than)\s+{pct}\s*\+?\s+utili[sz]\w*"
    r"|{pct}\s*\+\s+utili[sz]\w*".replace("{pct}", _PERCENT),
    IC,
)


# A share near a word for the limit and a word for "at or above it": "at 90% utilization or higher", "90%+ of
# their line", "using 90 percent or more of the limit"
_SHARE_RE = re.compile(_PERCENT + r"(?:\s*\+)?", IC)
_LIMIT_WORD_RE = re.compile(r"\butili[sz]\w*|\blimits?\b|\b(?:credit\s+)?lines?\b", IC)
_AT_LEAST_RE = re.compile(
    r"\b(?:over|above|more than|greater than|higher than|at least|exceed\w*|north of|beyond|at|using|used)\s*$"
    r"|^\s*(?:\+|or\s+(?:more|higher|above|over|greater)|and\s+(?:up|above|over))",
    IC,
)
_AT_MOST_RE = re.compile(r"\b(?:under|below|less than|lower than|at most|up to)\b", IC)


def utilisation_threshold(text: str, spans: Spans) -> Decimal | None:
    """ "Limit utilisation over 90%", "using more than 80% of their limit", "at 90% utilization or higher": the
    share of the limit to exceed."""
    match = _UTILISATION_RE.search(text)
    if match is not None:
        spans.add(*match.span())
        value = Decimal(next(group for group in match.groups() if group))
        return value if 0 < value <= 1000 else None
    for share in _SHARE_RE.finditer(text):
        before, after = text[max(0, share.start() - 30) : share.start()], text[share.end() : share.end() + 40]
        if not _LIMIT_WORD_RE.search(before + " " + after) or _AT_MOST_RE.search(before + " " + after[:15]):
            continue
        if _AT_LEAST_RE.search(before) or _AT_LEAST_RE.search(after) or share.group(0).endswith("+"):
            spans.add(*share.span())
            value = Decimal(share.group(1))
            return value if 0 < value <= 1000 else None
    return None


# "customers with limits over 500k": the size of the credit limit, which the book is not filtered by (no balance)
LIMIT_SIZE_RE = re.compile(
    r"\b(?:credit\s+)?(?:limits?|lines?)\s+(?:of\s+|is\s+|are\s+)?(?:over|above|more\s+than|greater\s+than|at\s+least"
    r"|under|below|less\s+than|>=?|<)\s*[$£€]?\d",
    IC,
)
# Parts of a portfolio question the tool cannot apply: said in the answer, never silently dropped.
_NOT_APPLIED = [
    (LIMIT_SIZE_RE, "the size of the credit limit: the book is not filtered by it"),
    (re.compile(r"\bpaperless\b|\bpaper\s+(?:bills?|billing|invoices?|ar)\b|\bvs\.?\s+paper\b|\be-?invoic\w*", IC),
     "paperless or paper billing: the book is not split or filtered by it"),
    (re.compile(r"\bon\s+(?:credit\s+)?(?:hold|stop)\b|\bblocked\b|\bcredit\s+status\b", IC),
     "credit status (Hold/Stop): the book is not filtered by it"),
    (re.compile(r"\blimit\s+reviews?\b|\breviews?\s+(?:is\s+|are\s+)?due\b", IC),
     "limit review dates: the book is not filtered by them"),
    (re.compile(r"\b(?:worst|slowest|fastest|best|latest)\s+pay\w*\b|\bpays?\s+(?:us\s+)?(?:the\s+)?(?:slowest|fastest)\b"
                r"|\b(?:most|average)\s+days\s+late\b", IC),
     "payment behaviour (days late): customers are not ranked by it here; ask about one customer's payment "
     "behaviour"),
    (re.compile(r"\butili[sz](?:ation|ed|ing)\b|\busing\s+(?:at\s+least\s+)?\d+\s*%", IC),
     "credit-limit utilisation: the book is only filtered by a share of the limit (“customers using more than a "
     "given percentage of their limit”), not measured or split by it; ask about one customer's exposure against its "
     "limit"),
    (re.compile(r"\bopen\s+(?:promises?|ptps?)\b|\b(?:promises?|ptps?)\s+(?:to\s+pay\s+)?(?:still\s+)?open\b", IC),
     "open promises to pay: the book is not filtered by them; ask about one customer's promise history"),
    # "which accounts went past due this week?": the day an item fell due, not how long it has been overdue
    (re.compile(r"\b(?:went|gone|fell|falling|fallen|became|become|turned|tipped|slipped)\s+(?:into\s+)?"
                r"(?:past[- ]due|overdue|late|into\s+arrears)\b", IC),
     "when items became overdue: the book is split by days past due (1-30 days the shortest), not by the day an "
     "item fell due"),
]  # fmt: skip


def not_applied(text: str) -> list[str]:
    return [reason for pattern, reason in _NOT_APPLIED if pattern.search(text)]


# "what's the number for EMEA?", "just the one figure pls": one figure wanted, but the words name no measure
# "the number for EMEA", "the APAC number", "the mexico figure"
# "the number for EMEA", "APAC figure pls", "what's my number this month?", "what's LATAM at?"; never a document's
# number or "the number of …" (a count)
_ONE_FIGURE_RE = re.compile(
    r"(?<!invoice )(?<!order )(?<!phone )(?<!account )(?<!po )(?<!reference )(?<!ref )"
    r"\b(?:number|figure|metric|kpi|stat)\b(?!\s+of\b)"
    r"|^\W*(?:so\W+|and\W+)?what(?:'s|s|\s+is)\s+(?:\w+\s+){1,2}(?:sitting\s+|running\s+|looking\s+)?at"
    r"(?:\s+(?:these\s+days|now|right\s+now|today|the\s+moment))?\W*$"
    r"|^\W*(?:the\s+)?[\w&-]+(?:\s+[\w&-]+)?\s+(?:numbers|figures)\W*$",  # "LATAM numbers?"
    IC,
)
# "the total" with nothing after it that says of what
_BARE_TOTAL_RE = re.compile(
    r"\b(?:the\s+|a\s+|our\s+|my\s+)?total\b(?!\s+(?:ar|a/r|receivables?|exposure|overdue|owed|owing|outstanding|balances?"
    r"|dso|sales|invoices?|disputed|past|due|open|of|amount|number|count|cash|collected))",
    IC,
)
# "give me APAC as at end of Q3", "show me the germans": a part of the book, and no figure named
_A_PLACE_ALONE_RE = re.compile(
    r"^\W*(?:(?:pls|please|can\s+you|could\s+you)\W+)?(?:give|show|get|send)\s+me\s+(?:the\s+)?"
    r"(?!(?:work\s*list|list|report|summary|overview|picture|breakdown|update|dashboard|book|portfolio)\b)[\w&-]+"
    r"(?:\s+(?!(?:work\s*list|list|report|summary|overview|picture|breakdown|update|dashboard)\b)[\w&-]+)?"
    r"(?:\s+(?:as\s+(?:at|of)|at|for|on|by)\s+[^?!]{1,30})?\W*$",
    IC,
)
_HOW_MANY_DAYS_RE = re.compile(
    r"\bhow\s+many\s+days\s+(?:are|is|am|were)\s+(?:we|it|i|the\s+book|my\s+book|our\s+book)\b"
    r"|\b(?:days|day)\s+(?:number|figure|count|metric)\b"
    r"(?!.{0,20}\b(?:late|past\s+due|overdue|to\s+pay|sales|delinquen\w*|beyond)\b)",
    IC,
)
_DAYS_MEASURE_RE = re.compile(r"\b(?:dso|add|dpd|bpdso|days\s+(?:sales|late|delinquent|past|to\s+pay|beyond))\b", IC)
_MEASURE_WORDS_RE = re.compile(
    r"\d\s*\+|\bo/s\b|\b(?:ar|a/r|receivables?|owe[ds]?|owing|outstanding|balances?|exposure|exposed|overdue"
    r"|past[- ]due|late|dso|dpd|cei|add|ag(?:e)?ing|aged|buckets?|disput\w*|promises?|ptps?|limits?|utili[sz]ation"
    r"|concentration|current|collect\w*|cash|sales|invoices?|how many|count|trend|days|total|share|percent\w*|%)",
    IC,
)


def names_a_measure(text: str) -> bool:
    return bool(_MEASURE_WORDS_RE.search(text))


# "the collections KPI": a kind of figure, not which one
_VAGUE_MEASURE_RE = re.compile(r"\bcollections?\s+(?:kpis?|metrics?|numbers?|figures?|stats?|performance)\b", IC)


# "SMB percentage?", "what was my rate in Q3": a ratio asked for, and no word says of what
_RATE_WORD_RE = re.compile(r"\b(?:rate|ratio|percentage|percent|pct|proportion)\b|%", IC)
_RATE_OF_WHAT_RE = re.compile(
    r"\b(?:current|over\s*90|90\+|kept|broken|promis\w*|ptps?|collect\w*|cei|effectiveness|utili[sz]\w*|disput\w*"
    r"|overdue|past[- ]due|late|paid|on[- ]time|not\s+(?:yet\s+)?due|within\s+terms|limits?|bad\s+debt|write[- ]?offs?"
    r"|dso|add|interest|fx|exchange"
    r"|growth|hit|recovery|success|default|provision\w*|of\s+(?!the\s+(?:book|portfolio)\b)\w+|in\s+\d+\+?)\b",
    IC,
)


# "collection rate": effectiveness (CEI) or promises kept, both said that way
_COLLECTION_RATE_RE = re.compile(r"\bcollections?\s+(?:rate|ratio|percentage|%)", IC)
_RATE_NAMED_RE = re.compile(r"\b(?:cei|effectiveness|kept|broken|promis\w*|ptps?)\b", IC)


def collection_rate_unnamed(text: str) -> bool:
    return bool(_COLLECTION_RATE_RE.search(text)) and not _RATE_NAMED_RE.search(text)


def rate_unnamed(text: str) -> bool:
    if _COLLECTION_RATE_RE.search(text):
        return not _RATE_NAMED_RE.search(text)
    return bool(_RATE_WORD_RE.search(text)) and not _RATE_OF_WHAT_RE.search(text)


def measure_unnamed(text: str) -> bool:
    """One figure asked for ("the number for EMEA", "the collections KPI", "SMB percentage?") and no word says
    which."""
    if rate_unnamed(text):
        return True
    if _VAGUE_MEASURE_RE.search(text):
        return not _MEASURE_WORDS_RE.search(_VAGUE_MEASURE_RE.sub(" ", text))
    if days_unnamed(text):
        return True
    untimed = re.sub(r"\bthese\s+days\b", " ", text, flags=re.I)  # "these days" is when, not a figure of days
    bare_total = _BARE_TOTAL_RE.search(untimed)  # "the germans, what's the total?": the total of what
    untimed = _BARE_TOTAL_RE.sub(" ", untimed)
    asks_one = bare_total or _ONE_FIGURE_RE.search(untimed) or _A_PLACE_ALONE_RE.search(untimed)
    return bool(asks_one) and not _MEASURE_WORDS_RE.search(untimed)


def days_unnamed(text: str) -> bool:
    """ "how many days are we at on my book?": DSO or days delinquent, and no word says which."""
    return bool(_HOW_MANY_DAYS_RE.search(text)) and not _DAYS_MEASURE_RE.search(text)


# "just Mid-Market", "exclude the disputed stuff", "split by collector", "how many of those are on watch?", "which 5
# customers are dragging it down?": the question just answered, refined
REFERS_BACK_RE = re.compile(
    r"^\W*(?:(?:ok|and|now|so|then|pls|please|can\s+you)\W+)*(?:exclud\w*|excl\.?|without|leav(?:e|ing)\s+out|drop"
    r"|take\s+out|minus)\b"
    r"|^\W*(?:(?:ok|and|now|so|then|pls|please|can\s+you)\W+)*(?:split|broken\s+down|break\s+(?:it\s+|that\s+)?down|cut"
    r"|grouped)\s+(?:it\s+|that\s+)?by\b"
    r"|\b(?:of|among(?:st)?)\s+(?:those|them|these)\b|\b(?:dragging|pulling|driving|pushing)\s+(?:it|that|this)\b"
    # "three biggest balances?", "5 worst ones": a ranking of what was just counted or summed
    r"|^\W*(?:(?:ok|and|so|now|then)\W+)*(?:the\s+)?(?:\d{1,2}|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?:biggest|largest|highest|worst|smallest|lowest|best)\b",
    re.I,
)
# "as of 30 Sept?", "at end of october?": only a date, for the answer just given
ONLY_A_DATE_RE = re.compile(r"^\W*(?:(?:and|but|ok|so)\W+)?(?:as\s+(?:of|at)|at|on|for)\s+[\w\s/.-]{1,25}?\W*$", re.I)
# "bump the min to 50k", "raise the threshold to 25k" after a worklist: the same list, another minimum
MIN_CHANGE_RE = re.compile(
    r"^\W*(?:(?:ok|and|now|so|pls|please)\W+)*(?:bump|raise|up|lower|drop|change|set|make|move)\s+(?:the\s+)?"
    r"(?:min(?:imum)?|threshold|floor|cut-?off|minimum\s+amount)\b",
    re.I,
)
