"""The offline planner's look-ups of a customer's records: its standing (exposure), an invoice by its number, its
disputes, its promises to pay and how it pays."""

from __future__ import annotations

import re
from typing import Any

from db.models import Role

from . import answers, answers_lookup
from .context import CustomerRef, invoice_customers, last_call, list_call
from .dates import date_at
from .entities import DISPUTE_ID_RE, Spans, bare_invoice_numbers, first_int, invoice_numbers
from .name_runs import name_candidates
from .phrases import BOOK_STOP, ON_ITS_OWN_RE
from .turn_customers import _THE_WHOLE_GROUP_RE
from .turn_portfolio import TurnPortfolio
from .turn_state import Stop

_LEAVING_OUT_RE = re.compile(r"\b(?:without|excluding|excl\.?|except|minus|not|leaving\s+out|leave\s+out)\s", re.I)
_POINTED_AT_RE = re.compile(r"\b(?:it|that|this)\b(?!\s+(?:customer|account|client)s?\b)", re.I)


# "what about 0000907?" after INV-2026-0000905: the number within the series of the invoice just looked up
_SEQUENCE_RE = re.compile(r"(?<![\w-])0\d{3,9}\b(?![-/.]\d)")


def sequence_of_the_same_series(text: str, previous: str) -> list[str]:
    series = re.fullmatch(r"(.*\D)(\d+)", previous)
    if series is None:
        return []
    prefix, digits = series.groups()
    return [prefix + m.group(0) for m in _SEQUENCE_RE.finditer(text) if len(m.group(0)) == len(digits)]


_BY_QUARTER_RE = re.compile(r"\b(?:by|per|each|every)\s+quarter\b|\bquarterly\b|\bquarter[- ]by[- ]quarter\b", re.I)


# A window given by its two ends: "between 01/01/2013 and 30/06/2013", "from 1 March to 30 June"
_PROMISED_FOR_RE = re.compile(r"\bpromis\w*\s+(?:to\s+pay\s+)?(?:for|by|on|due)\s+", re.I)
_BETWEEN_RE = re.compile(r"\b(?:between|from)\b.{3,30}?\b(?:and|to|until|till|through)\b", re.I)


# "is hooli getting slower at paying?", "paying later over time": the trend is what is asked
_TREND_ASKED_RE = re.compile(
    r"\btrend\w*|\bover time\b|\b(?:getting|got|become|becoming|grow\w*)\s+(?:\w+\s+)?(?:slower|faster|later|worse"
    r"|better|quicker)\b|\b(?:improv|deteriorat|slipp|slow)\w*\b|\bmonth by month\b|\bquarter by quarter\b"
    # "are they paying later than they used to?", "slower than before", "compared with last year"
    r"|\b(?:later|slower|faster|quicker|earlier|worse|better)\s+than\s+(?:they\s+)?(?:used\s+to|before|last\s+\w+"
    r"|previously|a\s+year\s+ago|they\s+did)\b",
    re.I,
)


# "and 473?", "what about #0475": another invoice of the series, by its last digits
_LAST_DIGITS_RE = re.compile(r"^\W*(?:and|what\s+about|how\s+about|also)\s+#?(\d{2,9})\W*$", re.I)


# The group a subsidiary belongs to, asked for as a whole
_WHOLE_GROUP_RE = re.compile(
    r"\b(?:whole|entire|full)\s+group\b|\bincl\w*\.?\s+(?:the\s+)?parent\b|\bgroup[- ](?:total|level|wide)\b"
    r"|\b(?:at|for)\s+(?:the\s+)?(?:parent|group)\s+level\b",
    re.I,
)


