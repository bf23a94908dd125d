"""Reading dates, amounts and currencies from a message for the offline planner."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from .context import (
    CustomerRef,
    last_as_of,
    list_call,
    listed_customers,
    vocabulary,
)
from .dates import DateMention, date_at, date_mentions, period_end
from .entities import (
    CUSTOMER_ID_RE,
    MoneyMention,
    money_mentions,
)
from .periods import period_mentions, period_problem, unreadable_dates
from .phrases import (
    _AS_OF_BEFORE_RE,
    _BARE_WEEKDAY_RE,
    _REVIEW_DUE_RE,
    ORDINAL_RE,
    PICK_RE,
    pick_index,
)
from .turn_state import Stop, TurnState, count_word, counted_thing

_DATE_WORD_BEFORE_RE = re.compile(r"\b(?:on|by|since|until|till|at|from|of|before|after|as\s+of)\s*$", re.I)


def row_picks(text: str) -> list[tuple[int, int]]:
    """The ordinals that pick a row of a list just shown ("call the 2nd"), not the day of a month ("on the 2nd")."""
    return [m.span() for m in ORDINAL_RE.finditer(text) if not _DATE_WORD_BEFORE_RE.search(text[: m.start()])]


_THAT_DATE_RE = re.compile(r"\b(?:that|the\s+same|same)\s+(?:date|day|point\s+in\s+time|month[- ]end)\b", re.I)
# When the asker is working, never the date the figures are wanted at (that is today anyway)
_WHEN_WORKING_RE = re.compile(
    r"\b(?:tonight|this\s+(?:morning|afternoon|evening)|later\s+today|first\s+thing(?:\s+tomorrow)?)\b"
    # "Stark's fine, I checked yesterday": when the asker looked, not a date the figures are wanted at
    r"|\b(?:i|we)\s+(?:already\s+)?(?:checked|looked|spoke|called|asked|emailed|rang)\b[^.?!]{0,25}?"
    r"\b(?:yesterday|earlier|last\s+week|on\s+(?:mon|tues|wednes|thurs|fri)day)\b",
    re.I,
)


# Words that put a follow-up back at today, or that resolve only against the real today
_NOW_WORDS_RE = re.compile(
    r"\b(?:today|now|currently|current|right\s+now|at\s+the\s+moment|these\s+days|latest|live|as\s+it\s+stands)\b",
    re.I,
)
_YEAR_OR_RELATIVE_RE = re.compile(
    r"\b(?:19|20)\d\d\b|['’/-]\d\d\b|\b(?:yesterday|tomorrow|ago|week|weeks|last|next|this|previous|prior|ytd|mtd"
    r"|qtd)\b",
    re.I,
)


# A reason given in so many words: free text, whose figures are no amount of the request
_REASON_GIVEN_RE = re.compile(r"\breason\s*[:=]\s*(\S.*)$", re.I)


class TurnSlots(TurnState):
    """Dates, amounts and currencies read from the message."""

    def number_picked(self, kind: str) -> str | None:
        """ "hold the second one" after the user listed three order numbers: that one (`kind`: orders, invoices)."""
        numbers = self.history[-1].named.get(kind, []) if self.history else []
        pick = PICK_RE.match(self.text) or ORDINAL_RE.search(self.text)
        if not numbers or pick is None:
            return None
        index = pick_index(pick)
        return numbers[index] if -len(numbers) <= index < len(numbers) else None

    def listed(self) -> list[CustomerRef]:
        """The customers of the list the user last saw (the call is repeated when the thread kept only its summary)."""
        return listed_customers(self.history, refetch=self.call)

    def dates(self, *, future: bool = False, used: bool = True) -> list[DateMention]:
        """The dates in the text. One the text does not pin to a single day ends the turn with a question, unless
        the caller only masks dates (`used=False`)."""
        if list_call(self.history) is not None:
            for start, end in row_picks(self.text):  # "ok call the 2nd" after a list: that row, not a day
                if not self.spans.covers(start, end):
                    self.spans.add(start, end)
        found = date_mentions(self.text, self.today if future else self.date_reference(), self.spans, future=future)
        problem = next((mention.problem for mention in found if mention.problem), None)
        if used and problem is not None:
            raise Stop(
                f"Which date do you mean? {problem}. Write the month as a word, e.g. “7 December”. Nothing was done.",
                "ambiguous date",
            )
        return found

    def reporting_dates(self) -> list[DateMention]:
        """The dates and periods of a reporting question. A period without figures (after today, before the book's
        first data) or date-like text that is no date ends the turn with the reason, never an answer for today."""
        self.mask_dates_that_are_no_as_of()
        found = self.dates()
        unreadable = unreadable_dates(self.text, self.spans)
        found += [mention for _, mention in period_mentions(self.text, self.today, self.spans)]
        if unreadable:
            raise Stop(
                f"“{unreadable[0]}” is not a date I can read (there is no such day); nothing was answered.",
                "unreadable date",
            )
        first_day = vocabulary(self.request.database_url).first_day if found else None
        for mention in found:
            problem = period_problem(mention, self.today, first_day)
            if problem is not None:
                raise Stop(
                    f"There are no figures for that: {problem.reason}. Ask about a date or period up to today; "
                    "nothing was answered.",
                    "impossible period",
                )
        return found

    def mask_dates_that_are_no_as_of(self) -> None:
        """ "review due by the end of the month" (a filter the book cannot apply, said as such) and "seeing them
        thursday" (an event ahead): dates in a reporting question that are not the date figures are wanted at."""
        for match in _WHEN_WORKING_RE.finditer(self.text):  # "putting the board pack together tonight": not the as-of
            self.spans.add(*match.span())
        for match in _REVIEW_DUE_RE.finditer(self.text):
            found = date_at(self.text, match.end(), self.today, future=True)
            if found is not None:
                self.spans.add(match.start(), found[1])
                self.review_due_by = period_end(found[0])  # "due this month": by its last day
        for match in _BARE_WEEKDAY_RE.finditer(self.text):
            before = self.text[: match.start()]
            asks_ahead = re.search(r"\b(?:will|going\s+to|gonna)\b", before, re.I)  # "what will they owe friday"
            if not _AS_OF_BEFORE_RE.search(before) and not asks_ahead and not self.spans.covers(*match.span()):
                self.spans.add(*match.span())

    def as_of(self) -> date | None:
        found = self.reporting_dates()
        if not found and self.history and _THAT_DATE_RE.search(self.text):
            return last_as_of(self.history)  # "score as at that date too" after an exposure at 31/10
        return found[0].day if found else self.thread_as_of()

    def thread_as_of(self) -> date | None:
        """The date the answer just given was asked at, for a message that names none ("top 10 customers?" after
        open AR at 30 Nov 2012): the conversation stays at that date until the user moves it or says "now"."""
        if not self.history or _NOW_WORDS_RE.search(self.text):
            return None
        day = last_as_of(self.history[-1:])
        return day if day is not None and day < self.today else None

    def date_reference(self) -> date:
        """The day yearless dates resolve against: today, or in a conversation held at a date in an earlier year the
        end of that year ("and at the end of june?" after 31 March 2013 is June 2013)."""
        anchor = self.thread_as_of() if not _YEAR_OR_RELATIVE_RE.search(self.text) else None
        if anchor is None or anchor.year >= self.today.year:
            return self.today
        return date(anchor.year, 12, 31)

    def amounts(self, *, decrease: Callable[[MoneyMention], bool] | None = None) -> list[MoneyMention]:
        """The message's amounts, refusing a malformed one, or a negative one unless `decrease` says it is a
        decrease the request may make."""
        for match in CUSTOMER_ID_RE.finditer(self.text):  # "customer 12 promised 5k": 12 is no amount
            self.spans.add(*match.span())
        for match in _REASON_GIVEN_RE.finditer(self.text):  # "reason: rec supports it + 2y clean history"
            self.spans.add(match.start(1), match.end())
        mentions = money_mentions(self.text, self.spans)
        for mention in mentions:
            if mention.error == "negative" and decrease is not None and decrease(mention):
                continue
            if mention.error == "negative":
                raise Stop("Amounts must be positive; nothing was done.", "negative amount")
            if mention.error == "too_large":
                raise Stop("That amount is implausibly large; nothing was done. Please check it.", "absurd amount")
            if mention.error:
                why = mention.message or "at most two decimals"
                raise Stop(f"I could not read that amount ({why}); nothing was done.", "bad amount")
        return mentions

    def amount(self, *, required_explicit: bool = False) -> MoneyMention | None:
        mentions = self.amounts()
        explicit = [m for m in mentions if m.explicit]
        if explicit:
            return explicit[0]
        if mentions and not required_explicit:
            return mentions[0]
        return None

    def one_of_each(self, amounts: list[MoneyMention], found: list[DateMention], *, what: str, nothing: str) -> None:
        """A write takes one amount and one date: with more in the message, pairing them would be a guess, so list
        what was found and ask."""
        amounts = [m for m in amounts if not counted_thing(self.text, m)]
        days = sorted({mention.day for mention in found})
        seen = []
        if len(amounts) > 1:
            seen.append(
                f"{count_word(len(amounts))} amounts ({', '.join(self.text[m.start : m.end] for m in amounts)})"
            )
        if len(days) > 1:
            seen.append(f"{count_word(len(days))} dates ({', '.join(f'{d.day} {d:%B %Y}' for d in days)})")
        if seen:
            raise Stop(
                f"I found {' and '.join(seen)}; {what}. Which do you mean? Send them one at a time. {nothing}",
                "several values",
            )

    def only_amount(self, amounts: list[MoneyMention]) -> MoneyMention | None:
        real = [m for m in amounts if not counted_thing(self.text, m)]
        return real[0] if real else None

    def currency_of(
        self, amount: MoneyMention, customer: CustomerRef, currency: str | None, nothing: str
    ) -> str | None:
        """The currency to send with an amount given with a currency word ("2000 dollars"): the customer's when the
        word fits it (dollars for a USD, CAD or SGD account), else a refusal. None when no word was used."""
        if amount.currencies is None:
            return amount.currency
        if currency is None:
            currency = (
                customer.currency
                or self.call("resolve_customer", {"query": customer.reference})["customer"]["currency"]
            )
        if not amount.fits(currency):
            raise Stop(
                f"{customer.name or 'That customer'}'s account is in {currency}; “{amount.stated_currency}” is not "
                f"{currency}. Give the amount in {currency}. {nothing}",
                "currency mismatch",
            )
        return currency
