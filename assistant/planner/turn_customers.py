"""Finding the customer a message names (or the several it may name), its group, and the customer's one fitting
order; the places in the message are `turn_places`'."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from core.errors import CreditDeskError
from db.engine import read_session
from db.models import Role
from tools.customers import ordinary_customer_names
from tools.name_matching import query_key
from tools.reference_words import place_names
from tools.registry import call_tool

from . import answers
from .context import (
    INDUSTRY_ALIASES,
    REGION_ALIASES,
    SEGMENT_ALIASES,
    CustomerRef,
    customer_ref,
    customers_of_the_last_reply,
    last_customer,
    list_call,
    listed_customers,
    listed_in_countries,
    match_staff,
    match_values,
    missed_a_customer,
    the_other_one,
    vocabulary,
)
from .dates import date_mentions
from .entities import (
    BARE_INVOICE_RE,
    CUSTOMER_ID_RE,
    DISPUTE_ID_RE,
    EXTERNAL_ID_RE,
    INVOICE_RE,
    ORDER_RE,
    TIME_OF_DAY_RE,
    Spans,
    data_source_mentions,
    dpd_range,
    invoice_numbers,
    money_mentions,
    order_numbers,
    risk_classes,
)
from .limit_change import terms_days
from .name_runs import NameCandidate, distinctive_word, name_candidates, not_set_aside
from .periods import period_mentions
from .phrases import (
    _MANY_RE,
    _NOT_A_GROUP_NAME,
    _PLACE_RE,
    _THE_ONE_RE,
    _THEIR_RE,
    _WHOLE_WORD_MATCHES,
    BOOK_STOP,
    BOOK_WORDS_RE,
    CUSTOMER_GROUP_RE,
    FOLLOW_UP_RE,
    GROUP_BY_RE,
    ON_ITS_OWN_RE,
    ONE_WORD_RE,
    ORDINAL_RE,
    PICK_RE,
    pick_index,
)
from .turn_name_lookups import TurnNameLookups
from .turn_state import Resolution, Stop

# A name quoted in the message is the name asked about, whatever its words ("'new worth'", "“Total SA”")
_QUOTED_NAME_RE = re.compile(r"(?<!\w)['‘“\"]([^'’”\"]{2,60})['’”\"](?!\w)")
_CODE_RE = re.compile(r"(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]{3,}|\d{4,}")


# Several customers named to be taken together ("X plus Y", "X and Y combined", "all three together")
# Two names joined ("Globex and Initech", "Wayne & Hooli", "Globex, Initech"): a read about one would drop the other
_TWO_NAMED_RE = re.compile(r"\w\s*(?:\band\b|&|,|\bplus\b|\bvs\.?|\bversus\b)\s*\w", re.I)
# "and the whole group incl. the parent?": the group of the customer spoken of, no customer named "… Group"
_THE_WHOLE_GROUP_RE = re.compile(
    r"\b(?:the|their|its)\s+(?:whole|entire|wider|full)\s+group\b|\bincl\w*\.?\s+(?:the\s+)?parent\b"
    # "with the distribution sub too": the customer's subsidiaries, which its group roll-up holds
    r"|\b(?:with|incl\w*\.?|plus)\s+(?:the\s+|its\s+|their\s+)?(?:[\w-]+\s+)?(?:subs?|subsidiar\w*|affiliates?)\b",
    re.I,
)
_COMBINED_RE = re.compile(r"\bplus\b|\bcombined\b|\btogether\b|\bin total\b|\ball (?:three|of them)\b|\+", re.I)
# Words that name a part of the book, its figures or things of which there are many: "them" then speaks of those
# ("set them against the end of June figure", "do disputed invoices get dunned or are they left out?")
_A_PART_OF_THE_BOOK_RE = re.compile(
    r"\b(?:book|portfolio|region|segment|collector|currency|countr(?:y|ies)|industry|sector|team|emea|apac|latam)\b"
    r"|\bnorth\s+america\b|\b(?:receivables|ar|figures?|numbers?|totals?|ageing|aging|dso|cei|kpis?)\b"
    r"|\b(?:invoices|orders|items|promises|ptps|disputes|payments|letters|reminders|proposals|limits)\b",
    re.I,
)
_THEM_RE = re.compile(r"\b(?:them|they|their|theirs|they'?re|they'?ve|they'?ll)\b", re.I)
_OWN_BOOK_ONLY = " in your book (you see only the customers assigned to you)"
_DISPUTE_NUMBER_RE = re.compile(r"\bdispute\s*(?:id\s*|no\.?\s*|number\s*)?#?\s*\d+\b", re.I)


# "… systems - compare 30 and 60 day terms": a request word, never part of a name
_COMPARE_RE = re.compile(r"\bcompar(?:e|ed|ing|ison)\b", re.IGNORECASE)


# A follow-up of this many words or fewer naming a figure alone ("total exposure?") asks it of the customer before
_BARE_FIGURE_WORDS = 3
# "the city account", "the brewing customer": ordinary words that, said so, point at customers named with them
_THE_NAMED_ACCOUNT_RE = re.compile(r"\bthe\s+([a-z][\w&-]*)(?:'s)?\s+(?:account|customer|client|one|co)\b", re.I)


class TurnCustomers(TurnNameLookups):
    """Which customer, group, country or order the message names."""

    def customer_group(self) -> str | None:
        """The customer a "… group" phrase names ("Acme group", "group of Initech"), if any."""
        if ON_ITS_OWN_RE.search(self.text):
            return None
        for match in CUSTOMER_GROUP_RE.finditer(self.text):
            word = match.group(1) or match.group(2)
            if word.lower() not in _NOT_A_GROUP_NAME and word.lower() not in BOOK_STOP:
                return word
        return None

    def about_the_book(self) -> bool:
        """ "What's our total overdue?", "aging": no customer named, none in the thread: a portfolio question. A
        dispute, order or invoice named by its number is one customer's ("what happened with dispute 120 in the
        end")."""
        if any(
            p.search(self.text) for p in (CUSTOMER_ID_RE, ORDER_RE, INVOICE_RE, BARE_INVOICE_RE, _DISPUTE_NUMBER_RE)
        ) or (last_customer(self.history) is not None and not BOOK_WORDS_RE.search(self.text)):
            return False
        if self.request.actor.role == Role.SALES or self.customer_group() or self.points_at_no_one():
            return False
        if self.history and missed_a_customer(self.history[-1]) and _THEIR_RE.search(self.text):
            return False  # "what do they owe us?" after a customer that was not found: that one, never the book
        book = BOOK_WORDS_RE.search(self.text)
        if book and re.search(r"\bgroup\b", book.group(0), re.IGNORECASE) and self.names_a_customer():
            return False  # "Newford — the whole group, all four entities": that customer's group
        if book or GROUP_BY_RE.search(self.text):
            return True
        return not self.names_something()

    def names_an_invoice(self) -> bool:
        return bool(INVOICE_RE.search(self.text) or BARE_INVOICE_RE.search(self.text))

    def a_bare_figure(self) -> bool:
        """ "total exposure?", "overdue?": a figure named alone, with no part of the book (group, place, region,
        segment, collector) to take it from."""
        vocab = vocabulary(self.request.database_url)
        dated = Spans()
        date_mentions(self.text, self.today, dated)  # "and exposure at the end of june?": the figure, at a date
        period_mentions(self.text, self.today, dated)
        words = FOLLOW_UP_RE.sub(" ", dated.masked(self.text).replace("|", " ")).split()
        return (
            len(words) <= _BARE_FIGURE_WORDS
            and not GROUP_BY_RE.search(self.text)
            and not self.names_a_place()
            and not match_values(self.text, vocab.regions, REGION_ALIASES, Spans())
            and not match_values(self.text, vocab.segments, SEGMENT_ALIASES, Spans())
            and not match_staff(self.text, vocab, Spans())
        )

    def points_at_no_one(self) -> bool:
        """ "can you check on them", "the overdue one" with no customer before: someone is meant, and who is asked
        (never the book's figures instead)."""
        return (
            not self.history
            and (_THEIR_RE.search(self.text) is not None or ONE_WORD_RE.match(self.text) is not None)
            and not BOOK_WORDS_RE.search(self.text)
            and not _MANY_RE.search(self.text)
            and not _A_PART_OF_THE_BOOK_RE.search(self.text)
            and not self.names_something()
            and not self.names_a_place()
        )

    def names_something(self) -> bool:
        """Words left that may name a customer once dates, amounts, regions, segments and staff are explained, and
        that the customer index matches at least loosely ("globx" does; "atm", "overall picture" don't)."""
        return (
            any(
                status != "not_found"
                or candidate.name_like
                or any(map(distinctive_word, candidate.text.split()))
                or self.rare_name_word_in(candidate.text)
                for candidate, status in self.name_statuses()
            )
            or self.an_account_named_by_a_word()
        )

    def named_by_an_ordinary_word(self, missed: list[str]) -> Resolution | None:
        """ "the pharma customer", "now do the renewables one": customers whose names hold that ordinary word — the
        one, or the few to choose from (never a guess, never the customer before)."""
        words = [m.group(1) for m in _THE_NAMED_ACCOUNT_RE.finditer(self.text)]
        words += [query for query in missed if len(query.split()) == 1]
        for word in dict.fromkeys(word.lower() for word in words):
            if not self.rare_name_word_in(word):
                continue
            found = self.call("resolve_customer", {"query": word, "name_word": True})
            if found["status"] == "resolved":
                return Resolution(customer=customer_ref(found["customer"]))
            if found["status"] == "ambiguous":
                return Resolution(ambiguous=[customer_ref(c["customer"]) for c in found["candidates"]], query=word)
        return None

    def an_account_named_by_a_word(self) -> bool:
        return any(self.rare_name_word_in(m.group(1)) for m in _THE_NAMED_ACCOUNT_RE.finditer(self.text))

    def rare_name_word_in(self, text: str) -> bool:
        """ "coral leaf" asked by a collector whose book holds no Coral Leaf: words that point at some customer of the
        whole book still name someone, so the question is never answered with the collector's book instead."""
        words = [word.lower() for word in re.findall(r"[A-Za-z][\w&'-]*", text)]
        return any(stat.rare for stat in self.name_word_stats(words).values())

    def unknown_word(self) -> bool:
        """A word left that names no customer and is in no dictionary ("scor for longcore"): a typo of what is asked."""
        return any(
            status != "resolved" and any(map(distinctive_word, candidate.text.split()))
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
            terms_days(self.text, probe)  # "compare 30, 45 and 60 day terms"
            for verb in _COMPARE_RE.finditer(self.text):
                probe.add(*verb.span())
            dpd_range(self.text, probe)
            risk_classes(self.text, probe)
            for time in TIME_OF_DAY_RE.finditer(self.text):
                probe.add(*time.span())
            vocab = vocabulary(self.request.database_url)
            match_values(self.text, vocab.regions, REGION_ALIASES, probe)
            match_values(self.text, vocab.segments, SEGMENT_ALIASES, probe)
            match_values(self.text, vocab.industries, INDUSTRY_ALIASES, probe)  # "broken PTPs in Retail"
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
                part = self.resolved_part([candidate.text], self.look_up) if status != "resolved" else None
                if part is not None:  # "ash haven's outstandng": a name among other words, which are no name
                    candidate, status = replace(candidate, text=part[1]), "resolved"
                elif status != "resolved" and self.resolve_widened([candidate.text], self.look_up, probe) is not None:
                    status = "resolved"  # "new worth systems": a name holding request words
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

    def customer(
        self, *, extra_stop: frozenset[str] = frozenset(), use_history: bool = True, single: str | None = None
    ) -> CustomerRef:
        """The customer the text names. `single`: a write, which must name exactly one (its "nothing was …" text)."""
        resolution = self.resolve(extra_stop=extra_stop, use_history=use_history, single=single is not None)
        if resolution.others:
            self.offered = self.in_the_users_order(resolution.others)
            names = " and ".join(f"{c.name} ({c.external_id})" for c in self.offered)
            raise Stop(
                f"That names more than one customer: {names}. Which one do you mean? Send one request per customer. "
                + (single or "Nothing was answered."),
                "several customers",
            )
        if resolution.customer is not None:
            return resolution.customer
        other = the_other_one(self.text, resolution.ambiguous or [], last_customer(self.history))
        if other is not None:
            return other
        self.offered = list(resolution.ambiguous or [])
        if resolution.ambiguous and len(resolution.ambiguous) == 1:
            only = resolution.ambiguous[0]
            raise Stop(
                f"“{resolution.query}” is not a customer's name; did you mean {only.name} ({only.external_id})? Reply "
                "with the full name or the id. Nothing was answered.",
                "ambiguous customer",
            )
        if resolution.ambiguous:
            names = answers.bullets([f"{c.name} ({c.external_id})" for c in resolution.ambiguous])
            raise Stop(
                f"“{resolution.query}” matches several customers:\n{names}\nWhich one do you mean? Reply with the "
                "name (or “the first one”, “the second one”).",
                "ambiguous customer",
            )
        if resolution.not_found:
            own_book = _OWN_BOOK_ONLY if self.request.actor.role == Role.COLLECTOR else ""
            raise Stop(
                f"I couldn't find a customer matching “{resolution.not_found}”{own_book}. Check the spelling, or give "
                "the customer id or external id.",
                "customer not found",
            )
        raise Stop("Which customer do you mean? Give a name, an id or an external id.", "customer missing")

    def in_the_users_order(self, customers: list[CustomerRef]) -> list[CustomerRef]:
        """ "compare Keywell and Peakworth": the customers in the order the message names them, so that "the second
        one" is the second the user named and the second shown."""
        lowered = self.text.lower()

        def position(customer: CustomerRef) -> int:
            first = (customer.name or "").split()[:1]
            found = lowered.find(first[0].lower()) if first else -1
            return found if found >= 0 else len(lowered)

        return sorted(customers, key=position)

    def listed_by_word(self) -> CustomerRef | None:
        """ "the home one" after "morrison matches several customers": the one listed customer whose name has the
        word."""
        words = ONE_WORD_RE.match(self.text)
        if words is None:
            return None
        wanted = re.compile(rf"\b{re.escape(words.group(1))}\b", re.IGNORECASE)
        named = [ref for ref in self.listed() if ref.name and wanted.search(ref.name)]
        return named[0] if len(named) == 1 else None

    def resolve(self, *, extra_stop: frozenset[str], use_history: bool, single: bool = False) -> Resolution:
        if self.fixed_customer is not None:
            return Resolution(customer=self.fixed_customer)
        pick = PICK_RE.match(self.text)
        ordinal = ORDINAL_RE.search(self.text)
        listed = self.listed() if pick or ordinal else []
        if listed and pick:
            index = pick_index(pick)
            if -len(listed) <= index < len(listed):
                return Resolution(customer=listed[index])
        explicit_id = CUSTOMER_ID_RE.search(self.text)
        queries: list[tuple[str, bool]] = []
        if explicit_id:
            self.spans.add(*explicit_id.span())
            queries.append((next(g for g in explicit_id.groups() if g), True))
        if listed and ordinal and not explicit_id:
            index = pick_index(ordinal)
            if -len(listed) <= index < len(listed):
                self.spans.add(*ordinal.span())
                return Resolution(customer=listed[index])
        if use_history and _THE_ONE_RE.search(self.text) and list_call(self.history) is not None:
            # "the canadian one" after "coral leaf matches several customers": the one in that country
            in_country = listed_in_countries(self.history, self.countries(vocabulary(self.request.database_url)))
            if len(in_country) == 1:
                return Resolution(customer=in_country[0])
            by_word = self.listed_by_word()
            if by_word is not None:
                return Resolution(customer=by_word)
        # "the customer record for 'new worth'": a quoted name as typed
        queries.extend((quoted.group(1).strip(), True) for quoted in _QUOTED_NAME_RE.finditer(self.text))
        group_word = self.customer_group()
        runs = self.usable(name_candidates(self.text, self.non_name_spans(), extra_stop))
        for candidate in not_set_aside(self.text, runs):
            if group_word:  # "Acme group": the family is found by its name; "group" would match every "… Group Ltd"
                stripped = re.sub(r"\s*\b(?:group|family)\b\s*", " ", candidate.text, flags=re.IGNORECASE).strip()
                if stripped and stripped != candidate.text:
                    queries.append((candidate.text, candidate.name_like))
                    queries.append((stripped, candidate.name_like))
                    continue
            queries.append((candidate.text, candidate.name_like))
        # a code ("IBM customer 0688-XNJRO", "acct 4471-B") identifies a customer better than the words beside it
        queries.sort(key=lambda query: not _CODE_RE.fullmatch(query[0]))
        not_found: str | None = None
        weak_not_found: str | None = None
        suggestion: Resolution | None = None
        for position, (query, name_like) in enumerate(queries[:5]):
            result = self.call("resolve_customer", {"query": query[:200]})
            if result["status"] == "resolved":
                found = result["customer"]
                if group_word and found.get("parent_id") is not None:
                    return Resolution(customer=CustomerRef(str(found["parent_id"]), found.get("parent_name")))
                if single:
                    named = self.also_named(query, customer_ref(found), [q for q, _ in queries[position + 1 : 6]])
                    if len(named) > 1:
                        return Resolution(others=named)
                else:
                    family = (
                        self.family_named(found, [q for q, _ in queries[:5]])
                        if _COMBINED_RE.search(self.text)
                        else None
                    )
                    if family is not None:  # "acme corporation plus acme europe and acme logistics — combined"
                        return Resolution(customer=family)
                    if _TWO_NAMED_RE.search(self.text):
                        # "Globex and Initech exposure": one answer would be for one of them only; ask
                        rest = [q for q, _ in queries[position + 1 : 4]]
                        named = self.also_named(query, customer_ref(found), rest)
                        if len(named) == 1:
                            named = self.runs_naming(customer_ref(found), [q for q, _ in queries[:3]])
                        if len(named) > 1:
                            return Resolution(others=named)
                        missing = self.missing_beside(query, [q for q, _ in queries[:4] if q != query])
                        if missing is not None:
                            return Resolution(not_found=missing)
                return Resolution(customer=customer_ref(found))
            if result["status"] == "ambiguous":
                matches: list[dict[str, Any]] = [c["customer"] for c in result["candidates"]]
                group_head = self.group_head(matches)
                if group_head is not None:
                    return Resolution(customer=customer_ref(group_head))
                if group_word and re.search(r"\b(?:group|family)\b", query, re.IGNORECASE):
                    continue  # try the name without "group"
                if len(matches) == 1 or not any(c["matched_on"] in _WHOLE_WORD_MATCHES for c in result["candidates"]):
                    # near spellings only, for words that are no name ("hooli's line", "recomended", "limit reco
                    # for peakworth"): the other runs, or a shorter run of these words, may name the customer
                    # exactly; else the suggestions are asked
                    suggestion = suggestion or Resolution(ambiguous=[customer_ref(c) for c in matches], query=query)
                    continue
                offered = [customer_ref(c) for c in matches]
                widened = self.resolve_widened([query])
                if widened is not None and widened.reference in {ref.reference for ref in offered}:
                    return Resolution(customer=widened)  # "Willow Works Labs GmbH", "works" ending the run "Willow"
                return Resolution(ambiguous=offered, query=query)
            if name_like and not_found is None:
                not_found = query
            elif weak_not_found is None:
                weak_not_found = query
        part = self.resolve_part([query for query, _ in queries[:5]]) or self.resolve_widened(
            [query for query, _ in queries[:3]]
        )
        if part is not None:
            if not single and _COMBINED_RE.search(self.text):
                found = self.look_up("resolve_customer", {"query": part.reference}).get("customer")
                family = self.family_named(found, [q for q, _ in queries[:5]]) if found else None
                if family is not None:
                    return Resolution(customer=family)
            if not single and _TWO_NAMED_RE.search(self.text):
                named = self.runs_naming(part, [q for q, _ in queries[:3]])
                if len(named) > 1:  # "acme europe and acme logistics - exposure": which one?
                    return Resolution(others=named)
            return Resolution(customer=part)
        if suggestion is not None:
            return suggestion
        worded = self.named_by_an_ordinary_word([q for q in (not_found, weak_not_found) if q])
        if worded is not None:
            return worded
        if not_found:
            return Resolution(not_found=not_found)
        if use_history and not (weak_not_found and self.rare_name_word_in(weak_not_found)):
            # "now do the renewables one" after Keywell's score names someone else: never Keywell again
            shown = listed_customers(self.history[-1:], refetch=self.call) if _THEM_RE.search(self.text) else []
            if len(shown) == 1:
                return Resolution(customer=shown[0])  # "draft them a letter" after the one biggest overdue account
            both = customers_of_the_last_reply(self.history)
            if len(both) > 1 and _THEM_RE.search(self.text):
                return Resolution(others=both)  # "draft a letter to them" after two customers compared: which?
            previous = last_customer(self.history)
            if previous is not None:
                return Resolution(customer=previous)
        return Resolution(not_found=weak_not_found)

    def non_name_spans(self) -> Spans:
        """The explained spans plus the amounts, dates, risk classes and document numbers not read yet: "could they
        take a 10k order", "log it for INV-2026-0000222", "on leave until the 30th" name no customer."""
        spans = Spans(list(self.spans.ranges))
        money_mentions(self.text, spans)
        date_mentions(self.text, self.today, spans)
        risk_classes(self.text, spans)  # "E-rated and still paying late"
        for pattern in (INVOICE_RE, ORDER_RE, DISPUTE_ID_RE, TIME_OF_DAY_RE, _COMPARE_RE, _THE_WHOLE_GROUP_RE):
            for match in pattern.finditer(self.text):
                spans.add(*match.span())
        return spans
