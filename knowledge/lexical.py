"""The lexical side of retrieval and the in-memory view of a store.

`tokenize` lowercases, normalises numbers ("25,000" and "25k" → "25000"), drops stopwords and strips common English
suffixes (a light stemmer: plurals, -ing, -ed, -ment, -ion, -al, -ly), the same way for chunks and queries.

`CorpusIndex` is built from every chunk in a store: BM25 (bm25s) over "document label › section path + text", the
chunk metadata as arrays for filtering, the document catalogue, and the terms that name one document (see
`named_documents`). It is built once per store state and cached: the store's content fingerprint is checked on every
query (one cheap metadata read) and the index is rebuilt only when it changed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.logging import get_logger
from knowledge.chunking import PATH_SEPARATOR, indexed_text

if TYPE_CHECKING:
    from knowledge.store import PolicyStore

log = get_logger(__name__)

_STOPWORDS = """
    a about above after again all also am an and any are as at be been before being below between both but by
    can could did do does doing done during each either else ever few for from further had has have having he
    her here hers him his how i if in into is it its itself just let may me might more most must my myself no
    nor not now of off on once only or other ought our ours ourselves out over own per same shall she should so
    some such than that the their theirs them then there these they this those through thus to too under until
    up upon us very via was we were what when where whether which while who whom whose why will with within
    would yet you your yours s t
"""
STOPWORDS = frozenset(_STOPWORDS.split())
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SCALED = re.compile(r"(\d+(?:\.\d+)?)([km])")
_SUFFIXES = (
    "ements",
    "ement",
    "ments",
    "ment",
    "ations",
    "ation",
    "ingly",
    "ings",
    "ing",
    "edly",
    "ions",
    "ion",
    "ies",
    "ied",
    "ed",
    "s",
    "al",
    "ly",
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def stem(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    base = word
    for suffix in _SUFFIXES:
        if not word.endswith(suffix):
            continue
        minimum = 4 if suffix == "al" else 3
        if len(word) - len(suffix) < minimum:
            continue
        if suffix == "s" and word.endswith(("ss", "us", "is")):
            continue
        base = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
        break
    if base.endswith("e") and len(base) >= 5:
        base = base[:-1]
    if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "aeiouslz":
        base = base[:-1]
    return base


# Words that describe documents rather than name one: never used to recognise a document named in a question.
_GENERIC_DOCUMENT_WORDS = """
    act annex appendix article bylaw chapter code document edition extract guide guidance handbook law manual
    page part policy public regulation rule schedule section snapshot subtitle title version january february
    march april may june july august september october november december
"""
GENERIC_DOCUMENT_WORDS = frozenset(stem(word) for word in _GENERIC_DOCUMENT_WORDS.split())


def _number(token: str) -> str:
    if _THOUSANDS.fullmatch(token):
        token = token.replace(",", "")
    scaled = _SCALED.fullmatch(token)
    if scaled:
        value = float(scaled.group(1)) * (1000 if scaled.group(2) == "k" else 1_000_000)
        return str(int(value)) if value.is_integer() else str(value)
    return token.replace(",", "")


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        if raw[0].isdigit():
            tokens.append(_number(raw))
        elif raw not in STOPWORDS and len(raw) > 1:
            tokens.append(stem(raw))
    return tokens


@dataclass
class DocumentInfo:
    doc_id: str
    title: str
    label: str
    versions: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    chunks: int = 0


@dataclass
class CorpusIndex:
    fingerprint: str
    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    doc_ids: np.ndarray
    versions: np.ndarray
    internal: np.ndarray
    documents: dict[str, DocumentInfo]
    name_terms: dict[str, set[str]]
    bm25: Any
    build_seconds: float
    position: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, doc_ids: set[str] | None, version: str | None) -> np.ndarray | None:
        if not doc_ids and version is None:
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        if doc_ids:
            mask &= np.isin(self.doc_ids, sorted(doc_ids))
        if version is not None:
            mask &= self.versions == version
        return mask

    def lexical(self, tokens: list[str], limit: int, mask: np.ndarray | None = None) -> list[int]:
        """Positions of the best BM25 matches (score > 0), best first."""
        if self.bm25 is None or not tokens or limit <= 0:
            return []
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        hits = int(np.count_nonzero(scores > 0))
        if not hits:
            return []
        limit = min(limit, hits)
        top = np.argpartition(-scores, limit - 1)[:limit]
        return [int(i) for i in sorted(top, key=lambda i: (-scores[i], i))]

    def named_documents(self, tokens: list[str]) -> set[str]:
        """Documents the question names: its words include a term that, in this corpus, only names that one document
        (a municipality, a company, an agency), e.g. 'Kannaland' or 'Cape Town' for the two near-identical by-laws."""
        named: set[str] = set()
        for token in tokens:
            named |= self.name_terms.get(token, set())
        return named


def _name_terms(
    documents: dict[str, DocumentInfo], tokens_by_doc: dict[str, set[str]], texts_by_doc: dict[str, list[str]]
) -> dict[str, set[str]]:
    """Terms that name exactly one document: in its title, label or id and in no other document's; present in its
    own text, mostly capitalised there (a proper name), and in no other document's text."""
    candidates: dict[str, set[str]] = defaultdict(set)
    for doc_id, info in documents.items():
        for token in tokenize(f"{info.label} {doc_id.replace('-', ' ')}"):
            if token.isalpha() and len(token) >= 3 and token not in GENERIC_DOCUMENT_WORDS:
                candidates[token].add(doc_id)
    terms: dict[str, set[str]] = {}
    for token, owners in candidates.items():
        if len(owners) != 1:
            continue
        (owner,) = owners
        if token not in tokens_by_doc.get(owner, set()):
            continue
        if any(token in other for doc_id, other in tokens_by_doc.items() if doc_id != owner):
            continue
        capitalised = total = 0
        for text in texts_by_doc.get(owner, []):
            for word in _WORD.findall(text):
                if stem(word.lower()) == token:
                    total += 1
                    capitalised += word[0].isupper()
        if total and capitalised * 2 >= total:
            terms[token] = {owner}
    return terms


