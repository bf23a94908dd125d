"""Word lists and name builders for the demo portfolio: companies, people, e-mail addresses.

Every builder draws from a numpy Generator it is given and walks its candidates in order, so the same generator
state always yields the same names.
"""

from __future__ import annotations

import numpy as np

from db.models.party import customer_name_key


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


HEADS = _words(
    "North South East West Blue Silver Golden Iron Oak Pine Cedar Maple Stone Red Green Black White Clear Bright"
    " Swift High Star Sun Moon River Lake Bay Harbor Summit Crown Eagle Falcon Hawk Fox Wolf Bear Copper Granite"
    " Crystal Amber Coral Ever Fair Far Great Long New Wide Deep True Prime Nova Astra Terra Aqua Vita Flex Birch"
    " Elm Ash Willow Cobalt Ruby Jade Onyx Arrow Anchor Beacon Bridge Canyon Cliff Delta Frost Glen Haven Key Land"
    " Mill Peak Quarry Ridge Sage Shore Sky Spring Storm Timber Vale Wind Zen Atlas Orion Vector Pioneer Liberty"
)

TAILS = _words(
    "wind bird field ridge gate brook stone point wood light line bridge crest way vale haven port works side mark"
    " view land wave peak rock well water ford hill dale star leaf path spring shore core mont wick ton ley bury"
    " stead worth cross"
)

SURNAMES = _words(
    "Anderson Baker Becker Bennett Brandt Carter Castillo Chen Clarke Dalton Dubois Duarte Ellis Fischer Fleming"
    " Fournier Garcia Gallagher Hale Hartmann Hayes Holt Ibarra Jansen Keller Kowalski Lambert Larsen Lewis Lindgren"
    " Marsh Mendes Meyer Moreau Murphy Nakamura Navarro Nolan Okafor Olsen Ortega Palmer Patel Perrin Quinn Ramos"
    " Reid Richter Rossi Sato Schmidt Shaw Silva Sinclair Sorensen Tan Taylor Thornton Turner Vance Vogel Wagner"
    " Walsh Weber Whitfield Wong Young Zimmer Abbott Barrett Bishop Brennan Chandler Crane Doyle Everett Foster"
    " Gibson Harding Hughes Kemp Lowe Mercer Morrison Nash Parker Pryce Russo Sutton Tate Webb Winter"
)

FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph"
    " Jessica Thomas Sarah Daniel Karen Matthew Lisa Anthony Nancy Mark Sandra Paul Ashley Steven Emily Andrew"
    " Michelle Joshua Amanda Kevin Melissa Brian Deborah George Stephanie Timothy Rebecca Jason Laura Ryan Helen"
    " Jacob Anna Gary Nicole Nicholas Emma Eric Olivia Jonathan Sophie Stephen Hannah Larry Julia Justin Lena Lukas"
    " Marie Felix Clara Jonas Camille Hugo Chloe Louis Ines Pieter Sanne Daan Lotte Oliver Amelia Harry Isla"
    " Liam Charlotte Noah Mia Ethan Grace Lucas Zoe Mateo Valentina Diego Camila Santiago Lucia Wei Mei Arjun"
    " Priya Kenji Yuki Aiden Connor Ava Ravi Leah"
)

INDUSTRY_NOUNS: dict[str, tuple[str, ...]] = {
    "Manufacturing": ("Manufacturing", "Industries", "Components", "Fabrication", "Machining", "Plastics", "Metals"),
    "Wholesale Distribution": ("Distribution", "Supply", "Wholesale", "Trading", "Imports", "Depot", "Sourcing"),
    "Retail": ("Retail", "Stores", "Outfitters", "Market", "Home", "Goods", "Brands"),
    "Construction": ("Construction", "Builders", "Contracting", "Engineering", "Structures", "Civil", "Projects"),
    "Healthcare": ("Health", "Medical", "Care", "Clinics", "Diagnostics", "Pharma", "Labs"),
    "Technology": ("Analytics", "Software", "Systems", "Digital", "Networks", "Data", "Labs"),
    "Transportation & Logistics": ("Logistics", "Freight", "Transport", "Shipping", "Haulage", "Cargo", "Express"),
    "Food & Beverage": ("Foods", "Beverages", "Kitchens", "Bakeries", "Farms", "Provisions", "Brewing"),
    "Energy & Utilities": ("Energy", "Power", "Utilities", "Solar", "Renewables", "Fuels", "Grid"),
    "Professional Services": ("Consulting", "Advisory", "Partners", "Associates", "Services", "Solutions", "Group"),
    "Public Administration": ("Authority", "Council", "Agency", "Trust", "Board", "Services", "Department"),
}

