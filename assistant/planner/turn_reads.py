"""The offline planner's read capabilities other than portfolio questions, and policy questions with citations."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from assistant.catalogue import by_intent
from assistant.types import Citation
from db.models import Role
from tools.reference_words import is_filler, is_ordinary

from . import answers, answers_lookup
from .comparisons import compared_date, comparison, earlier_arguments
from .context import (
    REGION_ALIASES,
    CustomerRef,
    customer_open_orders,
    last_call,
    match_staff,
    match_values,
    order_customer,
    vocabulary,
)
from .decision_forms import (
    _THE_ORDER_RE,
    _WHAT_WOULD_IT_TAKE_RE,
    IS_IT_SAFE_RE,
    PAYMENT_MADE_RE,
    asks_whether_orders_ship,
)
from .entities import (
    LEVEL_RE,
    PAGE_RE,
    TOP_N_RE,
    MoneyMention,
    Spans,
    first_int,
    money_mentions,
    order_numbers,
    risk_classes,
)
from .intent_rules import NAME_SEARCH_RE
from .intents import Intent
from .limit_change import terms_days
from .phrases import (
    _ABOUT_IT_RE,
    _HELD_RE,
    _HISTORY_POINTS_RE,
    _MY_PROPOSALS_RE,
    _NARROW_RE,
    _PROPOSAL_KINDS,
    _THEIR_PROPOSALS_RE,
    BOTH_BOOKS_RE,
    FOLLOW_UP_RE,
    LEVEL_WORDS,
    NEXT_PAGE_RE,
    NOW_RE,
    ONLY_RE,
    ORDINAL_RE,
    RANKED_CUE_RE,
    SAME_BUT_RE,
    STATUS_CHANGE_RE,
    TONES,
    WHY_RANKED_RE,
    WIDEN_RE,
    pick_index,
)
from .portfolio_query import MIN_CHANGE_RE, ONLY_A_DATE_RE
from .turn_records import TurnRecords
from .turn_state import Stop, count_word

# "20 at a time", "25 per page", "show 15 rows", "first 30": how many accounts a worklist page shows
_PAGE_SIZE_RE = re.compile(
    r"\b(\d{1,3})\s+(?:at\s+a\s+time|per\s+page|a\s+page|rows|lines|accounts|names|customers)\b"
    r"|\b(?:first|next)\s+(\d{1,3})\b(?!\s*(?:days?|k|m|%))",
    re.IGNORECASE,
)


# "is their order on hold?": the order's check says whether and why it is held
_JUST_THE_STATUS_RE = re.compile(r"\bstatus\b|\bstanding\b", re.I)
_AN_ORDER_NAMED_RE = re.compile(r"\borders?\b|\bSO-\d|\bpo\b", re.I)  # "a delivery date" names no order
_NEW_ORDER_WORDS_RE = re.compile(r"\b(?:new|another|more|again|place|placing|take|taking|accept)\b", re.I)
_THEIR_ORDER_HELD_RE = re.compile(
    r"\b(?:their|its|the)\s+(?:open\s+|new\s+|latest\s+)?order\b.{0,30}\b(?:hold|held|blocked|stuck)\b", re.I
)
_ONE_ACCOUNT_RE = re.compile(
    r"\b(?:single|one)\s+(?:top|most\s+urgent|biggest|first)\s+(?:account|customer|name|one)\b"
    r"|\bnumber\s+one\b|\b(?:the|my)\s+top\s+(?:account|customer|name|one)\b(?!s)",
    re.IGNORECASE,
)


# The part of a name searched for: quoted, or the word after "contains"/"like"/"starting with" or before "in the name"
_QUOTED_RE = re.compile(r"['\"‘“]([^'\"’”]{2,60})['\"’”]")
_NAME_PART_RE = re.compile(
    r"\b(?:contains?|containing|includes?|including|like|starting\s+with|starts\s+with|beginning\s+with|begins\s+with)"
    r"\s+(?:the\s+word\s+)?([\w&.-]{2,40})|\b([\w&.-]{2,40})\s+in\s+(?:the|their|its)\s+names?\b",
    re.I,
)


def _searched_name(text: str) -> str | None:
    quoted = _QUOTED_RE.search(text)
    if quoted is not None:
        return quoted.group(1).strip()
    part = _NAME_PART_RE.search(text)
    return (part.group(1) or part.group(2)) if part is not None else None


# "do one for baycore too", "same for globex", "and for initech?" after a draft: the same letter for someone else
_ONE_MORE_LIKE_IT_RE = re.compile(
    r"\b(?:too|as\s+well|also|same|likewise)\b|\b(?:do|draft|write)\s+(?:one|another)\b|^\W*(?:and|what\s+about|now)\b",
    re.I,
)


class TurnReads(TurnRecords):
    """The read capabilities: one tool call each (or a short fixed chain) and a templated answer."""

    def help(self) -> str:
        return answers.HELP

    def out_of_scope(self) -> str:
        if PAYMENT_MADE_RE.search(self.text):
            return (
                "I can't record a payment: cash reaches the ledger from the ERP import, not from the desk, and a "
                "payment already made is no promise to pay. Nothing was logged. Nearest things I can do: show the "
                "customer's balance and last payment, or log a promise for what is still to come."
            )
        if STATUS_CHANGE_RE.search(self.text):
            return (
                "I can't do that: a customer's credit status follows the credit policy's rules (limit, overdue, "
                "broken promises) and is not set by hand. Nothing was done. Nearest things I can do: put one of its "
                "open orders on hold (a proposal someone approves), show its status and why, or propose a lower "
                "credit limit."
            )
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

    def find_customer(self) -> str:
        term = _searched_name(self.text) if NAME_SEARCH_RE.search(self.text) else None
        if term is not None:
            return answers_lookup.name_search(term, self.call("resolve_customer", {"query": term, "limit": 20}))
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
        proposer = re.search(r"\b(?:from|by)\s+(\w+)", self.text, re.I) or _THEIR_PROPOSALS_RE.search(self.text)
        if proposer:
            named = next(group for group in proposer.groups() if group)
            staff = match_staff(named, vocabulary(self.request.database_url), Spans())
            if staff:
                args["proposed_by"] = staff[0]
        if "proposed_by" not in args and _MY_PROPOSALS_RE.search(self.text):
            args["proposed_by"] = self.request.actor.name  # "are my release requests still pending?"
        made = self.history[-1].proposals if self.history else []
        if made and not kinds and _ABOUT_IT_RE.search(self.text):
            # "is it still waiting for approval?" after the user's proposal: their proposals of that kind
            args.setdefault("proposed_by", self.request.actor.name)
            args["kind"] = made[-1].action
        mine = args.get("proposed_by") == self.request.actor.name
        return answers_lookup.pending_approvals(self.call("list_pending_approvals", args), mine=mine)

    def unknown(self) -> str:
        return "I didn't understand that request, so I did nothing.\n\n" + answers.HELP

    def status(self) -> str:
        if order_numbers(self.text, Spans()) or _THEIR_ORDER_HELD_RE.search(self.text):
            return self.release_check()  # "why is SO-0000022 on hold?": that order's check says why
        return self.standing(self.customer_exposure())

    def standing(self, result: dict[str, Any]) -> str:
        """A customer's credit status as the asker may see it (sales: the status alone, no figures)."""
        if self.request.actor.role == Role.SALES:
            return answers.exposure(result, ageing=False, sales_view=True)
        return answers.status(result)

    def release_check(self) -> str:
        orders = order_numbers(self.text, self.spans)
        picked = None if orders else self.number_picked("orders")
        if picked is not None:
            orders = [picked]  # "and the third one?" after the user listed order numbers
        self.dates(used=False)  # "today", "on Friday": the check is always for today; keep them out of names/amounts
        amount = None if orders else self.amount()
        reference: CustomerRef | None = None
        if orders and not any(
            status == "resolved" or candidate.name_like for candidate, status in self.name_statuses()
        ):  # "does so-0000054 pass credit?", "SO-14 ship y/n": the order names its customer; "pass" names no one
            owner = order_customer(self.request.database_url, orders[0])
            if owner is None:
                raise Stop(f"I couldn't find order {orders[0]}.", "order not found")
            reference = CustomerRef(str(owner))
        customer = reference or self.customer()
        if not orders and amount is not None and (named := self.order_by_its_figure(customer, amount)) is not None:
            orders, amount = [named], None
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
            elif _JUST_THE_STATUS_RE.search(self.text) and not asks_whether_orders_ship(self.text):
                return self.status_of(customer)  # "… a big order next wk but for now i just need the status"
            elif not self.asks_about_new_orders() and (only := self.the_held_or_open_order(customer)) is not None:
                args["order_number"] = only
        return answers.release(self.call("check_order_release", args))

    def status_of(self, customer: CustomerRef) -> str:
        return self.standing(
            self.call("get_customer_exposure", {"customer": customer.reference, "include_group": False})
        )

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
        wanted = int(next(group for group in points.groups() if group)) if points else 3
        args: dict[str, Any] = {"customer": customer.reference, "history_points": wanted}
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
        result = self.call("recommend_credit_limit", args)
        asked = [m for m in money_mentions(self.text, self.spans) if not m.error and m.amount > 0]
        head = ""
        # "what if we raised riverline's limit to 50k?", "is it safe to go to 150k on globex's limit?"
        if asked and (_WHAT_WOULD_IT_TAKE_RE.search(self.text) or IS_IT_SAFE_RE.search(self.text)):
            typed = self.text[asked[0].start : asked[0].end].strip()
            head = (
                f"Nothing was proposed: a limit of “{typed}” is a what-if, answered here with what the policy "
                f"recommends (a limit is not simulated yet). To propose it, say “set the limit to {typed}”.\n\n"
            )
        return head + answers.limit_recommendation(result, what_if=terms)

    def worklist(self) -> str:
        vocab = vocabulary(self.request.database_url)
        args: dict[str, Any] = {"page_size": 10}
        previous = last_call(self.history, "build_worklist", only_last_reply=True)
        picked = ORDINAL_RE.search(self.text)
        if previous is not None and WHY_RANKED_RE.search(self.text) and (picked or RANKED_CUE_RE.search(self.text)):
            # "why is the first one on top?": that row of the page shown; "why is umbrella first on it?": the rows
            # the message names, in its order, wherever they rank
            whole = {**previous.arguments, "page": 1, "page_size": 100}
            result = self.call("build_worklist", dict(previous.arguments) if picked else whole)
            named = rows_named(self.text, result["rows"])
            if named:
                return "\n\n".join(answers_lookup.worklist_rank_why(r, result["total_ranked"]) for r in named)
            if picked is None:
                raise Stop(
                    f"I couldn't find the account you named on that list ({result['total_ranked']} ranked). Name it "
                    "as the list shows it, or ask about the account itself.",
                    "row not on the list",
                )
            index = pick_index(picked)
            rows = result["rows"]
            if not -len(rows) <= index < len(rows):
                raise Stop(f"The list shown has {len(rows)} row(s); which one do you mean?", "row out of range")
            return answers_lookup.worklist_rank_why(rows[index], result["total_ranked"])
        if previous is not None and NEXT_PAGE_RE.match(self.text):
            args = dict(previous.arguments)
            page = first_int(PAGE_RE, self.text, self.spans)
            args["page"] = page or int(args.get("page", 1)) + 1
            return answers.worklist(self.call("build_worklist", args))
        widen = previous is not None and WIDEN_RE.match(self.text) is not None
        if previous is not None and (_NARROW_RE.match(self.text) or ONLY_RE.match(self.text) or widen
                                     or FOLLOW_UP_RE.match(self.text) or SAME_BUT_RE.match(self.text)
                                     or _ABOUT_IT_RE.search(self.text) or MIN_CHANGE_RE.match(self.text)
                                     or ONLY_A_DATE_RE.match(self.text)):  # fmt: skip
            args = {k: v for k, v in previous.arguments.items() if k not in ("page", "as_of")}
        collectors = match_staff(self.text, vocab, self.spans, roles=frozenset({"collector"}))
        if self.request.actor.role == Role.COLLECTOR:
            collectors = [c for c in collectors if c != self.request.actor.name]
        if not collectors and previous is not None and BOTH_BOOKS_RE.search(self.text):
            collectors = self.collectors_of_the_thread()  # "both of them together" after cameron's, then charlie's
            args.pop("collector", None)
        if collectors and widen:  # "add casey's accounts to that too" after cleo's: both books
            before = args.pop("collectors", None) or ([args.pop("collector")] if args.get("collector") else [])
            collectors = list(dict.fromkeys([*before, *collectors]))
        if collectors and not widen:  # "now casey and charlie together" after cleo's: theirs instead
            args.pop("collector", None)
            args.pop("collectors", None)
        if len(collectors) == 1:
            args["collector"] = collectors[0]
        elif collectors:
            args["collectors"] = collectors
        regions = match_values(self.text, vocab.regions, REGION_ALIASES, self.spans)
        if regions:
            args["region"] = regions[0]
        self.refuse_places(self.places(), regions=vocab.regions)
        top = first_int(TOP_N_RE, self.text, self.spans) or first_int(_PAGE_SIZE_RE, self.text, self.spans)
        if top is None and _ONE_ACCOUNT_RE.search(self.text):
            top = 1  # "the single top account on my list", "who's my number one today?"
        if top:
            args["page_size"] = max(1, min(top, 100))
        page = first_int(PAGE_RE, self.text, self.spans)
        if page:
            args["page"] = page
        classes = risk_classes(self.text, self.spans)
        if classes and widen:  # "add class D too": the classes before and this one
            before = args.pop("risk_classes", None) or ([args["risk_class"]] if args.get("risk_class") else [])
            classes = list(dict.fromkeys([*before, *classes]))
        if classes:
            args.pop("risk_class", None)
            args["risk_classes"] = classes
        found = self.dates(used=False)
        if len(found) == 1 and found[0].problem is None and found[0].day < self.today:
            args["as_of"] = found[0].day  # "my list as it stood last friday"
        minimum = self.amount()
        if minimum is not None:
            args["min_amount"] = str(minimum.amount)
        return answers.worklist(self.call("build_worklist", args))

    def collectors_of_the_thread(self) -> list[str]:
        """The collectors whose worklists the thread showed, latest last (two at most)."""
        found: list[str] = []
        for reply in reversed(self.history):
            for call in reply.tool_calls:
                if call.name != "build_worklist":
                    continue
                named = call.arguments.get("collectors") or [call.arguments.get("collector")]
                found = [*(c for c in named if c and c not in found), *found]
            if len(found) >= 2:
                break
        return found[-2:] if len(found) >= 2 else []

    def dunning_draft(self) -> str:
        as_of = self.as_of()
        level = self.level()
        tone = next((TONES[w] for w in re.findall(r"[a-z]+", self.text.lower()) if w in TONES), None)
        if tone == "final" and level is not None:
            tone = None
        previous = last_call(self.history, "draft_dunning_message", only_last_reply=True)
        if previous is not None and tone is None and level is None and _ONE_MORE_LIKE_IT_RE.search(self.text):
            tone, level = previous.arguments.get("tone"), previous.arguments.get("level")  # "do one for X too"
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
        said = [
            (match, value)
            for words, value in LEVEL_WORDS.items()
            if (match := re.search(r"[\s-]+".join(map(re.escape, words.split())), self.text, re.I))  # "final-notice"
        ]
        if not said:
            return None
        # "send the final notice, they've ignored the second reminder": the letter asked for is named first
        match, value = min(said, key=lambda found: found[0].start())
        self.spans.add(*match.span())
        return value

    def policy(self) -> str:
        query = self.text
        asked = self.history[-1].tool_calls if self.history else []
        previous = next((call for call in reversed(asked) if call.name == "search_policy"), None)
        if previous is not None and FOLLOW_UP_RE.match(self.text):
            query = f"{previous.arguments.get('query', '')} {self.text}"  # "and for D?" after a policy answer
        result = self.call("search_policy", {"query": query[:500]})
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

    # --- the one order a message means ------------------------------------------------------------------------

    def order_by_its_figure(self, customer: CustomerRef, amount: MoneyMention) -> str | None:
        """ "and the other one, 41?" after an order's check, "order 41", "their order (the 18.7k AUD one)": an open
        order the figure names by its number or by its amount, not a new order of that size."""
        written = self.text[amount.start : amount.end]
        previous = last_call(self.history, "check_order_release")
        by_its_number = re.fullmatch(r"\d{1,7}", written) and (
            (previous is not None and previous.arguments.get("order_number"))
            or re.search(rf"\b(?:order|so)\s*(?:no\.?\s*|number\s*|#\s*)?{written}\b", self.text, re.I)
        )
        by_its_amount = _THE_ORDER_RE.search(self.text) or re.search(r"\bone\b", self.text, re.I)
        if not (by_its_number or by_its_amount) or (customer.id is None and not customer.reference.isdigit()):
            return None
        orders = customer_open_orders(self.request.database_url, customer.id or int(customer.reference))
        if by_its_number:
            by_number = [order for order in orders if int(re.sub(r"\D", "", order.number) or 0) == int(written)]
            if len(by_number) == 1:
                return by_number[0].number
        if by_its_amount:
            tolerance = max(amount.amount * Decimal("0.005"), Decimal("0.5"))  # "18.7k" for 18,747.30
            near = [o for o in orders if amount.fits(o.currency) and abs(o.open_amount - amount.amount) <= tolerance]
            if len(near) == 1:
                return near[0].number
        return None

    def asks_about_new_orders(self) -> bool:
        """ "can they order again?", "is X blocked for new orders?": whether the account takes orders, not one open
        order's check."""
        if not asks_whether_orders_ship(self.text) or _THE_ORDER_RE.search(self.text):
            return False
        return not _AN_ORDER_NAMED_RE.search(self.text) or bool(_NEW_ORDER_WORDS_RE.search(self.text))

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
        raise Stop(
            f"{customer.name or 'The customer'} has {count_word(len(fitting))} {kind} orders:\n{listed}\n"
            "Which one? Reply with its number (SO-…). Nothing was done.",
            "several orders",
        )


def rows_named(text: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list rows whose customer the text names by a distinctive word of its name, in the text's order (two at
    most): "why's falconwick ranked above acme corp?" names Falconwick Wholesale Ltd and Acme Corporation."""
    cues = RANKED_CUE_RE.sub(" ", ORDINAL_RE.sub(" ", text))  # "first", "top", "#2" rank rows, they name none
    words: dict[str, int] = {}
    for at in re.finditer(r"[a-z0-9][a-z0-9&'-]*", cues.lower()):
        words.setdefault(at.group(0).removesuffix("'s"), at.start())
    found: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        name_words = [
            w.removesuffix("'s") for w in re.findall(r"[a-z0-9][a-z0-9&'-]*", row["customer"]["name"].lower())
        ]
        places = [
            words[w] for w in name_words if w in words and len(w) >= 4 and not is_ordinary(w) and not is_filler(w)
        ]
        if places:
            found.append((min(places), row))
    return [row for _, row in sorted(found, key=lambda item: item[0])[:2]]


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
