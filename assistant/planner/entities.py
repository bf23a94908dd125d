"""Entities in a request, found by rules: amounts, ids, risk classes, days-past-due ranges, and the words left over
that may name a customer (dates are in `dates.py`). Pure functions of the text; nothing here touches the database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, partial

from babel.numbers import get_currency_name
from text_to_num import text2num

from core.amounts import MULTIPLIERS as AMOUNT_MULTIPLIERS
from core.amounts import NumberFormat, currency_symbols, parse_amount
from core.errors import CreditDeskError
from core.money import ISO_4217

# --- spans -----------------------------------------------------------------------------------------------------------


@dataclass
class Spans:
    """Character ranges of the text already explained by an entity (they never become part of a customer name)."""

    ranges: list[tuple[int, int]] = field(default_factory=list)

    def add(self, start: int, end: int) -> None:
        self.ranges.append((start, end))

    def covers(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.ranges)

    def masked(self, text: str) -> str:
        chars = list(text)
        for start, end in self.ranges:
            for i in range(start, min(end, len(chars))):
                chars[i] = "|"
        return "".join(chars)


# Time units as staff abbreviate them ("last mnth", "2 wks", "this qtr"), so dates read them and no name does.
_UNIT_ABBREVIATIONS = [
    (re.compile(r"\bm(?:o?n)?ths?\b", re.IGNORECASE), "month"),
    (re.compile(r"\bwks?\b", re.IGNORECASE), "week"),
    (re.compile(r"\byrs?\b", re.IGNORECASE), "year"),
    (re.compile(r"\bqtrs?\b", re.IGNORECASE), "quarter"),
]


# "over the last 12m": after "last"/"past", a small number with "m" is months, not millions.
_MONTHS_AFTER_LAST = re.compile(r"\b(last|past|previous|prior|trailing)\s+(\d{1,2})\s*m\b", re.IGNORECASE)


def normalise(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').replace("\u00a0", " ")
    text = _MONTHS_AFTER_LAST.sub(r"\1 \2 months", text)
    text = amounts_in_words_as_figures(text)
    for pattern, unit in _UNIT_ABBREVIATIONS:
        text = pattern.sub(partial(_unit, unit), text)
    return " ".join(text.split())


def _unit(unit: str, match: re.Match[str]) -> str:
    return unit + ("s" if match.group(0).lower().endswith("s") else "")


# --- identifiers -----------------------------------------------------------------------------------------------------

ORDER_RE = re.compile(r"\bSO[-\s]?(\d{1,12})\b", re.IGNORECASE)
INVOICE_RE = re.compile(r"\b(?:INV|CN)[-\s]?\d{4}-\d+\b", re.IGNORECASE)
EXTERNAL_ID_RE = re.compile(r"\bC\d{5,}\b")
# A time of day ("the 10am", "by 3pm", "at 14:30"): never part of a name
TIME_OF_DAY_RE = re.compile(r"\b\d{1,2}(?::[0-5]\d)?\s?(?:am|pm)\b|\b(?:[01]?\d|2[0-3]):[0-5]\d\b", re.IGNORECASE)
CUSTOMER_ID_RE = re.compile(
    r"\b(?:customer|cust|account|acct)\s*(?:id\s*)?(?:no\.?\s*|number\s*)?#\s*(\d+)\b(?![-/]\w)|"
    r"\b(?:customer|cust)\s+(?:id\s+)?(\d+)\b(?![-/]\w)",  # not the start of a code ("customer 0688-XNJRO")
    re.IGNORECASE,
)
DISPUTE_ID_RE = re.compile(
    r"\bdispute\s*(?:id\s*|no\.?\s*|number\s*)?#?\s*(\d+)\b|#(\d+)\b"
    r"|\breason\s+code\s+(?:on|of|for)\s+(\d+)\b",  # "reason code on 92 should be pricing"
    re.IGNORECASE,
)
PROPOSAL_ID_RE = re.compile(r"\bproposal\s*(?:id\s*|no\.?\s*)?#?\s*(\d+)\b", re.IGNORECASE)
TOP_N_RE = re.compile(r"\btop\s*(\d{1,3})\b", re.IGNORECASE)
LEVEL_RE = re.compile(r"\b(?:level|lvl|lv|l)\s*(\d{1,2})\b", re.IGNORECASE)
PAGE_RE = re.compile(r"\bpage\s*(\d{1,5})\b", re.IGNORECASE)


def order_numbers(text: str, spans: Spans) -> list[str]:
    found = []
    for match in ORDER_RE.finditer(text):
        spans.add(*match.span())
        found.append(f"SO-{match.group(1)}")
    return found


# "INV-2026-0000472 and 0473", "INV-2026-0000472/473": more invoices of the series, by their last digits
_SAME_SERIES_RE = re.compile(r"\s*(?:,|&|/|\band\b|\+)\s*(0\d+)\b(?![.,]\d|\s*(?:k|m|%|days?)\b)", re.IGNORECASE)


def invoice_numbers(text: str, spans: Spans) -> list[str]:
    found = []
    for match in INVOICE_RE.finditer(text):
        spans.add(*match.span())
        number = re.sub(r"^(INV|CN)[-\s]?", r"\1-", match.group(0).upper())  # "inv 2026-0002526"
        found.append(number)
        end = match.end()
        while (more := _SAME_SERIES_RE.match(text, end)) is not None and len(more.group(1)) < len(number) - 9:
            spans.add(*more.span(1))
            found.append(number[: len(number) - len(more.group(1))] + more.group(1))
            end = more.end()
    return found


def listed_numbers(text: str) -> dict[str, list[str]]:
    """The order and invoice numbers a message lists, two or more of a kind, in the order written."""
    found = {"orders": order_numbers(text, Spans()), "invoices": invoice_numbers(text, Spans())}
    return {kind: list(dict.fromkeys(numbers)) for kind, numbers in found.items() if len(set(numbers)) >= 2}


# "in the IBM sample", "ibm data": the data set asked about, not a customer ("Okafor Data" is one: a word must lead)
_SOURCE_NAMES = r"ibm|demo|erp|sap|oracle|odoo|netsuite|test|csv|excel|ar|ledger|uploaded|imported|new|old|latest"
_SOURCE_NOUN = r"(?:sample|data\s*set|data|import|imported\s+\w+)\b(?:\s+(?:data|set|file)\b)?"
DATA_SOURCE_RE = re.compile(
    rf"\b(?:(?:in|for|from|on|using|the|this|that|our)\s+)+(?:(?:{_SOURCE_NAMES})\s+)?{_SOURCE_NOUN}"
    rf"|\b(?:{_SOURCE_NAMES})\s+(?:{_SOURCE_NOUN}|set\b)"
    # "IBM: invoice 9632048192 …", "ibm - DSO at 31/07/2013", "in the IBM book", "… in H1 2013 (ibm)": a label of the
    # data set asked about
    r"|^\W*ibm\s*[:\-–]|\b(?:in|for|from|on)\s+(?:the\s+)?ibm\s+(?:book|portfolio|ledger)\b"
    r"|\(\s*ibm\b[^)]{0,20}\)|[,;:\-–?]\s*ibm\W*$"
    r"|\bibm\b(?=\s+(?:country|countries|region|customers|invoices|figures|numbers|file|book|portfolio|ledger)\b)",
    re.IGNORECASE,
)


def data_source_mentions(text: str, spans: Spans) -> None:
    for match in DATA_SOURCE_RE.finditer(text):
        spans.add(*match.span())


# Bare-digit invoice numbers ("invoice 0104358967"): only after the word invoice, or a digit run no amount could be
BARE_INVOICE_RE = re.compile(
    r"\b(?:invoice|inv)\s*(?:no\.?|number|nr\.?|#)?\s*#?\s*(\d{4}[-\s]\d{5,10}|\d{4}-\d{3,10}|\d{4,12})\b"
    r"|(?<![\d.,])\b(\d{8,12}|(?<![\w-])\d{4}-\d{5,10}(?![-/.]\d))\b(?![.,]\d)",  # "is 2026-0001078 overdue"
    re.IGNORECASE,
)


def bare_invoice_numbers(text: str, spans: Spans) -> list[str]:
    found = []
    for match in BARE_INVOICE_RE.finditer(text):
        group = 1 if match.group(1) else 2
        if spans.covers(*match.span(group)):
            continue
        spans.add(*match.span(group))
        number = re.sub(r"\s+", "-", match.group(group))
        if group == 1 and re.fullmatch(r"\d{4}-\d+", number):
            number = f"INV-{number}"  # "inv 2026 0002938": INV-2026-0002938, as the ledger numbers it
        found.append(number)
    return found


def first_int(pattern: re.Pattern[str], text: str, spans: Spans) -> int | None:
    match = pattern.search(text)
    if match is None:
        return None
    spans.add(*match.span())
    value = next(group for group in match.groups() if group is not None)
    return int(value)


# --- risk classes, days past due -------------------------------------------------------------------------------------

_CLASS_LIST = r"([a-e](?:\s*(?:,|/|&|and|or)\s*[a-e])*)"
CLASS_RE = re.compile(rf"\b(?:risk\s*)?(?:class(?:es)?|rated|grade)\s+{_CLASS_LIST}\b", re.IGNORECASE)
CLASS_SUFFIX_RE = re.compile(
    r"\b([A-E](?:\s*(?:,|/|&|and|or)\s*[A-E])*)\s*(?:-|\s)?(?:(?:risk\s+)?(?:class(?:es)?|rated)|risks?)\b"
    # "the D and E names", "in D or E": two or more capital class letters together are the classes
    r"|\b([A-E](?:\s*(?:,|/|&|and|or)\s*[A-E])+)\s+(?:names|accounts|customers|clients|debtors|credits|ones)\b"
    r"|\bin\s+([A-E](?:\s*(?:,|/|&|and|or)\s*[A-E])+)\b(?!\s+[A-Z]|\s*[&.-])"
)


_WORSE_RE = re.compile(r"\s*(?:or|and|&)\s+(?:worse|below|lower|riskier)\b", re.IGNORECASE)
_BETTER_RE = re.compile(r"\s*(?:or|and|&)\s+(?:better|above|safer)\b", re.IGNORECASE)
_CLASS_LETTERS = "ABCDE"


# "risk C pls", "risk D/E": the word risk before capital class letters
RISK_LETTER_RE = re.compile(r"\b(?i:risk)\s+([A-E](?:\s*(?:,|/|&|and|or)\s*[A-E])*)\b(?![\w'&.-])")


def risk_classes(text: str, spans: Spans) -> list[str]:
    for pattern in (CLASS_RE, CLASS_SUFFIX_RE, RISK_LETTER_RE):
        match = pattern.search(text)
        if match:
            spans.add(*match.span())
            listed = sorted({c.upper() for c in re.findall(r"\b[a-eA-E]\b", next(g for g in match.groups() if g))})
            worse, better = _WORSE_RE.match(text, match.end()), _BETTER_RE.match(text, match.end())
            if len(listed) == 1 and (worse or better):  # "class C or worse": C, D and E
                spans.add(*(worse or better).span())  # type: ignore[union-attr]
                at = _CLASS_LETTERS.index(listed[0])
                return list(_CLASS_LETTERS[at:] if worse else _CLASS_LETTERS[: at + 1])
            return listed
    if re.search(r"\bhigh[- ]risk\b", text, re.IGNORECASE):
        return ["D", "E"]
    return []


@dataclass(frozen=True)
class DpdRange:
    minimum: int | None
    maximum: int | None


_DPD_PLUS = re.compile(r"\b(\d{1,4})\s*\+\s*(?:days?|dpd)?(?:\s+past\s+due)?", re.IGNORECASE)
_DPD_OVER = re.compile(
    r"(?:\b(?:over|more th[ae]n|above|older th[ae]n|beyond|greater th[ae]n|upwards of)|>=?)\s*(\d{1,4})\s*(?:days?|dpd)"
    r"(?:\s+(?:past due|overdue|old))?",
    re.IGNORECASE,
)
# "how much of my book is past 90 days": past due that long (not "in the past 90 days", a window)
_DPD_PAST = re.compile(
    r"\b(?:is|are|'s|that's|thats|sitting|gone|went|been|items?|invoices?|anything|stuff)\s+(?:past|beyond)\s+(\d{1,4})\s*"
    r"(?:days?|dpd)\b",
    re.IGNORECASE,
)
_DPD_OVER_BARE = re.compile(
    r"\b(?:over|more th[ae]n|above|older th[ae]n|beyond)\s*(\d{1,4})\b(?!\s*[km%])", re.IGNORECASE
)
_DPD_RANGE = re.compile(
    r"\b(\d{1,4})\s*(?:-|–|to|and)\s*(\d{1,4})\s*(?:days?|dpd)\b(?![\s-]*(?:payment\s+)?terms\b)",
    re.IGNORECASE,  # "between 30 and 60 days"
)
_DPD_BUCKET = re.compile(  # "my 31-60s", "the 31 to 60 bucket"
    r"\b(\d{1,4})\s*-\s*(\d{1,4})s?\b(?!\s*[km])|\b(\d{1,4})\s*(?:to|–)\s*(\d{1,4})\s+(?:days?\s+)?(?:bucket|band|bracket)s?\b",
    re.IGNORECASE,
)


_JOINED_RE = re.compile(r"\s*(?:,|and|&|plus|\+|or)\s*(?:the\s+)?", re.IGNORECASE)


def _joined_buckets(text: str, end: int, high: int, spans: Spans) -> int | None:
    """The upper end of the buckets that follow one ending at `high` and continue it ("1-30 and 31-60", "61-90 and
    90+"): one range from the first bucket's start. A bucket that leaves a gap is not joined."""
    upper: int | None = high
    while upper is not None:
        joined = _JOINED_RE.match(text, end)
        found = joined and next(
            (m for p in (_DPD_RANGE, _DPD_BUCKET, _DPD_PLUS) if (m := p.match(text, joined.end())) is not None), None
        )
        if not found:
            break
        numbers = [int(g) for g in found.groups() if g is not None]
        if numbers[0] not in (upper, upper + 1):
            break
        spans.add(*found.span())
        upper, end = (numbers[1] if len(numbers) > 1 else None), found.end()
    return upper


def dpd_range(text: str, spans: Spans, *, bare_over: bool = False) -> DpdRange | None:
    for pattern in (_DPD_RANGE, _DPD_BUCKET):
        match = pattern.search(text)
        if match and not spans.covers(*match.span()):
            spans.add(*match.span())
            low, high = [int(g) for g in match.groups() if g is not None][:2]
            return DpdRange(low, _joined_buckets(text, match.end(), high, spans))
    patterns = [_DPD_PLUS, _DPD_OVER, _DPD_PAST, *([_DPD_OVER_BARE] if bare_over else [])]
    for pattern in patterns:
        match = pattern.search(text)
        if match and not spans.covers(*match.span()):
            spans.add(*match.span())
            return DpdRange(int(match.group(1)), None)
    return None


# --- money -----------------------------------------------------------------------------------------------------------
# Amounts are read by `core.amounts.parse_amount`, the one parser of every surface; this part only finds the tokens
# meant as amounts. A token is read whole or not at all: one that looks like an amount but does not parse comes back
# with `error` set, so the planner refuses instead of using part of it ("pay 1e30 USD" is not a promise of 1.00).

# Lower-case codes are taken only for currencies people actually type that way (never 'all', 'top', 'try', 'mad').
LOWER_CODES = {"usd", "eur", "gbp", "cad", "aud", "mxn", "sgd", "chf", "jpy", "nzd", "sek", "nok", "dkk", "inr", "cny"}
MULTIPLIERS = AMOUNT_MULTIPLIERS
_NUMBER_WORD_LIST = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred dozen"
)
NUMBER_WORDS = frozenset(_NUMBER_WORD_LIST.split())
_WORDS_RE = re.compile(
    rf"\b(?:(?:{'|'.join(NUMBER_WORDS)}|a|an|and)[\s-]+)*(?:{'|'.join(NUMBER_WORDS)})(?:[\s-]+(?:and[\s-]+)?"
    rf"(?:{'|'.join(NUMBER_WORDS)}))*[\s-]+(?:{'|'.join(MULTIPLIERS)}|dollars?|euros?|pounds?|bucks|usd|eur|gbp)\b"
    r"|\b(?:a|an)\s+(?:hundred|thousand|million|billion|grand)\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"\S+")
_LEAD = "([{\"'“‘«+~≈"  # "+25k": an increase of 25k, the plus no part of the figure; "~25k": about 25k
_TRAIL = ".,;:!?)]}\"'”’»+"  # "10k+": at least 10k, the plus is no part of the figure
# Digits that are not amounts: dates, ranges, days past due, ordinals, percentages, times, counts with a unit.
_NOT_AMOUNT_RE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}/\d{1,2}|\d+[-–]\d+(?:days?|d|dpd)?"
    r"|\d+\+(?:days?|d|dpd)?|\d+(?:st|nd|rd|th)|\d+(?:[.,]\d+)?%|\d{1,2}(?::\d{2})?(?:am|pm)|\d{1,2}:\d{2}"
    r"|\d+(?:days?|d|dpd|h|hrs?|hours?|w|wks?|weeks?|mos?|months?|yrs?|years?|x|pcs?)",
    re.IGNORECASE,
)
_DIGIT_GROUP_RE = re.compile(r"\d{3}(?:[.,]\d+)?")  # a further group of "750 000", "1 250 000,00"
_GROUPED_RE = re.compile(r"[-\u2212]?\D{0,3}\d{1,3}|\d{3}")  # a first group (with sign or currency), or a middle one


