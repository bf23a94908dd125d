"""Hybrid retrieval: BM25 and vector search fused by reciprocal rank fusion, with citations.

    score(chunk) = Σ over the two rankings of 1 / (RRF_K + rank)

Filters (document, version) apply to both sides. When the question names one document (a term that in this corpus
only names that document — "Kannaland", "Cape Town", "GitLab"), both sides are restricted to the named documents;
with an explicit document filter the filter wins. A question about our own practice ("can we…", "our…") multiplies
the fused score of passages from internal documents (front matter `internal: true`: our handbook) by
`INTERNAL_BOOST`, so our policy outranks reference documents that discuss the same topic (e.g. UK late-payment law).

Passages are quoted document text with their citation (document, section path, page, version): data for the
reader, never instructions. Nothing about the question or the passages is logged, only counts and timings.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import CreditDeskError, ErrorCode, invalid_input
from core.logging import get_logger
from knowledge.lexical import CorpusIndex, corpus_index, section_of, tokenize
from knowledge.store import PolicyStore, get_store

log = get_logger(__name__)

SearchMode = Literal["hybrid", "lexical", "vector"]
RRF_K = 60
CANDIDATES = 50
MAX_K = 20
MAX_QUERY_CHARS = 1000
INTERNAL_BOOST = 1.3
_FIRST_PERSON = re.compile(r"\b(?:[Ww][Ee]|[Oo][Uu][Rr][Ss]?|us)\b")


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    text: str
    doc_id: str
    document: str
    section_path: str
    section: str
    page: int | None
    page_end: int | None
    version: str
    effective_date: str
    source: str
    score: float
    lexical_rank: int | None
    vector_rank: int | None

    @property
    def citation(self) -> str:
        parts = [self.document]
        parts.append(f"§ {self.section_path}" if self.section_path else "opening text")
        if self.page:
            pages = (
                f"p. {self.page}"
                if not self.page_end or self.page_end == self.page
                else f"pp. {self.page}–{self.page_end}"
            )
            parts.append(pages)
        if self.version:
            parts.append(f"version {self.version}")
        return ", ".join(parts)


@dataclass
class SearchResult:
    passages: list[Passage]
    mode: SearchMode
    chunks_searched: int
    named_documents: list[str] = field(default_factory=list)
    document_filter: list[str] = field(default_factory=list)
    version_filter: str | None = None
    milliseconds: float = 0.0


def resolve_documents(index: CorpusIndex, reference: str) -> set[str]:
    """Document ids matching a reference: an id, a title, a file name, or a unique part of one of those."""
    wanted = " ".join(reference.split()).casefold()
    exact = {
        doc_id
        for doc_id, info in index.documents.items()
        if wanted in {doc_id.casefold(), info.title.casefold()}
        or any(wanted in {s.casefold(), s.rsplit(".", 1)[0].casefold()} for s in info.sources)
    }
    if exact:
        return exact
    partial = {
        doc_id
        for doc_id, info in index.documents.items()
        if wanted in doc_id.casefold()
        or wanted in info.label.casefold()
        or any(wanted in s.casefold() for s in info.sources)
    }
    if partial:
        return partial
    titles = sorted(f"{info.title} ({doc_id})" for doc_id, info in index.documents.items())
    raise invalid_input(f"no policy document matches {reference!r}", documents=titles)


def _passage(index: CorpusIndex, position: int, score: float, lexical: int | None, vector: int | None) -> Passage:
    meta = index.metadatas[position]
    page = int(meta.get("page") or 0) or None
    page_end = int(meta.get("page_end") or 0) or None
    return Passage(
        chunk_id=index.ids[position],
        text=index.texts[position],
        doc_id=str(meta.get("doc_id", "")),
        document=str(meta.get("title", "")),
        section_path=str(meta.get("section_path", "")),
        section=section_of(meta),
        page=page,
        page_end=page_end,
        version=str(meta.get("version", "")),
        effective_date=str(meta.get("effective_date", "")),
        source=str(meta.get("source", "")),
        score=round(score, 6),
        lexical_rank=lexical,
        vector_rank=vector,
    )


def _where(doc_ids: set[str] | None, version: str | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if doc_ids:
        clauses.append({"doc_id": {"$in": sorted(doc_ids)}})
    if version is not None:
        clauses.append({"version": version})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _rank(
    store: PolicyStore,
    index: CorpusIndex,
    query: str,
    tokens: list[str],
    mode: SearchMode,
    k: int,
    doc_ids: set[str] | None,
    version: str | None,
) -> list[Passage]:
    candidates = max(CANDIDATES, 4 * k)
    mask = index.mask(doc_ids, version)
    lexical: list[int] = []
    vector: list[int] = []
    if mode in ("hybrid", "lexical"):
        lexical = index.lexical(tokens, candidates, mask)
    if mode in ("hybrid", "vector"):
        allowed = len(index) if mask is None else int(mask.sum())
        ids = store.query(store.embedder.embed_query(query), min(candidates, allowed), _where(doc_ids, version))
        vector = [index.position[i] for i in ids if i in index.position]
    lexical_rank = {position: rank for rank, position in enumerate(lexical, start=1)}
    vector_rank = {position: rank for rank, position in enumerate(vector, start=1)}
    scores: dict[int, float] = {}
    for ranking in (lexical_rank, vector_rank):
        for position, rank in ranking.items():
            scores[position] = scores.get(position, 0.0) + 1.0 / (RRF_K + rank)
    if _FIRST_PERSON.search(query):
        # "Can we charge interest…?" asks about our own practice: our policy outranks reference documents.
        for position in scores:
            if index.internal[position]:
                scores[position] *= INTERNAL_BOOST
    ordered = sorted(scores, key=lambda p: (-scores[p], p))[:k]
    return [_passage(index, p, scores[p], lexical_rank.get(p), vector_rank.get(p)) for p in ordered]


def search_policy(
    query: str,
    *,
    k: int = 5,
    document: str | None = None,
    version: str | None = None,
    mode: SearchMode = "hybrid",
    store: PolicyStore | None = None,
) -> SearchResult:
    """The `k` best passages for a question, each with its citation."""
    started = time.perf_counter()
    query = " ".join((query or "").split())
    if not query:
        raise invalid_input("the question is empty: ask something about the credit policy")
    if len(query) > MAX_QUERY_CHARS:
        raise invalid_input(f"the question is too long (at most {MAX_QUERY_CHARS} characters)")
    if not 1 <= k <= MAX_K:
        raise invalid_input(f"k must be between 1 and {MAX_K}")
    store = store or get_store()
    index = corpus_index(store)
    if not len(index):
        raise CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            "the policy knowledge base is empty: run `creditdesk ingest` (our handbook and CREDITDESK_POLICY_DOCS) "
            "or `creditdesk ingest PATH`",
        )
    version = " ".join(version.split()) if version else None
    if version is not None and not any(version in info.versions for info in index.documents.values()):
        known = sorted({v for info in index.documents.values() for v in info.versions if v})
        raise invalid_input(f"no policy document has version {version!r}", versions=known)
    tokens = tokenize(query)
    doc_filter = resolve_documents(index, document) if document else None
    named = set() if doc_filter else index.named_documents(tokens)
    scope = doc_filter or named or None
    passages = _rank(store, index, query, tokens, mode, k, scope, version)
    if named and len(passages) < k:
        seen = {p.chunk_id for p in passages}
        extra = _rank(store, index, query, tokens, mode, k, None, version)
        passages += [p for p in extra if p.chunk_id not in seen][: k - len(passages)]
    elapsed = (time.perf_counter() - started) * 1000
    log.info(
        "policy.searched",
        mode=mode,
        k=k,
        results=len(passages),
        filtered=bool(doc_filter or version),
        named_documents=len(named),
        chunks=len(index),
        ms=round(elapsed, 1),
    )
    return SearchResult(
        passages=passages,
        mode=mode,
        chunks_searched=len(index),
        named_documents=sorted(named),
        document_filter=sorted(doc_filter or []),
        version_filter=version,
        milliseconds=elapsed,
    )