def build_index(store: PolicyStore, fingerprint: str) -> CorpusIndex:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG on import

    started = time.perf_counter()
    ids: list[str] = []
    texts: list[str] = []
    metadatas: list[dict[str, Any]] = []
    corpus_tokens: list[list[str]] = []
    documents: dict[str, DocumentInfo] = {}
    tokens_by_doc: dict[str, set[str]] = defaultdict(set)
    texts_by_doc: dict[str, list[str]] = defaultdict(list)
    for chunk in store.all_chunks():
        meta = chunk.metadata
        doc_id = str(meta.get("doc_id", ""))
        label = str(meta.get("label") or meta.get("title") or "")
        tokens = tokenize(indexed_text(label, str(meta.get("section_path", "")), chunk.text))
        ids.append(chunk.id)
        texts.append(chunk.text)
        metadatas.append(meta)
        corpus_tokens.append(tokens or [""])
        info = documents.get(doc_id)
        if info is None:
            info = documents[doc_id] = DocumentInfo(doc_id, str(meta.get("title", "")), label)
        info.versions.add(str(meta.get("version", "")))
        info.sources.add(str(meta.get("source", "")))
        info.chunks += 1
        tokens_by_doc[doc_id].update(tokens)
        texts_by_doc[doc_id].append(chunk.text)
    bm25 = None
    if ids:
        bm25 = bm25s.BM25()
        bm25.index(corpus_tokens, show_progress=False)
    index = CorpusIndex(
        fingerprint=fingerprint,
        ids=ids,
        texts=texts,
        metadatas=metadatas,
        doc_ids=np.array([str(m.get("doc_id", "")) for m in metadatas], dtype=object),
        versions=np.array([str(m.get("version", "")) for m in metadatas], dtype=object),
        internal=np.array([bool(m.get("internal", False)) for m in metadatas], dtype=bool),
        documents=documents,
        name_terms=_name_terms(documents, tokens_by_doc, texts_by_doc),
        bm25=bm25,
        build_seconds=time.perf_counter() - started,
    )
    log.info(
        "policy.index_built",
        chunks=len(ids),
        documents=len(documents),
        name_terms=len(index.name_terms),
        seconds=round(index.build_seconds, 3),
    )
    return index


_indexes: dict[str, CorpusIndex] = {}
_indexes_lock = threading.Lock()


def corpus_index(store: PolicyStore) -> CorpusIndex:
    """The store's index, rebuilt only when the store's content fingerprint changed since it was built."""
    fingerprint = store.fingerprint()
    cached = _indexes.get(store.key)
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    with _indexes_lock:
        cached = _indexes.get(store.key)
        if cached is not None and cached.fingerprint == fingerprint:
            return cached
        index = build_index(store, fingerprint)
        _indexes[store.key] = index
        return index


def forget_index(store: PolicyStore | None = None) -> None:
    with _indexes_lock:
        if store is None:
            _indexes.clear()
        else:
            _indexes.pop(store.key, None)


def section_of(metadata: dict[str, Any]) -> str:
    path = str(metadata.get("section_path", ""))
    return path.split(PATH_SEPARATOR)[-1] if path else ""
