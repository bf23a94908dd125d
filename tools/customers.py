"""Customer resolution: by id, external id or fuzzy name. Ambiguity returns the candidates, never a guess."""

from __future__ import annotations

import re
import threading
from typing import Literal

from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode, not_found
from db.models import Customer
from db.models.party import customer_name_key
from db.queries.customers import (
    customer_by_external_id,
    customer_by_id,
    customer_name_rows,
    customer_table_fingerprint,
    customers_by_ids,
)
from tools.context import ToolContext
from tools.registry import ALL_ROLES, tool
from tools.schemas import CustomerReference, CustomerSummary

# A fuzzy match is taken only when it is clearly better than the next one.
CLEAR_WINNER_MIN_SCORE = 75.0
CLEAR_WINNER_MIN_GAP = 12.0
CANDIDATE_MIN_SCORE = 60.0
CANDIDATE_BAND = 10.0
_POSSESSIVE = re.compile(r"(?:'s|’s|s')\b", re.IGNORECASE)


class Candidate(BaseModel):
    customer: CustomerSummary
    score: float = Field(description="Match score 0-100")
    matched_on: str


class ResolveCustomerInput(BaseModel):
    query: CustomerReference
    limit: int = Field(default=5, ge=1, le=20)


class ResolveCustomerResult(BaseModel):
    status: Literal["resolved", "ambiguous", "not_found"]
    query: str
    customer: CustomerSummary | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    message: str


class _NameIndex:
    def __init__(self, fingerprint: tuple[int, int, str], rows: list[tuple[int, str, str]]) -> None:
        self.fingerprint = fingerprint
        self.ids = [row[0] for row in rows]
        self.keys = [row[1] for row in rows]
        self.by_key: dict[str, list[int]] = {}
        for customer_id, key, _ in rows:
            self.by_key.setdefault(key, []).append(customer_id)


_indexes: dict[str, _NameIndex] = {}
_index_lock = threading.Lock()


def _name_index(session: Session) -> _NameIndex:
    url = str(session.get_bind().engine.url)
    fingerprint = customer_table_fingerprint(session)
    with _index_lock:
        index = _indexes.get(url)
        if index is None or index.fingerprint != fingerprint:
            index = _indexes[url] = _NameIndex(fingerprint, customer_name_rows(session))
        return index


def query_key(text: str) -> str:
    return customer_name_key(_POSSESSIVE.sub("", text.strip()))


def _match(session: Session, query: str, limit: int) -> tuple[list[tuple[Customer, float, str]], bool]:
    """Ranked (customer, score, how) and whether the first one is a decisive match."""
    text = query.strip()
    if text.isdigit() and (customer := customer_by_id(session, int(text))) is not None:
        return [(customer, 100.0, "id")], True
    if (customer := customer_by_external_id(session, text)) is not None:
        return [(customer, 100.0, "external id")], True
    key = query_key(text)
    if not key:
        return [], False
    ranked, decisive = _match_name(_name_index(session), key, limit)
    loaded = {c.id: c for c in customers_by_ids(session, [customer_id for customer_id, _, _ in ranked])}
    return [(loaded[customer_id], score, how) for customer_id, score, how in ranked], decisive


def _match_name(index: _NameIndex, key: str, limit: int) -> tuple[list[tuple[int, float, str]], bool]:
    exact = index.by_key.get(key, [])
    if exact:
        return [(customer_id, 100.0, "name") for customer_id in exact], len(exact) == 1
    words = [i for i, candidate in enumerate(index.keys) if (candidate + " ").startswith(key + " ")]
    if words:
        return [(index.ids[i], 95.0, "name words") for i in words[:limit]], len(words) == 1
    scored = process.extract(key, index.keys, scorer=fuzz.WRatio, limit=max(limit, 5), score_cutoff=CANDIDATE_MIN_SCORE)
    if not scored:
        return [], False
    top = scored[0][1]
    second = scored[1][1] if len(scored) > 1 else 0.0
    decisive = top >= CLEAR_WINNER_MIN_SCORE and top - second >= CLEAR_WINNER_MIN_GAP
    ranked = [
        (index.ids[i], round(score, 1), "similar name") for _, score, i in scored if score >= top - CANDIDATE_BAND
    ]
    return ranked[:limit], decisive


def resolve_customer_reference(session: Session, ctx: ToolContext, reference: str) -> Customer:
    """The one customer a reference means, or a clear error (not found, ambiguous with candidates, not visible)."""
    matches, decisive = _match(session, reference, limit=5)
    if not matches:
        raise not_found(f"no customer matches {reference!r}")
    if decisive:
        customer = matches[0][0]
        ctx.require_visible(customer)
        return customer
    visible = [customer for customer, _, _ in matches if ctx.can_see(customer)]
    if not visible:
        ctx.require_visible(matches[0][0])
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
)
def resolve_customer(session: Session, ctx: ToolContext, args: ResolveCustomerInput) -> ResolveCustomerResult:
    """Find a customer by id, external id or (fuzzy) name. Returns the customer when the match is clear,
    otherwise the ranked candidates; it never picks one of several close matches."""
    matches, decisive = _match(session, args.query, args.limit)
    candidates = [
        Candidate(customer=CustomerSummary.of(customer), score=score, matched_on=how)
        for customer, score, how in matches
        if ctx.can_see(customer)
    ]
    hidden = len(matches) - len(candidates)
    if decisive and candidates and candidates[0].customer.id == matches[0][0].id:
        found = candidates[0].customer
        return ResolveCustomerResult(
            status="resolved",
            query=args.query,
            customer=found,
            candidates=candidates,
            message=f"{found.name} ({found.external_id}), matched by {matches[0][2]}",
        )
    if not candidates:
        scope = "in your book " if hidden else ""
        message = f"no customer {scope}matches {args.query!r}"
        return ResolveCustomerResult(status="not_found", query=args.query, message=message)
    return ResolveCustomerResult(
        status="ambiguous",
        query=args.query,
        candidates=candidates,
        message=f"{len(candidates)} customers match {args.query!r}; say which one",
    )


TOOLS = [resolve_customer]
