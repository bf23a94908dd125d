"""The assistant's request and reply, shared by the offline planner, the LLM agent and every surface."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.context import Actor

Engine = Literal["planner", "agent"]


class AskRequest(BaseModel):
    """One user turn. `thread_id` is the conversation (Slack thread, API conversation id, CLI session)."""

    text: str = Field(min_length=1, max_length=8000)
    actor: Actor
    thread_id: str
    database_url: str | None = None


class ToolCallRecord(BaseModel):
    """A tool the turn called, with its validated arguments and its JSON result (or the error it raised)."""

    name: str
    kind: Literal["read", "write"]
    arguments: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None
    error_code: str | None = None


class Citation(BaseModel):
    document: str
    section: str
    page: int | None = None
    source: str | None = None


class ProposalRef(BaseModel):
    """A pending proposal the turn created: surfaces render it with Approve / Reject carrying only the id."""

    id: int
    action: str
    summary: str
    status: str
    required_role: str | None = None


class GroundingEvent(BaseModel):
    """A number in a draft answer that no tool output of the turn supports, and what was done about it."""

    number: str
    action: Literal["removed", "repaired"]


class Usage(BaseModel):
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Choice(BaseModel):
    """One reading a clarifying question offers: a button in Slack and the web chat, a numbered line in the CLI.
    Picking it (the button, or answering with its number) answers `text` as that capability."""

    number: int
    label: str
    capability: str
    text: str = Field(description="The message the reading applies to.")


class AssistantReply(BaseModel):
    """What a surface renders: prose (numbers grounded in `tool_calls`), plus structured parts."""

    text: str
    thread_id: str
    engine: Engine
    intent: str | None = Field(default=None, description="The offline planner's recognised intent, if any.")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    proposals: list[ProposalRef] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    charts: list[str] = Field(default_factory=list, description="Paths of PNG charts produced this turn.")
    grounding: list[GroundingEvent] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    error: str | None = Field(default=None, description="A short user-safe message when the turn failed.")
    choices: list[Choice] = Field(default_factory=list, description="Readings a clarifying question offers.")
    named: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Order and invoice numbers the user's message listed (two or more, in order), for a later "
        "“the second one”.",
    )
    focus: list[str] = Field(
        default_factory=list,
        description="The measures an offline portfolio answer focused on, kept for a follow-up that names none.",
    )
