"""Customer resolution: by id, external id (case-insensitive) or name. Only a reference that clearly names one
customer resolves (see `tools.name_matching`); otherwise the candidates or "not found", never a guess."""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from rapidfuzz import distance, process
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode, invalid_input
from db.models import Customer, Role
from db.queries.customers import (
    customer_by_external_id,
    customer_by_id,
    customer_name_rows,
    customer_table_fingerprint,
    customers_by_ids,
)
from tools.context import ToolContext, without_risk
from tools.name_matching import RARE_NAME_WORD_NAMES, NameIndex, match_name, one_slip_name_word, query_key
from tools.reference_words import has_control_characters
from tools.registry import ALL_ROLES, tool
from tools.schemas import CustomerReference, CustomerSummary


class Candidate(BaseModel):
    customer: CustomerSummary
    score: float = Field(description="Match score 0-100")
    matched_on: str


class ResolveCustomerInput(BaseModel):
    query: CustomerReference
    limit: int = Field(default=5, ge=1, le=20)
    name_word: bool = Field(
        default=False,
        description="If nothing else matches: names holding this one word ('pharma'), to choose from.",
    )


class ResolveCustomerResult(BaseModel):
    status: Literal["resolved", "ambiguous", "not_found"]
    query: str
    customer: CustomerSummary | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    message: str


_indexes: dict[str, NameIndex] = {}
_index_lock = threading.Lock()


def _name_index(session: Session) -> NameIndex:
    url = str(session.get_bind().engine.url)
    fingerprint = customer_table_fingerprint(session)
    with _index_lock:
        index = _indexes.get(url)
        if index is None or index.fingerprint != fingerprint:
            index = _indexes[url] = NameIndex.build(fingerprint, customer_name_rows(session))
        return index


def ordinary_customer_names(session: Session) -> frozenset[str]:
    """Name keys of the customers whose whole name is ordinary words: the planner lets such words name them."""
    return _name_index(session).ordinary_names()


def customer_name_words(session: Session, words: list[str]) -> set[str]:
    """Those of `words` (lower case) that are a word of some customer's name ("stark" of Stark Industries)."""
    index = _name_index(session)
    return {word for word in words if word in index.by_token}


def near_name_words(session: Session, words: dict[str, int]) -> set[str]:
    """Those of `words` (lower case, each with an edit budget) within that many edits of a word of some customer's
    name, a swap of two letters counting one ("golbex" of Globex): a typo of a name rather than of a request word."""
    tokens = list(_name_index(session).by_token)
    return {
        word
        for word, budget in words.items()
        if process.extractOne(word, tokens, scorer=distance.OSA.distance, score_cutoff=budget) is not None
    }


@dataclass(frozen=True)
class NameWord:
    """How a word figures in the book's customer names."""

    rare: bool  # held by few names, so it points at a customer ("stark"), unlike "components" or a shared prefix
    leads: bool  # some name starts with it ("umbrella" of Umbrella Health)


