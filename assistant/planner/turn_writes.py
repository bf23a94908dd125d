"""The offline planner's write requests. Each one only ever creates a proposal through the registry's write tools;
approvals are never made here."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tools.reference_words import is_common_word

from . import answers
from .context import (
    CustomerRef,
    last_call,
    last_customer,
    match_staff,
    vocabulary,
)
from .dates import date_at, date_mentions
from .entities import DISPUTE_ID_RE, MoneyMention, Spans, first_int, invoice_numbers
from .name_runs import name_candidates
from .phrases import (
    _CONTACT_LOWER_RE,
    _CONTACT_RE,
    _CONTACT_WEAK_RES,
    _WHOLE_WORD_MATCHES,
    BOOK_STOP,
    CORRECTION_RE,
    TONES,
)
from .reasons import stated_reason
from .turn_orders import TurnOrders
from .turn_state import Stop

# Capitalised words the contact forms may catch that are no person ("from Monday", "per March", "Friday confirmed")
_NOT_A_CONTACT = frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december today tomorrow eom they we he she it
    """.split()  # noqa: SIM905
)


# Who was spoken to, typed in lower case ("spoke to elizabeth tan", "chatted w/ mark tate in AP")
_SPOKE_TO_RE = re.compile(
    r"\b(?:spoke|spoken|speaking|talked|talking|chatted|chatting)\s+(?:to|with|w/)\s+(?P<name>[a-z]{3,}(?:\s+[a-z]{2,})?)",
    re.I,
)
# The instruction after what is to be noted: "left vm for soylent AP again, no callback. note it pls"
_NOTE_IT_AT_THE_END_RE = re.compile(
    r"(?<=\w)\W*\s+(?:(?:pls|please|can\s+you|could\s+you)\s+)?(?:add\s+(?:a\s+|as\s+a\s+)?note|note|log|record|jot)"
    r"(?:\s+(?:it|that|this))?(?:\s+down)?(?:\s+(?:on\s+(?:the\s+)?(?:account|file)))?(?:\s+(?:pls|please|thx|thanks))?\W*$",
    re.I,
)
# A dispute closed by crediting or writing off what is disputed: "with a full credit of the 11,467.17"
_CREDITED_RE = re.compile(
    r"\b(?:(?:full|partial)\s+)?(?:credit(?:\s+note)?|write[- ]?off|write\s+(?:it|that|this|them)\s+off"
    r"|written\s+off|waive[sd]?)\b"
    r"(?!\s+(?:limit|score|risk|check|status|team|control|line|terms)\b).*$",
    re.I,
)
# No name, a role: "spoke w/ their FD", "talked to the controller"
_SPOKE_TO_A_ROLE_RE = re.compile(
    r"\b(?:spoke|spoken|speaking|talked|talking|chatted|chatting)\s+(?:to|with|w/)\s+(?:their|the)\s+"
    r"(?P<name>fd|cfo|ceo|coo|controller|treasurer|finance\s+director|accountant|bookkeeper|ap\s+(?:lead|manager|clerk))\b",
    re.I,
)
# A name closing the message: "…, from clara dubois", "… next monday – matthew lambert"
_CONTACT_AT_END_RE = re.compile(r"(?:,\s*from|\s[-–—])\s+(?P<name>[a-z]{3,}\s+[a-z]{2,})\W*$", re.I)
# Words after "spoke to" that are no one's name
_NOT_A_PERSON = frozenset(
    """
    them him her their the someone somebody ap a/p accounts payables finance treasury accounting in at from and about
    re on who today yesterday this that again their cfo controller treasurer accountant bookkeeper
    """.split()  # noqa: SIM905
)
# An invoice pointed at, not named: "that one", "this invoice", "it"
_THAT_INVOICE_RE = re.compile(r"\b(?:that|this)\s+(?:one|invoice|bill|inv)\b|\b(?:pay|settle|clear)\s+it\b", re.I)

