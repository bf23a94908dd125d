"""Slack: signed requests posted to the FastAPI app (events, `/credit`, block actions), answered through the real
assistant service (offline planner) against a local mock of Slack's Web API. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from assistant.service import AssistantService
from assistant.types import AssistantReply, Choice, Citation, ProposalRef
from core.settings import get_settings
from db.engine import read_session
from db.models import ConversationTurn
from integrations.api.app import create_app
from integrations.slack import blocks
from tests.support.clarifying import two_close_readings as force_two_close_readings
from tests.support.slack_mock import BOT_USER_ID, TEAM_ID, MockSlack
from tests.support.surfaces import executed_events, manager_sized_limit, proposal_decision, worklist_names

SECRET = "test-signing-secret-0123456789"
MORGAN, AVERY, CASEY, SAM, STRANGER = "U0MORGAN0", "U0AVERY0", "U0CASEY0", "U0SAM0", "U0NOBODY9"
CHANNEL, DM = "C0CREDIT0", "D0DIRECT0"


@pytest.fixture
def mock_slack() -> Iterator[MockSlack]:
    mock = MockSlack().start()
    yield mock
    mock.stop()


@dataclass
class Slack:
    client: TestClient
    mock: MockSlack
    url: str

    def post(self, body: bytes, content_type: str, *, secret: str = SECRET, age: int = 0, retry: int | None = None):
        timestamp = str(int(time.time()) - age)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body),
        }
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.client.post("/slack/events", content=body, headers=headers)

    def event(self, event: dict[str, Any], event_id: str, **kwargs: Any):
        body = {
            "token": "unused",
            "team_id": TEAM_ID,
            "api_app_id": "A0CREDIT0",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        return self.post(json.dumps(body).encode(), "application/json", **kwargs)

    def command(self, text: str, user: str, **kwargs: Any):
        form = {
            "command": "/credit",
            "text": text,
            "user_id": user,
            "channel_id": CHANNEL,
            "team_id": TEAM_ID,
            "response_url": self.mock.response_url,
            "trigger_id": "1.2.3",
            "api_app_id": "A0CREDIT0",
        }
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", **kwargs)

    def click(
        self,
        action_id: str,
        value: str,
        user: str,
        message: dict[str, Any],
        *,
        block_id: str | None = None,
        text: str | None = None,
        ephemeral: bool = False,
        **kwargs: Any,
    ):
        container = {"type": "message", "channel_id": CHANNEL, "message_ts": message["ts"]}
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        action: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id or f"proposal:{value}",
            "value": value,
            "action_ts": str(time.time()),
        }
        if text is not None:
            action["text"] = {"type": "plain_text", "text": text, "emoji": False}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "api_app_id": "A0CREDIT0",
            "container": container,
            "channel": {"id": CHANNEL},
            "message": message,
            "response_url": self.mock.response_url,
            "trigger_id": "1.2.3",
            "actions": [action],
        }
        if ephemeral:  # Slack sends no message with a click on an ephemeral one (a /credit answer)
            container["is_ephemeral"] = True
            del payload["message"]
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)


@pytest.fixture
def slack(seeded_db_url: str, mock_slack: MockSlack) -> Iterator[Slack]:
    settings = get_settings().model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-test-token"),
            "slack_signing_secret": SecretStr(SECRET),
            "slack_api_url": mock_slack.api_url,
        }
    )
    app = create_app(
        settings=settings,
        database_url=seeded_db_url,
        service=AssistantService(database_url=seeded_db_url, engine="planner"),
    )
    with TestClient(app) as client:
        yield Slack(client=client, mock=mock_slack, url=seeded_db_url)


def slack_text(plain: str) -> str:
    """How plain text reads inside a Block Kit payload: Slack's three escapes, then JSON's."""
    escaped = plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return json.dumps(escaped)[1:-1]


def mention(text: str, user: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "channel": CHANNEL,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }


def message(text: str, user: str, ts: str, channel: str = CHANNEL, channel_type: str = "channel", **extra: Any):
    return {
        "type": "message",
        "user": user,
        "text": text,
        "channel": channel,
        "channel_type": channel_type,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }


def turns(url: str) -> int:
    with read_session(url) as session:
        return int(session.scalar(select(func.count()).select_from(ConversationTurn)) or 0)


# --- events ---------------------------------------------------------------------------------------------------


def test_mention_is_answered_once_despite_retries_and_double_delivery(slack: Slack) -> None:
    ts = "1700000100.000100"
    assert slack.event(mention("What is the exposure of Acme?", AVERY, ts), "Ev0001").status_code == 200
    assert slack.event(mention("What is the exposure of Acme?", AVERY, ts), "Ev0001", retry=1).status_code == 200
    assert slack.event(mention("What is the exposure of Acme?", AVERY, ts), "Ev0001", retry=2).status_code == 200
    twin = message(f"<@{BOT_USER_ID}> What is the exposure of Acme?", AVERY, ts)
    assert slack.event(twin, "Ev0002").status_code == 200  # the message event for the same message
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) >= 1)
    slack.mock.settle()
    posts = slack.mock.of("chat.postMessage")
    assert len(posts) == 1
    answer = posts[0].args
    assert answer["channel"] == CHANNEL and answer["thread_ts"] == ts
    text = json.dumps(answer["blocks"])
    assert "*Acme Corporation*" in text and "Total exposure" in text


class _HeldService(AssistantService):
    """The planner, held before answering until the test lets it go."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url=database_url, engine="planner")
        self.started = threading.Event()
        self.release = threading.Event()

    def ask(self, request: Any) -> Any:
        self.started.set()
        assert self.release.wait(30), "the test never released the answer"
        return super().ask(request)


