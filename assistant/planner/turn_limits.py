"""The offline planner's limit-change requests: the amount, share or balance the words give, turned into a proposal
of a new limit (or a move of the current one) that a person approves; asks when the words allow two readings."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from . import answers
from .context import CustomerRef, last_call
from .dates import date_at
from .entities import MoneyMention
from .limit_change import (
    from_current_to_new,
    limit_change_kind,
    limit_factor,
    says_the_new_limit,
    signed_decrease,
    sounds_like_a_decrease,
    stated_direction,
    the_change_s_amount,
)
from .phrases import CORRECTION_RE, WRONG_CUSTOMER_RE
from .reasons import _REVIEW_RE, stated_reason
from .turn_reads import TurnReads
from .turn_state import Stop

_TO_ZERO_RE = re.compile(r"\b(?:to|at)\s+(?:zero|nil|nothing|nought)\b|\bzero(?:ise|ize|\s+out)\b", re.I)


# "propose the recommended limit", "set it in line with the policy", "go with what the scorecard suggests"
_THE_RECOMMENDED_RE = re.compile(
    r"\brecommend\w*|\bsuggest\w*|\bpolicy\b|\bscorecard\b|\bin\s+line\s+with\b|\bwhat\s+(?:it|you|the\s+model)\s+(?:says|said|thinks?)\b",
    re.I,
)
_TEMPORARY_RE = re.compile(r"\btemp(?:orary|orarily)?\b|\bfor\s+now\b|\bone[- ]off\b", re.I)
_UNTIL_RE = re.compile(r"\b(?:until|till|til|through|thru)\s+(?:the\s+)?", re.I)


class TurnLimits(TurnReads):
    """A credit limit to change: never executed here, always a proposal."""

    def limit_propose(self) -> str:
        nothing = "Nothing was proposed."
        for said in CORRECTION_RE.finditer(self.text):  # "wait, don't go that low": no customer's name
            self.spans.add(*said.span())
        # "… for the Q1 rollout, review date 31/03/2027": with a review date stated, other dates are talk
        reviewed = self.review_date() is not None
        found = self.dates(used=not reviewed)
        if reviewed:
            found = []
        amounts = from_current_to_new(self.text, self.amounts(decrease=lambda m: signed_decrease(self.text, m)))
        amounts = the_change_s_amount(self.text, amounts)
        self.one_of_each(amounts, found, what="a limit change is one amount", nothing=nothing)
        amount = self.only_amount(amounts)
        if amount is not None and amount.negative and stated_direction(self.text) == "up":
            raise Stop(  # "raise their limit by -50k": the verb and the sign disagree; never pick one
                f"You asked to raise the limit by a negative amount ({self.text[amount.start : amount.end].strip()}). "
                f"Did you mean to lower it by {amount.amount:,.0f}, or to raise it by {amount.amount:,.0f}? {nothing}",
                "limit direction contradicts",
            )
        customer = self.customer(single=nothing)
        meant = self.proposal_for_another_customer("propose_credit_limit_change", customer) if amount is None else None
        if meant is not None:
            self.call("recommend_credit_limit", {"customer": customer.reference})
            result = self.call("propose_credit_limit_change", meant)
            return answers.proposal(result) + self._still_pending(meant)
        review, reason = self.review_date(), stated_reason(self.text, outright=True)
        if amount is None and (review is not None or reason is not None):
            earlier = last_call(self.history, "propose_credit_limit_change", only_last_reply=True)
            if earlier is not None and str(earlier.arguments.get("customer")) == str(customer.reference):
                # "and set the review for end of march", "reason: new contract" right after a limit proposal: the
                # same change, reviewed then or with that reason
                requested = f" (requested by {self.request.actor.name} via the assistant)"
                arguments = {**earlier.arguments, **({"review_date": review} if review else {}),
                             **({"reason": reason + requested} if reason else {})}  # fmt: skip
                result = self.call("propose_credit_limit_change", arguments)
                shown = last_call(self.history, "recommend_credit_limit", only_last_reply=True)
                currency = (shown.result or {}).get("currency") if shown is not None else None
                return answers.proposal(result, currency=currency) + self._still_pending(arguments)
        if amount is None and not self.names_the_new_limit_otherwise(customer.reference):
            who = customer.name or "that customer"
            raise Stop(
                f"Change {who}'s limit to how much? Say the new limit (e.g. “raise it to 150k”), or ask what limit "
                f"the policy would give {who} first. {nothing}",
                "amount missing",
            )
        recommendation = self.call("recommend_credit_limit", {"customer": customer.reference})
        corrected = self.corrected_limit_proposal(customer.reference)
        target: dict[str, str] = {}
        stated_share = False
        currency = recommendation["currency"]
        if amount is not None:
            if not amount.fits(currency):
                raise Stop(
                    f"{recommendation['customer']['name']}'s limit is kept in {currency}, not "
                    f"“{amount.stated_currency}”; give the amount in {currency}. {nothing}",
                    "currency mismatch",
                )
            moved = corrected is not None and "change_by" in corrected and not amount.negative
            if moved and corrected and not says_the_new_limit(self.text, amount):
                sign = -1 if Decimal(str(corrected["change_by"])) < 0 else 1
                target = {"change_by": str(sign * amount.amount)}  # "+50k …", then "actually make that 30k": +30k
            target = target or (
                {"change_by": str(-amount.amount)} if amount.negative else self._stated_limit(amount, recommendation)
            )
            reason = f"Requested by {self.request.actor.name} via the assistant (recommendation reviewed)."
            # a correction ("make it 1.6m actually, same reason") keeps its reason unless it gives a new one outright
            stated = stated_reason(self.text, outright=corrected is not None and bool(corrected.get("reason")))
            if stated:
                reason = f"{stated} (requested by {self.request.actor.name} via the assistant)"
            elif corrected is not None and corrected.get("reason"):
                reason = str(corrected["reason"])
        elif _TO_ZERO_RE.search(self.text):  # "take their limit down to zero": the tool says what a zero limit means
            target = {"new_limit": "0"}
            reason = stated_reason(self.text) or f"Requested by {self.request.actor.name} via the assistant."
        elif (factor := limit_factor(self.text)) is not None:
            stated_share = True
            target, read_as = self._scaled_limit(factor, recommendation, nothing)
            stated = stated_reason(self.text)
            requested = f"requested by {self.request.actor.name} via the assistant"
            reason = f"{stated}; {read_as}, {requested}" if stated else f"{read_as}, {requested}"
        elif recommendation.get("recommended_limit") is not None:
            self._recommendation_goes_the_asked_way(recommendation, nothing)
            target = {"new_limit": str(recommendation["recommended_limit"])}
            stated = stated_reason(self.text)
            reason = (
                f"Policy recommendation ({recommendation['binding_constraint'] or 'median'} binding), requested by "
                f"{self.request.actor.name} via the assistant" + (f": {stated}" if stated else ".")
            )
        else:
            raise Stop(
                answers.limit_recommendation(recommendation) + "\nGive the new limit you want to propose.",
                "no recommendation",
            )
        if (
            recommendation.get("current_limit") is not None
            and "new_limit" in target
            and Decimal(str(recommendation["current_limit"])) == Decimal(target["new_limit"])
        ):
            return (
                f"The limit of {answers.customer_label(recommendation['customer'])} is already "
                f"{answers.money(recommendation['current_limit'], currency)}; nothing to propose."
            )
        review = self.review_date() or (corrected or {}).get("review_date")
        result = self.call(
            "propose_credit_limit_change",
            {"customer": customer.reference, **target, "reason": reason, **({"review_date": review} if review else {})},
        )
        if recommendation.get("recommended_limit") is None:
            head = "No policy recommendation.\n"
        elif amount is not None or stated_share:  # the proposal states its own approver; the policy is a reference
            recommended = answers.money(recommendation["recommended_limit"], currency)
            head = f"For reference, the policy recommends {recommended}.\n"
        else:
            head = (
                f"Recommended limit {answers.money(recommendation['recommended_limit'], currency)}; "
                f"{recommendation['authority_explanation']}.\n"
            )
        return head + answers.proposal(result, currency=currency) + self._still_pending(corrected)

    def corrected_limit_proposal(self, customer: str) -> dict[str, Any] | None:
        """ "actually make that 30k" right after a limit proposal for the same customer: that proposal's arguments
        (its form — a move or a new limit —, reason and review date stand unless the correction restates them)."""
        if not CORRECTION_RE.search(self.text):
            return None
        previous = last_call(self.history, "propose_credit_limit_change", only_last_reply=True)
        if previous is None or str(previous.arguments.get("customer")) != str(customer):
            return None
        return dict(previous.arguments)

    def proposal_for_another_customer(self, tool: str, customer: CustomerRef) -> dict[str, Any] | None:
        """ "sorry, wrong one - i meant coral leaf wholesale" right after a proposal: that proposal's arguments, for
        the customer now named (an invoice of the other customer's is no part of it)."""
        if not WRONG_CUSTOMER_RE.search(self.text):
            return None
        earlier = last_call(self.history, tool, only_last_reply=True)
        if earlier is None or str(earlier.arguments.get("customer")) == str(customer.reference):
            return None
        moved = {**earlier.arguments, "customer": customer.reference}
        moved.pop("invoice_numbers", None)
        return moved

    def _still_pending(self, corrected: dict[str, Any] | None) -> str:
        """After a proposal made again right after an earlier one (corrected, or with a reason or review date added):
        what became of the earlier one, which this one does not withdraw."""
        earlier = self.history[-1].proposals if corrected is not None and self.history else []
        if not earlier:
            return ""
        last = earlier[-1]
        if last.status != "pending":
            return f"\n\nThe earlier proposal #{last.id} was already {last.status}; this one does not undo it."
        return (
            f"\n\nThe earlier proposal #{last.id} is still pending: the approver should reject it if this one "
            "replaces it (I cannot withdraw it)."
        )

    def _scaled_limit(
        self, factor: Decimal | str, recommendation: dict[str, Any], nothing: str
    ) -> tuple[dict[str, str], str]:
        """ "double stark's line", "increase initech 25%": the current limit scaled, as a new limit."""
        currency = recommendation["currency"]
        who = answers.customer_label(recommendation["customer"])
        if recommendation.get("current_limit") is None:
            raise Stop(f"{who} has no credit limit to scale; give the new limit as an amount. {nothing}", "no limit")
        current = Decimal(str(recommendation["current_limit"]))
        if not isinstance(factor, Decimal):
            raise Stop(
                f"{who}'s limit is {answers.money(current, currency)}: should it go up or down by that share? Say "
                f"“raise … by …%” or “cut … by …%”. {nothing}",
                "unclear limit change",
            )
        new = (current * factor).quantize(Decimal("0.01"))
        read_as = f"{answers.money(current, currency)} × {factor.normalize():f} = {answers.money(new, currency)}"
        return {"new_limit": str(new)}, read_as

    def names_the_new_limit_otherwise(self, customer: str) -> bool:
        """Whether a request with no amount still says what the new limit is: zero, a share of today's ("double it"),
        the policy's recommendation ("propose the recommended limit"), or the one the thread just recommended for
        this customer ("ok, propose that")."""
        if _TO_ZERO_RE.search(self.text) or _THE_RECOMMENDED_RE.search(self.text):
            return True
        if limit_factor(self.text) is not None:
            return True
        previous = last_call(self.history, "recommend_credit_limit", only_last_reply=True)
        return previous is not None and str(previous.arguments.get("customer")) == str(customer)

    def _recommendation_goes_the_asked_way(self, recommendation: dict[str, Any], nothing: str) -> None:
        """With no figure given the proposal is the policy's; when the words ask to raise and the policy would lower
        (or the other way round), nothing is proposed: the user is asked for the limit they want."""
        said = stated_direction(self.text)
        if said is None or recommendation.get("current_limit") is None:
            return
        current = Decimal(str(recommendation["current_limit"]))
        recommended = Decimal(str(recommendation["recommended_limit"]))
        if (said == "up" and recommended < current) or (said == "down" and recommended > current):
            currency = recommendation["currency"]
            raise Stop(
                f"{answers.customer_label(recommendation['customer'])}'s limit is {answers.money(current, currency)} "
                f"and the policy recommends {answers.money(recommended, currency)}, not a "
                f"{'raise' if said == 'up' else 'cut'}. What new limit should I propose? {nothing}",
                "limit direction contradicts",
            )

    def review_date(self) -> date | None:
        """ "review in 6 months", "review 31/03/2027": the next review the user asks for (a day after today); a
        temporary limit "until 31/12" is reviewed when it is meant to end."""
        ends = [_UNTIL_RE] if _TEMPORARY_RE.search(self.text) else []
        for match in [m for pattern in (_REVIEW_RE, *ends) for m in pattern.finditer(self.text)]:
            found = date_at(self.text, match.end(), self.today, future=True)
            if found is not None and found[0].day > self.today:
                return found[0].day
        return None

    def _stated_limit(self, amount: MoneyMention, recommendation: dict[str, Any]) -> dict[str, str]:
        """The change the user asked for, as the limit tool's arguments: a new limit (`new_limit`) or a move of the
        current one (`change_by`, which the tool applies to the limit it reads); asks when the wording allows both."""
        kind = limit_change_kind(self.text, amount)
        currency = recommendation["currency"]
        current = Decimal(str(recommendation.get("current_limit") or 0))
        if kind == "absolute":
            said = stated_direction(self.text)
            actual = "up" if amount.amount > current else "down" if amount.amount < current else None
            if said is not None and actual is not None and said != actual and recommendation.get("current_limit"):
                # "raise Wayne's limit to 100k" when it is 1.7m: the verb and the figure disagree; never pick one
                result = "lower" if actual == "down" else "raise"
                raise Stop(
                    f"{answers.customer_label(recommendation['customer'])}'s limit is "
                    f"{answers.money(current, currency)}; {answers.money(amount.amount, currency)} would {result} it, "
                    f"but you asked to {'raise' if said == 'up' else 'lower'} it. Did you mean a new limit of "
                    f"{answers.money(amount.amount, currency)}, or a change by that amount? Say “set … to "
                    f"{amount.amount:,.0f}” or “{'raise' if said == 'up' else 'lower'} … by {amount.amount:,.0f}”. "
                    "Nothing was proposed.",
                    "limit direction contradicts",
                )
            return {"new_limit": str(amount.amount)}
        if kind == "unclear":
            lower = sounds_like_a_decrease(self.text)
            moved = current - amount.amount if lower else current + amount.amount
            raise Stop(
                f"Do you mean a new limit of {answers.money(amount.amount, currency)}, or the current "
                f"{answers.money(current, currency)} {'lowered' if lower else 'raised'} by "
                f"{answers.money(amount.amount, currency)} to {answers.money(moved, currency)}? Say “to "
                f"{amount.amount:,.0f}” or “by {amount.amount:,.0f}”. Nothing was proposed.",
                "unclear limit change",
            )
        change = amount.amount if kind == "increase" else -amount.amount
        if current + change <= 0:
            raise Stop(
                f"{answers.customer_label(recommendation['customer'])}'s limit is {answers.money(current, currency)}; "
                f"lowering it by {answers.money(amount.amount, currency)} would take it to zero or below. What should "
                "the new limit be? Nothing was proposed.",
                "limit below zero",
            )
        return {"change_by": str(change)}
