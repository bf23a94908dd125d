"""Matching a customer name against the book, strictest first. A reference resolves only when it clearly names one
customer: its whole name, its leading words, or (for a long enough, non-dictionary word) a near-identical spelling.
Legal forms, connectors and ordinary words never name anyone on their own; partial words only suggest candidates.

Stages, in order (the first that finds anything answers):
1. the whole name (name key: case, punctuation and trailing legal form folded) — resolves when unique, unless the
   legal form was left off and another name, not one of its own subsidiaries, starts with the same words
   ("highbridge" for Highbridge Company SAS and Highbridge Enterprises S.A.; "acme" still names the group head);
2. nothing but ordinary words (trade vocabulary, places, legal forms): no match unless stage 1 found one;
3. the leading whole words of a name ("globex" → "Globex Industries") — resolves when unique, and a single word
   that also starts another name's first word ("crystal": "Crystalwood …") is not unique;
4. whole words inside a name ("richter", "transit authority") — candidates; resolves only when unique and the
   words include a distinctive (non-dictionary) word of four letters or more;
5. the start of a single word ("acm") — candidates only;
6. one mistyped word ("glboex", "ubmrela"): a distinctive word of six letters or more that is one slip (a letter
   swapped, missing, extra or wrong) from exactly one word of the book's names, with no other name word within two,
   is read as that word and matched again from stage 1 ("similar name"; resolves only where the word would);
7. similar spelling, only when the query has a distinctive word of four letters or more: resolves when the best
   match is near-identical on the same number of words, clearly ahead of the next, and the query is not short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import distance, fuzz, process

from db.models.party import customer_name_key
from tools.reference_words import fold, is_common_word, is_filler, is_ordinary

SIMILAR_RESOLVES_AT = 85.0  # ratio on the same number of words
SIMILAR_MIN_GAP = 10.0  # ahead of the next customer by at least this
SIMILAR_MIN_LENGTH = 6  # letters in the query (shorter typos only suggest)
TYPO_MIN_LENGTH = 6  # letters in a word read as a one-slip spelling of a name word
CANDIDATE_MIN_SCORE = 65.0
CANDIDATE_BAND = 25.0
MIN_DISTINCTIVE_CHARS = 2
# A word held by at most this many names (or 0.5 % of a larger book) points at a customer; one shared by more
# ("components", "IBM sample customer …") is part of how names are made, not of which one is meant.
RARE_NAME_WORD_NAMES = 5
_POSSESSIVE = re.compile(r"'s(?=\s|$)|(?<=s)'(?=\s|$)", re.IGNORECASE)  # "acme's", "ventures'" (keeps the s)

Ranked = list[tuple[int, float, str]]  # (position in the index, score, how)
NameRow = tuple[int, str, str, int | None, str]  # (customer id, name key, external id, parent customer id, name)
_TOKEN = re.compile(r"[^\W_]+")


def query_key(text: str) -> str:
    """The reference folded like a stored name key (NFKC first, so fullwidth letters read as plain ones)."""
    folded = fold(text).replace("’", "'").strip()
    return customer_name_key(_POSSESSIVE.sub("", folded))


def _distinctive(words: list[str]) -> list[str]:
    return [word for word in words if not is_filler(word)]


def _strong(word: str) -> bool:
    """A word that identifies on its own: four letters or more, not a dictionary or ordinary word."""
    return len(word) >= 4 and any(ch.isalpha() for ch in word) and not is_ordinary(word) and not is_common_word(word)


@dataclass
class NameIndex:
    fingerprint: tuple[int, int, str]
    ids: list[int]
    keys: list[str]
    parents: list[int | None]
    whole: list[bool]  # the key is the whole name (no legal form or other word was folded away)
    by_key: dict[str, list[int]] = field(default_factory=dict)
    tokens: list[tuple[str, ...]] = field(default_factory=list)
    by_token: dict[str, list[int]] = field(default_factory=dict)
    max_words: int = 0
    _prefixes: dict[int, list[str]] = field(default_factory=dict)
    _ordinary: frozenset[str] | None = None

    @classmethod
    def build(cls, fingerprint: tuple[int, int, str], rows: list[NameRow]) -> NameIndex:
        index = cls(
            fingerprint,
            [row[0] for row in rows],
            [row[1] for row in rows],
            [row[3] for row in rows],
            [len(_TOKEN.findall(row[1])) >= len(_TOKEN.findall(fold(row[4]))) for row in rows],
        )
        for position, key in enumerate(index.keys):
            words = tuple(key.split())
            index.tokens.append(words)
            index.by_key.setdefault(key, []).append(position)
            for word in set(words):
                index.by_token.setdefault(word, []).append(position)
            index.max_words = max(index.max_words, len(words))
        return index

    def prefixes(self, n: int) -> list[str]:
        """Every name cut to its first `n` words (computed once per length)."""
        if n not in self._prefixes:
            self._prefixes[n] = [" ".join(words[:n]) for words in self.tokens]
        return self._prefixes[n]

    def ordinary_names(self) -> frozenset[str]:
        """Name keys made only of ordinary words ("Total", "Mexico Trading"?): the only way such words name anyone."""
        if self._ordinary is None:
            self._ordinary = frozenset(
                key for key, words in zip(self.keys, self.tokens, strict=True) if all(map(is_ordinary, words))
            )
        return self._ordinary


def match_name(index: NameIndex, text: str, limit: int) -> tuple[Ranked, bool]:
    """Ranked matches for a name reference and whether the first one is decisive. A one-word reference that finds
    nobody is tried again without a trailing "s" ("starks exposure": a possessive typed without its apostrophe), and
    one of several words with two of them joined when that makes a word of a name."""
    key = query_key(text)
    spelled = _spelled_out(index, key)
    if spelled != key:  # "cedarwick intl" is Cedarwick International; the abbreviation as typed is tried second
        found = match_name(index, spelled, limit)
        if found[0]:
            return found
    form_typed = len(fold(text).split()) > len(key.split())  # "highbridge sas": the legal form says which
    found = _match_key(index, key, limit, form_typed=form_typed)
    if not found[0] and " " not in key and key.endswith("s") and key[:-1] in index.by_token:
        return _match_key(index, key[:-1], limit)
    if not found[0] and " " in key:
        # "eagle light renewables" for Eaglelight Renewables: two words typed apart that make one word of a name
        words = key.split()
        for i in range(len(words) - 1):
            if words[i] + words[i + 1] in index.by_token:
                joined = _match_key(index, " ".join([*words[:i], words[i] + words[i + 1], *words[i + 2 :]]), limit)
                if joined[0]:
                    return joined
    return found


# Business words staff shorten when they type a name; an abbreviation that is itself a word of some name is kept.
_ABBREVIATIONS = {
    "intl": "international", "intnl": "international", "natl": "national",
    "grp": "group", "hldgs": "holdings", "hldg": "holdings", "mfg": "manufacturing", "svcs": "services",
    "svc": "services", "assoc": "associates", "assocs": "associates", "bros": "brothers", "dist": "distribution",
    "distrib": "distribution", "ents": "enterprises", "ent": "enterprises", "whsl": "wholesale",
    "whse": "wholesale", "inds": "industries", "ind": "industries", "sys": "systems", "tech": "technologies",
    "trans": "transport", "mgmt": "management",
}  # fmt: skip


def _spelled_out(index: NameIndex, key: str) -> str:
    words = key.split()
    return " ".join(
        _ABBREVIATIONS[word] if word in _ABBREVIATIONS and word not in index.by_token else word for word in words
    )


def _match_key(index: NameIndex, key: str, limit: int, *, form_typed: bool = False) -> tuple[Ranked, bool]:
    words = key.split()
    distinctive = _distinctive(words)
    if sum(len(word) for word in distinctive) < MIN_DISTINCTIVE_CHARS or len(words) > index.max_words + 2:
        return [], False
    exact = index.by_key.get(key, [])
    if exact:
        ranked = [(position, 100.0, "name") for position in exact[:limit]]
        if len(exact) > 1 or form_typed or index.whole[exact[0]]:
            return ranked, len(exact) == 1  # "Limit Works" typed in full is that name, whatever starts with it
        rivals = _rivals_sharing_the_name(index, exact[0])
        return ranked + [(position, 95.0, "name words") for position in rivals[: limit - 1]], not rivals
    if all(map(is_ordinary, distinctive)):
        return [], False
    strong = [word for word in distinctive if _strong(word)]
    found = _whole_words(index, words, bool(strong), limit)
    if found is not None:
        return found
    if len(words) == 1 and len(words[0]) >= 3:
        starts = [p for p, tokens in enumerate(index.tokens) if tokens and tokens[0].startswith(words[0])]
        if starts:
            return [(position, 80.0, "start of name") for position in starts[:limit]], False
    if not strong:
        return [], False
    corrected = _one_slip_corrected(index, words)
    if corrected is not None:
        ranked, decisive = _match_key(index, corrected, limit)
        if ranked:
            return [(position, min(score, 90.0), "similar name") for position, score, _ in ranked], decisive
    return _similar(index, key, len(words), limit)


def _one_slip_corrected(index: NameIndex, words: list[str]) -> str | None:
    """The key with its one unknown distinctive word spelled as the only name word one slip away, or None."""
    unknown = [i for i, word in enumerate(words) if word not in index.by_token and not is_filler(word)]
    if len(unknown) != 1:
        return None
    meant = one_slip_name_word(index, words[unknown[0]])
    if meant is None:
        return None
    return " ".join([*words[: unknown[0]], meant, *words[unknown[0] + 1 :]])


def one_slip_name_word(index: NameIndex, word: str) -> str | None:
    """The one name word a distinctive word of six letters or more is one slip from ("glboex" → "globex"), when no
    other name word is within two; else None."""
    if word in index.by_token or len(word) < TYPO_MIN_LENGTH or not _strong(word):
        return None
    near = process.extract(word, list(index.by_token), scorer=distance.OSA.distance, score_cutoff=2, limit=None)
    return str(near[0][0]) if len(near) == 1 and near[0][1] == 1 else None


def _rivals_sharing_the_name(index: NameIndex, position: int) -> list[int]:
    """Other names that start with the whole of this one's key and are not its subsidiaries."""
    words = index.tokens[position]
    return [
        other
        for other in index.by_token.get(words[0], [])
        if other != position
        and index.tokens[other][: len(words)] == words
        and index.parents[other] != index.ids[position]
    ]