GENERIC_NOUNS = ("Group", "Holdings", "International", "Enterprises", "Company", "Ventures")

LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "US": ("Inc", "LLC", "Corp", "Inc", "LLC"),
    "CA": ("Inc.", "Ltd.", "Corp."),
    "GB": ("Ltd", "Ltd", "PLC", "LLP"),
    "DE": ("GmbH", "GmbH", "AG", "KG"),
    "FR": ("SAS", "SA", "SARL"),
    "NL": ("B.V.", "B.V.", "N.V."),
    "AU": ("Pty Ltd",),
    "SG": ("Pte Ltd",),
    "MX": ("S.A. de C.V.", "S. de R.L. de C.V."),
}

# How a subsidiary in another country is usually named: "<parent base> <qualifier> <legal form>".
COUNTRY_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "US": ("USA", "Americas", "Holdings", "Services", "Distribution", "West", "East"),
    "CA": ("Canada", "Ontario", "Quebec", "Pacific", "Atlantic"),
    "GB": ("UK", "Britain", "Scotland", "London", "Northern"),
    "DE": ("Deutschland", "Germany", "Bayern", "Nord", "Rhein"),
    "FR": ("France", "Paris", "Sud", "Lyon"),
    "NL": ("Nederland", "Europe", "Benelux", "Rotterdam"),
    "AU": ("Australia", "Pacific", "Sydney", "Melbourne"),
    "SG": ("Asia", "Singapore", "Asia Pacific", "Southeast Asia"),
    "MX": ("Mexico", "Latinoamerica", "Norte", "Bajio"),
}


PUBLIC_PATTERNS = (
    "City of {place}",
    "{place} County Council",
    "{place} Transit Authority",
    "{place} School District",
    "{place} Water Board",
    "{place} Health Trust",
    "{place} Housing Agency",
    "Port of {place}",
)


