"""A turn of the offline planner: what is asked (the rules, the classifier, the thread), then the capability that
answers it. Writes only ever create proposals (the registry's write tools); approvals are never made here."""

from __future__ import annotations

import re

from assistant.planner.semantic import PLACEHOLDER, mask_names, name_words_to_mask
from assistant.planner.understand import CERTAIN_RULES, MARGIN, SAME_ANSWER, understand
from db.models import Role

from .asking import TurnAsking
from .context import (
    REGION_ALIASES,
    SEGMENT_ALIASES,
    last_customer,
    last_intent,
    match_values,
    missed_a_customer,
    vocabulary,
)
from .decision_forms import (
    _AMOUNT_BESIDE_A_NAME,
    _AN_ORDER_RE,
    _ASKS_SOMETHING_OF_A_LIMIT_RE,
    _ASKS_THE_POLICY_RE,
    _BARE_ON_HOLD_RE,
    _DECIDE_THE_CLAIM_RE,
    _LINE_OPINION_RE,
    _LINE_READINGS,
    _LOOK_UP_CUE_RE,
    _NOT_A_DUNNING_LETTER_RE,
    _POLICY_ONLY_RE,
    _RESCORE_RE,
    _RULE_QUESTION_RE,
    _TERMS_CHANGE_RE,
    _TERSE_LIMIT_RE,
    _THE_LIST_ITSELF_RE,
    _WHAT_THE_AMOUNT_IS_RE,
    _WHAT_WOULD_IT_TAKE_RE,
    _WRITE_THEM_A_LETTER_RE,
    ASKED_WHY_RE,
    ASKS_THE_STANDING_RE,
    BOOK_FIGURE_RE,
    IS_IT_SAFE_RE,
    LAST_PAYMENT_RE,
    LOOK_FIRST_RE,
    LOOK_INTO_RE,
    MORE_THAN_ITS_DISPUTES_RE,
    PAYMENT_MADE_RE,
    POLICY_CUE_RE,
    WRITE_TO_THEM_RE,
    asks_the_method,
    asks_whether_orders_ship,
    decided_by_the_form,
    rerouted_by_the_words,
    the_question_asked,
)
from .entities import (
    BARE_INVOICE_RE,
    CUSTOMER_ID_RE,
    EXTERNAL_ID_RE,
    INVOICE_RE,
    ORDER_RE,
    TOP_N_RE,
    Spans,
    money_mentions,
)
from .follow_ups import HYPOTHETICAL_RE, PROMISE_OUTCOME_RE, the_limit_alone
from .intent_rules import HOW_THEY_PAY_RE, WHAT_TO_SAY_RE
from .intent_rules_promises import PAID_ON_A_DAY_RE
from .intents import CUSTOMER_INTENTS, EITHER_WAY_RE, THRESHOLD, Intent, recognise
from .out_of_scope import (
    BANK_DETAILS_RE,
    BYPASS_RE,
    CASH_FORECAST_RE,
    FX_FORECAST_RE,
    INVENTORY_RE,
    NEVER_DONE_RE,
    OFF_TOPIC_RE,
    UNTRACKED_FIGURE_RE,
)
from .phrases import (
    _ACTION_WORDS,
    _ALWAYS_ASK_TERSE,
    _ASKS_FOR_RELEASE_RE,
    _CUSTOMER_READS,
    _JUST_TREND_RE,
    _MANY_RE,
    _MY_RE,
    _NARROW_RE,
    _ORDER_CHANGES,
    _PROPOSING,
    _READ_COUNTERPART,
    _REFINE_RE,
    _REVIEW_DUE_RE,
    _THEIR_RE,
    _WRITE_COUNTERPART,
    APPROVAL_QUESTION_SCORE,
    BOOK_QUANTITY_RE,
    BOOK_READING,
    BOOK_WORDS_RE,
    FOLLOW_UP_RE,
    FOLLOW_UP_SCORE,
    GO_AHEAD_RE,
    NEXT_PAGE_RE,
    ON_ITS_OWN_RE,
    OUT_OF_SCOPE_SURE,
    PICK_RE,
    PLAUSIBLE,
    STATUS_CHANGE_RE,
    SURE_ENOUGH_FOR_TERSE,
    SURE_ENOUGH_TO_PROPOSE,
)
from .portfolio_query import (
    measure_unnamed,
    names_a_measure,
    rank_measure,
)
from .reasons import instruction_alone
from .turn_state import Stop

