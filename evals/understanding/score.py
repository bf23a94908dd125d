"""Scores the offline desk on the frozen understanding test set (`test.jsonl`, see its README): intent accuracy,
slot accuracy for the cheap slots (customer, amounts, dates), the clarification rate and the confidently wrong
answers, overall and per capability, persona and dataset.

Judging one item looks only at the last turn's reply:
- the *answering tool* is the last tool call that is not `resolve_customer` (an errored call still shows what the
  desk understood; a call that failed is never "confident");
- the reply *asks* when its text, quoted examples removed, puts a question to the user and it is not the generic
  "I didn't understand" fallback;
- a capability label is right when its tool answered; `resolve_customer` when only that tool ran; `clarify` when the
  desk asked and no tool answered; `out_of_scope` when no tool answered and the reply says it cannot do it;
- *confidently wrong*: a tool other than the label's answered without error and the reply does not ask (for
  `clarify` and `out_of_scope` any answering tool is a different capability).

The items run under the clock of the set (2026-11-16, noon UTC): demo items on the demo portfolio seeded as the
README says, IBM items on the IBM sample imported with the `ibm-ar` mapping, each as its labelled user, the context
turns first in the same thread.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.types import AssistantReply
from evals.understanding.full_answers import full_checks

if TYPE_CHECKING:
    from core.settings import Settings

HERE = Path(__file__).resolve().parent
TEST_SET = HERE / "test.jsonl"
DEV_SET = HERE / "dev.jsonl"
LABELLED_SETS = {"test": TEST_SET, "dev": DEV_SET} | {f"dev{n}": HERE / f"dev{n}.jsonl" for n in range(2, 34)}
IBM_SAMPLE = HERE.parent.parent / "tests" / "data" / "external" / "ibm_ar_late_payments.csv"
SET_TODAY = date(2026, 11, 16)
DEMO_CUSTOMERS = 300
DEMO_SEED = 42

Outcome = Literal["right", "asked", "confidently_wrong", "failed"]
AMOUNT_SLOTS = ("amount", "new_limit", "change_by", "order_amount", "min_amount")
DATE_SLOTS = ("as_of", "compare_to", "promised_date", "review_date")
SLOT_KINDS = ("customer", "amount", "date")

# The generic fallback lists example questions; it is not a question to the user.
_NOT_UNDERSTOOD_RE = re.compile(r"\bI (?:didn't|did not|don't|do not) understand\b", re.IGNORECASE)
_QUOTED_RE = re.compile(r"“[^”]*”|\"[^\"]*\"|`[^`]*`")
_ASK_RE = re.compile(
    r"\?|\b(?:did you mean|do you mean|which one|please (?:say|specify|choose|pick|confirm)|reply with)\b",
    re.IGNORECASE,
)
_CANNOT_RE = re.compile(
    r"\b(?:can(?:no|')t|cannot|can not|(?:am|is|are) not able|unable|not (?:something|a thing) I can"
    r"|(?:isn't|is not|not) (?:supported|available|possible)|no (?:tool|capability) (?:for|to)|outside what I)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    id: str
    user: str
    text: str
    capability: str
    slots: dict[str, Any]
    persona: str
    dataset: str
    context: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass
class Judgement:
    item: Item
    outcome: Outcome
    intent_right: bool
    asked: bool
    answering_tool: str | None
    tools: list[str]
    slots: dict[str, bool] = field(default_factory=dict)  # slot key -> right (only the slots scored)
    predicted_slots: int = 0  # scored-kind slots the answering call filled
    predicted_right: int = 0  # of those, the ones the label states with that value
    reply_text: str = ""
    error: str | None = None
    full: dict[str, bool] = field(default_factory=dict)  # the other labelled slots (full_answers.py), right or wrong

    @property
    def understood(self) -> bool:
        return self.outcome == "right" and all(self.slots.values())

    @property
    def fully_correct(self) -> bool:
        return self.understood and all(self.full.values())

    @property
    def confidently_wrong(self) -> bool:
        return self.outcome == "confidently_wrong"


def load_items(path: Path = TEST_SET) -> list[Item]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        tags = tuple(raw.get("tags", ()))
        items.append(
            Item(
                id=raw["id"],
                user=raw["user"],
                text=raw["text"],
                capability=raw["capability"],
                slots=dict(raw.get("slots", {})),
                persona=tags[0] if tags else "unknown",
                dataset=raw.get("dataset", "demo"),
                context=tuple(raw.get("context", ())),
                tags=tags,
            )
        )
    return items


# --- judging one reply ------------------------------------------------------------------------------------------


def answering_call(reply: AssistantReply) -> Any | None:
    calls = [c for c in reply.tool_calls if c.name != "resolve_customer"]
    return calls[-1] if calls else None


def asks_question(reply: AssistantReply) -> bool:
    if _NOT_UNDERSTOOD_RE.search(reply.text):
        return False
    return _ASK_RE.search(_QUOTED_RE.sub(" ", reply.text)) is not None


def says_cannot(reply: AssistantReply) -> bool:
    return not _NOT_UNDERSTOOD_RE.search(reply.text) and _CANNOT_RE.search(reply.text) is not None


def judge(item: Item, reply: AssistantReply) -> Judgement:
    call = answering_call(reply)
    tool = call.name if call is not None else None
    asked = asks_question(reply)
    label = item.capability
    if label == "clarify":
        right = tool is None and asked
    elif label == "out_of_scope":
        right = tool is None and not reply.tool_calls and says_cannot(reply)
    elif label == "resolve_customer":
        right = tool is None and any(c.name == "resolve_customer" for c in reply.tool_calls)
    else:
        right = tool == label
    outcome: Outcome
    if right:
        outcome = "right"
    elif call is not None and call.error is None and not asked:
        outcome = "confidently_wrong"
    elif asked and (call is None or call.error is not None):
        outcome = "asked"
    else:
        outcome = "failed"
    judgement = Judgement(
        item=item,
        outcome=outcome,
        intent_right=right,
        asked=asked and (call is None or call.error is not None),
        answering_tool=tool,
        tools=[c.name for c in reply.tool_calls],
        reply_text=reply.text,
        error=reply.error,
    )
    if label not in ("clarify", "out_of_scope"):
        judgement.slots = score_slots(item, reply if right else None)
        if right and label != "resolve_customer":
            collector = item.user if item.persona == "collector" else None
            judgement.full = full_checks(
                label, item.slots, reply, answering_call, collector=collector,
                country_codes_are_regions=item.dataset == "ibm",
            )  # fmt: skip
    judgement.predicted_slots, judgement.predicted_right = predicted_slots(item, reply)
    return judgement


def predicted_slots(item: Item, reply: AssistantReply) -> tuple[int, int]:
    """Slots of the scored kinds that the answering call filled, and how many of them the label states with that
    value (slot precision: an as-of date the text never gave, or the wrong customer, counts against it)."""
    call = answering_call(reply)
    if call is None:
        return 0, 0
    predicted = right = 0
    if resolved_customers(reply) and call.name != "get_portfolio_summary":
        predicted += 1
        right += "customer" in item.slots and _customer_matches(item.slots["customer"], reply)
    for key in (*AMOUNT_SLOTS, *DATE_SLOTS):
        value = call.arguments.get(key)
        if value is None:
            continue
        predicted += 1
        if key in AMOUNT_SLOTS:
            right += key in item.slots and _decimal(value) == _decimal(item.slots[key])
        else:
            right += key in item.slots and str(value)[:10] == str(item.slots[key])
    return predicted, right


def score_slots(item: Item, reply: AssistantReply | None) -> dict[str, bool]:
    """The cheap slots the label states, each right or wrong; all wrong when the label's tool did not answer."""
    call = answering_call(reply) if reply is not None else None
    if reply is not None and call is None and item.capability == "resolve_customer":
        call = next(c for c in reply.tool_calls if c.name == "resolve_customer")
    arguments: dict[str, Any] = call.arguments if call is not None else {}
    scored: dict[str, bool] = {}
    if "customer" in item.slots:
        scored["customer"] = reply is not None and _customer_matches(item.slots["customer"], reply)
    for key in AMOUNT_SLOTS:
        if key in item.slots:
            wanted = _decimal(item.slots[key])
            scored[key] = wanted is not None and _decimal(arguments.get(key)) == wanted
    for key in DATE_SLOTS:
        if key in item.slots:
            scored[key] = arguments.get(key) is not None and str(arguments[key])[:10] == str(item.slots[key])
    return scored


