"""The weighted patterns that tell of a customer's payment to come (`PROMISE`): a promise to pay to log;
`intent_rules.RULES` includes them."""

from __future__ import annotations

import re

from .intent_kinds import Intent

IC = re.IGNORECASE

# "INV-… gets paid in full next monday", "it'll be settled on friday": a payment to come on a day, told not asked
PAID_ON_A_DAY_RE = re.compile(
    r"^(?!\W*(?:when|will|is|are|does|do|did|has|have|can|could|would|should|what|how|which|who|why)\b)"
    r"(?![^?]*\?\W*$)"
    r".*\b(?:gets?|getting|(?:will|'ll)\s+(?:get|be)|is\s+(?:going\s+to\s+be|getting|to\s+be))\s+"
    r"(?:paid|settled|cleared)\b(?:\s+(?:in\s+full|off|up))?\s+"
    r"(?:on|by|before|next|this|tomorrow|tmrw|eom|end|mon|tue|wed|thu|fri|sat|sun|\d)",
    IC,
)

PROMISE_RULES: list[tuple[Intent, re.Pattern[str], int]] = [
    (  # "when did they say they'd pay?", "what date did globex promise?": the promise made, asked about
        Intent.PROMISE_HISTORY,
        re.compile(
            r"^\W*(?:so\s+|and\s+|ok\s+)?(?:when|what\s+date|what\s+day)\s+(?:did|do|does|was|were)\s+[\w'&.-]+(?:\s+[\w'&.-]+)?"
            r"\s+(?:say|said|tell|promise|commit|agree)\w*\b",
            IC,
        ),
        8,
    ),
    (
        Intent.PROMISE,
        re.compile(
            # "AR with an open promise to pay": a filter, no promise told
            r"(?<!open )(?<!with a )\bpromis(?:ed|es|e)\b.*\bpay\b|\bptp\b|\bwill? pay\b|\bgoing to pay\b"
            r"|\b(?:committed|agreed|promised) to (?:pay|settle|clear|wire|transfer|remit)(?:ing)?\b"
            r"|(?<!open )(?<!with a )\bpromise to pay\b"
            # "committed to twenty thousand dollars this Wednesday", "agreed to $5k by Friday"
            r"|\b(?:committed|agreed|promised|undertook)\s+to\s+(?:[$£€]\s?\d|\d|(?:a|half|one|two|three|four|five|six"
            r"|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\s)"
            r"|\bwill settle\b|\bpay(?:ing)? (?:us )?by\b|\bpromised\b"
            # "confirmed CAD 85,288.23 against INV-…, paying 26/11"
            r"|\bconfirmed\s+(?:[A-Z]{3}\s?|[$£€]\s?)\d[\d,]*(?:\.\d+)?\b.{0,60}\bpaying\s+(?:on\s+|by\s+)?\S"
            # "they just said 18,157.24 on friday", "customer offered 5k by the 30th"
            r"|\b(?:said|says|offered|offering)\s+(?:[$£€]\s?)?\d[\d,]*(?:\.\d+)?\s*k?\b.{0,40}?"
            r"\b(?:on|by|next|this|tomorrow|tmrw|end\s+of)\b"
            r"|\b(?:they|he|she|it|we)(?:'ll|'d| will| would| are going to| is going to| gonna)\s+"
            r"(?:pay|settle|transfer|wire|remit|clear)\b|\bpayment (?:is )?(?:coming|expected|promised) (?:on|by)\b",
            IC,
        ),
        6,
    ),
    (
        Intent.PROMISE,
        re.compile(
            r"\b(?:log|record|add|enter|register|take|capture)\s+(?:a\s+|the\s+|new\s+)*(?:promise|ptp)\b"
            r"|\bpromise (?:of|for|from)\b",
            IC,
        ),
        8,
    ),
    (  # "falconwick will clear INV-… , £10,134.56, on 30/11": a customer's payment to come, with its amount
        Intent.PROMISE,
        re.compile(
            r"\b(?!(?:who|which|what|when|how)\b)\w+\s+(?:will|is\s+going\s+to|are\s+going\s+to|gonna)\s+"
            r"(?:clear|settle|pay|transfer|wire|remit)\b.{0,80}\d",
            IC,
        ),
        6,
    ),
    (  # "hawkley will clear their balance on friday", "they'll settle everything by EOM": a balance promised
        Intent.PROMISE,
        re.compile(
            r"(?:\bwill|'ll|\bgoing\s+to|\bgonna|\b(?:promised|committed|agreed)\s+to)\s+(?:clear|settle|pay(?:\s+off)?)"
            r"\s+(?:the|their|its|all|everything|in\s+full|up)\b",
            IC,
        ),
        6,
    ),
    (Intent.PROMISE, PAID_ON_A_DAY_RE, 6),
]
