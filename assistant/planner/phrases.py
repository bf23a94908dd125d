"""The offline planner's fixed phrases: how staff pick from a list, follow up, name the book, ask for a change
or refuse one, and the thresholds the planner reads the classifier's scores with. Data and small helpers only; the
planner (`engine.py`) decides with them."""

from __future__ import annotations

import re

from tools.reference_words import area_names, is_common_word, is_filler, place_names

from .intents import Intent

PRONOUN_RE = re.compile(
    r"\b(?:them|they|their|theirs|it|its|this (?:customer|account|one|client)|that (?:customer|account|one|client)|"
    r"same (?:customer|account|one)|him|her|the customer|the account)\b",
    re.IGNORECASE,
)
# "a month ago", "this time last year": a day counted back from today, not a period's end
_AGO_RE = re.compile(r"\b(?:ago|(?:this|the\s+same)\s+time\s+last)\b", re.I)
# One of several customers told apart by a word: "the canadian one", "the UK entity"
_THE_ONE_RE = re.compile(r"\b(?:one|entity|subsidiary|branch|company|arm|office)\b", re.I)
# "the home one", "the bajio entity", "ok the school district one"
ONE_WORD_RE = re.compile(
    r"^\W*(?:(?:ok|and|i\s+mean|i\s+meant|no)\W+)*(?:the\s+)?([\w&'-]+(?:\s+[\w&'-]+)?)\s+"
    r"(?:one|entity|subsidiary|branch|company|arm|office)\W*$",
    re.I,
)
# A customer of the thread referred to ("their exposure", "what do they owe"), never the book ("our", "we")
_THEIR_RE = re.compile(r"\b(?:their|they|them|this (?:customer|client)|that (?:customer|client))\b", re.I)
# Several customers spoken of ("customers over their limit", "which ones", "how many"): "their" is theirs
_MANY_RE = re.compile(
    r"\b(?:customers|accounts|clients|names|debtors|ones|companies|how many|which|who|everyone|anyone|any)\b", re.I
)
ORDINAL_PICK = {"first": 0, "1st": 0, "top": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
                "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7,
                "ninth": 8, "9th": 8, "tenth": 9, "10th": 9, "last": -1, "bottom": -1}  # fmt: skip
_PICK_WORDS = "|".join(sorted(ORDINAL_PICK, key=len, reverse=True))
_PICK_NOUNS = r"(?:one|account|customer|client|company|row|line|entry|item|name)"
# The whole message is a pick from the list just shown: "the first one", "#3", "what about the second?"
PICK_RE = re.compile(
    r"^\W*(?:and\s+|ok\W+|so\W+|then\s+)?(?:(?:what|how) about|tell me(?: more)? about|show(?: me)?|more on|more about"
    r"|details (?:on|for|of)|open|look at|drill (?:into|down on|down into)|go with|pick|select|take|i mean|i meant"
    rf"|let'?s (?:do|see|look at))?\s*(?:the\s+)?(?:({_PICK_WORDS})(?:\s+{_PICK_NOUNS})?(?:\s+on the list)?"
    r"|(?:number|no\.?|#|row|line)?\s*(\d{1,2}))\W*$",
    re.IGNORECASE,
)
# A pick inside a request: "score the third one", "draft a reminder for #2", "how much does the 2nd account owe"
ORDINAL_RE = re.compile(
    rf"\b(?:the\s+)?({_PICK_WORDS})\s+{_PICK_NOUNS}\b|\bthe\s+({_PICK_WORDS})(?=\s*(?:[?.!,:;\-–—]|$))"
    r"|(?:\b(?:number|no\.?|row|line)\s*|#\s*)(\d{1,2})\b(?!\d)",
    re.IGNORECASE,
)


def pick_index(match: re.Match[str]) -> int:
    """The list position a PICK_RE or ORDINAL_RE match names ("the second one": 1, "#3": 2, "the last": -1)."""
    word = next(g for g in match.groups() if g).lower()
    return ORDINAL_PICK[word] if word in ORDINAL_PICK else int(word) - 1


# "Acme group", "the Initech group": the family of a customer, reported at its head
CUSTOMER_GROUP_RE = re.compile(
    r"\b([A-Za-z][\w&.'-]*)\s+(?:group|family)\b(?!\s*by\b)|\bgroup\s+(?:of|for)\s+(?!the\b)([A-Za-z][\w&.'-]*)",
    re.IGNORECASE,
)
_NOT_A_GROUP_NAME = frozenset({"by", "per", "risk", "customer", "peer", "age", "each", "a", "the", "this", "that",
                               "same", "whole", "our", "my", "your", "their", "which", "what", "debtor",
                               "client", "wider", "wide", "parent", "corporate", "family", "its", "whose"})  # fmt: skip