def slot_kind(key: str) -> str:
    return "customer" if key == "customer" else "amount" if key in AMOUNT_SLOTS else "date"


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _customer_matches(expected: str, reply: AssistantReply) -> bool:
    """The customer the turn's tools resolved (a result's `customer` name or external id) is the labelled one."""
    wanted = expected.strip().casefold()
    return wanted in {name.casefold() for name in resolved_customers(reply)}


def resolved_customers(reply: AssistantReply) -> set[str]:
    found: set[str] = set()
    for call in reply.tool_calls:
        if call.result is None:
            continue
        customer = call.result.get("customer")
        if isinstance(customer, dict):
            found.update(str(customer[k]) for k in ("name", "external_id") if customer.get(k))
        if isinstance(call.result.get("customer_name"), str):  # a proposal names the customer it changes
            found.add(call.result["customer_name"])
    return found


# --- the report --------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    items: int = 0
    right: int = 0
    asked: int = 0
    confidently_wrong: int = 0
    failed: int = 0
    slots: int = 0
    slots_right: int = 0
    predicted: int = 0
    predicted_right: int = 0
    understood: int = 0  # the right capability with every labelled slot right (or the right question / refusal)
    fully_correct: int = 0  # understood, every other labelled slot reached the tool, and the tool answered

    def add(self, judgement: Judgement) -> None:
        self.understood += judgement.understood
        self.fully_correct += judgement.fully_correct
        self.predicted += judgement.predicted_slots
        self.predicted_right += judgement.predicted_right
        self.items += 1
        self.right += judgement.outcome == "right"
        self.asked += judgement.outcome == "asked"
        self.confidently_wrong += judgement.outcome == "confidently_wrong"
        self.failed += judgement.outcome == "failed"
        self.slots += len(judgement.slots)
        self.slots_right += sum(judgement.slots.values())

    @property
    def intent_accuracy(self) -> float:
        return self.right / self.items if self.items else 0.0

    @property
    def clarification_rate(self) -> float:
        return self.asked / self.items if self.items else 0.0

    @property
    def slot_accuracy(self) -> float | None:
        return self.slots_right / self.slots if self.slots else None

    @property
    def slot_f1(self) -> float | None:
        """F1 of slot recall (labelled slots filled right) and precision (filled slots that are right)."""
        if not self.slots or not self.predicted:
            return None
        recall, precision = self.slots_right / self.slots, self.predicted_right / self.predicted
        return 2 * recall * precision / (recall + precision) if recall + precision else 0.0


