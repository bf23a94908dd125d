"""The runs of words in a message that may name a customer (what no entity or request word explains), and request
words typed wrong, which name no one. The customer index (`tools.customers`) decides what a run names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from rapidfuzz import distance, process

from assistant.catalogue import examples
from tools.reference_words import DOMAIN_WORDS, is_common_word, is_filler, is_ordinary

from .entities import Spans

# --- the words that may name a customer ------------------------------------------------------------------------------

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
    ours out over own same she should so some such than that the their theirs them then there these they this those
    through to too under until up very was we were what when where which while who whom why will with would you your
    yours yourself what's whats who's how's it's i'm im i'd i'll let's lets pls please plz thanks thank thx hi hello
    hey wait oops hmm ok okay yes yeah yep sure go ahead also again quickly quick asap currently current right now
    today tomorrow yesterday tell show give get gimme gime list find look lookup check see know need want wanna like
    think pull bring fetch run do make create open view display explain summarise summarize summary brief briefing
    update updates info information details detail overview status state standing position situation much many
    number amount total exposure exposures expsoure exposre balance balances bal owe owes owed owing outstanding o/s
    receivable receivables ar a/r aging ageing aged overdue due past late open items invoices invoice items credit
    limit limits utilisation utilization available headroom room dso cei add kpi kpis customer customers client
    clients account accounts acct cust company's ship shipping shipment ship? deliver delivery release released
    releasing order orders new accept take book fulfil fulfill ok? safe allowed can't cannot score scores scoring
    scorecard risk risky rating rated class classes grade why recommend recommended recommendation suggest suggested
    suggestion propose proposed proposal increase raise bump lift reduce decrease lower cut set change adjust limit?
    review worklist work list queue todo to-do next call calls chase chasing contact priority priorities prioritise
    prioritize top team teams region regions segment segments collector collectors my mine dunning dun reminder
    reminders remind letter letters email e-mail mail draft write prepare compose send sent friendly firm final
    notice level tone gentle polite stern dispute disputes disputed claim claims complaint complaints portfolio
    whole entire book trend trends chart charts graph plot concentration largest biggest top debtors promise
    promised promises promising pay paid paying payment payments ptp commit committed agreed going will hold holds
    on-hold block blocked stop unblock unhold lift assign assigned reassign move transfer hand note notes log record
    add comment policy policies rule rules handbook procedure approve approves approval approvals approver reject
    decline who when happens allowed help commands menu thing things stuff guy guys one ones first second third last
    previous same this that those these them they their it its him her he she customer's their's excluding exclude
    excl without except undisputed broken kept incl per grouped group-by quarter month week day days year q1 q2 q3
    q4 end start since as-of asof as date period between past due dpd usd eur gbp cad aud mxn sgd k m bn thousand
    million dollars euros pounds bucks level including inclusive another already really gonna wanna combined
    together overall altogether avg average typically typical usually normally generally settle settles settling
    good morning cheers sec cfo ceo coo cfo's ceo's fd vp md hr board deck slides remittance dont don't wont won't
    cant didnt didn't doesnt doesn't isnt isn't arent aren't wasnt wasn't surprises surprise lvl again. reason
    because due. regarding re: about? exposure? balance? status? score? disputes? worklist? currently? again?
    morning afternoon evening everyone everybody anyone someone every everything anyway else wants wanted more worth
    pending mean means meaning o s says said told tells us vs versus hw hou sales chaser chasers bucket buckets put
    probability likelihood chance most least highest lowest doing doing? fine whos who's whats hows history
    histories historical hook across behaviour behavior behaviours behaviors habits
    po pos po's purchase purchases confirm confirmed confirming sorry wrong meant forget forgot ignore nevermind
    fast faster fastest slow slower slowest
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# Never part of a name: the request words above and the trade vocabulary shared with the resolver ("report",
# "statement", "EOM", "sitting", "older"). Place names are not here: "Acme Europe" is a name; see `ordinary`.
NOT_NAME_WORDS = STOPWORDS | DOMAIN_WORDS
BRIDGES = frozenset({"&", "and", "of", "de", "du", "von", "van", "der", "la", "le", "y", "the", "+"})
TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9&.'\-]*|&|\+")


@dataclass(frozen=True)
class NameCandidate:
    text: str
    name_like: bool  # capitalised, or carries a digit: probably meant as a name or id
    # only ordinary words (places, legal forms): a customer's name only if it is that customer's whole name
    ordinary: bool = False


def _candidate(words: str) -> NameCandidate:
    parts = words.split()
    name_like = any(word[:1].isupper() or any(ch.isdigit() for ch in word) for word in parts)
    cleaned = [_clean_token(word.lower()) for word in parts]
    ordinary = all(map(is_ordinary, cleaned)) and not all(map(is_filler, cleaned))  # "LLC" alone: a bad name
    return NameCandidate(words, name_like, ordinary)


def _clean_token(token: str) -> str:
    token = token.strip(".'-")
    return re.sub(r"'s$|(?<=s)'$", "", token, flags=re.IGNORECASE) if len(token) > 3 else token


def _verb_form_of_stopword(token: str) -> bool:
    """ "raising", "increasing", "setting", "lowered", "lookin": inflections of request verbs are not names."""
    dropped_g = token.endswith(("in", "in'")) and len(token) > 5
    if dropped_g:
        token = token.rstrip("'") + "g"
    for suffix in ("ing", "ed"):
        if len(token) > len(suffix) + 2 and token.endswith(suffix):
            stem = token[: -len(suffix)]
            if (
                stem in STOPWORDS
                or stem + "e" in STOPWORDS
                # "settin'" is "setting"; "Perrin" is no "perring" of "per"
                or (not dropped_g and len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in STOPWORDS)
            ):
                return True
    return False


def name_candidates(text: str, spans: Spans, extra_stop: frozenset[str] = frozenset()) -> list[NameCandidate]:
    """Runs of words that no entity or keyword explains, best first. Punctuation and masked spans end a run."""
    masked = spans.masked(text)
    runs: list[list[str]] = []
    current: list[str] = []
    last_end = 0
    for match in TOKEN_RE.finditer(masked):
        gap = masked[last_end : match.start()]
        if current and re.search(r"[|,;:?!()\"]", gap):
            runs.append(current)
            current = []
        last_end = match.end()
        raw = match.group(0)
        token = raw.rstrip(".")  # sentence end, but keep "B.V." style inner dots
        sentence_end = raw.endswith(".") and raw.count(".") == 1
        lower = token.lower()
        cleaned = _clean_token(lower)
        if lower in BRIDGES and not sentence_end:
            current.append(token)
            continue
        if (
            lower in NOT_NAME_WORDS
            or cleaned in NOT_NAME_WORDS
            or (len(cleaned) > 3 and cleaned.endswith("s") and cleaned[:-1] in NOT_NAME_WORDS)  # "ptps"
            or lower in extra_stop
            or cleaned in extra_stop
            or _verb_form_of_stopword(cleaned)
        ):
            if current:
                runs.append(current)
                current = []
            continue
        if sentence_end and current:
            runs.append([*current, token])
            current = []
            continue
        current.append(token)
    if current:
        runs.append(current)
    out: list[NameCandidate] = []
    for run in runs:
        while run and run[0].lower() in BRIDGES:
            run = run[1:]
        while run and run[-1].lower() in BRIDGES:
            run = run[:-1]
        if not run:
            continue
        if all(re.fullmatch(r"[\d.,]+", word) for word in run):
            continue  # "over 90 days", "3000": numbers are ids only with a prefix (customer 12, C000012)
        if len(run) == 1 and len(_clean_token(run[0].lower())) <= 1:
            continue  # "dropped into E", "plan B": a lone letter is a class or a label; one-letter names go by id
        words = " ".join(run)
        out.append(_candidate(words))
        # "acme and globex": the parts too
        parts = [p.strip() for p in re.split(r"\s+(?:and|&|\+)\s+", words) if p.strip()]
        if len(parts) > 1:
            out.extend(_candidate(p) for p in parts)
        # "6833-ETVHD's lateness": a possessive ends the name it follows, unless the whole run is the name
        owner = re.match(r"^(.+?['’]s)\s+\S", words)
        if owner and owner.group(1) not in parts:
            out.append(_candidate(owner.group(1)))
    return sorted(out, key=lambda c: (c.ordinary, not c.name_like, -len(c.text.split())))


def widened_runs(text: str, spans: Spans, run: str, reach: int = 2) -> list[str]:
    """`run` grown over up to `reach` words either side that ended it ("New Worth Systems" when "new" and "worth"
    are request words), never across punctuation or an entity; the longest first. The caller keeps a widened run
    only when all its words are the customer's."""
    masked = spans.masked(text)
    tokens = list(TOKEN_RE.finditer(masked))
    wanted = [word.lower().rstrip(".") for word in run.split()]
    lowered = [token.group(0).lower().rstrip(".") for token in tokens]
    width = len(wanted)
    starts = [i for i in range(len(tokens) - width + 1) if lowered[i : i + width] == wanted]
    if not starts:
        return []
    first = starts[0]

    def joined(a: int, b: int) -> bool:
        return re.search(r"[|,;:?!()\"]", masked[tokens[a].end() : tokens[b].start()]) is None

    left = first
    while left > 0 and first - left < reach and joined(left - 1, left):
        left -= 1
    right = first + width - 1
    while right < len(tokens) - 1 and right - (first + width - 1) < reach and joined(right, right + 1):
        right += 1
    grown = [
        " ".join(token.group(0) for token in tokens[a : b + 1])
        for a in range(left, first + 1)
        for b in range(first + width - 1, right + 1)
        if (a, b) != (first, first + width - 1)
    ]
    return sorted(grown, key=lambda words: -len(words.split()))


