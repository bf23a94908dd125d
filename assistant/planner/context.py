"""What the planner knows besides the text: the vocabulary of the database (cached briefly) and the thread so far."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rapidfuzz import distance

from assistant.types import AssistantReply, ToolCallRecord
from db.engine import read_session
from db.queries.exposure import OpenOrder, open_orders
from db.queries.vocabulary import Vocabulary, customer_id_for_order, customer_ids_for_invoice, load_vocabulary

from .entities import Spans

VOCABULARY_TTL_SECONDS = 300.0
_vocabularies: dict[str, tuple[float, Vocabulary]] = {}
_lock = threading.Lock()


def vocabulary(database_url: str | None) -> Vocabulary:
    key = database_url or ""
    now = time.monotonic()
    with _lock:
        hit = _vocabularies.get(key)
    if hit is not None and now - hit[0] < VOCABULARY_TTL_SECONDS:
        return hit[1]
    with read_session(database_url) as session:
        loaded = load_vocabulary(session)
    with _lock:
        _vocabularies[key] = (now, loaded)
    return loaded


def order_customer(database_url: str | None, number: str) -> int | None:
    with read_session(database_url) as session:
        return customer_id_for_order(session, number)


def customer_open_orders(database_url: str | None, customer_id: int) -> list[OpenOrder]:
    """A customer's open sales orders, oldest first (for a customer the user may already see)."""
    with read_session(database_url) as session:
        return open_orders(session, customer_id)


def invoice_customers(database_url: str | None, number: str) -> list[int]:
    with read_session(database_url) as session:
        return customer_ids_for_invoice(session, number)


# --- matching vocabulary words -----------------------------------------------------------------------------------

REGION_ALIASES = {
    "latin america": "LATAM",
    "south america": "LATAM",
    "asia pacific": "APAC",
    "asia-pacific": "APAC",
    "asia": "APAC",
    "europe middle east and africa": "EMEA",
    "n. america": "North America",
    "north-america": "North America",
    "us and canada": "North America",
    "north american": "North America",
    "latin american": "LATAM",
    "NA": "North America",
    "N.A.": "North America",
    "NAM": "North America",
}
# Aliases that only count as written: "na" and "nam" are words.
AS_WRITTEN = frozenset({"NA", "N.A.", "NAM"})
SEGMENT_ALIASES = {"mid market": "Mid-Market", "midmarket": "Mid-Market", "mid-size": "Mid-Market", "smb": "SMB",
                   "small business": "SMB", "public": "Public Sector", "government": "Public Sector",
                   "enterprises": "Enterprise"}  # fmt: skip
# Common short names of the customer master's industries; one only counts when the book has that industry.
INDUSTRY_ALIASES = {"health care": "Healthcare", "tech": "Technology", "retailers": "Retail",
                    "manufacturers": "Manufacturing", "manufacturing sector": "Manufacturing",
                    "energy": "Energy & Utilities", "utilities": "Energy & Utilities",
                    "energy and utilities": "Energy & Utilities", "food": "Food & Beverage",
                    "food and beverage": "Food & Beverage", "f&b": "Food & Beverage",
                    "transport": "Transportation & Logistics", "transportation": "Transportation & Logistics",
                    "logistics": "Transportation & Logistics", "wholesale": "Wholesale Distribution",
                    "wholesalers": "Wholesale Distribution", "distributors": "Wholesale Distribution",
                    "professional services": "Professional Services", "public administration": "Public Administration",
                    "builders": "Construction"}  # fmt: skip


def _word_pattern(phrase: str) -> re.Pattern[str]:
    """A value or alias as whole words, any case — except the aliases only counted as written ("NA")."""
    flags = 0 if phrase in AS_WRITTEN else re.IGNORECASE
    return re.compile(r"(?<![\w-])" + re.escape(phrase).replace(r"\ ", r"[\s-]+") + r"(?![\w-])", flags)


def match_values(text: str, values: Sequence[str], aliases: dict[str, str], spans: Spans) -> list[str]:
    found: list[str] = []
    options = [(value, value) for value in values] + [
        (alias, canonical) for alias, canonical in aliases.items() if canonical in values
    ]
    for phrase, canonical in sorted(options, key=lambda pair: -len(pair[0])):
        for match in _word_pattern(phrase).finditer(text):
            if spans.covers(*match.span()):
                continue
            spans.add(*match.span())
            if canonical not in found:
                found.append(canonical)
    if not found:
        found = misspelt_values(text, options, spans)
    return found


# "which constuction customers …": one slip in a long value's word, right before the word for whom it qualifies
_QUALIFIED_WORD_RE = re.compile(
    r"\b([a-z][a-z-]{6,})\s+(?:customers?|accounts?|clients?|companies|names|debtors|sector|industry|segment|region)\b",
    re.IGNORECASE,
)


def misspelt_values(text: str, options: list[tuple[str, str]], spans: Spans) -> list[str]:
    """One value of seven letters or more written with one slip (a letter wrong, missing, added or two swapped)
    right before the word for whom it qualifies ("constuction customers", "canadain accounts"), if only one fits."""
    for match in _QUALIFIED_WORD_RE.finditer(text):
        if spans.covers(*match.span(1)):
            continue
        word = match.group(1).lower()
        close = {
            canonical
            for phrase, canonical in options
            if " " not in phrase and len(phrase) >= 7 and distance.OSA.distance(word, phrase.lower()) == 1
        }
        if len(close) == 1:
            spans.add(*match.span(1))
            return [close.pop()]
    return []


def match_staff(text: str, vocab: Vocabulary, spans: Spans, roles: frozenset[str] | None = None) -> list[str]:
    """Staff handles named in the text (by handle, full name or first name), possessives included."""
    found: list[str] = []
    for person in vocab.staff:
        if roles is not None and person.role not in roles:
            continue
        phrases = [person.full_name, person.name, (person.full_name or "").split(" ")[0]]
        for phrase in [p for p in phrases if p and len(p) >= 3]:
            pattern = re.compile(r"(?<![\w-])" + re.escape(phrase) + r"(?:'s)?(?![\w-])", re.IGNORECASE)
            match = pattern.search(text)
            if match and _leads_customer_name(text, match, vocab):
                continue  # "ash haven's balance": the customer Ash Haven Brewing, not the analyst ash
            if match and not spans.covers(*match.span()):
                spans.add(*match.span())
                if person.name not in found:
                    found.append(person.name)
                break
    return found


def _leads_customer_name(text: str, match: re.Match[str], vocab: Vocabulary) -> bool:
    following = re.match(r"\s+([\w&-]+)", text[match.end() :])
    return following is not None and f"{match.group(0).lower()} {following.group(1).lower()}" in vocab.staff_led_names


# --- the thread so far -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRef:
    reference: str  # what the tools are given: the id, or the user's words when the tool should judge them
    name: str | None = None
    id: int | None = None
    external_id: str | None = None
    currency: str | None = None  # the account's currency, when the tool result that named the customer gave it


def _customer_in(call: ToolCallRecord) -> CustomerRef | None:
    result = call.result or {}
    customer = result.get("customer")
    if isinstance(customer, dict) and "id" in customer and "name" in customer:
        return CustomerRef(str(customer["id"]), str(customer["name"]), int(customer["id"]), customer.get("external_id"))
    if result.get("customer_id") and result.get("customer_name"):
        return CustomerRef(str(result["customer_id"]), str(result["customer_name"]), int(result["customer_id"]))
    return None


def last_customer(history: Sequence[AssistantReply]) -> CustomerRef | None:
    for reply in reversed(history):
        for call in reversed(reply.tool_calls):
            found = _customer_in(call)
            if found is not None:
                return found
        if missed_a_customer(reply):
            return None  # "why is X on hold?" found no X: "what do they owe?" next means X, not an earlier customer
    return None


def customers_of_the_last_reply(history: Sequence[AssistantReply]) -> list[CustomerRef]:
    """The distinct customers the last reply's tool calls were about, in order ("compare umbrella and globex")."""
    found: dict[int | None, CustomerRef] = {}
    for call in history[-1].tool_calls if history else []:
        customer = _customer_in(call)
        if customer is not None:
            found.setdefault(customer.id, customer)
    return list(found.values())


# "and the other bearwick?", "the other zimmer one": of the customers the name matches, the one not just answered
_THE_OTHER_RE = re.compile(r"\bthe\s+other\b", re.IGNORECASE)


def the_other_one(text: str, matches: Sequence[CustomerRef], before: CustomerRef | None) -> CustomerRef | None:
    others = [c for c in matches if before is not None and c.id != before.id]
    if _THE_OTHER_RE.search(text) and before is not None and len(others) == len(matches) - 1 == 1:
        return others[0]
    return None


def missed_a_customer(reply: AssistantReply) -> bool:
    """The reply only looked for a customer and found none (a name not in the user's book, or nobody's)."""
    calls = reply.tool_calls
    return bool(calls) and all(
        call.name == "resolve_customer" and (call.error is not None or (call.result or {}).get("status") == "not_found")
        for call in calls
    )


def last_as_of(history: Sequence[AssistantReply]) -> date | None:
    """The as-of date the thread's latest answer that had one was given at ("score as at that date too")."""
    for reply in reversed(history):
        for call in reversed(reply.tool_calls):
            value = call.arguments.get("as_of") if call.error is None else None
            if value:
                try:
                    return date.fromisoformat(str(value))
                except ValueError:
                    return None
    return None


def last_intent(history: Sequence[AssistantReply]) -> str | None:
    for reply in reversed(history):
        if reply.intent and reply.intent not in ("unknown", "help", "approve"):
            return reply.intent
    return None


def last_call(history: Sequence[AssistantReply], name: str, *, only_last_reply: bool = False) -> ToolCallRecord | None:
    replies = list(history)[-1:] if only_last_reply else list(history)
    for reply in reversed(replies):
        for call in reversed(reply.tool_calls):
            if call.name == name and call.error is None:
                return call
    return None


def offered_named(customers: Sequence[CustomerRef]) -> dict[str, list[str]]:
    """The customers a reply asks the user to choose between, as the reply records them (`AssistantReply.named`)."""
    if not customers:
        return {}
    return {
        "customers": [customer.reference for customer in customers],
        "customer_names": [customer.name or "" for customer in customers],
    }


def offered_customers(reply: AssistantReply) -> list[CustomerRef]:
    """The customers the reply asked the user to choose between, in the order shown (none: it asked no such thing;
    a lookup the planner made only to probe the words is never a list the user saw)."""
    references = reply.named.get("customers", [])
    names = reply.named.get("customer_names", [])
    return [
        CustomerRef(
            reference, (names[i] if i < len(names) else "") or None, int(reference) if reference.isdigit() else None
        )
        for i, reference in enumerate(references)
    ]


def pending_candidates(history: Sequence[AssistantReply]) -> list[CustomerRef]:
    """The customers the last reply asked the user to choose between, if it did."""
    return offered_customers(history[-1]) if history else []


LIST_TOOLS = ("resolve_customer", "build_worklist", "get_portfolio_summary")


def list_call(history: Sequence[AssistantReply], *, lookback: int = 3) -> ToolCallRecord | None:
    """The call behind the latest list of customers shown to the user (candidates to choose from, worklist rows, top
    exposures) in the last few replies: what "the first one", "#3" or "the last one" point at. Stored results of
    big calls are trimmed (`_trimmed`): `listed_customers` then needs the call repeated."""
    for reply in list(history)[-lookback:][::-1]:
        for call in reversed(reply.tool_calls):
            result: dict[str, Any] = call.result or {}
            if call.error is not None or not result or call.name not in LIST_TOOLS:
                continue
            if call.name == "resolve_customer":
                if offered_customers(reply):  # matches of one name, or two customers named in one question
                    return call
                continue
            if call.name == "build_worklist" and (result.get("rows") or result.get("_trimmed")):
                return call
            if call.name == "get_portfolio_summary" and "| rank | customer |" in reply.text:
                return call
    return None


def listed_customers(
    history: Sequence[AssistantReply], refetch: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
) -> list[CustomerRef]:
    """The customers of that list, in the order shown (`refetch` repeats a trimmed call with the same arguments)."""
    call = list_call(history)
    if call is None:
        return []
    result: dict[str, Any] = call.result or {}
    if result.get("_trimmed"):
        if refetch is None:
            return []
        result = refetch(call.name, dict(call.arguments))
    if call.name == "resolve_customer":
        return next((offered_customers(reply) for reply in history if call in reply.tool_calls), [])
    if call.name == "build_worklist":
        return [customer_ref(row["customer"]) for row in result.get("rows", [])]
    return [
        CustomerRef(str(t["customer_id"]), str(t["name"]), int(t["customer_id"]), t.get("external_id"))
        for t in result.get("top_exposures", [])
    ]


def listed_in_countries(history: Sequence[AssistantReply], countries: Sequence[str]) -> list[CustomerRef]:
    """The customers of the last "matches several customers" list that are in one of `countries` (ISO codes)."""
    call = list_call(history)
    if call is None or call.name != "resolve_customer":
        return []
    candidates = (call.result or {}).get("candidates", [])
    return [customer_ref(c["customer"]) for c in candidates if c["customer"].get("country") in countries]


def worklist_rows(history: Sequence[AssistantReply]) -> list[CustomerRef]:
    call = last_call(history, "build_worklist", only_last_reply=True)
    if call is None or call.result is None:
        return []
    return [customer_ref(row["customer"]) for row in call.result.get("rows", [])]


def customer_ref(customer: dict[str, Any]) -> CustomerRef:
    return CustomerRef(
        str(customer["id"]),
        str(customer["name"]),
        int(customer["id"]),
        customer.get("external_id"),
        customer.get("currency"),
    )
