"""What a message asks for: the semantic classifier's probabilities fused with the rules' evidence.

The classifier (nearest labelled examples in MiniLM space) carries the meaning of plain language; the rules carry
the forms that cannot be mistaken ("approve 12", "help") and the grammatical cues embeddings blur (a question about
releasing an order is a check, an instruction to release it is a proposal). Each capability gets
`probability + RULE_WEIGHT × its rule score / the best rule score`; the planner answers the best one when it is
clear, asks between the best two or three when they are close, and says what it can't do when nothing fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.catalogue import OUT_OF_SCOPE, by_name
from assistant.planner.intents import Intent, Recognised, recognise
from assistant.planner.semantic import mask_names, semantic_intents

# Fitted on the dev set (evals/understanding/dev.jsonl); the frozen test set is never used to set them.
RULE_WEIGHT = 0.2
# Rules that cannot be mistaken decide alone.
CERTAIN_RULES = frozenset({Intent.HELP, Intent.APPROVE, Intent.PENDING_APPROVALS})
CERTAIN_SCORE = 10
# A message no training example resembles this much is garbled or far off-topic: the rules alone decide.
MIN_SIMILARITY = 0.25
# Below this fused score for the best reading, nothing fits well enough to answer.
MIN_SCORE = 0.2
# Best two readings closer than this (and answered by different tools): ask which one.
MARGIN = 0.12
# Readings the planner tells apart by what the message names (a customer or the book), never by asking.
SAME_ANSWER = (frozenset({Intent.EXPOSURE, Intent.STATUS, Intent.PORTFOLIO}),)


@dataclass(frozen=True)
class Understood:
    intent: Intent
    score: float
    readings: list[tuple[Intent, float]] = field(default_factory=list)
    recognised: Recognised | None = None
    semantic: bool = False

    @property
    def close_readings(self) -> list[Intent]:
        """The readings within MARGIN of the best that a different answer would serve (best first)."""
        if not self.readings:
            return []
        best = self.readings[0][1]
        close = [intent for intent, score in self.readings[:3] if best - score < MARGIN]
        if len(close) > 1 and any(set(close) <= group for group in SAME_ANSWER):
            return close[:1]
        return close


def intent_of(capability: str) -> Intent:
    if capability == OUT_OF_SCOPE:
        return Intent.OUT_OF_SCOPE
    entry = by_name(capability)
    return Intent(entry.intent) if entry.intent else Intent.UNKNOWN


def understand(text: str, names: frozenset[str] | set[str] = frozenset()) -> Understood:
    """`names`: the words of `text` that are customer-name words of the book (the classifier reads them masked)."""
    recognised = recognise(mask_names(text, names))  # "Dubois Provisions" asks nothing of the policy
    if recognised.intent in CERTAIN_RULES and recognised.score >= CERTAIN_SCORE:
        return Understood(recognised.intent, 1.0, [(recognised.intent, 1.0)], recognised)
    classifier = semantic_intents()
    if classifier is None:
        return Understood(recognised.intent, float(recognised.score), [], recognised)
    classified = classifier.classify(text, names)
    if classified.nearest_similarity < MIN_SIMILARITY:
        return Understood(recognised.intent, 0.0, [], recognised, semantic=True)
    fused: dict[Intent, float] = {}
    for reading in classified.readings:
        intent = intent_of(reading.capability)
        fused[intent] = max(fused.get(intent, 0.0), reading.probability)
    top_rule = max((score for score in recognised.scores.values()), default=0)
    if top_rule > 0:
        for intent, score in recognised.scores.items():
            if score > 0:
                fused[intent] = fused.get(intent, 0.0) + RULE_WEIGHT * score / top_rule
    ranked = sorted(fused.items(), key=lambda item: -item[1])
    best, best_score = ranked[0]
    if best_score < MIN_SCORE:
        return Understood(Intent.UNKNOWN, best_score, [], recognised, semantic=True)
    return Understood(best, best_score, ranked, recognised, semantic=True)