def test_an_event_is_acknowledged_before_the_answer_is_worked_out(seeded_db_url: str, mock_slack: MockSlack) -> None:
    # Slack retries an event it has not had a 200 for within 3 seconds: the ack must never wait for the assistant.
    # Shown without a clock: the 200 arrives while the answer is still held back.
    settings = get_settings().model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-test-token"),
            "slack_signing_secret": SecretStr(SECRET),
            "slack_api_url": mock_slack.api_url,
        }
    )
    service = _HeldService(seeded_db_url)
    with TestClient(create_app(settings=settings, database_url=seeded_db_url, service=service)) as client:
        held = Slack(client=client, mock=mock_slack, url=seeded_db_url)
        response = held.event(mention("What is the exposure of Acme?", AVERY, "1700000150.000100"), "Ev0050")
        assert response.status_code == 200
        assert service.started.wait(30) and not mock_slack.of("chat.postMessage")  # acked, answer still held
        service.release.set()
        mock_slack.wait_for(lambda: len(mock_slack.of("chat.postMessage")) == 1)


def test_dm_thread_follow_up_and_ignored_messages(slack: Slack) -> None:
    ts = "1700000200.000100"
    slack.event(message("show my worklist", CASEY, ts, channel=DM, channel_type="im"), "Ev0101")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 1)
    worklist = slack.mock.of("chat.postMessage")[0].args
    assert worklist["thread_ts"] == ts
    table = json.dumps(worklist["blocks"])
    ranked = worklist_names(slack.url, "casey")
    assert ranked, "casey's book has work on every business date (the demo's Acme script)"
    assert "```" in table and slack_text(ranked[0]) in table  # the pipe table became a monospace table

    # a reply in that thread needs no mention: the thread is the conversation
    slack.event(
        message("what is their score?", CASEY, "1700000200.000200", channel=DM, channel_type="im", thread_ts=ts),
        "Ev0102",
    )
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 2)
    assert slack.mock.of("chat.postMessage")[1].args["thread_ts"] == ts

    # channel threads: a reply without mention is answered only where the bot already took part
    channel_ts = "1700000300.000100"
    slack.event(mention("exposure of acme", AVERY, channel_ts), "Ev0103")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 3)
    slack.event(message("and the score?", AVERY, "1700000300.000200", thread_ts=channel_ts), "Ev0104")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 4)
    before = len(slack.mock.calls)
    slack.event(message("chatting among humans", AVERY, "1700000400.000200", thread_ts="1700000400.000100"), "Ev0105")
    slack.event(message("top-level chatter", AVERY, "1700000500.000100"), "Ev0106")
    slack.event(
        message("bot says hi", AVERY, "1700000600.000100", channel=DM, channel_type="im", bot_id="B1"), "Ev0107"
    )
    slack.event(
        message("edited", AVERY, "1700000700.000100", channel=DM, channel_type="im", subtype="message_changed"),
        "Ev0108",
    )
    slack.mock.settle()
    assert len(slack.mock.calls) == before