def _code(raw: str | None) -> str | None:
    if not raw:
        return None
    code = raw.strip()
    symbols = currency_symbols()
    if code in symbols:
        return symbols[code]
    if code.isupper() and code in ISO_4217:
        return code
    if code.lower() in LOWER_CODES:
        return code.upper()
    return None


# Currency words after an amount ("2000 dollars", "5k quid"). A word names a family of currencies, taken from babel's
# English currency names ("dollars": USD, CAD, AUD, SGD, …): it fits a customer whose currency is in the family.
_CURRENCY_WORD_FAMILIES = {
    "dollar": "dollar", "dollars": "dollar", "buck": "dollar", "bucks": "dollar", "euro": "euro", "euros": "euro",
    "pound": "pound", "pounds": "pound", "yen": "yen", "peso": "peso", "pesos": "peso", "franc": "franc",
    "francs": "franc", "rupee": "rupee", "rupees": "rupee", "krona": "krona", "kronor": "krona", "krone": "krone",
    "kroner": "krone",
}  # fmt: skip
_CURRENCY_WORD_CODES = {"quid": frozenset({"GBP"}), "sterling": frozenset({"GBP"})}


@cache
def currency_word_codes(word: str) -> frozenset[str] | None:
    """The ISO codes a currency word may mean ("bucks" -> the dollar currencies), or None for other words."""
    lower = word.lower()
    if lower in _CURRENCY_WORD_CODES:
        return _CURRENCY_WORD_CODES[lower]
    family = _CURRENCY_WORD_FAMILIES.get(lower)
    if family is None:
        return None
    return (
        frozenset(code for code in ISO_4217 if get_currency_name(code, locale="en").split()[-1].lower() == family)
        or None
    )


