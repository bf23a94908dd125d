"""How a stated amount moves a credit limit: to it ("to 50k", "a limit of 50k"), by it ("by 50k", "50k more", "an
extra 50k"), or unclear ("raise Stark's limit 50k"), in which case the planner asks instead of guessing."""

from __future__ import annotations

import re
from typing import Literal

from .entities import MoneyMention

ChangeKind = Literal["absolute", "increase", "decrease", "unclear"]

IC = re.IGNORECASE
_RELATIVE_BEFORE = re.compile(
    r"\b(?:by|(?:an?\s+)?(?:extra|additional|further)|another|(?:increase|increment|raise|rise|bump|top[- ]?up|uplift"
    r"|reduction|decrease|cut|drop)\s+of)\s*$",
    IC,
)
_RELATIVE_AFTER = re.compile(r"^\s*(?:more|extra|additional|on\s+top|higher|lower|less)\b", IC)
_ABSOLUTE_BEFORE = re.compile(r"(?:\b(?:to|at|of|is|be)|=|:|->|=>|→)\s*$", IC)
_DECREASE = re.compile(r"\b(?:decrease|reduc\w*|cut\w*|lower\w*|less|drop\w*|trim\w*|shrink\w*)\b", IC)
_DIRECTION = re.compile(r"\b(?:rais\w*|increas\w*|bump\w*|extend\w*|up|top[- ]?up)\b", IC)
_INCREASE = re.compile(r"\b(?:rais\w*|increas\w*|bump\w*|lift\w*|extend\w*|boost\w*|top[- ]?up)\b", IC)


_NEW_VALUE_BEFORE = re.compile(r"(?:\b(?:to|at|be)|=|->|=>|→)\s*$", IC)


def signed_decrease(text: str, mention: MoneyMention) -> bool:
    """ "limit change: (15,000)", "umbrella -15k": a negative figure for a limit moves it down by that much; as a
    new value ("to -15k") it is refused like any negative amount."""
    return mention.negative and not _NEW_VALUE_BEFORE.search(text[: mention.start])


def sounds_like_a_decrease(text: str) -> bool:
    return bool(_DECREASE.search(text))


def stated_direction(text: str) -> Literal["up", "down"] | None:
    """The way the wording says the limit moves ("raise … to 100k": up), or None when it says neither or both."""
    up, down = bool(_INCREASE.search(text)), bool(_DECREASE.search(text))
    if up == down:
        return None
    return "up" if up else "down"


def limit_change_kind(text: str, mention: MoneyMention) -> ChangeKind:
    before, after = text[: mention.start], text[mention.end :]
    if _RELATIVE_BEFORE.search(before) or _RELATIVE_AFTER.search(after):
        return "decrease" if _DECREASE.search(text) else "increase"
    if _ABSOLUTE_BEFORE.search(before):
        return "absolute"
    if _DECREASE.search(text) or _DIRECTION.search(text):
        return "unclear"
    return "absolute"
