"""The offline planner's order holds and releases: the order the words, the thread or the customer's one open order
name, proposed held or released with the user's reason; approvals are never made here."""

from __future__ import annotations

import re
from typing import Any

from db.models import Role

from . import answers
from .context import last_call, last_customer
from .entities import Spans, order_numbers
from .name_runs import name_candidates
from .phrases import _HOLD_IT_RE, _RELEASE_IT_RE, BOOK_STOP
from .reasons import ONLY_A_REASON_RE, instruction_alone, stated_reason
from .turn_limits import TurnLimits
from .turn_state import Stop, count_word

# "hold their open order", "release the pending order": the thread customer's order
_THEIR_ORDER_RE = re.compile(r"\b(?:their|its|the)\s+(?:open\s+|pending\s+|new\s+|current\s+|held\s+)?orders?\b", re.I)


class TurnOrders(TurnLimits):
    """A sales order to hold or release: never executed here, always a proposal."""

    def names_the_customer_of(self, call: Any) -> bool:
        try:
            return self.customer().reference == str(call.arguments.get("customer"))
        except Stop:
            return False

    def order_action(self, tool_name: str) -> str:
        alone = instruction_alone(self.text)
        if len(alone) < len(self.text) and name_candidates(alone, Spans(), BOOK_STOP):
            # "hold the cliffshore order, nobody's picking up the phone": the customer is named before the reason
            self.spans.add(len(alone), len(self.text))
            self._name_statuses = None
        orders = order_numbers(self.text, self.spans)
        picked = None if orders else self.number_picked("orders")
        if picked is not None:
            orders = [picked]
        of_the_thread = (_RELEASE_IT_RE if tool_name == "propose_order_release" else _HOLD_IT_RE).search(self.text)
        checked = last_call(self.history, "check_order_release", only_last_reply=True) if of_the_thread else None
        # "ok put that one on hold" right after "does SO-74 clear credit?": the order just checked, also when the
        # message names its customer ("request a release then, crystal land wired the money")
        if (
            not orders
            and checked is not None
            and checked.arguments.get("order_number")
            and (not self.names_something() or self.names_the_customer_of(checked))
        ):
            orders = [str(checked.arguments["order_number"])]
        if not orders and (
            (re.search(r"\b(?:orders?|po|so)\b", self.text, re.IGNORECASE) and self.names_something())
            or (of_the_thread and last_customer(self.history) is not None)
            or (_THEIR_ORDER_RE.search(self.text) and last_customer(self.history) is not None)
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
        proposed = last_call(self.history, tool_name, only_last_reply=True)
        again = not orders and proposed is not None and ONLY_A_REASON_RE.match(self.text) is not None
        if again and proposed is not None:
            orders = [str(proposed.arguments["order_number"])]  # "reason: they paid" right after the proposal
        if not orders:
            raise Stop(
                "Which order? Give the sales order number (it starts with SO-). Nothing was proposed.",
                "order missing",
            )
        if len(set(orders)) > 1:
            raise Stop(
                f"That names {count_word(len(set(orders)))} orders ({', '.join(dict.fromkeys(orders))}); "
                "which one do you mean? Send one request per order. Nothing was proposed.",
                "several orders",
            )
        reason = stated_reason(self.text)
        if reason is not None and (_RELEASE_IT_RE.fullmatch(reason) or _HOLD_IT_RE.fullmatch(reason)):
            # "Deepcore paid INV-… today - propose the release": the instruction came last, the reason first
            before = self.text[: self.text.rfind(reason)].rstrip(" -–—,;:")
            reason = stated_reason(before) or before
        reason = reason or f"Requested by {self.request.actor.name} via the assistant."
        result = self.call(tool_name, {"order_number": orders[0], "reason": reason})
        return answers.proposal(result) + self._still_pending({} if again else None)