_WAS_IT_DISPUTED_RE = re.compile(
    r"\b(?:was|is|were|has|had)\b[^?]{0,60}\bdisputed\b|\bdisput(?:ed|ing)\s+or\b", re.IGNORECASE
)  # "INV-… - disputed or ok to chase?", "is that the one they are disputing?"
_THEIR_GROUP_RE = re.compile(r"\b(?:their|its)\s+(?:whole\s+|entire\s+|wider\s+)?group\b", re.IGNORECASE)
_NOT_A_READ_OF_ITS_OWN = (Intent.FIND_CUSTOMER, Intent.OUT_OF_SCOPE, Intent.UNKNOWN)
_AN_INVOICES_READINGS = frozenset({Intent.INVOICE, Intent.PAYMENT_BEHAVIOUR, Intent.PROMISE_HISTORY, Intent.EXPOSURE})
_WHOSE_RE = re.compile(r"\b(?:whose|which|who|list)\b", re.IGNORECASE)
# "what was it at end of last month?" after a customer's figures: that answer, for that customer
_IT_RE = re.compile(r"\bit\b|\bof\s+that\b", re.IGNORECASE)  # "how much of that is past due?"


class Turn(TurnAsking):
    """A turn: what is asked (rules, the classifier, the thread), then the capability that answers it."""

    # --- the turn ------------------------------------------------------------------------------------------------

    def run(self) -> tuple[Intent, str, str | None]:
        intent = Intent.UNKNOWN
        try:
            each = self.each_customer_offered()
            if each is not None:
                return each
            intent = the_question_asked(self.text, self.intent())
            if intent is Intent.PORTFOLIO and self.request.actor.role == Role.SALES and self.names_something():
                intent = Intent.EXPOSURE  # sales never see the book; a customer named asks for its standing
            return intent, self.dispatch(intent), None
        except Stop as stop:
            return intent, stop.text, stop.error

    def without_names(self) -> str:
        """The text with the words of customers' names it holds masked ("how much is Dubois Provisions overdue")."""
        return mask_names(self.text, name_words_to_mask(self.text, self.name_word_stats))

    def intent(self) -> Intent:
        picked = self.picked_choice() or self.for_another_customer()
        if picked is not None:
            return picked
        if _RULE_QUESTION_RE.search(self.text) or (
            asks_the_method(self.text, bool(self.history), last_customer(self.history) is not None)
            and not self.names_a_customer()
        ):
            return Intent.POLICY  # "how long can a promise from globex be?": the rule, whoever is named
        if (
            NEVER_DONE_RE.match(self.text)
            or INVENTORY_RE.search(self.text)
            or BYPASS_RE.search(self.text)
            or FX_FORECAST_RE.search(self.text)
            or CASH_FORECAST_RE.search(self.text)
            or BANK_DETAILS_RE.search(self.text)
            or PAYMENT_MADE_RE.search(self.text)
            or (
                UNTRACKED_FIGURE_RE.search(self.text)
                and not _ASKS_THE_POLICY_RE.search(self.text)
                and UNTRACKED_FIGURE_RE.search(self.without_names())
            )  # not "Dubois Provisions"
            or (_TERMS_CHANGE_RE.search(self.text) and not HYPOTHETICAL_RE.search(self.text))
            or (STATUS_CHANGE_RE.search(self.text) and not _AN_ORDER_RE.search(self.text))
            or (
                # "when does payroll run?"; but "… before lunch" beside a clear credit request is only the context
                OFF_TOPIC_RE.search(self.text)
                and not self.names_a_customer()
                and recognise(self.text).score < 2 * THRESHOLD
            )
        ):
            return Intent.OUT_OF_SCOPE  # "delete all the test customers", "refund hooli 5k": nothing here does that
        spelled = self.customer_codes_masked(instruction_alone(self.spelled_out()))
        names = name_words_to_mask(spelled, self.name_word_stats)
        understood = self.understood = understand(spelled, names)
        recognised = understood.recognised
        assert recognised is not None
        intent = understood.intent
        previous = last_intent(self.history)
        if (
            self.history
            and self.history[-1].intent == Intent.DISPUTE
            and not self.history[-1].proposals
            and _DECIDE_THE_CLAIM_RE.match(self.text)
        ):
            return Intent.DISPUTE_UPDATE  # "reject it - not backed by the report" after a dispute's brief: the claim
        if (
            intent in (Intent.OUT_OF_SCOPE, Intent.PORTFOLIO, Intent.WORKLIST, Intent.UNKNOWN)
            and LOOK_INTO_RE.search(self.text)
            and self.names_a_customer()
        ):
            return Intent.EXPOSURE  # "drill into carter & wong for me", after a ranking too: the customer's standing
        if recognised.intent == Intent.POLICY and self.terms_what_if(previous):
            return Intent.LIMIT_RECOMMEND  # "what if terms were 45 or 90 days?" after a recommendation: not the rule
        if previous and recognised.score < 6 and recognised.intent not in (Intent.HELP, Intent.APPROVE, Intent.POLICY):
            follow = self.follow_up(previous, recognised.intent)
            # A follow-up form ("propose it", "the first one", "what about Globex?") binds to the thread, unless
            # the message reads confidently as another request ("how fast do they pay?" after an exposure)
            if follow is not None and (
                follow == intent
                or self.points_back
                or understood.score < FOLLOW_UP_SCORE
                or any(p.match(self.text) for p in (GO_AHEAD_RE, PICK_RE, NEXT_PAGE_RE))
                or (follow in _ORDER_CHANGES and previous in _CUSTOMER_READS)
                or (previous == Intent.PORTFOLIO and _REFINE_RE.match(self.text) is not None)
                or (
                    previous in (Intent.WORKLIST, Intent.PENDING_APPROVALS, Intent.PORTFOLIO)
                    and _NARROW_RE.match(self.text) is not None
                )
                or (previous == Intent.DISPUTE and follow in (Intent.DISPUTE, Intent.DISPUTE_UPDATE))
                or (previous == follow == Intent.WORKLIST)
                or (previous == follow == Intent.PROMISE_HISTORY and PROMISE_OUTCOME_RE.search(self.text) is not None)
                or (previous == Intent.PAYMENT_BEHAVIOUR and _JUST_TREND_RE.match(self.text) is not None)
                or (
                    FOLLOW_UP_RE.match(self.text)
                    and follow == Intent(previous)
                    and intent in (Intent.UNKNOWN, Intent.PORTFOLIO, follow)
                )
            ):
                return follow
        if intent is Intent.UNKNOWN and not self.text.strip(" ?!."):
            return Intent.HELP
        if intent in _NOT_A_READ_OF_ITS_OWN and ON_ITS_OWN_RE.search(self.text) and self.names_something():
            return Intent.EXPOSURE  # "newford on its own, without the subsidiaries": its figures, not its ids
        if _RESCORE_RE.search(self.text) and self.names_a_customer():
            return Intent.SCORE  # "rescore Acme Corporation please"
        if (
            intent in (Intent.PROMISE_HISTORY, Intent.PAYMENT_BEHAVIOUR, Intent.OUT_OF_SCOPE, Intent.UNKNOWN)
            and LAST_PAYMENT_RE.search(self.text)
            and not INVOICE_RE.search(self.text)  # "when did sagewater pay INV-…": that invoice
            and self.names_a_customer()
        ):
            return Intent.EXPOSURE  # "when did swiftridge last pay us?": the exposure states the last payment
        if intent is Intent.OUT_OF_SCOPE and WHAT_TO_SAY_RE.search(self.text) and self.names_a_customer():
            return Intent.DUNNING_DRAFT  # "what should I say to falconley": the words for that customer
        if intent is Intent.INVOICE and WRITE_TO_THEM_RE.match(self.text) and self.names_a_customer():
            return Intent.DUNNING_DRAFT  # "write to riverline about INV-…": the letter, not the invoice's details
        if (
            intent in (Intent.FIND_CUSTOMER, Intent.PORTFOLIO)
            and (INVOICE_RE.search(self.text) or BARE_INVOICE_RE.search(self.text))
            and not self.names_a_customer()
        ):
            return Intent.INVOICE  # "look up 0380292674 in the IBM set": an invoice's number, no customer's name
        if intent is Intent.PAYMENT_BEHAVIOUR and INVOICE_RE.search(self.text):
            return Intent.INVOICE  # "did acme pay INV-2025-0000016 on time?": that invoice, paid when
        if (
            intent in (Intent.DISPUTE, Intent.PORTFOLIO)
            and self.names_an_invoice()
            and _WAS_IT_DISPUTED_RE.search(self.text)
        ):
            return Intent.INVOICE  # "was invoice 0781909762 disputed as at 31 August 2013?": the invoice says so
        if intent is Intent.INVOICE and PAID_ON_A_DAY_RE.search(self.text):
            return Intent.PROMISE  # "INV-… gets paid in full next monday": a payment to come, told about an invoice
        if intent is Intent.PROMISE_HISTORY and HOW_THEY_PAY_RE.search(self.text):
            return Intent.PAYMENT_BEHAVIOUR  # "how did globex pay during 2025?": how it paid, no promise named
        if (
            intent is Intent.OUT_OF_SCOPE
            and _WRITE_THEM_A_LETTER_RE.search(self.text)
            and not _NOT_A_DUNNING_LETTER_RE.search(self.text)
            and (self.names_a_customer() or (_THEIR_RE.search(self.text) and last_customer(self.history)))
        ):
            return Intent.DUNNING_DRAFT  # "write them a firm letter" after a customer's overdue items
        if (
            intent in (Intent.PORTFOLIO, Intent.EXPOSURE)
            and _POLICY_ONLY_RE.search(self.text)
            and recognised.scores.get(Intent.POLICY, 0) >= THRESHOLD
            and not self.names_a_customer()
        ):
            return Intent.POLICY  # "provisioning percentage for debts over 120 days": the book holds no such figure
        terse_limit = _TERSE_LIMIT_RE.search(self.text) and not _ASKS_SOMETHING_OF_A_LIMIT_RE.search(self.text)
        alone = the_limit_alone(self.text, previous)
        if (
            (terse_limit or alone or _LINE_OPINION_RE.search(self.text))
            and intent in _LINE_READINGS
            and (alone or self.names_a_customer())
        ):
            # "vandelay's line - what are we looking at?": where it stands, or what it should be
            decided = self.ask_between([Intent.EXPOSURE, Intent.LIMIT_RECOMMEND])
            if decided is not None:
                return decided
        if (
            intent is Intent.STATUS
            and dict(understood.readings).get(Intent.RELEASE_CHECK, 0) >= PLAUSIBLE
            and any(not mention.error for mention in money_mentions(self.text, Spans()))
        ):
            return Intent.RELEASE_CHECK  # "globex wants another 15k of product, are they blocked?": that order
        if intent is Intent.OUT_OF_SCOPE and len(understood.readings) > 1:
            # An order, an invoice or a customer of the book named: most likely a credit request the examples
            # don't cover, so the next reading, when it is plausible at all
            second, second_score = understood.readings[1]
            if (
                understood.score < OUT_OF_SCOPE_SURE
                and second_score >= PLAUSIBLE
                and (
                    ORDER_RE.search(self.text)
                    or INVOICE_RE.search(self.text)
                    or CUSTOMER_ID_RE.search(self.text)
                    or any(status != "not_found" or c.name_like for c, status in self.name_statuses())
                    or (second is Intent.PORTFOLIO and self.names_a_place())
                )
            ):
                intent = second
        if (
            intent is Intent.PORTFOLIO
            and (Intent.EXPOSURE in recognised.scores or dict(understood.readings).get(Intent.EXPOSURE, 0) >= PLAUSIBLE)
            and (self.customer_group() or self.names_a_customer() or self.an_account_named_by_a_word())
        ):
            # "total exposure of the Acme group", "what's our exposure to initech": one customer, not the book;
            # "the city account — exposure?": a customer, asked which
            return Intent.EXPOSURE
        if (
            intent is Intent.PORTFOLIO
            and not BOOK_WORDS_RE.search(self.text)
            and not _MANY_RE.search(self.text)
            and self.names_a_customer()
        ):
            # "how did 6833-ETVHD's lateness trend through 2013": one customer's figures, when the classifier
            # finds a customer's question plausible
            customer_reads = [r for r, score in understood.readings[1:] if r in CUSTOMER_INTENTS and score >= PLAUSIBLE]
            if customer_reads:
                return customer_reads[0]
        if intent is Intent.PORTFOLIO and (CUSTOMER_ID_RE.search(self.text) or EXTERNAL_ID_RE.search(self.text)):
            return Intent.EXPOSURE  # "AR for C000008 as of yesterday"
        if (
            intent is Intent.PORTFOLIO
            and (
                _THEIR_RE.search(self.text)
                or (_IT_RE.search(self.text) and previous in _CUSTOMER_READS)
                or (previous in _CUSTOMER_READS and self.a_bare_figure())  # "total exposure?" after their promises
            )
            and not BOOK_WORDS_RE.search(self.text)
            and not _MANY_RE.search(self.text)
            and (last_customer(self.history) is not None or (self.history and missed_a_customer(self.history[-1])))
            and not self.names_something()
        ):
            # "what was their exposure at the end of last month?" after a customer's score, "what was it at end of
            # last month?" after a customer's exposure: that customer's figures
            customer_reads = [r for r, score in understood.readings[1:] if r in CUSTOMER_INTENTS and score >= PLAUSIBLE]
            return customer_reads[0] if customer_reads else Intent.EXPOSURE
        if intent is Intent.PORTFOLIO and _THEIR_GROUP_RE.search(self.text) and last_customer(self.history):
            return Intent.EXPOSURE  # "what's our exposure across their whole group" after a customer's score
        if intent is Intent.PORTFOLIO and self.points_at_no_one():
            return Intent.EXPOSURE  # "can you check on them", "the overdue one" with nothing before: asks who
        if (
            intent is Intent.PORTFOLIO
            and recognised.intent is Intent.WORKLIST
            and TOP_N_RE.search(self.text)
            and rank_measure(self.text) is None  # "top 5 in my book by overdue amount" ranks by that figure
        ):
            # "top 10 for region EMEA": the accounts to work, as the worklist ranks them — for a collector, or when
            # the classifier finds it plausible; with no figure named, the biggest customers are as likely: ask
            if (
                self.request.actor.role == Role.COLLECTOR
                or dict(understood.readings).get(Intent.WORKLIST, 0) >= PLAUSIBLE
            ):
                return Intent.WORKLIST
            if not names_a_measure(self.text):
                decided = self.ask_between([Intent.WORKLIST, Intent.PORTFOLIO])
                if decided is not None:
                    return decided
        if (
            intent is Intent.WORKLIST
            and self.names_a_customer()
            and not self.history
            and not _THE_LIST_ITSELF_RE.search(self.text)  # "who's next after acme on my list?": the list
        ):
            return Intent.EXPOSURE  # "anything to chase on stark this week?": that customer's overdue, not the list
        if intent in (Intent.EXPOSURE, Intent.STATUS) and self.about_the_book():
            return Intent.PORTFOLIO
        if (
            intent in CUSTOMER_INTENTS
            and intent not in _PROPOSING
            and intent is not Intent.FIND_CUSTOMER
            and (
                dict(understood.readings).get(Intent.PORTFOLIO, 0) >= BOOK_READING
                or (self.request.actor.role == Role.COLLECTOR and _MY_RE.search(self.text))
                or BOOK_QUANTITY_RE.search(self.text)
            )
            and self.about_the_book()
        ):
            # "how many broken ptps YTD", a collector's "my dispute balance": no customer named, none in the thread
            return Intent.PORTFOLIO
        if (
            (intent is Intent.POLICY or {Intent.POLICY, Intent.PORTFOLIO} <= set(understood.close_readings))
            and BOOK_FIGURE_RE.search(self.text)
            and not POLICY_CUE_RE.search(self.text)
            and not self.names_something()
        ):
            return Intent.PORTFOLIO  # "what's the ADD", "value under dispute on watch": the book's figure
        if (
            intent is Intent.OUT_OF_SCOPE
            and measure_unnamed(self.text)
            and (
                self.names_a_place()
                or match_values(self.text, vocabulary(self.request.database_url).regions, REGION_ALIASES, Spans())
                or match_values(self.text, vocabulary(self.request.database_url).segments, SEGMENT_ALIASES, Spans())
            )
        ):
            return Intent.PORTFOLIO  # "give me the APAC number", "the SMB number": which figure is asked next
        # a change no word asks for is no reading to offer ("run SO-1 against their credit" is no hold)
        close = [
            r
            for r in understood.close_readings
            if r is intent or r not in _PROPOSING or _ACTION_WORDS[r].search(self.text)
        ]
        if (
            set(close) == {Intent.EXPOSURE, Intent.FIND_CUSTOMER}
            and not _LOOK_UP_CUE_RE.search(self.text)
            and not self.unknown_word()
        ):
            return Intent.EXPOSURE  # "Glenleaf Networks?": the customer's standing; a look-up asks for the record
        if (
            Intent.EXPOSURE in close
            and set(close) <= {Intent.EXPOSURE, Intent.FIND_CUSTOMER, Intent.SCORE, Intent.STATUS}
            and not re.search(r"\w", self.without_names().replace(PLACEHOLDER, ""))
            and self.names_a_customer()
        ):
            return Intent.EXPOSURE  # "Globex?", a name and nothing else: where the customer stands
        if {Intent.EXPOSURE, Intent.RELEASE_CHECK} <= {*close, recognised.intent} and ASKS_THE_STANDING_RE.search(
            self.text
        ):
            return Intent.EXPOSURE
        if set(close) == {Intent.RELEASE_CHECK, Intent.STATUS} and _AN_ORDER_RE.search(self.text):
            return Intent.RELEASE_CHECK  # "why is globex's order stuck?": the order's check states what holds it
        if (
            {intent, *close} <= {Intent.RELEASE_CHECK, Intent.STATUS}
            and asks_whether_orders_ship(self.text)
            and self.names_a_customer()
        ):
            return Intent.RELEASE_CHECK  # "is X blocked?": whether an order ships, with the status that decides
        if Intent.INVOICE in close and INVOICE_RE.search(self.text) and set(close) <= _AN_INVOICES_READINGS:
            return Intent.INVOICE  # "did Acme pay INV-… on time?": the invoice named says when it was paid
        if (
            set(close) == {Intent.PORTFOLIO, Intent.INVOICE}
            and not (INVOICE_RE.search(self.text) or BARE_INVOICE_RE.search(self.text))
            and self.names_a_customer()
        ):
            return Intent.EXPOSURE  # "what did 0688-XNJRO have open on 31/05/2013?": that customer's items
        if Intent.EXPOSURE in close and ON_ITS_OWN_RE.search(self.text) and self.names_a_customer():
            return Intent.EXPOSURE  # "starway on its own pls, not the distribution arm": its standing alone
        if (
            set(close) == {Intent.PORTFOLIO, Intent.POLICY}
            and _REVIEW_DUE_RE.search(self.text)
            and _WHOSE_RE.search(self.text)
        ):
            return Intent.PORTFOLIO  # "whose limit reviews fall due before EOM?": the customers, listed
        if EITHER_WAY_RE.search(self.text) and Intent.RELEASE_CHECK in close:
            return Intent.RELEASE_CHECK  # "SO-15 -- release or hold?": which way is what the check answers
        if intent in (Intent.RELEASE_CHECK, Intent.ORDER_RELEASE) and _ASKS_FOR_RELEASE_RE.search(self.text):
            # "can we get X's held order released?" asks for the release; the proposal shows the check and a person
            # approves it
            return Intent.ORDER_RELEASE
        if intent in _PROPOSING and recognised.intent is Intent.POLICY and recognised.score >= APPROVAL_QUESTION_SCORE:
            return Intent.POLICY  # "what approval do I need to lift a limit by 80k": asks who signs, changes nothing
        if intent in _PROPOSING:
            read = _READ_COUNTERPART[intent]
            if intent in (Intent.ORDER_RELEASE, Intent.ORDER_HOLD) and (
                recognised.scores.get(read, 0) > max(recognised.scores.get(intent, 0), 0)
                or LOOK_FIRST_RE.match(self.text)
            ):
                return read  # "check release for SO-41": the words ask to look, the classifier leant to the change
        if (
            intent in _PROPOSING
            and recognised.scores.get(intent, 0) < THRESHOLD
            and not _ACTION_WORDS[intent].search(self.text)
            and understood.score < SURE_ENOUGH_TO_PROPOSE
        ):
            # No word asks for the change ("stark 60k"): a proposal is never made on the classifier's hunch; when the
            # words ask for the look instead ("firm reminder to soylent": a draft), that is the answer
            if (
                (recognised.intent is _READ_COUNTERPART[intent] and recognised.score >= THRESHOLD)
                or ASKED_WHY_RE.search(self.text)
                or (intent is Intent.LIMIT_PROPOSE and IS_IT_SAFE_RE.search(self.text))
            ):
                return _READ_COUNTERPART[intent]  # "SO-0000041 - why is it held?": a question changes nothing
            others = [reading for reading, _ in understood.readings[1:3] if reading is not intent]
            decided = self.ask_between([intent, _READ_COUNTERPART[intent], *others])
            if decided is not None:
                return decided
        if (
            intent is Intent.OUT_OF_SCOPE
            and recognised.score >= THRESHOLD
            and understood.score < OUT_OF_SCOPE_SURE
            and dict(understood.readings).get(recognised.intent, 0) >= PLAUSIBLE
        ):
            return recognised.intent  # "ADD split by region": the classifier misses the acronym, the words don't
        if (
            len(close) > 1
            and recognised.intent is intent
            and recognised.score >= THRESHOLD
            and not any(recognised.scores.get(other, 0) > 0 for other in close[1:])
        ):
            return intent  # "put globex on hold": the words give the instruction the classifier is torn over
        if (
            len(close) > 1
            and recognised.intent in close
            and recognised.score >= 2 * THRESHOLD
            and all(
                2 * recognised.scores.get(other, 0) <= recognised.score
                for other in close
                if other is not recognised.intent
            )
        ):
            return recognised.intent  # "the 5 quickest payers on my book": a tie the words clearly break
        rule_reading = dict(understood.readings).get(recognised.intent, 0)
        if (
            len(close) == 1
            and recognised.intent not in (intent, Intent.UNKNOWN)
            and recognised.score >= THRESHOLD
            and understood.score - rule_reading < 2 * MARGIN
            and not any({intent, recognised.intent} <= group for group in SAME_ANSWER)
        ):
            # the words say one thing, the classifier leans a little to another: ask, don't guess
            close = [intent, recognised.intent]
        if set(close) == {Intent.INVOICE, Intent.DISPUTE} and (
            (INVOICE_RE.search(self.text) and MORE_THAN_ITS_DISPUTES_RE.search(self.text))
            or (self.names_an_invoice() and _WAS_IT_DISPUTED_RE.search(self.text))
        ):
            # "INV-…: any disputes or promises against it?", "invoice 9632048192 — was it disputed?": the invoice
            # states both
            return Intent.INVOICE
        instruction = self.instruction_before_its_reason(close) or decided_by_the_form(self.text, close, self.today)
        if instruction is not None:
            return instruction  # "zero out their limit, too many broken promises": the reason asks for nothing
        if len(close) > 1 and intent not in CERTAIN_RULES:
            decided = self.ask_between(close)
            if decided is not None:
                return decided
        if intent is Intent.LIMIT_PROPOSE and (
            _WHAT_WOULD_IT_TAKE_RE.search(self.text) or IS_IT_SAFE_RE.search(self.text)
        ):
            # "what would it take to get hooli's limit to 100k?", "is it safe to go to 150k on globex's limit?": a
            # question, no change
            return Intent.LIMIT_RECOMMEND
        if intent is Intent.POLICY and not _ASKS_THE_POLICY_RE.search(self.text) and self.names_a_customer():
            # "initech mentioned a payment promise on the call, can you deal with it": a customer's matter, which a
            # policy passage does not answer; the customer readings are offered instead
            decided = self.ask_between([r for r, _ in understood.readings if r in CUSTOMER_INTENTS][:3])
            if decided is not None:
                return decided
        # "creditworthiness of umbrella", "halve umbrella's limit": the words name what is wanted
        # (a reading that has a change beside it — a draft and its sending — is still asked)
        words_decide = recognised.intent is intent and recognised.score > THRESHOLD and intent not in _WRITE_COUNTERPART
        verb_decides = (
            words_decide
            and intent in _PROPOSING
            and recognised.score >= 2 * THRESHOLD
            and _ACTION_WORDS[intent].search(self.text) is not None
        )
        if (
            (intent in _ALWAYS_ASK_TERSE and not verb_decides)
            or (understood.score < SURE_ENOUGH_FOR_TERSE and not words_decide)
        ) and self.terse():
            # "globex promise", "limit for initech?": one word beside the name fits a question and a change alike
            others = [reading for reading, _ in understood.readings[1:3]]
            decided = self.ask_between(
                [intent, *([_WRITE_COUNTERPART[intent]] if intent in _WRITE_COUNTERPART else []), *others]
            )
            if decided is not None:
                return decided
        if (
            intent in _AMOUNT_BESIDE_A_NAME
            and not _WHAT_THE_AMOUNT_IS_RE.search(self.text)
            and recognised.scores.get(intent, 0) < THRESHOLD
            and not (intent in _PROPOSING and _ACTION_WORDS[intent].search(self.text))
            and self.names_a_customer()
            and any(not mention.error and mention.amount > 0 for mention in money_mentions(self.text, Spans()))
        ):
            decided = self.ask_between([intent])  # "can we do 60k for winter diagnostics?": an order, or a limit?
            if decided is not None:
                return decided
        if (
            intent in (Intent.STATUS, Intent.EXPOSURE)
            and _BARE_ON_HOLD_RE.match(self.text)
            and not re.match(r"^\W*(?:is|are|was|were|has|have|why|how\s+come|since\s+when)\b", self.text, re.I)
            and self.names_a_customer()
        ):
            decided = self.ask_between([intent, Intent.ORDER_HOLD])  # "umbrella on hold?"
            if decided is not None:
                return decided
        return rerouted_by_the_words(self.text, intent, self.names_a_customer)
