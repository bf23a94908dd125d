"""The offline planner: rules for the intent, entity resolution, one tool call (or a fixed short chain) through the
registry, and a templated answer quoting the tool results. No model; deterministic; the same reply type as the agent.

Writes only ever create proposals (the registry's write tools); approvals are never made here."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from assistant.catalogue import Capability, by_intent
from assistant.planner.semantic import name_words_to_mask
from assistant.planner.understand import CERTAIN_RULES, SAME_ANSWER, Understood, intent_of, understand
from assistant.types import AskRequest, AssistantReply, Choice, Citation, ProposalRef, ToolCallRecord, Usage
from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from db.engine import read_session
from db.models import Role
from tools.context import ToolContext
from tools.customers import NameWord, customer_name_word_stats, customer_name_words, ordinary_customer_names
from tools.name_matching import query_key
from tools.reference_words import area_names, place_names
from tools.registry import call_tool, get_tool, parse_arguments

from . import answers, answers_compare, answers_lookup
from .context import (
    REGION_ALIASES,
    SEGMENT_ALIASES,
    CustomerRef,
    customer_open_orders,
    customer_ref,
    invoice_customers,
    last_call,
    last_customer,
    last_intent,
    list_call,
    listed_customers,
    listed_in_countries,
    match_staff,
    match_values,
    order_customer,
    pending_candidates,
    vocabulary,
)
from .dates import DateMention, date_at, date_mentions
from .entities import (
    BARE_INVOICE_RE,
    CUSTOMER_ID_RE,
    DISPUTE_ID_RE,
    EXTERNAL_ID_RE,
    INVOICE_RE,
    LEVEL_RE,
    ORDER_RE,
    PAGE_RE,
    TOP_N_RE,
    MoneyMention,
    NameCandidate,
    Spans,
    bare_invoice_numbers,
    data_source_mentions,
    distinctive_word,
    dpd_range,
    first_int,
    invoice_numbers,
    mistyped_request_words,
    money_mentions,
    name_candidates,
    normalise,
    order_numbers,
    request_word_for,
    risk_classes,
    widened_runs,
)
from .intents import CUSTOMER_INTENTS, EITHER_WAY_RE, THRESHOLD, Intent
from .limit_change import limit_change_kind, signed_decrease, sounds_like_a_decrease, stated_direction, terms_days
from .periods import period_mentions, period_problem, unreadable_dates
from .phrases import (
    _ABOUT_IT_RE,
    _ACTION_WORDS,
    _AGO_RE,
    _ALWAYS_ASK_TERSE,
    _AS_OF_BEFORE_RE,
    _ASKS_FOR_RELEASE_RE,
    _BARE_WEEKDAY_RE,
    _BYPASS_RE,
    _CONTACT_RE,
    _CUSTOMER_READS,
    _HELD_RE,
    _HISTORY_POINTS_RE,
    _HOLD_IT_RE,
    _INVENTORY_RE,
    _JARGON,
    _JARGON_RE,
    _JUST_TREND_RE,
    _LIST_THEM_RE,
    _MANY_RE,
    _MY_RE,
    _NARROW_RE,
    _NEVER_DONE_RE,
    _NOT_A_GROUP_NAME,
    _NOT_COUNTRY_CODES,
    _OFF_TOPIC_RE,
    _ORDER_CHANGES,
    _PLACE_RE,
    _PROPOSAL_KINDS,
    _PROPOSING,
    _READ_COUNTERPART,
    _REFINE_RE,
    _RELEASE_IT_RE,
    _REVIEW_DUE_RE,
    _REVIEW_RE,
    _REVIEWS_DUE_NOW_RE,
    _SMALL_WORDS,
    _THE_ONE_RE,
    _THEIR_RE,
    _VS_NOW_RE,
    _WHOLE_WORD_MATCHES,
    _WRITE_COUNTERPART,
    _WRITE_INTENTS,
    APPROVAL_QUESTION_SCORE,
    BOOK_READING,
    BOOK_STOP,
    BOOK_WORDS_RE,
    CREDIT_ROLES,
    CUSTOMER_GROUP_RE,
    DISPUTE_CHANGE_RE,
    EXCLUDE_DISPUTED_RE,
    FOLLOW_UP_RE,
    FOLLOW_UP_SCORE,
    GO_AHEAD_RE,
    GROUP_BY_RE,
    LEVEL_WORDS,
    MAX_PART_LOOKUPS,
    MAX_WIDENED_LOOKUPS,
    NEXT_PAGE_RE,
    NOW_RE,
    ORDINAL_PICK,
    ORDINAL_RE,
    OUT_OF_SCOPE_SURE,
    PICK_RE,
    PLAUSIBLE,
    SURE_ENOUGH_FOR_TERSE,
    SURE_ENOUGH_TO_PROPOSE,
    TONES,
    _name_word_key,
    is_filler_run,
    stated_reason,
)
from .portfolio_query import (
    Comparison,
    asks_for_one,
    compared_date,
    comparison,
    counts_invoices,
    earlier_arguments,
    lists_customers,
    measure_unnamed,
    names_a_measure,
    not_applied,
    over_limit,
    period_length,
    rank_measure,
    sales_window_months,
)

log = get_logger(__name__)


class _Stop(Exception):
    """Ends the turn with a message (a question back, or a refusal); nothing after it runs."""

    def __init__(self, text: str, error: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.error = error


@dataclass
class _Resolution:
    customer: CustomerRef | None = None
    ambiguous: list[CustomerRef] | None = None
    query: str | None = None
    not_found: str | None = None
    others: list[CustomerRef] | None = None  # a write named several customers: all of them


class OfflinePlanner:
    """Answers common requests without a model. Stateless: the thread's previous replies come in `history`."""

    engine = "planner"

    def answer(self, request: AskRequest, history: Sequence[AssistantReply]) -> AssistantReply:
        started = time.perf_counter()
        turn = _Turn(request, list(history))
        intent, text, error = turn.run()
        reply = AssistantReply(
            text=text,
            thread_id=request.thread_id,
            engine="planner",
            intent=intent.value,
            tool_calls=turn.calls,
            proposals=turn.proposals,
            citations=turn.citations,
            charts=turn.charts,
            choices=turn.choices,
            usage=Usage(tool_calls=len(turn.calls)),
            error=error,
        )
        log.info(
            "planner.answered",
            intent=intent.value,
            tool_calls=len(turn.calls),
            tool_errors=sum(1 for c in turn.calls if c.error),
            proposals=len(turn.proposals),
            role=request.actor.role.value,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return reply


class _Turn:
    def __init__(self, request: AskRequest, history: list[AssistantReply]) -> None:
        self.request = request
        self.history = history
        self.ctx = ToolContext(
            actor=request.actor, database_url=request.database_url, conversation_id=request.thread_id
        )
        self.today: date = self.ctx.today
        self.text = normalise(request.text)
        self.spans = Spans()
        data_source_mentions(self.text, self.spans)
        self.calls: list[ToolCallRecord] = []
        self.proposals: list[ProposalRef] = []
        self.citations: list[Citation] = []
        self.charts: list[str] = []
        self.choices: list[Choice] = []
        self.understood: Understood | None = None
        self._ordinary_names: frozenset[str] | None = None
        self._name_statuses: list[tuple[NameCandidate, str]] | None = None
        self._name_words: dict[str, bool] = {}
        self.review_due_by: date | None = None  # "reviews due by the end of the month": a filter, not the as-of date
        self.typos: dict[str, str] = {}
        self.typo_spans = self.find_mistyped_request_words()
        for start, end in self.typo_spans:
            self.spans.add(start, end)
        for match in _JARGON_RE.finditer(self.text):
            self.spans.add(*match.span())

    def find_mistyped_request_words(self) -> list[tuple[int, int]]:
        """ "outstandng", "remidner": a request word mistyped is no customer's name, unless a name has that word.
        Their spans, found once per turn; `self.typos` maps each to the word it stands for."""
        typos = mistyped_request_words(self.text, self.spans)
        if not typos:
            return []
        with read_session(self.request.database_url) as session:
            names = customer_name_words(session, [word for word, _, _ in typos])
        found = []
        for word, start, end in typos:
            if word not in names:
                found.append((start, end))
                self.typos[word] = request_word_for(word) or word
        return found

    def spelled_out(self) -> str:
        """The text with mistyped request words spelled right, for reading what is asked ("whats initech's
        outstandng" reads as "outstanding"); names, amounts and dates are still read from the text as typed."""
        text = _JARGON_RE.sub(lambda m: _JARGON[m.group(0).lower()], self.text)
        if not self.typos:
            return text
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, self.typos)) + r")\b", re.IGNORECASE)
        return pattern.sub(lambda m: self.typos.get(m.group(0).lower(), m.group(0)), text)

    # --- tools ---------------------------------------------------------------------------------------------------

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """One registry call, recorded. A refusal or failure ends the turn with a friendly message."""
        try:
            spec = get_tool(name)
        except CreditDeskError as error:
            self.calls.append(
                ToolCallRecord(
                    name=name, kind="read", arguments=arguments, error=error.message, error_code=error.code.value
                )
            )
            raise _Stop(f"That capability ({name}) is not available here yet.", error.message) from None
        recorded = _jsonable(arguments)
        try:
            recorded = parse_arguments(spec, arguments).model_dump(mode="json", exclude_defaults=True)
            result = call_tool(name, arguments, self.ctx)
        except CreditDeskError as error:
            self.calls.append(
                ToolCallRecord(
                    name=name, kind=spec.kind, arguments=recorded, error=error.message, error_code=error.code.value
                )
            )
            if error.code is ErrorCode.FORBIDDEN and "customer_id" in error.details:
                # The refusal names the customer the tool resolved; a collector's words may have matched someone
                # else's customer, whose name is not theirs to learn.
                raise _Stop(
                    "Sorry — that customer is not in your book; ask a credit analyst or the assigned collector. "
                    "Nothing was done.",
                    "customer outside the user's book",
                ) from None
            raise _Stop(_friendly(error), error.message) from None
        data = result.model_dump(mode="json") if isinstance(result, BaseModel) else dict(result)
        self.calls.append(ToolCallRecord(name=name, kind=spec.kind, arguments=recorded, result=data))
        if spec.kind == "write" and "id" in data and "status" in data:
            self.proposals.append(
                ProposalRef(
                    id=int(data["id"]),
                    action=str(data.get("action", name)),
                    summary=str(data.get("summary", "")),
                    status=str(data["status"]),
                    required_role=data.get("required_role"),
                )
            )
        return data

    # --- the turn ------------------------------------------------------------------------------------------------

    def run(self) -> tuple[Intent, str, str | None]:
        intent = Intent.UNKNOWN
        try:
            intent = self.intent()
            return intent, self.dispatch(intent), None
        except _Stop as stop:
            return intent, stop.text, stop.error

    def intent(self) -> Intent:
        picked = self.picked_choice()
        if picked is not None:
            return picked
        if (
            _NEVER_DONE_RE.match(self.text)
            or _INVENTORY_RE.search(self.text)
            or _BYPASS_RE.search(self.text)
            or (_OFF_TOPIC_RE.search(self.text) and not self.names_a_customer())
        ):
            return Intent.OUT_OF_SCOPE  # "delete all the test customers", "refund hooli 5k": nothing here does that
        spelled = self.spelled_out()
        names = name_words_to_mask(spelled, self.name_word_stats)
        understood = self.understood = understand(spelled, names)
        recognised = understood.recognised
        assert recognised is not None
        intent = understood.intent
        previous = last_intent(self.history)
        if previous and recognised.score < 6 and recognised.intent not in (Intent.HELP, Intent.APPROVE, Intent.POLICY):
            follow = self.follow_up(previous, recognised.intent)
            # A follow-up form ("propose it", "the first one", "what about Globex?") binds to the thread, unless
            # the message reads confidently as another request ("how fast do they pay?" after an exposure)
            if follow is not None and (
                follow == intent
                or understood.score < FOLLOW_UP_SCORE
                or any(p.match(self.text) for p in (GO_AHEAD_RE, PICK_RE, NEXT_PAGE_RE))
                or (follow in _ORDER_CHANGES and previous in _CUSTOMER_READS)
                or (previous == Intent.PORTFOLIO and _REFINE_RE.match(self.text) is not None)
                or (previous in (Intent.WORKLIST, Intent.PENDING_APPROVALS) and _NARROW_RE.match(self.text) is not None)
                or (previous == Intent.DISPUTE and follow in (Intent.DISPUTE, Intent.DISPUTE_UPDATE))
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
            and (self.customer_group() or self.names_a_customer())
        ):
            # "total exposure of the Acme group", "what's our exposure to initech": one customer, not the book
            return Intent.EXPOSURE
        if intent is Intent.PORTFOLIO and (CUSTOMER_ID_RE.search(self.text) or EXTERNAL_ID_RE.search(self.text)):
            return Intent.EXPOSURE  # "AR for C000008 as of yesterday"
        if (
            intent is Intent.PORTFOLIO
            and _THEIR_RE.search(self.text)
            and not BOOK_WORDS_RE.search(self.text)
            and not _MANY_RE.search(self.text)
            and last_customer(self.history) is not None
            and not self.names_something()
        ):
            # "what was their exposure at the end of last month?" after a customer's score: that customer's figures
            customer_reads = [r for r, score in understood.readings[1:] if r in CUSTOMER_INTENTS and score >= PLAUSIBLE]
            return customer_reads[0] if customer_reads else Intent.EXPOSURE
        if intent is Intent.PORTFOLIO and recognised.intent is Intent.WORKLIST and TOP_N_RE.search(self.text):
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
        if intent in (Intent.EXPOSURE, Intent.STATUS) and self.about_the_book():
            return Intent.PORTFOLIO
        if (
            intent in CUSTOMER_INTENTS
            and intent not in _PROPOSING
            and (
                dict(understood.readings).get(Intent.PORTFOLIO, 0) >= BOOK_READING
                or (self.request.actor.role == Role.COLLECTOR and _MY_RE.search(self.text))
            )
            and self.about_the_book()
        ):
            # "how many broken ptps YTD", a collector's "my dispute balance": no customer named, none in the thread
            return Intent.PORTFOLIO
        if (
            intent is Intent.OUT_OF_SCOPE
            and measure_unnamed(self.text)
            and (
                self.names_a_place()
                or match_values(self.text, vocabulary(self.request.database_url).regions, REGION_ALIASES, Spans())
            )
        ):
            return Intent.PORTFOLIO  # "give me the APAC number": which figure is asked next
        close = understood.close_readings
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
            if intent in (Intent.ORDER_RELEASE, Intent.ORDER_HOLD) and recognised.scores.get(read, 0) > max(
                recognised.scores.get(intent, 0), 0
            ):
                return read  # "check release for SO-41": the words ask to look, the classifier leant to the change
        if (
            intent in _PROPOSING
            and recognised.scores.get(intent, 0) < THRESHOLD
            and not _ACTION_WORDS[intent].search(self.text)
            and understood.score < SURE_ENOUGH_TO_PROPOSE
        ):
            # No word asks for the change ("stark 60k"): a proposal is never made on the classifier's hunch
            others = [reading for reading, _ in understood.readings[1:3] if reading is not intent]
            decided = self.ask_between([intent, _READ_COUNTERPART[intent], *others])
            if decided is not None:
                return decided
        if intent is Intent.OUT_OF_SCOPE and recognised.intent in close[1:] and recognised.score >= THRESHOLD:
            return recognised.intent  # "ADD split by region": the classifier misses the acronym, the words don't
        if (
            len(close) > 1
            and recognised.intent is intent
            and recognised.score >= THRESHOLD
            and not any(recognised.scores.get(other, 0) > 0 for other in close[1:])
        ):
            return intent  # "put globex on hold": the words give the instruction the classifier is torn over
        if len(close) > 1 and intent not in CERTAIN_RULES:
            decided = self.ask_between(close)
            if decided is not None:
                return decided
        if (intent in _ALWAYS_ASK_TERSE or understood.score < SURE_ENOUGH_FOR_TERSE) and self.terse():
            # "globex promise", "limit for initech?": one word beside the name fits a question and a change alike
            others = [reading for reading, _ in understood.readings[1:3]]
            decided = self.ask_between(
                [intent, *([_WRITE_COUNTERPART[intent]] if intent in _WRITE_COUNTERPART else []), *others]
            )
            if decided is not None:
                return decided
        return intent

    def terse(self) -> bool:
        """A customer named and at most one other word besides small ones: no verb says what is wanted."""
        names = " ".join(candidate.text.lower() for candidate, status in self.name_statuses() if status != "not_found")
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
        index = ORDINAL_PICK[match.group(1).lower()] if match.group(1) else int(match.group(2)) - 1
        if not -len(offered) <= index < len(offered):
            return None
        choice = offered[index]
        self.text = normalise(choice.text)
        return intent_of(choice.capability)

    def ask_between(self, readings: list[Intent]) -> Intent | None:
        """Ask which of the close readings was meant, as numbered choices (buttons on Slack and the web chat). The
        readings the message cannot fill are left out ("D and E risk classes" names no customer, so not a score);
        when that leaves one reading that only reads, it is the answer (a change is never chosen this way). A
        customer's figures with no customer named or in the thread are the book's."""
        offered: list[Capability] = []
        if any(r in (Intent.EXPOSURE, Intent.STATUS) for r in readings) and self.about_the_book():
            readings = [Intent.PORTFOLIO if r in (Intent.EXPOSURE, Intent.STATUS) else r for r in readings]
        for intent in readings:
            if intent in (Intent.OUT_OF_SCOPE, Intent.UNKNOWN, Intent.HELP) or any(
                intent in group and any(c.intent in group for c in offered) for group in SAME_ANSWER
            ):
                continue
            capability = by_intent(intent.value)
            if capability is not None and capability.people and capability not in offered:
                offered.append(capability)
        fillable = [c for c in offered if self.can_fill(intent_of(c.name))]
        only = intent_of(fillable[0].name) if len(fillable) == 1 and len(offered) > 1 else None
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
        raise _Stop(f"Which do you mean?\n{lines}\nReply with the number. Nothing was done.", None)

    def can_fill(self, intent: Intent) -> bool:
        """Whether the message (with the thread) gives what the reading needs: a customer for a customer's
        question, none for a question about the book, an invoice number for an invoice."""
        if intent is Intent.PORTFOLIO:
            return not self.names_a_customer() or bool(BOOK_WORDS_RE.search(self.text))
        if intent is Intent.INVOICE:
            return bool(INVOICE_RE.search(self.text) or BARE_INVOICE_RE.search(self.text))
        if intent in CUSTOMER_INTENTS:
            return not self.about_the_book()
        return True

    def customer_group(self) -> str | None:
        """The customer a "… group" phrase names ("Acme group", "group of Initech"), if any."""
        for match in CUSTOMER_GROUP_RE.finditer(self.text):
            word = match.group(1) or match.group(2)
            if word.lower() not in _NOT_A_GROUP_NAME and word.lower() not in BOOK_STOP:
                return word
        return None

    def about_the_book(self) -> bool:
        """ "What's our total overdue?", "aging": no customer named, none in the thread: a portfolio question."""
        if CUSTOMER_ID_RE.search(self.text) or (
            last_customer(self.history) is not None and not BOOK_WORDS_RE.search(self.text)
        ):
            return False
        if self.request.actor.role == Role.SALES or self.customer_group():
            return False
        if BOOK_WORDS_RE.search(self.text) or GROUP_BY_RE.search(self.text):
            return True
        return not self.names_something()

    def names_something(self) -> bool:
        """Words left that may name a customer once dates, amounts, regions, segments and staff are explained, and
        that the customer index matches at least loosely ("globx" does; "atm", "overall picture" don't)."""
        return any(
            status != "not_found" or candidate.name_like or any(map(distinctive_word, candidate.text.split()))
            for candidate, status in self.name_statuses()
        )

    def names_a_customer(self) -> bool:
        """Words left that name exactly one customer."""
        if CUSTOMER_ID_RE.search(self.text) or EXTERNAL_ID_RE.search(self.text):
            return True
        return any(status == "resolved" for _, status in self.name_statuses())

    def name_statuses(self) -> list[tuple[NameCandidate, str]]:
        """Each run of words that may name a customer, with what the customer index says of it."""
        if self._name_statuses is None:
            probe = Spans()
            data_source_mentions(self.text, probe)
            order_numbers(self.text, probe)
            invoice_numbers(self.text, probe)
            for start, end in self.typo_spans:
                probe.add(start, end)
            date_mentions(self.text, self.today, probe)
            money_mentions(self.text, probe)
            dpd_range(self.text, probe)
            risk_classes(self.text, probe)
            vocab = vocabulary(self.request.database_url)
            match_values(self.text, vocab.regions, REGION_ALIASES, probe)
            match_values(self.text, vocab.segments, SEGMENT_ALIASES, probe)
            match_staff(self.text, vocab, probe)
            for place in _PLACE_RE.finditer(self.text):  # "our Mexico customers": a country filter
                if place.group(0).casefold() in place_names():
                    probe.add(*place.span())
            statuses = []
            for candidate in self.usable(name_candidates(self.text, probe, BOOK_STOP)):
                try:
                    found = call_tool("resolve_customer", {"query": candidate.text}, self.ctx)
                except CreditDeskError:
                    statuses.append((candidate, "not_found"))
                    continue
                # A collector's words that match nobody in their book read as matching nobody at all, whether
                # they name someone else's customer or no one: the planner cannot tell, by design.
                status = str(found.model_dump().get("status", "not_found"))
                if status != "resolved" and (
                    self.resolve_part([candidate.text], self.look_up) is not None
                    or self.resolve_widened([candidate.text], self.look_up, probe) is not None
                ):
                    status = "resolved"  # "ash haven's outstandng", "new worth systems": a name among other words
                statuses.append((candidate, status))
            self._name_statuses = statuses
        return self._name_statuses

    def usable(self, candidates: list[NameCandidate]) -> list[NameCandidate]:
        """The candidates that may name a customer: ordinary words ("UK", "Mexico") only when they are some
        customer's whole name."""
        if not any(candidate.ordinary for candidate in candidates):
            return candidates
        if self._ordinary_names is None:
            with read_session(self.request.database_url) as session:
                self._ordinary_names = ordinary_customer_names(session)
        return [c for c in candidates if not c.ordinary or query_key(c.text) in self._ordinary_names]

    def names_a_place(self) -> bool:
        known = place_names()
        return any(m.group(0).casefold() in known or m.group(0).casefold() in area_names()
                   for m in _PLACE_RE.finditer(self.text) if len(m.group(0)) > 2)  # fmt: skip

    def places(self) -> list[str]:
        """Countries and areas named in the text that no region or other entity explains ("UK customers")."""
        found: list[str] = []
        codes = set(vocabulary(self.request.database_url).countries) - _NOT_COUNTRY_CODES
        for match in _PLACE_RE.finditer(self.text):
            name = match.group(0)
            if self.spans.covers(*match.span()):
                continue
            if len(name) == 2 and name.casefold() not in place_names() and not (name.isupper() and name in codes):
                continue  # a two-letter code only when written as one and used in the book ("DE", "MX")
            self.spans.add(*match.span())
            found.append(name)
        return found

    def refuse_places(self, places: list[str], *, regions: Sequence[str]) -> None:
        """The book is filtered by region, not country: say so rather than answer for the whole book."""
        if not places:
            return
        pairs = vocabulary(self.request.database_url).country_regions
        names = place_names()
        hints = []
        for place in places:
            code = names.get(place.casefold(), place.upper())
            in_regions = sorted({region for country, region in pairs if country == code})
            if in_regions:
                hints.append(f"{place} customers are in {' and '.join(in_regions)}")
        raise _Stop(
            f"I can't filter by country or area ({', '.join(places)}): the book is filtered by region "
            f"({', '.join(regions)}), segment, collector, risk class or currency. "
            + (f"{'; '.join(hints)}. " if hints else "")
            + "Ask again with a region, e.g. “… in EMEA”. Nothing was answered for the whole book.",
            "country filter",
        )

    def follow_up(self, previous: str, recognised: Intent) -> Intent | None:
        text = self.text
        if previous == Intent.WORKLIST and NEXT_PAGE_RE.match(text):
            return Intent.WORKLIST
        go = GO_AHEAD_RE.match(text)
        if go and previous == Intent.LIMIT_RECOMMEND and recognised in (Intent.UNKNOWN, Intent.LIMIT_PROPOSE):
            return Intent.LIMIT_PROPOSE
        if previous == Intent.INVOICE and _ABOUT_IT_RE.search(text) and not INVOICE_RE.search(text):
            return Intent.INVOICE  # "what was it at end of june?" after an invoice lookup
        if previous == Intent.PAYMENT_BEHAVIOUR and _JUST_TREND_RE.match(text):
            return Intent.PAYMENT_BEHAVIOUR  # "just the monthly trend" after a customer's payment behaviour
        if previous == Intent.LIMIT_RECOMMEND and re.search(r"\bpropos(?:e|al)\b|\bsubmit\b", text, re.IGNORECASE):
            return Intent.LIMIT_PROPOSE  # "fine, put in a proposal for 400k" after a recommendation
        if go and previous == Intent.DUNNING_DRAFT and re.search(r"\bsend\b", text, re.IGNORECASE):
            return Intent.DUNNING_SEND
        if previous == Intent.DISPUTE and DISPUTE_CHANGE_RE.search(text) and not DISPUTE_ID_RE.search(text):
            return Intent.DISPUTE_UPDATE  # "set it to resolved", "reassign it to cleo" after a dispute summary
        if previous == Intent.PORTFOLIO and (_LIST_THEM_RE.match(text) or _REFINE_RE.match(text)):
            return Intent.PORTFOLIO  # "list them" after "how many customers are over their limit?", "split it by …"
        if previous == Intent.DISPUTE and INVOICE_RE.search(text) and FOLLOW_UP_RE.match(text):
            return Intent.DISPUTE  # "and the one on INV-…?" after a customer's disputes
        if previous == Intent.WORKLIST and _NARROW_RE.match(text):
            return Intent.WORKLIST  # "only the ones over 50k" after a worklist
        if previous == Intent.PENDING_APPROVALS and _NARROW_RE.match(text):
            return Intent.PENDING_APPROVALS  # "just the limit ones" after the pending approvals
        if previous in _CUSTOMER_READS and not ORDER_RE.search(text) and not self.names_a_customer():
            if _RELEASE_IT_RE.search(text):
                return Intent.ORDER_RELEASE  # "pls request a release on it" after "anything on hold for deepcore?"
            if _HOLD_IT_RE.search(text):
                return Intent.ORDER_HOLD
            if (
                FOLLOW_UP_RE.match(text)
                and recognised in (Intent.UNKNOWN, Intent.PORTFOLIO, Intent(previous))
                and not BOOK_WORDS_RE.search(text)
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
        if recognised is Intent.UNKNOWN and previous in {i.value for i in CUSTOMER_INTENTS | {Intent.PORTFOLIO}}:
            # "what about Globex?", "and Initech?", "Acme Europe" (answering "which one?")
            if previous == Intent.PORTFOLIO:
                return Intent.PORTFOLIO if FOLLOW_UP_RE.match(text) else None
            if previous in _WRITE_INTENTS:
                return None  # never repeat a write because a name was typed
            return Intent(previous)
        return None

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

    # --- entities ------------------------------------------------------------------------------------------------

    def listed(self) -> list[CustomerRef]:
        """The customers of the list the user last saw (the call is repeated when the thread kept only its summary)."""
        return listed_customers(self.history, refetch=self.call)

    def dates(self, *, future: bool = False, used: bool = True) -> list[DateMention]:
        """The dates in the text. One the text does not pin to a single day ends the turn with a question, unless
        the caller only masks dates (`used=False`)."""
        found = date_mentions(self.text, self.today, self.spans, future=future)
        problem = next((mention.problem for mention in found if mention.problem), None)
        if used and problem is not None:
            raise _Stop(
                f"Which date do you mean? {problem}. Write the month as a word, e.g. “7 December”. Nothing was done.",
                "ambiguous date",
            )
        return found

    def reporting_dates(self) -> list[DateMention]:
        """The dates and periods of a reporting question. A period without figures (after today, before the book's
        first data) or date-like text that is no date ends the turn with the reason, never an answer for today."""
        self.mask_dates_that_are_no_as_of()
        found = self.dates()
        unreadable = unreadable_dates(self.text, self.spans)
        found += [mention for _, mention in period_mentions(self.text, self.today, self.spans)]
        if unreadable:
            raise _Stop(
                f"“{unreadable[0]}” is not a date I can read (there is no such day); nothing was answered.",
                "unreadable date",
            )
        first_day = vocabulary(self.request.database_url).first_day if found else None
        for mention in found:
            problem = period_problem(mention, self.today, first_day)
            if problem is not None:
                raise _Stop(
                    f"There are no figures for that: {problem.reason}. Ask about a date or period up to today; "
                    "nothing was answered.",
                    "impossible period",
                )
        return found

    def mask_dates_that_are_no_as_of(self) -> None:
        """ "review due by the end of the month" (a filter the book cannot apply, said as such) and "seeing them
        thursday" (an event ahead): dates in a reporting question that are not the date figures are wanted at."""
        for match in _REVIEW_DUE_RE.finditer(self.text):
            found = date_at(self.text, match.end(), self.today, future=True)
            if found is not None:
                self.spans.add(match.start(), found[1])
                self.review_due_by = found[0].day
        for match in _BARE_WEEKDAY_RE.finditer(self.text):
            before = self.text[: match.start()]
            asks_ahead = re.search(r"\b(?:will|going\s+to|gonna)\b", before, re.I)  # "what will they owe friday"
            if not _AS_OF_BEFORE_RE.search(before) and not asks_ahead and not self.spans.covers(*match.span()):
                self.spans.add(*match.span())

    def as_of(self) -> date | None:
        found = self.reporting_dates()
        return found[0].day if found else None

    def amounts(self, *, decrease: Callable[[MoneyMention], bool] | None = None) -> list[MoneyMention]:
        """The message's amounts, refusing a malformed one, or a negative one unless `decrease` says it is a
        decrease the request may make."""
        for match in CUSTOMER_ID_RE.finditer(self.text):  # "customer 12 promised 5k": 12 is no amount
            self.spans.add(*match.span())
        mentions = money_mentions(self.text, self.spans)
        for mention in mentions:
            if mention.error == "negative" and decrease is not None and decrease(mention):
                continue
            if mention.error == "negative":
                raise _Stop("Amounts must be positive; nothing was done.", "negative amount")
            if mention.error == "too_large":
                raise _Stop("That amount is implausibly large; nothing was done. Please check it.", "absurd amount")
            if mention.error:
                why = mention.message or "at most two decimals"
                raise _Stop(f"I could not read that amount ({why}); nothing was done.", "bad amount")
        return mentions

    def amount(self, *, required_explicit: bool = False) -> MoneyMention | None:
        mentions = self.amounts()
        explicit = [m for m in mentions if m.explicit]
        if explicit:
            return explicit[0]
        if mentions and not required_explicit:
            return mentions[0]
        return None

    def one_of_each(self, amounts: list[MoneyMention], found: list[DateMention], *, what: str, nothing: str) -> None:
        """A write takes one amount and one date: with more in the message, pairing them would be a guess, so list
        what was found and ask."""
        amounts = [m for m in amounts if not _counted_thing(self.text, m)]
        days = sorted({mention.day for mention in found})
        seen = []
        if len(amounts) > 1:
            seen.append(f"{_count(len(amounts))} amounts ({', '.join(self.text[m.start : m.end] for m in amounts)})")
        if len(days) > 1:
            seen.append(f"{_count(len(days))} dates ({', '.join(f'{d.day} {d:%B %Y}' for d in days)})")
        if seen:
            raise _Stop(
                f"I found {' and '.join(seen)}; {what}. Which do you mean? Send them one at a time. {nothing}",
                "several values",
            )

    def only_amount(self, amounts: list[MoneyMention]) -> MoneyMention | None:
        real = [m for m in amounts if not _counted_thing(self.text, m)]
        return real[0] if real else None

    def currency_of(
        self, amount: MoneyMention, customer: CustomerRef, currency: str | None, nothing: str
    ) -> str | None:
        """The currency to send with an amount given with a currency word ("2000 dollars"): the customer's when the
        word fits it (dollars for a USD, CAD or SGD account), else a refusal. None when no word was used."""
        if amount.currencies is None:
            return amount.currency
        if currency is None:
            currency = (
                customer.currency
                or self.call("resolve_customer", {"query": customer.reference})["customer"]["currency"]
            )
        if not amount.fits(currency):
            raise _Stop(
                f"{customer.name or 'That customer'}'s account is in {currency}; “{amount.stated_currency}” is not "
                f"{currency}. Give the amount in {currency}. {nothing}",
                "currency mismatch",
            )
        return currency

    def customer(
        self, *, extra_stop: frozenset[str] = frozenset(), use_history: bool = True, single: str | None = None
    ) -> CustomerRef:
        """The customer the text names. `single`: a write, which must name exactly one (its "nothing was …" text)."""
        resolution = self.resolve(extra_stop=extra_stop, use_history=use_history, single=single is not None)
        if resolution.others:
            names = " and ".join(f"{c.name} ({c.external_id})" for c in resolution.others)
            raise _Stop(
                f"That names more than one customer: {names}. Which one do you mean? Send one request per customer. "
                f"{single}",
                "several customers",
            )
        if resolution.customer is not None:
            return resolution.customer
        if resolution.ambiguous and len(resolution.ambiguous) == 1:
            only = resolution.ambiguous[0]
            raise _Stop(
                f"“{resolution.query}” is not a customer's name; did you mean {only.name} ({only.external_id})? Reply "
                "with the full name or the id. Nothing was answered.",
                "ambiguous customer",
            )
        if resolution.ambiguous:
            names = answers.bullets([f"{c.name} ({c.external_id})" for c in resolution.ambiguous])
            raise _Stop(
                f"“{resolution.query}” matches several customers:\n{names}\nWhich one do you mean? Reply with the "
                "name (or “the first one”, “the second one”).",
                "ambiguous customer",
            )
        if resolution.not_found:
            raise _Stop(
                f"I couldn't find a customer matching “{resolution.not_found}”. Check the spelling, or give the "
                "customer id or external id.",
                "customer not found",
            )
        raise _Stop("Which customer do you mean? Give a name, an id or an external id.", "customer missing")

    def resolve(self, *, extra_stop: frozenset[str], use_history: bool, single: bool = False) -> _Resolution:
        pick = PICK_RE.match(self.text)
        ordinal = ORDINAL_RE.search(self.text)
        listed = self.listed() if pick or ordinal else []
        if listed and pick:
            index = ORDINAL_PICK[pick.group(1).lower()] if pick.group(1) else int(pick.group(2)) - 1
            if -len(listed) <= index < len(listed):
                return _Resolution(customer=listed[index])
        explicit_id = CUSTOMER_ID_RE.search(self.text)
        queries: list[tuple[str, bool]] = []
        if explicit_id:
            self.spans.add(*explicit_id.span())
            queries.append((next(g for g in explicit_id.groups() if g), True))
        if listed and ordinal and not explicit_id:
            word = ordinal.group(1) or ordinal.group(2)
            index = ORDINAL_PICK[word.lower()] if word else int(ordinal.group(3)) - 1
            if -len(listed) <= index < len(listed):
                self.spans.add(*ordinal.span())
                return _Resolution(customer=listed[index])
        if use_history and _THE_ONE_RE.search(self.text) and list_call(self.history) is not None:
            # "the canadian one" after "coral leaf matches several customers": the one in that country
            in_country = listed_in_countries(self.history, self.countries(vocabulary(self.request.database_url)))
            if len(in_country) == 1:
                return _Resolution(customer=in_country[0])
        group_word = self.customer_group()
        for candidate in self.usable(name_candidates(self.text, self.non_name_spans(), extra_stop)):
            if group_word:  # "Acme group": the family is found by its name; "group" would match every "… Group Ltd"
                stripped = re.sub(r"\s*\bgroup\b\s*", " ", candidate.text, flags=re.IGNORECASE).strip()
                if stripped and stripped != candidate.text:
                    queries.append((candidate.text, candidate.name_like))
                    queries.append((stripped, candidate.name_like))
                    continue
            queries.append((candidate.text, candidate.name_like))
        not_found: str | None = None
        weak_not_found: str | None = None
        suggestion: _Resolution | None = None
        for position, (query, name_like) in enumerate(queries[:5]):
            result = self.call("resolve_customer", {"query": query[:200]})
            if result["status"] == "resolved":
                found = result["customer"]
                if group_word and found.get("parent_id") is not None:
                    return _Resolution(customer=CustomerRef(str(found["parent_id"]), found.get("parent_name")))
                if single:
                    named = self.also_named(query, customer_ref(found), [q for q, _ in queries[position + 1 : 6]])
                    if len(named) > 1:
                        return _Resolution(others=named)
                return _Resolution(customer=customer_ref(found))
            if result["status"] == "ambiguous":
                matches: list[dict[str, Any]] = [c["customer"] for c in result["candidates"]]
                group_head = self.group_head(matches)
                if group_head is not None:
                    return _Resolution(customer=customer_ref(group_head))
                if group_word and re.search(r"\bgroup\b", query, re.IGNORECASE):
                    continue  # try the name without "group"
                if len(matches) == 1 or not any(c["matched_on"] in _WHOLE_WORD_MATCHES for c in result["candidates"]):
                    # near spellings only, for words that are no name ("hooli's line", "recomended", "limit reco
                    # for peakworth"): the other runs, or a shorter run of these words, may name the customer
                    # exactly; else the suggestions are asked
                    suggestion = suggestion or _Resolution(ambiguous=[customer_ref(c) for c in matches], query=query)
                    continue
                return _Resolution(ambiguous=[customer_ref(c) for c in matches], query=query)
            if name_like and not_found is None:
                not_found = query
            elif weak_not_found is None:
                weak_not_found = query
        part = self.resolve_part([query for query, _ in queries[:5]]) or self.resolve_widened(
            [query for query, _ in queries[:3]]
        )
        if part is not None:
            return _Resolution(customer=part)
        if suggestion is not None:
            return suggestion
        if not_found:
            return _Resolution(not_found=not_found)
        if use_history:
            previous = last_customer(self.history)
            if previous is not None:
                return _Resolution(customer=previous)
        return _Resolution(not_found=weak_not_found)

    def non_name_spans(self) -> Spans:
        """The explained spans plus the amounts, dates and document numbers not read yet: "could they take a 10k
        order", "log it for INV-2026-0000222", "on leave until the 30th" name no customer."""
        spans = Spans(list(self.spans.ranges))
        money_mentions(self.text, spans)
        date_mentions(self.text, self.today, spans)
        for pattern in (INVOICE_RE, ORDER_RE, DISPUTE_ID_RE):
            for match in pattern.finditer(self.text):
                spans.add(*match.span())
        return spans

    def look_up(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tool's answer without recording it as part of the reply (probing what the words may mean)."""
        try:
            result = call_tool(name, arguments, self.ctx)
        except CreditDeskError:
            return {"status": "not_found"}
        return result.model_dump(mode="json") if isinstance(result, BaseModel) else dict(result)

    def resolve_part(
        self, queries: list[str], lookup: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    ) -> CustomerRef | None:
        """A run of words that named nobody may hold a name among words no rule explained ("deepstar's track
        record", "share of Soylent's"): its shorter runs, those keeping the first word first, are looked up too;
        only a clear match counts."""
        tried = 0
        for query in queries:
            words = query.split()
            parts = [" ".join(words[:n]) for n in range(len(words) - 1, 0, -1)]
            parts += [" ".join(words[n:]) for n in range(1, len(words))]
            inner = [run for run in self.name_word_runs(words) if run not in parts]
            for part in inner + sorted(parts, key=lambda p: -len(p.split())):
                if tried >= MAX_PART_LOOKUPS:
                    return None
                if len(part.split()) == 1 and is_filler_run(part):
                    continue  # one common word ("still") names no one; two may lead a name ("ash haven")
                tried += 1
                result = (lookup or self.call)("resolve_customer", {"query": part[:200]})
                if result["status"] != "resolved":
                    continue
                # Words left out that no name needs ("track record"), or a part that is a name's own whole words
                # ("rescore vandelay imports", "initech usually settle"); a near spelling of a part is not enough.
                rest = query.replace(part, " ", 1)
                how = result["candidates"][0]["matched_on"] if result.get("candidates") else ""
                if is_filler_run(rest) or how in _WHOLE_WORD_MATCHES:
                    return customer_ref(result["customer"])
        return None

    def name_word_runs(self, words: list[str]) -> list[str]:
        """The runs of `words` that are all words of some customer's name, one of them distinctive, inside a longer
        run ("gave Jansen Brands net 60 instead" → "Jansen Brands"), longest first."""
        if len(words) < 3:
            return []
        keys = [_name_word_key(word) for word in words]
        known = self.name_words(words)
        runs: list[list[int]] = []
        for index, key in enumerate(keys):
            if key not in known:
                continue
            if runs and runs[-1][-1] == index - 1:
                runs[-1].append(index)
            else:
                runs.append([index])
        found = [
            " ".join(words[i] for i in run)
            for run in runs
            if len(run) < len(words) and any(distinctive_word(keys[i]) for i in run)
        ]
        return sorted(found, key=lambda run: -len(run.split()))

    def name_word_stats(self, words: list[str]) -> dict[str, NameWord]:
        with read_session(self.request.database_url) as session:
            return customer_name_word_stats(session, words)

    def name_words(self, words: list[str]) -> set[str]:
        """Those of the words (as keys) that are a word of some customer's name, remembered for the turn."""
        keys = [_name_word_key(word) for word in words]
        missing = [key for key in dict.fromkeys(keys) if key and key not in self._name_words]
        if missing:
            with read_session(self.request.database_url) as session:
                known = customer_name_words(session, missing)
            self._name_words.update({key: key in known for key in missing})
        return {key for key in keys if self._name_words.get(key)}

    def resolve_widened(
        self,
        runs: list[str],
        lookup: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
        spans: Spans | None = None,
    ) -> CustomerRef | None:
        """A name holding request words ("New Worth Systems": "new" and "worth" end a run): the run grown over the
        words around it, kept only when every word of it is the customer's own. The tries are not recorded; with no
        `lookup` given, the one that found the customer is."""
        tried = 0
        for run in runs:
            for grown in widened_runs(self.text, spans or self.spans, run):
                if len(self.name_words(grown.split())) < len({_name_word_key(w) for w in grown.split()}):
                    continue  # a word around the run that is in no customer's name: no name holds it
                if tried >= MAX_WIDENED_LOOKUPS:
                    return None
                tried += 1
                result = self.look_up("resolve_customer", {"query": grown[:200]})
                if result["status"] != "resolved":
                    continue
                found = result["customer"]
                if set(query_key(grown).split()) <= set(query_key(str(found.get("name") or "")).split()):
                    if lookup is None:  # the lookup that found the customer is part of the answer's record
                        found = self.call("resolve_customer", {"query": grown[:200]})["customer"]
                    return customer_ref(found)
        return None

    def also_named(self, query: str, found: CustomerRef, rest: list[str]) -> list[CustomerRef]:
        """Every customer the text names clearly, `found` first: "Wayne and Globex", "Acme …, Olsen International …".
        The words of a name that matched whole ("Sorensen & Garcia") are not looked up again on their own."""
        named = [found]
        whole = query_key(query)
        whole_is_name = bool(whole) and whole in query_key(found.name or "")
        for other in rest:
            if whole_is_name and query_key(other) in whole:
                continue
            result = self.call("resolve_customer", {"query": other[:200]})
            if result["status"] == "resolved":
                ref = customer_ref(result["customer"])
                if all(ref.id != seen.id for seen in named):
                    named.append(ref)
        return named

    def group_head(self, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
        """ "Acme group": among the matches, the one customer the others belong to."""
        if not re.search(r"\bgroup\b", self.text, re.IGNORECASE):
            return None
        ids = {c.get("id") for c in candidates}
        heads = [
            c
            for c in candidates
            if c.get("parent_id") is None
            and all(other.get("parent_id") == c.get("id") for other in candidates if other is not c)
        ]
        if len(heads) == 1 and len(ids) > 1:
            return heads[0]
        # "Acme group" among other near matches: the one parent whose children are also among the matches
        families = [
            c
            for c in candidates
            if c.get("parent_id") is None and any(other.get("parent_id") == c.get("id") for other in candidates)
        ]
        return families[0] if len(families) == 1 else None

    # --- intents: reading ------------------------------------------------------------------------------------------

    def help(self) -> str:
        return answers.HELP

    def out_of_scope(self) -> str:
        nearest = []
        for intent, _ in (self.understood.readings if self.understood else [])[:4]:
            capability = by_intent(intent.value)
            if capability is not None and capability.people and intent is not Intent.OUT_OF_SCOPE:
                nearest.append(capability.people)
        offer = "; ".join(nearest[:3]) if nearest else "credit questions about customers and the book"
        return (
            "I can't do that: it is outside what the credit desk does (I answer credit and collections questions "
            f"and propose changes that a person approves). Nothing was done. Nearest things I can do: {offer}. "
            "Ask “help” for the full list."
        )

    def invoice(self) -> str:
        numbers = invoice_numbers(self.text, self.spans) or bare_invoice_numbers(self.text, self.spans)
        previous = last_call(self.history, "get_invoice")
        if not numbers and previous is not None:
            numbers = [previous.arguments["number"]]  # "what was it at end of june?" after an invoice lookup
        if not numbers:
            raise _Stop("Which invoice? Give its number (e.g. INV-2026-01234).", "invoice number missing")
        as_of = self.as_of()
        parts = []
        for number in numbers[:3]:
            args: dict[str, Any] = {"number": number}
            if as_of:
                args["as_of"] = as_of
            parts.append(answers_lookup.invoice(self.call("get_invoice", args)))
        return "\n\n".join(parts)

    def customer_lookup(self, tool_name: str) -> str:
        as_of = self.as_of()
        customer = self.customer()
        args: dict[str, Any] = {"customer": customer.reference}
        if as_of:
            args["as_of"] = as_of
        result = self.call(tool_name, args)
        if tool_name == "get_payment_behaviour":
            return answers_lookup.payment_behaviour(result)
        return answers_lookup.promise_history(result)

    def find_customer(self) -> str:
        customer = self.customer()
        found = next(
            (
                call.result["customer"]
                for call in reversed(self.calls)
                if call.name == "resolve_customer" and call.result and call.result.get("customer")
            ),
            None,
        )
        if found is None:  # named by the thread or a list: look it up by its id
            found = self.call("resolve_customer", {"query": customer.reference})["customer"]
        return answers_lookup.customer_card(found)

    def pending_approvals(self) -> str:
        """ "what's waiting for my approval?", "any limit changes from ash to sign off?", "just the limit ones"."""
        args: dict[str, Any] = {}
        previous = last_call(self.history, "list_pending_approvals", only_last_reply=True)
        if previous is not None and _NARROW_RE.match(self.text):
            args = dict(previous.arguments)
        kinds = [action for pattern, action in _PROPOSAL_KINDS if pattern.search(self.text)]
        if len(kinds) == 1:
            args["kind"] = kinds[0]
        proposer = re.search(r"\b(?:from|by)\s+(\w+)", self.text, re.I)
        if proposer:
            staff = match_staff(proposer.group(1), vocabulary(self.request.database_url), Spans())
            if staff:
                args["proposed_by"] = staff[0]
        return answers_lookup.pending_approvals(self.call("list_pending_approvals", args))

    def unknown(self) -> str:
        return "I didn't understand that request, so I did nothing.\n\n" + answers.HELP

    def exposure(self) -> str:
        as_of = self.as_of()
        customer = self.customer()
        args: dict[str, Any] = {"customer": customer.reference}
        if as_of:
            args["as_of"] = as_of
        result = self.call("get_customer_exposure", args)
        if self.request.actor.role == Role.SALES:
            return answers.exposure(result, ageing=False, sales_view=True)
        ageing = bool(re.search(r"\bag(?:e)?ing\b|\baged\b|\bbuckets?\b|\boverdue\b|\bpast due\b", self.text, re.I))
        return answers.exposure(result, ageing=ageing, group_members=self.customer_group() is not None)

    def status(self) -> str:
        as_of = self.as_of()
        customer = self.customer()
        args: dict[str, Any] = {"customer": customer.reference}
        if as_of:
            args["as_of"] = as_of
        result = self.call("get_customer_exposure", args)
        if self.request.actor.role == Role.SALES:
            return answers.exposure(result, ageing=False, sales_view=True)
        return answers.status(result)

    def release_check(self) -> str:
        orders = order_numbers(self.text, self.spans)
        self.dates(used=False)  # "today", "on Friday": the check is always for today; keep them out of names/amounts
        amount = None if orders else self.amount()
        reference: CustomerRef | None = None
        if orders and not any(
            status == "resolved" or candidate.name_like for candidate, status in self.name_statuses()
        ):  # "does so-0000054 pass credit?", "SO-14 ship y/n": the order names its customer; "pass" names no one
            owner = order_customer(self.request.database_url, orders[0])
            if owner is None:
                raise _Stop(f"I couldn't find order {orders[0]}.", "order not found")
            reference = CustomerRef(str(owner))
        customer = reference or self.customer()
        args: dict[str, Any] = {"customer": customer.reference}
        if orders:
            args["order_number"] = orders[0]
        elif amount is not None:
            args["order_amount"] = str(amount.amount)
            currency = self.currency_of(amount, customer, None, "Nothing was checked.")
            if currency:
                args["currency"] = currency
        else:
            previous = last_call(self.history, "check_order_release")
            if previous and previous.arguments.get("order_amount"):
                args["order_amount"] = previous.arguments["order_amount"]
                if previous.arguments.get("currency"):
                    args["currency"] = previous.arguments["currency"]
            elif (only := self.the_held_or_open_order(customer)) is not None:
                args["order_number"] = only
            else:
                result = self.call("get_customer_exposure", {"customer": customer.reference, "include_group": False})
                return (
                    answers.exposure(result, ageing=False, sales_view=True)
                    if self.request.actor.role == Role.SALES
                    else answers.status(result)
                ).replace(
                    "for a specific order ask whether it can ship, with its amount.", ""
                ) + "\nTell me the order amount (or order number) for a release check."
        return answers.release(self.call("check_order_release", args))

    def score(self) -> str:
        for match in _HISTORY_POINTS_RE.finditer(self.text):
            self.spans.add(*match.span())
        earlier = self.score_compared_with()
        as_of = self.as_of()
        if earlier is None and as_of is not None and NOW_RE.search(self.text):
            earlier, as_of = as_of, None  # "what class is X now, and what was it at the end of june?"
        risk_classes(self.text, self.spans)  # "why is X a D": the class letter is not part of the name
        customer = self.customer(extra_stop=frozenset({"a", "b", "c", "d", "e"}))
        points = _HISTORY_POINTS_RE.search(self.text)
        args: dict[str, Any] = {"customer": customer.reference, "history_points": int(points.group(1)) if points else 3}
        if as_of:
            args["as_of"] = as_of
        if earlier is not None and earlier < (as_of or self.today):
            args["compare_to"] = earlier
        explain = bool(re.search(r"\bwhy\b|\bexplain\b|\bfactors?\b|\bbreakdown\b|\bhow come\b", self.text, re.I))
        return answers.score(self.call("score_customer", args), explain=explain)

    def score_compared_with(self) -> date | None:
        """The earlier date a score question compares with: "since last month", "vs end of Q3", "moved since
        31/10"."""
        named = compared_date(self.text, self.today, self.spans)  # "compared to a month ago": that very day
        if named is not None:
            return named[0]
        compared = comparison(self.text, self.spans)
        if compared is not None:
            earlier: date = earlier_arguments({}, compared, self.today)["as_of"]
            return earlier
        return None

    def limit_recommend(self) -> str:
        terms = terms_days(self.text, self.spans)  # "net 60 instead": no amount, no name
        as_of = self.as_of()
        customer = self.customer()
        args: dict[str, Any] = {"customer": customer.reference}
        if as_of:
            args["as_of"] = as_of
        if terms:
            args["what_if_terms_days"] = terms
        return answers.limit_recommendation(self.call("recommend_credit_limit", args), what_if=terms)

    def worklist(self) -> str:
        vocab = vocabulary(self.request.database_url)
        args: dict[str, Any] = {"page_size": 10}
        previous = last_call(self.history, "build_worklist", only_last_reply=True)
        if previous is not None and NEXT_PAGE_RE.match(self.text):
            args = dict(previous.arguments)
            page = first_int(PAGE_RE, self.text, self.spans)
            args["page"] = page or int(args.get("page", 1)) + 1
            return answers.worklist(self.call("build_worklist", args))
        if previous is not None and _NARROW_RE.match(self.text):
            args = {k: v for k, v in previous.arguments.items() if k != "page"}
        collectors = match_staff(self.text, vocab, self.spans, roles=frozenset({"collector"}))
        if self.request.actor.role == Role.COLLECTOR:
            collectors = [c for c in collectors if c != self.request.actor.name]
        if len(collectors) == 1:
            args["collector"] = collectors[0]
        elif collectors:
            args["collectors"] = collectors
        regions = match_values(self.text, vocab.regions, REGION_ALIASES, self.spans)
        if regions:
            args["region"] = regions[0]
        self.refuse_places(self.places(), regions=vocab.regions)
        top = first_int(TOP_N_RE, self.text, self.spans)
        if top:
            args["page_size"] = max(1, min(top, 100))
        page = first_int(PAGE_RE, self.text, self.spans)
        if page:
            args["page"] = page
        classes = risk_classes(self.text, self.spans)
        if classes:
            args["risk_classes"] = classes
        found = self.dates(used=False)
        if len(found) == 1 and found[0].problem is None and found[0].day < self.today:
            args["as_of"] = found[0].day  # "my list as it stood last friday"
        minimum = self.amount()
        if minimum is not None:
            args["min_amount"] = str(minimum.amount)
        return answers.worklist(self.call("build_worklist", args))

    def dunning_draft(self) -> str:
        as_of = self.as_of()
        level = self.level()
        tone = next((TONES[w] for w in re.findall(r"[a-z]+", self.text.lower()) if w in TONES), None)
        if tone == "final" and level is not None:
            tone = None
        customer = self.customer(extra_stop=frozenset(TONES))
        args: dict[str, Any] = {"customer": customer.reference}
        if as_of:
            args["as_of"] = as_of
        if level is not None:
            args["level"] = level
        if tone:
            args["tone"] = tone
        return answers.dunning(self.call("draft_dunning_message", args))

    def level(self) -> int | None:
        found = first_int(LEVEL_RE, self.text, self.spans)
        if found is not None:
            return found
        lowered = self.text.lower()
        for words, value in LEVEL_WORDS.items():
            if words in lowered:
                start = lowered.index(words)
                self.spans.add(start, start + len(words))
                return value
        return None

    def dispute(self) -> str:
        numbered = DISPUTE_ID_RE.search(self.text)
        if numbered and numbered.group(1) is None and list_call(self.history) is not None:
            dispute_id = None  # "#2" right after a list is the second customer on it, not dispute 2
        else:
            dispute_id = first_int(DISPUTE_ID_RE, self.text, self.spans)
        if dispute_id is not None:
            return answers.disputes(self.call("summarize_dispute", {"dispute_id": dispute_id}))
        invoices = invoice_numbers(self.text, self.spans)
        as_of = self.as_of()
        args: dict[str, Any] = {}
        if invoices and not self.usable(name_candidates(self.text, self.spans)):
            owners = invoice_customers(self.request.database_url, invoices[0])
            if len(owners) != 1:
                raise _Stop(f"Which customer is invoice {invoices[0]} for?", "invoice customer unknown")
            customer = CustomerRef(str(owners[0]))
        else:
            customer = self.customer()
        args["customer"] = customer.reference
        if invoices:
            args["invoice_number"] = invoices[0]
        if as_of:
            args["as_of"] = as_of
        return answers.disputes(self.call("summarize_dispute", args))

    def portfolio(self) -> str:
        vocab = vocabulary(self.request.database_url)
        text = self.text
        lowered = text.lower()
        args: dict[str, Any] = {}
        previous = last_call(self.history, "get_portfolio_summary")
        if measure_unnamed(text) and previous is None:
            self.ask_measure()
        if previous is not None and (FOLLOW_UP_RE.match(text) or _LIST_THEM_RE.match(text) or _REFINE_RE.match(text)):
            args = {k: v for k, v in previous.arguments.items() if k not in ("chart",)}
        if previous is not None and _LIST_THEM_RE.match(text):
            args.update(group_by="customer", top_n=max(int(args.get("top_n", 0) or 0), 50))
        group = GROUP_BY_RE.search(text)
        if group and group.group(1).lower() not in ("country", "countries"):  # no country split: a filter only
            self.spans.add(*group.span())
            key = group.group(1).lower().replace(" ", "_")
            args["group_by"] = "risk_class" if key in ("class", "risk_class") else key
        elif re.search(r"\b(?:every|each)\s+(?:single\s+)?(?:customer|account|client|debtor)|\blist\s+(?:all|every)\b"
                       r"|\bcustomer[- ]by[- ]customer\b", text, re.I):  # fmt: skip
            args["group_by"] = "customer"  # "every customer's balance": one row per customer (the largest first)
            args.setdefault("top_n", 50)
        top = first_int(TOP_N_RE, text, self.spans)
        if top:
            args["top_n"] = max(1, min(top, 50))
        # before dates: "since last week" is the earlier date, not as-of; "a month ago" is that day, not a month-end
        compared_on = compared_date(text, self.today, self.spans) if _AGO_RE.search(text) else None
        compared = comparison(text, self.spans) if compared_on is None else None
        compared_on = compared_on or (None if compared is not None else compared_date(text, self.today, self.spans))
        measure = rank_measure(text)
        if measure is not None:
            args["rank_by"] = measure
        if asks_for_one(text) and "top_n" not in args:
            args["top_n"] = 1
        if counts_invoices(text):
            args["count_open_invoices"] = True
        window = sales_window_months(text, self.spans)  # before day ranges: "90 days of sales" is no age filter
        if over_limit(text, self.spans):
            args["over_limit"] = True
        found = self.reporting_dates()  # before day ranges: "2035-01" is no bucket
        if found:
            mention = found[0]
            if mention.day < self.today or mention.period_start is None:
                args["as_of"] = mention.day
            if mention.period_start is not None and mention.day >= self.today:
                args["period_start"] = mention.period_start
            elif mention.period_months is not None:
                args["period_months"] = max(1, min(mention.period_months, 6))
        if window is not None and "period_start" not in args:
            args["period_months"] = window
        share_over = re.search(r"(?:%|\b(?:percent\w*|share|proportion)\b).{0,40}"
                               r"\b(?:over|above|more than)\s+90\b|\b(?:over|above) 90\b.{0,20}(?:%|percent)",
                               text, re.I)  # fmt: skip
        dpd = None if share_over else dpd_range(text, self.spans)
        if dpd is not None:
            if dpd.minimum is not None:
                args["min_days_past_due"] = dpd.minimum
            if dpd.maximum is not None:
                args["max_days_past_due"] = dpd.maximum
        regions = match_values(text, vocab.regions, REGION_ALIASES, self.spans)
        if regions:
            args["regions"] = regions
        segments = match_values(text, vocab.segments, SEGMENT_ALIASES, self.spans)
        if segments:
            args["segments"] = segments
        collectors = match_staff(text, vocab, self.spans, roles=frozenset({"collector"}))
        if collectors:
            args["collectors"] = collectors
        countries = self.countries(vocab)
        if countries:
            args["countries"] = countries
        classes = risk_classes(text, self.spans)
        if classes:
            args["risk_classes"] = classes
        currencies = re.findall(r"\b(?:in|only)\s+([A-Z]{3})\b(?:\s+only)?|\b([A-Z]{3})\s+(?:items|invoices|receivables"
                                r"|balances|customers|accounts|book)\b", text)  # fmt: skip
        picked = [c for pair in currencies for c in pair if c and c in vocab.currencies]
        if picked:
            args["currencies"] = picked
        if re.search(
            r"\bbroken\s+promises?\b|\bpromises?\s+(?:were\s+)?broken\b|\bbroke (?:a |their )?promise", text, re.I
        ):
            args["broken_promise_in_period"] = True
        if EXCLUDE_DISPUTED_RE.search(text):
            args["exclude_disputed"] = True
        minimum = re.search(
            r"\b(?:owing|balances?|owe)\s+(?:of\s+)?(?:at least|over|above|more than|>=?)\s*", text, re.I
        )
        if minimum or (lists_customers(text) and re.search(r"\b(?:more|over|above|at least)\b", text, re.I)):
            amount = self.amount()
            if amount is not None:
                args["min_balance"] = str(amount.amount)
        review_due_by = self.review_due_by or (self.today if _REVIEWS_DUE_NOW_RE.search(text) else None)
        if review_due_by is not None:
            args["review_due_by"] = review_due_by
        if "group_by" not in args and (
            (lists_customers(text) and (args.get("over_limit") or args.get("min_balance"))) or review_due_by
        ):
            args["group_by"] = "customer"  # "who owes us more than 750k": the customers, largest first
            args.setdefault("top_n", 50)
        trend = re.search(r"\btrend\w*\b|\bover time\b|\bhistory\b|\bmonth by month\b", lowered)
        months = re.search(r"\b(?:over|for|last)\s+(\d{1,2})\s+months\b", lowered)
        if trend and months:
            args["trend_months"] = max(0, min(int(months.group(1)), 12))
        if re.search(r"\bchart\b|\bgraph\b|\bplot\b|\bvisual\w*\b|\bpicture\b", lowered):
            args["chart"] = "trend" if trend else "group" if args.get("group_by") else "ageing"
        focus = self.portfolio_focus(lowered, args)
        if compared is not None:
            asked_months = (found[0].period_months or period_length(found[0].label)) if found else None
            earlier = earlier_arguments(args, compared, self.today, asked_months)
            args["compare_to"] = earlier["as_of"]
            if earlier.get("period_start"):
                args["compare_period_start"] = earlier["period_start"]
        if compared is None and compared_on is None and args.get("as_of") and _VS_NOW_RE.search(text):
            compared_on = (args.pop("as_of"), "vs now")  # "open AR at end of Q3 vs now": now, and then
        if compared_on is not None and compared_on[0] < (args.get("as_of") or self.today):
            args["compare_to"] = compared_on[0]
            compared = Comparison(unit=None, label=compared_on[1])
        result = self.call("get_portfolio_summary", args)
        if result.get("chart"):
            self.charts.append(result["chart"]["path"])
        whole = bool(BOOK_WORDS_RE.search(text) or re.search(r"\bportfolio\b|\bcompany\b|\bour\b", text, re.I))
        answer = answers.portfolio(result, focus=focus, whole_book_asked=whole)
        missing = [part for part in not_applied(text) if not (args.get("review_due_by") and "review" in part)]
        if missing:
            answer = "**Not applied** — " + "; ".join(missing) + ".\n\n" + answer
        if compared is None or not result.get("compared"):
            return answer
        return answer + "\n\n" + answers_compare.comparison(result, result["compared"], focus, compared.label)

    def ask_measure(self) -> None:
        """Which figure, as choices: each re-asks the question with its measure named."""
        capability = by_intent(Intent.PORTFOLIO.value)
        assert capability is not None
        readings = [("open receivables", "open AR"), ("overdue", "overdue"), ("DSO", "DSO")]
        self.choices = [
            Choice(number=n, label=label, capability=capability.name, text=f"{self.text} ({word})")
            for n, (label, word) in enumerate(readings, start=1)
        ]
        lines = "\n".join(f"{c.number}. {c.label}" for c in self.choices)
        raise _Stop(f"Which figure do you mean?\n{lines}\nReply with the number. Nothing was answered.", None)

    def countries(self, vocab: Any) -> list[str]:
        """Countries named in the text as the book stores them ("UK customers" -> GB); a country the book has no
        customers in is still a filter, and the answer says it matched nothing. An area ("Latin America") is no
        country: the turn ends saying to ask by region."""
        names = place_names()
        areas = area_names()
        places = self.places()
        self.refuse_places([p for p in places if p.casefold() in areas], regions=vocab.regions)
        codes = []
        for place in places:
            code = names.get(place.casefold(), place.upper())
            if code not in codes:
                codes.append(code)
        return codes

    @staticmethod
    def portfolio_focus(lowered: str, args: dict[str, Any]) -> list[str]:
        focus = []
        checks = [
            ("dso", r"\bdso\b|\bdays sales\b|\bbpdso\b|\badd\b|\bdelinquen"),
            ("cei", r"\bcei\b|\bcollection effectiveness\b"),
            ("ageing", r"\bag(?:e)?ing\b|\baged\b|\bbuckets?\b"),
            ("top", r"\btop\b|\blargest\b|\bbiggest\b|\bowes?\b.{0,20}\bmost\b|\bhighest\b"),
            ("concentration", r"\bconcentrat"),
            ("trend", r"\btrend|\bover time\b|\bmonth by month\b"),
            ("current", r"% ?current|\bpercent(?:age)? current\b|\bover 90\b|\b90\+"),
            ("promises", r"\bpromises? kept\b|\bkept rate\b|\bpromise performance\b"),
            ("disputes", r"\bdisput\w* cycle\b|\bdisputes? resolved\b"),
        ]
        for name, pattern in checks:
            if re.search(pattern, lowered):
                focus.append(name)
        if args.get("group_by") and not focus:
            focus.append("ageing")
        if args.get("min_days_past_due") is not None or "exposure" in lowered:
            focus.insert(0, "exposure")
        if args.get("count_open_invoices"):
            focus.insert(0, "invoices")
        if args.get("rank_by") or (args.get("top_n") == 1 and "top" not in focus):
            focus.append("top")
        return focus

    # --- intents: proposals ----------------------------------------------------------------------------------------

    def require_credit_role(self) -> None:
        if self.request.actor.role not in CREDIT_ROLES:
            return  # the registry refuses with its own message

    def limit_propose(self) -> str:
        nothing = "Nothing was proposed."
        # "… for the Q1 rollout, review date 31/03/2027": with a review date stated, other dates are talk
        reviewed = self.review_date() is not None
        found = self.dates(used=not reviewed)
        if reviewed:
            found = []
        amounts = self.amounts(decrease=lambda mention: signed_decrease(self.text, mention))
        self.one_of_each(amounts, found, what="a limit change is one amount", nothing=nothing)
        amount = self.only_amount(amounts)
        customer = self.customer(single=nothing)
        recommendation = self.call("recommend_credit_limit", {"customer": customer.reference})
        currency = recommendation["currency"]
        if amount is not None:
            if not amount.fits(currency):
                raise _Stop(
                    f"{recommendation['customer']['name']}'s limit is kept in {currency}, not "
                    f"“{amount.stated_currency}”; give the amount in {currency}. {nothing}",
                    "currency mismatch",
                )
            target = (
                {"change_by": str(-amount.amount)} if amount.negative else self._stated_limit(amount, recommendation)
            )
            reason = f"Requested by {self.request.actor.name} via the assistant (recommendation reviewed)."
            stated = stated_reason(self.text)
            if stated:
                reason = f"{stated} (requested by {self.request.actor.name} via the assistant)"
        elif recommendation.get("recommended_limit") is not None:
            target = {"new_limit": str(recommendation["recommended_limit"])}
            reason = (
                f"Policy recommendation ({recommendation['binding_constraint'] or 'median'} binding), requested by "
                f"{self.request.actor.name} via the assistant."
            )
        else:
            raise _Stop(
                answers.limit_recommendation(recommendation) + "\nGive the new limit you want to propose.",
                "no recommendation",
            )
        if (
            recommendation.get("current_limit") is not None
            and "new_limit" in target
            and Decimal(str(recommendation["current_limit"])) == Decimal(target["new_limit"])
        ):
            return (
                f"The limit of {answers.customer_label(recommendation['customer'])} is already "
                f"{answers.money(recommendation['current_limit'], currency)}; nothing to propose."
            )
        review = self.review_date()
        result = self.call(
            "propose_credit_limit_change",
            {"customer": customer.reference, **target, "reason": reason, **({"review_date": review} if review else {})},
        )
        if recommendation.get("recommended_limit") is None:
            head = "No policy recommendation.\n"
        elif amount is not None:  # the proposal states its own approver; the recommendation is for reference only
            recommended = answers.money(recommendation["recommended_limit"], currency)
            head = f"For reference, the policy recommends {recommended}.\n"
        else:
            head = (
                f"Recommended limit {answers.money(recommendation['recommended_limit'], currency)}; "
                f"{recommendation['authority_explanation']}.\n"
            )
        return head + answers.proposal(result, currency=currency)

    def review_date(self) -> date | None:
        """ "review in 6 months", "review 31/03/2027": the next review the user asks for (a day after today)."""
        for match in _REVIEW_RE.finditer(self.text):
            found = date_at(self.text, match.end(), self.today, future=True)
            if found is not None and found[0].day > self.today:
                return found[0].day
        return None

    def _stated_limit(self, amount: MoneyMention, recommendation: dict[str, Any]) -> dict[str, str]:
        """The change the user asked for, as the limit tool's arguments: a new limit (`new_limit`) or a move of the
        current one (`change_by`, which the tool applies to the limit it reads); asks when the wording allows both."""
        kind = limit_change_kind(self.text, amount)
        currency = recommendation["currency"]
        current = Decimal(str(recommendation.get("current_limit") or 0))
        if kind == "absolute":
            said = stated_direction(self.text)
            actual = "up" if amount.amount > current else "down" if amount.amount < current else None
            if said is not None and actual is not None and said != actual and recommendation.get("current_limit"):
                # "raise Wayne's limit to 100k" when it is 1.7m: the verb and the figure disagree; never pick one
                result = "lower" if actual == "down" else "raise"
                raise _Stop(
                    f"{answers.customer_label(recommendation['customer'])}'s limit is "
                    f"{answers.money(current, currency)}; {answers.money(amount.amount, currency)} would {result} it, "
                    f"but you asked to {'raise' if said == 'up' else 'lower'} it. Did you mean a new limit of "
                    f"{answers.money(amount.amount, currency)}, or a change by that amount? Say “set … to "
                    f"{amount.amount:,.0f}” or “{'raise' if said == 'up' else 'lower'} … by {amount.amount:,.0f}”. "
                    "Nothing was proposed.",
                    "limit direction contradicts",
                )
            return {"new_limit": str(amount.amount)}
        if kind == "unclear":
            lower = sounds_like_a_decrease(self.text)
            moved = current - amount.amount if lower else current + amount.amount
            raise _Stop(
                f"Do you mean a new limit of {answers.money(amount.amount, currency)}, or the current "
                f"{answers.money(current, currency)} {'lowered' if lower else 'raised'} by "
                f"{answers.money(amount.amount, currency)} to {answers.money(moved, currency)}? Say “to "
                f"{amount.amount:,.0f}” or “by {amount.amount:,.0f}”. Nothing was proposed.",
                "unclear limit change",
            )
        change = amount.amount if kind == "increase" else -amount.amount
        if current + change <= 0:
            raise _Stop(
                f"{answers.customer_label(recommendation['customer'])}'s limit is {answers.money(current, currency)}; "
                f"lowering it by {answers.money(amount.amount, currency)} would take it to zero or below. Nothing "
                "was proposed.",
                "limit below zero",
            )
        return {"change_by": str(change)}

    def dunning_send(self) -> str:
        level = self.level()
        customer = self.customer(extra_stop=frozenset(TONES), single="Nothing was proposed.")
        if level is None:
            draft = last_call(self.history, "draft_dunning_message")
            if draft is not None and draft.arguments.get("level") is not None:
                same = draft.result and str(draft.result["customer"]["id"]) == customer.reference
                if same:
                    level = int(draft.arguments["level"])
        args: dict[str, Any] = {"customer": customer.reference}
        if level is not None:
            args["level"] = level
        return answers.proposal(self.call("propose_dunning_send", args))

    def dispute_update(self) -> str:
        dispute_id = first_int(DISPUTE_ID_RE, self.text, self.spans) or self.dispute_of_the_thread()
        if dispute_id is None:
            raise _Stop("Which dispute? Give its number, e.g. “dispute #…”.", "dispute missing")
        args: dict[str, Any] = {"dispute_id": dispute_id}
        lowered = self.text.lower()
        if re.search(r"\bin[ _-]review\b|\breview(?:ing)?\b", lowered):
            args["status"] = "in_review"
        elif re.search(r"\breject", lowered):
            args["status"] = "rejected"
        elif re.search(r"\bresolv|\bclose|\baccept|\bsettled?\b", lowered):
            args["status"] = "resolved"
        elif re.search(r"\bre-?open", lowered):
            args["status"] = "open"
        resolution = re.search(r"(?:resolution|because|reason)\s*[:\-]?\s*(.{3,})$", self.text, re.IGNORECASE) or (
            re.search(r"\b(?:resolved|closed|accepted|rejected|settled)\b\W*[,;:\-–]\s*(.{3,})$", self.text, re.I)
        )
        if resolution:
            args["resolution"] = resolution.group(1).strip()[:1000]
        # staff were set aside when looking for a customer's name; here they are the new owner
        owners = match_staff(self.text, vocabulary(self.request.database_url), Spans())
        if owners and re.search(r"\b(?:owner|assign|reassign|to)\b", lowered):
            args["owner"] = owners[0]
        elif re.search(
            r"\b(?:give|assign|reassign|hand|pass|move)\b.{0,20}\bto me\b|\bi'?ll (?:take|own) it\b", lowered
        ):
            args["owner"] = self.request.actor.name  # "give it to me"
        if len(args) == 1:
            raise _Stop("What should change on that dispute: status, owner or resolution?", "nothing to change")
        return answers.proposal(self.call("propose_dispute_update", args))

    def dispute_of_the_thread(self) -> int | None:
        """The one dispute the thread's last dispute summary was about ("set it to resolved")."""
        previous = last_call(self.history, "summarize_dispute")
        if previous is None:
            return None
        if previous.arguments.get("dispute_id"):
            return int(previous.arguments["dispute_id"])
        briefs = (previous.result or {}).get("briefs") or []
        return int(briefs[0]["dispute_id"]) if len(briefs) == 1 and "dispute_id" in briefs[0] else None

    def promise(self) -> str:
        nothing = "Nothing was logged."
        invoices = invoice_numbers(self.text, self.spans)
        contact = _CONTACT_RE.search(self.text)
        if contact is not None:  # "per their controller Mark", "spoke to Petra in AP": a person, not a customer
            self.spans.add(*contact.span())
        found = self.dates(future=True)
        amounts = self.amounts()
        self.one_of_each(amounts, found, what="a promise is one amount by one date", nothing=nothing)
        amount = self.only_amount(amounts)
        customer = self.customer(single=nothing)
        if amount is None:
            raise _Stop("How much did they promise to pay? Nothing was logged.", "amount missing")
        if not found:
            raise _Stop(
                "By when did they promise to pay (e.g. “on Friday”, a date)? Nothing was logged.", "date missing"
            )
        args: dict[str, Any] = {
            "customer": customer.reference,
            "amount": str(amount.amount),
            "promised_date": found[-1].day,
        }
        currency = self.currency_of(amount, customer, None, nothing)
        if currency:
            args["currency"] = currency
        if invoices:
            args["invoice_numbers"] = invoices
        if contact is not None:
            args["contact"] = contact.group("name")
        return answers.proposal(self.call("log_promise_to_pay", args))

    def order_action(self, tool_name: str) -> str:
        orders = order_numbers(self.text, self.spans)
        of_the_thread = (_RELEASE_IT_RE if tool_name == "propose_order_release" else _HOLD_IT_RE).search(self.text)
        if not orders and (
            (re.search(r"\b(?:orders?|po|so)\b", self.text, re.IGNORECASE) and self.names_something())
            or (of_the_thread and last_customer(self.history) is not None)
        ):
            # "hold the Umbrella order": the one open order that fits, looked up rather than asked for ("put
            # Globex on hold" names no order: the account's status is explained below instead)
            customer = self.customer()
            only = self.the_open_order(customer, "hold" if tool_name == "propose_order_hold" else "release")
            if only is not None:
                orders = [only]
        if not orders and tool_name == "propose_order_hold" and self.names_something():
            # "put Globex on hold": holds are per order; show the account's status and its open orders instead
            customer = self.customer()
            result = self.call("get_customer_exposure", {"customer": customer.reference, "include_group": False})
            if self.request.actor.role == Role.SALES:
                head = answers.exposure(result, ageing=False, sales_view=True)
            else:
                head = answers.status(result)
                figures = result["figures"]
                if figures.get("open_orders_count"):
                    head += (
                        f"\nOpen orders: {answers.count(figures['open_orders_count'])} worth "
                        f"{answers.money(figures['open_orders'], figures['currency'])}."
                    )
            return (
                head
                + "\n\nHolds are proposed per sales order: name the order(s), e.g. “hold SO-…”. The account's credit "
                "status (Hold/Stop) follows the policy rules above. Nothing was proposed."
            )
        if not orders:
            raise _Stop(
                "Which order? Give the sales order number (it starts with SO-). Nothing was proposed.",
                "order missing",
            )
        if len(set(orders)) > 1:
            raise _Stop(
                f"That names {_count(len(set(orders)))} orders ({', '.join(dict.fromkeys(orders))}); which one do you "
                "mean? Send one request per order. Nothing was proposed.",
                "several orders",
            )
        reason_match = re.search(r"\b(?:because|reason:?|due to|as)\s+(.{3,})$", self.text, re.IGNORECASE)
        reason = (
            reason_match.group(1).strip()[:500]
            if reason_match
            else f"Requested by {self.request.actor.name} via the assistant."
        )
        return answers.proposal(self.call(tool_name, {"order_number": orders[0], "reason": reason}))

    def the_held_or_open_order(self, customer: CustomerRef) -> str | None:
        """For a check: the held order when the message says "held" and one is, else the one open order."""
        if _HELD_RE.search(self.text):
            held = self.the_open_order(customer, "held")
            if held is not None:
                return held
        return self.the_open_order(customer, "check")

    def the_open_order(self, customer: CustomerRef, purpose: str) -> str | None:
        """The customer's one open order that fits `purpose` (any for a check, not held for a hold, held for a
        release or a check that says "held"); several end the turn with the question which one, none gives None."""
        if customer.id is None and not customer.reference.isdigit():
            return None
        fitting = [
            order
            for order in customer_open_orders(self.request.database_url, customer.id or int(customer.reference))
            if purpose == "check" or order.on_hold == (purpose in ("release", "held"))
        ]
        if len(fitting) == 1:
            return fitting[0].number
        if not fitting:
            return None
        listed = answers.bullets(
            [f"{o.number} of {o.order_date}: {answers.money(o.open_amount, o.currency)}" for o in fitting[:10]]
        )
        kind = {"check": "open", "hold": "open, not held,", "release": "held", "held": "held"}[purpose]
        raise _Stop(
            f"{customer.name or 'The customer'} has {_count(len(fitting))} {kind} orders:\n{listed}\nWhich one? Reply "
            "with its number (SO-…). Nothing was done.",
            "several orders",
        )

    def assign(self) -> str:
        vocab = vocabulary(self.request.database_url)
        collectors = match_staff(self.text, vocab, self.spans, roles=frozenset({"collector"}))
        customer = self.customer(extra_stop=frozenset({"book", "portfolio"}), single="Nothing was proposed.")
        if len(collectors) > 1:  # "cameron to take over initech from charlie": charlie is the one it moves from
            collectors = [
                name
                for name in collectors
                if not re.search(rf"\b(?:from|instead\s+of|replacing|off)\s+{re.escape(name)}\b", self.text, re.I)
                and not re.search(rf"\b{re.escape(name)}'s\b", self.text, re.I)
            ] or collectors
        if len(collectors) > 1:
            raise _Stop(f"To which collector: {' or '.join(collectors)}? Nothing was proposed.", "several collectors")
        if not collectors:
            names = ", ".join(p.name for p in vocab.staff if p.role == "collector")
            raise _Stop(f"To which collector? The collectors are: {names}. Nothing was proposed.", "collector missing")
        return answers.proposal(
            self.call("propose_collector_assignment", {"customer": customer.reference, "collector": collectors[0]})
        )

    def note(self) -> str:
        text = self.text
        split = re.search(r":\s*|\s+(?:that|saying|which says)\s+|\s+-\s+", text)
        if split is None:
            raise _Stop("What should the note say? Write it after a colon, e.g. “note for Acme: …”.", "note missing")
        head, body = text[: split.start()], text[split.end() :].strip()
        if not body:
            raise _Stop("The note is empty; nothing was added.", "note empty")
        if name_candidates(head, Spans(), BOOK_STOP) or (
            re.search(r"\b(?:it|them|they|this|that|the account)\b", head, re.I) and last_customer(self.history)
        ):
            # "note for Acme: …", "put a note on it: …": the body is not searched for names
            self.spans.add(split.start(), len(text))
        customer = self.customer(single="Nothing was added.")
        return answers.proposal(self.call("add_note", {"customer": customer.reference, "text": body[:2000]}))

    # --- policy --------------------------------------------------------------------------------------------------

    def policy(self) -> str:
        result = self.call("search_policy", {"query": self.text[:500]})
        passages = _passages(result)
        for passage in passages[:3]:
            citation = Citation(
                document=str(passage.get("document") or "credit policy"),
                section=str(passage.get("section") or ""),
                page=passage.get("page") if isinstance(passage.get("page"), int) else None,
                source=passage.get("source"),
            )
            if citation not in self.citations:
                self.citations.append(citation)
        return answers.policy(passages)


# --- helpers -----------------------------------------------------------------------------------------------------

# A bare number followed by one of these, maybe after one describing word, counts things ("for 90 days", "3 invoices",
# "3 broken promises"); it is not a second amount.
_COUNTED_RE = re.compile(
    r"\+?\s*(?:(?:open|broken|late|missed|unpaid|overdue|bounced|failed|disputed|new|more)\s+)?"
    r"(?:days?|weeks?|months?|years?|invoices?|orders?|items?|times?|percent|%|dpd|calls?|reminders?|promises?"
    r"|payments?|disputes?|letters?|notices?|emails?|accounts?|customers?)\b",
    re.I,
)
_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def _counted_thing(text: str, mention: MoneyMention) -> bool:
    return not mention.explicit and bool(_COUNTED_RE.match(text, mention.end))


def _count(n: int) -> str:
    return _COUNT_WORDS.get(n, str(n))


def _friendly(error: CreditDeskError) -> str:
    message = error.message.rstrip(".")
    if error.code is ErrorCode.FORBIDDEN:
        return f"Sorry — {message}. Nothing was done."
    if error.code is ErrorCode.AMBIGUOUS:
        candidates = error.details.get("candidates") or []
        if candidates:
            names = answers.bullets([f"{c.get('name')} ({c.get('external_id')})" for c in candidates])
            return f"That matches several customers:\n{names}\nWhich one do you mean?"
        return f"{message}."
    if error.code is ErrorCode.NOT_FOUND:
        return f"I couldn't find that: {message}."
    if error.code is ErrorCode.INVALID_INPUT:
        return f"I couldn't do that: {message}. Nothing was changed."
    if error.code in (ErrorCode.CONFLICT, ErrorCode.STALE, ErrorCode.EXPIRED):
        return f"That could not be done: {message}. Nothing was changed."
    return f"That did not work: {message}."


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def _passages(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Passages from a search_policy result, whatever its exact shape: text plus document/section/page/source."""
    items: list[Any] = []
    for key in ("passages", "results", "hits", "matches", "chunks"):
        if isinstance(result.get(key), list):
            items = result[key]
            break
    passages: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        text = next((item[k] for k in ("text", "passage", "content", "snippet", "quote") if item.get(k)), None)
        if not text:
            continue
        citation = item.get("citation")
        merged = {**item, **(citation if isinstance(citation, dict) else {})}
        passages.append(
            {
                "text": str(text),
                "document": merged.get("document") or merged.get("title") or merged.get("doc"),
                "section": merged.get("section_path") or merged.get("section") or merged.get("heading"),
                "page": merged.get("page"),
                "source": merged.get("source") or merged.get("path") or merged.get("url"),
            }
        )
    return passages