@dataclass
class Summary:
    overall: Figures
    by_capability: dict[str, Figures]
    by_persona: dict[str, Figures]
    by_dataset: dict[str, Figures]
    slot_kinds: dict[str, tuple[int, int]]  # kind -> (right, scored)
    slot_kinds_given_intent: dict[str, tuple[int, int]]
    asked: int  # the desk asked instead of answering (right clarify items included)
    clarify_items_asked: int
    non_clarify_asked: int
    out_of_scope_no_tool: int  # out-of-scope items where no tool ran, whatever the reply said


def summarise(judgements: Sequence[Judgement]) -> Summary:
    overall = Figures()
    groups: dict[str, dict[str, Figures]] = {"capability": {}, "persona": {}, "dataset": {}}
    kinds: dict[str, list[int]] = {k: [0, 0] for k in SLOT_KINDS}
    given: dict[str, list[int]] = {k: [0, 0] for k in SLOT_KINDS}
    for judgement in judgements:
        overall.add(judgement)
        item = judgement.item
        for name, key in (("capability", item.capability), ("persona", item.persona), ("dataset", item.dataset)):
            groups[name].setdefault(key, Figures()).add(judgement)
        for key, ok in judgement.slots.items():
            kind = slot_kind(key)
            kinds[kind][0] += ok
            kinds[kind][1] += 1
            if judgement.intent_right:
                given[kind][0] += ok
                given[kind][1] += 1
    return Summary(
        overall=overall,
        by_capability=dict(sorted(groups["capability"].items(), key=lambda kv: (-kv[1].items, kv[0]))),
        by_persona=dict(sorted(groups["persona"].items(), key=lambda kv: (-kv[1].items, kv[0]))),
        by_dataset=dict(sorted(groups["dataset"].items())),
        slot_kinds={k: (v[0], v[1]) for k, v in kinds.items()},
        slot_kinds_given_intent={k: (v[0], v[1]) for k, v in given.items()},
        asked=sum(1 for j in judgements if j.asked),
        clarify_items_asked=sum(1 for j in judgements if j.item.capability == "clarify" and j.asked),
        non_clarify_asked=sum(1 for j in judgements if j.item.capability != "clarify" and j.asked),
        out_of_scope_no_tool=sum(1 for j in judgements if j.item.capability == "out_of_scope" and not j.tools),
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} % ({part}/{whole})" if whole else "n/a"