@dataclass(frozen=True)
class MoneyMention:
    amount: Decimal
    currency: str | None
    explicit: bool  # a currency, a multiplier or separators: clearly meant as money
    negative: bool  # then `amount` is the size and `error` is "negative": refused unless a change may go down
    start: int
    end: int
    error: str | None = None  # negative, too_large or invalid
    message: str | None = None  # why, naming the text, for the refusal
    # A currency word ("dollars") and the codes it may mean; `currency` is set too when it means only one ("euros").
    currency_word: str | None = None
    currencies: frozenset[str] | None = None

    def fits(self, currency: str) -> bool:
        """Whether the amount may be in `currency` (the customer's): no currency stated, or that one."""
        if self.currency is not None and self.currency != currency:
            return False
        return self.currencies is None or currency in self.currencies

    @property
    def stated_currency(self) -> str:
        """The currency as the user wrote it, for a question or refusal."""
        return self.currency_word or self.currency or ""


@dataclass(frozen=True)
class _Word:
    start: int  # of the word without the punctuation around it
    end: int
    text: str
    closed: bool  # punctuation after it ends the amount ("5k, by Friday")


def _words(text: str) -> list[_Word]:
    words = []
    for match in _WORD_RE.finditer(text):
        raw = match.group(0)
        inner = raw.lstrip(_LEAD)
        start = match.start() + len(raw) - len(inner)
        stripped = inner.rstrip(_TRAIL)
        if stripped:
            words.append(_Word(start, start + len(stripped), stripped, len(stripped) < len(inner)))
    return words


