"""How a stated amount moves a credit limit: to it ("to 50k", "a limit of 50k"), by it ("by 50k", "50k more", "an
extra 50k"), or unclear ("raise Stark's limit 50k"), in which case the planner asks instead of guessing."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from .entities import MoneyMention, Spans

ChangeKind = Literal["absolute", "increase", "decrease", "unclear"]

IC = re.IGNORECASE
_RELATIVE_BEFORE = re.compile(
    r"\b(?:by|add|adding|(?:an?\s+)?(?:extra|additional|further)|another"
    r"|(?:increase|increment|raise|rise|bump|top[- ]?up|uplift|reduction|decrease|cut|drop)\s+of)\s*$",
    IC,
)
# "50k more", "a 250k increase on their limit", "a 20k cut": the figure is the move
_RELATIVE_AFTER = re.compile(
    r"^\s*(?:more|extra|additional|on\s+top|higher|lower|less|off|increase|rise|raise|bump|uplift|top[- ]?up|uptick"
    r"|reduction|decrease|cut|drop|haircut)\b",
    IC,
)
# "a temporary increase for millcrest of SGD 80k": the move, named before the customer
_MOVE_OF_BEFORE = re.compile(
    r"\b(?:increase|raise|rise|bump|uplift|top[- ]?up|reduction|decrease|cut|drop)\b[^.,;:]{0,40}\bof\s*$", IC
)
_ABSOLUTE_BEFORE = re.compile(r"(?:\b(?:to|at|of|is|be)|\bto\s+an?|=|:|->|=>|→)\s*$", IC)  # "to a 20k limit"
_UP_OR_DOWN_BEFORE = re.compile(r"\b(up|down)\s+(?:by\s+)?$|\b(up|down)\s*$", IC)  # "take it down by €30k"
_DECREASE = re.compile(r"\b(?:decrease|reduc\w*|cut\w*|lower\w*|less|drop\w*|trim\w*|shrink\w*)\b", IC)
_DIRECTION = re.compile(r"\b(?:rais\w*|increas\w*|bump\w*|extend\w*|up|top[- ]?up)\b", IC)
_REASON_AFTER = re.compile(r"\s*[,;.(-]?\s*\b(?:reason|because|since|given|due\s+to)\b", IC)
_DOWN_TO = re.compile(r"\bdown\s+to\b", IC)  # "take riverline down to 20k" ("up to 50k" may mean "at most")
_INCREASE = re.compile(r"\b(?:rais\w*|increas\w*|bump\w*|lift\w*|extend\w*|boost\w*|top[- ]?up)\b", IC)


_NEW_VALUE_BEFORE = re.compile(r"(?:\b(?:to|at|be)|=|->|=>|→)\s*$", IC)


_FROM_BEFORE = re.compile(r"\bfrom\s*$", IC)
_TO_BETWEEN = re.compile(r"^\s*(?:(?:up|down)\s+)?to\s*$", IC)


_ARROW_BETWEEN = re.compile(r"^\s*(?:-+>|=+>|→|➝|⇒)\s*$")


def from_current_to_new(text: str, mentions: list[MoneyMention]) -> list[MoneyMention]:
    """ "from 37k to 45k", "80k -> 100k": the limit it has, then the one wanted; only the new one is the change.
    "to £400k (currently 334k)": the figure said to be the current one is no change either."""
    if len(mentions) == 2:
        current, new = mentions
        between = text[current.end : new.start]
        if (_FROM_BEFORE.search(text[: current.start]) and _TO_BETWEEN.match(between)) or _ARROW_BETWEEN.match(between):
            return [new]
        said_current = [m for m in mentions if _CURRENTLY_BEFORE.search(text[: m.start])]
        if len(said_current) == 1:
            return [m for m in mentions if m is not said_current[0]]
    return mentions


_CURRENTLY_BEFORE = re.compile(
    r"(?:\b(?:currently|presently|at\s+present|right\s+now)(?:\s+(?:at|on|is|sits\s+at|sitting\s+at))?"
    r"|\bcurrent(?:\s+(?:limit|line))?(?:\s+(?:is|of|at))?|\((?:was|now))\s*:?\s*$",
    IC,
)
_CLAUSE_BREAK_RE = re.compile(r"[.;!?]\s|\s[-–—]\s|,\s*(?:reason|because|as|since|they|their|it)\b", IC)


def the_change_s_amount(text: str, mentions: list[MoneyMention]) -> list[MoneyMention]:
    """ "drop falconley to 1m pesos — too much sitting past 120": the one figure written as money beside bare numbers;
    "reduce carter & wong by 50k. they're late on a 100k invoice": the figure of the clause that asks, the others being
    the reason's."""
    if len(mentions) < 2:
        return mentions
    explicit = [m for m in mentions if m.explicit]
    if len(explicit) == 1:
        return explicit
    first, second = mentions[0], mentions[1]
    if _CLAUSE_BREAK_RE.search(text[first.end : second.start]) and _LIMIT_WORDS_RE.search(text[: first.start]):
        return [first]
    return mentions