def _whole_words(index: NameIndex, words: list[str], has_strong: bool, limit: int) -> tuple[Ranked, bool] | None:
    n = len(words)
    leading: list[int] = []
    inside: list[int] = []
    for position in index.by_token.get(words[0], []):
        tokens = index.tokens[position]
        if tokens[:n] == tuple(words):
            leading.append(position)
        elif (has_strong or n > 1) and any(tokens[i : i + n] == tuple(words) for i in range(1, len(tokens) - n + 1)):
            inside.append(position)
    if leading:
        leading.sort(key=lambda p: len(index.keys[p]))
        ranked = [(position, 95.0, "name words") for position in leading[:limit]]
        # "dalton" leads "Dalton Group" and stands whole in "Schmidt & Dalton": both fit, so it is not decisive
        also = [] if n > 1 or not has_strong else _whole_word_inside(index, words[0], leading)
        ranked += [(position, 90.0, "words in name") for position in also[: max(0, limit - len(ranked))]]
        # "crystal" leads "Crystal Land" and starts "Crystalwood": staff shorten either that way, so both fit
        longer = [] if n > 1 else _longer_first_word(index, words[0])
        ranked += [(position, 80.0, "start of name") for position in longer[: max(0, limit - len(ranked))]]
        return ranked, len(ranked) == 1
    if inside:  # dictionary words only ("transit authority"): candidates to choose from, never decisive
        return [(position, 85.0, "words in name") for position in inside[:limit]], has_strong and len(inside) == 1
    if n > 1 and has_strong:
        # "starway distribution" for Starway Diagnostics Distribution LLC: every word whole, in order, with gaps
        spread = [p for p in index.by_token.get(words[0], []) if _in_order(words, index.tokens[p])]
        if spread:
            return [(position, 80.0, "words in name") for position in spread[:limit]], len(spread) == 1
    return None


