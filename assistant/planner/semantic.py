"""Semantic intent recognition: a logistic-regression head over the bundled MiniLM sentence embedding and the
message's words (tf-idf of words and word pairs), trained on the catalogue's labelled examples, with customer
names masked in both.

The examples (assistant/catalogue/examples.jsonl) are embedded once per machine and cached under the user's cache
directory, keyed by a fingerprint of the examples and the catalogue, so a changed example set is re-embedded and
nothing is ever downloaded; the head itself trains in about a second at start-up. The embedding carries meaning
across wordings ("how exposed are we on …" ~ "what do they owe"), the words carry the verbs embeddings blur
("recommend" vs "raise"). The head's probabilities say how sure the reading is, so the planner can answer, ask, or
say it can't; the closest example's similarity tells an off-topic or garbled message from a credit question.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.catalogue import Example, examples, examples_fingerprint
from core.logging import get_logger
from db.demo.portfolio import demo_leading_name_words, demo_name_words
from knowledge.embeddings import LOCAL_MODEL, encode_local, encode_query_local
from tools.customers import NameWord
from tools.reference_words import fold, is_common_word, is_filler, is_ordinary

from .entities import Spans
from .name_runs import name_candidates

log = get_logger(__name__)

WORD_PATTERN = r"(?u)\b\w+\b|[?#]"  # single letters and "?" count: "is X ok?" is a question, "X ok" is not
# Inverse regularisation of the head (chosen by 5-fold cross-validation on the training examples).
REGULARISATION_C = 10.0
# Customer names are masked with one stand-in name before classifying, in the examples and in messages alike: a name
# says nothing about what is asked, and names that are also words ("Umbrella", "Beacon") pull the reading around.
PLACEHOLDER = "Contoso"
_WORD = re.compile(r"[^\W\d_]+")
_POSSESSIVE = re.compile(r"['’]s?\b")
_NAME_TOKEN = re.compile(r"(?<![\w-])([^\W\d_]+)((?:['’]s)?)(?![\w-])")  # not a part of an id ("1080-NDGAE")
_NAME_JOINER = re.compile(r"[\s&.+-]*")  # "Schmidt & Dalton", "Bay Ridge": one name


def name_words_to_mask(text: str, name_words: Callable[[list[str]], dict[str, NameWord]]) -> set[str]:
    """The words (folded) of the runs that could name a customer (`name_candidates`) made only of customer-name
    words (`name_words` describes those of a list that are) and legal forms, one of them a rare name word that is
    more than a place or trade word; a lone ordinary English word only when a name starts with it: "umbrella's",
    "Newford Britain", "stark components" — not "singapore", "open", "health" or a prefix every name shares."""
    candidates = name_candidates(text, Spans(), frozenset())
    runs = [[fold(word) for word in _WORD.findall(_POSSESSIVE.sub("", c.text))] for c in candidates]
    runs = [run for run in runs if run]
    known = name_words([word for run in runs for word in run])
    masked: set[str] = set()
    for run in runs:
        if not all(w in known or is_filler(w) for w in run):
            continue
        if not any(known[w].rare and not is_ordinary(w) for w in run if w in known):
            continue
        if len(run) == 1 and is_common_word(run[0]) and not known[run[0]].leads:
            continue
        masked.update(run)
    return masked


def mask_names(text: str, words: frozenset[str] | set[str]) -> str:
    """`text` with each run of the given (folded) words replaced by the stand-in name."""
    if not words:
        return text
    parts: list[str] = []
    last = 0
    in_run = False
    for match in _NAME_TOKEN.finditer(text):
        gap = text[last : match.start()]
        if fold(match.group(1)) in words:
            if in_run and _NAME_JOINER.fullmatch(gap):
                parts[-1] = PLACEHOLDER + match.group(2)
            else:
                parts += [gap, PLACEHOLDER + match.group(2)]
            in_run = True
        else:
            parts += [gap, match.group(0)]
            in_run = False
        last = match.end()
    parts.append(text[last:])
    return "".join(parts)


def demo_name_word(word: str, leading: frozenset[str]) -> NameWord:
    """A demo name word as the book would describe it: rare unless a place, trade or ordinary English word (those
    are shared by many names), leading when a showcase name starts with it."""
    return NameWord(rare=word in leading or not is_common_word(word), leads=word in leading)


def masked_example(text: str, demo_words: frozenset[str], demo_leading: frozenset[str]) -> str:
    """A training example with the demo customers it names masked (the examples were written for the demo book)."""
    words = name_words_to_mask(
        text, lambda words: {w: demo_name_word(w, demo_leading) for w in words if w in demo_words}
    )
    return mask_names(text, words)


@dataclass(frozen=True)
class Reading:
    capability: str
    probability: float


@dataclass(frozen=True)
class Classified:
    readings: list[Reading]  # best first
    nearest_similarity: float  # cosine similarity of the closest training example


class SemanticIntents:
    def __init__(self, rows: tuple[Example, ...], vectors: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectors = vectors
        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=WORD_PATTERN)
        features = self._features(self.words.fit_transform([row.text for row in rows]), vectors)
        self.head = LogisticRegression(C=REGULARISATION_C, max_iter=2000)
        self.head.fit(features, [row.capability for row in rows])
        self.labels: list[str] = [str(label) for label in self.head.classes_]
        # The head's softmax, evaluated by hand: its weights split into the sparse word part and the dense vector
        # part, so a message costs one sparse and one dense product instead of stacking a feature matrix (~1 ms)
        words_count = len(self.words.vocabulary_)
        coef = self.head.coef_
        assert coef.shape[0] == len(self.labels), "multinomial head over three or more capabilities"
        self._word_weights = np.ascontiguousarray(coef[:, :words_count].T)
        self._vector_weights = np.ascontiguousarray(coef[:, words_count:])
        self._intercepts = self.head.intercept_
        # The vectoriser's transform, by hand for one text (sklearn's validation costs ~1.5 ms a message): the same
        # analyser and vocabulary, sublinear tf × idf, l2-normalised
        self._analyse = self.words.build_analyzer()
        self._vocabulary: dict[str, int] = self.words.vocabulary_
        self._idf = np.asarray(self.words.idf_)

    @staticmethod
    def _features(words: Any, vectors: np.ndarray) -> Any:
        from scipy.sparse import csr_matrix, hstack

        return hstack([words, csr_matrix(vectors)]).tocsr()

    def _word_logits(self, text: str) -> np.ndarray:
        counts = Counter(index for term in self._analyse(text) if (index := self._vocabulary.get(term)) is not None)
        if not counts:
            return np.zeros(len(self.labels))
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        weights = (np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1) * self._idf[columns]
        weights /= np.linalg.norm(weights)
        return np.asarray(weights @ self._word_weights[columns])

    def probabilities(self, text: str, vector: np.ndarray) -> np.ndarray:
        """The same probabilities as `self.head.predict_proba` on the stacked features."""
        logits = self._word_logits(text) + self._vector_weights @ vector + self._intercepts
        exp = np.exp(logits - logits.max())
        return np.asarray(exp / exp.sum())

    def classify_vector(self, text: str, vector: np.ndarray) -> Classified:
        probabilities = self.probabilities(text, vector)
        order = np.argsort(-probabilities)
        nearest = float((self.vectors @ vector).max())
        return Classified(
            readings=[Reading(self.labels[i], float(probabilities[i])) for i in order], nearest_similarity=nearest
        )

    def classify(self, text: str, names: frozenset[str] | set[str] = frozenset()) -> Classified:
        """`names`: the message's words that are customer-name words in the book asked about (masked)."""
        masked = mask_names(text, names)
        return self.classify_vector(masked, encode_query_local(masked))