# The last of a comma-separated list of a promise's parts, a first name: who made the promise
_CLOSING_FIRST_NAME_RE = re.compile(r"\d[^,]*,[^,]*,\s*(?P<name>[A-Z][a-z]{2,})\W*$")

# A dispute's reason code as staff name it ("reason code to pricing", "recode as damaged", "category: duplicate")
_REASON_CODES = {"pricing": "pricing", "price": "pricing", "quantity": "quantity", "quality": "quality",
                 "damaged": "damaged", "damage": "damaged", "not received": "not_received",
                 "duplicate": "duplicate_billing", "duplicate billing": "duplicate_billing", "tax": "tax",
                 "other": "other"}  # fmt: skip
_REASON_CODE_RE = re.compile(
    r"\b(?:reason(?:\s+code)?(?:\s+(?:on|of|for)\s+(?:dispute\s*)?#?\d+)?|re-?code(?:\s+(?:it|that|dispute\s*#?\d+))?"
    r"|category|categori[sz]e(?:\s+it)?)\s*"
    r"(?:to|as|=|:|->|should\s+be|is\s+now|is|now)?\s*(?:be\s+)?"
    r"(duplicate[ _]billing|not[ _]received|pricing|price|quantity|quality|damaged|damage|duplicate|tax|other)\b",
    re.IGNORECASE,
)

# A message that opens with the dispute's number, then what it is: "155 is really a pricing dispute"
_LEADING_DISPUTE_RE = re.compile(r"^\W*#?(\d{1,6})\s+(?:is|was|isn'?t|should|needs?)\b", re.I)
# A new code said before the ask to recode: "is really about pricing, not quantity — change the reason code"
_RECODE_ASKED_RE = re.compile(r"\breason\s+code\b|\bre-?cod(?:e|ed|ing)\b|\bmis-?cod|\bcategor", re.I)
_CODE_NAMED_RE = re.compile(
    r"\b(?:is|it'?s|really|actually|about|a|an)\s+(?:really\s+|actually\s+)?(?:about\s+|a\s+|an\s+)?"
    r"(duplicate[ _]billing|not[ _]received|pricing|price|quantity|quality|damaged|damage|duplicate|tax)\b",
    re.IGNORECASE,
)


# "55.5k", "1.2m": an amount rounded to the digits shown
# A promise of a balance rather than a figure: "they'll clear the overdue by friday", "pay everything on the 30th"
_PROMISED_THE_OVERDUE_RE = re.compile(
    r"\b(?:the|all(?:\s+of)?(?:\s+the|\s+their)?|their|whole|full|entire)\s+(?:overdue|past[- ]due|arrears)\b"
    r"(?!\s+(?:on|for)\s+(?:INV|invoice))",
    re.I,
)
_PROMISED_THE_BALANCE_RE = re.compile(
    r"\beverything\b|\bin\s+full\b|\bfull\s+(?:amount|balance)\b"
    r"|\bthe\s+(?:whole|full|entire|total|open|outstanding)\s+(?:balance|amount|lot)\b"
    r"|\b(?:the|their)\s+balance\b|\ball\s+(?:of\s+)?(?:it|that|they\s+owe|outstanding|open\s+items)\b"
    r"|\bwhat(?:ever)?\s+(?:they|it)\s+owes?\b|\b(?:clear|settle)\s+(?:the|their|its)\s+(?:account|balance)\b",
    re.I,
)
_PAYS_THE_INVOICE_RE = re.compile(
    r"\b(?:pay(?:ing)?|clear(?:ing)?|settl(?:e|ing)|cover(?:ing)?)\s+(?:that|this|it|those|these|them|INV-[\w-]+)"
    r"(?:\s+(?:one|invoice|bill|inv)s?)?\b",
    re.I,
)
# "everything over 60 days", "the 90+ stuff": a part of the balance by age, which is no figure to promise
_PART_BY_AGE_RE = re.compile(
    r"\b(?:over|above|older\s+than|more\s+than|beyond|past)\s+\d{1,3}\s*(?:days?|dpd)\b|\b\d{1,3}\s?\+"
    r"|\b\d{1,3}\s*(?:-|to)\s*\d{1,3}\s*(?:days?|dpd|bucket)\b",
    re.I,
)
_SHORTHAND_RE = re.compile(r"[$£€]?\s*\d+(?:\.(\d{1,2}))?\s*([km])", re.IGNORECASE)