def _in_order(words: list[str], tokens: tuple[str, ...]) -> bool:
    rest = iter(tokens)
    return all(word in rest for word in words)


def _longer_first_word(index: NameIndex, word: str) -> list[int]:
    return [p for p, tokens in enumerate(index.tokens) if tokens and tokens[0] != word and tokens[0].startswith(word)]


def _whole_word_inside(index: NameIndex, word: str, leading: list[int]) -> list[int]:
    return [
        position
        for position in index.by_token.get(word, [])
        if position not in leading and word in index.tokens[position][1:]
    ]


def _similar(index: NameIndex, key: str, n: int, limit: int) -> tuple[Ranked, bool]:
    strict: dict[int, float] = {}
    for choices in (index.prefixes(n), index.keys):
        for _, score, position in process.extract(
            key, choices, scorer=fuzz.ratio, limit=limit + 5, score_cutoff=CANDIDATE_MIN_SCORE
        ):
            strict[position] = max(score, strict.get(position, 0.0))
    scores = dict(strict)
    if n == 1:  # a single mistyped word may sit inside a longer name: suggestions only
        for _, score, position in process.extract(
            key, index.keys, scorer=fuzz.WRatio, limit=limit + 5, score_cutoff=CANDIDATE_MIN_SCORE
        ):
            scores[position] = max(score, scores.get(position, 0.0))
    if not scores:
        return [], False
    ordered = sorted(scores.items(), key=lambda item: -item[1])
    top = ordered[0][1]
    ranked = [
        (position, round(score, 1), "similar name") for position, score in ordered if score >= top - CANDIDATE_BAND
    ]
    best_strict = sorted(strict.values(), reverse=True)
    decisive = (
        bool(best_strict)
        and ordered[0][0] in strict
        and strict[ordered[0][0]] == best_strict[0]
        and best_strict[0] >= SIMILAR_RESOLVES_AT
        and best_strict[0] - (best_strict[1] if len(best_strict) > 1 else 0.0) >= SIMILAR_MIN_GAP
        and len(key.replace(" ", "")) >= SIMILAR_MIN_LENGTH
    )
    return ranked[:limit], decisive
