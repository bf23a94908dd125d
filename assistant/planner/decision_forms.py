"""The forms of request the planner's decisions test: which reading a message takes when its words, not its nearest
example, say what is asked (a limit asked about rather than asked for, a rule asked in general terms, a customer's
matter rather than the policy's, an amount beside a name)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from .dates import date_mentions
from .entities import BARE_INVOICE_RE, Spans, money_mentions
from .intents import Intent

# A customer's credit line and an open request for a view: its standing or a recommended limit, equally
_LINE_OPINION_RE = re.compile(
    r"\b(?:credit\s+)?line\b.{0,25}(?:\b(?:thoughts?|views?|opinions?|what\s+are\s+we\s+looking\s+at"
    r"|what\s+do\s+you\s+(?:think|reckon)|your\s+take)\b|\?\?)",
    re.I,
)
_LINE_READINGS = (Intent.UNKNOWN, Intent.EXPOSURE, Intent.STATUS, Intent.LIMIT_RECOMMEND)
# "landmont holdings credit line", "limit for initech?": a customer and the word limit, nothing that says whether the
# limit they have or the one they should have is wanted
_TERSE_LIMIT_RE = re.compile(
    r"^\W*(?:(?:the|their)\s+)?(?:credit\s+)?(?:limit|line)s?\s+(?:for|of|on)\s+[\w.&' -]{2,40}?\W*$"
    r"|^\W*[\w.&' -]{2,40}?\s+(?:credit\s+)?(?:limit|line)\W*$",
    re.I,
)
_ASKS_SOMETHING_OF_A_LIMIT_RE = re.compile(
    r"\b(?:what|whats|how|which|why|raise|increase|lift|bump|lower|cut|reduce|decrease|set|change|propose|approve"
    r"|recommend\w*|suggest\w*|should|would|could|give|new|current|existing|usage|utili[sz]\w*|headroom|available"
    r"|expos\w*|balances?|owe\w*|owing|overdue|over|above|exceed\w*|breach\w*|vs|versus|against|compared"
    r"|right[- ]?siz\w*|resiz\w*|revisit\w*"
    r"|\d)",
    re.I,
)


# Deciding a dispute just shown, not a proposal: "reject it - their claim isn't backed up", "accept it"
_DECIDE_THE_CLAIM_RE = re.compile(
    r"^\W*(?:ok\W+|so\W+|then\W+)?(?:reject|accept|decline|uphold)\s+(?:it|this|that|the\s+(?:claim|dispute))\b", re.I
)
# "change their terms to net 60": payment terms are set in the ERP, not here
_TERMS_CHANGE_RE = re.compile(
    r"\b(?:change|set|update|move|switch|extend|shorten|put)\b.{0,30}\b(?:payment\s+)?terms\s+(?:to|from|at)\b"
    r"|\b(?:change|set|move|switch|put|give)\s+(?:them|him|her|it|[\w&.'-]+)\s+(?:to|on(?:to)?)\s+net\s*-?\d+\b",
    re.I,
)
# "hows globex lookin against their limit": where the customer stands beside its limit, not what the limit should be
AGAINST_THE_LIMIT_RE = re.compile(
    r"\b(?:against|vs\.?|versus|relative\s+to|compared\s+(?:to|with)|within|over|under)\s+(?:their|its|the)\s+"
    r"(?:credit\s+)?(?:limit|line)\b",
    re.I,
)

# "put globex on stop": a customer's credit status, which follows the policy's rules and is not set by hand (an
# order is held instead)
_AN_ORDER_RE = re.compile(r"\borders?\b|\bSO-\d|\bshipments?\b|\bdeliver(?:y|ies)\b|\bpo\b", re.I)

# What only the policy can answer: the book holds no provision rates or auto-approval rules
_POLICY_ONLY_RE = re.compile(
    r"\bprovision\w*\s+(?:rates?|percent\w*|%|matrix|schedule|polic\w*|rules?)"
    r"|\b(?:rates?|percent\w*|%)\s+(?:of\s+|for\s+)?provision\w*|\bdo we provide\b|\bauto[- ]?approv",
    re.I,
)


# A limit asked about, not asked for: "what would it take to get hooli's limit to 100k?", "could they justify 200k?"
_WHAT_WOULD_IT_TAKE_RE = re.compile(
    r"^\W*(?:(?:and|so|ok|hmm)\W+)?(?:what|how)\s+(?:if|about\s+if)\b|\bsuppos(?:e|ing)\b|\bhypothetical\w*\b"
    r"|\bwhat\s+would\s+happen\s+if\b"  # "what if we raised riverline's limit to 50k?": a question, no change
    r"|\bwhat\s+would\s+it\s+take\b|\bwhat\s+would\s+(?:we|they)\s+need\b|\b(?:could|would|can)\s+(?:they|we)\s+justify\b"
    r"|\bwhat\s+(?:would|does)\s+(?:it|that)\s+(?:need|require)\b",
    re.I,
)
# "is it safe to go to 150k on Globex's limit?", "would it be sensible to lift their line to 1m?"
IS_IT_SAFE_RE = re.compile(
    r"\b(?:is\s+it|would\s+it\s+be|are\s+we|am\s+i)\s+(?:\w+\s+)?(?:safe|ok|okay|wise|sensible|prudent|reasonable|smart"
    r"|comfortable)\s+(?:to|with)\s+(?:go|goes|going|take|raise|raising|increase|lift|move|bump|push|extend)\b"
    r"(?=.*\b(?:limit|line|credit)\b)",
    re.I,
)
# What the rules allow, asked in general terms: "how long can a promise from globex be?", "can a collector log a 50k
# promise without approval?", "how many reminders can we send before legal?", "what's the max an analyst can approve?"
_RULE_QUESTION_RE = re.compile(
    r"^\W*(?:(?:and|so|quick\s+one)\W+)?(?:how\s+(?:long|often|many\s+(?:days|weeks|reminders|letters|promises|times))"
    r"\s+(?:can|may|should|must|could)\b"
    r"|(?:can|may|could)\s+(?:a|an)\s+(?:collector|analyst|manager|sales\s*(?:person|rep)?|promise|ptp|limit|dispute"
    r"|reminder|letter)\b"
    r"|what(?:'s|\s+is)\s+the\s+(?:max(?:imum)?|min(?:imum)?|longest|most|highest)\b.{0,40}\b(?:can|may)\s+"
    r"(?:approve|sign|give|grant|log|accept)\b)"
    # "… are we even allowed to dun a disputed invoice?": the rule for any such case, whoever raised it
    r"|\b(?:are|am|is)\s+(?:we|i|collectors?|analysts?)\s+(?:even\s+|actually\s+|really\s+)?(?:allowed|permitted)\s+to\s+"
    r"\w+\s+(?:a|an|any)\s"
    # "can I sign off a 30k ptp myself or does someone need to approve it", "can i approve it if i proposed it
    # myself?": who may decide, a rule of the policy (a decision itself is "approve 12")
    r"|^\W*(?:(?:and|so|ok)\W+)?(?:can|may|could)\s+i\s+(?:approve|sign\s+off|ok|authori[sz]e)\b.*"
    r"\b(?:myself|my\s+own|i\s+(?:proposed|raised|submitted|logged)|someone|somebody|second|another|else|need)\b",
    re.I,
)
# How a figure is worked out: the method, which the policy states ("how is utilisation worked out?", "how much weight
# does the PAYDEX score carry in the scorecard?")
METHOD_QUESTION_RE = re.compile(
    r"\bhow\s+(?:is|are|do\s+(?:we|you)|does\s+(?:the\s+desk|it))\s+(?:[\w%-]+\s+){0,4}?"
    r"(?:worked\s+out|calculated|computed|derived|defined|measured|weighted|scored|determined)\b"
    r"|\b(?:how\s+much|what)\s+weight\s+(?:does|do|is)\b|\bweighting\s+of\b",
    re.I,
)


def asks_the_method(text: str, in_a_thread: bool, customer_in_thread: bool = False) -> bool:
    """How a figure is worked out, asked of the policy — not "how is that worked out?" after a customer's score
    (that score's reasons), nor "how are they scored these days?" after a customer's promises (their score)."""
    pointing = r"\b(?:that|this|it|they|them|their|theirs)\b" if customer_in_thread else r"\b(?:that|this|it)\b"
    return METHOD_QUESTION_RE.search(text) is not None and not (in_a_thread and re.search(pointing, text, re.I))


# A question put to the policy itself, whoever is named ("is a 60-day promise from acme allowed?")
_ASKS_THE_POLICY_RE = re.compile(
    r"\b(?:polic\w*|handbook|rules?|guidelines?|procedures?|allowed|permitted|supposed\s+to|required|requirements?"
    r"|may\s+(?:we|i)|are\s+we\s+able|how\s+(?:do|should|does|must)\s+(?:we|i|one)|what\s+(?:do|should)\s+(?:we|i)\s+do)\b",
    re.I,
)
# A figure of the book asked for ("what's the ADD", "limit utilisation by region", "how much is late ex disputes"):
# no passage of the policy holds it, unless the words ask what the policy says about it (POLICY_CUE_RE)
BOOK_FIGURE_RE = re.compile(
    r"(?-i:\bADD\b)|\b(?:dso|bpdso|cei|days\s+sales\s+outstanding|(?:avg|average|mean)\s+days\s+(?:delinquent|late|to\s+pay)"
    r"|days\s+delinquent|collection\s+effectiveness|open\s+(?:ar|a/r|receivables)|receivables|overdue|past[- ]due"
    r"|exposure|disputed\s+(?:balance|amount|ar|total|value)|(?:amount|value|balance)s?\s+(?:in|under|tied\s+up\s+in)\s+"
    r"disputes?|utili[sz]ation|%\s*(?:current|over)|(?:percent\w*|share|proportion)\s+(?:of\s+)?(?:ar|current|not\s+yet\s+due"
    r"|overdue|past)|broken\s+(?:promises|ptps)|how\s+much\s+is\s+(?:late|overdue|owed|outstanding|past\s+due))\b",
    re.I,
)
POLICY_CUE_RE = re.compile(
    r"\b(?:polic\w*|handbook|rules?|guidelines?|procedures?|process|steps?|allowed|permitted|supposed|required|need"
    r"|threshold\w*|targets?|trigger\w*|defin\w*|mean\w*|when|how\s+long|how\s+(?:do|should|does|must|is)|escalat\w*"
    r"|approv\w*|who|what\s+happens|should|must|may|max\w*|min\w*|caps?|grace|terms?|fees?|charges?|interest"
    r"|penalt\w*|provision\w*|write[- ]?offs?|calculated|formula|why|puts?|sends?|moves?|triggers?|at\s+what"
    r"|an?\s+(?:account|customer|client|debtor)"  # "what utilisation puts an account on watch?": a rule
    r"|before\s+(?:we|i|you|they|it|an?\s+\w+|the\s+\w+)\s+(?:\w+\s+)?(?:refer|send|escalat\w*|hand|pass|write|stop|hold|sue|call))\b",
    re.I,
)
# "drill into carter & wong", "deep dive on hooli", "dig into globex": the customer's standing, looked at closely
LOOK_INTO_RE = re.compile(
    r"\bdrill\s+(?:down\s+)?(?:in(?:to)?|on)\b|\bdeep[- ]?dive\b|\bdig\s+(?:in(?:to)?|on)\b|\bzoom\s+in\b"
    r"|\b(?:look|looking)\s+(?:closer\s+|more\s+closely\s+)?(?:in)?to\b|\bfull\s+picture\b",
    re.I,
)
# "…placing another order next month… what's their current exposure looking like?": the question asked is the
# standing, whatever the order talk around it
ASKS_THE_STANDING_RE = re.compile(
    r"\b(?:what(?:'s|s|\s+is|\s+are)|how(?:'s|\s+is|\s+much\s+is))\s+(?:their|its|the|our)\s+(?:current\s+|total\s+)?"
    r"(?:exposure|balance|position|standing)\b",
    re.I,
)
# What an amount beside a customer's name and nothing else may ask ("hooli 25k")
_AMOUNT_BESIDE_A_NAME = (Intent.RELEASE_CHECK, Intent.PROMISE, Intent.LIMIT_PROPOSE)
# Words that say what an amount beside a customer is: an order, a limit, a payment ("can we do 60k for winter
# diagnostics?" has none of them: an order to check, or a limit to move, is the user's to say)
_WHAT_THE_AMOUNT_IS_RE = re.compile(
    r"\b(?:orders?|po|pos|purchase\w*|ship\w*|deliver\w*|release\w*|buy\w*|sell\w*|sale|sales|stock|product|goods"
    r"|kit|units?|book(?:ing)?|take|place|limit|line|credit|headroom|room|exposure|extra|more|another|additional"
    r"|promis\w*|ptp|pay\w*|paid|wire\w*|transfer\w*|remit\w*|settle\w*|clear\w*|owe\w*|owing|invoice\w*|overdue|balance"
    r"|raise|increase|lift|bump|lower|cut|reduce|drop|approve\w*|go|ship)\b|\bSO-\d"
    r"|\b(?:good|ok|okay|fine|safe|cleared|approved)\s+for\b",
    re.I,
)
# "umbrella on hold?": whether it is, or a hold to put on its order — no verb says which
_BARE_ON_HOLD_RE = re.compile(r"^\W*[\w&.' -]{2,40}?\s+on\s+(?:hold|stop)\W*$", re.I)
# "write them a firm letter", "draft globex a polite reminder": a letter to a customer is a dunning draft (not "a
# cover letter", "a newsletter", "a post")
_WRITE_THEM_A_LETTER_RE = re.compile(
    r"^\W*(?:(?:ok|okay|so|then|now|pls|please|can\s+you|could\s+you)\W+)*(?:write|draft|prepare|compose)\s+"
    r"(?:up\s+)?(?:them|him|her|[\w'&.-]+(?:\s+[\w'&.-]+)?)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:letter|reminder|chaser|notice|e-?mail|note)\b(?!\s+(?:in|into)\s+\w+ish\b)",
    re.I,
)
_NOT_A_DUNNING_LETTER_RE = re.compile(r"\b(?:cover|news|love|thank[- ]you|recommendation|reference)\s*letter\b", re.I)
# "is there room for 8 grand more on windmont?": whether that much more can ship, the order check
_ROOM_FOR_AN_AMOUNT_RE = re.compile(
    r"\b(?:room|space|headroom|capacity)\s+(?:left\s+)?(?:for|to\s+(?:ship|take|add))\s+(?:another\s+|an?\s+(?:extra|further)\s+)?"
    r"[$£€]?\d",
    re.I,
)
# "why is the deepcore order on hold?", "is globex's order stuck?": an order of the customer's, not its account
_THE_ORDER_RE = re.compile(
    r"\b(?:the|their|its|this|that|our|his|her)\s+(?:[\w&'-]+\s+){0,3}?orders?\b(?!\s+(?:again|more|from|with))"
    r"|\b\w+'s?\s+(?:new\s+|latest\s+|last\s+|next\s+|open\s+)?orders?\b",
    re.I,
)
# "how much more can they take before they're blocked?": no order to check, the room left on the account
_HOW_MUCH_MORE_RE = re.compile(
    r"\bhow\s+much\s+(?:more\s+|else\s+)?(?:credit\s+)?(?:can|could)\s+(?:they|we|it|he|she|[\w&'-]+)\s+"
    r"(?:take|order|buy|handle|ship|carry|do)\b|\bhow\s+much\s+(?:room|headroom|space)\b",
    re.I,
)
# "rescore Acme please": the score, done again
_RESCORE_RE = re.compile(r"^\W*(?:(?:pls|please|can\s+you|could\s+you)\W+)?re-?(?:score|rate)\b", re.I)

# What the customer look-up answers (its record, ids, collector, terms): a name read either as the customer's
# standing or as a look-up is its standing unless one of these is asked ("Glenleaf Networks?", "the full picture on
# glenleaf")
_LOOK_UP_CUE_RE = re.compile(
    r"\b(?:ids?|number|no|record|find|look(?:ing)?\s*(?:up|for)|lookup|search\w*|called|named|names?|is\s+there"
    r"|do\s+we\s+(?:have|know)|who(?:'s|\s+is|\s+are)|which\s+(?:customer|account|company)|exists?|one\s+of\s+(?:our|us)"
    r"|external|registered|set\s+up|spell\w*|contacts?|address|region|collector|terms|segment|industry|country)\b"
    r"|\bC\d{6}\b",
    re.I,
)

# "when did swiftridge last pay us?", "last payment from hooli": the exposure states the last payment (no promise)
LAST_PAYMENT_RE = re.compile(
    r"^(?!.*\b(?:promis\w*|ptps?|commit\w*)\b).*(?:\blast\s+(?:paid|pay(?:ment|ments)?|remittance|receipt|cash)\b"
    r"|\b(?:most\s+recent|latest)\s+(?:payment|remittance|receipt)\b|\bpaid\s+(?:us\s+)?last\b"
    r"|\blast\s+time\b.{0,50}\b(?:paid|pay|payment)\b"
    # "did hooli pay anything last week?", "has acme paid us at all this month"
    r"|\b(?:did|has|have)\s+[\w'&.-]+(?:\s+[\w'&.-]+)?\s+(?:pay|paid)\s+(?:us\s+)?(?:anything|something|at\s+all)\b)",
    re.I,
)

# The list named as what is asked for, whoever else is named: "who's next after acme on my list?"
_THE_LIST_ITSELF_RE = re.compile(
    r"\b(?:my|the|our|today'?s)\s+(?:call\s+|chase\s+|collections?\s+)?list\b|\bwork\s*-?\s*list\b|\bnext\s+after\b",
    re.I,
)

# A payment reported as made, or asked to be recorded: cash reaches the ledger from the ERP import, never from the
# desk ("umbrella paid 5k today", "record a payment of 5k from umbrella"); never a promise to pay
PAYMENT_MADE_RE = re.compile(
    r"^(?!\W*(?:has|have|had|did|was|were|is|are|when|what|how|which|who|why|can|could|list|show|give|find|pull"
    r"|get|any|all|customers?|accounts?|invoices?)\b)(?![^?]*\?\W*$)"
    r"(?!.*\b(?:will|going\s+to|gonna|promis\w*|commit\w*|agreed|tomorrow|tmrw|next)\b)(?!.*'ll\b)"
    # the payment as the reason for another request: "release SO-6, globex paid this morning"
    r"(?!.*\b(?:releas\w*|relase|unblock\w*|unhold|lift|ship\w*|hold|limit|score|draft|send|note|disput\w*|check"
    r"|approv\w*|reminder|letter|chase|assign)\b)"
    r".*(?<!who )(?<!that )(?<!which )\b(?:paid|wired|transferred|remitted)\b"
    r"(?!\s+(?:late|early|on\s+time|slow\w*|fast\w*|promptly|within|after|before))(?:\s+us)?.{0,40}"
    r"\b(?:today|yesterday|this\s+morning|earlier|already|last\s+\w+|just\s+now)\b"
    r"|^\W*(?:(?:pls|please|can\s+you|could\s+you)\W+)?(?:record|log|post|apply|enter|book)\s+(?:a\s+|the\s+|their\s+)?"
    r"(?:payment|receipt|remittance|cash\s+receipt)s?\b",
    re.I,
)

# "write to riverline about INV-…", "chase hooli for INV-…": a letter to the customer, not the invoice's details
WRITE_TO_THEM_RE = re.compile(
    r"^\W*(?:(?:ok|okay|so|then|now|pls|please|can\s+you|could\s+you)\W+)*"
    r"(?:write|e-?mail|draft|compose|chase|remind|nudge)\b(?!\s+(?:me|us)\b)",
    re.I,
)

# An invoice's other facts asked beside its disputes ("INV-…: any disputes or promises against it?"): the invoice's
# own answer states them all
MORE_THAN_ITS_DISPUTES_RE = re.compile(
    r"\bpromis\w*|\bptps?\b|\bpaid\b|\bpayments?\b|\bdue\b|\bopen\b|\bdunn?ing\b|\breminders?\b|\bstatus\b",
    re.IGNORECASE,
)


# A question that asks why or whether, and ends as one: it changes nothing
ASKED_WHY_RE = re.compile(r"\b(?:why|how\s+come|is|are|was|were|does|did|has|have)\b[^?]*\?\W*$", re.I)
# "check order release for moonwick", "verify the hold on SO-12": a look first, unless a change follows it
LOOK_FIRST_RE = re.compile(
    r"^\W*(?:(?:pls|please|can\s+you|could\s+you)\s+)?(?:check|verify|see|look\s+(?:at|into)|test|validate)\b"
    r"(?!.*\b(?:and|then|&)\s+(?:release|hold|unblock|block|put|lift)\b)",
    re.I,
)
# A promise told is a payment to come with its amount and day; one asked about has neither amount nor instruction
_PAY_VERB_RE = re.compile(r"\b(?:pay|paid|paying|settle|settling|wire|wiring|transfer|remit|clear)\b", re.I)
_ASKED_RE = re.compile(r"\?\W*$|^\W*(?:what|when|whats|is|are|did|do|does|has|have|how|any)\b|\bstatus\b", re.I)
_WAS_IT_PAID_RE = re.compile(
    r"^\W*(?:was|were|has|have|had|did|is)\b.{0,60}\b(?:paid|settled|cleared|closed|collected)\b", re.I
)
_DISPUTE_DECIDED_RE = re.compile(
    r"\b(?:close|mark|set|move|put|flag)\s+(?:it|this|that|dispute\s*#?\d+)\s+(?:as\s+|to\s+)?"
    r"(?:rejected|resolved|in[ _-]review|closed|re-?opened)\b|\b(?:reject|resolve|close|reopen)\s+(?:it|this|that)\b",
    re.I,
)
_PROMISE_READINGS = frozenset({Intent.PROMISE, Intent.PROMISE_HISTORY, Intent.RELEASE_CHECK, Intent.STATUS})


def decided_by_the_form(text: str, close: list[Intent], today: date) -> Intent | None:
    """A tie the form of the request breaks. Between logging a promise and its history (or an order check, for the
    amount): "falconwick wil pay £13,758.45 on 4 dec" tells a promise; "what's the open PTP on anchorworks?" asks
    about one. "was 2698045799 paid by 30/04/2013?": an invoice's number, asked whether it was paid."""
    if Intent.INVOICE in close and BARE_INVOICE_RE.search(text) and _WAS_IT_PAID_RE.search(text):
        return Intent.INVOICE
    if {Intent.DISPUTE, Intent.DISPUTE_UPDATE} <= set(close) and _DISPUTE_DECIDED_RE.search(text):
        return Intent.DISPUTE_UPDATE  # "… they've withdrawn the claim. close it as rejected"
    if (
        set(close) <= {Intent.RELEASE_CHECK, Intent.STATUS, Intent.EXPOSURE}
        and _HOW_MUCH_MORE_RE.search(text)
        and not any(not mention.error for mention in money_mentions(text, Spans()))
    ):
        return Intent.EXPOSURE  # "how much more can they take before they get blocked?": the room on the account
    if Intent.PROMISE not in close or not set(close) <= _PROMISE_READINGS:
        return None
    amounts = [mention for mention in money_mentions(text, Spans()) if not mention.error]
    asked = _ASKED_RE.search(text) is not None
    if amounts and not asked and _PAY_VERB_RE.search(text) and date_mentions(text, today, Spans(), future=True):
        return Intent.PROMISE
    if not amounts and asked and Intent.PROMISE_HISTORY in close:
        return Intent.PROMISE_HISTORY
    return None


# "what does the recommendation say the limit should actually be?": the policy's limit, whatever else is said
_WHAT_THE_LIMIT_SHOULD_BE_RE = re.compile(
    r"\b(?:limit|line)\s+(?:should|ought\s+to)\s+(?:actually\s+|really\s+)?be\b"
    r"|\bwhat\s+(?:does|would|do)\s+(?:the\s+)?(?:recommendation|policy|scorecard|model)\s+(?:say|suggest|give)\b"
    r"|\bwhat\s+should\s+(?:their|its|the)\s+(?:credit\s+)?(?:limit|line)\s+be\b"
    r"|\bwhat\s+(?:credit\s+)?(?:limit|line)\s+(?:is|would\s+be|seems)\s+(?:right|sensible|fair|appropriate|reasonable)\b",
    re.I,
)
_A_CUSTOMERS_STANDING = (Intent.EXPOSURE, Intent.STATUS, Intent.PAYMENT_BEHAVIOUR, Intent.SCORE)
# "if i take globex from 113k to 250k, who has to approve that?": the approval rule, nothing proposed
WHO_APPROVES_RE = re.compile(
    r"\bwho\s+(?:actually\s+|exactly\s+)?(?:(?:has|have|needs?|must|would|will|can|should|gets?)\s+(?:to\s+)?)?"
    r"(?:approves?|sign(?:s)?\s*(?:it\s+|that\s+|this\s+)?off|signs?)\b",
    re.I,
)

# Whether the account takes orders at all: "can we still ship to X?", "they want to order again"
NEW_ORDERS_RE = re.compile(
    r"\b(?:still\s+)?ship(?:ping)?\s+to\b|\b(?:order|buy)(?:ing)?\s+(?:again|more)\b"
    r"|\b(?:place|take|accept|put\s+through)\s+(?:an?\s+|another\s+|new\s+|more\s+|any\s+)?(?:new\s+)?orders?\b"
    r"|\bnew\s+orders?\b|\banother\s+order\b",
    re.I,
)
_BLOCKED_RE = re.compile(r"\bblock(?:ed|s|ing)?\b|\bblockers?\b", re.I)
_SHIPS_RE = re.compile(r"\bship\w*|\bdeliver\w*|\bbuy(?:s|ing)?\b|\bpurchas\w*", re.I)


def asks_whether_orders_ship(text: str) -> bool:
    """ "is X blocked? they want to order again": the orders, not the account's standing alone ("is X still blocked
    or did that get lifted?" asks the status)."""
    if _HOW_MUCH_MORE_RE.search(text):
        return False  # "how much more can they take before they get blocked?": the room on the account
    if NEW_ORDERS_RE.search(text):
        return True
    return bool(_BLOCKED_RE.search(text)) and bool(_AN_ORDER_RE.search(text) or _SHIPS_RE.search(text))


def the_question_asked(text: str, intent: Intent) -> Intent:
    """The question a message ends on, over what its other words lean to: "X is over its line again. what should the
    limit actually be?" is the recommendation; "if i take globex from 113k to 250k, who has to approve that?" the
    approval rule (nothing is proposed)."""
    if intent in _A_CUSTOMERS_STANDING and _WHAT_THE_LIMIT_SHOULD_BE_RE.search(text):
        return Intent.LIMIT_RECOMMEND
    if intent in (Intent.LIMIT_RECOMMEND, Intent.LIMIT_PROPOSE, Intent.RELEASE_CHECK) and WHO_APPROVES_RE.search(text):
        return Intent.POLICY
    return intent


def rerouted_by_the_words(text: str, intent: Intent, names_a_customer: Callable[[], bool]) -> Intent:
    """A reading the message's own form points elsewhere: a customer's standing, an order's check, the room left."""
    if intent is Intent.LIMIT_RECOMMEND and AGAINST_THE_LIMIT_RE.search(text):
        return Intent.EXPOSURE  # "hows globex lookin against their limit": its standing, not its right limit
    if intent in (Intent.EXPOSURE, Intent.STATUS) and _ROOM_FOR_AN_AMOUNT_RE.search(text):
        return Intent.RELEASE_CHECK  # "is there room for 8 grand more on windmont?"
    if intent is Intent.STATUS and _THE_ORDER_RE.search(text) and names_a_customer():
        return Intent.RELEASE_CHECK  # "why is the deepcore order on hold?": that order's check says what holds it
    if intent is Intent.STATUS and asks_whether_orders_ship(text) and names_a_customer():
        return Intent.RELEASE_CHECK  # "is landmont on any kind of credit block?": whether a new order would ship
    if (
        intent is Intent.RELEASE_CHECK
        and _HOW_MUCH_MORE_RE.search(text)
        and not any(not mention.error for mention in money_mentions(text, Spans()))
    ):
        return Intent.EXPOSURE  # "how much more can they take before they get blocked?": the room on the account
    return intent
