"""The weighted patterns of each intent (keywords, phrasings, common typos) and the ones that count against one;
`intents.recognise` adds them up."""

from __future__ import annotations

import re

from .intent_kinds import Intent
from .intent_rules_limits import LIMIT_RULES
from .intent_rules_promises import PROMISE_RULES

IC = re.IGNORECASE
# "every customer with 'cobalt' in the name", "customers whose name contains 'ridge'": a search of names, not
# figures of the book
NAME_SEARCH_RE = re.compile(
    r"\bin\s+(?:the|their|its)\s+names?\b|\bnames?\s+(?:contains?|containing|includes?|including|like|starting|starts"
    r"|beginning|begins)\b|\bnamed\s+like\b"
    # "is 'New Worth' one of ours?", "do we have a customer called Zenith?", "is there an account for Moonwick?"
    r"|\bis\s+.{2,60}?\s+(?:one\s+of\s+ours|one\s+of\s+our\s+(?:customers|clients|accounts)|a\s+customer\s+of\s+ours"
    r"|(?:an?\s+)?(?:existing\s+)?(?:customer|client|account)\s+(?:of\s+ours|with\s+us|in\s+the\s+system)|on\s+our\s+books)\b"
    r"|\b(?:do\s+we\s+have|is\s+there)\s+(?:a|an|any)\s+(?:customer|client|account)\s+(?:called|named)\b",
    IC,
)

# "is the promise I logged still sitting in the queue?", "has my limit request been approved yet?"
AWAITING_DECISION_RE = re.compile(
    r"\b(?:sitting|waiting|stuck|pending)\s+(?:in\s+the\s+(?:approval\s+)?queue"
    r"|for\s+(?:an?\s+)?(?:approval|sign[- ]?off))\b"
    r"|\bin\s+the\s+approval\s+queue\b|\b(?:been|got|gotten)\s+(?:approved|signed\s+off)\s+yet\b"
    r"|\bawaiting\s+(?:approval|sign[- ]?off)\b"
    r"|\b(?:request|proposal|submission|limit\s+change)s?\s+(?:is\s+|are\s+)?still\s+(?:pending|open|waiting)\b"
    # "what has ash proposed that's still pending?", "anything I submitted still waiting?"
    r"|\b(?:propos|submitt|rais|put\s+in|request)ed\b.{0,30}\b(?:still\s+)?(?:pending|waiting|awaiting|undecided)\b"
    # "pending order releases that sam put in?": what someone proposed, still undecided
    r"|\bpending\b.{0,40}\b(?:that|which)\s+\w+\s+(?:put\s+in|proposed|raised|submitted|requested)\b"
    # "is anything about to expire in my queue?": proposals expire undecided
    r"|\bexpir\w*\b.{0,30}\b(?:my|the|our)\s+(?:approval\s+)?queue\b|\b(?:my|the|our)\s+(?:approval\s+)?queue\b.{0,30}\bexpir",
    IC,
)

# "room for another 50k€?", "can they take €250k more?": one more order of that size, checked
ROOM_FOR_MORE_RE = re.compile(
    r"\b(?:room|space|headroom|capacity)\s+for\s+(?:another|a\s+further|an?\s+extra|one\s+more"
    r"|[$€£]?\d[\d.,]*\s*(?:k|m|grand)?\s*(?:€|eur|usd|gbp)?\s*(?:more|extra))\b"
    r"|\b(?:can|could)\s+(?:they|it|he|she)\s+take\s+(?:another|an?\s+(?:extra|further)\s+)?[$€£]?\s?\d[\d.,]*"
    r"\s*(?:k|m|grand)?\s*(?:€|eur|usd|gbp)?\s*(?:more|extra)\b",
    IC,
)
# "how did 0688-XNJRO pay during 2012?", "how does globex pay?": how it pays, not a promise (unless one is named)
HOW_THEY_PAY_RE = re.compile(
    r"\bhow\s+(?:did|does|do|has|have)\s+(?:[\w'&.-]+\s+){1,4}?pa(?:y|id)\b(?!.{0,40}\b(?:promis|ptp|commit))"
    # "what did acme pay in october?", "how much did globex pay us during Q3": what it paid over a period
    r"|\b(?:what|how\s+much)\s+did\s+(?:[\w'&.-]+\s+){1,3}?pay\s+(?:us\s+)?(?:in|during|over|for|last|this)\b"
    r"(?!.{0,40}\b(?:promis|ptp|commit))",
    IC,
)

