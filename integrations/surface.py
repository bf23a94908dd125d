"""What every surface (REST API, web chat, Slack) shares: who the caller is, whether they may decide a proposal,
which chart files may be served, and the service interface they all call."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.settings import Settings

if TYPE_CHECKING:
    from assistant.types import AskRequest, AssistantReply, Choice
    from tools.actions.proposals import ProposalView
    from tools.context import Actor

CHART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.png$")


class ChatService(Protocol):
    """The one assistant service (`assistant.service.AssistantService`); tests pass a fake."""

    def ask(self, request: AskRequest) -> AssistantReply: ...


def build_default_service(database_url: str) -> ChatService:
    from assistant.service import AssistantService

    return AssistantService(database_url=database_url)


def charts_dir(settings: Settings) -> Path:
    return (settings.data_dir / "charts").resolve()


def chart_file(settings: Settings, name: str) -> Path | None:
    """The chart file called `name` if it is a PNG directly inside the charts folder (drawn now if the answer only
    planned it), else None."""
    from tools.charts import materialise

    if not CHART_NAME.match(name):
        return None
    folder = charts_dir(settings)
    path = (folder / name).resolve()
    if path.parent != folder:
        return None
    return materialise(path)


def chart_name(settings: Settings, path: str) -> str | None:
    """The public name of a chart the assistant produced, if it lives in the charts folder."""
    candidate = Path(path).resolve()
    if candidate.parent != charts_dir(settings) or not CHART_NAME.match(candidate.name):
        return None
    return candidate.name


def actor_for_handle(database_url: str, handle: str) -> Actor | None:
    """An active staff user by name, e-mail or Slack user id."""
    from db.engine import read_session
    from db.queries.staff import find_staff_user
    from tools.context import Actor

    with read_session(database_url) as session:
        user = find_staff_user(session, handle)
        return Actor.from_user(user) if user is not None else None


def actor_for_slack_user(database_url: str, slack_user_id: str) -> Actor | None:
    """The staff user linked to this Slack user id (exactly), or None: unknown users read nothing, do nothing."""
    from db.engine import read_session
    from db.queries.access import find_staff_user_by_slack_id
    from tools.context import Actor

    if not slack_user_id or len(slack_user_id) > 32:
        return None
    with read_session(database_url) as session:
        user = find_staff_user_by_slack_id(session, slack_user_id)
        return Actor.from_user(user) if user is not None else None


def offered_choices(database_url: str | None, thread_id: str) -> list[Choice]:
    """The readings the thread's last reply offers (a clarifying question), or none: a button that picks one is
    only worth sending while its question is still the last word in the conversation."""
    from assistant.memory import load_history

    history = load_history(database_url, thread_id, limit=1)
    return list(history[-1].choices) if history else []


def can_decide(view: ProposalView, actor: Actor) -> bool:
    """Whether to offer Approve/Reject to this user. Only a hint for the UI: deciding re-checks everything."""
    from tools.approvals import can_decide as decidable

    return decidable(view, actor)
