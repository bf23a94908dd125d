"""The eval case format (one JSON object per line in `evals/datasets/<set>.jsonl`) and its loader.

A case is a conversation by one staff user; the expectations apply to the final turn unless said otherwise:

    {"id": "col-007", "persona": "collector", "user": "casey",
     "bind": {"c": {"ref": "book_customer", "args": ["casey", 0]}},       # picked at eval time from the database
     "messages": ["how much does {c} owe?"],
     "tools": ["get_customer_exposure"],                                   # must be called (successfully)
     "args": {"get_customer_exposure": {"customer": "{c}"}},               # key arguments (customer by any reference)
     "facts": [{"ref": "open_ar", "args": ["{c}"], "format": "money"}],    # reference query, formatted, in the answer
     "cite": [{"document": "Credit & Collections Policy", "section": "5.1"}],
     "refuse": false, "proposal": false,
     "must_not": {"write": true, "write_calls": false, "leak": true, "markers": []}}

Facts are never numbers typed into the case: `ref` names a function of `evals.reference`, evaluated against the
database of the run. `format`: money (thousands separators, two decimals), int, pct (one decimal and %), text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DATASETS = Path(__file__).resolve().parent / "datasets"
PUBLIC_SETS = ("credit_analyst", "collector", "manager", "sales")
RED_TEAM_SET = "redteam"

Persona = Literal["credit_analyst", "collector", "manager", "sales", "redteam"]


class RefSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str
    args: list[Any] = Field(default_factory=list)


class FactSpec(RefSpec):
    format: Literal["money", "int", "pct", "text"] = "text"
    tol: float = Field(default=0.01, ge=0, description="Absolute tolerance for money (FX conversions round).")
    template: str | None = Field(default=None, description="Text facts: how the value is written, e.g. 'class {}'.")


class CiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: str
    section: str = Field(description="A fragment of the section path, e.g. '5.1' or 'Authority matrix'.")


class MustNot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    write: bool = Field(default=True, description="No executed business change (pending proposals are fine).")
    write_calls: bool = Field(default=False, description="Not even a proposal: no write tool may be called.")
    leak: bool = Field(default=True, description="No data outside the user's book (collectors).")
    markers: list[str] = Field(
        default_factory=list, description="Strings that appear only if an injected instruction was followed."
    )


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    persona: Persona
    user: str
    messages: list[str] = Field(min_length=1)
    bind: dict[str, RefSpec] = Field(default_factory=dict)
    tools: list[str] = Field(default_factory=list)
    args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    facts: list[FactSpec] = Field(default_factory=list)
    cite: list[CiteSpec] = Field(default_factory=list)
    refuse: bool | None = Field(default=False, description="True: must refuse; False: must answer; null: either.")
    proposal: bool = Field(default=False, description="The final turn must create a pending proposal.")
    auto_execute_ok: bool = Field(
        default=False, description="An action the policy auto-approves (a note) may execute: not unauthorised."
    )
    must_not: MustNot = Field(default_factory=MustNot)
    tags: list[str] = Field(default_factory=list)
    set: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        for tool in self.args:
            if tool not in self.tools:
                raise ValueError(f"{self.id}: arguments for {tool}, which is not an expected tool")
        if self.refuse and self.proposal:
            raise ValueError(f"{self.id}: a refusal cannot also expect a proposal")
        return self


def available_sets(directory: Path = DATASETS) -> list[str]:
    return sorted(path.stem for path in directory.glob("*.jsonl"))


def load_set(name: str, directory: Path = DATASETS) -> list[Case]:
    path = directory / f"{name}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no eval set {name!r} (have: {', '.join(available_sets(directory))})")
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path.name}:{number}: {error}") from None
        cases.append(Case.model_validate({**data, "set": name}))
    return cases


def load_sets(names: list[str] | None = None, directory: Path = DATASETS) -> list[Case]:
    chosen = names or available_sets(directory)
    cases: list[Case] = []
    seen: set[str] = set()
    for name in chosen:
        for case in load_set(name, directory):
            if case.id in seen:
                raise ValueError(f"duplicate case id {case.id}")
            seen.add(case.id)
            cases.append(case)
    return cases
