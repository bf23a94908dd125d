"""`creditdesk ask "…" --as USER` (one shot) and `creditdesk chat --as USER` (interactive): the assistant in the
terminal. Both go through `assistant.service.AssistantService`, like every other surface."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from core.errors import CreditDeskError
from integrations.cli.render import console, err_console, fail

if TYPE_CHECKING:
    from assistant.types import AssistantReply
    from tools.context import Actor

AsUser = Annotated[str, typer.Option("--as", help="Staff user asking (name, e-mail or Slack id).")]
Thread = Annotated[
    str | None, typer.Option("--thread", help="Conversation id to continue (printed after each answer).")
]
EXIT_WORDS = {"exit", "quit", "bye", ":q"}


def make_service() -> Any:
    """The service the commands use (tests swap in one with a scripted model)."""
    from assistant.service import AssistantService

    return AssistantService()


def _actor(handle: str) -> Actor:
    from db.engine import read_session
    from db.queries.staff import get_staff_user
    from tools.context import Actor

    with read_session() as session:
        return Actor.from_user(get_staff_user(session, handle))


def _print_text(reply: AssistantReply) -> None:
    """The answer as Markdown; a clarifying question's readings as numbered lines of their own (Markdown would run
    the line after the list into the last reading, and drop the numbers' dots)."""
    if not reply.choices:
        console.print(Markdown(reply.text))
        return
    numbered = {f"{choice.number}. {choice.label}" for choice in reply.choices}
    lines = reply.text.splitlines()
    listed = [index for index, line in enumerate(lines) if line.strip() in numbered]
    before = lines[: listed[0]] if listed else lines
    after = lines[listed[-1] + 1 :] if listed else []
    if "\n".join(before).strip():
        console.print(Markdown("\n".join(before)))
    for choice in reply.choices:
        console.print(f"  [bold]{choice.number}.[/] {escape(choice.label)}", highlight=False)
    if "\n".join(after).strip():
        console.print(Markdown("\n".join(after)))


def render_reply(reply: AssistantReply) -> None:
    """The reply as rich text: the answer (a clarifying question's readings numbered), proposals with how to decide
    them, citations, charts (drawn now, so the printed path opens), errors."""
    from tools.charts import materialise

    if reply.error:
        err_console.print(f"[bold red]error[/]: {reply.error}")
        if reply.text and reply.text != reply.error:
            _print_text(reply)
    else:
        _print_text(reply)
    if reply.proposals:
        table = Table("id", "action", "summary", "status", "approver", title="Proposals")
        for ref in reply.proposals:
            table.add_row(
                f"#{ref.id}", ref.action, ref.summary, ref.status, (ref.required_role or "").replace("_", " ")
            )
        console.print(table)
        for ref in reply.proposals:
            if ref.status == "pending":
                console.print(
                    f"  approve: [bold]creditdesk proposals approve {ref.id} --as USER[/]  ·  "
                    f"reject: creditdesk proposals reject {ref.id} --as USER  ·  "
                    f"details: creditdesk proposals show {ref.id} --as USER"
                )
    if reply.citations:
        console.print(
            "[dim]Sources: "
            + "; ".join(f"{c.document} §{c.section}" + (f" p.{c.page}" if c.page else "") for c in reply.citations)
            + "[/]"
        )
    for chart in reply.charts:
        drawn = materialise(chart)
        console.print(f"[dim]chart: {drawn or chart}[/]")
    usage = reply.usage
    details = [reply.engine] + ([f"intent {reply.intent}"] if reply.intent else [])
    if usage.model_calls:
        details.append(f"{usage.model_calls} model call(s), {usage.input_tokens}+{usage.output_tokens} tokens")
    if reply.tool_calls:
        details.append("tools: " + ", ".join(call.name for call in reply.tool_calls))
    console.print(f"[dim]{' · '.join(details)}[/]")


def _ask_once(service: Any, actor: Actor, text: str, thread_id: str) -> AssistantReply:
    with console.status("thinking…", spinner="dots"):
        reply: AssistantReply = service.ask_text(text, actor=actor, thread_id=thread_id)
        return reply


def ask_command(
    text: Annotated[str, typer.Argument(help="Your question or request, in plain words.")],
    as_user: AsUser,
    thread: Thread = None,
) -> None:
    """Ask the credit desk one question. Changes come back as proposals for a human to approve."""
    try:
        actor = _actor(as_user)
    except CreditDeskError as error:
        fail(error)
    thread_id = thread or f"cli:{uuid.uuid4().hex[:12]}"
    with make_service() as service:
        reply = _ask_once(service, actor, text, thread_id)
    render_reply(reply)
    if reply.choices:
        console.print(f"[dim]pick one with: creditdesk ask NUMBER --as {escape(as_user)} --thread {thread_id}[/]")
    console.print(f"[dim]continue this conversation with --thread {thread_id}[/]")
    if reply.error:
        raise typer.Exit(1)


def chat_command(as_user: AsUser, thread: Thread = None) -> None:
    """Talk to the credit desk interactively (type 'exit' to leave)."""
    try:
        actor = _actor(as_user)
    except CreditDeskError as error:
        fail(error)
    thread_id = thread or f"cli:{uuid.uuid4().hex[:12]}"
    with make_service() as service:
        engine = service.engine()
        console.print(
            f"[bold]creditdesk[/] · {actor.name} ({actor.role.value.replace('_', ' ')}) · "
            f"{'model' if engine == 'agent' else 'offline planner'} · thread {thread_id} · 'exit' to leave"
        )
        while True:
            try:
                text = console.input("[bold cyan]you ›[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                break
            if not text:
                continue
            if text.lower() in EXIT_WORDS:
                break
            # a clarifying question is answered by typing a reading's number, as on every other surface
            render_reply(_ask_once(service, actor, text, thread_id))
    console.print(f"[dim]resume with: creditdesk chat --as {as_user} --thread {thread_id}[/]")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
    app.command("chat")(chat_command)