def _starts_number(word: str) -> bool:
    """Digit-led, after an optional sign and a currency symbol or glued ISO code ("-$5", "USD40,000", "€12")."""
    rest = word.lstrip("-\u2212")
    for symbol in sorted(currency_symbols(), key=len, reverse=True):
        if rest.startswith(symbol):
            rest = rest[len(symbol) :]
            break
    if re.match(r"[A-Z]{3}", rest) and rest[:3] in ISO_4217:
        rest = rest[3:]
    rest = rest.lstrip("-\u2212")
    return bool(rest) and rest[0].isnumeric()


# "a 20 min call", "over 60 days", "the 90+ stuff", "90 dpd": time or an ageing bucket, never money
_DURATION_RE = re.compile(
    r"\b\d{1,3}\s*-?\s*(?:mins?|minutes?|hrs?|hours?|secs?|seconds?|days?|dpd|weeks?|wks?)\b"
    r"|\b\d{1,3}\s?\+(?![\s$€£]*\d)",
    re.IGNORECASE,
)
# "8 broken ptps", "3 invoices", "2 missed promises": a count of things, never an amount
_COUNTED_THINGS_RE = re.compile(
    r"(?<![\d.,$€£¥])\b(?:1|\d{1,3}(?=\s+(?:\w+\s+)?\w+s\b))\s+"
    r"(?:(?:broken|missed|kept|open|overdue|late|unpaid|disputed|outstanding|separate|other|more|new)\s+)?"
    r"(?:promises?|ptps?|invoices?|invs?|orders?|disputes?|reminders?|letters?|calls?|times|payments?|customers?"
    r"|accounts?|items?|e-?mails?|notices?|voicemails?|attempts?|tries|messages?)\b",
    re.IGNORECASE,
)
_HALF_RE = re.compile(r"\bhalf(?:\s+(?:a|an)\s+|[\s-])(million|thousand|grand|mil|mn|m|k)\b", re.IGNORECASE)
_QUARTER_RE = re.compile(r"\b(?:a\s+)?quarter(?:\s+(?:of\s+)?(?:a|an)\s+|[\s-])(million|mil|mn|m)\b", re.IGNORECASE)