_instance: SemanticIntents | None = None
_lock = threading.Lock()
_failed = False


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "creditdesk"


def _vectors(rows: tuple[Example, ...]) -> np.ndarray:
    # keyed by the texts as embedded (masked), so a change to the examples or to the masking embeds them again
    texts = hashlib.sha256("\n".join(row.text for row in rows).encode()).hexdigest()[:12]
    path = cache_dir() / f"intent-examples-{LOCAL_MODEL}-{examples_fingerprint()}-{texts}.npy"
    if path.exists():
        cached = np.load(path)
        if cached.shape[0] == len(rows):
            return cached
    started = time.perf_counter()
    vectors = encode_local([row.text for row in rows], batch_size=64)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, vectors)
        partial.replace(path)
    except OSError as error:  # a read-only home still works, it only embeds again next start
        log.warning("understanding.cache_not_written", error=type(error).__name__)
    log.info("understanding.examples_embedded", examples=len(rows), seconds=round(time.perf_counter() - started, 1))
    return vectors


def semantic_intents() -> SemanticIntents | None:
    """The classifier, built on first call (the service's warm-up makes that call in the background at start-up).
    None when the bundled model cannot be loaded: the planner then relies on its rules alone."""
    global _instance, _failed
    if _instance is not None or _failed:
        return _instance
    with _lock:
        if _instance is None and not _failed:
            try:
                words, leading = demo_name_words(), demo_leading_name_words()
                rows = tuple(Example(r.capability, masked_example(r.text, words, leading)) for r in examples())
                _instance = SemanticIntents(rows, _vectors(rows))
            except Exception as error:  # any failure here degrades to rules; it never breaks a turn
                _failed = True
                log.error("understanding.semantic_unavailable", error=type(error).__name__)
    return _instance
