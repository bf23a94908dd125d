"""The clarifying questions of a turn: which readings a message leaves open, which the user may take and the message
can fill, and the numbered choices offered (buttons in Slack and the web chat); the pick from them ("2")."""

from __future__ import annotations

import re

from assistant.catalogue import Capability, by_intent
from assistant.planner.understand import SAME_ANSWER, intent_of
from assistant.types import Choice
from tools.registry import get_tool

from . import answers
from .context import last_customer, pending_candidates
from .dates import date_mentions
from .decision_forms import (
    _AMOUNT_BESIDE_A_NAME,
)
from .entities import (
    BARE_INVOICE_RE,
    INVOICE_RE,
    Spans,
    money_mentions,
    normalise,
)
from .follow_ups import TurnFollowUps
from .intents import CUSTOMER_INTENTS, THRESHOLD, Intent, recognise
from .phrases import (
    _ACTION_WORDS,
    _MANY_RE,
    _PROPOSING,
    _SMALL_WORDS,
    _THEIR_RE,
    BOOK_WORDS_RE,
    PICK_RE,
    pick_index,
)
from .reasons import _REASON_RE
from .turn_state import Stop

# "both", "all of them", "each of them please": every customer the question before offered
_EACH_OF_THEM_RE = re.compile(
    r"^\W*(?:(?:ok|okay|yes|yeah)\W+)?(?:both(?:\s+of\s+them)?|(?:all|each)(?:\s+(?:of\s+them|three|four|five))?"
    r"|(?:them\s+)?all|the\s+(?:two|three)\s+of\s+them)(?:\s+(?:please|pls|thanks))?\W*$",
    re.I,
)
_READS_FOR_EACH = frozenset(
    {Intent.EXPOSURE, Intent.STATUS, Intent.SCORE, Intent.LIMIT_RECOMMEND, Intent.PAYMENT_BEHAVIOUR,
     Intent.PROMISE_HISTORY, Intent.DISPUTE, Intent.RELEASE_CHECK}
)  # fmt: skip
_AT_MOST_EACH = 5


