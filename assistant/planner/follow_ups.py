"""Follow-ups: which earlier request a message continues, read from the thread's structured replies ("and for D?",
"the first one", "what about Globex?", "only EMEA", "and what did it look like last friday?", "put it forward at 90k"),
and when a long message is a request of its own."""

from __future__ import annotations

import re

from .comparisons import compared_date
from .context import REGION_ALIASES, list_call, match_staff, match_values, pending_candidates, vocabulary
from .dates import date_mentions
from .entities import DISPUTE_ID_RE, INVOICE_RE, ORDER_RE, Spans
from .intent_rules import ROOM_FOR_MORE_RE
from .intents import CUSTOMER_INTENTS, THRESHOLD, Intent, recognise
from .limit_change import terms_days
from .phrases import (
    _ABOUT_IT_RE,
    _CUSTOMER_READS,
    _HOLD_IT_RE,
    _JUST_TREND_RE,
    _LIST_THEM_RE,
    _NARROW_RE,
    _REFINE_RE,
    _RELEASE_IT_RE,
    _THEIR_RE,
    _WRITE_INTENTS,
    BOOK_WORDS_RE,
    BOTH_BOOKS_RE,
    CORRECTION_RE,
    DISPUTE_CHANGE_RE,
    FOLLOW_UP_RE,
    GO_AHEAD_RE,
    NEXT_PAGE_RE,
    ONLY_RE,
    ORDINAL_RE,
    PICK_RE,
    RANKED_CUE_RE,
    SAME_BUT_RE,
    SURE_ENOUGH_FOR_TERSE,
    WHY_RANKED_RE,
    WIDEN_RE,
    WRONG_CUSTOMER_RE,
)
from .portfolio_query import MIN_CHANGE_RE, ONLY_A_DATE_RE, REFERS_BACK_RE
from .reasons import ONLY_A_REASON_RE
from .turn_slots import row_picks
from .turn_writes import TurnWrites

