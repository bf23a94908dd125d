"""An instruction and the reason given with it, told apart for reading what is asked."""

from __future__ import annotations

import re

from .phrases import stated_reason

# A message that starts by telling the desk to change something
_INSTRUCTION_RE = re.compile(
    r"^\W*(?:(?:ok|okay|so|then|right|fine|please|pls|can\s+you|could\s+you|let'?s)\W+)*"
    r"(?:propose|put|place|hold|release|raise|lower|increase|reduce|decrease|cut|bump|lift|drop|trim|request|log"
    r"|record|send|assign|reassign|move|escalate)\b",
    re.I,
)


def instruction_alone(text: str) -> str:
    """The instruction without the reason after it ("Please propose Initech at £50,000 - frequent disputes but they
    do pay"): what is asked is read from the instruction; the reason's words (disputes, promised, late) ask
    nothing. The text unchanged when it gives no reason after an instruction."""
    if not _INSTRUCTION_RE.match(text):
        return text
    reason = stated_reason(text)
    if reason is None or re.search(r"\d", reason):
        return text  # "record a promise from Thornton Group — AUD 30,000 on 1 Dec": the figures are the request's
    at = text.rfind(reason)
    if at <= 0:
        return text
    head = text[:at].rstrip(" ,;:([-–—")
    return head if len(head.split()) >= 2 else text
