"""The one assistant service every surface (Slack, REST, web chat, CLI) calls.

`AssistantService.ask(request)` runs one turn: it picks the engine (the LLM agent when a model is configured, the
offline planner otherwise), tells it what happened to proposals made earlier in the thread, runs the grounding check
on the answer, collects the proposals the turn created, stores the reply, and always returns an `AssistantReply` —
failures come back as a short message in `reply.error`, never as a stack trace.

Synchronous by design: an async surface runs it in a thread pool.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from assistant.grounding import ground_answer
from assistant.types import AskRequest, AssistantReply, Engine, ProposalRef, Usage
from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from core.settings import Settings, get_settings
from tools.context import Actor, ToolContext

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.memory import Checkpointer
    from tools.actions.proposals import DecisionOutcome, ProposalView

log = get_logger(__name__)

MAX_INPUT_CHARS = 8000
MAX_THREAD_ID_CHARS = 200
THREAD_PROPOSALS_SHOWN = 10
GENERIC_FAILURE = "Sorry, something went wrong on our side while answering; nothing was changed. Please try again."


class Planner(Protocol):
    def answer(self, request: AskRequest, history: Sequence[AssistantReply]) -> AssistantReply: ...


# Faults of the desk's own storage: chat users get what happened and who can fix it, never a file path, host or user
# name from the underlying message (the CLI and the operator's logs keep those).
_FAULT_MESSAGES = {
    ErrorCode.UNAVAILABLE: "The credit database can't be reached right now, so nothing was answered or changed. "
    "Please try again in a minute; if it goes on, tell your administrator.",
    ErrorCode.NOT_MIGRATED: "The credit database is not set up for this version of creditdesk (an administrator "
    "needs to run `creditdesk db upgrade`). Nothing was changed.",
    ErrorCode.DAMAGED: "Part of the desk's stored data is damaged, so nothing was answered or changed; an "
    "administrator can repair it (the policy index with `creditdesk ingest --rebuild`).",
    ErrorCode.NOT_CONFIGURED: "The desk is not configured correctly, so nothing was answered or changed; an "
    "administrator needs to check its settings (`creditdesk` commands say what is wrong).",
}


def _message_for_chat(error: Exception) -> str:
    if not isinstance(error, CreditDeskError):
        return GENERIC_FAILURE
    return _FAULT_MESSAGES.get(error.code, error.message)


def thread_hash(thread_id: str) -> str:
    """A stable, non-reversible tag for logs (thread ids can carry Slack channel ids)."""
    return hashlib.sha256(thread_id.encode()).hexdigest()[:12]


def proposal_status_line(view: ProposalView) -> str:
    """One line per proposal for the next turn: the status decided outside the chat, in words."""
    line = f"#{view.id} {view.action} ({view.summary}): {view.status}"
    if view.decided_by and view.status != "pending":
        line += f" by {view.decided_by}"
        if view.decided_at:
            line += f" at {view.decided_at:%Y-%m-%d %H:%M} UTC"
    if view.decision_note:
        line += f"; note: {view.decision_note}"
    return f"{line}; {view.next_step}"


class AssistantService:
    """Holds the model, the planner and the checkpointer for one database; safe to share between threads."""

    def __init__(
        self,
        *,
        database_url: str | None = None,
        engine: Literal["auto", "agent", "planner"] = "auto",
        model: BaseChatModel | None = None,
        planner: Planner | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._settings = settings
        self.database_url = database_url
        self._engine_choice = engine
        self._model = model
        self._planner = planner
        self._checkpointer: Checkpointer | None = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def close(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None

    def __enter__(self) -> AssistantService:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def engine(self) -> Engine:
        if self._engine_choice != "auto":
            return self._engine_choice
        if self._model is not None:
            return "agent"
        from assistant.llm import model_configured

        return "agent" if model_configured(self.settings) else "planner"

    def _database_url(self, request: AskRequest) -> str:
        return request.database_url or self.database_url or self.settings.resolved_database_url

    def _get_model(self) -> BaseChatModel:
        with self._lock:
            if self._model is None:
                from assistant.llm import build_chat_model

                model = build_chat_model(self.settings)
                if model is None:
                    raise CreditDeskError(ErrorCode.NOT_CONFIGURED, "no language model is configured")
                self._model = model
            return self._model

    def _get_checkpointer(self, database_url: str) -> Any:
        with self._lock:
            if self._checkpointer is None:
                from assistant.memory import open_checkpointer

                self._checkpointer = open_checkpointer(database_url)
            return self._checkpointer.saver

    def _get_planner(self) -> Planner:
        with self._lock:
            if self._planner is None:
                from assistant.planner import OfflinePlanner  # type: ignore[import-not-found, unused-ignore]

                self._planner = OfflinePlanner()
            return self._planner

    # --- the turn ----------------------------------------------------------------------------------------------

    @staticmethod
    def request_problem(text: str, thread_id: str) -> str | None:
        """Why a request cannot be run, in words for the user; None when it is fine."""
        if not text or not text.strip():
            return "The message is empty: ask a question or describe what you need."
        if len(text) > MAX_INPUT_CHARS:
            return (
                f"The message is too long ({len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}). "
                "Shorten it or ask about one thing at a time."
            )
        if not thread_id or len(thread_id) > MAX_THREAD_ID_CHARS:
            return "The conversation id is missing or too long."
        return None

    def ask_text(self, text: str, *, actor: Actor, thread_id: str, database_url: str | None = None) -> AssistantReply:
        """`ask` for raw input: an empty or oversized message gets a clear reply instead of a validation error."""
        problem = self.request_problem(text, thread_id)
        if problem:
            return AssistantReply(
                text=problem, thread_id=thread_id[:MAX_THREAD_ID_CHARS], engine="planner", error=problem
            )
        return self.ask(AskRequest(text=text, actor=actor, thread_id=thread_id, database_url=database_url))

    def ask(self, request: AskRequest) -> AssistantReply:
        started = time.perf_counter()
        engine: Engine = "planner"
        error_code: str | None = None
        try:
            engine = self.engine()
            problem = self.request_problem(request.text, request.thread_id)
            if problem:
                reply = AssistantReply(text=problem, thread_id=request.thread_id, engine=engine, error=problem)
                error_code = "invalid_input"
            else:
                reply = self._turn(request, engine)
                self._persist(request, reply)
        except Exception as error:
            error_code = error.code.value if isinstance(error, CreditDeskError) else "internal"
            message = _message_for_chat(error)
            log.error("assistant.turn_failed", thread_hash=thread_hash(request.thread_id), error=type(error).__name__)
            reply = AssistantReply(text=message, thread_id=request.thread_id, engine=engine, error=message)
        if reply.error and error_code is None:
            error_code = "turn_error"
        log.info(
            "assistant.turn",
            thread_hash=thread_hash(request.thread_id),
            engine=reply.engine,
            intent=reply.intent,
            role=request.actor.role.value,
            tools=[call.name for call in reply.tool_calls],
            proposals=[p.id for p in reply.proposals],
            grounding_removed=len(reply.grounding),
            model_calls=reply.usage.model_calls,
            input_tokens=reply.usage.input_tokens,
            output_tokens=reply.usage.output_tokens,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            error=error_code,
        )
        return reply

    def _turn(self, request: AskRequest, engine: Engine) -> AssistantReply:
        database_url = self._database_url(request)
        ctx = ToolContext(actor=request.actor, database_url=database_url, conversation_id=request.thread_id)
        thread_proposals = self._thread_proposals(ctx)
        status_lines = [proposal_status_line(view) for view in thread_proposals]
        if engine == "agent":
            reply = self._agent_turn(request, ctx, status_lines)
        else:
            reply = self._planner_turn(request, ctx, thread_proposals)
        if reply.text and not reply.error:
            text, events = ground_answer(
                reply.text, reply.tool_calls, allowed_text=[request.text, *status_lines], today=ctx.today
            )
            reply = reply.model_copy(update={"text": text, "grounding": [*reply.grounding, *events]})
        return reply

    def _agent_turn(self, request: AskRequest, ctx: ToolContext, status_lines: list[str]) -> AssistantReply:
        from assistant.agent import run_agent_turn

        settings = self.settings
        try:
            model = self._get_model()
        except CreditDeskError as error:
            message = f"The language model is not set up correctly: {error.message}."
            return AssistantReply(text=message, thread_id=request.thread_id, engine="agent", error=message)
        checkpointer = self._get_checkpointer(self._database_url(request))
        turn = run_agent_turn(
            model=model,
            checkpointer=checkpointer,
            ctx=ctx,
            thread_id=request.thread_id,
            text=request.text,
            proposal_updates=status_lines,
            max_model_calls=settings.llm_max_model_calls,
            max_tool_calls=settings.llm_max_tool_calls,
            timeout_seconds=settings.llm_timeout_seconds,
        )
        text = turn.text
        if turn.error:
            text = turn.error
            if turn.proposals:
                ids = ", ".join(f"#{p.id}" for p in turn.proposals)
                text += f" Before that, proposal(s) {ids} were created; they await approval and nothing else changed."
            else:
                text += " Nothing was changed."
        return AssistantReply(
            text=text,
            thread_id=request.thread_id,
            engine="agent",
            tool_calls=turn.tool_calls,
            proposals=turn.proposals,
            citations=turn.citations,
            usage=turn.usage,
            error=turn.error,
        )

    def _planner_turn(
        self, request: AskRequest, ctx: ToolContext, thread_proposals: list[ProposalView]
    ) -> AssistantReply:
        from assistant.agent import citations_from, proposals_from
        from assistant.memory import load_history

        history = load_history(ctx.database_url, request.thread_id)
        current = {view.id: view.status for view in thread_proposals}
        refreshed = []
        for past in history:  # the status of earlier proposals as it is now, not as it was then
            if any(ref.id in current for ref in past.proposals):
                past = past.model_copy(
                    update={
                        "proposals": [
                            ref.model_copy(update={"status": current.get(ref.id, ref.status)}) for ref in past.proposals
                        ]
                    }
                )
            refreshed.append(past)
        # The planner reads the database named on the request: make it the one this turn resolved (the service's own
        # URL when the surface did not name one), never the settings' default.
        request = request.model_copy(update={"database_url": ctx.database_url})
        reply = self._get_planner().answer(request, refreshed)
        proposals: dict[int, ProposalRef] = {ref.id: ref for ref in reply.proposals}
        for ref in proposals_from(reply.tool_calls):
            proposals.setdefault(ref.id, ref)
        citations = reply.citations or citations_from(reply.tool_calls)
        usage = reply.usage if reply.usage != Usage() else Usage(tool_calls=len(reply.tool_calls))
        return reply.model_copy(
            update={
                "thread_id": request.thread_id,
                "engine": "planner",
                "proposals": list(proposals.values()),
                "citations": citations,
                "usage": usage,
            }
        )

    def _thread_proposals(self, ctx: ToolContext) -> list[ProposalView]:
        """Current status of the proposals this thread created (those the actor may see), oldest first."""
        from db.engine import read_session
        from db.queries.conversations import proposal_ids_for_conversation
        from tools.actions.proposals import get_proposal

        assert ctx.conversation_id is not None
        views = []
        with read_session(ctx.database_url) as session:
            ids = proposal_ids_for_conversation(
                session, conversation_id=ctx.conversation_id, limit=THREAD_PROPOSALS_SHOWN
            )
            for proposal_id in reversed(ids):
                try:
                    views.append(get_proposal(session, ctx, proposal_id))
                except CreditDeskError:
                    continue
        return views

    def _persist(self, request: AskRequest, reply: AssistantReply) -> None:
        from assistant.memory import save_turn

        try:
            save_turn(self._database_url(request), reply, request.actor.id)
        except Exception as error:  # the answer still goes out; only the planner's follow-up memory misses a turn
            log.error(
                "assistant.persist_failed", thread_hash=thread_hash(request.thread_id), error=type(error).__name__
            )

    # --- decisions (no model in the approval path) ---------------------------------------------------------------

    def decide(
        self,
        proposal_id: int,
        actor: Actor,
        decision: Literal["approve", "reject"],
        *,
        via: str,
        note: str | None = None,
        database_url: str | None = None,
    ) -> DecisionOutcome:
        """Approve or reject a proposal for a surface (Slack button, API, web). The thread that made it learns the
        outcome on its next turn from the database, so nothing has to be pushed into the conversation."""
        from tools.actions.proposals import decide_proposal

        return decide_proposal(database_url or self.database_url, proposal_id, actor, decision, via=via, note=note)

    def warm_up(self) -> float:
        """Load what the first question would otherwise wait for (the planner, the embedding model and the policy
        index) — called in the background when a server starts. Returns the seconds it took; never raises."""
        from tools.registry import call_tool

        started = time.perf_counter()
        try:
            if self.engine() == "planner":
                from assistant.planner.semantic import semantic_intents

                self._get_planner()
                semantic_intents()
            ctx = ToolContext(actor=Actor.operator(), database_url=self.database_url)
            call_tool("search_policy", {"query": "who approves a credit limit increase"}, ctx)
        except Exception as error:  # an empty knowledge base or an unmigrated database: /readyz reports those
            log.info("assistant.warm_up_incomplete", error=type(error).__name__)
        elapsed = time.perf_counter() - started
        log.info("assistant.warmed_up", seconds=round(elapsed, 2))
        return elapsed

    def history(self, thread_id: str, *, database_url: str | None = None) -> list[AssistantReply]:
        from assistant.memory import load_history

        return load_history(database_url or self.database_url, thread_id)