# What a worklist follow-up at an earlier date may read as on its own ("what did it look like last friday?")
_SAME_LIST_READINGS = (Intent.UNKNOWN, Intent.PORTFOLIO, Intent.WORKLIST)
# "how does that compare with end of june?": a word that points at the answer before
_POINTS_BACK_RE = re.compile(r"\b(?:it|that|this|those|these)\b", re.I)
# What is to be done with an order picked from the user's own list
_HOLD_ONE_RE = re.compile(r"\b(?:hold|block|stop|freeze|park)\b", re.I)
# "check the second one for release", "can the 2nd be released?": whether it may go, not a request to release it
_CHECK_ONE_RE = re.compile(r"\bcheck\b|\b(?:can|could|would|will|is|are)\b.{0,30}\breleas|\bok\s+to\b", re.I)
_RELEASE_ONE_RE = re.compile(r"\b(?:release|unblock|unhold|free|let\s+(?:it|that)\s+go)\b", re.I)
# "how is that worked out?", "how did you get that?": the answer just given, explained
_HOW_WORKED_OUT_RE = re.compile(
    r"\bhow\s+(?:is|was|were|are)\s+(?:that|this|it|those)\s+(?:worked\s+out|calculated|computed|arrived\s+at|derived)\b"
    r"|\bhow\s+did\s+you\s+(?:get|arrive\s+at|come\s+up\s+with)\s+(?:that|this|it|there)\b",
    re.I,
)
# A part of the customer's figure just given ("how much of that is past due?")
_PART_OF_IT_RE = re.compile(
    r"\bhow\s+much\s+of\s+(?:that|it|this|the\s+(?:total|balance))\b"
    r"|\bof\s+(?:that|which)\b.{0,20}\b(?:overdue|past\s+due|late|disputed|current|not\s+yet\s+due)\b",
    re.I,
)
# "and 473?": another invoice of the series just looked up, by its last digits
# "what if it was 35k instead?", "how about 50k?", "and for 20k?": the same question for another amount
# A rule's words: "max open promises per customer", "minimum days", "how long can it run", "is it allowed"
_A_RULE_ASKED_RE = re.compile(
    r"\b(?:max(?:imum)?|min(?:imum)?|allowed|permitted|cap(?:ped)?|per\s+(?:customer|account|invoice)|how\s+long"
    r"|how\s+many\s+days|who\s+(?:approves|signs))\b",
    re.I,
)
_ANOTHER_AMOUNT_RE = re.compile(
    r"^\W*(?:(?:and|ok|so)\s+)?(?:what\s+if\s+(?:it\s+(?:was|were|is)|it'?s|we\s+(?:made|make)\s+it|the\s+order"
    r"\s+(?:was|were|is)|they\s+(?:order(?:ed)?|want(?:ed)?))|how\s+about|what\s+about|(?:and\s+)?(?:for|at|with)|or)\s+"
    r"(?:an?\s+)?(?:[A-Z]{3}\s?)?[$£€]?\s?\d[\d,.]*\s*(?:k|m|grand)?\b[^?]{0,25}\??\W*$",
    re.I,
)
_ANOTHER_NUMBER_RE = re.compile(r"^\W*(?:and|what\s+about|how\s+about|also)\s+#?\d{2,10}\W*$", re.I)
# What became of promises ("how many have they broken?", "and the kept ones?")
_REASONED_CHANGES = (Intent.LIMIT_PROPOSE, Intent.ORDER_HOLD, Intent.ORDER_RELEASE)
_SET_THE_REVIEW_RE = re.compile(
    r"^\W*(?:(?:ok|and|also|oh|plus|actually|sorry)\W+)*(?:(?:pls|please|can\s+you|could\s+you)\s+)?"
    r"(?:(?:set|put|make|add|schedule|change|move)\s+(?:the\s+|a\s+)?(?:next\s+)?review(?:\s+date)?\b"
    r"|(?:with\s+(?:a\s+)?)?review(?:\s+(?:it|date))?\s+(?:in|on|by|at|for|end|next)\b)",
    re.I,
)
PROMISE_OUTCOME_RE = re.compile(r"\b(?:broken|broke|break|kept|keep|missed|miss|honou?red|bounced)\b", re.I)
# Longer than this, a message after a customer answer is a request of its own, not a customer's name alone
_A_NAME_ALONE_WORDS = 6
# How sure the reading of a short follow-up that names no one must be to ask another question of the same customer
_ANOTHER_QUESTION = 0.5
# Payment terms named for a what-if ("45 day terms", "net 60")
_TERMS_WHAT_IF_RE = re.compile(
    r"\b\d{1,3}[\s-]*days?\s+terms\b|\bnet[\s-]*\d{1,3}\b|\bterms\s+of\s+\d"
    r"|\bterms?\s+(?:went|go(?:es)?|were|was|are|is|moved?|changed?)\s+(?:to\s+)?\d",
    re.I,
)
# After a limit recommendation: the user asks for it (or a figure of their own) as a proposal
_PROPOSE_IT_RE = re.compile(
    r"\bpropos(?:e|al)\b|\bsubmit\b|\bput\s+(?:that|it|this)\s+(?:forward|in|through|up)\b"
    r"|\bput\s+(?:in|through|forward)\s+(?:for\s+)?[$£€]?\d"  # "ok put in 15k for them"
    r"|\b(?:go|going)\s+(?:with|for)\s+(?:that|it|this|(?:an?\s+)?[+$£€]?\d)"
    r"|\b(?:make|set)\s+(?:it|that)\s+(?:at|to)?\s*[$£€]?\d"
    r"|\b(?:cap|limit)\s+(?:it|that|them)\s+at\s+[$£€]?\d",  # "go with roughly that but cap it at 95k"
    re.IGNORECASE,
)
# After a draft: "get that out to them", "fire it off", "send the notice": the drafted letter is to be sent
_SEND_IT_RE = re.compile(
    r"\b(?:send|get|fire|shoot|push|pop)\s+(?:it|that|this|the\s+(?:letter|reminder|notice|e-?mail|draft|chaser))?"
    r"\s*(?:out|off|over)\b|\bsend\s+(?:it|that|this|the\s+(?:letter|reminder|notice|e-?mail|draft|chaser))\b"
    r"|\be-?mail\s+(?:it|that|this)\b",
    re.IGNORECASE,
)
# "and the limit?" after a score: the limit they have or the one they should have, never the score again
_THE_LIMIT_ALONE_RE = re.compile(r"\b(?:the|their|its|her|his)\s+(?:credit\s+)?(?:limit|line)\W*$", re.I)


def the_limit_alone(text: str, previous: str | None) -> bool:
    """ "what about the limit?" after a customer's score: the limit they have, or the one they should have."""
    return (
        previous in _CUSTOMER_READS
        and previous not in (Intent.LIMIT_RECOMMEND, Intent.EXPOSURE)  # the standing shows the limit it has
        and _THE_LIMIT_ALONE_RE.search(text) is not None
        and len(text.split()) <= 5
    )