# --- request words mistyped ("outstandng", "remidner"): not names --------------------------------------------------

# Calendar words and a few request words that may also sit in a name ("Sample", "Count") are corrected too, yet
# never kept out of names.
_CALENDAR_WORDS = frozenset(
    {"january", "february", "march", "april", "august", "september", "october", "november", "december"}
    | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)
_ALSO_CORRECTED = frozenset(["terms", "compare", "count", "sample", "firmer", "friendlier", "looking", "price"])
_LONG_REQUEST_WORDS = tuple(
    sorted({word for word in NOT_NAME_WORDS if len(word) >= 5 and word.isalpha()} | _CALENDAR_WORDS | _ALSO_CORRECTED)
)


_KNOWN_TYPOS = frozenset({"exposre", "expsoure"})


@cache
def _correction_words() -> tuple[str, ...]:
    """The request words, and every dictionary word of five letters or more the training examples use ("still",
    "clear", "quarterly"): what a mistyped word may stand for. Typos kept as request words ("exposre") are no target."""
    used = {word for example in examples() for word in re.findall(r"[a-z]{5,}", example.text.lower())}
    return tuple(sorted(set(_LONG_REQUEST_WORDS) - _KNOWN_TYPOS | {word for word in used if is_common_word(word)}))


@cache
def _correction_set() -> frozenset[str]:
    return frozenset(_correction_words())


