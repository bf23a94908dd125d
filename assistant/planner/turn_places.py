"""The countries and areas a message names ("UK customers", "canadain accounts", "Latin America"), as the book stores
them; an area is no country, and the turn ends saying to ask by region."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from tools.reference_words import area_names, place_names

from .context import misspelt_values, vocabulary
from .phrases import _NOT_COUNTRY_CODES, _PLACE_RE
from .turn_slots import TurnSlots
from .turn_state import Stop


@cache
def _long_place_names() -> list[tuple[str, str]]:
    """Place names one slip may be read as: single words of seven letters or more."""
    return [(name, name) for name in place_names() if name.isalpha() and len(name) >= 7]


_CURRENCY_AFTER_RE = re.compile(r"[- ](?:dollars?|francs?|pesos?|pounds?|krona|kroner?)\b", re.I)


class TurnPlaces(TurnSlots):
    """The places the message names."""

    def names_a_place(self) -> bool:
        known = place_names()
        return any(m.group(0).casefold() in known or m.group(0).casefold() in area_names()
                   for m in _PLACE_RE.finditer(self.text) if len(m.group(0)) > 2)  # fmt: skip

    def places(self) -> list[str]:
        """Countries and areas named in the text that no region or other entity explains ("UK customers")."""
        found: list[str] = []
        codes = set(vocabulary(self.request.database_url).countries) - _NOT_COUNTRY_CODES
        for match in _PLACE_RE.finditer(self.text):
            name = match.group(0)
            if self.spans.covers(*match.span()) or _CURRENCY_AFTER_RE.match(self.text, match.end()):
                continue  # taken, or a currency's name ("canadian dollars")
            if len(name) == 2 and name.casefold() not in place_names() and not (name.isupper() and name in codes):
                continue  # a two-letter code only when written as one and used in the book ("DE", "MX")
            self.spans.add(*match.span())
            found.append(name)
        if not found:  # "canadain customers"
            found = misspelt_values(self.text, _long_place_names(), self.spans)
        return found

    def refuse_places(self, places: list[str], *, regions: Sequence[str]) -> None:
        """The book is filtered by region, not country: say so rather than answer for the whole book."""
        if not places:
            return
        pairs = vocabulary(self.request.database_url).country_regions
        names = place_names()
        hints = []
        for place in places:
            code = names.get(place.casefold(), place.upper())
            in_regions = sorted({region for country, region in pairs if country == code})
            if in_regions:
                hints.append(f"{place} customers are in {' and '.join(in_regions)}")
        raise Stop(
            f"I can't filter by country or area ({', '.join(places)}): the book is filtered by region "
            f"({', '.join(regions)}), segment, collector, risk class or currency. "
            + (f"{'; '.join(hints)}. " if hints else "")
            + "Ask again with a region, e.g. “… in EMEA”. Nothing was answered for the whole book.",
            "country filter",
        )

    def countries(self, vocab: Any) -> list[str]:
        """Countries named in the text as the book stores them ("UK customers" -> GB); a country the book has no
        customers in is still a filter, and the answer says it matched nothing. An area ("Latin America") is no
        country: the turn ends saying to ask by region."""
        names = place_names()
        areas = area_names()
        places = self.places()
        self.refuse_places([p for p in places if p.casefold() in areas], regions=vocab.regions)
        codes = []
        for place in places:
            code = names.get(place.casefold(), place.upper())
            if code not in codes:
                codes.append(code)
        return codes