def test_unknown_slack_user_reads_nothing_and_does_nothing(slack: Slack) -> None:
    before = turns(slack.url)
    slack.event(mention("What is the exposure of Acme?", STRANGER, "1700000800.000100"), "Ev0201")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postEphemeral")) == 1)
    slack.event(message("worklist please", STRANGER, "1700000800.000200", channel=DM, channel_type="im"), "Ev0202")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 1)
    slack.mock.settle()
    refusal = slack.mock.of("chat.postEphemeral")[0].args
    assert refusal["user"] == STRANGER and "don't recognise your Slack account" in refusal["text"]
    assert "Acme" not in json.dumps([c.args for c in slack.mock.calls])
    assert turns(slack.url) == before  # the assistant never ran


def test_forged_and_replayed_requests_are_refused(slack: Slack) -> None:
    event = mention("exposure of acme", AVERY, "1700000900.000100")
    assert slack.event(event, "Ev0301", secret="not-the-secret").status_code == 401
    assert slack.event(event, "Ev0302", age=6 * 60).status_code == 401  # outside the 5-minute window
    assert slack.command("exposure of acme", AVERY, secret="wrong").status_code == 401
    unsigned = slack.client.post("/slack/events", content=b"{}", headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    slack.mock.settle()
    assert [c.method for c in slack.mock.calls if c.method != "auth.test"] == []


def test_chart_is_uploaded_with_files_upload_v2(slack: Slack) -> None:
    slack.event(mention("portfolio ageing chart by region", MORGAN, "1700001000.000100"), "Ev0401")
    slack.mock.wait_for(lambda: len(slack.mock.of("files.completeUploadExternal")) == 1)
    assert slack.mock.of("files.getUploadURLExternal")[0].args["filename"].endswith(".png")
    assert slack.mock.uploads[0][:8] == b"\x89PNG\r\n\x1a\n"
    complete = slack.mock.of("files.completeUploadExternal")[0].args
    assert complete["channel_id"] == CHANNEL and complete["thread_ts"] == "1700001000.000100"


def test_app_home_shows_the_users_worklist(slack: Slack) -> None:
    slack.event({"type": "app_home_opened", "user": CASEY, "tab": "home", "channel": DM}, "Ev0501")
    slack.event({"type": "app_home_opened", "user": SAM, "tab": "home", "channel": DM}, "Ev0502")
    slack.mock.wait_for(lambda: len(slack.mock.of("views.publish")) == 2)
    views = {call.args["user_id"]: json.dumps(call.args["view"]) for call in slack.mock.of("views.publish")}
    top = slack_text(worklist_names(slack.url, "casey")[0])
    assert top in views[CASEY] and "Your worklist" in views[CASEY]
    assert "not available to the sales role" in views[SAM]


# --- /credit --------------------------------------------------------------------------------------------------------


def test_slash_command(slack: Slack) -> None:
    response = slack.command("exposure of acme", AVERY)
    assert response.status_code == 200
    slack.mock.wait_for(lambda: len(slack.mock.of("response_url")) == 1)
    answer = slack.mock.of("response_url")[0].args
    assert answer["response_type"] == "ephemeral" and "Acme Corporation" in json.dumps(answer["blocks"])
    slack.command("exposure of acme", STRANGER)
    slack.command("", AVERY)
    slack.mock.wait_for(lambda: len(slack.mock.of("response_url")) == 3)
    texts = [call.args.get("text", "") for call in slack.mock.of("response_url")[1:]]
    assert any("don't recognise" in text for text in texts) and any("/credit" in text for text in texts)


# --- approvals -----------------------------------------------------------------------------------------------------


def _proposal_message(slack: Slack, ts: str) -> tuple[int, dict[str, Any]]:
    new_limit = manager_sized_limit(slack.url, "Stark")
    text = f"propose a credit limit of {new_limit} for Stark because of seasonal orders"
    slack.event(mention(text, AVERY, ts), "Ev" + ts)
    slack.mock.wait_for(lambda: any(c.args.get("thread_ts") == ts for c in slack.mock.of("chat.postMessage")))
    posted = next(c.args for c in slack.mock.of("chat.postMessage") if c.args.get("thread_ts") == ts)
    actions = [b for b in posted["blocks"] if b["type"] == "actions"]
    assert len(actions) == 1
    buttons = actions[0]["elements"]
    assert [b["action_id"] for b in buttons] == [blocks.APPROVE_ACTION, blocks.REJECT_ACTION]
    proposal_id = int(buttons[0]["value"])
    assert {b["value"] for b in buttons} == {str(proposal_id)}  # the buttons carry only the id
    return proposal_id, {"ts": "1700009999.000001", "blocks": posted["blocks"], "text": posted["text"]}


def test_button_click_is_rechecked_and_executes_once(slack: Slack) -> None:
    proposal_id, msg = _proposal_message(slack, "1700002000.000100")

    slack.click(blocks.APPROVE_ACTION, str(proposal_id), STRANGER, msg)  # unknown Slack user
    slack.click(blocks.APPROVE_ACTION, str(proposal_id), AVERY, msg)  # the proposer: four-eyes
    slack.click(blocks.APPROVE_ACTION, str(proposal_id), SAM, msg)  # sales: no authority
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postEphemeral")) == 3)
    slack.mock.settle()
    assert proposal_decision(slack.url, proposal_id) is None and not slack.mock.of("chat.update")
    refusals = {c.args["user"]: c.args["text"] for c in slack.mock.of("chat.postEphemeral")}
    assert "don't recognise" in refusals[STRANGER] and refusals[AVERY].startswith("Not done")

    with ThreadPoolExecutor(2) as pool:  # a double click, as close together as the test client allows
        responses = list(pool.map(lambda _: slack.click(blocks.APPROVE_ACTION, str(proposal_id), MORGAN, msg), [1, 2]))
    assert [r.status_code for r in responses] == [200, 200]
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.update")) == 2)
    slack.mock.settle()
    assert executed_events(slack.url, proposal_id) == 1 and proposal_decision(slack.url, proposal_id) == "approved"
    update = slack.mock.of("chat.update")[0].args
    assert update["channel"] == CHANNEL and update["ts"] == msg["ts"]
    rendered = json.dumps(update["blocks"])
    assert "approved by morgan and executed" in rendered and blocks.APPROVE_ACTION not in rendered
    assert any("already approved" in c.args["text"] for c in slack.mock.of("chat.postEphemeral"))
    # whichever click's update lands last, the channel's message shows the recorded decision
    assert all("approved by morgan and executed" in json.dumps(c.args["blocks"]) for c in slack.mock.of("chat.update"))


def test_reject_button(slack: Slack) -> None:
    proposal_id, msg = _proposal_message(slack, "1700003000.000100")
    slack.click(blocks.REJECT_ACTION, str(proposal_id), MORGAN, msg)
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.update")) == 1)
    assert proposal_decision(slack.url, proposal_id) == "rejected" and executed_events(slack.url, proposal_id) == 0
    assert "rejected" in json.dumps(slack.mock.of("chat.update")[0].args["blocks"])
    slack.click(blocks.APPROVE_ACTION, "12; DROP TABLE proposal", MORGAN, msg)
    slack.mock.wait_for(lambda: any("not valid" in c.args["text"] for c in slack.mock.of("chat.postEphemeral")))


# --- clarifying questions ------------------------------------------------------------------------------------------


@pytest.fixture
def two_close_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message reads as exposure or score, too close to tell: the planner asks which (no classifier needed)."""
    force_two_close_readings(monkeypatch)


def _choice_buttons(posted: dict[str, Any]) -> list[dict[str, Any]]:
    actions = [b for b in posted["blocks"] if b["type"] == "actions"]
    assert len(actions) == 1 and actions[0]["block_id"] == blocks.CHOICE_BLOCK_ID
    return list(actions[0]["elements"])


def test_clarifying_question_buttons_answer_the_picked_reading_once(slack: Slack, two_close_readings: None) -> None:
    ts = "1700004000.000100"
    slack.event(mention("acme please", AVERY, ts), "Ev0601")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 1)
    question = slack.mock.of("chat.postMessage")[0].args
    assert question["thread_ts"] == ts and "Which do you mean?" in json.dumps(question["blocks"])
    buttons = _choice_buttons(question)
    assert [b["value"] for b in buttons] == ["1", "2"]  # the buttons carry only the number the user would type
    assert [b["action_id"] for b in buttons] == ["choice_pick_1", "choice_pick_2"]
    assert buttons[1]["text"]["text"].startswith("2. ") and "score" in buttons[1]["text"]["text"]
    msg = {"ts": "1700004000.000900", "thread_ts": ts, "blocks": question["blocks"], "text": question["text"]}
    second = buttons[1]["text"]["text"]

    def pick(user: str) -> Any:
        return slack.click("choice_pick_2", "2", user, msg, block_id=blocks.CHOICE_BLOCK_ID, text=second)

    before = turns(slack.url)
    pick(STRANGER)  # an unknown Slack user answers nothing
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postEphemeral")) == 1)
    assert "don't recognise" in slack.mock.of("chat.postEphemeral")[0].args["text"]
    assert turns(slack.url) == before and not slack.mock.of("chat.update")

    with ThreadPoolExecutor(2) as pool:  # a double click: one answer
        responses = list(pool.map(lambda _: pick(AVERY), [1, 2]))
    assert [r.status_code for r in responses] == [200, 200]  # acked (ack-first is timed in the tests above)
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 2)
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postEphemeral")) == 2)
    slack.mock.settle()
    answer = slack.mock.of("chat.postMessage")[1].args
    assert answer["channel"] == CHANNEL and answer["thread_ts"] == ts  # in the same thread
    rendered = json.dumps(answer["blocks"])
    assert "Acme Corporation" in rendered and "risk class" in rendered  # the score reading, for the same message
    assert not any(b["type"] == "actions" for b in answer["blocks"])
    assert turns(slack.url) == before + 1
    assert len(slack.mock.of("chat.update")) == 1
    update = slack.mock.of("chat.update")[0].args
    assert update["channel"] == CHANNEL and update["ts"] == msg["ts"]
    assert not any(b["type"] == "actions" for b in update["blocks"])  # the buttons are gone
    assert "avery chose" in json.dumps(update["blocks"]) and "Which do you mean?" in json.dumps(update["blocks"])
    loser = slack.mock.of("chat.postEphemeral")[1].args["text"]  # lost the claim, or came after the answer
    assert "answered already" in loser or "not open any more" in loser

    pick(MORGAN)  # a stale copy of the buttons, after the question was answered: nothing more is answered
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postEphemeral")) == 3)
    slack.mock.settle()
    assert "not open any more" in slack.mock.of("chat.postEphemeral")[2].args["text"]
    assert len(slack.mock.of("chat.postMessage")) == 2 and turns(slack.url) == before + 1


def test_typed_number_still_answers_a_clarifying_question(slack: Slack, two_close_readings: None) -> None:
    ts = "1700004100.000100"
    slack.event(mention("acme please", AVERY, ts), "Ev0701")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 1)
    slack.event(message("1", AVERY, "1700004100.000200", thread_ts=ts), "Ev0702")
    slack.mock.wait_for(lambda: len(slack.mock.of("chat.postMessage")) == 2)
    answer = json.dumps(slack.mock.of("chat.postMessage")[1].args["blocks"])
    assert "Acme Corporation" in answer and "Total exposure" in answer


def test_credit_command_choice_buttons_answer_ephemerally(slack: Slack, two_close_readings: None) -> None:
    slack.command("acme please", AVERY)
    slack.mock.wait_for(lambda: len(slack.mock.of("response_url")) == 1)
    question = slack.mock.of("response_url")[0].args
    first = _choice_buttons(question)[0]["text"]["text"]
    msg = {"ts": "1700004200.000900"}
    slack.click("choice_pick_1", "1", AVERY, msg, block_id=blocks.CHOICE_BLOCK_ID, text=first, ephemeral=True)
    slack.mock.wait_for(lambda: len(slack.mock.of("response_url")) == 3)
    replaced, answer = (call.args for call in slack.mock.of("response_url")[1:])
    assert replaced["replace_original"] is True and "avery chose" in json.dumps(replaced["blocks"])
    assert answer["replace_original"] is False and answer["response_type"] == "ephemeral"
    assert "Total exposure" in json.dumps(answer["blocks"])


# --- Block Kit rendering (pure) ------------------------------------------------------------------------------------


def test_blocks_render_tables_drafts_proposals_and_errors() -> None:
    reply = AssistantReply(
        text="**Worklist** for <!channel>\n| rank | customer |\n|---|---|\n| 1 | **Acme** |\n"
        "Draft:\n```\nDear Yuki,\nplease pay <now>.\n```\n[policy](https://example.com/p)",
        thread_id="t",
        engine="planner",
        proposals=[
            ProposalRef(
                id=7,
                action="set_credit_limit",
                summary="Raise <@U1> limit",
                status="pending",
                required_role="credit_manager",
            )
        ],
        citations=[Citation(document="Credit policy", section="4.2", page=3)],
    )
    rendered = blocks.reply_blocks(reply)
    text = rendered[0]["text"]["text"]
    assert text.startswith("*Worklist* for &lt;!channel&gt;")
    assert "```\nrank  customer\n----  --------\n1     Acme\n```" in text
    assert "```\nDear Yuki,\nplease pay &lt;now&gt;.\n```" in text
    assert "<https://example.com/p|policy>" in text
    actions = next(b for b in rendered if b["type"] == "actions")
    assert [e["value"] for e in actions["elements"]] == ["7", "7"] and actions["block_id"] == "proposal:7"
    assert "&lt;@U1&gt;" in json.dumps(rendered)
    assert "Credit policy § 4.2 p. 3" in rendered[-1]["elements"][0]["text"]

    failed = blocks.reply_blocks(AssistantReply(text="x", thread_id="t", engine="planner", error="x"))
    assert failed == [{"type": "section", "text": {"type": "mrkdwn", "text": ":warning: x"}}]
    long = blocks.reply_blocks(AssistantReply(text="```\n" + "line\n" * 2000 + "```", thread_id="t", engine="agent"))
    assert all(len(b["text"]["text"]) <= 3000 for b in long if b["type"] == "section")
    assert all(b["text"]["text"].count("```") % 2 == 0 for b in long if b["type"] == "section")
    decided = blocks.after_decision(rendered, 7, "done")
    assert not any(b["type"] == "actions" for b in decided) and decided[-2]["elements"][0]["text"] == "done"


def test_choice_buttons_are_cut_to_slacks_limits_and_replaced_after_a_pick() -> None:
    long = "a reading with a label far longer than the seventy-five characters Slack allows on a button"
    reply = AssistantReply(
        text="Which do you mean?\n1. short\n2. long\nReply with the number.",
        thread_id="t",
        engine="planner",
        choices=[
            Choice(number=1, label="short", capability="score_customer", text="x"),
            Choice(number=2, label=long, capability="get_customer_exposure", text="x"),
        ],
    )
    rendered = blocks.reply_blocks(reply)
    actions = rendered[-1]
    assert actions["type"] == "actions" and actions["block_id"] == blocks.CHOICE_BLOCK_ID
    texts = [e["text"]["text"] for e in actions["elements"]]
    assert texts[0] == "1. short" and len(texts[1]) == blocks.BUTTON_TEXT_LIMIT and texts[1].endswith("…")
    assert [e["value"] for e in actions["elements"]] == ["1", "2"]
    assert len({e["action_id"] for e in actions["elements"]}) == 2  # unique within the block, as Slack requires
    assert all(blocks.CHOICE_ACTION_PATTERN.match(e["action_id"]) for e in actions["elements"])
    picked = blocks.after_choice(rendered, blocks.choice_line(chosen_by="<!channel>", button_text=texts[0]))
    assert not any(b["type"] == "actions" for b in picked) and "&lt;!channel&gt; chose *1. short*" in json.dumps(picked)
    many = reply.model_copy(update={"text": "\n".join(["x" * 2800] * 60)})
    kept = blocks.reply_blocks(many)
    assert len(kept) <= blocks.MAX_BLOCKS and kept[-1]["block_id"] == blocks.CHOICE_BLOCK_ID


def test_manifest_matches_the_handlers() -> None:
    import yaml

    manifest = yaml.safe_load((Path(blocks.__file__).parent / "manifest.yaml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.im", "message.channels", "app_home_opened", "assistant_thread_started"} <= events
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/credit"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert {"chat:write", "files:write", "commands", "app_mentions:read", "im:history"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )
