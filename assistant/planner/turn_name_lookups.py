"""Looking customers up by the words of a message: runs of name words, parts and widenings of a run, several customers
named at once, a group's head. The base of `TurnCustomers`, which decides what a message names."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from core.errors import CreditDeskError
from db.engine import read_session
from tools.customers import NameWord, customer_name_word_stats, customer_name_words
from tools.name_matching import query_key
from tools.reference_words import LEGAL_FORMS
from tools.registry import call_tool

from .context import (
    CustomerRef,
    customer_ref,
)
from .entities import (
    Spans,
)
from .name_runs import distinctive_word, widened_runs
from .phrases import (
    _WHOLE_WORD_MATCHES,
    MAX_PART_LOOKUPS,
    MAX_WIDENED_LOOKUPS,
    _name_word_key,
    is_filler_run,
)
from .semantic import PLACEHOLDER
from .turn_places import TurnPlaces

# "0688-XNJRO", "4471-B": a code of letters and digits joined by a hyphen (not an order's or invoice's number)
_HYPHENATED_CODE_RE = re.compile(
    r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])(?!(?:INV|SO|CN)-)[A-Za-z0-9]+-[A-Za-z0-9]+(?![\w-])", re.I
)
_JOINED = r"(?:and|&|,|vs\.?|versus|plus|or)"


class TurnNameLookups(TurnPlaces):
    """The customer look-ups a turn makes, each remembered for the turn."""

    def look_up(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tool's answer without recording it as part of the reply (probing what the words may mean)."""
        try:
            result = call_tool(name, arguments, self.ctx)
        except CreditDeskError:
            return {"status": "not_found"}
        return result.model_dump(mode="json") if isinstance(result, BaseModel) else dict(result)

    def customer_codes_masked(self, text: str) -> str:
        """ "payment trend for 6627-ELFBK by quarter": a customer's code stands where a name would, so the classifier
        reads it as the stand-in name its examples were trained with (a code naming no customer stays)."""

        def masked(match: re.Match[str]) -> str:
            found = self.look_up("resolve_customer", {"query": match.group(0)})
            return PLACEHOLDER if found.get("status") == "resolved" else match.group(0)

        return _HYPHENATED_CODE_RE.sub(masked, text)

    def resolve_part(
        self, queries: list[str], lookup: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    ) -> CustomerRef | None:
        """A run of words that named nobody may hold a name among words no rule explained ("deepstar's track
        record", "share of Soylent's"): its shorter runs, those keeping the first word first, are looked up too;
        only a clear match counts."""
        found = self.resolved_part(queries, lookup)
        return None if found is None else found[0]

    def resolved_part(
        self, queries: list[str], lookup: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    ) -> tuple[CustomerRef, str] | None:
        """`resolve_part`'s customer, with the words that named it."""
        tried = 0
        for query in queries:
            words = query.split()
            parts = [" ".join(words[:n]) for n in range(len(words) - 1, 0, -1)]
            parts += [" ".join(words[n:]) for n in range(1, len(words))]
            inner = self.name_word_runs(words)  # first, even when a run is also an end of the query
            for part in inner + sorted((p for p in parts if p not in inner), key=lambda p: -len(p.split())):
                if tried >= MAX_PART_LOOKUPS:
                    return None
                if (
                    len(part.split()) == 1
                    and is_filler_run(part)
                    and not ((query.startswith(part) or part.endswith(("'s", "’s"))) and self.name_words([part]))
                ):
                    # one common word ("still") names no one, unless it leads the run or owns something and is a
                    # name ("Umbrella confirmed …", "share of umbrella's"); two may lead a name ("ash haven")
                    continue
                tried += 1
                result = (lookup or self.call)("resolve_customer", {"query": part[:200]})
                if result["status"] != "resolved":
                    continue
                # Words left out that no name needs ("track record"), or a part that is a name's own whole words
                # ("rescore vandelay imports", "initech usually settle"); a near spelling of a part is not enough.
                rest = query.replace(part, " ", 1)
                how = result["candidates"][0]["matched_on"] if result.get("candidates") else ""
                if is_filler_run(rest) or how in _WHOLE_WORD_MATCHES:
                    return customer_ref(result["customer"]), part
        return None

    def name_word_runs(self, words: list[str]) -> list[str]:
        """The runs of `words` that are all words of some customer's name, one of them distinctive or all of them
        capitalised, inside a longer run ("gave Jansen Brands net 60 instead" → "Jansen Brands", "compare Umbrella
        Health and Globex" → "Umbrella Health"), longest first."""
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
            if len(run) < len(words)
            and (
                any(distinctive_word(keys[i]) for i in run)
                or (len(run) >= 2 and all(words[i][:1].isupper() for i in run))
            )
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
                keys = {_name_word_key(w) for w in grown.split()} - LEGAL_FORMS  # "SAS", "GmbH": forms, no words
                if len(self.name_words(grown.split()) - LEGAL_FORMS) < len(keys):
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

    def missing_beside(self, query: str, rest: list[str]) -> str | None:
        """ "compare umbrella and globex" when no customer (in the user's book) is Globex: the name said beside the
        one found, which an answer about that one alone would silently drop."""
        for other in rest:
            first, second = re.escape(query), re.escape(other)
            pair = rf"{first}\s*{_JOINED}\s*{second}|{second}\s*{_JOINED}\s*{first}"
            if (
                re.search(pair, self.text, re.I)
                and all(distinctive_word(word) for word in other.split())
                and self.look_up("resolve_customer", {"query": other[:200]}).get("status") == "not_found"
            ):
                return other
        return None

    def runs_naming(self, found: CustomerRef, queries: list[str]) -> list[CustomerRef]:
        """`found` and any other customer a run of name words inside the queries names exactly (not recorded)."""
        named = [found]
        for query in queries:
            for run in self.name_word_runs(query.split()):
                result = self.look_up("resolve_customer", {"query": run[:200]})
                if result.get("status") == "resolved":
                    ref = customer_ref(result["customer"])
                    if all(ref.id != seen.id for seen in named):
                        named.append(ref)
        return named

    def family_named(self, found: dict[str, Any], others: list[str]) -> CustomerRef | None:
        """The parent, when the text names it and one of its subsidiaries ("X plus its subsidiary Y, combined"): the
        group's figures are the question (two subsidiaries alone are not the whole group). Lookups are not recorded."""
        head_id = found.get("parent_id") or found.get("id")
        named = {found.get("id")}
        for other in others:
            for part in [other, *self.name_word_runs(other.split())]:
                result = self.look_up("resolve_customer", {"query": part[:200]})
                if result.get("status") == "resolved":
                    member = result["customer"]
                    if (member.get("parent_id") or member.get("id")) == head_id:
                        named.add(member.get("id"))
        if head_id in named and len(named) > 1:
            return CustomerRef(str(head_id), found.get("name") if found.get("id") == head_id else None)
        return None

    def group_head(self, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
        """ "Acme group": among the matches, the one customer the others belong to."""
        if not re.search(
            r"\b(?:group|family|subsidiar\w*|affiliates?|subs?|entit(?:y|ies)|roll-?up|consolidated)\b", self.text, re.I
        ):
            return None  # "starway incl. all subsidiaries": the head the others belong to
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
