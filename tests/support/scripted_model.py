"""A scripted chat model for agent tests: it never calls anything, it replays a script.

Each step is an `AIMessage` (returned as is) or a callable `(messages) -> AIMessage` that can look at what the model
was sent (the system prompt, tool results) and build its answer from it. `assert_complete()` fails the test when a
step was not consumed; a call beyond the script fails at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

Step = AIMessage | Callable[[list[BaseMessage]], AIMessage] | BaseException
_ids = itertools.count(1)


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "args": arguments, "id": f"call_{next(_ids)}", "type": "tool_call"}


def calls(*tool_calls: dict[str, Any], usage: tuple[int, int] = (100, 10)) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=list(tool_calls),
        usage_metadata={"input_tokens": usage[0], "output_tokens": usage[1], "total_tokens": sum(usage)},
    )


def answer(text: str, usage: tuple[int, int] = (120, 30)) -> AIMessage:
    return AIMessage(
        content=text, usage_metadata={"input_tokens": usage[0], "output_tokens": usage[1], "total_tokens": sum(usage)}
    )


def last_tool_messages(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    """The tool results sent with this model call (those after the last AI message)."""
    result: list[ToolMessage] = []
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            result.append(message)
        elif isinstance(message, AIMessage):
            break
    return list(reversed(result))


class ScriptedChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[Any] = Field(default_factory=list)
    received: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[list[str]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **_kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        names = []
        for tool in tools:
            name = getattr(tool, "name", None) or (
                tool.get("function", {}).get("name") if isinstance(tool, dict) else None
            )
            names.append(str(name))
        self.bound_tools.append(names)
        return self

    def add(self, *steps: Step) -> ScriptedChatModel:
        self.script.extend(steps)
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        if not self.script:
            raise AssertionError(f"the model was called {len(self.received)} times; the script had fewer steps")
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        message = step(list(messages)) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=message)])

    def assert_complete(self) -> None:
        assert not self.script, f"{len(self.script)} scripted model step(s) were never used"