class TurnRecords(TurnPortfolio):
    """Records looked up by their number or their customer, each with one tool call and a templated answer."""

    def invoice(self) -> str:
        numbers = invoice_numbers(self.text, self.spans) or bare_invoice_numbers(self.text, self.spans)
        picked = None if numbers else self.number_picked("invoices")
        if picked is not None:
            numbers = [picked]  # "the second one" after the user listed invoice numbers
        previous = last_call(self.history, "get_invoice")
        if not numbers and previous is not None:
            numbers = sequence_of_the_same_series(self.text, str(previous.arguments["number"]))
        if not numbers and previous is not None and (last := _LAST_DIGITS_RE.match(self.text)) is not None:
            before = str(previous.arguments["number"])
            digits = last.group(1)
            run = re.search(r"\d+$", before)
            if run is not None and len(digits) < len(run.group(0)):
                numbers = [before[: len(before) - len(digits)] + digits]  # "and 473?" after INV-2026-0000472
        if not numbers and previous is not None:
            numbers = [previous.arguments["number"]]  # "what was it at end of june?" after an invoice lookup
        if not numbers and self.names_a_customer():
            return self.exposure()  # "what did 0688-XNJRO have open on 31/05/2013?": no invoice named, its open items
        if not numbers:
            raise Stop("Which invoice? Give its number (e.g. INV-2026-01234).", "invoice number missing")
        as_of = self.as_of()
        parts = []
        for number in numbers[:3]:
            args: dict[str, Any] = {"number": number}
            if as_of:
                args["as_of"] = as_of
            parts.append(answers_lookup.invoice(self.call("get_invoice", args)))
        return "\n\n".join(parts)

    def customer_lookup(self, tool_name: str) -> str:
        if tool_name == "get_promise_history":
            for said in _PROMISED_FOR_RE.finditer(self.text):  # "what they promised for tomorrow": the promise's day
                at = date_at(self.text, said.end(), self.today, future=True)
                if at is not None and at[0].day > self.today:
                    self.spans.add(said.end(), at[1])
        found = self.reporting_dates()
        customer = self.customer()
        args: dict[str, Any] = {"customer": customer.reference}
        window = _BETWEEN_RE.search(self.text)
        if window and len(found) >= 2 and found[0].day < found[1].day:
            # "between 01/01/2013 and 30/06/2013": paid from the first day to the second
            args["period_start"], args["as_of"] = found[0].day, found[1].day
        elif found:
            args["as_of"] = found[0].day
            if found[0].period_start is not None:
                args["period_start"] = found[0].period_start  # "in Q3 2013", "YTD", "since July"
            elif tool_name == "get_payment_behaviour" and found[0].period_months is not None:
                args["months"] = found[0].period_months
        elif (held := self.thread_as_of()) is not None:
            args["as_of"] = held
        if tool_name == "get_payment_behaviour" and _BY_QUARTER_RE.search(self.text):
            args["trend"] = "quarter"
        result = self.call(tool_name, args)
        if tool_name == "get_payment_behaviour":
            return answers_lookup.payment_behaviour(result, trend_asked=bool(_TREND_ASKED_RE.search(self.text)))
        return answers_lookup.promise_history(result)

    def dispute(self) -> str:
        numbered = DISPUTE_ID_RE.search(self.text)
        if numbered and numbered.group(2) is not None and list_call(self.history) is not None:
            dispute_id = None  # "#2" right after a list is the second customer on it, not dispute 2
        else:
            dispute_id = first_int(DISPUTE_ID_RE, self.text, self.spans)
        as_of = self.as_of()
        if dispute_id is not None:
            by_id: dict[str, Any] = {"dispute_id": dispute_id} | ({"as_of": as_of} if as_of else {})
            return answers.disputes(self.call("summarize_dispute", by_id))
        # "disputes on invoice 7369923093": an imported ledger's own invoice numbers too
        invoices = (
            invoice_numbers(self.text, self.spans)
            or bare_invoice_numbers(self.text, self.spans)
            or self.the_invoice_pointed_at()
        )
        args: dict[str, Any] = {}
        if invoices and not self.usable(name_candidates(self.text, self.spans)):
            owners = invoice_customers(self.request.database_url, invoices[0])
            if len(owners) != 1:
                raise Stop(f"Which customer is invoice {invoices[0]} for?", "invoice customer unknown")
            customer = CustomerRef(str(owners[0]))
        else:
            customer = self.customer()
        args["customer"] = customer.reference
        if invoices:
            args["invoice_number"] = invoices[0]
        if as_of:
            args["as_of"] = as_of
        return answers.disputes(self.call("summarize_dispute", args))

    def the_invoice_pointed_at(self) -> list[str]:
        """ "there's a dispute on it, isn't there?" right after an invoice was looked up: that invoice."""
        if not _POINTED_AT_RE.search(self.text) or self.names_a_customer():
            return []
        shown = last_call(self.history, "get_invoice", only_last_reply=True)
        number = shown.arguments.get("number") if shown is not None and shown.error is None else None
        return [str(number)] if number else []

    def customer_exposure(self) -> dict[str, Any]:
        """get_customer_exposure for the customer and date the message names (exposure and credit status read it)."""
        as_of = self.as_of()
        left_out = _LEAVING_OUT_RE.search(self.text) if ON_ITS_OWN_RE.search(self.text) else None
        if left_out is not None and name_candidates(self.text[: left_out.start()], Spans(), BOOK_STOP):
            # "just Acme Corporation itself, without Acme Europe and Acme Logistics": the names left out are not asked
            self.spans.add(left_out.start(), len(self.text))
            self._name_statuses = None
        try:
            customer = self.customer()
        except Stop as stop:
            if stop.error != "several customers" or not _WHOLE_GROUP_RE.search(self.text):
                raise
            heads = {self.group_parent_of(offered) for offered in self.offered}
            if len(heads) != 1 or None in heads:
                raise  # the customers named are of no one group
            customer = CustomerRef(str(heads.pop()))  # "newford across the whole group (london, singapore)"
        args: dict[str, Any] = {"customer": customer.reference}
        if as_of:
            args["as_of"] = as_of
        if ON_ITS_OWN_RE.search(self.text):
            args["include_group"] = False  # "Starway on its own, not the distribution sub"
        result = self.call("get_customer_exposure", args)
        parent = (result.get("group") or {}).get("parent_id")
        if _WHOLE_GROUP_RE.search(self.text) and parent is not None and str(parent) != str(result["customer"]["id"]):
            # "and the whole group incl. the parent?" after a subsidiary: the group, named by its parent
            result = self.call("get_customer_exposure", {**args, "customer": str(parent), "include_group": True})
        return result

    def group_parent_of(self, customer: CustomerRef) -> int | None:
        """The id of the group's parent a customer belongs to (its own id when it heads one or none)."""
        found = self.look_up("resolve_customer", {"query": customer.reference}).get("customer") or {}
        return found.get("parent_id") or found.get("id")

    def exposure(self) -> str:
        result = self.customer_exposure()
        if self.request.actor.role == Role.SALES:
            return answers.exposure(result, ageing=False, sales_view=True)
        ageing = bool(re.search(r"\bag(?:e)?ing\b|\baged\b|\bbuckets?\b|\boverdue\b|\bpast due\b", self.text, re.I))
        members = self.customer_group() is not None or bool(_THE_WHOLE_GROUP_RE.search(self.text))
        return answers.exposure(result, ageing=ageing, group_members=members)