def customer_name_word_stats(session: Session, words: list[str]) -> dict[str, NameWord]:
    """For those of `words` (lower case) that are words of customer names, or one slip from exactly one
    (`one_slip_name_word`): whether they are rare and lead a name."""
    index = _name_index(session)
    limit = max(RARE_NAME_WORD_NAMES, len(index.keys) // 200)
    found: dict[str, NameWord] = {}
    for word in words:
        meant = word if word in index.by_token else one_slip_name_word(index, word)  # "umberlla's" is Umbrella's
        positions = index.by_token.get(meant) if meant else None
        if meant and positions:
            found[word] = NameWord(len(positions) <= limit, any(index.tokens[p][0] == meant for p in positions))
    return found


def _match(session: Session, query: str, limit: int) -> tuple[list[tuple[Customer, float, str]], bool]:
    """Ranked (customer, score, how) and whether the first one is a decisive match."""
    text = " ".join(query.split())  # any run of whitespace (tabs, no-break spaces) reads as one space
    if not text:
        raise invalid_input("a customer reference is empty: give a customer id, external id or name")
    if has_control_characters(text):
        raise invalid_input("a customer reference cannot contain control or invisible characters")
    if unicodedata.normalize("NFKC", text) != text:
        # Fullwidth letters, ligatures and the like look like a name without being it: a spoofing vector, and an
        # audit trail showing one string for another. Refused rather than silently folded.
        raise invalid_input(
            "a customer reference cannot use compatibility characters (such as fullwidth letters); "
            "type it in plain characters"
        )
    if text.isdigit() and text.isascii() and (customer := customer_by_id(session, int(text))) is not None:
        return [(customer, 100.0, "id")], True
    if (customer := customer_by_external_id(session, text)) is not None:
        return [(customer, 100.0, "external id")], True
    index = _name_index(session)
    ranked, decisive = match_name(index, text, limit)
    ids = [index.ids[position] for position, _, _ in ranked]
    loaded = {c.id: c for c in customers_by_ids(session, ids)}
    return [(loaded[index.ids[p]], score, how) for p, score, how in ranked if index.ids[p] in loaded], decisive


def _holding_the_word(session: Session, query: str, limit: int) -> tuple[list[tuple[Customer, float, str]], bool]:
    """The customers whose name holds the one word typed, ordinary or not; decisive only when exactly one does."""
    words = query_key(query).split()
    if len(words) != 1:
        return [], False
    index = _name_index(session)
    positions = index.by_token.get(words[0], [])
    loaded = {c.id: c for c in customers_by_ids(session, [index.ids[p] for p in positions[:limit]])}
    found = [(loaded[index.ids[p]], 90.0, "name word") for p in positions[:limit] if index.ids[p] in loaded]
    return found, len(positions) == 1 and len(found) == 1


def resolve_customer_reference(session: Session, ctx: ToolContext, reference: str) -> Customer:
    """The one customer a reference means, or a clear error (not found, ambiguous with candidates, not visible)."""
    matches, decisive = _match(session, reference, limit=5)
    if not matches:
        raise ctx.customer_not_found(reference)
    if decisive:
        customer = matches[0][0]
        ctx.require_visible(customer, reference=reference)
        return customer
    visible = [customer for customer, _, _ in matches if ctx.can_see(customer)]
    if not visible:
        ctx.require_visible(matches[0][0], reference=reference)
    names = "; ".join(f"{c.name} ({c.external_id})" for c in visible)
    raise CreditDeskError(
        ErrorCode.AMBIGUOUS,
        f"{reference!r} matches several customers: {names}. Which one?",
        details={"candidates": [CustomerSummary.of(c).model_dump(mode="json") for c in visible]},
    )


@tool(
    name="resolve_customer",
    kind="read",
    input_model=ResolveCustomerInput,
    output_model=ResolveCustomerResult,
    roles=ALL_ROLES,
    views={Role.SALES: without_risk},
)
def resolve_customer(session: Session, ctx: ToolContext, args: ResolveCustomerInput) -> ResolveCustomerResult:
    """Find a customer by id, external id or (fuzzy) name. Returns the customer when the match is clear,
    otherwise the ranked candidates; it never picks one of several close matches."""
    matches, decisive = _match(session, args.query, args.limit)
    if not matches and args.name_word:
        matches, decisive = _holding_the_word(session, args.query, args.limit)
    candidates = [
        Candidate(customer=CustomerSummary.of(customer), score=score, matched_on=how)
        for customer, score, how in matches
        if ctx.can_see(customer)
    ]
    if decisive and candidates and candidates[0].customer.id == matches[0][0].id:
        found = candidates[0].customer
        return ResolveCustomerResult(
            status="resolved",
            query=args.query,
            customer=found,
            candidates=candidates,
            message=f"{found.name} ({found.external_id}), matched by {matches[0][2]}",
        )
    if not candidates:  # someone else's customer reads exactly like no customer at all
        message = ctx.customer_not_found(args.query).message
        return ResolveCustomerResult(status="not_found", query=args.query, message=message)
    return ResolveCustomerResult(
        status="ambiguous",
        query=args.query,
        candidates=candidates,
        message=f"{len(candidates)} customers match {args.query!r}; say which one",
    )


TOOLS = [resolve_customer]