class _Uniforms:
    """Uniform draws fetched from the generator in blocks: per-name draws one at a time would dominate the run."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._block: list[float] = []
        self._next = 0

    def random(self) -> float:
        if self._next == len(self._block):
            self._block = self._rng.random(8192).tolist()
            self._next = 0
        value = self._block[self._next]
        self._next += 1
        return value

    def below(self, bound: int) -> int:
        return min(int(self.random() * bound), bound - 1)


def company_names(
    rng: np.random.Generator, industries: list[str], countries: list[str], public: list[bool], taken: set[str]
) -> tuple[list[str], list[str]]:
    """Unique names (and name keys) for customers of the given industries and countries; `taken` is updated.

    Public-sector bodies get civic names without a legal form ("Oakridge Transit Authority").
    """
    names: list[str] = []
    keys: list[str] = []
    draws = _Uniforms(rng)
    for industry, country, is_public in zip(industries, countries, public, strict=True):
        for attempt in range(1000):
            name = _public_name(draws) if is_public else _company_name(draws, industry, country, attempt)
            key = customer_name_key(name)
            if key not in taken:
                break
        else:
            raise RuntimeError("company name space exhausted")
        taken.add(key)
        names.append(name)
        keys.append(key)
    return names, keys


def name_words() -> frozenset[str]:
    """Every word (lower case) a generated company name can hold: the made-up places ('Silverbrook', 'Bay Ridge'),
    surnames, trade nouns, legal forms, the public bodies' words and the subsidiaries' qualifiers."""
    words: set[str] = {surname.lower() for surname in SURNAMES}
    for head in HEADS:
        words.add(head.lower())
        for tail in TAILS:
            words.update([head.lower(), tail] if tail in head.lower() or head[-1].lower() == tail[0] else [
                (head + tail).lower()
            ])  # fmt: skip
    phrases = [*COUNTRY_QUALIFIERS.values(), *INDUSTRY_NOUNS.values(), GENERIC_NOUNS, *LEGAL_FORMS.values()]
    phrases.append(tuple(pattern.replace("{place}", "") for pattern in PUBLIC_PATTERNS))
    words.update(word.lower().strip(".") for group in phrases for phrase in group for word in phrase.split())
    return frozenset(word for word in words if word)


def _company_name(draws: _Uniforms, industry: str, country: str, attempt: int) -> str:
    nouns = INDUSTRY_NOUNS[industry] + GENERIC_NOUNS
    noun = nouns[draws.below(len(nouns))]
    legal = LEGAL_FORMS[country]
    roll = draws.random()
    if roll < 0.12 and attempt < 50:
        base = f"{SURNAMES[draws.below(len(SURNAMES))]} {noun}"
    elif roll < 0.18:
        first = draws.below(len(SURNAMES))
        second = (first + 1 + draws.below(len(SURNAMES) - 1)) % len(SURNAMES)
        base = f"{SURNAMES[first]} & {SURNAMES[second]}"
    elif roll > 0.93:
        extra = GENERIC_NOUNS[draws.below(len(GENERIC_NOUNS))]
        base = f"{_place(draws)} {noun}" + ("" if extra == noun else f" {extra}")
    else:
        base = f"{_place(draws)} {noun}"
    return f"{base} {legal[draws.below(len(legal))]}"


def _public_name(draws: _Uniforms) -> str:
    return PUBLIC_PATTERNS[draws.below(len(PUBLIC_PATTERNS))].format(place=_place(draws))


def _place(draws: _Uniforms) -> str:
    """A made-up compound like 'Northwind', 'Oakridge' or 'Silverbrook'."""
    head = HEADS[draws.below(len(HEADS))]
    tail = TAILS[draws.below(len(TAILS))]
    if tail in head.lower() or head[-1].lower() == tail[0]:
        return f"{head} {tail.title()}"
    return head + tail


def subsidiary_name(
    rng: np.random.Generator, parent_name: str, parent_country: str, country: str, taken: set[str]
) -> tuple[str, str]:
    """A subsidiary's name derived from its parent's ('Northwind Logistics Inc' -> 'Northwind Logistics UK Ltd')."""
    base = _strip_legal_form(parent_name, parent_country)
    qualifiers = COUNTRY_QUALIFIERS[country]
    legal = LEGAL_FORMS[country]
    for attempt in range(200):
        qualifier = qualifiers[int(rng.integers(len(qualifiers)))]
        if attempt >= len(qualifiers) * 3:
            qualifier = f"{qualifier} {attempt}"
        # Unique without the legal form too, so two subsidiaries never differ only in "S.A." vs "S. de R.L.".
        stem = customer_name_key(f"{base} {qualifier}")
        name = f"{base} {qualifier} {legal[int(rng.integers(len(legal)))]}"
        key = customer_name_key(name)
        if key not in taken and stem not in taken:
            taken.update((key, stem))
            return name, key
    raise RuntimeError("subsidiary name space exhausted")


def _strip_legal_form(name: str, country: str) -> str:
    for form in sorted(set(LEGAL_FORMS[country]), key=len, reverse=True):
        if name.endswith(" " + form):
            return name[: -len(form) - 1]
    return name


def person_names(rng: np.random.Generator, count: int) -> list[str]:
    firsts = rng.integers(len(FIRST_NAMES), size=count).tolist()
    lasts = rng.integers(len(SURNAMES), size=count).tolist()
    return [f"{FIRST_NAMES[f]} {SURNAMES[s]}" for f, s in zip(firsts, lasts, strict=True)]


def contact_email(person: str, name_key: str) -> str:
    """'Jane Smith' at 'northwind logistics' -> 'jane.smith@northwind-logistics.example'."""
    local = ".".join(part.lower() for part in person.split())
    domain = "".join(ch if ch.isalnum() else "-" for ch in name_key).strip("-")
    return f"{local}@{domain}.example"
