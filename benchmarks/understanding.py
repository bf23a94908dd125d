"""Understanding speed: how long the offline desk takes to read a message (rules + MiniLM + the logistic head), and
to answer one end to end on the demo portfolio (understanding, entities, tool calls, the answer text).

Run: `python -m benchmarks.understanding [--runs 3] [--output benchmarks/results]`. Messages are the dev set's
(evals/understanding/dev.jsonl; the frozen test set is not used here either). Timings are warm: the model is loaded
and the classifier trained before the clock starts, as the server's warm-up does at start-up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from evals.understanding.score import DEV_SET, load_items, seed_demo, set_clock

READ_ONLY_LABELS = frozenset(
    {
        "get_customer_exposure",
        "check_order_release",
        "score_customer",
        "recommend_credit_limit",
        "build_worklist",
        "summarize_dispute",
        "get_portfolio_summary",
        "get_invoice",
        "get_payment_behaviour",
        "get_promise_history",
        "list_pending_approvals",
    }
)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _summary(name: str, values: list[float]) -> dict[str, float | str | int]:
    return {
        "measure": name,
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(_percentile(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


def forget_embeddings() -> None:
    from knowledge.embeddings import forget_query_vectors

    forget_query_vectors()


def time_understanding(texts: list[str], runs: int) -> list[float]:
    from assistant.planner.semantic import semantic_intents
    from assistant.planner.understand import understand

    semantic_intents()
    for text in texts[:10]:
        understand(text)
    timings = []
    for _ in range(runs):
        for text in texts:
            forget_embeddings()  # every message is new to the desk: no remembered vector
            started = time.perf_counter()
            understand(text)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def time_answers(runs: int) -> list[float]:
    from assistant.service import AssistantService
    from evals.runner import actor_for

    items = [i for i in load_items(DEV_SET) if i.dataset == "demo" and i.capability in READ_ONLY_LABELS]
    items = [i for i in items if not i.context]
    work = Path(tempfile.mkdtemp(prefix="creditdesk-bench-understanding-"))
    url = f"sqlite:///{work / 'demo.db'}"
    timings = []
    try:
        with set_clock():
            seed_demo(url)
            service = AssistantService(engine="planner")
            try:
                service.warm_up()
                for number in range(runs + 1):
                    for item in items:
                        actor = actor_for(url, item.user)
                        started = time.perf_counter()
                        thread = f"bench-{number}-{item.id}"
                        forget_embeddings()
                        service.ask_text(item.text, actor=actor, thread_id=thread, database_url=url)
                        if number:  # the first pass warms the caches
                            timings.append((time.perf_counter() - started) * 1000)
            finally:
                service.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    texts = [item.text for item in load_items(DEV_SET)]
    rows = [
        _summary("understanding a message", time_understanding(texts, args.runs)),
        _summary("whole offline answer (read questions, demo)", time_answers(args.runs)),
    ]
    args.output.mkdir(parents=True, exist_ok=True)
    lines = ["| measure | n | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['measure']} | {r['n']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} |" for r in rows]
    (args.output / "understanding.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (args.output / "understanding.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