# "how much credit is umbrella using", "how much of globex's line is left", "credit they have left", "before hitting
# their limit": the line as it stands, not the limit the policy would give
CREDIT_IN_USE_RE = re.compile(
    r"\bhow much (?:credit|of (?:the |their |its |[\w&.'-]+(?:'s|s')\s+)?(?:credit|limit|line))\b"
    r".{0,40}\b(?:using|used|use|left|remaining|available|free|spare|taken|drawn)\b"
    r"|\b(?:credit|limit|line)\s+(?:they|it)\s+(?:have|has|still have|still has)\s+(?:left|available|free)\b"
    # "how much more can vandelay buy before hitting their limit": the headroom
    r"|\bbefore\s+(?:hitting|reaching|going\s+over|breaching|maxing\s+out)\s+(?:their|the|its)\s+(?:credit\s+)?(?:limit|line)\b",
    IC,
)

# "what should I say to the first one", "what do I tell them when I call": the words for the customer, a draft
WHAT_TO_SAY_RE = re.compile(
    r"\bwhat\s+(?:should|do|shall|can|would)\s+i\s+(?:say|tell|write)\b|\btalking\s+points\b", IC
)

RULES: list[tuple[Intent, re.Pattern[str], int]] = [
    (Intent.FIND_CUSTOMER, NAME_SEARCH_RE, 8),
    (Intent.PENDING_APPROVALS, AWAITING_DECISION_RE, 10),
    # help and approvals
    (Intent.HELP, re.compile(r"^\W*(?:help|h[ae]lp me|\?+|menu|commands|options|hi|hello|hey|yo)\W*$", IC), 10),
    (
        Intent.HELP,
        re.compile(
            r"\bwhat (?:can|do) you (?:do|know|help with)\b|\bhow (?:do|can) i use (?:you|this)\b"
            r"|\bwhat are you\b|\bwho are you\b|\bwhat can i ask\b",
            IC,
        ),
        10,
    ),
    (
        Intent.APPROVE,
        re.compile(
            r"^\W*(?:ok\W+|yes\W+|pls\W+|please\W+|can you\W+|could you\W+|just\W+)?"
            # not "reject greencross's dispute": that is the dispute's outcome
            r"(?:approve|reject|decline|sign off)\b(?![^.?!]{0,40}\b(?:dispute|claim)s?\b)",
            IC,
        ),
        10,
    ),
    (
        Intent.APPROVE,
        re.compile(r"\b(?:approve|reject|decline)\s+(?:proposal|it|this|that|the proposal|#?\d+|my own)\b", IC),
        8,
    ),
    # a customer's payment behaviour, the customer being the thread's: "and their payment trend by quarter"
    (
        Intent.PAYMENT_BEHAVIOUR,
        re.compile(r"\b(?:their|its)\s+(?:payment|paying)\s+(?:trend|behaviou?r|pattern|habits?|record)s?\b", IC),
        6,
    ),
    (Intent.PAYMENT_BEHAVIOUR, HOW_THEY_PAY_RE, 6),
    (Intent.PAYMENT_BEHAVIOUR, re.compile(r"\bdays\s+beyond\s+terms\b|\bdbt\b", IC), 6),  # how late, on average
    # customer exposure and status
    (Intent.EXPOSURE, re.compile(r"\bexp[o0]s[ui]?re\b|\bexposre\b|\bexpsoure\b|\bexposure\b", IC), 3),
    (
        Intent.EXPOSURE,
        re.compile(r"\b(?:how|hw|hou|hoe) much\b.*\b(?:owe|owes|owing|outstanding|open|overdue|due)\b", IC),
        4,
    ),
    (
        Intent.EXPOSURE,
        re.compile(
            r"\b(?:pull|bring|call) up\b|\bopen (?:up )?(?:the )?account\b|\baccount (?:for|of)\b|\bC\d{5,}\b", IC
        ),
        3,
    ),
    (Intent.EXPOSURE, re.compile(r"\bowe[sd]?\b|\bowing\b|\boutstanding\b|\bo/s\b", IC), 3),
    (
        Intent.EXPOSURE,
        re.compile(
            r"\bbal(?:ance|nace|ence)?s?\b|\bopen items\b|\bopen invoices\b|\breceivables?\b"
            r"|\bar\b|\ba/r\b",
            IC,
        ),
        3,
    ),
    (Intent.EXPOSURE, re.compile(r"\bag(?:e)?ing\b|\baged\b|\bagieng\b", IC), 3),
    (
        Intent.EXPOSURE,
        re.compile(
            r"\bwhat'?s\s+the\s+damage\b|\bin\s+the\s+red\b|\bon\s+the\s+hook\b"
            r"|\b(?:into|in\s+to)\s+us\s+for\b",  # "how much are they into us for"
            IC,
        ),
        4,
    ),
    (  # "what's the story with number 3?", "what's the deal with hooli": the customer's standing, asked loosely
        Intent.EXPOSURE,
        re.compile(
            r"\bwhat'?s\s+(?:the\s+)?(?:story|deal|situation|position)\s+(?:with|on|at)\b"
            r"|\bwhat'?s\s+(?:going\s+on|happening)\s+(?:with|at)\b",
            IC,
        ),
        4,
    ),
    (  # "where's longcore at?", "where do we stand with hooli", "what's on the books for them": its standing
        Intent.EXPOSURE,
        re.compile(
            r"\bwhere(?:'s|\s+is|\s+are)\s+(?!we\b)[\w&.' -]{2,40}?\s+at\s*\W*$"
            r"|\bwhere\s+(?:do\s+)?we\s+stand\b"
            r"|\bwhere\s+are\s+we\s+(?:at\s+)?with\b|\bon\s+(?:the|our)\s+books\s+(?:for|with|from)\b",
            IC,
        ),
        4,
    ),
    (Intent.EXPOSURE, re.compile(r"\bunpaid\b", IC), 3),
    # "is greenport over limit?": where it stands against its limit
    (
        Intent.EXPOSURE,
        re.compile(r"\b(?:over|above|exceed\w*|breach\w*)\s+(?:the\s+|their\s+|its\s+)?(?:credit\s+)?limit\b", IC),
        4,
    ),
    # "how much credit is umbrella using", "how much of globex's line is left": where the line stands today
    (Intent.EXPOSURE, CREDIT_IN_USE_RE, 5),
    (Intent.EXPOSURE, re.compile(r"\boverdue\b|\bpast due\b", IC), 3),
    (
        Intent.EXPOSURE,
        re.compile(
            r"\butili[sz]ation\b|\bavailable credit\b|\bheadroom\b|\bcredit line\b"
            r"|\b(?:credit |current )limit\b|\bwhat(?:'s| is) (?:the |their |its )?limit\b",
            IC,
        ),
        3,
    ),
    (
        Intent.EXPOSURE,
        re.compile(
            r"\boverview\b|\btell me about\b|\bwhat'?s up with\b|\bhow is\b.*\bdoing\b"
            r"|\blook ?up\b|\bsnapshot\b|\bpositi?on\b|\bdso\b",
            IC,
        ),
        1,
    ),
    (Intent.STATUS, re.compile(r"\bcredit status\b|\bstatus\b|\bstanding\b", IC), 3),
    (Intent.STATUS, re.compile(r"\bcredit (?:hold|stop|block)\b|\bon (?:credit )?(?:hold|stop)\s*\?", IC), 4),
    (
        Intent.STATUS,
        re.compile(r"\b(?:is|are)\b.*\bon (?:credit )?(?:hold|stop)\b|\bblocked\b|\bin good standing\b", IC),
        4,
    ),
    # can we ship?
    (Intent.RELEASE_CHECK, re.compile(r"\bship(?:ping|ment|ments)?\b|\bdeliver(?:y)?\b|\bdispatch\b", IC), 4),
    # "SO-… for winter diagnostics — green light?", "is the acme order good to go?"
    (
        Intent.RELEASE_CHECK,
        re.compile(r"\bgreen[- ]?light\b|\bgood\s+to\s+go\b|\bclear(?:ed)?\s+to\s+(?:ship|go)\b", IC),
        4,
    ),
    (
        Intent.RELEASE_CHECK,
        re.compile(
            r"\b(?:can|could|may|should|shall) (?:we|i)\b.*\b(?:ship|release|accept|take|book"
            r"|fulfil+|sell|extend)\b",
            IC,
        ),
        3,
    ),
    (
        Intent.RELEASE_CHECK,
        re.compile(
            r"\b(?:ok|okay|good|clear|safe|fine)\s+(?:for\s+(?:the\s+)?\w+\s+)?to\s+(?:ship|release|sell)\b"
            r"|\bcredit check\b|\bcredit approval for\b",
            IC,
        ),
        4,
    ),
    (
        Intent.RELEASE_CHECK,
        re.compile(r"\bnew order\b|\border (?:of|for|worth)\b|\b(?:an|a|the)\b.{0,20}\border\b", IC),
        2,
    ),
    (Intent.RELEASE_CHECK, re.compile(r"\b(?:is|are|can|could|would)\b.*\brelease[ds]?\b", IC), 2),
    (Intent.RELEASE_CHECK, ROOM_FOR_MORE_RE, 5),
    (Intent.RELEASE_CHECK, re.compile(r"\bcheck\s+(?:on\s+)?(?:the\s+)?(?:order\s+)?SO-?\s?\d+", IC), 6),
    (  # "details for SO-19", "status of order SO-7": the order as the credit check sees it
        Intent.RELEASE_CHECK,
        re.compile(
            r"\b(?:details?|status|info(?:rmation)?|show|pull\s+up|look\s+at|what(?:'s|\s+is)\s+(?:up|happening)\s+with)"
            r"\s+(?:\w+\s+){0,2}?(?:order\s+)?SO-?\s?\d+",
            IC,
        ),
        6,
    ),
    (  # "run SO-100 against their credit", "put SO-7 through credit"
        Intent.RELEASE_CHECK,
        re.compile(r"\b(?:run|put|check|test)\s+SO-?\s?\d+\s+(?:against|through|past|by)\b.{0,25}\bcredit\b", IC),
        6,
    ),
    # score
    (
        Intent.SCORE,
        re.compile(
            r"\bsc(?:o|ro)re[sd]?\b|\bscoring\b|\bscorecard\b|\brisk class\b|\brisk rating\b"
            r"|\brat(?:ing|ed|ng)\b|\brisk\b|\brisky\b|\bgrade\b",
            IC,
        ),
        3,
    ),
    (Intent.SCORE, re.compile(r"\bwhy (?:is|are)\b.*\b(?:an?|the|class|rated)\s+[a-e]\b", IC), 5),
    (  # "is Longcore still an E?", "is hooli rated B now?": the risk class
        Intent.SCORE,
        re.compile(
            r"\b(?:is|are)\b.{0,50}\b(?:an?|class|rated|in\s+class)\s+[a-e]\b\s*(?:now|still|today)?\s*(?:\?|$)", IC
        ),
        6,
    ),
    (Intent.SCORE, re.compile(r"\bpay late\b|\blate[- ]payment probability\b", IC), 3),
    (  # "is soylent likely to pay late?": the model's probability, not the record of how they paid
        Intent.SCORE,
        re.compile(
            r"\blikely\s+to\s+(?:pay\s+late|default|be\s+late)\b|\bchances?\s+(?:of|that)\b.{0,30}\b(?:late|default)",
            IC,
        ),
        6,
    ),
    (  # "creditworthiness of umbrella", "PD for stark", "what class is hooli in"
        Intent.SCORE,
        re.compile(
            r"\bcredit\s?worth\w*|\bPD\b|\bprob(?:ability)?\s+of\s+default\b|\bdefault\s+(?:risk|probability)\b"
            r"|\b(?:what|which)\s+(?:risk\s+)?class\b|\b(?:risk|credit)\s+(?:grade|band|tier|bucket|category)\b",
            IC,
        ),
        4,
    ),
    *LIMIT_RULES,
    # worklist
    (
        Intent.WORKLIST,
        re.compile(
            r"\bwork\s*-?\s*list\b|\bworklsit\b|\bwrklist\b|\bworklist\b|\bqueue\b(?!\s+(?:up\s+)?(?:the|a|an|that|this)\b)"
            r"|\bto-?do\b|\bmy (?:call )?list\b",
            IC,
        ),
        6,
    ),
    (
        Intent.WORKLIST,
        re.compile(
            r"\bwork on next\b|\bwhat should (?:i|we) (?:work on|do|tackle|focus on)\b"
            # "where do I start today", "who's next on my list"
            r"|\bwhere\s+(?:do|should|shall)\s+(?:i|we)\s+(?:start|begin)\b|\bwho(?:'s|\s+is)\s+next\b"
            r"|\bwho should (?:i|we|\w+) (?:call|chase|contact|ring)\b|\bwho (?:do|should) (?:i|we) "
            r"chase\b|\bwho to (?:call|chase)\b|\bnext (?:accounts?|calls?)\b"
            r"|\bpriorit(?:y|ies|ise|ize)\b|\b(?:call|chase|collections?) list\b"
            r"|\bwho\b.{0,30}\b(?:call|chase|contact|ring|phone|follow up with|dun)\b"
            r"|\b(?:which|what)\s+(?:accounts?|customers?|clients?|debtors?)\b.{0,40}\b(?:hit|chase|call|ring|tackle|go\s+after)"
            r"\s+first\b"
            r"|\b(?:accounts?|customers?|clients?|debtors?) (?:to|i should|we should)"
            r" (?:call|chase|contact|ring|work)\b"
            r"|\btop\s*\d*\s*(?:overdue|delinquent|late|past[- ]due)\s+(?:accounts|customers|clients|debtors)\b",
            IC,
        ),
        6,
    ),
    (Intent.WORKLIST, re.compile(r"\bmy (?:book|accounts|customers)\b|\bteam\b", IC), 2),
    (Intent.WORKLIST, re.compile(r"\btop\s*\d+\b", IC), 1),
    (Intent.WORKLIST, re.compile(r"\b(?:for|in)\s+(?:the\s+)?(?:region|team)\b|\btop\s*\d+\s+(?:for|in)\b", IC), 3),
    # dunning
    (
        Intent.DUNNING_DRAFT,
        re.compile(
            r"\bdunn?ing\b|\bdun\b|\breminder\b|\bremind\b|\bchaser\b|\bnudge\b|\bfinal notice\b"
            r"|\bdemand letter\b|\bletter\b|\be-?mail\b|\bpayment request\b",
            IC,
        ),
        4,
    ),
    (Intent.DUNNING_DRAFT, re.compile(r"\bdraft\b|\bwrite\b|\bprepare\b|\bcompose\b", IC), 2),
    (  # "what should I say to the first one", "what do I tell them when I call": the words for the customer
        Intent.DUNNING_DRAFT,
        WHAT_TO_SAY_RE,
        5,
    ),
    (
        Intent.DUNNING_SEND,
        re.compile(
            r"\b(?:send|propose|queue|dispatch|issue|fire\s+off|post|mail\s+out|get)\b.{0,40}?"
            r"\b(?:dunn?ing|reminder|letter|e-?mail|notice|chaser)\b(?!\s+(?:for|to)\s+me\b)",
            IC,
        ),
        7,
    ),
    # disputes
    (
        Intent.DISPUTE,
        re.compile(r"\bdisp(?:u|ut)tes?\b|\bdispute[sd]?\b|\bclaims?\b|\bcomplain\w*\b|\bdisptue\b", IC),
        5,
    ),
    (
        Intent.DISPUTE_UPDATE,  # "dispute 4 -> in review", "dispute #12: resolved"
        re.compile(
            r"\bdispute\s*#?\s*\d+\s*(?:->|→|=>|:|to|should\s+be|is\s+now|now)\s*"
            r"(?:in[- ]?review|resolved|rejected|closed|open|accepted)\b",
            IC,
        ),
        8,
    ),
    (
        Intent.DISPUTE_UPDATE,  # "… is coded damaged but it's really quality - can you fix the reason code"
        re.compile(
            r"\b(?:fix|change|correct|update|amend|set|switch)\s+(?:the\s+|its\s+|their\s+)?(?:dispute\s+)?reason\s+code\b"
            r"|\bre-?code\s+(?:it|this|that|dispute|#?\d)|\bmis-?coded\b|\b(?:wrongly|incorrectly)\s+coded\b",
            IC,
        ),
        8,
    ),
    (
        Intent.DISPUTE_UPDATE,
        re.compile(
            r"\b(?:mark|set|close|resolve|reject|reassign|escalate|update|change)\b.*"
            r"\bdispute\b.*\b(?:as|to)\b|\b(?:close|resolve|reject)\s+dispute\b",
            IC,
        ),
        7,
    ),
    # portfolio
    (
        Intent.PORTFOLIO,
        re.compile(
            r"\bportfolio\b|\bwhole book\b|\bthe book\b|\bour book\b|\bledger\b|\bkpis?\b|\bdso\b"
            r"|\bcei\b|\bcollection effectiveness\b|\bconcentration\b|\btrend\b|\bchart\b"
            r"|\bgraph\b|\bplot\b|\bdays sales outstanding\b|\bbpdso\b"
            r"|\b(?:board|exec|management|mgmt|month[- ]end|monthly)\s+(?:pack|deck|report|slides?)\b",  # a book figure
            IC,
        ),
        4,
    ),
    (
        Intent.PORTFOLIO,
        re.compile(
            r"\b(?:top|largest|biggest)\s*(?:\d+\s*)?(?:exposures|debtors|risks)\b"
            r"|\b(?:by|per) (?:region|segment|collector|risk class|class|currency|customer|(?:risk |credit )?grade)\b",
            IC,
        ),
        5,
    ),
    (
        Intent.PORTFOLIO,
        re.compile(
            r"\b(?:total|overall|all|our|the company|company-wide)\b.*\b(?:ar|receivables|exposure|overdue)\b", IC
        ),
        3,
    ),
    (
        Intent.PORTFOLIO,
        re.compile(r"\b\d+\s*\+|\bbroken promises?\b|\bkept rate\b|\b% current\b|\bpercent current\b", IC),
        4,
    ),
    (
        # a ranking by a figure ("the top 5 in my book by overdue amount", "bottom 10 by exposure")
        Intent.PORTFOLIO,
        re.compile(
            r"\b(?:top|bottom)\s*\d{1,2}\b.{0,40}?\bby\s+(?:overdue|past[- ]due|exposure|balance|open|ar\b|receivables?"
            r"|disput\w*|amount\s+(?:overdue|outstanding|owed))",
            IC,
        ),
        6,
    ),
    (
        # the dispute cycle time: "avg days to close out a dispute in Q3?", "how long do disputes take to resolve"
        Intent.PORTFOLIO,
        re.compile(
            r"\b(?:avg|average|mean|typical|median)\b.{0,20}\b(?:days?|time)\b.{0,20}\b(?:clos|resolv|settl|sort)\w*"
            r"\b.{0,20}\bdisputes?\b|\bdisput\w* cycle\b",
            IC,
        ),
        6,
    ),
    (
        # a ranking of customers by how they pay ("our three best payers", "worst payers in EMEA")
        Intent.PORTFOLIO,
        re.compile(
            r"\b(?:worst|slowest|latest|best|fastest|quickest|promptest|poorest)\s+(?:[\w-]+\s+)?payers\b"
            r"|\bwho\b.{0,25}\bpays\s+(?:us\s+)?(?:the\s+)?(?:slowest|latest|fastest|quickest|best|worst)\b",
            IC,
        ),
        6,
    ),
    (
        Intent.PORTFOLIO,
        re.compile(
            r"\bwho\b.{0,20}\b(?:owes?|has|have|is|are)\b.{0,20}\b(?:most|biggest|largest|highest)\b"
            r"|\b(?:biggest|largest|top)\s*(?:\d+\s*)?(?:debtors?|balances|owers)\b|\bhow are we doing\b"
            r"|\b(?:whole|entire)\s+(?:company|business|firm|organi[sz]ation)\b|\bcompany[- ]wide\b"
            r"|\bevery (?:single )?(?:customer|account|client|debtor)"
            r"|\ball (?:of )?(?:our |the |my )?(?:customers|accounts|clients|debtors)\b"
            r"|\b(?:what|which) (?:%|percent(?:age)?|share|proportion) of (?:the |our )?(?:book|ar|receivables"
            r"|portfolio)\b",
            IC,
        ),
        6,
    ),
    # promises, orders, collectors, notes
    *PROMISE_RULES,
    (Intent.ORDER_HOLD, re.compile(r"\b(?:hold|block|freeze)\b.*\b(?:order|so-?\s?\d+)\b|\bput\b.*\bon hold\b", IC), 5),
    (  # "hold SO-117 — their exposure is way over": the instruction comes first, the reason after
        Intent.ORDER_HOLD,
        re.compile(
            r"^\W*(?:pls\s+|please\s+)?(?:hold|block|freeze)\s+"
            r"(?:SO-?\s?\d+|(?:the|their|[\w-]+'s)\s+(?:open\s+)?order)\b",
            IC,
        ),
        5,
    ),
    (  # "park their open order on credit hold till they pay"
        Intent.ORDER_HOLD,
        re.compile(
            r"\b(?:park|put|place|stick|keep)\s+(?:\w+\s+){0,4}(?:order|so-?\s?\d+)\w*\s+on\s+(?:credit\s+)?hold\b", IC
        ),
        9,
    ),
    (  # "stop greenway's order shipping", "don't ship SO-12 yet"
        Intent.ORDER_HOLD,
        re.compile(
            r"\bstop\b.{0,40}\b(?:orders?|so-?\s?\d+|shipp\w*|shipments?|deliver\w*)\b"
            r"|\b(?:don'?t|do not|no more)\s+(?:ship|release|deliver)\w*\b",
            IC,
        ),
        5,
    ),
    (
        Intent.ORDER_RELEASE,
        re.compile(
            r"\b(?:releas(?:e|ing)|unblock(?:ing)?|unhold(?:ing)?)\b.*\b(?:order|so-?\s?\d+)\b|\boff hold\b"
            r"|\blift (?:the )?hold\b",
            IC,
        ),
        5,
    ),
    (  # "ok request a release for it then, they've promised payment friday": the release asked for, with its reason
        Intent.ORDER_RELEASE,
        re.compile(r"\b(?:request|raise|submit|propose|file|put\s+in(?:\s+for)?)\s+(?:a|the)\s+release\b", IC),
        7,
    ),
    (Intent.ASSIGN, re.compile(r"\b(?:re-?assign|assign|transfer|hand over|handover)\b", IC), 5),
    (Intent.ASSIGN, re.compile(r"\bmove\b.*\bto\b.*\b(?:book|collector)\b|\bnew collector\b|\bcollector to\b", IC), 5),
    (
        Intent.NOTE,
        re.compile(
            r"\b(?:add|log|record|make|put|leave|write)\b.{0,20}\bnote\b"
            r"|(?<!\bthe\s)(?<!\bquarterly\s)(?<!\bmonthly\s)\bnote\s+(?:to|for|on)\b(?!\s+the\s+(?:cfo|ceo|board)\b)"
            r"|^\W*note\b|\bnote:",
            IC,
        ),
        7,
    ),
    # policy questions
    (
        Intent.POLICY,
        re.compile(
            r"\bpolic(?:y|ies)\b|\bhandbook\b|\bguidelines?\b|\bprocedures?\b|\brules?\b|\bmemo\b"
            r"|\bschedule\b|\bcaps?\b|\binterest\b|\bfees?\b|\bpre-?approved\b|\btrade references?\b",
            IC,
        ),
        4,
    ),
    (Intent.POLICY, re.compile(r"\b(?:in|per|according to|under) (?:the |our )?(?:policy|handbook|memo)\b", IC), 8),
    (
        Intent.POLICY,
        re.compile(
            r"\bwhat does\b.*\b(?:mean|say)\b|\bwhat (?:must|should|may) (?:a|an|the)\b.*\b(?:contain|include)\b"
            r"|\bhow do(?:es)?\b.*\bwork\b|\bwhat is the (?:procedure|process)\b|\bdo we charge\b",
            IC,
        ),
        6,
    ),
    (
        Intent.POLICY,
        re.compile(
            r"\bwho (?:approves|can approve|may approve|must approve|should approve|signs off|needs to"
            r" approve|has to approve|approve|is allowed)\b|\bapproval (?:authority|matrix|limits?)\b"
            r"|\bwho (?:has|needs|must|should|would|can|will) (?:to )?sign\b"
            r"|\bwhat (?:level of |kind of )?(?:approvals?|sign-?offs?|authori[sz]ation) (?:do|does|would|will)"
            r" (?:i|we|you|they|it)\b"
            r"|\bauthority matrix\b|\bfour[- ]eyes\b"
            # "who do i even talk to about getting a limit increase?": who handles it, which the policy says
            r"|\bwho\s+(?:do|should|can|would)\s+(?:i|we)\s+(?:even\s+|actually\s+)?(?:talk|speak|go|reach\s+out|escalate)"
            r"\s+(?:to|with)?\s*(?:about|for|re|regarding)\b",
            IC,
        ),
        8,
    ),
    (
        Intent.POLICY,
        re.compile(
            r"\bwhen (?:do|should|must|can|would|will) (?:we|i|you|an? \w+)\b"
            r"|\bhow (?:many|long) days\b(?!\s+(?:late|beyond|to\s+pay|early)\b)"
            r"|\bwhat happens (?:when|if)\b|\bare we allowed\b|\bam i allowed\b"
            r"|\bwhat (?:is|are) (?:the|our)\b.*\b(?:threshold|cadence|schedule|fee|fees|interest"
            r"|levels?|process)\b|\bhow (?:do|does|is|are) (?:we|the|a|an)\b.*\b(?:calculated|computed"
            r"|defined|determined|handled|work)\b|\bwrite[- ]?offs?\b|\bprovision\w*\b|\bauto[- ]?approv\w*"
            r"|\bhow(?:'s| is| are| was)\s+(?:it|that|this|they)\s+(?:worked out|calculated|computed|derived)\b"
            # "review cadence for D class accounts?", "how often are E-class limits reviewed": the policy's schedule
            r"|\breview\s+(?:cadence|frequency|cycle|interval|schedule|period)\b"
            r"|\bhow\s+often\b.{0,40}\b(?:review\w*|re-?scor\w*|re-?assess\w*|check(?:ed)?)\b",
            IC,
        ),
        6,
    ),
    (
        Intent.POLICY,
        re.compile(
            r"^\W*(?:(?:so|but|and|quick\s+q)\W+)?(?:do|should|can|may|must|would)\s+we\s+(?:ever\s+|still\s+|normally\s+)?"
            r"(?:dun|chase|remind|charge|accept|allow|extend|write\s+off|provide|provision)\b"
            r"|\bat\s+(?:how\s+many|what)\s+(?:days|dpd|days\s+past\s+due)\b",
            IC,
        ),
        6,
    ),
    # What causes a state is a rule, not a list of who is in it: "what actually puts an account on hold?", "what
    # gets a customer off stop?", "what triggers a move to collections?"
    (
        Intent.POLICY,
        re.compile(
            r"^\W*(?:so\W+|but\W+)?what\s+(?:actually\s+|exactly\s+|really\s+|usually\s+|normally\s+)?"
            r"(?:puts?|triggers?|causes?|gets?|sends?|moves?|takes?|lifts?|makes?|lands?|tips?|pushes?)\b"
            r".{0,40}\b(?:on|onto|into|off|under|to)\s+(?:a\s+|credit\s+)?(?:hold|stop|block|watch\s*list|collections?"
            r"|legal|review)\b",
            IC,
        ),
        8,
    ),
]

QUESTION_START = re.compile(r"^\W*(?:is|are|can|could|may|should|would|will|do|does|did|why|what|when|how|who)\b", IC)
NEGATIVE_RULES: list[tuple[Intent, re.Pattern[str], int]] = [
    # "broken promise" is a portfolio filter, not a promise being logged
    (Intent.PROMISE, re.compile(r"\bbroken promises?\b|\bkept rate\b|\bpromises? (?:kept|broken)\b", IC), 8),
    (Intent.PORTFOLIO, NAME_SEARCH_RE, 8),
    (Intent.LIMIT_RECOMMEND, CREDIT_IN_USE_RE, 4),
    # "excluding disputed" is a filter
    (Intent.DISPUTE, re.compile(r"\b(?:excl\w*|without|except|ex|not|non)[-\s.]*disput\w*|\bundisputed\b", IC), 5),
    # "top exposures" and grouped questions are portfolio, not a customer's exposure
    (
        Intent.EXPOSURE,
        re.compile(r"\b(?:top|largest|biggest)\s*(?:\d+\s*)?exposures\b|\bby region\b|\bby segment\b", IC),
        3,
    ),
]