def amounts_in_words_as_figures(text: str) -> str:
    """ "twenty thousand dollars" → "20000 dollars", "half a million" → "500000", "a quarter of a million" →
    "250000", "20 grand" stays: amounts staff write in words, read by text2num. A phrase it cannot read whole is left
    as written (and refused later)."""
    text = _HALF_RE.sub(lambda m: str(int(MULTIPLIERS[m.group(1).lower()] / 2)), text)
    text = _QUARTER_RE.sub(lambda m: str(int(MULTIPLIERS[m.group(1).lower()] / 4)), text)
    return _WORDS_RE.sub(_as_figures, text)


def _as_figures(match: re.Match[str]) -> str:
    words = [word for word in re.split(r"[\s-]+", match.group(0)) if word.lower() != "and"]
    unit = words[-1].lower()
    numbers = ["one" if word.lower() in ("a", "an") else word.lower() for word in words[:-1]]
    multiplier = MULTIPLIERS.get(unit)
    if multiplier is None or unit == "hundred":  # "twenty dollars", "five hundred": the words are the number
        numbers, tail = ([*numbers, unit], "") if unit == "hundred" else (numbers, " " + words[-1])
        multiplier = Decimal(1)
    else:
        tail = ""
    try:
        value = text2num(" ".join(numbers), "en")
    except ValueError:
        return match.group(0)
    return f"{Decimal(value) * multiplier:f}{tail}"