_LIMIT_WORDS_RE = re.compile(
    r"\b(?:limit|line|rais\w*|increas\w*|reduc\w*|lower\w*|cut|drop|bump|lift|decreas\w*|set|take|trim|extend)\b", IC
)
_PERCENT_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s*(?:%|per\s?cent\b|pct\b)", IC)
_MULTIPLE_RE = re.compile(r"\b(?:(double|twice)|(triple|treble|three\s+times)|(halve|half|in\s+half))\b", IC)


def limit_factor(text: str) -> Decimal | Literal["unclear"] | None:
    """What a limit is multiplied by when the move is a share of it: "double" 2, "halve"/"by half" 0.5, "up 25%"
    1.25, "cut 10%" 0.9; "unclear" for a percentage with no direction ("initech 20%"); None when no share is
    stated."""
    multiple = _MULTIPLE_RE.search(text)
    if multiple is not None:
        return Decimal(2) if multiple.group(1) else Decimal(3) if multiple.group(2) else Decimal("0.5")
    percent = _PERCENT_RE.search(text)
    if percent is None:
        return None
    share = Decimal(percent.group(1)) / 100
    after = text[percent.end() :]
    direction = stated_direction(text)
    if direction is None and re.search(r"\b(?:up|down)\b", text[: percent.start()], IC):
        direction = "down" if re.search(r"\bdown\b", text[: percent.start()], IC) else "up"
    elif direction is None and re.match(r"\s*(?:more|higher|up|extra)\b", after, IC):
        direction = "up"
    elif direction is None and re.match(r"\s*(?:less|lower|down)\b", after, IC):
        direction = "down"
    if direction is None or (direction == "down" and share >= 1):
        return "unclear"
    return 1 + share if direction == "up" else 1 - share


def signed_decrease(text: str, mention: MoneyMention) -> bool:
    """ "limit change: (15,000)", "umbrella -15k": a negative figure for a limit moves it down by that much; as a
    new value ("to -15k") it is refused like any negative amount."""
    return mention.negative and not _NEW_VALUE_BEFORE.search(text[: mention.start])


def sounds_like_a_decrease(text: str) -> bool:
    return bool(_DECREASE.search(text))


def stated_direction(text: str) -> Literal["up", "down"] | None:
    """The way the wording says the limit moves ("raise … to 100k": up), or None when it says neither or both."""
    up, down = bool(_INCREASE.search(text)), bool(_DECREASE.search(text) or _DOWN_TO.search(text))
    if up == down:
        return None
    return "up" if up else "down"


def says_the_new_limit(text: str, mention: MoneyMention) -> bool:
    """ "to 30k", "at 30k", "= 30k": the figure is the limit itself, whatever was said before."""
    return (
        _ABSOLUTE_BEFORE.search(text[: mention.start]) is not None
        or re.match(r"\s*(?:in\s+)?(?:total|overall|all\s+in)\b", text[mention.end :], IC) is not None
    )


