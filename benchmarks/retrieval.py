"""Policy knowledge base at scale: ingestion throughput (chunks/s on CPU) and search latency p50/p95 over 10k+ chunks.

Corpus: our handbook and the six real documents, replicated as "editions" until the target number of chunks is
reached. Every edition is a copy of every file under its own name, ingested under its own version tag
(`bench-007`), with a synthetic sentence (seeded, drawn from the corpus vocabulary) appended to each sentence-ending
line, so no two editions share chunk text: every chunk is really parsed, chunked, embedded and upserted.

Ingestion is timed end to end (read, chunk, embed, upsert, fingerprint) after the model is loaded; the embedding
share is reported too. Latency: after one warm-up search (which builds the BM25 index, reported separately), every
labelled eval question and a paraphrase of it are searched one at a time, in each mode; wall clock per call.

    creditdesk bench-retrieval [--chunks 10000] [--queries 200] [--store-dir DIR]
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.settings import PACKAGE_ROOT
from evals.retrieval.runner import load_questions
from knowledge.chunking import chunk_document
from knowledge.embeddings import LocalEmbedder, encode_local, local_model
from knowledge.ingest import HANDBOOK_DIR, ingest_paths
from knowledge.lexical import corpus_index, forget_index
from knowledge.loaders import iter_supported_files, load_document
from knowledge.search import SearchMode, search_policy
from knowledge.store import PolicyStore

Progress = Callable[[str, int, int], None]
EXTERNAL_DIR = PACKAGE_ROOT / "tests" / "data" / "external" / "policies"
TARGET_P95_MS = 30.0
COLLECTION = "retrieval_bench"
PARAPHRASE_PREFIXES = ("quick question: ", "per our rules, ", "remind me ", "policy check: ")


@dataclass
class Latency:
    name: str
    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    target_ms: float | None = None

    @property
    def meets_target(self) -> bool | None:
        return None if self.target_ms is None else self.p95_ms <= self.target_ms


@dataclass
class RetrievalBenchReport:
    chunks: int
    documents: int
    editions: int
    ingest_seconds: float
    embed_seconds: float
    chunks_ingested: int
    model_load_seconds: float
    index_build_seconds: float
    first_query_ms: float
    cpu_count: int
    torch_threads: int
    load_average: list[float]
    latencies: list[Latency] = field(default_factory=list)

    @property
    def ingest_chunks_per_second(self) -> float:
        return self.chunks_ingested / self.ingest_seconds if self.ingest_seconds else 0.0

    @property
    def embed_chunks_per_second(self) -> float:
        return self.chunks_ingested / self.embed_seconds if self.embed_seconds else 0.0


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _vocabulary(files: list[Path]) -> list[str]:
    words: set[str] = set()
    for path in files:
        if path.suffix in (".md", ".txt"):
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{4,12}", path.read_text(encoding="utf-8")))
    return sorted(words)


def _write_edition(sources: list[Path], target: Path, number: int, vocabulary: list[str]) -> None:
    rng = random.Random(number)
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        lines = []
        for line in source.read_text(encoding="utf-8").split("\n"):
            if line.rstrip().endswith(".") and not line.lstrip().startswith(("#", "|", "<!--")):
                words = " ".join(rng.choice(vocabulary) for _ in range(8))
                line = f"{line.rstrip()} Edition {number} note: {words}."
            lines.append(line)
        text = "\n".join(lines).replace(
            "document_id: creditdesk-credit-policy", f"document_id: credit-policy-ed{number}"
        )
        (target / f"{source.stem}-ed{number}{source.suffix}").write_text(text, encoding="utf-8")


def _chunks_per_edition(sources: list[Path]) -> int:
    return sum(len(chunk_document(load_document(path))) for path in sources)


def run_benchmark(
    *,
    target_chunks: int = 10_000,
    queries: int = 200,
    store_dir: Path | None = None,
    progress: Progress | None = None,
) -> RetrievalBenchReport:
    import torch

    started = time.perf_counter()
    local_model()
    encode_local(["warm up the model"])
    model_load = time.perf_counter() - started

    sources = [*iter_supported_files(HANDBOOK_DIR), *iter_supported_files(EXTERNAL_DIR)]
    vocabulary = _vocabulary(sources)
    scratch = Path(tempfile.mkdtemp(prefix="creditdesk-bench-retrieval-"))
    directory = store_dir or scratch / "store"
    store = PolicyStore(str(directory.resolve()), COLLECTION, LocalEmbedder())
    per_edition = max(1, _chunks_per_edition(sources))
    editions = -(-target_chunks // per_edition)
    ingest_seconds = embed_seconds = 0.0
    ingested = 0
    try:
        for number in range(1, editions + 1):
            if store.count() >= target_chunks:
                break
            folder = scratch / "editions" / f"ed{number:03d}"
            _write_edition(sources, folder, number, vocabulary)
            report = ingest_paths([folder], version=f"bench-{number:03d}", store=store)
            ingest_seconds += report.seconds
            embed_seconds += report.embed_seconds
            ingested += report.chunks_added
            if progress:
                progress("ingesting", min(store.count(), target_chunks), target_chunks)

        forget_index(store)
        started = time.perf_counter()
        index = corpus_index(store)
        index_build = time.perf_counter() - started
        started = time.perf_counter()
        search_policy("who approves a limit increase?", store=store)
        first_query = (time.perf_counter() - started) * 1000

        questions = [q.text for q in load_questions()]
        texts = [*questions, *(f"{PARAPHRASE_PREFIXES[i % 4]}{q[0].lower()}{q[1:]}" for i, q in enumerate(questions))]
        texts = (texts * (queries // len(texts) + 1))[:queries]
        versions = sorted({v for info in index.documents.values() for v in info.versions if v})
        doc_ids = sorted(index.documents)
        cases: list[tuple[str, SearchMode, dict[str, Any]]] = [
            ("hybrid", "hybrid", {}),
            ("lexical only", "lexical", {}),
            ("vector only", "vector", {}),
            ("hybrid, version filter", "hybrid", {"version": versions[len(versions) // 2]}),
            ("hybrid, document filter", "hybrid", {"document": doc_ids[len(doc_ids) // 2]}),
        ]
        latencies: list[Latency] = []
        for step, (name, mode, filters) in enumerate(cases, start=1):
            timings = []
            for text in texts:
                begin = time.perf_counter()
                search_policy(text, mode=mode, store=store, **filters)
                timings.append((time.perf_counter() - begin) * 1000)
            latencies.append(
                Latency(
                    name=name,
                    runs=len(timings),
                    p50_ms=round(statistics.median(timings), 2),
                    p95_ms=round(_percentile(timings, 95), 2),
                    max_ms=round(max(timings), 2),
                    target_ms=TARGET_P95_MS if mode == "hybrid" else None,
                )
            )
            if progress:
                progress("searching", step, len(cases))
        return RetrievalBenchReport(
            chunks=len(index),
            documents=len(index.documents),
            editions=len({v for v in index.versions if v}),
            ingest_seconds=round(ingest_seconds, 2),
            embed_seconds=round(embed_seconds, 2),
            chunks_ingested=ingested,
            model_load_seconds=round(model_load, 2),
            index_build_seconds=round(index_build, 3),
            first_query_ms=round(first_query, 1),
            cpu_count=os.cpu_count() or 0,
            torch_threads=torch.get_num_threads(),
            load_average=[round(x, 2) for x in os.getloadavg()],
            latencies=latencies,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def render_markdown(report: RetrievalBenchReport) -> str:
    lines = [
        "## Policy knowledge base — ingestion and search",
        "",
        f"{report.chunks:,} chunks from {report.documents} documents ({report.editions} editions); "
        f"{report.cpu_count} CPU cores, torch threads {report.torch_threads}, load average {report.load_average}.",
        "",
        "| ingestion | value |",
        "|---|---|",
        f"| chunks ingested | {report.chunks_ingested:,}"
        + (" (store reused: ingestion not measured)" if not report.chunks_ingested else "")
        + " |",
        f"| total time (read, chunk, embed, upsert) | {report.ingest_seconds:.1f} s |",
        f"| throughput | {report.ingest_chunks_per_second:.1f} chunks/s |",
        f"| of which embedding | {report.embed_seconds:.1f} s ({report.embed_chunks_per_second:.1f} chunks/s) |",
        f"| model load (excluded) | {report.model_load_seconds:.1f} s |",
        f"| BM25 index build (once per store state) | {report.index_build_seconds:.2f} s |",
        f"| first search after the build | {report.first_query_ms:.1f} ms |",
        "",
        "| search | runs | p50 ms | p95 ms | max ms | p95 target |",
        "|---|---|---|---|---|---|",
    ]
    for latency in report.latencies:
        target = (
            ""
            if latency.target_ms is None
            else f"≤ {latency.target_ms:.0f} ms " + ("✓" if latency.meets_target else "✗")
        )
        lines.append(
            f"| {latency.name} | {latency.runs} | {latency.p50_ms:.1f} | {latency.p95_ms:.1f} | "
            f"{latency.max_ms:.1f} | {target} |"
        )
    return "\n".join(lines)


def write_results(report: RetrievalBenchReport, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    markdown = directory / f"retrieval-{stamp}.md"
    data = directory / f"retrieval-{stamp}.json"
    markdown.write_text(render_markdown(report), encoding="utf-8")
    payload = {
        **asdict(report),
        "ingest_chunks_per_second": round(report.ingest_chunks_per_second, 2),
        "embed_chunks_per_second": round(report.embed_chunks_per_second, 2),
        "latencies": [{**asdict(x), "meets_target": x.meets_target} for x in report.latencies],
    }
    data.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return markdown, data