_SUMMARISE_IT_RE = re.compile(
    r"^\W*(?:(?:ok|so|pls|please|can\s+you|could\s+you)\W+)*(?:summari[sz]e|brief\s+me\s+on|walk\s+me\s+through)"
    r"\s+(?:it|that|this|them)\b",
    re.I,
)
# "what if they went to 45 day terms", "and on net 60?" (a what-if), not "change their terms to net 60" (a change)
HYPOTHETICAL_RE = re.compile(r"\bif\b|\bsuppos\w*|\bassum\w*|\bwould\b|\bcould\b|^\W*(?:and|what about)\b", re.I)

# A message that opens with a request verb asks for that, whatever the thread was about.
_OWN_VERB_RE = re.compile(
    r"^\W*(?:(?:ok|okay|so|right|then|now|pls|please)\W+)*"
    r"(?:draft|write|prepare|compose|score|rescore|recommend|summari[sz]e)\b",
    re.IGNORECASE,
)


class TurnFollowUps(TurnWrites):
    """The follow-up readings of a turn; the planner's turn builds on it."""

    # Set when the words can only point back into the thread (a row of the list just shown, "that" compared with an
    # earlier date): the follow-up holds even when the classifier reads the message confidently as something else.
    points_back = False

    def for_another_customer(self) -> Intent | None:
        """ "sorry, wrong one - i meant coral leaf wholesale" right after a proposal: the same proposal, for them."""
        last = self.history[-1] if self.history else None
        if last is None or last.intent not in (Intent.LIMIT_PROPOSE, Intent.PROMISE) or not last.proposals:
            return None
        # a name that is part of a longer one ("coral leaf" of "coral leaf wholesale") is resolved when used
        named = any(status != "not_found" for _, status in self.name_statuses())
        if WRONG_CUSTOMER_RE.search(self.text) and not re.search(r"\d", self.text) and named:
            return Intent(last.intent)
        return None

    def follow_up(self, previous: str, recognised: Intent) -> Intent | None:
        text = self.text
        if (
            recognised in CUSTOMER_INTENTS
            and recognised not in _WRITE_INTENTS
            and ORDINAL_RE.search(text)
            and not PICK_RE.match(text)
            and list_call(self.history) is not None
            and not self.names_a_customer()
        ):
            self.points_back = True
            return recognised  # "the third one - what do they owe" after a worklist: that account's figures
        if (
            previous == Intent.SCORE
            and _POINTS_BACK_RE.search(text)
            and not self.names_a_customer()
            and not BOOK_WORDS_RE.search(text)
            and compared_date(text, self.today, Spans()) is not None
        ):
            self.points_back = True
            return Intent.SCORE  # "how does that compare with last quarter?" after a customer's score
        if self.number_picked("orders") is not None:
            # "hold the second one" after the user listed three orders: that order, for what the words ask
            if _HOLD_ONE_RE.search(text):
                return Intent.ORDER_HOLD
            if _RELEASE_ONE_RE.search(text) and not _CHECK_ONE_RE.search(text):
                return Intent.ORDER_RELEASE
            return Intent.RELEASE_CHECK
        if self.number_picked("invoices") is not None:
            return Intent.INVOICE
        if previous == Intent.WORKLIST and (
            NEXT_PAGE_RE.match(text) or MIN_CHANGE_RE.match(text) or BOTH_BOOKS_RE.search(text)
        ):
            return Intent.WORKLIST
        narrowed = ONLY_RE.match(text) or SAME_BUT_RE.match(text)
        if previous == Intent.WORKLIST and narrowed and not self.names_a_customer():
            return Intent.WORKLIST  # "same but only D risk", "just the EMEA ones" after a worklist: narrowed
        if previous == Intent.WORKLIST and WHY_RANKED_RE.search(text) and ORDINAL_RE.search(text):
            return Intent.WORKLIST  # "why is the first one on top?": that row's ranking, factor by factor
        if previous == Intent.WORKLIST and WHY_RANKED_RE.search(text) and RANKED_CUE_RE.search(text):
            return Intent.WORKLIST  # "why's falconwick ranked above acme corp?": those rows' rankings
        if (
            previous == Intent.POLICY
            and FOLLOW_UP_RE.match(text)
            and recognised in (Intent.UNKNOWN, Intent.POLICY)
            and len(text.split()) <= _A_NAME_ALONE_WORDS
            and not self.names_a_customer()
        ):
            return Intent.POLICY  # "and for D?" after how often E-class limits are reviewed
        if (
            previous == Intent.POLICY
            and FOLLOW_UP_RE.match(text)
            and _A_RULE_ASKED_RE.search(text)
            and not BOOK_WORDS_RE.search(text)
            and not self.names_a_customer()
        ):
            return Intent.POLICY  # "and max open promises per customer?" after a promise rule: the next rule
        if (
            previous in (Intent.EXPOSURE, Intent.STATUS)
            and _PART_OF_IT_RE.search(text)
            and not BOOK_WORDS_RE.search(text)
            and not self.names_a_customer()
        ):
            self.points_back = True
            return Intent.EXPOSURE  # "how much of that is past due?" after what a customer owes
        if previous == Intent.RELEASE_CHECK and _ANOTHER_AMOUNT_RE.match(text) and not self.names_a_customer():
            return Intent.RELEASE_CHECK  # "what if it was 35k instead?" after an order's check: that order at 35k
        if previous in _CUSTOMER_READS and ROOM_FOR_MORE_RE.search(text) and not self.names_a_customer():
            return Intent.RELEASE_CHECK  # "room for another 50k€?" after a customer's standing: that order, checked
        if previous in _CUSTOMER_READS and _HOW_WORKED_OUT_RE.search(text) and not self.names_a_customer():
            self.points_back = True
            return Intent(previous)  # "how is that worked out?" after a score: that answer again, with its reasons
        if (
            previous == Intent.POLICY
            and _THEIR_RE.search(text)
            and not self.names_a_customer()
            and not any(c.arguments.get("customer") for r in self.history for c in r.tool_calls)
        ):
            return Intent.POLICY  # "what's the max limit for them?" after how often C-class limits are reviewed
        corrects = CORRECTION_RE.search(text) and re.search(r"\d", text) and not self.names_a_customer()
        if previous in (Intent.LIMIT_PROPOSE, Intent.PROMISE) and corrects:
            return Intent(previous)  # "actually make that 10k", "she said the 28th not the 30th": that one, corrected
        if previous == Intent.LIMIT_PROPOSE and _SET_THE_REVIEW_RE.match(text) and not self.names_a_customer():
            return Intent.LIMIT_PROPOSE  # "and set the review for end of march": the same change, reviewed then
        if previous in _REASONED_CHANGES and ONLY_A_REASON_RE.match(text) and not self.names_a_customer():
            return Intent(previous)  # "reason: customer paid the overdue invoice" right after the proposal: with it
        go = GO_AHEAD_RE.match(text)
        if go and previous == Intent.LIMIT_RECOMMEND and recognised in (Intent.UNKNOWN, Intent.LIMIT_PROPOSE):
            return Intent.LIMIT_PROPOSE
        if (
            previous == Intent.INVOICE
            and FOLLOW_UP_RE.match(text)
            and re.search(r"(?<![\w-])(?:0\d{3,9}|\d{10})\b", text)
        ) or (previous == Intent.INVOICE and _ANOTHER_NUMBER_RE.match(text)):
            return Intent.INVOICE  # "what about 0000907?" after INV-2026-0000905, "and 473?" after INV-…-0000472
        if (
            previous == Intent.INVOICE
            and not INVOICE_RE.search(text)
            and (_ABOUT_IT_RE.search(text) or (self.asks_again_earlier() and recognised in _SAME_LIST_READINGS))
        ):
            return Intent.INVOICE  # "what was it at end of june?", "and as at end of oct?" after an invoice lookup
        if previous in _CUSTOMER_READS and _SUMMARISE_IT_RE.match(text):
            return Intent(previous)  # "summarise it for me" after "timberdale has a dispute open right?"
        if (
            previous == Intent.PROMISE_HISTORY
            and PROMISE_OUTCOME_RE.search(text)
            and recognised in (Intent.UNKNOWN, Intent.PORTFOLIO, Intent.PROMISE_HISTORY)
            and not BOOK_WORDS_RE.search(text)
            and not self.names_a_customer()
        ):
            return Intent.PROMISE_HISTORY  # "how many have they broken?" after a customer's promise history
        if previous == Intent.PAYMENT_BEHAVIOUR and _JUST_TREND_RE.match(text):
            return Intent.PAYMENT_BEHAVIOUR  # "just the monthly trend" after a customer's payment behaviour
        if self.terms_what_if(previous) and recognised in (Intent.UNKNOWN, Intent.LIMIT_RECOMMEND, Intent.PORTFOLIO):
            return Intent.LIMIT_RECOMMEND  # "what if they went to 45 day terms" after a recommendation
        if previous == Intent.LIMIT_RECOMMEND and _PROPOSE_IT_RE.search(text):
            # "fine, put in a proposal for 400k", "ok put that forward at 90k" after a recommendation
            return Intent.LIMIT_PROPOSE
        if (
            previous == Intent.DUNNING_DRAFT
            and not self.names_a_customer()
            and ((go and re.search(r"\bsend\b", text, re.IGNORECASE)) or _SEND_IT_RE.search(text))
        ):
            return Intent.DUNNING_SEND
        if previous == Intent.DISPUTE and DISPUTE_CHANGE_RE.search(text) and not DISPUTE_ID_RE.search(text):
            return Intent.DISPUTE_UPDATE  # "set it to resolved", "reassign it to cleo" after a dispute summary
        if previous == Intent.PORTFOLIO and (
            _LIST_THEM_RE.match(text)
            or _REFINE_RE.match(text)
            or SAME_BUT_RE.match(text)
            or _NARROW_RE.match(text)
            or ((ONLY_RE.match(text) or REFERS_BACK_RE.search(text)) and not self.names_a_customer())
        ):
            # "list them" after "how many customers are over their limit?", "split it by …", "same but for EMEA",
            # "only the ones in APAC"
            return Intent.PORTFOLIO
        if previous == Intent.DISPUTE and INVOICE_RE.search(text) and FOLLOW_UP_RE.match(text):
            return Intent.DISPUTE  # "and the one on INV-…?" after a customer's disputes
        if previous == Intent.WORKLIST and (
            _NARROW_RE.match(text)
            or (
                (ONLY_RE.match(text) or FOLLOW_UP_RE.match(text) or SAME_BUT_RE.match(text))
                and match_values(text, vocabulary(self.request.database_url).regions, REGION_ALIASES, Spans())
            )
        ):
            return Intent.WORKLIST  # "only the ones over 50k", "only EMEA", "same for APAC" after a worklist
        if (
            previous == Intent.WORKLIST
            and FOLLOW_UP_RE.match(text)
            and match_staff(text, vocabulary(self.request.database_url), Spans(), roles=frozenset({"collector"}))
            and not self.names_a_customer()
        ):
            return Intent.WORKLIST  # "now do cameron's" after cleo's call list: another collector's list
        if previous in (Intent.WORKLIST, Intent.PORTFOLIO) and WIDEN_RE.match(text) and not self.names_a_customer():
            return Intent(previous)  # "add class D too" after a worklist of class E
        if previous == Intent.WORKLIST and self.asks_again_earlier() and recognised in _SAME_LIST_READINGS:
            return Intent.WORKLIST  # "and what did it look like last friday?" after a worklist
        if previous == Intent.PENDING_APPROVALS and (
            _NARROW_RE.match(text)
            or ONLY_RE.match(text)
            or (FOLLOW_UP_RE.match(text) and match_staff(text, vocabulary(self.request.database_url), Spans()))
        ):
            return Intent.PENDING_APPROVALS  # "just the limit ones", "and from ash?" after the pending approvals
        order_change = _RELEASE_IT_RE.search(text) or _HOLD_IT_RE.search(text)
        if (
            previous in _CUSTOMER_READS
            and not ORDER_RE.search(text)
            and order_change
            and (not self.names_a_customer() or self.names_the_thread_customer())
        ):
            # "pls request a release on it" after "anything on hold for deepcore?"; "request a release then,
            # crystal land wired the money" after a check of crystal land's order
            return Intent.ORDER_RELEASE if _RELEASE_IT_RE.search(text) else Intent.ORDER_HOLD
        if (
            previous in _CUSTOMER_READS
            and not ORDER_RE.search(text)
            and not INVOICE_RE.search(text)  # "and pull up INV-…, the big one": that invoice
            and FOLLOW_UP_RE.match(text)
            and recognised in (Intent.UNKNOWN, Intent.PORTFOLIO, Intent(previous))
            and not BOOK_WORDS_RE.search(text)
            and not self.names_a_customer()
            and not self.words_ask_another_customer_question(previous)
            and not self.reads_clearly_as_another_customer_request(previous)  # "what about the limit?"
            and not (previous != Intent.LIMIT_RECOMMEND and _THE_LIMIT_ALONE_RE.search(text))
        ):
            return Intent(previous)  # "and the trend by quarter?" after a customer's payment behaviour
        if recognised is Intent.UNKNOWN and (pending_candidates(self.history) and PICK_RE.match(text)):
            return Intent(previous)
        if recognised is Intent.UNKNOWN and PICK_RE.match(text) and list_call(self.history) is not None:
            # "the first one" after a worklist or top exposures: that account; after a customer answer: the same
            # kind of answer for the picked customer
            if previous in {i.value for i in CUSTOMER_INTENTS} and previous not in _WRITE_INTENTS:
                return Intent(previous)
            return Intent.EXPOSURE
        if (
            recognised is Intent.UNKNOWN
            and previous in {i.value for i in CUSTOMER_INTENTS | {Intent.PORTFOLIO}}
            and not INVOICE_RE.search(text)  # "when did sagewater actually pay INV-…": that invoice, asked of its own
            and (
                FOLLOW_UP_RE.match(text)
                or len(text.split()) <= _A_NAME_ALONE_WORDS
                or _POINTS_BACK_RE.search(text)
                or _THEIR_RE.search(text)
            )
        ):
            # "what about Globex?", "and Initech?", "Acme Europe" (answering "which one?"); never a request of its
            # own ("ok log a new one then: 4,860.26 on the 30th, Susan Patel")
            if previous == Intent.PORTFOLIO:
                return Intent.PORTFOLIO if FOLLOW_UP_RE.match(text) else None
            if previous in _WRITE_INTENTS:
                return None  # never repeat a write because a name was typed
            if _OWN_VERB_RE.match(text):
                return None  # "draft them a firm one then" after their payment behaviour: a request of its own
            if self.reads_clearly_as_another_customer_request(previous):
                return None  # "ok so what limit does that support?" after a score: the limit, for that customer
            if previous != Intent.LIMIT_RECOMMEND and _THE_LIMIT_ALONE_RE.search(text):
                return None
            return Intent(previous)
        return None

    def names_the_thread_customer(self) -> bool:
        """The customer the message names is the one the answer just given was about."""
        calls = self.history[-1].tool_calls if self.history else []
        call = next((c for c in reversed(calls) if c.name != "resolve_customer" and c.arguments.get("customer")), None)
        return call is not None and self.names_the_customer_of(call)

    def words_ask_another_customer_question(self, previous: str) -> bool:
        """ "and what's their total exposure today?" after a score: the words name another of the customer's
        figures, so the same customer, another answer."""
        return any(
            intent in CUSTOMER_INTENTS and intent.value != previous and score >= THRESHOLD
            for intent, score in recognise(self.text).scores.items()
        )

    def reads_clearly_as_another_customer_request(self, previous: str) -> bool:
        understood = self.understood
        return (
            understood is not None
            and understood.intent in CUSTOMER_INTENTS
            and understood.intent.value != previous
            # "any promises?" after an exposure names nobody else: another question about the same customer
            and understood.score >= (_ANOTHER_QUESTION if not self.names_something() else SURE_ENOUGH_FOR_TERSE)
        )

    def terms_what_if(self, previous: str | None) -> bool:
        """ "what if terms were 45 or 90 days?" right after a limit recommendation: the same one on those terms."""
        return (
            previous == Intent.LIMIT_RECOMMEND
            and (_TERMS_WHAT_IF_RE.search(self.text) is not None or bool(terms_days(self.text, Spans())))
            and HYPOTHETICAL_RE.search(self.text) is not None
            and not self.names_a_customer()
        )

    def asks_again_earlier(self) -> bool:
        """ "and what did it look like last friday?", "what about end of october?": the same request at an earlier
        date, with no customer named."""
        if (
            not (FOLLOW_UP_RE.match(self.text) or _ABOUT_IT_RE.search(self.text) or ONLY_A_DATE_RE.match(self.text))
            or self.names_a_customer()
        ):
            return False
        picks = Spans()
        if list_call(self.history) is not None:
            for start, end in row_picks(self.text):  # "call the 2nd" after a list: a row, not the 2nd of the month
                picks.add(start, end)
        return any(m.problem is None and m.day < self.today for m in date_mentions(self.text, self.today, picks))
