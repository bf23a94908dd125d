"""The state of one offline turn: the message, its spans, the registry calls it made (recorded), and `Stop`,
which ends the turn with a message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from rapidfuzz import distance

from assistant.planner.understand import Understood
from assistant.types import AskRequest, AssistantReply, Choice, Citation, ProposalRef, ToolCallRecord
from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session
from tools.context import ToolContext
from tools.customers import customer_name_words, near_name_words
from tools.reference_words import is_common_word
from tools.registry import call_tool, get_tool, parse_arguments

from . import answers
from .context import (
    CustomerRef,
    customer_ref,
    vocabulary,
)
from .dates import date_mentions
from .entities import MoneyMention, Spans, data_source_mentions, normalise
from .name_runs import NameCandidate, mistyped_request_words, request_word_for
from .phrases import (
    _JARGON,
    _JARGON_RE,
    ADD_ACRONYM_RE,
)

# "ugh globex ghosted me again. anyway - whats my disputed total?": what comes after "anyway" is the request
_ANYWAY_RE = re.compile(
    r"[.!?;]\s+(?:but\s+|ok\s+|so\s+)?(?:anyway|anyhow|moving on|separately|on another note|unrelated)\b"
    r"[\s,:;–—-]*(?=\S)",
    re.I,
)


# "fyi boss is asking - ADD for mid-market", "hey, quick one - and their promise record?", "sorry to bug you, ...":
# greetings and asides before the request are no part of it (and "fyi" is no customer)
_OPENING_CHATTER_RE = re.compile(
    r"^(?:(?:(?:hey|hi|hiya|hello|yo|morning|good (?:morning|afternoon|evening))"
    r"(?: (?:team|all|folks|guys|there|everyone))?"
    r"|ok(?:ay)?|so(?=[\s,])(?! far| much| many| long)|hmm+|um+|fyi|quick (?:one|q|question)|one more"
    r"|sorry to (?:bug|bother|trouble) you"
    r"|(?:when|if) you (?:get|have) a (?:sec|second|minute|moment)|(?:my |the )?(?:boss|cfo|manager) (?:is |'s )?asking"
    r"|can you tell me|could you tell me)(?:[\s,!:.;–—-])+)+(?=\S)",
    re.I,
)

_ADDRESSEES = frozenset({"team", "all", "folks", "guys", "there", "everyone"})


# "… ty!", "…?? cheers", "… - need it for the 10am", "… thx in advance": thanks and deadlines after the request
_CLOSING_CHATTER_RE = re.compile(
    r"(?:[\s,.;:!?–—-]+(?:thanks?(?: (?:a lot|so much|again))?|thank you|thx|ty|ta|cheers|much appreciated"
    r"|(?:thanks |thx )?in advance|asap|when you can|need (?:it|this|them) (?:for|by|before) (?:the |my |our )?[\w:]+"
    r"|for (?:the|my) (?:\d{1,2}(?::\d\d)?\s?(?:am|pm)|board|meeting|call|standup|stand-up)))+[\s!.]*$",
    re.I,
)


# "umbrella keeps promising and not paying. forget the promises for a sec, what are their avg days to pay?": the
# topic set aside is no part of the request (the customer named before it still is)
_SET_ASIDE_TOPIC_RE = re.compile(
    r"\b(?:forget|never\s*mind|ignore|leave\s+aside)\s+(?:about\s+)?(?:the|that|those|this|their)\s+[\w-]+"
    r"(?:\s+for\s+(?:a\s+)?(?:sec|second|moment|minute|now))?[\s,;:–—-]*",
    re.I,
)


def the_request_after_chatter(text: str) -> str:
    text = _SET_ASIDE_TOPIC_RE.sub("", text)
    marks = list(_ANYWAY_RE.finditer(text))
    text = text[marks[-1].end() :] if marks else text
    closed = _CLOSING_CHATTER_RE.search(text)
    if closed and closed.start() > 0:
        ending = re.match(r"\s*(\?+)", text[closed.start() :])  # "??" kept as typed: an insisting instruction
        text = text[: closed.start()] + (ending.group(1) if ending else "")
    request = _OPENING_CHATTER_RE.sub("", text, count=1)
    return text if request.strip(" !.,").lower() in _ADDRESSEES else request


class Stop(Exception):
    """Ends the turn with a message (a question back, or a refusal); nothing after it runs."""

    def __init__(self, text: str, error: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.error = error


@dataclass
class Resolution:
    customer: CustomerRef | None = None
    ambiguous: list[CustomerRef] | None = None
    query: str | None = None
    not_found: str | None = None
    others: list[CustomerRef] | None = None  # a write named several customers: all of them


class TurnState:
    """One message being answered: its text, what was found in it, and the tool calls made for it."""

    def __init__(self, request: AskRequest, history: list[AssistantReply]) -> None:
        self.request = request
        self.history = history
        self.ctx = ToolContext(
            actor=request.actor, database_url=request.database_url, conversation_id=request.thread_id
        )
        self.today: date = self.ctx.today
        self.text = the_request_after_chatter(normalise(request.text))
        self.typos: dict[str, str] = {}
        self.typo_spans = self.correct_mistyped_request_words()
        self.spans = Spans()
        data_source_mentions(self.text, self.spans)
        self.calls: list[ToolCallRecord] = []
        self.proposals: list[ProposalRef] = []
        self.citations: list[Citation] = []
        self.charts: list[str] = []
        self.choices: list[Choice] = []
        self.focus: list[str] = []  # the measures a portfolio answer focused on, for the next turn
        self.offered: list[CustomerRef] = []  # the customers the reply asks the user to choose between, as shown
        self.fixed_customer: CustomerRef | None = None  # the customer "both" is answering for just now
        self.understood: Understood | None = None
        self._ordinary_names: frozenset[str] | None = None
        self._name_statuses: list[tuple[NameCandidate, str]] | None = None
        self._name_words: dict[str, bool] = {}
        self.review_due_by: date | None = None  # "reviews due by the end of the month": a filter, not the as-of date
        for match in _JARGON_RE.finditer(self.text):
            self.spans.add(*match.span())

    def correct_mistyped_request_words(self) -> list[tuple[int, int]]:
        """ "outstandng", "dsipute 57", "end of motnh": a request or calendar word mistyped is spelled right in the
        text, so that every reading (intent, ids, dates) sees it, unless a customer's name has that word ("stark"
        stays a name, not "start"); one the date rules read as typed ("tomorow") is left to them. Returns the spans
        of the corrected words; `self.typos` maps each typed word to its correction."""
        # a capitalised word inside a sentence is a proper name ("spoke to Larry at Stonestar"), never a typo
        typos = [
            typo
            for typo in mistyped_request_words(self.text, Spans())
            if not (self.text[typo[1]].isupper() and typo[1] > 0 and not re.search(r"[.!?]\s*$", self.text[: typo[1]]))
        ]
        members = vocabulary(self.request.database_url).staff
        staff = {member.name.lower() for member in members}
        typed = {start for _, start, _ in typos}
        typos += [
            (m.group(0).lower(), m.start(), m.end())
            for m in re.finditer(r"[A-Za-z]{5,}", self.text)
            if m.start() not in typed
            and m.group(0).lower() not in staff
            and self.staff_handle_for(m.group(0).lower(), staff) is not None
        ]
        if not typos:
            return []
        typos.sort(key=lambda typo: typo[1])
        meant = {word: self.staff_handle_for(word, staff) or request_word_for(word) or word for word, _, _ in typos}
        with read_session(self.request.database_url) as session:
            names = customer_name_words(session, list(meant))
            # "golbex" is nearer Globex than any request word: a name's typo, left to the customer resolver
            names |= near_name_words(
                session, {word: distance.OSA.distance(word, right) for word, right in meant.items()}
            )
        for member in members:  # "avery" is a person, not "every"
            names.update(f"{member.name} {member.full_name or ''}".lower().split())
        for word, start, end in typos:
            if word not in names and not date_mentions(self.text[start:end], self.today, Spans(), future=True):
                self.typos[word] = meant[word]
        if not self.typos:
            return []
        corrected, spans, shift = [], [], 0
        last = 0
        for word, start, end in typos:
            if word not in self.typos:
                continue
            right = self.typos[word]
            corrected.append(self.text[last:start])
            spans.append((start + shift, start + shift + len(right)))
            corrected.append(right)
            shift += len(right) - (end - start)
            last = end
        corrected.append(self.text[last:])
        self.text = "".join(corrected)
        return spans

    @staticmethod
    def staff_handle_for(word: str, staff: set[str]) -> str | None:
        """ "csaey", "chralie": a staff handle of five letters or more typed one edit wrong."""
        near = [handle for handle in staff if len(handle) >= 5 and distance.OSA.distance(word, handle) == 1]
        return near[0] if len(near) == 1 and not is_common_word(word) else None

    def spelled_out(self) -> str:
        """The text with shop jargon spelled out, for reading what is asked (mistyped request words are already
        spelled right in `self.text`)."""
        text = _JARGON_RE.sub(lambda m: _JARGON[m.group(0).lower()], self.text)
        if not text.isupper():
            text = ADD_ACRONYM_RE.sub("average days delinquent", text)
        return text

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
            raise Stop(f"That capability ({name}) is not available here yet.", error.message) from None
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
                raise Stop(
                    "Sorry — that customer is not in your book; ask a credit analyst or the assigned collector. "
                    "Nothing was done.",
                    "customer outside the user's book",
                ) from None
            if error.code is ErrorCode.AMBIGUOUS:
                self.offered = [customer_ref(c) for c in error.details.get("candidates") or [] if c.get("id")]
            raise Stop(_friendly(error), error.message) from None
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


def counted_thing(text: str, mention: MoneyMention) -> bool:
    return not mention.explicit and bool(_COUNTED_RE.match(text, mention.end))


def count_word(n: int) -> str:
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
        if error.details.get("tool"):  # "propose_dispute_update: input: Value error, …": what is wrong, in words
            message = re.sub(r"^\w+:\s*|\b(?:input:\s*)?Value error,\s*", "", message)
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
