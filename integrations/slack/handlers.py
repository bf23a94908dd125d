"""Slack listeners: mentions, direct messages, thread replies, `/credit`, the Assistant side panel, App Home,
the Approve / Reject buttons and the buttons of a clarifying question. All of them are thin: map the Slack user to a
staff user, call the assistant service (or decide the proposal), render blocks.

Logs carry ids and outcomes only: never message text, never customer data.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any, Literal

from assistant.types import AskRequest, AssistantReply, Choice
from core.errors import CreditDeskError
from core.logging import get_logger
from integrations.slack import blocks
from integrations.surface import actor_for_slack_user, chart_file, chart_name, offered_choices

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from integrations.slack.app import SlackSurface
    from tools.context import Actor

log = get_logger(__name__)

DecisionKind = Literal["approve", "reject"]

PURGE_EVERY = 1000  # claims between purges of old dedupe keys
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
FRIENDLY_FAILURE = "Sorry, something went wrong on my side; nothing was changed. Please try again in a moment."
CHOICE_GONE = "That question is not open any more (it was answered, or the conversation moved on): ask me again."
SUGGESTED_PROMPTS = [
    {"title": "My worklist", "message": "Show my worklist"},
    {"title": "Exposure", "message": "What is the exposure of Acme?"},
    {"title": "Portfolio", "message": "Portfolio summary by region"},
]


def thread_id_for(team: str, channel: str, thread_ts: str) -> str:
    return f"slack:{team}:{channel}:{thread_ts}"


def _team(body: dict[str, Any], event: dict[str, Any] | None = None) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id") or (event or {}).get("team") or "T"
    return str(team)


def _claim_keys(body: dict[str, Any], event: dict[str, Any]) -> list[str]:
    keys = []
    if body.get("event_id"):
        keys.append(f"event:{body['event_id']}")
    if event.get("channel") and event.get("ts"):
        # message + app_mention deliver the same message under two event ids: channel+ts catches the pair
        keys.append(f"message:{_team(body, event)}:{event['channel']}:{event['ts']}")
    return keys


def _claim(database_url: str, keys: list[str], purge: bool) -> bool:
    """Durable dedupe; now and then also forget keys older than Slack's retry horizon."""
    from db.engine import write_session
    from db.queries.access import mark_slack_events_seen, purge_slack_events_seen

    with write_session(database_url) as session:
        if purge:
            purge_slack_events_seen(session)
        return mark_slack_events_seen(session, keys)


def _open_choice(database_url: str, thread_id: str, value: str, button_text: str) -> Choice | None:
    """The reading a clicked button picks, if the thread's last reply still offers it (as this button shows it):
    a button on an older question, or one the conversation has moved past, answers nothing."""
    shown = html.unescape(button_text).strip()  # Slack may hand text back with its three escapes
    for choice in offered_choices(database_url, thread_id):
        if str(choice.number) == value and (not shown or blocks.choice_button_text(choice) == shown):
            return choice
    return None


def _thread_is_engaged(database_url: str, thread_id: str) -> bool:
    from db.engine import read_session
    from db.queries.conversations import recent_conversation_turns

    with read_session(database_url) as session:
        return bool(recent_conversation_turns(session, thread_id=thread_id, limit=1))


