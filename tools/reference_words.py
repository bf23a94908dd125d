"""The words a customer reference is judged by: legal forms and connectors (never distinctive), ordinary words of
the trade and of geography (a name only when they are a customer's whole name), and common English words (never
matched by similarity). Shared by the resolver and the offline planner so every surface applies the same rule."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

from babel import Locale

from db.models.party import _LEGAL_FORMS as _STORED_LEGAL_FORMS

LEGAL_FORMS = _STORED_LEGAL_FORMS | frozenset(
    """
    inc incorporated corp corporation co company cos ltd limited llc llp lp plc pllc pc gmbh mbh ag kg kgaa ohg ug
    sa sas sarl srl spa bv nv pty pte oy oyj ab asa as aps kk sl se cv rl sro sdn bhd pvt ltda eirl kft zrt sae
    """.split()  # noqa: SIM905 - a word list reads better as text
)
CONNECTORS = frozenset("and of the de du des del della di da von van der den la le les y e et und".split())  # noqa: SIM905
# The vocabulary of the questions people ask about customers: never part of a customer's name unless it is the name.
DOMAIN_WORDS = frozenset(
    """
    report reports reporting statement statements eom eoq eoy ytd mtd qtd fy sitting sits sit older oldest newer
    newest old overdue due invoice invoices total totals today aging ageing aged book portfolio top all balance
    balances exposure exposures receivable receivables ar dso cei bpdso kpi kpis limit limits credit score scores
    risk class debt debts debtor debtors outstanding unpaid owed owing owe owes bucket buckets days day weeks week
    month months quarter quarters year years customer customers client clients account accounts region regions
    country countries segment segments collector collectors worklist dunning reminder reminders letter letters
    dispute disputes disputed promise promises order orders hold holds release summary overview breakdown trend
    chart status position past late open amount amounts figure figures number numbers list everyone everything
    anyone anything someone something who what which where when why how much many our my your their his her its
    any some every each this that these those there here is are was were be been do does did have has had can
    could should would will shall may might must me us we you it they them i to in on at by for from with about
    into over under than then as or not no yes per via vs line lines collection collections paydex bureau sign
    signs signoff sign-off standup standups stand-up huddle catchup catch-up cfo ceo coo cto fd vp boss offsite agenda
    """.split()  # noqa: SIM905
)
# Words that many company names share: they never identify a customer by themselves (not in the dictionary list).
GENERIC_NAME_WORDS = frozenset(
    """
    logistics technologies technology tech solutions consulting consultants services systems industries
    international global holdings group enterprises ventures partners associates capital investments imports
    exports trading manufacturing components builders foods health healthcare clinics pharma pharmaceuticals
    software networks media energy motors transport distribution supply metals plastics machining contracting
    outfitters bakeries farms depot kitchens beverages housing agency cloud labs studios engineering construction
    products brands retail wholesale electronics chemicals textiles apparel insurance financial realty properties
    development management resources mining telecom communications digital analytics biotech medical dental
    automotive aerospace marine freight shipping express worldwide americas intl natl
    """.split()  # noqa: SIM905
)
_PLACE_ALIASES = {
    "uk": "GB", "u.k.": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "america": "US",
    "united states of america": "US", "holland": "NL", "the netherlands": "NL", "czech republic": "CZ",
    "hong kong": "HK", "south korea": "KR", "korea": "KR", "uae": "AE", "russia": "RU", "vietnam": "VN",
    "turkey": "TR", "ivory coast": "CI",
}  # fmt: skip
# How people name a country's customers ("the germans", "british accounts", "our canadian clients"): CLDR has no
# demonyms, so the common ones of the trade, each also with a plural -s where English has one.
_DEMONYMS = {
    "british": "GB", "brits": "GB", "english": "GB", "scottish": "GB", "welsh": "GB", "american": "US",
    "german": "DE", "french": "FR", "canadian": "CA", "mexican": "MX", "spanish": "ES", "italian": "IT",
    "dutch": "NL", "belgian": "BE", "swiss": "CH", "austrian": "AT", "irish": "IE", "swedish": "SE",
    "danish": "DK", "norwegian": "NO", "finnish": "FI", "polish": "PL", "portuguese": "PT", "czech": "CZ",
    "japanese": "JP", "chinese": "CN", "indian": "IN", "singaporean": "SG", "australian": "AU",
    "brazilian": "BR", "argentinian": "AR", "chilean": "CL", "colombian": "CO", "korean": "KR",
    "emirati": "AE", "turkish": "TR", "south african": "ZA", "new zealand": "NZ", "kiwi": "NZ",
}  # fmt: skip
_PLACE_ALIASES |= _DEMONYMS | {
    f"{name}s": code for name, code in _DEMONYMS.items() if name.endswith(("an", "ian", "i")) or name == "kiwi"
}
# Regions and trading blocs people filter by (region names of the data itself are added by the planner).
_AREA_NAMES = frozenset(
    """
    emea apac latam amer americas nordics benelux dach eu eea europe asia africa oceania caribbean middle east
    north south east west western eastern northern southern central america latin pacific atlantic
    """.split()  # noqa: SIM905
)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """NFKC (fullwidth and compatibility forms become their plain letters), then case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def has_control_characters(text: str) -> bool:
    """Control, format (zero-width, bidi) or unassigned characters: never part of a name, often a spoofing attempt."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text if ch not in " \t\n\r")


@cache
def _territories() -> dict[str, str]:
    """CLDR territory names in English: ISO 3166 alpha-2 codes and UN M.49 area numbers."""
    return {str(code): str(name) for code, name in Locale.parse("en").territories.items()}


@cache
def place_names() -> dict[str, str]:
    """Country names (English, from the CLDR data babel ships) and common aliases, lower-cased → ISO 3166 code."""
    names = {fold(name): code for code, name in _territories().items() if len(code) == 2 and code.isalpha()}
    for name in list(names):
        if "&" in name:
            names[name.replace("&", "and")] = names[name]
    names.update(_PLACE_ALIASES)
    return names


@cache
def area_names() -> frozenset[str]:
    """Continents and sub-regions ("Europe", "Western Europe", "Latin America"), lower-cased."""
    return frozenset(fold(name) for code, name in _territories().items() if code.isdigit() and code != "001")


@cache
def place_words() -> frozenset[str]:
    """Every word of a country or area name, and every two-letter country code."""
    words = set(_AREA_NAMES)
    codes = {code.casefold() for code in _territories() if len(code) == 2 and code.isalpha()}
    for name in [*place_names(), *area_names()]:
        words.update(_WORD_RE.findall(name))
    return frozenset(words | codes) - CONNECTORS


@cache
def common_words() -> frozenset[str]:
    text = resources.files("tools").joinpath("common_english.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


_SUFFIXES = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", ""))


def is_common_word(word: str) -> bool:
    """A common English word or a generic company-name word, inflections included ("reports", "holdings")."""
    word = fold(word)
    return word in GENERIC_NAME_WORDS or _common(word, depth=2)


def _common(word: str, depth: int) -> bool:
    if word in common_words():
        return True
    if depth == 0:
        return False
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)] + replacement
            if _common(stem, depth - 1) or (len(stem) > 3 and stem[-1] == stem[-2] and stem[:-1] in common_words()):
                return True
    return False


def is_filler(word: str) -> bool:
    """A legal form or a connector: carries no identity ("inc", "LLC", "of", "&")."""
    word = fold(word).strip(".")
    return word.replace(".", "") in LEGAL_FORMS or word in CONNECTORS or word in ("&", "+")


def is_ordinary(word: str) -> bool:
    """A word of the trade or of geography, a legal form or a connector: names a customer only as its whole name."""
    word = fold(word).strip(".'")
    return is_filler(word) or word in DOMAIN_WORDS or word in place_words() or word.replace(".", "") in place_words()