# "they promised something for the 24th right? what's the status", "what's the open PTP on anchorworks?": a promise
# asked about, not told — with no amount and no word to log it, the promise history answers it
_ASKS_ABOUT_A_PROMISE_RE = re.compile(
    r"\?\W*$|\bstatus\b|\b(?:what'?s|whats|what\s+is|is\s+there|are\s+there|when'?s|did|have|has)\b.{0,40}"
    r"\b(?:promis\w*|ptps?)\b",
    re.I,
)
# "deepstar promised ~11k for tomorrow, is that one still open?": a promise told in order to ask what became of it
_WHAT_BECAME_OF_IT_RE = re.compile(
    r"\b(?:is|was|has)\s+(?:that|it|this)(?:\s+one)?\s+(?:still\s+)?(?:open|kept|broken|paid|come\s+in|arrived|landed"
    r"|outstanding|been\s+(?:kept|paid|broken))\b|\bdid\s+(?:it|that|they|the\s+money)\s+(?:ever\s+)?(?:come\s+in|arrive|land"
    r"|pay|keep|honou?r)\b",
    re.I,
)
_LOG_IT_RE = re.compile(r"\b(?:log|record|add|enter|register|capture|book|note|put\s+in|take\s+down)\b", re.I)


# "the 28th not the 30th", "friday, not monday": the date after "not" was not said
_NOT_THAT_DATE_RE = re.compile(r"\bnot\s+(?:on\s+|by\s+)?", re.I)