def limit_change_kind(text: str, mention: MoneyMention) -> ChangeKind:
    before, after = text[: mention.start], text[mention.end :]
    if before.endswith("+"):
        return "increase"  # "propose +25k"
    moved = _UP_OR_DOWN_BEFORE.search(before)
    if moved:  # "bump vandelay up 10k", "take them down 5k"
        return "decrease" if (moved.group(1) or moved.group(2)).lower() == "down" else "increase"
    if _RELATIVE_BEFORE.search(before) or _RELATIVE_AFTER.search(after) or _MOVE_OF_BEFORE.search(before):
        return "decrease" if _DECREASE.search(text) or re.search(r"\boff\b", after[:12], IC) else "increase"
    if _ABSOLUTE_BEFORE.search(before):
        return "absolute"
    reason = _REASON_AFTER.search(after)  # "propose 400k, reason: seasonal build-up": the reason's words move nothing
    asked = text if reason is None else text[: mention.end + reason.start()]
    if _DECREASE.search(asked) or _DIRECTION.search(asked):
        return "unclear"
    return "absolute"


# "net 60", "30-day terms", "with 45 and 60 day terms", "on terms of 90 days": payment terms for a limit what-if
_NET_TERMS_RE = re.compile(r"\bnet[\s-]*(\d{1,3})\b", IC)
_DAY_TERMS_RE = re.compile(
    r"\b(\d{1,3}(?:\s*(?:,|and|&|/|or|vs\.?|versus)\s*\d{1,3})*)[\s-]*(?:days?|d)\s+(?:payment\s+)?terms\b"
    r"|\bterms\s+of\s+(\d{1,3})\s+days\b"
    # "their terms went to 45 or 60 days", "what-ifs at 15 and 30 days", "30 vs 90 day terms"
    r"|\b(?:terms?|what[- ]ifs?)\b.{0,30}?\b(\d{1,3}(?:\s*(?:,|and|&|/|or|vs\.?|versus)\s*\d{1,3})+)\s*(?:days?|d)\b"
    # "compare terms 30/45/90", "terms 30, 60 and 90": several terms, the unit left out
    r"|\bterms\s+(?:of\s+)?(\d{1,3}(?:\s*(?:,|and|&|/|or|vs\.?|versus)\s*\d{1,3})+)\b(?!\s*(?:k|m|%|[.,]\d))"
    # "if we gave them 60 days instead of 30", "offered 45 days", "extended them to 90 days"
    r"|\b(?:gave|give|giving|offer(?:ed|ing)?|allow(?:ed|ing)?|extend(?:ed|ing)?|grant(?:ed|ing)?)\s+(?:them\s+|it\s+)?"
    r"(?:to\s+)?(\d{1,3})\s+days\b(?!\s+(?:late|overdue|past|ago))"
    r"|\b(\d{1,3})\s+days\s+(?:instead\s+of|rather\s+than)\s+\d{1,3}\b"
    # "if we moved them to 90 days", "went to 60 days"
    r"|\b(?:move[ds]?|moving|went|go(?:es|ing)?|switch\w*|put)\s+(?:them\s+|it\s+)?(?:on)?to\s+(\d{1,3})\s+days\b"
    r"|\bterms?\s+(?:went|go(?:es)?|going|moved?|were|was|changed?|got\s+extended)\s+to\s+(\d{1,3})\b"
    # "what if they were on 30 days instead of 45": the days they would be on, not the ones they have
    r"|\b(?:if|were|was|be|being)\s+(?:they\s+|it\s+)?(?:were\s+|was\s+)?on\s+(\d{1,3})\s+days\b(?=\s+instead\b|\s+rather\b|\W*$)",
    IC,
)
MAX_TERMS_DAYS = 365


def terms_days(text: str, spans: Spans) -> list[int]:
    """The payment terms (days) a limit question asks about, in the order given; their text is masked."""
    found: list[int] = []
    for pattern in (_NET_TERMS_RE, _DAY_TERMS_RE):
        for match in pattern.finditer(text):
            spans.add(*match.span())
            numbers = " ".join(group for group in match.groups() if group)
            found += [int(n) for n in re.findall(r"\d+", numbers) if 0 < int(n) <= MAX_TERMS_DAYS]
    return list(dict.fromkeys(found))