# "Acme Europe on its own, not the wider group": the one customer, never its family
ON_ITS_OWN_RE = re.compile(
    r"\b(?:on\s+(?:its|their)\s+own|alone|stand-?alone|itself|solo)\b"
    r"|\b(?:not|without|excluding|excl\.?|ex\.?|minus|leave\s+out|leaving\s+out)\s+(?:the\s+|its\s+|their\s+|any\s+)?"
    r"(?:(?:wider|whole|rest\s+of\s+the|other|[a-z]+)\s+)?(?:group|subsidiar\w*|subs?|parent|family|affiliates?"
    r"|related|entit(?:y|ies))\b",
    re.IGNORECASE,
)
# "the whole company", "every customer": the book, not a customer named "company"
BOOK_WORDS_RE = re.compile(
    r"(?<!\btheir\s)(?<!\bits\s)\b(?:whole|entire|all of the|across the)\s+"
    r"(?:company|business|firm|organi[sz]ation|group|book|portfolio)\b"
    r"|\bcompany[- ]wide\b|\bevery\s?(?:one|body)(?:'s)?\b|\bevery (?:single )?(?:customer|account|client|debtor)s?"
    r"(?:'s)?\b|\ball (?:of )?(?:our |the |my )?(?:customers|accounts|clients|debtors)\b",
    re.IGNORECASE,
)
# Credit jargon read in full when working out what is asked ("DTP for eaglelight" asks for the days to pay)
_JARGON = {"dtp": "days to pay", "dbt": "days beyond terms", "p2p": "promise to pay", "p2ps": "promises to pay"}
_JARGON_RE = re.compile(r"\b(?:" + "|".join(_JARGON) + r")\b", re.I)
# "ADD for country 770": the measure, when written as the acronym (not "add", nor a message typed all in capitals)
ADD_ACRONYM_RE = re.compile(r"\bADD\b(?!\s+(?:A|AN|THE|THIS|THAT|IT|NOTE|TO)\b)")
_MY_RE = re.compile(r"\bmy\b", re.I)
STATUS_CHANGE_RE = re.compile(
    r"\b(?:put|place|set|move|switch|flip|take)\s+(?:\S+\s+){1,4}?(?:on|onto|to|into|off)\s+(?:credit\s+)?stop\b"
    r"|\b(?:change|set|update|switch|flip|move)\s+(?:\S+'s?\s+|their\s+|its\s+|the\s+)?(?:credit\s+)?status\s+(?:to|as)\b",
    re.I,
)
# "how many promises were broken YTD": a count or a rate, which no one customer's history answers
BOOK_QUANTITY_RE = re.compile(r"\bhow many\b|\b(?:number|count|total|share|percentage) of\b|\brates?\b|%", re.I)
# "the last 6 points of history", "with 12 scores of history"
_HISTORY_POINTS_RE = re.compile(
    r"\b(?:last\s+)?(\d{1,2})\s+(?:points?|scores?)\s+(?:of\s+)?(?:history|trend)\b"
    # "the last 6 scores", "last 24 points", "the last 6 stored scores", "just the last 6 history points", "show me 12
    # points"
    r"|\b(?:last|past|previous)\s+(\d{1,2})\s+(?:stored\s+|history\s+|score\s+)?(?:points?|scores?)\b"
    r"|\b(?:show|give|with|want|need|see|pull)\s+(?:me\s+|us\s+)?(\d{1,2})\s+(?:data\s+|history\s+)?points\b"
    r"|\b(\d{1,2})\s+months?\s+of\s+(?:score\s+|scoring\s+)?history\b",
    re.I,
)
# "my release requests", "anything I proposed", "avery's proposals": whose proposals are meant
_MY_PROPOSALS_RE = re.compile(
    r"\bmy\s+(?:\w+\s+){0,2}(?:requests?|proposals?|submissions?|changes|ones|ptps?|promises?|holds?|releases?"
    r"|notes?|limit\s+changes?)\b"
    r"|\bi(?:\s+|'ve\s+|\s+have\s+)(?:made|proposed|submitted|raised|put\s+in|sent\s+in|asked\s+for|logged)\b|\b(?:anything|any|something)\s+of\s+mine\b",
    re.I,
)
_THEIR_PROPOSALS_RE = re.compile(
    r"\b(\w+)['’]s\s+(?:\w+\s+){0,2}(?:requests?|proposals?|submissions?|changes|holds|releases|ptps|promises)\b"
    r"|\b(\w+)\s+(?:has\s+|have\s+)?(?:put\s+in|put\s+forward|submitted|proposed|raised|logged|sent\s+in|asked\s+for)\b",
    re.I,
)
_ASKS_FOR_RELEASE_RE = re.compile(
    r"\b(?:can|could|would)\s+you\s+(?:please\s+|pls\s+)?(?:release|unblock|lift)\b"
    r"|\bput\s+in\s+(?:a\s+)?(?:release|request\s+to\s+release)\b|\brequest\s+(?:a\s+|the\s+|its\s+|their\s+)?release\b"
    r"|\b(?:can|could)\s+(?:we|you|i)\s+(?:please\s+)?get\b.{0,60}\b(?:released|unblocked|off hold)\b",
    re.I,
)
_HELD_RE = re.compile(
    r"\bheld\b|\bon hold\b|\bblocked\b|\bstuck\b|\bparked\b|\bfrozen\b|\bnot\s+(?:shipping|going\s+out)\b", re.I
)
_VS_NOW_RE = re.compile(r"\b(?:vs\.?|versus|compared\s+(?:with|to)|against|and)\s+(?:now|today|currently)\b", re.I)
# "what class is X now, and what was it at the end of june?": a past date beside "now" is the comparison
NOW_RE = re.compile(r"\b(?:now|today|currently|current(?:ly)?|at the moment|right now)\b", re.I)
_REVIEW_DUE_RE = re.compile(
    r"\b(?:reviews?\s+(?:is\s+|are\s+)?(?:coming\s+(?:up\s+)?|fall(?:s|ing)?\s+|comes?\s+)?(?:due|scheduled|up)"
    r"|due\s+(?:for\s+)?(?:an?\s+|the(?:ir)?\s+)?(?:limit\s+|credit\s+)?review)"
    r"\s+(?:by|before|on|in|for|within)?\s*(?:the\s+)?",
    re.I,
)
# "which limit reviews are due?", "overdue reviews": due by today
_REVIEWS_DUE_NOW_RE = re.compile(
    r"\b(?:limit\s+|credit\s+)?reviews?\s+(?:are\s+|is\s+)?(?:over)?due\b(?!\s+(?:by|before|on|in|for|within)\b)"
    r"|\b(?:overdue|late|missed)\s+(?:limit\s+|credit\s+)?reviews?\b|\bdue\s+(?:for\s+)?(?:an?\s+)?(?:limit\s+)?review\b",
    re.I,
)
# a weekday with nothing that makes it the date of the figures ("seeing them thursday"; not "as of friday")
_BARE_WEEKDAY_RE = re.compile(
    r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day\b(?!'s)|tomorrow\b|tmrw?\b|next\s+week\b)", re.I
)
_AS_OF_BEFORE_RE = re.compile(
    r"\b(?:as\s+(?:of|at)|at|on|by|for|until|till|since|from|before|after|last|this|next|close\s+of\s+business)\s+$",
    re.I,
)
# "exposure by risk class", "overdue per region": the book split by something
GROUP_BY_RE = re.compile(
    r"\b(?:by|per|split by|grouped by|broken down by|for each|in each|for every|in every|each)\s+"
    r"(region|segm(?:e?n|ne)t|coll?ector|risk[ _]class|class"
    r"|(?:risk\s+|credit\s+)?(?:grade|rating|band)"
    r"|currency|customer|country|countries|industry|industries|sector|vertical)(?:es|s)?\b"
    # "which collector is carrying the most overdue?": the groups, the largest first
    # "which 3 collectors are sitting on the most overdue?": the same, for the first few
    r"|^\W*(?:so\W+|and\W+)?which\s+(?:(?:\d{1,2}|two|three|four|five|ten)\s+)?"
    r"(region|segment|coll?ector|currenc(?:y|ie)|countr(?:y|ie)|industr(?:y|ie))s?\s+"
    r"(?:is|are|was|were|has|have|had|carr(?:y|ies|ied)|hold|holds|held|owe|owes|owed|own|owns|owned|sit|sits"
    r"|pay|pays|paid|accounts?\s+for)\b"
    # "collectors ranked by overdue", "rank the regions by DSO": the groups, in that order
    r"|\b(region|segment|coll?ector|currenc(?:y|ie)|countr(?:y|ie)|industr(?:y|ie))s?\s+(?:ranked|sorted|ordered)\s+by\b"
    r"|\b(?:rank|sort|order)\s+(?:the\s+|our\s+|all\s+)?(region|segment|coll?ector)s?\s+by\b"
    # "risk class breakdown of overdue", "a region split of open AR"
    r"|\b(region|segment|coll?ector|risk[ _]class|currency|country|industry|sector)\s+(?:breakdown|split|mix)\b",
    re.IGNORECASE,
)
BOOK_STOP = frozenset({"company", "business", "firm", "organisation", "organization", "everyone", "everybody", "whole",
                       "entire", "every", "everyone's", "everybody's", "single"})  # fmt: skip
# Countries and areas as written in a question; two-letter codes are checked against the book's countries.
_PLACE_RE = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(
        re.escape(n).replace(r"\ ", r"\s+") for n in sorted({*place_names(), *area_names()}, key=len, reverse=True)
    )
    + r"|[A-Z]{2})(?!\w|-(?!based\b))",  # "Singapore-based accounts"
    re.IGNORECASE,
)
_NOT_COUNTRY_CODES = frozenset(
    {"IN", "IT", "NO", "BE", "TO", "AM", "IS", "ME", "MY", "SO", "AT", "BY", "OR", "ON", "AS"}
)
_LIST_THEM_RE = re.compile(
    r"^\W*(?:(?:ok|and|so|pls|please)\W+)*(?:list|show|name|give me)\s+(?:me\s+)?"
    r"(?:them|those|the names|which ones|the ones)\b"
    r"|^\W*(?:which|who)\s+(?:ones|are they)\b"
    r"|^\W*(?:(?:ok|and|so)\W+)*(?:which|what)\s+(?:customers|accounts|clients|names|debtors)(?:\s+are\s+(?:they|those))?\W*$",
    re.IGNORECASE,
)
# "why is the first one on top?", "how come #2 ranks above #3?": a worklist row's ranking, explained
WHY_RANKED_RE = re.compile(r"^\W*(?:(?:ok|and|so|but|hmm|wait)\W+)*(?:why|how\s+come)\b", re.I)
# "why is umbrella first on it?", "why's falconwick ranked above acme corp?": a named row's place on the list
RANKED_CUE_RE = re.compile(
    r"\b(?:first|1st|top|ranked|ranks?|ranking|above|ahead\s+of|higher|lower|below|number\s+one|no\.?\s*1|so\s+high"
    r"|so\s+low|(?:on|at)\s+(?:the\s+)?(?:top|bottom)|on\s+(?:it|there|the\s+list|my\s+list|that\s+list))\b|(?<!\w)#\d+\b",
    re.I,
)
# "vs a year earlier?", "who are the 5 worst?", "show me the trend over the last 12 month ends": the last portfolio
# question continued — its filters kept, what the words name added
CONTINUES_RE = re.compile(
    r"^\W*(?:(?:ok|and|so|now)\W+)*(?:vs\.?|versus|compared\s+(?:to|with)|against)\s"
    r"|^\W*(?:(?:ok|and|so|now)\W+)*(?:who|which)(?:'s|\s+(?:are|were|is))\s+(?:the\s+)?"
    r"(?:\d+\s+|top\s+\d*\s*|bottom\s+\d*\s*)?(?:worst|best|biggest|largest|smallest|top|bottom)\b"
    r"|^\W*(?:(?:ok|and|so|now|pls|please|can\s+you)\W+)*(?:show|give|plot|chart|graph)\s+(?:me\s+)?(?:the\s+)?"
    r"(?:monthly\s+)?(?:trend|history)\b",
    re.IGNORECASE,
)
# "split it by country", "make it top 10", "by segment instead": the last portfolio query, changed
# "what was it at end of june?", "and was that one paid?": the thing the thread is about
_ABOUT_IT_RE = re.compile(r"\b(?:it|that one|this one|that invoice|this invoice)\b", re.I)
_JUST_TREND_RE = re.compile(
    r"^\W*(?:(?:ok|and|now)\W+)?(?:(?:show|give|get)\s+(?:me|us)\s+|can\s+i\s+(?:see|have|get)\s+)?(?:just|only)?"
    r"\s*(?:the\s+|their\s+|its\s+)?(?:monthly\s+|quarterly\s+|month[- ]by[- ]month\s+|month[- ]on[- ]month\s+)?"
    r"trend\b",
    re.I,
)
_REFINE_RE = re.compile(
    r"^\W*(?:(?:ok|and|now|then|pls|please|can you)\W+)*(?:(?:as\s+(?:of|at)|at)\s+[^?!]{3,40}?\s+instead\b"
    r"|(?:split|break|group|cut)\s+(?:it|that|this|them|those)"
    r"\s+(?:down\s+|up\s+)?by\b|make\s+(?:it|that)\s+(?:the\s+)?(?:(?:top|bottom)\s*)?\d+|(?:just\s+)?(?:the\s+)?top\s*\d+\s+(?:then|instead)"
    r"|by\s+(?:region|country|segment|industry|sector|collector|currency|risk\s+class)\s+(?:instead|then)\b"
    # "by country please", "drill into EMEA by country", "just the 60+ part of that", "top 5 of those by amount"
    r"|by\s+(?:region|country|countries|segment|industry|sector|collector|currency|risk\s+class)(?:\s+(?:please|pls|too))?\W*$"
    r"|drill\s+(?:down\s+)?(?:into|in\s+on|on)\b|zoom\s+(?:in\s+)?(?:into|on)\b"
    r"|(?:using|with|on|over)\s+(?:a\s+|the\s+)?(?:trailing\s+)?\d+[- ]days?\s+(?:of\s+)?(?:sales\s+)?"
    r"(?:window|basis|sales)\b"
    # "as a chart", "chart that", "can I get that as a graph": the same figures, drawn
    r"|(?:(?:\w+\s+){0,4}(?:as|in)\s+a\s+(?:chart|graph|plot|picture)\b)|(?:chart|graph|plot)\s+(?:it|that|this|them)\b"
    r"|(?:just|only)\s+(?:the\s+)?[\w+-]+(?:\s+[\w+-]+)?\s+(?:part|bit|portion|slice|piece)\s+of\s+(?:that|those|it|them)\b"
    r"|(?:just\s+|only\s+)?(?:the\s+)?(?:top|bottom)\s*\d+\s+of\s+(?:those|them|these|that)\b"
    # "compare that with end of last month", "vs EOM october?", "and against a year ago": the same question then
    r"|compare\s+(?:that|it|this|those|them)\b|(?:vs\.?|versus|against|compared?\s+(?:to|with))\s"
    # "leave out disputes", "excluding disputed items": the same question without them
    r"|(?:leave|take|strip|keep)\s+(?:out\s+|off\s+)?(?:the\s+|any\s+)?disput\w*(?:\s+(?:ones|items|invoices))?(?:\s+out)?\W*$"
    r"|(?:excl(?:uding|ude|\.)?|without|minus|ex)\s+(?:the\s+|any\s+)?disput\w*(?:\s+(?:ones|items|invoices))?\W*$)",
    re.IGNORECASE,
)
# "both of them together", "the two of them combined": the two collectors' books the thread showed
BOTH_BOOKS_RE = re.compile(r"\b(?:both(?:\s+of\s+them)?|the\s+two\s+of\s+them)\b.{0,20}\b(?:together|combined)\b", re.I)
_NARROW_RE = re.compile(
    r"^\W*(?:(?:ok|and|now|so|then)\W+)*(?:only|just)\s+(?:the\s+)?(?:[\w+-]+\s+){0,4}?(?:ones|those|accounts|customers)\b"
    # "class C only", "EMEA only pls"
    r"|^\W*(?:(?:ok|and|now|so|then)\W+)*(?:[\w+-]+\s+){1,3}only\W*(?:pls|please|thanks)?\W*$"
    # "filter that to 100k+", "narrow it down to EMEA"
    r"|^\W*(?:(?:ok|and|now|pls|please|can\s+you)\W+)*(?:filter|narrow|restrict|cut)\s+(?:it|that|this|them|those"
    r"|the\s+list)\s+(?:down\s+)?(?:to|by)\b"
    # "anything in there from cleo?", "any of those by ash?"
    r"|^\W*(?:(?:ok|and|so)\W+)?(?:anything|any)\s+(?:in\s+there\s+|of\s+(?:them|those|these)\s+)?(?:from|by)\s+\w+",
    re.I,
)
# "add class D too", "include cleo's book as well" after a list or a figure: the same, widened by what is named
WIDEN_RE = re.compile(
    r"^\W*(?:(?:ok|and|also|now|then|pls|please|can\s+you|could\s+you)\W+)*(?:add|include|plus|throw\s+in|bring\s+in)\b"
    r"|^\W*(?:(?:ok|and|now)\W+)?(?:[\w'-]+\s+){1,4}(?:too|as\s+well)\W*$",
    re.I,
)
# "only EMEA", "just APAC pls" after a list: the same list narrowed to what is named
ONLY_RE = re.compile(r"^\W*(?:(?:ok|and|now|so)\W+)?(?:only|just)\s+(?:in\s+|for\s+|the\s+)?\w", re.I)
# The kinds of proposal people name ("the limit ones", "any order releases"), as the proposal actions
_PROPOSAL_KINDS = [
    (re.compile(r"\blimits?\b", re.I), "set_credit_limit"),
    (re.compile(r"\breleas\w*\b", re.I), "release_order_hold"),
    (re.compile(r"\bholds?\b(?!\s+on\b)", re.I), "place_order_hold"),
    (re.compile(r"\bpromis\w*|\bptps?\b", re.I), "log_promise_to_pay"),
    (re.compile(r"\bdisput\w*", re.I), "update_dispute"),
    (re.compile(r"\bdunning\b|\bletters?\b|\breminders?\b", re.I), "send_dunning"),
    (re.compile(r"\b(?:re)?assign\w*|\bcollector\b", re.I), "assign_collector"),
    (re.compile(r"\bnotes?\b", re.I), "add_note"),
]
# "same but as of end of last month", "same thing but enterprise only", "just the EMEA ones", "how does that compare
# with 31/10?": the last portfolio question again with this change
SAME_BUT_RE = re.compile(
    r"^\W*(?:(?:ok|and|now|then|so)\W+)*(?:same(?:\s+(?:thing|again|query|figures?|numbers?|breakdown|split))?"
    r"\s*(?:but|for|as|at|on|in|without|excluding|,|-)|just\s+the\s+[\w+-]+(?:\s+[\w+-]+)?\s+(?:ones|stuff|accounts|customers)\b"
    r"|how\s+does\s+(?:that|this|it)\s+compare\b)",
    re.IGNORECASE,
)
FOLLOW_UP_RE = re.compile(
    # thanks for the answer before first: "Brilliant, thank you. And what about Lakewick Haulage?"
    r"^\W*(?:(?:thanks|thank\s+you|thx|ty|cheers|great|brilliant|perfect|lovely|cool|nice|super)\b[\s,.!-]*)*"
    r"(?:and|what about|how about|what of|same for|now|also|ok,? and|and for)\b",
    re.IGNORECASE,
)
GO_AHEAD_RE = re.compile(
    r"^\W*(?:ok(?:ay)?\W+|yes\W+|yep\W+|sure\W+|great\W+|good\W+|fine\W+|please\W+)*"
    r"(?:go ahead|do it|propose(?: it| that| this)?|submit(?: it)?|make it so|raise it|file it|send it|send that"
    r"|send this|send the (?:letter|reminder|e-?mail)|please do)\b|^\W*(?:yes|yep|ok|okay|sure)\W*$",
    re.IGNORECASE,
)
# "pls request a release on it", "put that on hold": a change to the order of the customer the thread is about
_RELEASE_IT_RE = re.compile(
    r"\b(?:release|unblock|unhold|free)\w*\b(?:\s+(?:on|of|for))?\s+"
    r"(?:it|that|this|them|their order|the held (?:one|order)|the one on hold)\b"
    r"|\b(?:lift|remove)\s+(?:the\s+)?hold\b(?!\s+on\s+(?:SO|order))|\btake\s+(?:it|that|them)\s+off\s+hold\b"
    r"|\b(?:request|raise|submit|propose|put\s+in(?:\s+for)?|go\s+ahead\s+with)\s+(?:a|the)\s+release\b"
    r"|\b(?:get|have)\s+(?:it|that|them|their\s+order|the\s+order)\s+(?:released|unblocked|moving|shipped)\b",
    re.IGNORECASE,
)
_HOLD_IT_RE = re.compile(
    r"\b(?:put|place)\s+(?:it|that(?:\s+one)?|this(?:\s+one)?|them|their order|the\s+order)\s+on\s+hold\b"
    r"|^\W*(?:(?:ok|okay|right|fine|yes|then)\W+)*(?:hold|block)\s+(?:it|that|this)\b",  # "ok, hold it - …"
    re.IGNORECASE,
)
_ORDER_CHANGES = (Intent.ORDER_RELEASE, Intent.ORDER_HOLD)
_TO_ME_RE = re.compile(r"\b(?:give|assign|reassign|hand|pass|move)\b.{0,20}\bto me\b|\bi'?ll (?:take|own) it\b")
_CUSTOMER_READS = frozenset(
    i.value
    for i in (Intent.EXPOSURE, Intent.STATUS, Intent.SCORE, Intent.PAYMENT_BEHAVIOUR, Intent.PROMISE_HISTORY,
              Intent.DISPUTE, Intent.LIMIT_RECOMMEND, Intent.RELEASE_CHECK)
)  # fmt: skip
# A message the semantic reading is no surer of than this may be a follow-up ("and their score?").
FOLLOW_UP_SCORE = 0.9
# "Out of scope" this sure stands even when the message names a customer ("send 50k to Globex").
OUT_OF_SCOPE_SURE = 0.7
PLAUSIBLE = 0.25
# A promise or payment question that names no customer is about the book when that reading has at least this much.
BOOK_READING = 0.1
EXCLUDE_DISPUTED_RE = re.compile(
    r"\b(?:excl\w*|without|except|ex|not|non)[-\s.]*(?:the\s+|any\s+)?disput\w*|\bundisputed\b"
    r"|\b(?:excl\w*|without|except)\s+(?:any\w*|every\w*|all|what'?s)\s+(?:that'?s\s+|that\s+is\s+|is\s+)?"
    r"(?:in|under)\s+dispute\b"
    r"|\bdisput\w*(?:\s+(?:items?|ones|invoices|stuff|balances?))?\s+(?:excluded|removed|out|left out|aside)\b"
    r"|\b(?:leave|leaving|take|taking|strip|stripping|leave)\s+out\s+(?:the\s+|all\s+|any\s+)?disput\w*"
    r"|\b(?:leave|leaving|take|taking|strip|stripping)\s+out\s+(?:any\w*|every\w*|whatever|what'?s)\s+"
    r"(?:that'?s\s+|that\s+is\s+|is\s+)?(?:in|under)\s+dispute\b|\b(?:not|nothing)\s+(?:in|under)\s+dispute\b"
    # "leave out anything that's disputed", "ignoring whatever is disputed"
    r"|\b(?:leave|leaving|take|taking|strip|stripping|ignor\w*|exclud\w*|without)\s+(?:out\s+)?(?:any\w*|every\w*"
    r"|whatever|what'?s|all)\s+(?:(?:that'?s|that\s+is|is|that\s+are|which\s+is)\s+)?disputed\b",
    re.IGNORECASE,
)
DISPUTE_CHANGE_RE = re.compile(
    r"\b(?:resolv\w*|clos\w*|reject\w*|accept\w*|re-?open\w*|in[ _-]review|reassign\w*|assign\w*|escalat\w*)\b"
    r".*|\b(?:set|mark|move|change)\s+(?:it|this|that|the dispute)\b"
    r"|\b(?:change|set|update|switch|re-?code)\s+(?:the\s+|its\s+)?(?:reason(?:\s+code)?|category|owner)\b"
    r"|\b(?:give|hand|pass)\s+(?:it|this|that|the dispute)\s+(?:over\s+)?to\b",  # "give it to avery instead"
    re.IGNORECASE,
)
# Shorter runs of an unmatched name tried at most (each a look-up).
MAX_PART_LOOKUPS = 6
MAX_WIDENED_LOOKUPS = 4
# Who at the customer made a promise: a capitalised name after "spoke to", "contact was", or a role ("per their
# controller Mark", "Petra in AP" is read as far as "Petra")
_CONTACT_RE = re.compile(
    r"(?i:\b(?:spoke|talked|chatted)\s+(?:to|with|w/)|\bcontact(?:'s|\s+(?:was|is|person))?\s*:?|\b(?:per|from|via|according\s+to)"
    r"\s+(?:their|the)\s+(?=(?:ap|ar|cfo|controller|treasurer|accountant|finance|payables|bookkeeper)\b))"
    r"\s*(?:(?i:their|the)\s+)?(?:(?i:ap|ar|cfo|controller|treasurer|accountant|finance|payables|bookkeeper)\s+)?"
    r"(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?)"
)
_PAYABLES = r"(?i:ap|a/p|accounts(?:\s+payable)?|payables|finance|treasury|accounting)\b"
# "contact susan patel", "contact is mark in treasury", typed in lower case after the word itself (checked to be no
# common words)
_CONTACT_LOWER_RE = re.compile(
    r"\bcontact(?:\s+(?:was|is|person))?\s*:?\s+(?P<name>[a-zß-öø-ÿ]{3,}(?:\s+[a-zß-öø-ÿ]{3,})?)\s*"
    rf"(?:$|[,;.!)]|\s(?:in|from|at|of)\s+(?:their\s+|the\s+)?{_PAYABLES})",
    re.I,
)
# Weaker forms, taken only when the name is no customer's: "per Barbara", "Clara in AP", "Wei confirmed",
# "Falconwick (Ravi) says", "Ravi on the phone"
_CONTACT_WEAK_RES = (
    re.compile(
        r"(?i:\bper|\baccording\s+to|\bconfirmed\s+by|\bfrom)\s+(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?)\b(?!\s+[A-Z])"
    ),
    # "Clara in AP", "Yuki Weber in moonwick's AP"
    re.compile(
        rf"\b(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?)\s+(?:in|from|at|over in)\s+"
        rf"(?:their\s+|the\s+|[\w'-]+'s\s+)?{_PAYABLES}"
    ),
    # "dana from vandelay's payables team": typed in lower case, a first name before the customer's AP team
    re.compile(rf"(?:^|[,;.]\s*)(?P<name>[a-z]{{3,}})\s+(?:in|from|at)\s+(?:their\s+|the\s+|[\w'-]+'s\s+){_PAYABLES}"),
    re.compile(r"\((?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)\)"),
    re.compile(rf"{_PAYABLES}\s*\((?P<name>[a-zß-öø-ÿ]{{3,}})\)"),  # "umbrella AP (jonas) confirmed …"
    # "Mary Carter on their side", "Raj at their end"
    re.compile(
        r"\b(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?)\s+(?i:on|at|from)\s+(?i:their|the\s+customer'?s?)\s+(?i:side|end)\b"
    ),
    # "4,860.26 on the 30th, Susan Patel": a person's full name closing the message (never a customer's)
    re.compile(
        r"[,;–—-]\s*(?i:contact\s*:?\s*)?(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)"
        r"(?:\s+(?i:again|too|as\s+before)|\s*\([^)]{0,30}\))?\W*$"  # "…, Elizabeth Tan again", "Dana Lee (AP mgr)"
    ),
    # "their CFO Clara Dubois confirmed", "their AP lead Justin Perrin"
    re.compile(
        r"(?i:\b(?:their|the)\s+(?:ap|a/p|ar|payables|finance|accounts)?\s*(?:lead|manager|director|head|clerk|cfo|ceo|coo"
        r"|controller|treasurer|accountant|bookkeeper|lady|guy|woman|man|person|rep)),?\s+(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?)\b"
    ),
    re.compile(
        r"\b(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?)\s+(?i:confirmed|says|said|agreed|promised|told\s+(?:me|us)|called|rang|emailed"
        r"|(?:was\s+)?on\s+the\s+(?:phone|line|call))\b"
    ),
    # "…, susan patel confirmed": a person's two names in lower case, saying so (checked to be no common words)
    re.compile(r"(?:^|[,;.:–—-]\s*)(?P<name>[a-z]{3,}\s+[a-z]{3,})\s+(?:confirmed|said|says|agreed|promised)\b"),
)
# The rules' score of a question about approval authority ("who has to sign that off?")
APPROVAL_QUESTION_SCORE = 8
_WHOLE_WORD_MATCHES = frozenset({"id", "external id", "name", "name words", "words in name"})
# The customer corrected right after a proposal: "sorry, wrong one - i meant coral leaf wholesale"
WRONG_CUSTOMER_RE = re.compile(
    r"\bwrong\s+(?:one|customer|account|company|client|name)\b|\bi\s+meant\b|\bshould\s+(?:have\s+been|be)\s+for\b"
    r"|^\W*(?:(?:sorry|oops|no|wait)\W+)+i\s+mean\b",
    re.I,
)
# A slip corrected in the same message: "today-ish, actually no they said wednesday", "5k, make that 6k"
CORRECTION_RE = re.compile(
    r"\b(?:actually(?:\s+no)?|no\s+wait|wait\s+no|i\s+mean|correction|make\s+(?:that|it)|scratch\s+that|instead"
    r"|don'?t\s+go\s+(?:that|so|quite\s+that)\s+(?:low|high|far)|(?:change|amend|correct)\s+(?:that|it)\s+to)\b"
    r"|^\W*(?:wait|hold\s+on|hang\s+on|sorry|oops)\b",
    re.I,
)
NEXT_PAGE_RE = re.compile(
    r"^\W*(?:(?:ok|and|now|done|cool|thanks|great|right|got it)\W+)*"
    r"(?:(?:show|give|get|let'?s\s+(?:see|have)|can\s+i\s+(?:see|have|get))\s+(?:me\s+|us\s+)?)?"
    r"(?:(?:the\s+)?next(?:\s+(?:page|one|lot|batch|bunch|set|few|ones|screen))?|more|the rest|continue|keep going"
    r"|page \d+|(?:the\s+)?(?:one|page|lot)\s+after\s+(?:that|this)|(?:the\s+)?following\s+(?:page|lot|batch|ones))"
    r"(?:\s+(?:of\s+(?:that|those|them|it|the\s+list)|please|pls|thanks))*\W*$",
    re.IGNORECASE,
)
TONES = {"friendly": "friendly", "gentle": "friendly", "polite": "friendly", "soft": "friendly", "firm": "firm",
         "stern": "firm", "strong": "firm", "final": "final", "last": "final", "friendlier": "friendly",
         "gentler": "friendly", "softer": "friendly", "nicer": "friendly", "politer": "friendly", "firmer": "firm",
         "sterner": "firm", "stronger": "firm", "harsher": "firm", "tougher": "firm"}  # fmt: skip