def register(app: AsyncApp, surface: SlackSurface) -> None:
    from slack_bolt.async_app import AsyncAssistant

    metrics = surface.metrics

    async def post_reply(client: AsyncWebClient, channel: str, thread_ts: str | None, reply: AssistantReply) -> None:
        await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=blocks.fallback_text(reply.error or reply.text),
            blocks=blocks.reply_blocks(reply),
        )
        for path in reply.charts:
            name = chart_name(surface.settings, path)
            file = await surface.run_blocking(chart_file, surface.settings, name) if name else None
            if file is None:
                continue
            await client.files_upload_v2(
                channel=channel, thread_ts=thread_ts, file=str(file), filename=file.name, title="Chart"
            )

    async def ask(actor: Actor, text: str, thread_id: str) -> AssistantReply:
        request = AskRequest(text=text, actor=actor, thread_id=thread_id, database_url=surface.database_url)
        reply = await surface.run_blocking(surface.service.ask, request)
        metrics.chat_turns.labels(surface="slack", engine=reply.engine, outcome="error" if reply.error else "ok").inc()
        for call in reply.tool_calls:
            metrics.record_tool(call.name, call.error_code)
        return reply

    async def answer_message(
        body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, kind: str, *, addressed: bool
    ) -> None:
        """One user message: filter, dedupe durably, map the user, answer in the thread."""
        if event.get("bot_id") or event.get("subtype") or not event.get("user"):
            metrics.slack_events.labels(kind=kind, outcome="ignored").inc()
            return
        channel, ts = str(event.get("channel", "")), str(event.get("ts", ""))
        thread_ts = str(event.get("thread_ts") or ts)
        thread_id = thread_id_for(_team(body, event), channel, thread_ts)
        # a thread reply without a mention is for us only in threads this bot is already part of
        if not addressed and (
            not event.get("thread_ts")
            or not await surface.run_blocking(_thread_is_engaged, surface.database_url, thread_id)
        ):
            metrics.slack_events.labels(kind=kind, outcome="not_for_us").inc()
            return
        surface.claims += 1
        purge = surface.claims % PURGE_EVERY == 1
        if not await surface.run_blocking(_claim, surface.database_url, _claim_keys(body, event), purge):
            metrics.slack_events.labels(kind=kind, outcome="duplicate").inc()
            log.info("slack.duplicate", kind=kind)
            return
        actor = await surface.run_blocking(actor_for_slack_user, surface.database_url, str(event["user"]))
        if actor is None:
            metrics.slack_events.labels(kind=kind, outcome="unknown_user").inc()
            log.info("slack.unknown_user", kind=kind)
            if event.get("channel_type") == "im":
                await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=blocks.refusal_text())
            else:
                await client.chat_postEphemeral(channel=channel, user=str(event["user"]), text=blocks.refusal_text())
            return
        text = MENTION.sub("", str(event.get("text") or "")).strip()
        if not text:
            await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=blocks.HELP_TEXT)
            return
        reply = await ask(actor, text, thread_id)
        await post_reply(client, channel, thread_ts, reply)
        metrics.slack_events.labels(kind=kind, outcome="answered").inc()
        log.info("slack.answered", kind=kind, role=actor.role.value, proposals=len(reply.proposals))

    async def guarded(coroutine: Any, client: AsyncWebClient, channel: str | None, thread_ts: str | None) -> None:
        """Run a listener body; any failure becomes one friendly line, never a stack trace."""
        try:
            await coroutine
        except Exception as error:
            log.error("slack.listener_failed", error=type(error).__name__)
            if channel:
                try:
                    await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=FRIENDLY_FAILURE)
                except Exception as post_error:
                    log.error("slack.post_failed", error=type(post_error).__name__)

    # --- the Assistant side panel (Slack's AI apps surface) -------------------------------------------------------

    assistant = AsyncAssistant()

    @assistant.thread_started
    async def on_thread_started(say: Any, set_suggested_prompts: Any) -> None:
        await say("Hi! Ask me about exposure, scores, limits, worklists, dunning or the portfolio.")
        await set_suggested_prompts(prompts=SUGGESTED_PROMPTS)

    @assistant.user_message
    async def on_assistant_message(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
        channel, thread_ts = event.get("channel"), event.get("thread_ts")
        await guarded(answer_message(body, event, client, "assistant", addressed=True), client, channel, thread_ts)

    app.use(assistant)

    # --- events -------------------------------------------------------------------------------------------------

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
        channel, thread_ts = event.get("channel"), event.get("thread_ts") or event.get("ts")
        await guarded(answer_message(body, event, client, "app_mention", addressed=True), client, channel, thread_ts)

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
        addressed = event.get("channel_type") == "im"
        channel, thread_ts = event.get("channel"), event.get("thread_ts") or event.get("ts")
        await guarded(answer_message(body, event, client, "message", addressed=addressed), client, channel, thread_ts)

    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        user = str(event["user"])
        try:
            view = await surface.run_blocking(_home_view, surface.database_url, user)
            await client.views_publish(user_id=user, view=view)
        except Exception as error:
            log.error("slack.home_failed", error=type(error).__name__)

    # --- /credit --------------------------------------------------------------------------------------------------

    @app.command("/credit")
    async def on_credit(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        text = str(command.get("text") or "").strip()
        try:
            if not text or text.lower() in ("help", "?"):
                await respond(text=blocks.HELP_TEXT, response_type="ephemeral")
                return
            actor = await surface.run_blocking(actor_for_slack_user, surface.database_url, str(command.get("user_id")))
            if actor is None:
                metrics.slack_events.labels(kind="command", outcome="unknown_user").inc()
                await respond(text=blocks.refusal_text(), response_type="ephemeral")
                return
            channel = str(command.get("channel_id") or "")
            thread_id = thread_id_for(str(command.get("team_id") or "T"), channel, f"credit-{command.get('user_id')}")
            reply = await ask(actor, text, thread_id)
            extra = []
            if reply.charts:
                extra.append(blocks.context("Charts are posted when you ask me in a direct message or a mention."))
            await respond(
                text=blocks.fallback_text(reply.error or reply.text),
                blocks=blocks.reply_blocks(reply) + extra,
                response_type="ephemeral",
            )
            metrics.slack_events.labels(kind="command", outcome="answered").inc()
        except Exception as error:
            log.error("slack.command_failed", error=type(error).__name__)
            await respond(text=FRIENDLY_FAILURE, response_type="ephemeral")

    # --- Approve / Reject -----------------------------------------------------------------------------------------

    async def on_decision(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, decision: DecisionKind
    ) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        channel = str((body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        message_ts = str((body.get("container") or {}).get("message_ts") or message.get("ts") or "")
        value = str(action.get("value") or "")
        if not value.isdigit() or len(value) > 10:
            await client.chat_postEphemeral(channel=channel, user=user, text="That button is not valid any more.")
            return
        proposal_id = int(value)
        actor = await surface.run_blocking(actor_for_slack_user, surface.database_url, user)
        if actor is None:
            metrics.slack_events.labels(kind="decision", outcome="unknown_user").inc()
            await client.chat_postEphemeral(channel=channel, user=user, text=blocks.refusal_text())
            return
        from tools.actions.proposals import decide_proposal

        try:
            outcome = await surface.run_blocking(
                decide_proposal, surface.database_url, proposal_id, actor, decision, via="slack"
            )
        except CreditDeskError as error:
            metrics.slack_events.labels(kind="decision", outcome=error.code.value).inc()
            log.info("slack.decision_refused", proposal_id=proposal_id, code=error.code.value)
            await client.chat_postEphemeral(channel=channel, user=user, text=f"Not done: {error.message}")
            return
        shown = outcome.proposal
        said = outcome.message
        if outcome.already_decided:
            await client.chat_postEphemeral(channel=channel, user=user, text=outcome.message)
            # the channel's message keeps the recorded decision, whichever of two clicks updates it last
            said = blocks.recorded_decision(shown.id, shown.status, shown.decided_by)
        line = blocks.decision_line(decided_by=shown.decided_by or actor.name, status=shown.status, message=said)
        if message_ts and channel:
            updated = blocks.after_decision(list(message.get("blocks") or []), proposal_id, line)
            await client.chat_update(channel=channel, ts=message_ts, blocks=updated, text=blocks.fallback_text(said))
        metrics.slack_events.labels(kind="decision", outcome="executed" if outcome.executed else "noop").inc()
        log.info("slack.decided", proposal_id=proposal_id, executed=outcome.executed, status=outcome.proposal.status)

    # --- the readings of a clarifying question ---------------------------------------------------------------------

    async def on_choice(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        """A reading's button: answer the question with its number, as the clicking user, like a typed reply."""
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        message_ts = str(container.get("message_ts") or message.get("ts") or "")
        # /credit answers are ephemeral: Slack sends no message with the click, and the thread is the user's own
        ephemeral = bool(container.get("is_ephemeral")) or not message
        value = str(action.get("value") or "")
        if not value.isdigit() or len(value) > 2 or not channel or not message_ts:
            await client.chat_postEphemeral(channel=channel, user=user, text="That button is not valid any more.")
            return
        actor = await surface.run_blocking(actor_for_slack_user, surface.database_url, user)
        if actor is None:
            metrics.slack_events.labels(kind="choice", outcome="unknown_user").inc()
            await client.chat_postEphemeral(channel=channel, user=user, text=blocks.refusal_text())
            return
        team = _team(body)
        if ephemeral:
            thread_ts = None
            thread_id = thread_id_for(team, channel, f"credit-{user}")
        else:
            thread_ts = str(message.get("thread_ts") or container.get("thread_ts") or message_ts)
            thread_id = thread_id_for(team, channel, thread_ts)
        button_text = str((action.get("text") or {}).get("text") or "")
        choice = await surface.run_blocking(_open_choice, surface.database_url, thread_id, value, button_text)
        if choice is None:
            metrics.slack_events.labels(kind="choice", outcome="stale").inc()
            await client.chat_postEphemeral(channel=channel, user=user, text=CHOICE_GONE)
            return
        # one answer per question, however many clicks (double clicks, two people): the first claim wins
        claim = [f"choice:{team}:{channel}:{message_ts}"]
        if not await surface.run_blocking(_claim, surface.database_url, claim, False):
            metrics.slack_events.labels(kind="choice", outcome="duplicate").inc()
            await client.chat_postEphemeral(channel=channel, user=user, text="That question was answered already.")
            return
        line = blocks.choice_line(chosen_by=actor.name, button_text=blocks.choice_button_text(choice))
        if ephemeral:
            await respond(replace_original=True, text=blocks.fallback_text(line), blocks=[blocks.context(line)])
            reply = await ask(actor, value, thread_id)
            await respond(
                replace_original=False,
                response_type="ephemeral",
                text=blocks.fallback_text(reply.error or reply.text),
                blocks=blocks.reply_blocks(reply),
            )
        else:
            updated = blocks.after_choice(list(message.get("blocks") or []), line)
            await client.chat_update(
                channel=channel,
                ts=message_ts,
                blocks=updated,
                text=blocks.fallback_text(str(message.get("text") or line)),
            )
            reply = await ask(actor, value, thread_id)
            await post_reply(client, channel, thread_ts, reply)
        metrics.slack_events.labels(kind="choice", outcome="answered").inc()
        log.info("slack.choice_answered", number=choice.number, capability=choice.capability, role=actor.role.value)

    @app.action(blocks.CHOICE_ACTION_PATTERN)
    async def on_choice_click(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        try:
            await on_choice(ack, body, action, client, respond)
        except Exception as error:  # one friendly line, never a stack trace
            log.error("slack.choice_failed", error=type(error).__name__)
            await ack()  # a second ack is ignored by Bolt; a missing one would make Slack show an error
            container = body.get("container") or {}
            message = body.get("message") or {}
            try:
                if container.get("is_ephemeral") or not message:
                    await respond(text=FRIENDLY_FAILURE, response_type="ephemeral", replace_original=False)
                else:
                    thread_ts = message.get("thread_ts") or container.get("thread_ts") or container.get("message_ts")
                    await client.chat_postMessage(
                        channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
                        thread_ts=thread_ts,
                        text=FRIENDLY_FAILURE,
                    )
            except Exception as post_error:
                log.error("slack.post_failed", error=type(post_error).__name__)

    @app.action(blocks.APPROVE_ACTION)
    async def on_approve(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await _safely(on_decision(ack, body, action, client, "approve"), ack)

    @app.action(blocks.REJECT_ACTION)
    async def on_reject(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await _safely(on_decision(ack, body, action, client, "reject"), ack)


async def _safely(coroutine: Any, ack: Any) -> None:
    try:
        await coroutine
    except Exception as error:
        log.error("slack.action_failed", error=type(error).__name__)
        await ack()  # a second ack is ignored by Bolt; a missing one would make Slack show an error


def _home_view(database_url: str, slack_user_id: str) -> dict[str, Any]:
    from tools.context import ToolContext
    from tools.registry import call_tool

    actor = actor_for_slack_user(database_url, slack_user_id)
    if actor is None:
        return blocks.home_view(name=None, worklist_markdown=None, note=blocks.refusal_text())
    try:
        worklist = call_tool("build_worklist", {"page_size": 10}, ToolContext(actor=actor, database_url=database_url))
    except CreditDeskError as error:
        return blocks.home_view(name=actor.name, worklist_markdown=None, note=f"No worklist here: {error.message}")
    return blocks.home_view(
        name=actor.name, worklist_markdown=blocks.worklist_markdown(worklist.model_dump(mode="json")), note=None
    )
