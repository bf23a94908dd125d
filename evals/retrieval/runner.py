"""Retrieval eval runner: ingest our handbook and the real documents into one fresh store, ask every labelled
question in lexical, vector and hybrid mode, and report recall@5 and MRR@10 per corpus side by side.

    python -m evals.retrieval [--external-dir DIR] [--store-dir DIR] [--misses] [--json FILE]

A question is answered by a passage from its labelled document whose section path contains the labelled heading
(case, punctuation and dashes ignored). Exit code 1 when hybrid recall@5 is below the target on any corpus or a
question naming one of two near-identical documents retrieves the other.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.settings import PACKAGE_ROOT
from knowledge.chunking import PATH_SEPARATOR
from knowledge.embeddings import LocalEmbedder
from knowledge.ingest import HANDBOOK_DIR, ingest_paths
from knowledge.search import Passage, SearchMode, search_policy
from knowledge.store import PolicyStore

QUESTIONS_FILE = Path(__file__).with_name("questions.yaml")
EXTERNAL_DIR = PACKAGE_ROOT / "tests" / "data" / "external" / "policies"
MODES: tuple[SearchMode, ...] = ("lexical", "vector", "hybrid")
RECALL_K = 5
MRR_DEPTH = 10
TARGET_RECALL = 0.9
COLLECTION = "retrieval_eval"


@dataclass(frozen=True)
class Answer:
    doc_id: str
    sections: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str
    corpus: str
    text: str
    answers: tuple[Answer, ...]
    excluded_docs: tuple[str, ...] = ()  # near-duplicates of the answering document

    @property
    def doc_ids(self) -> set[str]:
        return {answer.doc_id for answer in self.answers}


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z§]+", " ", text.casefold()).split())


def _sections(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def load_questions(path: Path = QUESTIONS_FILE) -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    documents: dict[str, str] = data["documents"]
    twins: dict[str, set[str]] = {}
    for group in data.get("twins", []):
        for key in group:
            twins[documents[key]] = {documents[other] for other in group if other != key}
    questions: list[Question] = []
    for corpus in ("handbook", "external"):
        for number, item in enumerate(data[corpus], start=1):
            answers = [Answer(documents[item["doc"]], _sections(item["section"]))]
            answers += [Answer(documents[extra["doc"]], _sections(extra["section"])) for extra in item.get("also", [])]
            excluded = sorted(set().union(*(twins.get(a.doc_id, set()) for a in answers)) - {a.doc_id for a in answers})
            questions.append(
                Question(f"{corpus}-{number:02d}", corpus, str(item["q"]), tuple(answers), tuple(excluded))
            )
    return questions


def answers(passage: Passage, question: Question) -> bool:
    headings = [normalise(h) for h in passage.section_path.split(PATH_SEPARATOR)] if passage.section_path else []
    for answer in question.answers:
        if passage.doc_id != answer.doc_id:
            continue
        if any(normalise(section) in heading for section in answer.sections for heading in headings):
            return True
    return False


@dataclass
class Score:
    questions: int = 0
    hits: int = 0
    reciprocal_rank_sum: float = 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.questions if self.questions else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_rank_sum / self.questions if self.questions else 0.0


@dataclass
class Miss:
    question: str
    corpus: str
    mode: str
    expected: str
    got: list[str]


@dataclass
class EvalReport:
    scores: dict[str, dict[str, Score]] = field(default_factory=dict)  # corpus → mode → score
    misses: list[Miss] = field(default_factory=list)
    twin_checks: dict[str, list[int]] = field(default_factory=dict)  # mode → [passed, total]
    twin_failures: list[str] = field(default_factory=list)
    chunks: int = 0
    ingest_seconds: float = 0.0
    search_seconds: float = 0.0

    def passed(self, target: float = TARGET_RECALL) -> bool:
        hybrid_ok = all(scores["hybrid"].recall >= target for scores in self.scores.values())
        passed, total = self.twin_checks.get("hybrid", [0, 0])
        return hybrid_ok and passed == total

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": {
                corpus: {
                    mode: {"questions": s.questions, "recall_at_5": round(s.recall, 4), "mrr_at_10": round(s.mrr, 4)}
                    for mode, s in modes.items()
                }
                for corpus, modes in self.scores.items()
            },
            "twin_checks": self.twin_checks,
            "twin_failures": self.twin_failures,
            "misses": [asdict(m) for m in self.misses],
            "chunks": self.chunks,
            "ingest_seconds": round(self.ingest_seconds, 2),
            "search_seconds": round(self.search_seconds, 2),
        }


def eval_store(directory: Path) -> PolicyStore:
    return PolicyStore(str(directory.resolve()), COLLECTION, LocalEmbedder())


def build_eval_store(directory: Path, external_dir: Path = EXTERNAL_DIR) -> tuple[PolicyStore, float]:
    """Ingest the handbook and the real documents (idempotent: a reused directory only re-reads the files)."""
    store = eval_store(directory)
    started = time.perf_counter()
    ingest_paths([HANDBOOK_DIR, external_dir], store=store)
    return store, time.perf_counter() - started


def run_eval(store: PolicyStore, questions: Sequence[Question], modes: Sequence[SearchMode] = MODES) -> EvalReport:
    report = EvalReport()
    started = time.perf_counter()
    for question in questions:
        for mode in modes:
            result = search_policy(question.text, k=MRR_DEPTH, mode=mode, store=store)
            report.chunks = result.chunks_searched
            score = report.scores.setdefault(question.corpus, {}).setdefault(mode, Score())
            score.questions += 1
            rank = next((i for i, p in enumerate(result.passages, start=1) if answers(p, question)), None)
            if rank is not None and rank <= RECALL_K:
                score.hits += 1
            if rank is not None:
                score.reciprocal_rank_sum += 1.0 / rank
            if rank is None or rank > RECALL_K:
                report.misses.append(
                    Miss(
                        question.text,
                        question.corpus,
                        mode,
                        "; ".join(f"{a.doc_id[:24]} / {' | '.join(a.sections)}" for a in question.answers),
                        [f"{p.doc_id[:24]} / {p.section_path[-70:]}" for p in result.passages[:RECALL_K]],
                    )
                )
            if question.excluded_docs:
                check = report.twin_checks.setdefault(mode, [0, 0])
                check[1] += 1
                top = result.passages[:RECALL_K]
                clean = bool(top) and top[0].doc_id in question.doc_ids
                clean = clean and not any(p.doc_id in question.excluded_docs for p in top)
                check[0] += int(clean)
                if not clean and mode == "hybrid":
                    report.twin_failures.append(question.text)
    report.search_seconds = time.perf_counter() - started
    return report


def render(report: EvalReport) -> str:
    modes = [m for m in MODES if any(m in s for s in report.scores.values())]
    header = "| corpus | questions | " + " | ".join(f"{m} R@5 | {m} MRR" for m in modes) + " |"
    lines = [header, "|" + "---|" * (2 + 2 * len(modes))]
    for corpus, scores in report.scores.items():
        questions = next(iter(scores.values())).questions
        cells = " | ".join(f"{scores[m].recall:.3f} | {scores[m].mrr:.3f}" for m in modes)
        lines.append(f"| {corpus} | {questions} | {cells} |")
    twins = ", ".join(f"{mode} {passed}/{total}" for mode, (passed, total) in report.twin_checks.items())
    lines.append("")
    lines.append(f"near-duplicate by-laws kept apart (top-1 right, twin absent from top 5): {twins}")
    searches = sum(s.questions for c in report.scores.values() for s in c.values())
    lines.append(
        f"{report.chunks} chunks; ingest {report.ingest_seconds:.1f} s; "
        f"{searches} searches in {report.search_seconds:.1f} s"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--external-dir", type=Path, default=EXTERNAL_DIR, help="The real documents.")
    parser.add_argument("--store-dir", type=Path, default=None, help="Keep (and reuse) the eval store here.")
    parser.add_argument("--misses", action="store_true", help="List the questions missed at 5.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the report as JSON.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="creditdesk-eval-") as scratch:
        directory = args.store_dir or Path(scratch)
        store, seconds = build_eval_store(directory, args.external_dir)
        report = run_eval(store, load_questions())
        report.ingest_seconds = seconds
    print(render(report))
    if args.misses:
        for miss in report.misses:
            print(f"\n[{miss.mode}] {miss.question}\n   expected {miss.expected}")
            for got in miss.got:
                print(f"   got      {got}")
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    return 0 if report.passed() else 1