def _figures_table(title: str, rows: dict[str, Figures]) -> list[str]:
    lines = [
        f"| {title} | items | intent right | asked | confidently wrong | failed | slot accuracy | fully correct |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in rows.items():
        slots = _pct(f.slots_right, f.slots) if f.slots else "–"
        lines.append(
            f"| {name} | {f.items} | {_pct(f.right, f.items)} | {f.asked} | {f.confidently_wrong} | {f.failed} "
            f"| {slots} | {_pct(f.fully_correct, f.items)} |"
        )
    return lines


def _cell(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_markdown(judgements: Sequence[Judgement], *, examples: int = 15, header: str = "") -> str:
    s = summarise(judgements)
    o = s.overall
    lines = [header.rstrip(), ""] if header else []
    lines += [
        "## Overall",
        "",
        "| measure | value |",
        "|---|---|",
        f"| items | {o.items} |",
        f"| intent accuracy | {_pct(o.right, o.items)} |",
        f"| clarification rate (asked instead of answering, all items) | {_pct(s.asked, o.items)} |",
        f"| clarify items where the desk asked | {_pct(s.clarify_items_asked, s.by_capability['clarify'].items)} |"
        if "clarify" in s.by_capability
        else "| clarify items where the desk asked | n/a |",
        f"| asked on an item that was not ambiguous | {s.non_clarify_asked} |",
        f"| out-of-scope items with no tool run (said it cannot, or a generic fallback) | {s.out_of_scope_no_tool} |",
        f"| confidently wrong | {o.confidently_wrong} |",
        f"| failed (no answer, a failed tool call, or not understood) | {o.failed} |",
        f"| slot accuracy, all labelled slots | {_pct(o.slots_right, o.slots)} |",
        f"| slot precision (filled slots that are right) | {_pct(o.predicted_right, o.predicted)} |",
        f"| slot F1 | {'n/a' if o.slot_f1 is None else f'{o.slot_f1:.3f}'} |",
        f"| understood: right capability and every labelled slot right | {_pct(o.understood, o.items)} |",
        f"| fully correct: understood, every other labelled slot applied, the tool answered | "
        f"{_pct(o.fully_correct, o.items)} |",
    ]
    for kind in SLOT_KINDS:
        right, total = s.slot_kinds[kind]
        right_given, total_given = s.slot_kinds_given_intent[kind]
        lines.append(
            f"| slot accuracy: {kind} (all / when the intent was right) | {_pct(right, total)} / "
            f"{_pct(right_given, total_given)} |"
        )
    lines += ["", "## Per capability", "", *_figures_table("capability", s.by_capability)]
    lines += ["", "## Per persona", "", *_figures_table("persona", s.by_persona)]
    lines += ["", "## Per dataset", "", *_figures_table("dataset", s.by_dataset)]
    failures = pick_failures(judgements, examples)
    lines += ["", f"## {len(failures)} example failures", ""]
    lines += ["| id | user | text | label | outcome | tools called | reply (start) |", "|---|---|---|---|---|---|---|"]
    for j in failures:
        lines.append(
            f"| {j.item.id} | {j.item.user} | {_cell(j.item.text, 120)} | {j.item.capability} | {j.outcome} "
            f"| {', '.join(j.tools) or '–'} | {_cell(j.reply_text)} |"
        )
    return "\n".join(lines) + "\n"


def pick_failures(judgements: Sequence[Judgement], count: int) -> list[Judgement]:
    """Confidently wrong first, then spread over capabilities so the examples are not all of one kind."""
    wrong = [j for j in judgements if j.outcome != "right"]
    order = {"confidently_wrong": 0, "failed": 1, "asked": 2, "right": 3}
    wrong.sort(key=lambda j: (order[j.outcome], j.item.id))
    picked: list[Judgement] = []
    seen: Counter[str] = Counter()
    for limit in (1, 2, 3, count):
        for j in wrong:
            if len(picked) >= count:
                return picked
            if j not in picked and seen[j.item.capability] < limit:
                picked.append(j)
                seen[j.item.capability] += 1
    return picked


# --- running the set ---------------------------------------------------------------------------------------------


@contextmanager
def set_clock() -> Iterator[None]:
    import time_machine

    with time_machine.travel(datetime(SET_TODAY.year, SET_TODAY.month, SET_TODAY.day, 12, tzinfo=UTC), tick=True):
        yield


def seed_demo(url: str) -> None:
    from db.demo import SeedOptions, seed_demo_portfolio
    from db.migrate import upgrade
    from tools.maintenance import refresh_derived_data

    upgrade(url)
    seed_demo_portfolio(url, SeedOptions(customers=DEMO_CUSTOMERS, seed=DEMO_SEED, as_of=SET_TODAY), actor="eval")
    refresh_derived_data(url, SET_TODAY)


def seed_ibm(url: str, sample: Path = IBM_SAMPLE) -> None:
    """The IBM sample imported with the `ibm-ar` mapping, and the demo staff handles to ask as."""
    from db.demo.portfolio import staff_plan
    from db.engine import write_session
    from db.migrate import upgrade
    from db.queries.staff import add_staff_user
    from integrations.importers.importer import import_file
    from tools.maintenance import refresh_derived_data

    upgrade(url)
    with write_session(url) as session:
        for member in staff_plan(DEMO_CUSTOMERS):
            limit = None if member.approval_limit_cents is None else Decimal(member.approval_limit_cents) / 100
            add_staff_user(session, name=member.name, role=member.role, full_name=member.full_name,
                           approval_limit=limit)  # fmt: skip
    import_file(sample, "ibm-ar", url=url, actor="eval")
    refresh_derived_data(url, SET_TODAY)


def ask_item(service: Any, url: str, item: Item, thread: str) -> AssistantReply:
    from evals.runner import actor_for

    actor = actor_for(url, item.user)
    for text in item.context:
        service.ask_text(text, actor=actor, thread_id=thread, database_url=url)
    return service.ask_text(item.text, actor=actor, thread_id=thread, database_url=url)


def model_settings(model: str) -> Settings:
    """The settings with `llm_model` set to `model`, for the provider the environment configures
    (CREDITDESK_LLM_BASE_URL + CREDITDESK_LLM_API_KEY for any OpenAI-compatible server, OPENAI_API_KEY, or Azure)."""
    from assistant.llm import resolve_provider
    from core.errors import CreditDeskError, ErrorCode
    from core.settings import get_settings

    settings = get_settings().model_copy(update={"llm_model": model})
    if resolve_provider(settings).provider == "none":
        raise CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            "--model needs a language model provider: set CREDITDESK_LLM_BASE_URL (and CREDITDESK_LLM_API_KEY if the "
            "server wants a key) for an OpenAI-compatible server, or OPENAI_API_KEY, or AZURE_OPENAI_ENDPOINT and "
            "AZURE_OPENAI_API_KEY",
        )
    return settings


def run_items(
    items: Iterable[Item],
    *,
    databases: dict[str, str] | None = None,
    workdir: Path | None = None,
    knowledge: bool = True,
    progress: Callable[[int, int], None] | None = None,
    model: str | None = None,
) -> list[Judgement]:
    """Every item through the current offline assistant under the set's clock — or, with `model`, through the LLM
    agent on that model of the configured provider (`model_settings`). `databases` maps a dataset (`demo`, `ibm`) to
    a prepared database; the missing ones are built in a temporary directory (SQLite)."""
    from assistant.service import AssistantService
    from core.settings import reset_settings
    from db.engine import dispose_engine

    if model is not None:
        model_settings(model)  # refuse before seeding anything when no provider is configured
    chosen = list(items)
    temp = Path(tempfile.mkdtemp(prefix="creditdesk-understanding-", dir=workdir))
    saved = os.environ.get("CREDITDESK_DATA_DIR")
    urls = dict(databases or {})
    judgements: list[Judgement] = []
    try:
        os.environ["CREDITDESK_DATA_DIR"] = str(temp / "var")
        reset_settings()
        with set_clock():
            for dataset in sorted({i.dataset for i in chosen} - set(urls)):
                urls[dataset] = f"sqlite:///{temp / f'{dataset}.db'}"
                (seed_ibm if dataset == "ibm" else seed_demo)(urls[dataset])
            if knowledge:
                from knowledge.ingest import default_sources, ingest_paths

                ingest_paths(default_sources())
            service = (
                AssistantService(engine="planner")
                if model is None
                else AssistantService(engine="agent", settings=model_settings(model))
            )
            try:
                for number, item in enumerate(chosen, 1):
                    url = urls[item.dataset]
                    reply = ask_item(service, url, item, f"understanding-{item.id}")
                    judgements.append(judge(item, reply))
                    if progress is not None:
                        progress(number, len(chosen))
            finally:
                service.close()
    finally:
        for url in urls.values():
            dispose_engine(url)
        if saved is None:
            os.environ.pop("CREDITDESK_DATA_DIR", None)
        else:
            os.environ["CREDITDESK_DATA_DIR"] = saved
        reset_settings()
        shutil.rmtree(temp, ignore_errors=True)
    return judgements
