"""Entities in a request, found by rules: amounts, dates, ids, risk classes, days-past-due ranges, and the words left
over that may name a customer. Pure functions of the text and `today`; nothing here touches the database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache, partial

from babel.numbers import get_currency_name
from rapidfuzz import distance, process
from text_to_num import text2num

from core.amounts import MULTIPLIERS as AMOUNT_MULTIPLIERS
from core.amounts import NumberFormat, currency_symbols, parse_amount
from core.dates import add_months, month_end, month_start, quarter_end, quarter_of, quarter_start
from core.errors import CreditDeskError
from core.money import ISO_4217
from core.settings import get_settings
from tools.reference_words import DOMAIN_WORDS, is_common_word, is_filler, is_ordinary

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
CUSTOMER_ID_RE = re.compile(
    r"\b(?:customer|cust|account|acct)\s*(?:id\s*)?(?:no\.?\s*|number\s*)?#\s*(\d+)\b|"
    r"\b(?:customer|cust)\s+(?:id\s+)?(\d+)\b",
    re.IGNORECASE,
)
DISPUTE_ID_RE = re.compile(r"\bdispute\s*(?:id\s*|no\.?\s*|number\s*)?#?\s*(\d+)\b|#(\d+)\b", re.IGNORECASE)
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


def invoice_numbers(text: str, spans: Spans) -> list[str]:
    found = []
    for match in INVOICE_RE.finditer(text):
        spans.add(*match.span())
        found.append(re.sub(r"^(INV|CN)[-\s]?", r"\1-", match.group(0).upper()))  # "inv 2026-0002526"
    return found


# "in the IBM sample", "for the imported ledger", "ibm data": the data set the question is about, not a customer.
DATA_SOURCE_RE = re.compile(
    r"\b(?:(?:in|for|from|on|using)\s+)?(?:the\s+)?(?:[\w-]+\s+)?(?:sample|data\s*set|data|import|imported\s+\w+)\b"
    r"(?:\s+(?:data|set|file))?",
    re.IGNORECASE,
)


def data_source_mentions(text: str, spans: Spans) -> None:
    for match in DATA_SOURCE_RE.finditer(text):
        spans.add(*match.span())


# Imported ledgers number invoices with bare digits ("invoice 0104358967"): read only after the word invoice, or
# as a long run of digits that no amount or date is written as.
BARE_INVOICE_RE = re.compile(
    r"(?:invoice|inv)\s*(?:no\.?|number|nr\.?|#)?\s*#?\s*(\d{4,12})\b|(?<![\d.,])\b(\d{8,12})\b(?![.,]\d)",
    re.IGNORECASE,
)


def bare_invoice_numbers(text: str, spans: Spans) -> list[str]:
    found = []
    for match in BARE_INVOICE_RE.finditer(text):
        group = 1 if match.group(1) else 2
        if spans.covers(*match.span(group)):
            continue
        spans.add(*match.span(group))
        found.append(match.group(group))
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
    r"\b([A-E](?:\s*(?:,|/|&|and|or)\s*[A-E])*)\s*(?:-|\s)?(?:risk\s+)?(?:class(?:es)?|rated)\b"
)


def risk_classes(text: str, spans: Spans) -> list[str]:
    for pattern in (CLASS_RE, CLASS_SUFFIX_RE):
        match = pattern.search(text)
        if match:
            spans.add(*match.span())
            return sorted({c.upper() for c in re.findall(r"\b[a-eA-E]\b", match.group(1))})
    if re.search(r"\bhigh[- ]risk\b", text, re.IGNORECASE):
        return ["D", "E"]
    return []


@dataclass(frozen=True)
class DpdRange:
    minimum: int | None
    maximum: int | None


_DPD_PLUS = re.compile(r"\b(\d{1,4})\s*\+\s*(?:days?|dpd)?(?:\s+past\s+due)?", re.IGNORECASE)
_DPD_OVER = re.compile(
    r"\b(?:over|more than|above|older than|beyond|greater than|>)\s*(\d{1,4})\s*(?:days?|dpd)"
    r"(?:\s+(?:past due|overdue|old))?",
    re.IGNORECASE,
)
_DPD_OVER_BARE = re.compile(r"\b(?:over|more than|above|older than|beyond)\s*(\d{1,4})\b(?!\s*[km%])", re.IGNORECASE)
_DPD_RANGE = re.compile(r"\b(\d{1,4})\s*(?:-|–|to)\s*(\d{1,4})\s*(?:days?|dpd)\b", re.IGNORECASE)
_DPD_BUCKET = re.compile(r"\b(\d{1,4})\s*-\s*(\d{1,4})\b(?!\s*[km])", re.IGNORECASE)


def dpd_range(text: str, spans: Spans, *, bare_over: bool = False) -> DpdRange | None:
    for pattern in (_DPD_RANGE, _DPD_BUCKET):
        match = pattern.search(text)
        if match and not spans.covers(*match.span()):
            spans.add(*match.span())
            return DpdRange(int(match.group(1)), int(match.group(2)))
    patterns = [_DPD_PLUS, _DPD_OVER, *([_DPD_OVER_BARE] if bare_over else [])]
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
_LEAD = "([{\"'“‘«"
_TRAIL = ".,;:!?)]}\"'”’»"
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
    negative: bool
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


_HALF_RE = re.compile(r"\bhalf\s+(?:a|an)\s+(million|thousand|grand|mil|mn|m|k)\b", re.IGNORECASE)


def amounts_in_words_as_figures(text: str) -> str:
    """ "twenty thousand dollars" → "20000 dollars", "half a million" → "500000", "20 grand" stays: amounts staff
    write in words, read by text2num. A phrase it cannot read whole is left as written (and refused later)."""
    text = _HALF_RE.sub(lambda m: str(int(MULTIPLIERS[m.group(1).lower()] / 2)), text)
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
            mention = MoneyMention(Decimal(0), mention.currency, True, True, start, end, "negative", why)
        if mention is not None:
            minus = first > 0 and words[first - 1].text.lower() == "minus" and not words[first - 1].closed
            if minus and mention.error is None:
                start = words[first - 1].start
                why = f"amount {text[start:end]!r} must not be negative"
                mention = MoneyMention(Decimal(0), mention.currency, True, True, start, end, "negative", why)
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
        return MoneyMention(Decimal(0), parsed.currency, True, True, start, end, "negative", why)
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


# --- dates -----------------------------------------------------------------------------------------------------------

WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
    "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
SMALL_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))


# "on the 15th", "by the 3rd", "as of the 1st": a day of a month left unsaid (the next one for promises, the latest
# one for reporting). Not "the first one", "1st reminder", "2nd quarter", "3rd page": those are picks and levels.
_DAY_OF_MONTH = (
    r"\b(?:(?:on|by|before|until|till|for|as\s+(?:of|at))\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b"
    r"(?!\s+(?:one|ones|account|customer|client|row|line|item|entry|reminder|notice|letter|level|quarter|half"
    r"|week|page|dunning|largest|biggest|top|on|in)\b)(?:\s+of\s+(?:the|this)\s+month\b)?"
)


@dataclass(frozen=True)
class DateMention:
    """A point in time, and for reporting questions the period that ends there (start or number of months)."""

    day: date
    period_start: date | None = None
    period_months: int | None = None
    label: str = ""
    # Set when the text does not pin one day ("07/12": 7 December or 12 July; "the 31st" in November): the
    # question to ask instead of picking one. `day` is then only the first reading and must not be used.
    problem: str | None = None


def _either_order(first: int, second: int) -> bool:
    """A numeric date whose two parts both fit as a month and differ: day/month and month/day give two dates, unless
    the `date_order` setting declares the order (then only that reading exists). Never guessed."""
    return first != second and first <= 12 and second <= 12 and get_settings().date_order == "ask"


def _numeric_parts(first: int, second: int) -> tuple[int, int]:
    """(month, day) of a numeric date written first/second: the only reading that fits, else the configured one."""
    if second > 12 >= first:
        return first, second
    if first > 12 >= second:
        return second, first
    return (first, second) if get_settings().date_order == "month_first" else (second, first)


def _ambiguous(written: str, readings: tuple[date, ...]) -> DateMention:
    options = " or ".join(f"{day.day} {day:%B %Y}" for day in readings)
    return DateMention(readings[0], label=written, problem=f"“{written}” could be {options}")


def _past_year(candidate: date, today: date, future: bool) -> date:
    if not future and candidate > today:
        return candidate.replace(year=candidate.year - 1)
    if future and candidate < today:
        return candidate.replace(year=candidate.year + 1)
    return candidate


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _quarter(q: int, year: int | None, today: date, future: bool) -> DateMention:
    if year is None:
        year = today.year
        if not future and quarter_end(year, q) > today and quarter_start(year, q) > today:
            year -= 1
    end = min(quarter_end(year, q), today) if not future and quarter_start(year, q) <= today else quarter_end(year, q)
    return DateMention(end, quarter_start(year, q), 3, f"Q{q} {year}")


def _day_of_month(number: int, today: date, future: bool) -> DateMention | None:
    """The next such day from today on (future), or the latest one up to today; months without it are skipped."""
    if not 1 <= number <= 31:
        return None
    start = month_start(today)
    # The month meant is this one, or the next (promises) / previous (reporting) once the day is past; when that
    # month has no such day, say so rather than move to a later month that has it.
    passed = number < today.day if future else number > today.day
    meant = add_months(start, (1 if future else -1) if passed else 0)
    missing = _safe_date(meant.year, meant.month, number) is None
    for step in range(13):
        month = add_months(start, step if future else -step)
        candidate = _safe_date(month.year, month.month, number)
        if candidate is not None and (candidate >= today if future else candidate <= today):
            if not missing:
                return DateMention(candidate, label=str(candidate))
            suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
            readings = sorted({month_end(meant), candidate})
            options = " or ".join(f"{day.day} {day:%B %Y}" for day in readings)
            return DateMention(
                candidate, label=f"the {number}{suffix}", problem=f"{meant:%B %Y} has no {number}{suffix} ({options}?)"
            )
    return None


def _weekday(name: str, modifier: str, today: date) -> date:
    target = WEEKDAYS[name]
    ahead = (target - today.weekday()) % 7 or 7
    day = today + timedelta(days=ahead)
    if modifier == "next" and day.isocalendar()[:2] == today.isocalendar()[:2]:
        day += timedelta(days=7)
    if modifier == "last":
        day = today - timedelta(days=(today.weekday() - target) % 7 or 7)
    return day


_DATE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\b"), "iso"),
    (re.compile(r"\b(\d{1,2})([/.])(\d{1,2})\2(\d{4})\b"), "dmy"),
    (re.compile(r"(?<![\d/.,$€£])\b(\d{1,2})/(\d{1,2})\b(?![/.,]?\d)"), "dm"),
    (
        re.compile(
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+|-)(?:of\s+)?({_MONTH_NAMES})\.?,?(?:[\s-]+(\d{{4}}))?\b", re.I
        ),
        "d_month",
    ),
    (
        re.compile(rf"\b({_MONTH_NAMES})\.?(?:\s+|-)(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?[\s-]+(\d{{4}}))?", re.I),
        "month_d",
    ),
    (re.compile(rf"\b(?:mid|the middle of)[-\s]+({_MONTH_NAMES})\b(?:\s+(\d{{4}}))?", re.I), "mid_month"),
    (
        re.compile(r"\b(?:beginning|start)\s+of\s+next\s+month\b|\bfirst\s+of\s+next\s+month\b", re.I),
        "next_month_start",
    ),
    (re.compile(r"\b(?:by\s+)?(?:the\s+)?end\s+of\s+next\s+week\b", re.I), "end_next_week"),
    (re.compile(r"\b(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week\b|\beow\b", re.I), "end_week"),
    (re.compile(r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?q([1-4])(?:\s*(?:of\s+)?(\d{4}))?\b", re.I), "quarter"),
    (
        re.compile(
            r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter"
            r"(?:\s+(?:of\s+)?(\d{4}))?",
            re.I,
        ),
        "quarter_word",
    ),
    (re.compile(r"\b(?:in\s+|for\s+|during\s+)?q([1-4])(?:\s*(?:of\s+)?(\d{4}))?\b", re.I), "quarter"),
    (re.compile(r"\b(?:this|current)\s+quarter\b|\bquarter[- ]to[- ]date\b|\bqtd\b", re.I), "this_quarter"),
    (
        re.compile(r"\b(?:at\s+)?(?:the\s+)?(?:end\s+of\s+(?:the\s+)?)?(?:last|previous|prior)\s+quarter\b", re.I),
        "last_quarter",
    ),
    (re.compile(r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(?:last|previous|prior)\s+month\b", re.I), "last_month"),
    (re.compile(r"\b(?:last|previous|prior)\s+(?:month\b|eom\b)", re.I), "last_month"),
    (re.compile(r"\beom\b(?![- ]?(?:report|statement|figures?|numbers?|balances?|close))", re.I), "eom"),
    (re.compile(r"\b(?:this|current)\s+month\b|\bmonth[- ]to[- ]date\b|\bmtd\b", re.I), "this_month"),
    (re.compile(r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+next\s+month\b", re.I), "end_next_month"),
    (  # "September 2013 month end", "june EOM": that month's end
        re.compile(rf"\b({_MONTH_NAMES})\.?(?:\s+(\d{{4}}))?\s+(?:month[- ]end|eom|close)\b", re.I),
        "end_of_named_month",
    ),
    (
        re.compile(
            r"\b(?:at\s+|by\s+|on\s+)?(?:the\s+)?(?:end|last\s+day)\s+of\s+(?:the\s+|this\s+)?month\b|\bmonth[- ]end\b"
            r"|\b(?:by|at|before|until|till)\s+eom\b",
            re.I,
        ),
        "end_month",
    ),
    (re.compile(rf"\b(?:at\s+)?(?:the\s+)?end\s+of\s+({_MONTH_NAMES})\b(?:\s+(\d{{4}}))?", re.I), "end_of_named_month"),
    (re.compile(r"\b(?:at\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|last\s+)?year\b|\byear[- ]end\b", re.I), "year_end"),
    (re.compile(r"\b(?:last|past|previous)\s+(\d{1,2}|two|three|four|five|six)\s+months\b", re.I), "last_n_months"),
    (re.compile(r"\b(?:in|within)\s+(\d{1,3}|a|an|one|two|three|four|five|six)\s+(day|week|month)s?\b", re.I), "in_n"),
    (re.compile(r"\bin\s+a\s+fortnight\b", re.I), "fortnight"),
    (re.compile(r"\bnext\s+week\b", re.I), "next_week"),
    (re.compile(rf"\b(next|this|coming|on|by|last)?\s*({_WEEKDAY_NAMES})\b", re.I), "weekday"),
    (re.compile(_DAY_OF_MONTH, re.I), "day_of_month"),
    (re.compile(r"\btoday\b|\btonight\b|\bright now\b", re.I), "today"),
    (re.compile(r"\byesterday\b", re.I), "yesterday"),
    (re.compile(r"\btomorrow\b|\btmrw\b|\btmr\b", re.I), "tomorrow"),
]


def date_mentions(text: str, today: date, spans: Spans, *, future: bool = False) -> list[DateMention]:
    """Dates in the text, resolved against `today`. `future`: bare month/day or quarter names mean the next one
    (promises), otherwise the latest one not after today (reporting)."""
    found: list[tuple[int, DateMention]] = []
    for pattern, kind in _DATE_RULES:
        for match in pattern.finditer(text):
            if spans.covers(*match.span()):
                continue
            mention = _date_from(kind, match, today, future)
            if mention is None:
                continue
            spans.add(*match.span())
            found.append((match.start(), mention))
    return [mention for _, mention in sorted(found, key=lambda pair: pair[0])]


def date_at(text: str, position: int, today: date, *, future: bool = False) -> tuple[DateMention, int] | None:
    """The reporting date that starts at `position` ("the end of Q3", "30 Sep 2013"), the longest reading, and where
    it ends; None when the text there is no date."""
    best: tuple[DateMention, int] | None = None
    for pattern, kind in _DATE_RULES:
        match = pattern.match(text, position)
        if match is None or (best is not None and match.end() <= best[1]):
            continue
        mention = _date_from(kind, match, today, future)
        if mention is not None and mention.problem is None:
            best = (mention, match.end())
    return best


def _date_from(kind: str, match: re.Match[str], today: date, future: bool) -> DateMention | None:
    g = match.groups()
    adjective = re.match(r"\s+[a-z]", match.string[match.end() :], re.I) is not None
    if kind == "end_month" and not future and adjective and re.fullmatch(r"month[- ]end", match.group(0), re.I):
        return None  # "month-end DSO trend": what kind of figure, not a date
    if kind == "eom" and not future:
        return None
    if kind == "iso":
        day = _safe_date(int(g[0]), int(g[2]), int(g[3]))
        return DateMention(day, label=str(day)) if day else None
    if kind == "dmy":
        first, second, year = int(g[0]), int(g[2]), int(g[3])
        # "12/15/2026" can only be month/day, "15/12/2026" only day/month; "07/12/2026" could be either
        month, day_number = _numeric_parts(first, second)
        day = _safe_date(year, month, day_number)
        if day is None:
            return None
        if _either_order(first, second):
            other = date(year, first, second)
            return _ambiguous(match.group(0), (day, other))
        return DateMention(day, label=str(day))
    if kind == "dm":
        first, second = int(g[0]), int(g[1])
        month, day_number = _numeric_parts(first, second)
        candidate = _safe_date(today.year, month, day_number)
        if candidate is None:
            return None
        day = _past_year(candidate, today, future)
        if _either_order(first, second):
            other = _past_year(date(today.year, first, second), today, future)
            return _ambiguous(match.group(0), (day, other))
        return DateMention(day, label=str(day))
    if kind == "day_of_month":
        return _day_of_month(int(g[0]), today, future)
    if kind == "mid_month":
        month = MONTHS[g[0].lower()]
        year = int(g[1]) if g[1] else today.year
        day = date(year, month, 15)
        if not g[1]:
            day = _past_year(day, today, future)
        return DateMention(day, label=str(day))
    if kind == "next_month_start":
        return DateMention(add_months(month_start(today), 1), label="start of next month")
    if kind == "end_week":
        return DateMention(today + timedelta(days=(4 - today.weekday()) % 7), label="end of the week")
    if kind == "end_next_week":
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        return DateMention(friday + timedelta(days=7), label="end of next week")
    if kind in ("d_month", "month_d"):
        day_text, month_text, year_text = (g[0], g[1], g[2]) if kind == "d_month" else (g[1], g[0], g[2])
        month = MONTHS[month_text.lower().rstrip(".")]
        year = int(year_text) if year_text else today.year
        day = _safe_date(year, month, int(day_text))
        if day is None:
            return None
        if not year_text:
            day = _past_year(day, today, future)
        return DateMention(day, label=str(day))
    if kind == "quarter":
        return _quarter(int(g[0]), int(g[1]) if g[1] else None, today, future)
    if kind == "quarter_word":
        return _quarter(ORDINALS[g[0].lower()], int(g[1]) if g[1] else None, today, future)
    if kind == "this_quarter":
        q = quarter_of(today)
        return DateMention(today, quarter_start(today.year, q), None, "this quarter")
    if kind == "last_quarter":
        previous = add_months(quarter_start(today.year, quarter_of(today)), -3)
        q = quarter_of(previous)
        return DateMention(quarter_end(previous.year, q), quarter_start(previous.year, q), 3, f"Q{q} {previous.year}")
    if kind == "last_month":
        end = month_end(add_months(month_start(today), -1))
        return DateMention(end, month_start(end), 1, "last month")
    if kind == "this_month":
        return DateMention(today, month_start(today), 1, "this month")
    if kind == "end_next_month":
        return DateMention(month_end(add_months(month_start(today), 1)), label="end of next month")
    if kind in ("end_month", "eom"):
        return DateMention(month_end(today), label="end of the month")
    if kind == "end_of_named_month":
        month = MONTHS[g[0].lower()]
        year = int(g[1]) if g[1] else today.year
        end = month_end(date(year, month, 1))
        if not g[1]:
            end = month_end(_past_year(date(year, month, 1), month_start(today), future))
        return DateMention(end, month_start(end), 1, f"end of {end:%B %Y}")
    if kind == "year_end":
        year = today.year if future else today.year - 1
        return DateMention(date(year, 12, 31), label=f"end of {year}")
    if kind == "last_n_months":
        months = int(g[0]) if g[0].isdigit() else SMALL_NUMBERS[g[0].lower()]
        return DateMention(today, None, months, f"last {months} months")
    if kind == "in_n":
        n = int(g[0]) if g[0].isdigit() else SMALL_NUMBERS[g[0].lower()]
        unit = g[1].lower()
        if unit == "day":
            return DateMention(today + timedelta(days=n))
        if unit == "week":
            return DateMention(today + timedelta(days=7 * n))
        return DateMention(add_months(today, n))
    if kind == "fortnight":
        return DateMention(today + timedelta(days=14))
    if kind == "next_week":
        return DateMention(today + timedelta(days=7))
    if kind == "weekday":
        modifier = (g[0] or "").lower()
        if len(g[1]) <= 4 and not modifier:
            return None  # "sun", "sat", "wed" alone are too often parts of names
        day = _weekday(g[1].lower(), modifier, today)
        if not future and modifier in ("", "on", "by") and day > today:
            day -= timedelta(days=7)  # "overdue as of friday" on a Monday: the Friday just gone
        if not future and day > today and match.string[match.end() : match.end() + 2] == "'s":
            return None  # "the slides for Thursday's review": an event that day, not a date the figures are wanted at
        return DateMention(day)
    if kind == "today":
        return DateMention(today, label="today")
    if kind == "yesterday":
        return DateMention(today - timedelta(days=1), label="yesterday")
    if kind == "tomorrow":
        return DateMention(today + timedelta(days=1), label="tomorrow")
    return None


# --- the words that may name a customer ------------------------------------------------------------------------------

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between both but
    by can could did do does doing down during each few for from further had has have having he her here hers him his
    how i if in into is it its itself just me more most my no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you your yours
    yourself what's whats who's how's it's i'm im i'd i'll let's lets pls please plz thanks thank thx hi hello hey ok
    okay yes yeah yep sure go ahead also again quickly quick asap currently current right now today tomorrow yesterday
    tell show give get gimme gime list find look lookup check see know need want wanna like think pull bring fetch
    run do make create open view display explain summarise summarize summary brief briefing update updates info
    information details detail overview status state standing position situation much many number amount total
    exposure exposures expsoure exposre balance balances bal owe owes owed owing outstanding o/s receivable receivables
    ar a/r aging ageing aged overdue due past late open items invoices invoice items credit limit limits utilisation
    utilization available headroom room dso cei add kpi kpis customer customers client clients account accounts acct
    cust company's ship shipping shipment ship? deliver delivery release released releasing order orders new accept
    take book fulfil fulfill ok? safe allowed can't cannot score scores scoring scorecard risk risky rating rated
    class classes grade why recommend recommended recommendation suggest suggested suggestion propose proposed
    proposal increase raise bump lift reduce decrease lower cut set change adjust limit? review worklist work list
    queue todo to-do next call calls chase chasing contact priority priorities prioritise prioritize top team teams
    region regions segment segments collector collectors my mine dunning dun reminder reminders remind letter letters
    email e-mail mail draft write prepare compose send sent friendly firm final notice level tone gentle polite stern
    dispute disputes disputed claim claims complaint complaints portfolio whole entire book trend trends chart charts
    graph plot concentration largest biggest top debtors promise promised promises promising pay paid paying payment
    payments ptp commit committed agreed going will hold holds on-hold block blocked stop unblock unhold lift assign
    assigned reassign move transfer hand note notes log record add comment policy policies rule rules handbook
    procedure approve approves approval approvals approver reject decline who when happens allowed help commands
    menu thing things stuff guy guys one ones first second third last previous same this that those these them they
    their it its him her he she customer's their's excluding exclude excl without except undisputed broken kept incl
    per grouped group-by quarter month week day days year q1 q2 q3 q4 end start since as-of asof as date period
    between past due dpd usd eur gbp cad aud mxn sgd k m bn thousand million dollars euros pounds bucks level
    including inclusive another already really gonna wanna combined together overall altogether avg average
    typically typical usually normally generally settle settles settling good morning cheers sec cfo ceo coo cfo's
    ceo's fd vp md hr board deck slides remittance dont don't wont won't cant didnt didn't doesnt doesn't isnt
    isn't arent aren't wasnt wasn't surprises surprise
    lvl again. reason because due. regarding re: about? exposure? balance? status? score? disputes? worklist?
    currently? again? morning afternoon evening everyone everybody anyone someone every everything anyway else
    wants wanted more worth pending mean means meaning o s says said told tells us vs versus hw hou sales chaser
    chasers bucket buckets put probability likelihood chance most least highest lowest doing doing? fine whos
    who's whats hows
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# Never part of a name: the request words above and the trade vocabulary shared with the resolver ("report",
# "statement", "EOM", "sitting", "older"). Place names are not here: "Acme Europe" is a name; see `ordinary`.
NOT_NAME_WORDS = STOPWORDS | DOMAIN_WORDS
BRIDGES = frozenset({"&", "and", "of", "de", "du", "von", "van", "der", "la", "le", "y", "the", "+"})
TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9&.'\-]*|&|\+")


@dataclass(frozen=True)
class NameCandidate:
    text: str
    name_like: bool  # capitalised, or carries a digit: probably meant as a name or id
    # only ordinary words (places, legal forms): a customer's name only if it is that customer's whole name
    ordinary: bool = False


def _candidate(words: str) -> NameCandidate:
    parts = words.split()
    name_like = any(word[:1].isupper() or any(ch.isdigit() for ch in word) for word in parts)
    cleaned = [_clean_token(word.lower()) for word in parts]
    ordinary = all(map(is_ordinary, cleaned)) and not all(map(is_filler, cleaned))  # "LLC" alone: a bad name
    return NameCandidate(words, name_like, ordinary)


def _clean_token(token: str) -> str:
    token = token.strip(".'-")
    return re.sub(r"'s$|(?<=s)'$", "", token, flags=re.IGNORECASE) if len(token) > 3 else token


def _verb_form_of_stopword(token: str) -> bool:
    """ "raising", "increasing", "setting", "lowered": inflections of request verbs are not names."""
    for suffix in ("ing", "ed"):
        if len(token) > len(suffix) + 2 and token.endswith(suffix):
            stem = token[: -len(suffix)]
            if (
                stem in STOPWORDS
                or stem + "e" in STOPWORDS
                or (len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in STOPWORDS)
            ):
                return True
    return False


def name_candidates(text: str, spans: Spans, extra_stop: frozenset[str] = frozenset()) -> list[NameCandidate]:
    """Runs of words that no entity or keyword explains, best first. Punctuation and masked spans end a run."""
    masked = spans.masked(text)
    runs: list[list[str]] = []
    current: list[str] = []
    last_end = 0
    for match in TOKEN_RE.finditer(masked):
        gap = masked[last_end : match.start()]
        if current and re.search(r"[|,;:?!()\"]", gap):
            runs.append(current)
            current = []
        last_end = match.end()
        raw = match.group(0)
        token = raw.rstrip(".")  # sentence end, but keep "B.V." style inner dots
        if raw.endswith(".") and raw.count(".") == 1 and current:
            runs.append([*current, token])
            current = []
            continue
        lower = token.lower()
        cleaned = _clean_token(lower)
        if lower in BRIDGES:
            current.append(token)
            continue
        if (
            lower in NOT_NAME_WORDS
            or cleaned in NOT_NAME_WORDS
            or (len(cleaned) > 3 and cleaned.endswith("s") and cleaned[:-1] in NOT_NAME_WORDS)  # "ptps"
            or lower in extra_stop
            or cleaned in extra_stop
            or _verb_form_of_stopword(cleaned)
        ):
            if current:
                runs.append(current)
                current = []
            continue
        current.append(token)
    if current:
        runs.append(current)
    out: list[NameCandidate] = []
    for run in runs:
        while run and run[0].lower() in BRIDGES:
            run = run[1:]
        while run and run[-1].lower() in BRIDGES:
            run = run[:-1]
        if not run:
            continue
        if all(re.fullmatch(r"[\d.,]+", word) for word in run):
            continue  # "over 90 days", "3000": numbers are ids only with a prefix (customer 12, C000012)
        words = " ".join(run)
        out.append(_candidate(words))
        # "acme and globex": the parts too
        parts = [p.strip() for p in re.split(r"\s+(?:and|&|\+)\s+", words) if p.strip()]
        if len(parts) > 1:
            out.extend(_candidate(p) for p in parts)
    return sorted(out, key=lambda c: (c.ordinary, not c.name_like, -len(c.text.split())))


# --- request words mistyped ("outstandng", "remidner"): not names --------------------------------------------------

_LONG_REQUEST_WORDS = tuple(sorted(word for word in NOT_NAME_WORDS if len(word) >= 5 and word.isalpha()))
_LONG_WORD_RE = re.compile(r"[A-Za-z]{5,}")


@cache
def _near_request_word(word: str) -> bool:
    if word in NOT_NAME_WORDS or is_common_word(word):
        return False
    allowed = 1 if len(word) < 9 else 2  # edits, a swap of two letters counting one
    return process.extractOne(word, _LONG_REQUEST_WORDS, scorer=distance.OSA.distance, score_cutoff=allowed) is not None


@cache
def request_word_for(word: str) -> str | None:
    """The request word a mistyped one stands for ("outstandng" → "outstanding"), or None."""
    if not _near_request_word(word):
        return None
    allowed = 1 if len(word) < 9 else 2
    found = process.extractOne(word, _LONG_REQUEST_WORDS, scorer=distance.OSA.distance, score_cutoff=allowed)
    return None if found is None else str(found[0])


def mistyped_request_words(text: str, spans: Spans) -> list[tuple[str, int, int]]:
    """Words one or two keystrokes from a request word ("overdeu", "disptues") and free in `spans`: (word, start,
    end). The caller masks those that are no customer's name word ("stark" stays a name, not "start")."""
    return [
        (m.group(0).lower(), m.start(), m.end())
        for m in _LONG_WORD_RE.finditer(text)
        if not spans.covers(m.start(), m.end()) and _near_request_word(m.group(0).lower())
    ]


def distinctive_word(word: str) -> bool:
    """A word that can only be a name: four letters or more, in no dictionary, not a trade or place word."""
    word = _clean_token(word.lower())
    if word in NOT_NAME_WORDS or word.removesuffix("s") in NOT_NAME_WORDS:
        return False
    return len(word) >= 4 and word.isalpha() and not is_common_word(word) and not is_ordinary(word)
