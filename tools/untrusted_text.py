"""Text that comes from outside — customer e-mails and dispute messages, contact and customer names, notes — is
data, never instructions. One filter recognises text that tries to instruct an AI or the system, for every tool that
quotes such text: dispute briefs flag the message, letters leave the value out. Categories are our own words; the
flagged text itself is never repeated.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, Field

INSTRUCTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "tries to override the assistant's instructions",
        re.compile(
            r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|guidelines)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "addresses an AI or the system directly",
        re.compile(
            r"\bsystem prompt\b|\bsystem message\b|\byou are now\b|\bpretend (?:to be|you are)\b|\bas an AI\b"
            r"|\b(?:dear|hey|attention)\s+(?:AI|assistant|bot|chatbot|model)\b|\bdeveloper mode\b|\bjailbreak"
            r"|\bnew instructions\b",
            re.IGNORECASE,
        ),
    ),
    (
        "asks for a credit limit change",
        re.compile(r"\b(?:raise|increase|extend|set|double|lift)\b[^.!?\n]{0,30}\bcredit limit\b", re.IGNORECASE),
    ),
    ("asks for an approval", re.compile(r"\bapprove (?:it|this|that|the|our|my|all)\b|\bauto-?approve", re.IGNORECASE)),
    (
        "asks to change records (mark paid, write off)",
        re.compile(r"\bmark\b[^.!?\n]{0,40}\bas (?:paid|settled|resolved|closed)\b|\bwrite[- ]?off\b", re.IGNORECASE),
    ),
)

# Control characters, zero-width and bidirectional formatting characters: they hide or reorder text.
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")


def _normalised(text: str) -> str:
    """What a reader (or a model) would read: compatibility forms folded (fullwidth letters), hidden characters out."""
    return _HIDDEN.sub("", unicodedata.normalize("NFKC", text))


def instruction_categories(text: str) -> list[str]:
    """The kinds of instruction `text` contains (empty when it reads as plain data)."""
    plain = _normalised(text)
    return [label for label, pattern in INSTRUCTION_PATTERNS if pattern.search(plain)]


def single_line(text: str, max_chars: int) -> str:
    """`text` as one line of plain characters, at most `max_chars` long: a stored value cannot add lines or
    paragraphs to a letter or a header."""
    line = _SPACE.sub(" ", _normalised(text)).strip()
    return line if len(line) <= max_chars else line[: max_chars - 1].rstrip() + "…"


class QuotedText(BaseModel):
    """A value from the customer's records placed in generated text: quoted data, never instructions."""

    field: str = Field(description="Which value, e.g. contact_name")
    source: Literal["customer_record", "staff_record"]
    used: bool = Field(description="Whether the value went into the text; flagged values are left out")
    flagged: list[str] = Field(
        default_factory=list, description="Kinds of instruction found in it (the text itself is not repeated)"
    )


def quote_field(
    field: str,
    value: str | None,
    quoted: list[QuotedText],
    *,
    source: Literal["customer_record", "staff_record"] = "customer_record",
    max_chars: int = 120,
) -> str | None:
    """The value cleaned to one line, or None when it is empty or tries to instruct (then it is left out); each
    non-empty value is recorded in `quoted`."""
    if value is None or not value.strip():
        return None
    flagged = instruction_categories(value)
    quoted.append(QuotedText(field=field, source=source, used=not flagged, flagged=flagged))
    return None if flagged else single_line(value, max_chars)
