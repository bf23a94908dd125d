"""The catalogue of what the desk can do, shared by the language-model agent and the offline understanding.

`capabilities.yaml` lists each capability with the tool that answers it, the one-line description the model sees as
that tool's description, and a short line for people. `examples.jsonl` holds the labelled utterances the offline
intent classifier is trained on. A capability's slots are its tool's input fields, read from the registry, so the
catalogue never keeps a second copy of a schema.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from core.errors import CreditDeskError, ErrorCode
from tools.registry import get_tool

HERE = Path(__file__).parent
CAPABILITIES_FILE = HERE / "capabilities.yaml"
EXAMPLES_FILE = HERE / "examples.jsonl"
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Capability:
    name: str
    tool: str | None
    intent: str | None
    model: str | None
    people: str | None

    def slots(self) -> tuple[str, ...]:
        """The tool's input fields (empty for capabilities the desk answers without a tool)."""
        if self.tool is None:
            return ()
        return tuple(get_tool(self.tool).input_model.model_fields)


@dataclass(frozen=True)
class Example:
    capability: str
    text: str


@cache
def capabilities() -> tuple[Capability, ...]:
    raw = yaml.safe_load(CAPABILITIES_FILE.read_text(encoding="utf-8"))
    found = tuple(
        Capability(
            name=str(entry["name"]),
            tool=entry.get("tool"),
            intent=entry.get("intent"),
            model=entry.get("model"),
            people=entry.get("people"),
        )
        for entry in raw["capabilities"]
    )
    names = [c.name for c in found]
    if len(set(names)) != len(names):
        raise CreditDeskError(ErrorCode.NOT_CONFIGURED, "the capability catalogue names a capability twice")
    return found


def by_name(name: str) -> Capability:
    for capability in capabilities():
        if capability.name == name:
            return capability
    raise KeyError(name)


def by_intent(intent: str) -> Capability | None:
    return next((c for c in capabilities() if c.intent == intent), None)


def model_description(tool_name: str) -> str | None:
    """The description the language model sees for a tool (the first capability naming it with one)."""
    return next((c.model for c in capabilities() if c.tool == tool_name and c.model), None)


@cache
def examples() -> tuple[Example, ...]:
    known = {c.name for c in capabilities()}
    rows = []
    for number, line in enumerate(EXAMPLES_FILE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["capability"] not in known:
            raise CreditDeskError(
                ErrorCode.NOT_CONFIGURED, f"examples.jsonl line {number}: unknown capability {row['capability']!r}"
            )
        rows.append(Example(capability=row["capability"], text=row["text"]))
    return tuple(rows)


def examples_fingerprint() -> str:
    """Changes whenever the training examples or the catalogue change (keys the cached example vectors)."""
    digest = hashlib.sha256()
    digest.update(CAPABILITIES_FILE.read_bytes())
    digest.update(EXAMPLES_FILE.read_bytes())
    return digest.hexdigest()[:16]
