"""The offline planner: rules for the intent, entity resolution, one tool call (or a fixed short chain) through the
registry, and a templated answer quoting the tool results. No model; deterministic; the same reply type as the agent.
What a turn asks and which capability answers it is `turn.Turn`.

Writes only ever create proposals (the registry's write tools); approvals are never made here."""

from __future__ import annotations

import time
from collections.abc import Sequence

from assistant.types import AskRequest, AssistantReply, Usage
from core.logging import get_logger

from .context import offered_named
from .entities import listed_numbers
from .turn import Turn

log = get_logger(__name__)


class OfflinePlanner:
    """Answers common requests without a model. Stateless: the thread's previous replies come in `history`."""

    engine = "planner"

    def answer(self, request: AskRequest, history: Sequence[AssistantReply]) -> AssistantReply:
        started = time.perf_counter()
        turn = Turn(request, list(history))
        intent, text, error = turn.run()
        reply = AssistantReply(
            text=text,
            thread_id=request.thread_id,
            engine="planner",
            intent=intent.value,
            tool_calls=turn.calls,
            proposals=turn.proposals,
            citations=turn.citations,
            charts=turn.charts,
            choices=turn.choices,
            focus=turn.focus,
            named={**listed_numbers(request.text), **offered_named(turn.offered)},
            usage=Usage(tool_calls=len(turn.calls)),
            error=error,
        )
        log.info(
            "planner.answered",
            intent=intent.value,
            tool_calls=len(turn.calls),
            tool_errors=sum(1 for c in turn.calls if c.error),
            proposals=len(turn.proposals),
            role=request.actor.role.value,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return reply