LEVEL_WORDS = {"pre-due": 0, "pre due": 0, "predue": 0, "first reminder": 1, "1st reminder": 1, "second reminder": 2,
               "2nd reminder": 2, "final notice": 3, "final reminder": 3, "final demand": 3,
               "pre-collection": 4, "precollection": 4, "pre collection": 4}  # fmt: skip
_WRITE_INTENTS = frozenset({Intent.LIMIT_PROPOSE, Intent.DUNNING_SEND, Intent.NOTE, Intent.ASSIGN, Intent.PROMISE})
# Requests that create a proposal, and the question each most resembles.
_READ_COUNTERPART = {
    Intent.LIMIT_PROPOSE: Intent.LIMIT_RECOMMEND,
    Intent.PROMISE: Intent.PROMISE_HISTORY,
    Intent.ORDER_HOLD: Intent.RELEASE_CHECK,
    Intent.ORDER_RELEASE: Intent.RELEASE_CHECK,
    Intent.DUNNING_SEND: Intent.DUNNING_DRAFT,
    Intent.DISPUTE_UPDATE: Intent.DISPUTE,
    Intent.NOTE: Intent.EXPOSURE,
    Intent.ASSIGN: Intent.EXPOSURE,
}
_PROPOSING = frozenset(_READ_COUNTERPART)
_WRITE_COUNTERPART = {
    Intent.LIMIT_RECOMMEND: Intent.LIMIT_PROPOSE,
    Intent.PROMISE_HISTORY: Intent.PROMISE,
    Intent.DUNNING_DRAFT: Intent.DUNNING_SEND,
    Intent.DISPUTE: Intent.DISPUTE_UPDATE,
}
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "for",
        "of",
        "on",
        "to",
        "in",
        "at",
        "is",
        "are",
        "what",
        "what's",
        "whats",
        "me",
        "my",
        "our",
        "us",
        "pls",
        "please",
        "thanks",
        "thx",
        "quick",
        "re",
        "about",
    ]
)
# A terse message naming a customer and one of these ("globex promise", "initech limit?") is always asked: the
# noun is as much the object of a change as of a question.
_ALWAYS_ASK_TERSE = _PROPOSING | {Intent.LIMIT_RECOMMEND, Intent.PROMISE_HISTORY}
# Other terse messages ("hooli disputes") are answered when the classifier is this sure; else the desk asks.
SURE_ENOUGH_FOR_TERSE = 0.75
# The words that ask for each change; a message without one of them ("stark 60k") proposes nothing unasked.
_ACTION_WORDS = {
    intent: re.compile(pattern, re.IGNORECASE)
    for intent, pattern in {
        Intent.LIMIT_PROPOSE: r"\b(?:increase|raise|bump|lift|up|upp?ed|reduce|decrease|lower|cut|drop"
        r"|set|change|adjust|propos\w*|extend|give|more|extra|take\s+\w+\s+down|down\s+to|top\s+up|boost|double|halve"
        r"|zero(?:ise|ize)?(?:\s+out)?|cap(?:ped)?\s+(?:it\s+|that\s+|them\s+|the\s+(?:limit|line)\s+)?at)\b|->|→"
        r"|\bnew\s+(?:credit\s+)?limit\b[^.?!]{0,60}?:\s*\S*\d",  # "New limit for Westport: 3.5m"
        Intent.PROMISE: r"\bpromis\w*|\bcommit\w*|\bptp\b|\bwill\s+(?:pay|send|settle|clear)|'ll\s+(?:pay|send|settle)"
        r"|\blog\s+(?:a\s+|another\s+)?(?:new\s+)?one\b"  # "ok log a new one - €4,000 by 4 Dec" after promises
        r"|\b(?:gets?|getting|(?:will|'ll)\s+(?:get|be)|is\s+(?:going\s+to\s+be|getting|to\s+be))\s+(?:paid|settled|cleared)\b"
        r"|\bgoing to (?:pay|send|settle)|\bagreed to (?:pay|settle|clear|wire|transfer|remit)"
        r"|\bpay(?:ing|ment)?\s+(?:by|on|next)\b"
        r"|\b(?:says?|said|told (?:us|me)|confirm\w*)\b[^.?!]{0,30}?\d[\d.,]*\s*[km]?\b[^.?!]{0,15}?"
        r"\b(?:by|on|before|next|this|tomorrow|eom|end|(?:mon|tue|wed|thu|fri)\w*)\b"  # "Globex says 50k by EOM"
        # "6.5k coming wednesday", "20k landing on friday": money on its way by a day
        r"|\d[\d.,]*\s*[km]?\s+(?:is\s+|will\s+be\s+)?(?:coming|arriving|landing|on\s+(?:its|the)\s+way|go(?:es|ing)\s+out"
        r"|(?:being\s+)?(?:wired|sent|paid))\b(?:\s+(?:in|through|over))?\s+(?:by|on|before|next|this|tomorrow|eom|end"
        r"|mon|tue|wed|thu|fri|sat|sun)",
        Intent.ORDER_HOLD: r"\bhold\b|\bblock\w*|\bstop\b|\bfreeze\b|\bpause\b",
        Intent.ORDER_RELEASE: r"\brelease\w*|\bunblock\w*|\blift\b|\blet\b.*\bthrough\b|\bfree\s+up\b",
        Intent.DUNNING_SEND: r"\bsend(?:ing)?\b|\bpropos\w*"
        # "email it to hooli" sends; "a friendly nudge email to hooli" is the letter (a draft)
        r"|\bqueue\b|\bfire\s+off\b|\bdispatch\b|\be-?mail\b(?!\s+(?:to|for)\b)|\bmail\b(?!\s+(?:to|for)\b)"
        r"|\bget\b.*\bout\b",
        Intent.DISPUTE_UPDATE: r"\bclose\b|\bresolv\w*|\bmark\b|\bset\b|\bchange\b|\breassign\w*|\bescalat\w*"
        r"|\baccept\w*|\breject\w*|\bupdate\w*|\bmove\b|\bshould\s+(?:be|read|say)\b|\bre-?code\w*",
        Intent.NOTE: r"\bnote\b|\blog\b|\brecord\b|\bjot\b|\bwrite\s+down\b|\badd\b",
        Intent.ASSIGN: r"\bassign\w*|\bmove\b|\bgive\b|\bhand\w*\s+over\b|\btake\s+over\b|\btransfer\w*"
        r"|\b(?:go|goes|put|sit)\s+(?:in|into|onto|on)\s+\w+'s\s+(?:book|list|portfolio|patch)\b",
    }.items()
}
# Without a word of the request's own (the rules), the classifier must be this sure to propose anything.
SURE_ENOUGH_TO_PROPOSE = 0.8


def _name_word_key(word: str) -> str:
    return word.strip(".,'\"").lower().removesuffix("'s")


def is_filler_run(words: str) -> bool:
    """Only common English words, legal forms and connectors: no customer's distinctive name ("track record")."""
    cleaned = [word.strip(".,'").lower().removesuffix("'s") for word in words.split()]
    return all(not word or word.isdigit() or is_common_word(word) or is_filler(word) for word in cleaned)