class TurnAsking(TurnFollowUps):
    """The planner's turn below its intent decision: asking instead of guessing."""

    def states_a_promise(self) -> bool:
        """ "Greenport Foods: fifteen thousand on Wednesday": an amount and a day still to come beside a name."""
        spans = Spans()
        if not any(not mention.error for mention in money_mentions(self.text, spans)):
            return False
        days = date_mentions(self.text, self.today, spans, future=True)
        return any(mention.day >= self.today and mention.problem is None for mention in days)

    def amount_readings(self, readings: list[Intent]) -> list[Intent]:
        """ "hooli 25k", "can you deal with vandelay's 20k": an amount beside a name, when the words leave open
        whether it is an order to check, a promise or a new limit, offers all three (those the user's role may
        use)."""
        if not (self.terse() or any(r in _AMOUNT_BESIDE_A_NAME for r in readings)):
            return readings
        if not any(not mention.error and mention.amount > 0 for mention in money_mentions(self.text, Spans())):
            return readings  # "drop riverline to zero": no order or promise is of nothing
        return [*readings, *(r for r in _AMOUNT_BESIDE_A_NAME if r not in readings)]

    def terse(self) -> bool:
        """A customer named and at most one other word besides small ones: no verb says what is wanted."""
        statuses = self.name_statuses()
        # beside a name that resolves, a word that only loosely matches some names ("a promise breaker") is no name
        wanted = {"resolved"} if any(status == "resolved" for _, status in statuses) else {"resolved", "ambiguous"}
        names = " ".join(candidate.text.lower() for candidate, status in statuses if status in wanted)
        if not names:
            return False
        words = [w for w in re.findall(r"[a-z0-9][a-z0-9'.]*", self.text.lower()) if w not in _SMALL_WORDS]
        return len([w for w in words if w not in names.split()]) <= 1

    def picked_choice(self) -> Intent | None:
        """The reading the user picked from the last reply's clarifying question ("2", "the first one")."""
        offered = self.history[-1].choices if self.history else []
        if not offered:
            return None
        match = PICK_RE.match(self.text)
        if match is None:
            return None
        index = pick_index(match)
        if not -len(offered) <= index < len(offered):
            return None
        choice = offered[index]
        self.text = normalise(choice.text)
        return intent_of(choice.capability)

    def ask_between(self, readings: list[Intent]) -> Intent | None:
        """Ask which of the close readings was meant, as numbered choices (buttons on Slack and the web chat). The
        readings the message cannot fill are left out ("D and E risk classes" names no customer, so not a score),
        and so are those the user's role may not use; when that leaves one reading that only reads, it is the answer
        (a change is never chosen this way). A
        customer's figures with no customer named or in the thread are the book's."""
        considered: list[Capability] = []
        if readings[:1] == [Intent.PROMISE] and self.states_a_promise():
            return Intent.PROMISE
        readings = self.amount_readings(readings)
        if any(r in (Intent.EXPOSURE, Intent.STATUS) for r in readings) and self.about_the_book():
            readings = [Intent.PORTFOLIO if r in (Intent.EXPOSURE, Intent.STATUS) else r for r in readings]
        for intent in readings:
            if intent in (Intent.OUT_OF_SCOPE, Intent.UNKNOWN, Intent.HELP) or any(
                intent in group and any(c.intent in group for c in considered) for group in SAME_ANSWER
            ):
                continue
            capability = by_intent(intent.value)
            if capability is not None and capability.people and capability not in considered:
                considered.append(capability)
        offered = [c for c in considered if self.may_use(c)]  # a choice the user's role cannot take is not offered
        fillable = [c for c in offered if self.can_fill(intent_of(c.name))]
        only = intent_of(fillable[0].name) if len(fillable) == 1 and len(considered) > 1 else None
        if only is not None and (only not in _PROPOSING or _ACTION_WORDS[only].search(self.text)):
            return only
        if len(fillable) >= 2:
            offered = fillable
        if len(offered) < 2:
            return None
        self.choices = [
            Choice(
                number=number, label=capability.people or capability.name, capability=capability.name, text=self.text
            )
            for number, capability in enumerate(offered, start=1)
        ]
        lines = "\n".join(f"{c.number}. {c.label}" for c in self.choices)
        raise Stop(f"Which do you mean?\n{lines}\nReply with the number. Nothing was done.", None)

    def instruction_before_its_reason(self, close: list[Intent]) -> Intent | None:
        """A change the words before a stated reason clearly ask for, when the reason's own words ("too many broken
        promises") pull the classifier towards a question."""
        reason = _REASON_RE.search(self.text)
        if len(close) < 2 or reason is None or reason.start() == 0:
            return None
        head = self.text[: reason.start()]
        recognised = recognise(head)
        if (
            recognised.intent in close
            and recognised.intent in _PROPOSING
            and recognised.score >= 2 * THRESHOLD
            and _ACTION_WORDS[recognised.intent].search(head)
        ):
            return recognised.intent
        return None

    def may_use(self, capability: Capability) -> bool:
        """Whether the asking user's role may use the capability's tool (a choice they cannot take is not offered)."""
        return capability.tool is None or self.request.actor.role in get_tool(capability.tool).roles

    def can_fill(self, intent: Intent) -> bool:
        """Whether the message (with the thread) gives what the reading needs: a customer for a customer's
        question, none for a question about the book, an invoice number for an invoice."""
        if intent is Intent.PORTFOLIO:
            if BOOK_WORDS_RE.search(self.text):
                return True
            # "is their paying getting worse?" after a customer's score: theirs, not the book's
            pointed = _THEIR_RE.search(self.text) and not _MANY_RE.search(self.text) and last_customer(self.history)
            return not self.names_a_customer() and not pointed
        if intent is Intent.INVOICE:
            return bool(INVOICE_RE.search(self.text) or BARE_INVOICE_RE.search(self.text))
        if intent is Intent.FIND_CUSTOMER and (INVOICE_RE.search(self.text) or BARE_INVOICE_RE.search(self.text)):
            return self.names_a_customer()  # "look up 0380292674": an invoice's number, no customer's name
        if intent in CUSTOMER_INTENTS:
            return not self.about_the_book()
        return True

    def each_customer_offered(self) -> tuple[Intent, str, str | None] | None:
        """ "both" after "That names more than one customer: Globex … and Initech …": the same read for each of them,
        one after the other (a change is never multiplied this way: each is asked for on its own)."""
        offered = pending_candidates(self.history)
        previous = self.history[-1].intent if self.history else None
        if len(offered) < 2 or not _EACH_OF_THEM_RE.match(self.text) or previous is None:
            return None
        intent = Intent(previous)
        if intent not in _READS_FOR_EACH:
            names = " and ".join(customer.name or customer.reference for customer in offered[:_AT_MOST_EACH])
            message = (
                f"I propose one change per request, so that each is approved on its own: name one of {names} "
                "first, then the other. Nothing was done."
            )
            return intent, message, "several customers"
        parts = []
        for customer in offered[:_AT_MOST_EACH]:
            self.fixed_customer = customer
            parts.append(self.dispatch(intent))
        self.fixed_customer = None
        return intent, "\n\n".join(parts), None

    def dispatch(self, intent: Intent) -> str:
        handlers = {
            Intent.HELP: self.help,
            Intent.UNKNOWN: self.unknown,
            Intent.APPROVE: lambda: answers.APPROVE,
            Intent.EXPOSURE: self.exposure,
            Intent.STATUS: self.status,
            Intent.RELEASE_CHECK: self.release_check,
            Intent.SCORE: self.score,
            Intent.LIMIT_RECOMMEND: self.limit_recommend,
            Intent.LIMIT_PROPOSE: self.limit_propose,
            Intent.WORKLIST: self.worklist,
            Intent.DUNNING_DRAFT: self.dunning_draft,
            Intent.DUNNING_SEND: self.dunning_send,
            Intent.DISPUTE: self.dispute,
            Intent.DISPUTE_UPDATE: self.dispute_update,
            Intent.PORTFOLIO: self.portfolio,
            Intent.PROMISE: self.promise,
            Intent.ORDER_HOLD: lambda: self.order_action("propose_order_hold"),
            Intent.ORDER_RELEASE: lambda: self.order_action("propose_order_release"),
            Intent.ASSIGN: self.assign,
            Intent.NOTE: self.note,
            Intent.POLICY: self.policy,
            Intent.INVOICE: self.invoice,
            Intent.PAYMENT_BEHAVIOUR: lambda: self.customer_lookup("get_payment_behaviour"),
            Intent.PROMISE_HISTORY: lambda: self.customer_lookup("get_promise_history"),
            Intent.PENDING_APPROVALS: self.pending_approvals,
            Intent.FIND_CUSTOMER: self.find_customer,
            Intent.OUT_OF_SCOPE: self.out_of_scope,
        }
        return handlers[intent]()
