"""The reason a user gives for a change ("reason: strong payment record", "given how late they pay", "…, they're
deteriorating"), and an instruction told apart from the reason given with it."""

from __future__ import annotations

import re

# A message that only gives the reason for the change just proposed ("reason: customer paid on friday")
ONLY_A_REASON_RE = re.compile(
    r"^\W*(?:(?:and|oh|also|sorry)\W+)*(?:the\s+)?(?:reason|rationale|why)\s*(?:is|being)?\s*[:=-]", re.I
)
_REVIEW_RE = re.compile(
    r"\breview(?:ed)?\s+(?:it\s+|them\s+)?(?:again\s+)?(?:date\s+)?(?:on\s+|by\s+|at\s+|for\s+|:\s*)?(?:the\s+)?", re.I
)
_REASON_RE = re.compile(
    # "they've cleared the august invoice, request a release": the reason first, then the instruction
    r"^\W*(?P<leading>(?:they|they'?ve|they'?re|customer|client|payment|we'?ve|cfo|ceo|their)\b[^,;.?!]*)[,;.]\s*"
    r"(?:(?:so|pls|please)\s+)?(?:request|release|hold|raise|lift|increase|lower|cut|reduce|put|send|log|propose)\b"
    # "deepcore paid the overdue invoices this morning, can we get SO-0000041 released pls", "Wayne signed the
    # contract. Can you put through +250k?": something that happened, told first, then the request asked
    r"|^\W*(?!(?:sorry|hi|hey|hello|morning|afternoon|evening|thanks|thank|quick|fyi|just)\b)"
    r"(?P<told>(?=[^,;.?!–—:]*\b(?:[a-z]{3,}ed|paid|sent|found|won|got|made|told|said|signed|wired|agreed|brought"
    r"|bought|took|gave|came|went)\b)[^,;.?!–—:]{12,}?)\s*(?:[,;.]|\s[-–—])\s*(?:(?:so|then|ok|and)\s+)?(?:(?:pls|please)\s+)?"
    r"(?:can|could|would|will)\s+(?:you|we|i|u)\b"
    # "novafield paid the overdue bit this morning - please release it"
    r"|^\W*(?P<before>[^,;.?!–—]{6,}?)\s*(?:[,;.]|\s[-–—])\s*(?:(?:so|then|ok)\s+)?(?:pls|please)\s+"
    r"(?:request|release|hold|raise|lift|increase|lower|cut|reduce|put|send|log|propose)\b"
    r"|\b(?:reason|why|rationale)\s*(?:is\s*)?[:\-–]\s*(?P<said>.+)$"
    r"|\b(?:reason|rationale)(?:\s+(?:is|being))?\s+(?!codes?\b)(?P<plain>[a-z].+)$"  # "…, reason expanding volumes"
    r"|\b(?:because|due\s+to|given|(?:as|while|since|now\s+that)\s+(?:they|their|the|we|it)|as\s+an?\s+(?=[a-z]{3,})|following|pending|until|till?)\b"
    r"\s*(?P<after>.+)$"
    r"|\bfor\s+their\s+.+$"
    # "… by 1.2m for the plant expansion project", "+40k for the new project"
    r"|\bfor\s+(?P<purpose>(?:the|a|an|this|its)\s+(?:[\w-]+\s+){0,3}?(?:project|expansion|contract|deal|tender|season"
    r"|launch|roll-?out|programme|program|build|site|plant|ramp[- ]?up|growth)\b[^.?!,;]*)"
    # "… - payment received", "… — they're chronically late": a clause set off by a dash (not a review date or a
    # closing word)
    r"|\s[-–—]\s+(?!(?:review|pls|please|thanks|thx|cheers|asap|can|could|would|will|take|set|raise|lower|cut|reduce"
    r"|drop|bump|increase|decrease)\b)(?P<dashed>[^.?!]+)"
    # "…, they're deteriorating", "… on hold? customer is chasing us", "…, volumes are up": a later clause of two
    # words or more that is not a review date, a courtesy or a further request
    r"|[,;?!]\s+(?P<clause>(?!(?:review|reason|why|rationale|because|due|given|since|pls|please|thanks|thank|thx|cheers"
    r"|asap|ta|and|then|also"
    r"|ok|okay|so|can|could|would|will|what|how|is|are|do|does|put|hold|release|raise|lift|increase|decrease|lower|cut"
    r"|reduce|send|log|draft|set|change|propose|move|assign|request|mark|close|resolve|reject|fix|recode|update)\b)"
    r"(?:[a-z]|\d+[-\s](?:years?|yrs?|months?|weeks?|days?)\b)[^.?!,;]*\s[^.?!]*)"
    # "…by 40k pls, deteriorating, review again end of Jan": one word of what is happening, set off by commas
    r"|[,;]\s+(?P<word>(?!(?:thanking|pending|outstanding|according|regarding|following|speaking)\b)[a-z]{4,}(?:ing|ed))"
    r"\s*(?:[,;.!]|$)"
    # "Hold SO-0000117. Canyonpeak is way over limit.": a sentence about the customer after the request
    r"|\.\s+(?P<sentence>(?!(?:what|how|who|where|when|why|which|it|this|that)\b)(?-i:[A-Z])[\w'-]+\s+"
    r"(?:is|are|has|have|keeps|was|were)\s[^.?!]*"
    r"|(?:they|they'?re|they'?ve|their|customer|cust|client|account'?s|acct|payment|paid|cheque|we'?ve|we'?re|i'?m|i\s+am"
    r"|i'?ve|it'?s"
    r"|too|way|not|no|poor|strong|good|great|big|heavy|new|volumes?|sales|orders?|overdue|late|slow|always|never"
    r"|constantly|consistently|still|deteriorat\w*|declin\w*|worsen\w*|weak\w*|improv\w*|repeated|frequent|missed|broken)\b"
    r"[^.?!]*)",
    re.I,
)