def money_mentions(text: str, spans: Spans, *, number_format: NumberFormat | None = None) -> list[MoneyMention]:
    """Every amount in the text not already explained by another entity, read under `number_format` (the user's
    locale; English grouping by default). Never raises: a malformed, negative or absurd amount comes back with `error`
    and `message` set so the caller can refuse clearly."""
    for duration in (*_DURATION_RE.finditer(text), *_COUNTED_THINGS_RE.finditer(text)):
        if not spans.covers(*duration.span()):
            spans.add(*duration.span())
    found = [
        MoneyMention(Decimal(0), None, True, False, m.start(), m.end(), "invalid", _words_message(m.group(0)))
        for m in _WORDS_RE.finditer(text)
        if not spans.covers(*m.span())
    ]
    for in_words in found:
        spans.add(in_words.start, in_words.end)
    words = _words(text)
    index = 0
    while index < len(words):
        word = words[index]
        if spans.covers(word.start, word.end) or not _starts_number(word.text):
            index += 1
            continue
        first, last = index, index
        prefix = _code(words[index - 1].text) if index > 0 and not words[index - 1].closed else None
        if prefix and not spans.covers(words[index - 1].start, words[index - 1].end):
            first -= 1
        last = _extend(words, last, spans)
        start, end = words[first].start, words[last].end
        mention = _mention(text[start:end], start, end, bool(prefix) or last > index, number_format)
        word_codes = None
        if mention is not None and mention.error is None and last + 1 < len(words) and not words[last].closed:
            word_codes = currency_word_codes(words[last + 1].text)
        if mention is not None and word_codes is not None:
            last += 1
            end = words[last].end
            mention = _with_currency_word(mention, words[last].text, word_codes, end)
        if mention is not None and mention.error is None and _bracketed(text, start, end) and not _labels(text, start):
            # "(5000)": an accounting negative, refused like "-5000" rather than read as 5000
            start, end = start - 1, end + 1
            why = f"amount {text[start:end]!r} is in brackets, which means negative"
            mention = MoneyMention(mention.amount, mention.currency, True, True, start, end, "negative", why)
        if mention is not None:
            minus = first > 0 and words[first - 1].text.lower() == "minus" and not words[first - 1].closed
            if minus and mention.error is None:
                start = words[first - 1].start
                why = f"amount {text[start:end]!r} must not be negative"
                mention = MoneyMention(mention.amount, mention.currency, True, True, start, end, "negative", why)
            compound = _compound(words, last, spans)
            if compound is not None and mention.error is None:
                end = compound
                why = f"amount {text[start:end]!r} mixes figures and words; write it in figures"
                mention = MoneyMention(Decimal(0), None, True, False, start, end, "invalid", why)
            found.append(mention)
            spans.add(start, end)
        index = last + 1
    return sorted(found, key=lambda m: m.start)