class TurnWrites(TurnOrders):
    """Requests to change something: each creates a proposal a person approves; nothing is executed here."""

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
        leading = _LEADING_DISPUTE_RE.match(self.text) if dispute_id is None else None
        if leading is not None:  # "155 is really a pricing dispute, not quantity - recode it"
            dispute_id = int(leading.group(1))
            self.spans.add(*leading.span(1))
        if dispute_id is None:
            dispute_id = self.the_customers_one_dispute()
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
        code = _REASON_CODE_RE.search(self.text)
        if code is None and _RECODE_ASKED_RE.search(self.text):
            code = _CODE_NAMED_RE.search(self.text)  # "92 is really about pricing, not quantity — recode it"
        if code is not None:  # "set dispute 12 reason code to pricing", "recode it as damaged goods"
            args["reason_code"] = _REASON_CODES[code.group(1).lower().replace("_", " ")]
            self.spans.add(*code.span())
        text = self.text if code is None else self.text[: code.start()] + self.text[code.end() :]
        resolution = re.search(r"(?:resolution|because|reason(?!\s+codes?\b))\s*[:\-]?\s*(.{3,})$", text, re.I) or (
            re.search(r"\b(?:resolved|closed|accepted|rejected|settled)\b\W*[,;:\-–]\s*(.{3,})$", text, re.I)
        )
        said = resolution.group(1).strip() if resolution else None
        credited = _CREDITED_RE.search(text) if args.get("status") == "resolved" else None
        if credited is not None:  # "resolve 13 with a full credit of the 11,467.17 — initech never got the goods"
            args["write_off"] = True
            said = said or credited.group(0).strip()
        if said is None and args.get("status") in ("resolved", "rejected"):
            # "reject dispute 93 - checked the ledger, …", "dispute 24: they accepted the replacement, please
            # resolve it": closing needs a resolution text, and the user gave one
            said = stated_reason(self.text) or _dispute_note(self.text)
        if said:
            args["resolution"] = said[:1000]
        # staff were set aside when looking for a customer's name; here they are the new owner
        owners = match_staff(self.text, vocabulary(self.request.database_url), Spans())
        to_me = re.search(r"\b(?:to|for)\s+me\b|\bmake\s+me\b|\bput\s+me\b", lowered) is not None
        if owners and not to_me and re.search(r"\b(?:owner|assign|reassign|to)\b", lowered):
            args["owner"] = owners[0]
        elif re.search(
            r"\b(?:give|assign|reassign|hand|pass|move)\b.{0,20}\bto me\b|\bi'?ll (?:take|own) it\b"
            r"|\bmake\s+me\s+(?:the\s+)?owner\b|\bescalate\s+(?:it\s+|this\s+|that\s+)?to\s+me\b"
            r"|\b(?:put|set|have)\s+me\s+(?:down\s+)?as\s+(?:the\s+)?owner\b|\bme\s+as\s+(?:the\s+)?owner\b",
            lowered,
        ):
            args["owner"] = self.request.actor.name  # "give it to me"
        if len(args) == 1:
            raise Stop("What should change on that dispute: status, owner or resolution?", "nothing to change")
        return answers.proposal(self.call("propose_dispute_update", args))

    def the_customers_one_dispute(self) -> int:
        """ "close the dispute on initech": the one active dispute of the customer named; with several, or none, the
        user is told which there are."""
        if not self.names_a_customer():
            raise Stop("Which dispute? Give its number, e.g. “dispute #…”.", "dispute missing")
        customer = self.customer(single="Nothing was proposed.")
        briefs = (self.call("summarize_dispute", {"customer": customer.reference}) or {}).get("briefs") or []
        ids = [int(brief["dispute_id"]) for brief in briefs if "dispute_id" in brief]
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise Stop(f"{customer.name or 'That customer'} has no active dispute. Nothing was proposed.", "no dispute")
        listed = ", ".join(f"#{number}" for number in ids)
        raise Stop(
            f"{customer.name or 'That customer'} has {len(ids)} active disputes ({listed}). Which one? Give its "
            "number. Nothing was proposed.",
            "several disputes",
        )

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
        invoices = invoice_numbers(self.text, self.spans) or self.the_invoice_just_shown()
        contact = self.promise_contact()
        correction = CORRECTION_RE.search(self.text)
        earlier = last_call(self.history, "log_promise_to_pay", only_last_reply=True) if correction else None
        for negated in _NOT_THAT_DATE_RE.finditer(self.text):  # "the 28th not the 30th": the 30th is no date said
            at = date_at(self.text, negated.end(), self.today, future=True)
            if at is not None:
                self.spans.add(negated.start(), at[1])
        found = self.dates(future=True)
        amounts = self.amounts()
        if correction is not None:  # "774.30 cad... today-ish, actually no they said wednesday": what follows counts
            after = date_mentions(self.text[correction.end() :], self.today, Spans(), future=True)
            found = after if len(found) > 1 and len(after) == 1 else found
            amounts = [m for m in amounts if m.start >= correction.end()] if len(amounts) > 1 else amounts
        asked_after = _WHAT_BECAME_OF_IT_RE.search(self.text) and not _LOG_IT_RE.search(self.text)
        if (not amounts and self.asks_about_a_promise()) or asked_after:
            return self.customer_lookup("get_promise_history")
        self.one_of_each(amounts, found, what="a promise is one amount by one date", nothing=nothing)
        amount = self.only_amount(amounts)
        customer = self.customer(single=nothing)
        if (
            amount is None
            and not found
            and (moved := self.proposal_for_another_customer("log_promise_to_pay", customer))
        ):
            return answers.proposal(self.call("log_promise_to_pay", moved)) + self._still_pending(moved)
        if earlier is not None and str(earlier.arguments.get("customer")) == str(customer.reference):
            # "actually she said the 28th, sorry" right after a promise was logged: that promise, what is said again
            # replacing what it had
            args: dict[str, Any] = dict(earlier.arguments)
            if found:
                args["promised_date"] = found[-1].day
            if amount is not None:
                args.pop("currency", None)
                args["amount"] = str(amount.amount)
                if currency := self.currency_of(amount, customer, None, nothing):
                    args["currency"] = currency
            if contact is not None:
                args["contact"] = contact
            if invoices:
                args["invoice_numbers"] = invoices
            return answers.proposal(self.call("log_promise_to_pay", args)) + self._still_pending(args)
        read_as = ""
        if amount is None:
            amount, read_as = self.promised_balance(customer, invoices, nothing)
        if not found:
            raise Stop(
                "By when did they promise to pay (e.g. “on Friday”, a date)? Nothing was logged.", "date missing"
            )
        args = {
            "customer": customer.reference,
            "amount": str(amount.amount),
            "promised_date": found[-1].day,
        }
        currency = self.currency_of(amount, customer, None, nothing)
        if currency:
            args["currency"] = currency
        if invoices:  # "INV-… in full": the amount was read from these invoices, and the promise is on them
            args["invoice_numbers"] = invoices
            rounded = None if read_as else self.rounded_to_the_invoices(amount, invoices)
            if rounded is not None:
                args["amount"], read_as = str(rounded[0]), rounded[1]
        if contact is not None:
            args["contact"] = contact
        return read_as + answers.proposal(self.call("log_promise_to_pay", args))

    def asks_about_a_promise(self) -> bool:
        told = _PROMISED_THE_OVERDUE_RE.search(self.text) or _PROMISED_THE_BALANCE_RE.search(self.text)
        return bool(_ASKS_ABOUT_A_PROMISE_RE.search(self.text)) and not told and not _LOG_IT_RE.search(self.text)

    def the_invoice_just_shown(self) -> list[str]:
        """ "they'll pay that one in full on friday" right after an invoice was looked up: that invoice."""
        if not _THAT_INVOICE_RE.search(self.text):
            return []
        shown = last_call(self.history, "get_invoice", only_last_reply=True)
        number = shown.arguments.get("number") if shown is not None and shown.error is None else None
        return [str(number)] if number else []

    def promised_balance(self, customer: CustomerRef, invoices: list[str], nothing: str) -> tuple[MoneyMention, str]:
        """The amount of a promise given as a balance ("the overdue", "everything", "the invoices in full"), looked
        up and said at the top of the answer; without such words the amount is asked for."""
        overdue = _PROMISED_THE_OVERDUE_RE.search(self.text)
        balance = _PROMISED_THE_BALANCE_RE.search(self.text)
        # "they'll clear that one by the 27th", "paying INV-… on friday": the invoices named, as they stand
        paid = _PAYS_THE_INVOICE_RE.search(self.text) if invoices and overdue is None and balance is None else None
        if (overdue is None and balance is None and paid is None) or _PART_BY_AGE_RE.search(self.text):
            raise Stop("How much did they promise to pay? Nothing was logged.", "amount missing")
        if invoices:
            found = [self.call("get_invoice", {"number": number}) for number in invoices]
            if len({invoice["currency"] for invoice in found}) != 1:
                raise Stop("How much did they promise to pay? Nothing was logged.", "amount missing")
            total = sum((Decimal(str(invoice["open_amount"])) for invoice in found), Decimal(0))
            currency, what = found[0]["currency"], f"the open amount of {', '.join(invoices)}"
        else:
            figures = self.call("get_customer_exposure", {"customer": customer.reference, "include_group": False})
            key = "overdue" if overdue is not None else "open_receivables"
            total = Decimal(str(figures["figures"][key]))
            currency = figures["figures"]["currency"]
            what = f"{customer.name or 'the customer'}'s {'overdue' if overdue is not None else 'open'} balance"
        if total <= 0:
            raise Stop(f"{what[0].upper()}{what[1:]} is {answers.money(total, currency)}: there is nothing to "
                       f"promise. {nothing}", "nothing to promise")  # fmt: skip
        typed = (overdue or balance or paid).group(0)  # type: ignore[union-attr]
        mention = MoneyMention(amount=total, currency=None, explicit=True, negative=False, start=0, end=0)
        return mention, f"“{typed}” read as {what} ({answers.money(total, currency)}).\n\n"

    def rounded_to_the_invoices(self, amount: MoneyMention, invoices: list[str]) -> tuple[Decimal, str] | None:
        """ "55.5k" for an invoice open at 55,499.62: a shorthand figure just above the invoices' open total, within
        its rounding, is that total (the promise is the invoices), said at the top of the answer."""
        typed = self.text[amount.start : amount.end]
        shorthand = _SHORTHAND_RE.fullmatch(typed.strip())
        if shorthand is None:
            return None
        decimals = len(shorthand.group(1) or "")
        step = (Decimal(1000) if shorthand.group(2).lower() == "k" else Decimal(1_000_000)) / Decimal(10) ** decimals
        found = [self.call("get_invoice", {"number": number}) for number in invoices]
        if len({invoice["currency"] for invoice in found}) != 1:
            return None
        total = sum((Decimal(str(invoice["open_amount"])) for invoice in found), Decimal(0))
        if total <= 0 or not Decimal(0) < amount.amount - total <= step / 2:
            return None  # below the total it may be a part payment; only a figure the invoices cannot hold is rounded
        label = f"{answers.money(total, found[0]['currency'])}"
        return total, f"“{typed.strip()}” read as the open amount of {', '.join(invoices)} ({label}).\n\n"

    def promise_contact(self) -> str | None:
        """Who at the customer made the promise ("spoke to Petra", "per Barbara", "Clara in AP", "Wei confirmed");
        their words are then no customer's name. The weaker forms count only when the name is no customer's."""
        strong = _CONTACT_RE.search(self.text)
        if (
            strong is not None
            and self.look_up("resolve_customer", {"query": strong.group("name")})["status"] != "resolved"
        ):
            self.spans.add(*strong.span())  # "spoke to Acme Corporation, they committed …" names the customer
            return strong.group("name")
        lower = _CONTACT_LOWER_RE.search(self.text)
        # "mark in treasury": a person, even when the name is also a common word
        in_a_team = lower is not None and re.search(r"[a-z]", self.text[lower.end("name") : lower.end()], re.I)
        if lower is not None and (in_a_team or not any(map(is_common_word, lower.group("name").split()))):
            self.spans.add(*lower.span())
            return lower.group("name")
        spoken = self.spoken_to()
        if spoken is not None:
            return spoken
        for pattern in _CONTACT_WEAK_RES:
            for match in pattern.finditer(self.text):
                name = match.group("name")
                if name.casefold() in _NOT_A_CONTACT or self.names_customer_word(name):
                    continue
                if name.islower() and any(map(is_common_word, name.split())):
                    continue  # "the buyer confirmed": lower-case words that are no one's name
                self.spans.add(*match.span("name"))
                return name
        closing = _CLOSING_FIRST_NAME_RE.search(self.text)  # "log PTP: longcore, £55,041.04, 27/11, Priya"
        if closing is not None:
            name = closing.group("name")
            common = name.casefold() in _NOT_A_CONTACT or is_common_word(name.lower())
            if not (common or self.names_customer_word(name)):
                self.spans.add(*closing.span("name"))
                return name
        role = _SPOKE_TO_A_ROLE_RE.search(self.text)
        if role is not None:
            self.spans.add(*role.span())
            name = role.group("name")
            return name.upper() if len(name) <= 3 else name
        return None

    def spoken_to(self) -> str | None:
        """A contact typed in lower case: "spoke to elizabeth tan", "chatted w/ mark tate in AP", "…, from clara
        dubois" or "… – matthew lambert" at the end. The name is no customer's and starts with no ordinary word
        (after "spoke to" it may: "mark"); a surname may be a customer's word ("dubois")."""
        match = _SPOKE_TO_RE.search(self.text)
        after_verb = match is not None
        match = match or _CONTACT_AT_END_RE.search(self.text)
        if match is None:
            return None
        first, *rest = match.group("name").split()
        if (
            first.casefold() in _NOT_A_CONTACT | _NOT_A_PERSON
            or (not after_verb and is_common_word(first.casefold()))
            or self.names_customer_word(first)
        ):
            return None
        words = [
            first,
            *(w for w in rest[:1] if w.casefold() not in _NOT_A_PERSON and w.casefold() not in _NOT_A_CONTACT),
        ]
        start = match.start("name")
        end = start + len(" ".join(words))
        self.spans.add(start, end)
        return " ".join(words)

    def names_customer_word(self, word: str) -> bool:
        """A word of some customer's name ("Acme Europe promised …": Europe) is never taken for a contact."""
        if self.name_words([word]):
            return True
        found = self.look_up("resolve_customer", {"query": word})
        if found.get("status") == "resolved":
            return True
        candidates = found.get("candidates") or []
        return any(c.get("matched_on") in _WHOLE_WORD_MATCHES for c in candidates)

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
        if len(collectors) > 1:  # "reassign globex to cleo, cameron has too much on": the one it goes to
            to = [
                name
                for name in collectors
                if re.search(rf"\b(?:to|onto|over\s+to)\s+{re.escape(name)}\b", self.text, re.I)
            ]
            collectors = to if len(to) == 1 else collectors
        if len(collectors) > 1:
            raise Stop(f"To which collector: {' or '.join(collectors)}? Nothing was proposed.", "several collectors")
        if not collectors:
            names = ", ".join(p.name for p in vocab.staff if p.role == "collector")
            raise Stop(f"To which collector? The collectors are: {names}. Nothing was proposed.", "collector missing")
        return answers.proposal(
            self.call("propose_collector_assignment", {"customer": customer.reference, "collector": collectors[0]})
        )

    def note(self) -> str:
        text = self.text
        split = re.search(r":\s*|\s+(?:that|saying|which says)\s+|\s+-\s+|\s+[–—]\s*|[–—]\s+", text)
        trailing = _NOTE_IT_AT_THE_END_RE.search(text)
        if trailing is not None and (split is None or split.start() >= trailing.start()):
            # "left vm for soylent AP again, no callback. note it pls": what was said first is the note
            customer = self.customer(single="Nothing was added.")
            body = text[: trailing.start()].strip()
            return answers.proposal(self.call("add_note", {"customer": customer.reference, "text": body[:2000]}))
        if split is None:
            raise Stop("What should the note say? Write it after a colon, e.g. “note for Acme: …”.", "note missing")
        head, body = text[: split.start()], text[split.end() : trailing.start() if trailing else None].strip()
        if not body:
            raise Stop("The note is empty; nothing was added.", "note empty")
        if name_candidates(head, Spans(), BOOK_STOP) or (
            re.search(r"\b(?:it|them|they|this|that|there|(?:the|their|its)\s+(?:account|file|record))\b", head, re.I)
            and last_customer(self.history)
        ):
            # "note for Acme: …", "put a note on it: …": the body is not searched for names
            self.spans.add(split.start(), len(text))
            self._name_statuses = None
        elif last_customer(self.history) is not None and not any(
            status == "resolved" for _, status in self.name_statuses()
        ):
            # "add a note - AP contact is now priya@…" after Hooli's exposure: no customer named, the thread's
            self.spans.add(split.start(), len(text))
            self._name_statuses = None
        customer = self.customer(single="Nothing was added.")
        return answers.proposal(self.call("add_note", {"customer": customer.reference, "text": body[:2000]}))


def _dispute_note(text: str) -> str | None:
    """ "dispute 24: timberdale accepted our replacement, please resolve it": the words after the dispute's number
    up to the request."""
    match = re.search(
        r"\bdisputes?\s*#?\s*\d+\s*[:\-–—]\s*(?P<note>.+?)"
        r"(?:[,;.]?\s*(?:please|pls|so|can you|could you|mark|close|resolve|reject|set|move)\b.*)?$",
        text,
        re.I,
    )
    note = match.group("note").strip(" .;,") if match else ""
    return note if len(note.split()) >= 2 else None
