"""Intent recognition by rules: each intent has weighted patterns (keywords, phrasings, common typos); the intent
with the highest total wins when it clears a threshold. Deterministic and fast (a few dozen regexes per request).
The intents are in `intent_kinds`, the weighted patterns in `intent_rules`; here they are scored and combined."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .intent_kinds import CUSTOMER_INTENTS, Intent
from .intent_rules import IC, NEGATIVE_RULES, QUESTION_START, RULES

__all__ = ["CUSTOMER_INTENTS", "EITHER_WAY_RE", "THRESHOLD", "Intent", "Recognised", "recognise"]


@dataclass(frozen=True)
class Recognised:
    intent: Intent
    score: int
    scores: dict[Intent, int]
    question: bool


THRESHOLD = 3


def recognise(text: str) -> Recognised:
    scores: dict[Intent, int] = {}
    for intent, pattern, weight in RULES:
        if pattern.search(text):
            scores[intent] = scores.get(intent, 0) + weight
    for intent, pattern, weight in NEGATIVE_RULES:
        if intent in scores and pattern.search(text):
            scores[intent] -= weight
    insisted = _INSTRUCTION_RE.match(text) and _INSISTING_CLOSE_RE.search(text)
    question = bool(QUESTION_START.search(text)) or (text.rstrip().endswith("?") and not insisted)
    _adjust(text, scores, question)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], _PRIORITY.index(item[0])))
    if not ranked or ranked[0][1] < THRESHOLD:
        return Recognised(Intent.UNKNOWN, ranked[0][1] if ranked else 0, scores, question)
    return Recognised(ranked[0][0], ranked[0][1], scores, question)


# "Release SO-0000132, they paid?? cheers": an instruction closed with "??" or a thanks is still one ("release
# SO-0000132?" alone asks whether it may be)
_INSTRUCTION_RE = re.compile(
    r"^\W*(?:(?:ok|okay|so|right|pls|please|kindly)\W+)*(?:release|hold|stop|block|request|put|raise|lift|unblock|unhold"
    r"|send|log|propose|submit|cut|lower|increase|bump|assign|draft)\b(?!\s+(?:or|and)\b)",
    IC,
)
_INSISTING_CLOSE_RE = re.compile(r"\?{2,}|\?\s*(?:cheers|thanks|thx|ty|ta|pls|please)\b", IC)
EITHER_WAY_RE = re.compile(r"\b(?:release|ship)\s+or\s+hold\b|\bhold\s+or\s+(?:release|ship)\b", IC)
# A request put to the desk as a question: "can you release …", "could you please lift the hold …"
_ASKS_YOU_RE = re.compile(
    r"\b(?:can|could|would|will)\s+you\s+(?:please\s+|pls\s+|kindly\s+|just\s+)?"
    r"(?:release|unblock|unhold|lift|take|get|request|raise)\b|\b(?:please|pls|plz)\b"
    r"|\b(?:can|could)\s+(?:we|you|i)\s+get\b.{0,60}\breleased\b",
    IC,
)


_SEND_LETTER_RE = re.compile(
    r"\b(?:send|propose|queue|dispatch|issue|fire\s+off|mail\s+out)\b.{0,40}?\b(?:dunn?ing|reminder|letter|notice|chaser)\b"
    r"(?!\s+(?:for|to)\s+me\b)",
    IC,
)
_DRAFT_WORD_RE = re.compile(r"\b(?:draft|write|prepare|compose|wording|text|preview|show)\b", IC)


_NOTE_FORM_RE = re.compile(r"^\W*(?:pls\s+|please\s+)?(?:add\s+(?:a\s+)?)?note\s+(?:for|on|to)\s+[^:]{1,60}:\s*\S", IC)


def _adjust(text: str, scores: dict[Intent, int], question: bool) -> None:
    """Combinations the single patterns cannot express."""
    if _NOTE_FORM_RE.match(text):
        for other in [intent for intent in scores if intent is not Intent.NOTE]:
            del scores[other]  # "note for Falconley: legal review on the overdue balance": the words are the note's
        return
    if Intent.DUNNING_SEND in scores and Intent.DUNNING_DRAFT in scores and re.search(r"\bdraft\b", text, IC):
        scores[Intent.DUNNING_SEND] -= 4  # "draft a reminder I can send"
    elif Intent.DUNNING_DRAFT in scores and _SEND_LETTER_RE.search(text) and not _DRAFT_WORD_RE.search(text):
        del scores[Intent.DUNNING_DRAFT]  # "propose a 2nd reminder to Globex": the letter is what is to be sent
    if Intent.ORDER_RELEASE in scores and re.search(r"\b(?:check|test)\b|(?<!payment )(?<!pay )\brun\b", text, IC):
        scores[Intent.RELEASE_CHECK] = scores.get(Intent.RELEASE_CHECK, 0) + 4  # "check release for SO-41"
        scores[Intent.ORDER_RELEASE] -= 4
    if EITHER_WAY_RE.search(text):  # "SO-15 -- release or hold?": which way is the check's answer
        scores[Intent.RELEASE_CHECK] = scores.get(Intent.RELEASE_CHECK, 0) + 8
        for change in (Intent.ORDER_RELEASE, Intent.ORDER_HOLD):
            if change in scores:
                scores[change] -= 5
    if question and Intent.ORDER_RELEASE in scores and not _ASKS_YOU_RE.search(text):
        # "can we release SO-123?" is the release check; "release SO-123" and "can you release it?" are proposals
        scores[Intent.RELEASE_CHECK] = scores.get(Intent.RELEASE_CHECK, 0) + 4
        scores[Intent.ORDER_RELEASE] -= 4
    if Intent.ORDER_HOLD in scores and re.search(r"\b(?:can|could|shall)\s+(?:we|i|you)\s+(?:put\s+)?hold\b", text, IC):
        scores[Intent.ORDER_HOLD] += 3  # "can we hold SO-2? payment's late again": asks for the hold
    elif question and Intent.ORDER_HOLD in scores and not re.search(r"\b(?:please|pls)\b", text, IC):
        scores[Intent.ORDER_HOLD] -= 3
    if Intent.LIMIT_PROPOSE in scores and Intent.POLICY in scores and re.search(r"\bwho\b", text, IC):
        scores[Intent.LIMIT_PROPOSE] -= 6  # "who approves a 150k limit increase?"
    if Intent.APPROVE in scores and re.search(r"\bwho\b|\bhow (?:do|can) i\b", text, IC):
        scores[Intent.APPROVE] -= 6
    if Intent.ASSIGN in scores and Intent.DISPUTE_UPDATE in scores:
        scores[Intent.ASSIGN] -= 5


_PRIORITY = [
    Intent.HELP,
    Intent.APPROVE,
    Intent.POLICY,
    Intent.NOTE,
    Intent.PROMISE,
    Intent.DISPUTE_UPDATE,
    Intent.DUNNING_SEND,
    Intent.ORDER_HOLD,
    Intent.ORDER_RELEASE,
    Intent.ASSIGN,
    Intent.LIMIT_PROPOSE,
    Intent.LIMIT_RECOMMEND,
    Intent.RELEASE_CHECK,
    Intent.WORKLIST,
    Intent.DUNNING_DRAFT,
    Intent.DISPUTE,
    Intent.SCORE,
    Intent.PORTFOLIO,
    Intent.STATUS,
    Intent.EXPOSURE,
    Intent.INVOICE,
    Intent.PAYMENT_BEHAVIOUR,
    Intent.PROMISE_HISTORY,
    Intent.PENDING_APPROVALS,
    Intent.FIND_CUSTOMER,
    Intent.OUT_OF_SCOPE,
    Intent.UNKNOWN,
]