def _with_currency_word(mention: MoneyMention, word: str, codes: frozenset[str], end: int) -> MoneyMention:
    if mention.currency is not None and mention.currency not in codes:
        why = f"amount names two currencies ({mention.currency} and {word!r})"
        return MoneyMention(Decimal(0), None, True, False, mention.start, end, "invalid", why)
    only = next(iter(codes)) if len(codes) == 1 else mention.currency
    return MoneyMention(
        mention.amount, only, True, mention.negative, mention.start, end, mention.error, mention.message, word, codes
    )


def _bracketed(text: str, start: int, end: int) -> bool:
    return start > 0 and text[start - 1] == "(" and text[end : end + 1] == ")"


_DOCUMENT_NUMBER_BEFORE = re.compile(r"\b(?:INV|CN|SO)[-\s]?[\w-]*\d\s*\($", re.IGNORECASE)


def _labels(text: str, start: int) -> bool:
    """ "INV-2026-0221 ($24,524.63)": brackets after a document number give its amount, not a negative one."""
    return _DOCUMENT_NUMBER_BEFORE.search(text[:start]) is not None


def _extend(words: list[_Word], last: int, spans: Spans) -> int:
    """Take in digit groups ("750 000"), a multiplier word ("3 million") and a currency ("12,500.00 EUR")."""

    def free(i: int) -> bool:
        return i < len(words) and not words[last].closed and not spans.covers(words[i].start, words[i].end)

    while (
        free(last + 1) and _GROUPED_RE.fullmatch(words[last].text) and _DIGIT_GROUP_RE.fullmatch(words[last + 1].text)
    ):
        last += 1
    if free(last + 1) and words[last + 1].text.lower() in MULTIPLIERS and not re.search(r"[A-Za-z]$", words[last].text):
        last += 1
    if free(last + 1) and _code(words[last + 1].text):
        last += 1
    return last