_LONG_WORD_RE = re.compile(r"[A-Za-z]{5,}")


@cache
def request_word_for(word: str) -> str | None:
    """The request word a mistyped one stands for ("outstandng" → "outstanding"), or None."""
    if word in NOT_NAME_WORDS or word in _correction_set() or is_common_word(word) or is_ordinary(word):
        return None  # "america" is a place, not "americas"
    allowed = 1 if len(word) < 9 else 2  # edits, a swap of two letters counting one
    # a typo keeps the first letter, or swaps the first two ("larry" is no "carry"; "tsill" is "still")
    same_start = [w for w in _correction_words() if w[0] == word[0] or w[:2] == word[1::-1]]
    found = process.extractOne(word, same_start, scorer=distance.OSA.distance, score_cutoff=allowed)
    return None if found is None or found[0] == word else str(found[0])


def mistyped_request_words(text: str, spans: Spans) -> list[tuple[str, int, int]]:
    """Words one or two keystrokes from a request word ("overdeu", "disptues") and free in `spans`: (word, start,
    end). The caller masks those that are no customer's name word ("stark" stays a name, not "start")."""
    return [
        (m.group(0).lower(), m.start(), m.end())
        for m in _LONG_WORD_RE.finditer(text)
        if not spans.covers(m.start(), m.end()) and request_word_for(m.group(0).lower()) is not None
    ]


def distinctive_word(word: str) -> bool:
    """A word that can only be a name: four letters or more, in no dictionary, not a trade or place word."""
    word = _clean_token(word.lower())
    if word in NOT_NAME_WORDS or word.removesuffix("s") in NOT_NAME_WORDS:
        return False
    return len(word) >= 4 and word.isalpha() and not is_common_word(word) and not is_ordinary(word)


# A name the message itself sets aside: "Stark's fine, I checked yesterday. But Wayne — …", "forget acme, what about
# initech?", "… for hooli? sorry, I mean for soylent" (what is named after the correction counts)
_SET_ASIDE_AFTER_RE = re.compile(
    r"^(?:'s|’s|\s+is|\s+are)\s+(?:fine|sorted|all\s+good|paid\s+up|not\s+the\s+(?:issue|problem))\b", re.I
)
_SET_ASIDE_BEFORE_RE = re.compile(r"\b(?:forget(?:\s+about)?|ignore|never\s*mind|not|except)\s+(?:the\s+)?$", re.I)
_SELF_CORRECTION_RE = re.compile(
    r"\bi\s+mean(?:t)?\b(?!\s*[,.;:!?]|\s*$)|\bno\s+wait\b|\bscratch\s+that\b|\bcorrection\b|\bnot\s+\w+[,;]\s+(?=\w)",
    re.I,
)


def not_set_aside(text: str, candidates: list[NameCandidate]) -> list[NameCandidate]:
    """The candidates the message does not set aside, when it names several: a name followed by "is fine" or after
    "forget", or named before a correction ("sorry, I mean …") that names another after it."""
    if len(candidates) < 2:
        return candidates
    lowered = text.lower()
    placed = [(lowered.find(c.text.lower()), c) for c in candidates]
    corrections = [m.end() for m in _SELF_CORRECTION_RE.finditer(text)]
    cut = max((at for at in corrections if any(start >= at for start, _ in placed)), default=-1)
    kept = [
        candidate
        for start, candidate in placed
        if start < 0
        or not (
            start < cut
            or _SET_ASIDE_AFTER_RE.match(_after(text, start, candidate.text))
            or _SET_ASIDE_BEFORE_RE.search(text[:start])
        )
    ]
    return kept or candidates


def _after(text: str, start: int, name: str) -> str:
    """What follows a name, its possessive kept ("Stark's fine": "'s fine")."""
    rest = text[start + len(name) :]
    return ("'s" + rest) if name.lower().endswith(("'s", "’s")) else rest