# "…, reason: strategic account": a reason named as one wins wherever it stands
_LABELLED_REASON_RE = re.compile(r"\b(?:reason|rationale)\s*(?:is\s*)?[:=]\s*(?P<said>\S.*)$", re.I)
# Groups that say outright that what follows is the reason (a correction keeps the earlier reason unless one of these)
_OUTRIGHT = ("said", "plain", "purpose", None)  # None: "because …", "due to …", "until …"


def stated_reason(text: str, *, outright: bool = False) -> str | None:
    """The user's own reason for a change ("reason: strong payment record", "given how late they pay", "…, they're
    deteriorating", "… - payment received"). `outright`: only a reason the words mark as one ("reason: …",
    "because …"), not a clause that merely sits beside the request ("make that 30k, sorry, the 20 was a typo")."""
    match = _LABELLED_REASON_RE.search(text) or _REASON_RE.search(text)
    if match is None:
        return None
    groups = match.groupdict()
    group = next(
        (
            g
            for g in ("leading", "told", "before", "said", "plain", "purpose", "dashed", "clause", "word", "sentence")
            if groups.get(g)
        ),
        None,
    )
    if outright and group not in _OUTRIGHT:
        return None
    said = match.group(group) if group else match.group(0)
    said = said.strip(" .;,")
    said = re.sub(r"^(?:because|as)\s+(?!of\b)|^reason\s*[:=]\s*", "", said, flags=re.I)  # "because …", "- reason: …"
    # "while they restructure, review by end of March": the review date is no part of the reason
    said = re.sub(r"(?:[,;]|\s+and|\s[-–—])\s*(?:with\s+)?(?:the\s+|a\s+)?(?:next\s+)?review(?:ed)?\s+(?:it\s+)?"
                  r"(?:(?:by|on|in|at|date|again|before|after|end|start|mid|early|late|next|for)\b|\d).*$", "", said,
                  flags=re.I)  # fmt: skip
    return said[:300] or None


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
