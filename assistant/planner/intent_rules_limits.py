"""The weighted patterns that ask about a credit limit: what the policy would give (`LIMIT_RECOMMEND`) or a change to
propose (`LIMIT_PROPOSE`); `intent_rules.RULES` includes them."""

from __future__ import annotations

import re

from .intent_kinds import Intent

IC = re.IGNORECASE

LIMIT_RULES: list[tuple[Intent, re.Pattern[str], int]] = [
    (Intent.LIMIT_RECOMMEND, re.compile(r"\brecomm?end\w*\b.*\blimit\b|\blimit\b.*\brecomm?end\w*", IC), 5),
    # "and what limit does the policy suggest?": the policy's figure for the customer, not a passage of it
    (
        Intent.LIMIT_RECOMMEND,
        re.compile(
            r"\b(?:limit|line)\b.{0,30}\b(?:the\s+)?(?:policy|model|scorecard)\s+(?:suggest|recommend|give|support|allow"
            r"|say|put|come\s+up\s+with|land\s+on)\w*|\b(?:policy|model)[- ](?:based\s+)?(?:limit|line)\b",
            IC,
        ),
        8,
    ),
    (
        Intent.LIMIT_RECOMMEND,
        re.compile(
            r"\bwhat (?:limit|credit)\b.*\bshould\b|\bshould\b.*\blimit\b"
            r"|\bhow much credit\b|\bright[- ]?size\b|\blimit review\b"
            r"|\breview (?:the |their |its )?limit\b|\bsuggest\w*\b.*\blimit\b",
            IC,
        ),
        4,
    ),
    (
        # "ballpark credit line for X?", "limit rec for X", "what does the model say their limit should be?"
        Intent.LIMIT_RECOMMEND,
        re.compile(
            r"\b(?:ballpark|sensible|fair|reasonable|appropriate|prudent)\s+(?:credit\s+)?(?:limit|line)\b"
            r"|\blimit\s+recos?\b|\blimit\s+recs?\b|\b(?:limit|line)\b.{0,20}\bshould\s+be\b",
            IC,
        ),
        5,
    ),
    (  # "is stark's 77k limit still right?", "is their line too generous": whether the limit fits
        Intent.LIMIT_RECOMMEND,
        re.compile(
            r"\b(?:limit|line)\b[^.?!]{0,25}\b(?:still\s+)?(?:right|correct|ok|okay|appropriate|enough|sufficient|adequate"
            r"|sensible|justified|too\s+(?:high|low|much|little|big|small|generous|tight|large))\b",
            IC,
        ),
        6,
    ),
    (Intent.LIMIT_PROPOSE, re.compile(r"\bpropos\w*\b.*\blimit\b|\blimit\b.*\bpropos\w*", IC), 6),
    (  # "new limit 400k for glenland", "limit for thornton to zero pending agency referral"
        Intent.LIMIT_PROPOSE,
        re.compile(
            r"\bnew\s+(?:credit\s+)?(?:limit|line)\s+(?:of\s+|at\s+|to\s+|=\s*|:\s*)?[$£€]?\s?\d"
            r"|\b(?:limit|line)\b[^.?!]{0,40}\bto\s+(?:zero|nil|nothing|0)\b"
            # "zero out their credit limit", "zeroise the line for hawkley"
            r"|\bzero(?:ise|ize|\s+out)?\s+(?:[\w&.'-]+\s+){0,3}?(?:credit\s+)?(?:limit|line)\b",
            IC,
        ),
        6,
    ),
    (  # "double stark's credit line", "halve umbrella's limit", "limit cut in half"
        Intent.LIMIT_PROPOSE,
        re.compile(
            r"\b(?:double|triple|halve)\b.{0,40}\b(?:limit|line)\b"
            r"|\b(?:limit|line)\b.{0,30}\b(?:doubled|tripled|halved|by\s+half|in\s+half)\b",
            IC,
        ),
        6,
    ),
    # "propose +100k on westport", "… review date 31/03/2027": a signed move, or the review a new limit gets
    (Intent.LIMIT_PROPOSE, re.compile(r"\bpropos\w*\s+[+-]\s*[$£€]?\d", IC), 7),
    # "propose $60k for Greenport Foods, reason: …": a figure proposed for a customer is its limit
    (Intent.LIMIT_PROPOSE, re.compile(r"^\W*propos\w*\s+(?:a\s+)?[$£€]?\d[\d.,]*\s*[km]?\s+(?:for|on)\b", IC), 7),
    (Intent.LIMIT_PROPOSE, re.compile(r"\breview\s+(?:date\s+|on\s+|by\s+)\d", IC), 3),
    (  # "please propose Initech at £50,000": a customer proposed at a figure is a limit
        Intent.LIMIT_PROPOSE,
        re.compile(
            r"^\W*(?:(?:ok|so|pls|please|can\s+you|could\s+you)\W+)*propos\w*\s+(?:[\w&.'-]+\s+){1,4}(?:at|to)\s+"
            r"(?:[$£€]|[A-Z]{1,2}\$|[A-Z]{3}\s?)?\d",
            IC,
        ),
        7,
    ),
    (  # "lower deepcore stores to €20k", "can we lift dubois by C$25,000?", "temporary bump for hooli: +20k"
        Intent.LIMIT_PROPOSE,
        re.compile(
            r"^\W*(?:(?:ok|so|pls|please|can\s+you|could\s+you|can\s+we|could\s+we|let'?s)\W+)*(?:temp(?:orary)?\s+)?"
            r"(?:lower|raise|cut|reduce|increase|bump|drop|trim|lift|extend|boost)\s+(?:for\s+)?"
            r"(?:(?!(?:orders?|po|invoices?|dso|overdue|ar|exposure|balance|prices?)\b)[\w&.'-]+(?:\s+|(?=:))){1,4}"
            r"(?:(?:up\s+|down\s+)?(?:by|to)\s+|:\s*)\+?(?:[$£€]|[A-Z]{1,2}\$|[A-Z]{3}\s)?\s?\d",
            IC,
        ),
        5,
    ),
    (  # "lower Anchorline Machining by 20000", "bump hooli up by 25k", "lower hooli from 78k to 45k": a limit
        Intent.LIMIT_PROPOSE,
        re.compile(
            r"^\W*(?:(?:ok|so|pls|please|can you|could you)\W+)*(?:lower|raise|cut|reduce|increase|bump|drop|trim)\s+"
            r"(?!(?:the|our|my|their)\s+(?:overdue|ar|dso|exposure|balance)\b)(?:[\w&.'-]+\s+){1,4}"
            r"(?:(?:(?:up\s+|down\s+)?by|up|down)\s+(?:[$£€]\s?\d|\d|(?:a|half|one|two|three|four|five|six|seven|eight|nine|ten|fifteen"
            r"|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\s)"
            r"|from\s+[$£€]?\d[\d.,]*\s*[km]?\s+(?:up\s+|down\s+)?to\s+[$£€]?\d)",  # "lower hooli from 78k to 45k"
            IC,
        ),
        5,
    ),
    (
        Intent.LIMIT_PROPOSE,
        re.compile(
            r"\b(?:increase|raise|bump|lift|up|reduce|decrease|lower|cut|set|change|adjust"
            r"|put)\b.*\blimit\b|\blimit\b.*\b(?:to|at)\s+[$€£]?\d"
            # "take Thornton's limit to zero", "drop their line down to nil"
            r"|\b(?:take|drop|bring|knock)\b.{0,40}\b(?:limit|line)\s+(?:down\s+)?to\s+(?:zero|nil|nothing|[$€£]?\d)",
            IC,
        ),
        5,
    ),
]
