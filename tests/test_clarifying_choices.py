"""A clarifying question's readings outside Slack and the browser: in the REST API's reply (and its OpenAPI schema)
and as numbered lines in the CLI, where typing the number answers it. The planner is made to ask deterministically
(tests/support/clarifying.py); the answers are the real ones. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.service import AssistantService
from assistant.types import AssistantReply, Choice
from integrations.api.app import create_app
from integrations.cli import chat_commands
from integrations.cli.app import app as cli
from tests.support.clarifying import two_close_readings
from tests.support.surfaces import bearer, issue_keys


def test_api_reply_carries_choices_and_the_number_answers_in_the_same_conversation(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_close_readings(monkeypatch)
    app = create_app(database_url=seeded_db_url, service=AssistantService(database_url=seeded_db_url, engine="planner"))
    headers = bearer(issue_keys(seeded_db_url, ("avery",))["avery"])
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert schema["ChatResponse"]["properties"]["choices"]["items"] == {"$ref": "#/components/schemas/Choice"}
        assert {"number", "label", "capability", "text"} <= set(schema["Choice"]["properties"])

        question = client.post("/v1/chat", json={"message": "acme please"}, headers=headers).json()
        assert question["text"].startswith("Which do you mean?")
        assert [(c["number"], c["capability"]) for c in question["choices"]] == [
            (1, "get_customer_exposure"),
            (2, "score_customer"),
        ]
        conversation = question["conversation_id"]
        answer = client.post("/v1/chat", json={"message": "2", "conversation_id": conversation}, headers=headers)
        body = answer.json()
        assert answer.status_code == 200 and body["intent"] == "score" and body["choices"] == []
        assert "Acme Corporation" in body["text"] and "risk class" in body["text"]
        assert [t["name"] for t in body["tools"]][-1] == "score_customer"


def test_cli_prints_numbered_choices_and_typing_the_number_answers(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_close_readings(monkeypatch)
    monkeypatch.setattr(
        chat_commands, "make_service", lambda: AssistantService(database_url=seeded_db_url, engine="planner")
    )
    runner = CliRunner()
    chat = runner.invoke(
        cli, ["--db", seeded_db_url, "chat", "--as", "avery", "--thread", "cli-pick"], input="acme please\n1\nexit\n"
    )
    assert chat.exit_code == 0, chat.output
    question, answer = chat.output.split("Nothing was done.", 1)
    assert "1. a customer's balance, ageing, overdue, limit and headroom" in question
    assert "2. a customer's credit score and risk class, with the reasons" in question
    assert question.index("1. a customer's") < question.index("2. a customer's") < question.index("Reply with")
    assert "Acme Corporation" in answer and "Total exposure" in answer  # reading 1: the exposure of the same message

    one_shot = runner.invoke(cli, ["--db", seeded_db_url, "ask", "acme please", "--as", "avery", "--thread", "cli-1"])
    assert one_shot.exit_code == 0, one_shot.output
    assert "pick one with: creditdesk ask NUMBER --as avery --thread cli-1" in one_shot.output
    picked = runner.invoke(cli, ["--db", seeded_db_url, "ask", "2", "--as", "avery", "--thread", "cli-1"])
    assert picked.exit_code == 0 and "risk class" in picked.output


def test_cli_rendering_keeps_the_line_after_the_readings_apart(capsys: pytest.CaptureFixture[str]) -> None:
    reply = AssistantReply(
        text="Which do you mean?\n1. see [bold]x[/]\n2. other\nReply with the number. Nothing was done.",
        thread_id="t",
        engine="planner",
        choices=[
            Choice(number=1, label="see [bold]x[/]", capability="get_customer_exposure", text="x"),
            Choice(number=2, label="other", capability="score_customer", text="x"),
        ],
    )
    chat_commands.render_reply(reply)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip()]
    expected = ["Which do you mean?", "1. see [bold]x[/]", "2. other", "Reply with the number. Nothing was done."]
    assert lines[:4] == expected  # the label is printed as it is, not read as markup