def _compound(words: list[_Word], last: int, spans: Spans) -> int | None:
    """ "5 thousand 200", "2 hundred thousand", "5k and 300": figures and multiplier words that do not add up to one
    amount as written. Returns where the compound ends."""
    if not re.search(r"[A-Za-z]", words[last].text) or words[last].closed:
        return None
    at = last + 1
    if at < len(words) and words[at].text.lower() == "and" and not words[at].closed:
        at += 1
    if at >= len(words) or spans.covers(words[at].start, words[at].end):
        return None
    nxt = words[at].text.lower()
    if nxt in ("one", "ones") and words[last].text.lower() not in MULTIPLIERS:
        return None  # "the 18.7k AUD one": the order meant, no part of the figure
    if nxt in MULTIPLIERS or nxt in NUMBER_WORDS or re.fullmatch(r"\d+(?:[.,]\d+)*[km]?", nxt):
        return words[at].end
    return None


def _mention(token: str, start: int, end: int, joined: bool, number_format: NumberFormat | None) -> MoneyMention | None:
    bare = token.lstrip("-\u2212")
    if not joined and _NOT_AMOUNT_RE.fullmatch(bare):
        return None
    try:
        parsed = parse_amount(token, allow_negative=True, number_format=number_format, shorthand=True)
    except CreditDeskError as failure:
        if not joined and re.search(r"[A-Za-z]{2,}", _strip_money_words(bare)):
            return None  # a word with a digit in it ("7-Eleven", "2FA"), not an attempt at an amount
        reason = str(failure.details.get("reason", "invalid"))
        return MoneyMention(Decimal(0), None, True, False, start, end, reason, failure.message)
    explicit = parsed.currency is not None or bool(re.search(r"[^\d\-\u2212]", token))
    if parsed.amount < 0:
        why = f"amount {token!r} must not be negative"
        return MoneyMention(-parsed.amount, parsed.currency, True, True, start, end, "negative", why)
    return MoneyMention(parsed.amount, parsed.currency, explicit, False, start, end)


def _strip_money_words(token: str) -> str:
    """The token without a currency code and a multiplier at its ends, to tell "7-Eleven" from "1e30USD"."""
    token = re.sub(
        r"^[A-Za-z]{3}(?=\d)|(?<=\d)[A-Za-z]{3}$",
        lambda match: "" if match.group(0).upper() in ISO_4217 else match.group(0),
        token,
    )
    return re.sub(rf"(?i)(?<=\d)(?:{'|'.join(MULTIPLIERS)})$", "", token)


def _words_message(phrase: str) -> str:
    return f"amount {phrase.strip()!r} is in words; write it in figures, e.g. 5000 or 5k"
