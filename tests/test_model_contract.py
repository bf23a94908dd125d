"""The model path on the same contract (issue 12): the chat-completions response shapes of OpenAI, Azure OpenAI, vLLM
and Ollama (its OpenAI-compatible /v1), and the quirks those servers have produced, replayed through the real HTTP
path (langchain-openai → openai SDK → httpx) against the local stub (tests/support/openai_stub.py).

For every shape the agent either completes correctly — the right registry tools ran with the right arguments and the
reply is the model's final answer — or fails with a clear, user-safe message; never a crash, never a write without a
proposal. And the model sees exactly the registry's tools for the asking user's role, each with its catalogue
description.

Found by these tests and fixed in assistant/agent.py: tool calls without an id failed the turn after their tools had
run; a refusal, a `finish_reason: "length"` or `"content_filter"` answer, an empty answer and a tool call with invalid
JSON arguments came back as an empty reply (or a cut-off text) without an error; tool-call arguments sent as a JSON
object (not a string) failed inside langchain-openai with a generic message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from assistant.agent import openai_tool_definitions, tool_description
from assistant.catalogue import model_description
from assistant.llm import build_chat_model
from assistant.service import AssistantService
from assistant.types import AssistantReply
from core.settings import Settings, reset_settings
from db.engine import read_session
from db.models import Customer, Proposal, Role
from db.queries.staff import get_staff_user
from evals.runner import business_fingerprint
from evals.understanding.score import load_items
from integrations.cli.app import app
from tests.support.openai_stub import (
    Stub,
    answer,
    chunk,
    completion,
    function_call,
    last_tool_results,
    serve_stub,
    sse,
)
from tools.context import Actor
from tools.registry import get_registry

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
FINAL = "Both exposures are in the tool results above."
UNREADABLE = "The language model's reply could not be read: it is not in the OpenAI chat-completions format"
INVALID_CALL = "The language model asked for a tool in a form the desk could not read"
CUT_OFF = "The language model's answer was cut off (it reached its output length limit)"


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serve_stub() as running:
        yield running


def desk(stub: Stub, url: str) -> AssistantService:
    settings = Settings.model_validate(
        {"CREDITDESK_LLM_BASE_URL": stub.url, "llm_model": "stub-model", "llm_timeout_seconds": 5}
    )
    return AssistantService(database_url=url, settings=settings)


def ask(stub: Stub, url: str, handle: str, text: str, thread: str) -> AssistantReply:
    with read_session(url) as session:
        who = Actor.from_user(get_staff_user(session, handle))
    with desk(stub, url) as service:
        assert service.engine() == "agent"
        return service.ask_text(text, actor=who, thread_id=thread)


def two_customers(url: str) -> tuple[int, int]:
    with read_session(url) as session:
        first, second = session.scalars(select(Customer.id).order_by(Customer.id).limit(2)).all()
    return int(first), int(second)


def proposals(url: str) -> int:
    with read_session(url) as session:
        return int(session.scalar(select(func.count()).select_from(Proposal)) or 0)


def assistant_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool calls of the last assistant message the desk sent back to the model."""
    message = next(m for m in reversed(body["messages"]) if m["role"] == "assistant")
    return list(message.get("tool_calls") or [])


# --- the documented response shapes -------------------------------------------------------------------------------


def shaped(provider: str, message: dict[str, Any], finish: str) -> dict[str, Any]:
    """A chat.completion body as each provider documents or has been seen to send it."""
    body = completion(message, finish)
    choice = body["choices"][0]
    if provider == "openai":
        body.update(system_fingerprint="fp_44709d6fcb", service_tier="default")
        choice["message"].update(refusal=None, annotations=[])
        choice["logprobs"] = None
        body["usage"]["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 0, "audio_tokens": 0}
    elif provider == "azure":
        safe = {"filtered": False, "severity": "safe"}
        categories = {"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe}
        body["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": categories}]
        choice["content_filter_results"] = {} if message.get("tool_calls") else categories
        choice["message"]["refusal"] = None
        choice["logprobs"] = None
    elif provider == "vllm":
        body["id"] = "chatcmpl-9f1c2a7e5b4d4c3e8a6f0b1d2c3e4f5a"
        body["prompt_logprobs"] = None
        choice.update(logprobs=None, stop_reason=None)
        choice["message"]["reasoning_content"] = None
        body["usage"]["prompt_tokens_details"] = None
    elif provider == "ollama":
        body.update(id="chatcmpl-427", system_fingerprint="fp_ollama")
        if choice["message"].get("content") is None:
            choice["message"]["content"] = ""
        for index, call in enumerate(choice["message"].get("tool_calls") or []):
            call["index"] = index
    return body


PROVIDER_IDS = {
    "openai": ("call_Vq3bFQ2hN1y0c8x3", "call_Zp0kTg7mW4r2d9e1"),
    "azure": ("call_aZ8wBx5", "call_kQ2mNc9"),
    "vllm": ("chatcmpl-tool-5c1e9f0a2b3d4e6f", "chatcmpl-tool-8a7b6c5d4e3f2a1b"),
    "ollama": ("call_x8qnrvmd", "call_3h4k2p0s"),
}


@SQLITE
@pytest.mark.parametrize("provider", sorted(PROVIDER_IDS))
def test_parallel_tool_calls_in_one_message_run_the_registry_tools(
    seeded_db_url: str, stub: Stub, provider: str
) -> None:
    url = seeded_db_url
    first, second = two_customers(url)
    ids = PROVIDER_IDS[provider]
    calls = [
        function_call("get_customer_exposure", {"customer": str(first)}, ids[0]),
        function_call("get_customer_exposure", {"customer": str(second)}, ids[1]),
    ]
    stub.add(
        lambda _body: shaped(provider, {"content": None, "tool_calls": calls}, "tool_calls"),
        lambda _body: shaped(provider, {"content": FINAL}, "stop"),
    )
    reply = ask(stub, url, "avery", f"exposure of {first} and {second}?", f"contract-{provider}")

    assert reply.error is None, reply.error
    # parallel calls run concurrently: their records come in either order
    assert sorted((c.name, c.arguments["customer"], c.error) for c in reply.tool_calls) == sorted(
        [("get_customer_exposure", str(first), None), ("get_customer_exposure", str(second), None)]
    )
    assert reply.text == FINAL
    assert reply.usage.model_calls == 2 and reply.usage.tool_calls == 2
    # each result went back paired with its call's id, as the provider sent it
    results = last_tool_results(stub.requests[1])
    assert sorted(m["tool_call_id"] for m in results) == sorted(ids)
    assert {json.loads(m["content"])["customer"]["id"] for m in results} == {first, second}
    # the agent does not stream: every request asks for one complete chat.completion
    assert all(not body.get("stream") for body in stub.requests)


@SQLITE
@pytest.mark.parametrize(
    ("quirk", "ids"), [("missing ids (vLLM, Ollama)", (None, None)), ("repeated id", ("call_0", "call_0"))]
)
def test_missing_and_repeated_tool_call_ids_get_unique_ids(
    seeded_db_url: str, stub: Stub, quirk: str, ids: tuple[str | None, str | None]
) -> None:
    url = seeded_db_url
    first, second = two_customers(url)
    stub.add(
        lambda _body: completion(
            {
                "content": None,
                "tool_calls": [
                    function_call("get_customer_exposure", {"customer": str(first)}, ids[0]),
                    function_call("score_customer", {"customer": str(second)}, ids[1]),
                ],
            },
            "tool_calls",
        ),
        answer(FINAL),
    )
    reply = ask(stub, url, "avery", "exposure of one, score of the other", "contract-ids")

    assert reply.error is None, (quirk, reply.error)
    assert {(c.name, c.arguments["customer"]) for c in reply.tool_calls} == {
        ("get_customer_exposure", str(first)),
        ("score_customer", str(second)),
    }
    assert reply.text == FINAL
    sent = {call["id"]: call["function"]["name"] for call in assistant_calls(stub.requests[1])}
    assert len(sent) == 2 and all(sent) and sorted(sent.values()) == ["get_customer_exposure", "score_customer"]
    results = {m["tool_call_id"]: json.loads(m["content"]) for m in last_tool_results(stub.requests[1])}
    assert set(results) == set(sent)
    for call_id, name in sent.items():  # each result answers its own call, not the other one
        assert ("figures" in results[call_id]) == (name == "get_customer_exposure")


@SQLITE
def test_arguments_as_a_json_object_are_refused_with_a_clear_message(seeded_db_url: str, stub: Stub) -> None:
    """Ollama's native API sends `arguments` as an object; the OpenAI shape is a string. langchain-openai does not
    accept the object (its own conversion fails), so the turn ends with a clear message and runs nothing."""
    url = seeded_db_url
    first, _ = two_customers(url)
    before = business_fingerprint(url)
    raw_call = {"id": "call_obj", "type": "function",
                "function": {"name": "get_customer_exposure", "arguments": {"customer": str(first)}}}  # fmt: skip
    stub.add(lambda _body: completion({"content": None, "tool_calls": [raw_call]}, "tool_calls"), answer(FINAL))
    reply = ask(stub, url, "avery", "exposure?", "contract-object-args")

    assert reply.error is not None and reply.error.startswith(UNREADABLE)
    assert reply.text.endswith("Nothing was changed.") and not reply.tool_calls
    assert business_fingerprint(url) == before
    # the thread stays usable
    again = ask(stub, url, "avery", "and now?", "contract-object-args")
    assert again.error is None and again.text == FINAL


@SQLITE
def test_the_streaming_path_reassembles_parallel_tool_call_deltas(seeded_db_url: str, stub: Stub) -> None:
    """The agent does not stream (checked above: `stream` is never set). Were a surface to stream, the same model
    reassembles OpenAI's SSE tool-call deltas, arguments split over chunks, into whole parallel calls."""
    del seeded_db_url
    opens_first = {"index": 0, "id": "call_s1", "type": "function"}
    opens_second = {"index": 1, "id": "call_s2", "type": "function"}
    deltas = [
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [{**opens_first, "function": {"name": "get_customer_exposure", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"custo'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'mer": "17"}'}}]}),
        chunk({"tool_calls": [{**opens_second, "function": {"name": "score_customer", "arguments": '{"customer"'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": ': "C000018"}'}}]}),
        chunk({}, "tool_calls"),
        chunk({}, usage=(50, 20)),
    ]
    stub.add(lambda _body: sse(deltas))
    settings = Settings.model_validate({"CREDITDESK_LLM_BASE_URL": stub.url, "llm_model": "stub-model"})
    model = build_chat_model(settings, max_retries=0)
    assert model is not None
    message: Any = None
    for piece in model.stream("exposure of 17, score of C000018"):
        message = piece if message is None else message + piece
    assert stub.requests[0]["stream"] is True
    assert [(c["name"], c["args"], c["id"]) for c in message.tool_calls] == [
        ("get_customer_exposure", {"customer": "17"}, "call_s1"),
        ("score_customer", {"customer": "C000018"}, "call_s2"),
    ]


# --- answers that are not a plain final answer --------------------------------------------------------------------


@SQLITE
def test_a_refusal_is_the_models_answer(seeded_db_url: str, stub: Stub) -> None:
    refusal = "I'm sorry, but I can't help with that request."
    stub.add(lambda _body: completion({"content": None, "refusal": refusal}))
    reply = ask(stub, seeded_db_url, "avery", "write me a poem about a customer's bankruptcy", "contract-refusal")
    assert reply.error is None and reply.text == refusal and not reply.tool_calls


@SQLITE
@pytest.mark.parametrize(
    "message",
    [
        {"content": "Total exposure of customer 1 is 12,3"},
        {"content": None, "tool_calls": [function_call("propose_credit_limit_change", '{"customer": "1", "new_li')]},
    ],
    ids=["cut-off text", "cut-off tool call"],
)
def test_finish_reason_length_is_a_clear_message_and_runs_nothing(
    seeded_db_url: str, stub: Stub, message: dict[str, Any]
) -> None:
    url = seeded_db_url
    before, proposals_before = business_fingerprint(url), proposals(url)
    stub.add(lambda _body: completion(message, "length"))
    reply = ask(stub, url, "avery", "exposure of customer 1?", "contract-length")
    assert reply.error is not None and reply.error.startswith(CUT_OFF)
    assert "12,3" not in reply.text and not reply.tool_calls and not reply.proposals
    assert business_fingerprint(url) == before and proposals(url) == proposals_before


@SQLITE
@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("content_filter", "The language model service's content filter blocked the answer."),
        ("stop", "The language model ended without an answer."),
    ],
)
def test_an_empty_or_filtered_answer_is_a_clear_message(
    seeded_db_url: str, stub: Stub, finish: str, expected: str
) -> None:
    """Azure ends a filtered answer with `finish_reason: "content_filter"` and no content; a server can also send
    an empty message. Both used to come back as an empty reply without an error."""
    choice_filter = {"hate": {"filtered": True, "severity": "high"}}

    def filtered(_body: dict[str, Any]) -> Any:
        body = completion({"content": None}, finish)
        if finish == "content_filter":
            body["choices"][0]["content_filter_results"] = choice_filter
        return body

    stub.add(filtered)
    reply = ask(stub, seeded_db_url, "avery", "hello", f"contract-{finish}")
    assert reply.error == expected and reply.text == f"{expected} Nothing was changed."


# --- tool calls the desk must not run -----------------------------------------------------------------------------


@SQLITE
@pytest.mark.parametrize(
    ("handle", "tool", "arguments"),
    [
        ("avery", "delete_customer", {"customer": "1"}),  # no such tool
        ("sam", "propose_credit_limit_change", {"customer": "1", "new_limit": 900000, "reason": "x"}),  # not sales'
    ],
)
def test_an_unknown_or_unpermitted_tool_never_reaches_the_registry(
    seeded_db_url: str, stub: Stub, handle: str, tool: str, arguments: dict[str, Any]
) -> None:
    url = seeded_db_url
    before, proposals_before = business_fingerprint(url), proposals(url)
    stub.add(lambda _body: completion({"content": None, "tool_calls": [function_call(tool, arguments)]}, "tool_calls"))
    stub.add(answer("I can't do that."))
    reply = ask(stub, url, handle, "do it", "contract-unknown-tool")

    assert reply.error is None and reply.text == "I can't do that."
    assert not reply.tool_calls and not reply.proposals
    (result,) = last_tool_results(stub.requests[1])
    assert result["tool_call_id"] == "call_stub_1" and f"{tool} is not a valid tool" in result["content"]
    assert business_fingerprint(url) == before and proposals(url) == proposals_before


@SQLITE
def test_invalid_json_arguments_run_nothing_and_leave_the_thread_usable(seeded_db_url: str, stub: Stub) -> None:
    url = seeded_db_url
    before, proposals_before = business_fingerprint(url), proposals(url)
    bad = function_call("propose_credit_limit_change", '{"customer": "1", "new_limit": 9e99,,}', None)
    stub.add(lambda _body: completion({"content": None, "tool_calls": [bad]}, "tool_calls"))
    reply = ask(stub, url, "avery", "raise customer 1 to a lot", "contract-bad-json")

    assert reply.error is not None and reply.error.startswith(INVALID_CALL)
    assert not reply.tool_calls and not reply.proposals
    assert business_fingerprint(url) == before and proposals(url) == proposals_before

    stub.add(answer("Understood."))
    again = ask(stub, url, "avery", "never mind", "contract-bad-json")
    assert again.error is None and again.text == "Understood."
    # the unreadable call is answered in the history sent next, so it is valid for every provider
    (call,) = [c for m in stub.requests[1]["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    answered = [m for m in stub.requests[1]["messages"] if m["role"] == "tool"]
    assert call["id"] and [m["tool_call_id"] for m in answered] == [call["id"]]


@SQLITE
def test_a_valid_write_next_to_an_invalid_call_is_a_proposal_and_the_model_hears_the_error(
    seeded_db_url: str, stub: Stub
) -> None:
    url = seeded_db_url
    first, _ = two_customers(url)
    before = business_fingerprint(url)
    write = {"customer": str(first), "new_limit": 1000, "reason": "contract test"}
    stub.add(
        lambda _body: completion(
            {
                "content": None,
                "tool_calls": [
                    function_call("propose_credit_limit_change", write, "call_ok"),
                    function_call("get_customer_exposure", "{customer: 1}", "call_bad"),
                ],
            },
            "tool_calls",
        )
    )

    def confirm(body: dict[str, Any]) -> Any:
        results = {m["tool_call_id"]: m["content"] for m in last_tool_results(body)}
        proposal = json.loads(results["call_ok"])
        return completion({"content": f"Proposal #{proposal['id']} awaits approval by a credit manager."})

    stub.add(confirm)
    reply = ask(stub, url, "avery", "lower the limit", "contract-mixed")

    assert reply.error is None, reply.error
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("propose_credit_limit_change", write)]
    (proposal,) = reply.proposals
    assert proposal.status == "pending"
    assert reply.text == f"Proposal #{proposal.id} awaits approval by a credit manager."
    # the unreadable call was not run; the model was told so, paired with its id
    results = {m["tool_call_id"]: m["content"] for m in last_tool_results(stub.requests[1])}
    assert set(results) == {"call_ok", "call_bad"} and "arguments were malformed" in results["call_bad"]
    assert business_fingerprint(url) == before, "a write request changed business data without approval"


# --- what the model is sent ---------------------------------------------------------------------------------------


@SQLITE
@pytest.mark.parametrize(
    ("handle", "role"),
    [
        ("admin", Role.ADMIN),
        ("morgan", Role.CREDIT_MANAGER),
        ("avery", Role.CREDIT_ANALYST),
        ("casey", Role.COLLECTOR),
        ("sam", Role.SALES),
    ],
)
def test_the_model_is_sent_exactly_the_roles_tools_with_catalogue_descriptions(
    seeded_db_url: str, stub: Stub, handle: str, role: Role
) -> None:
    stub.add(answer("Hello."))
    reply = ask(stub, seeded_db_url, handle, "hello", f"contract-tools-{handle}")
    assert reply.error is None

    sent = stub.requests[0]["tools"]
    assert sent == openai_tool_definitions(role)
    registry = get_registry()
    assert [t["function"]["name"] for t in sent] == [name for name, spec in registry.items() if role in spec.roles]
    for tool in sent:
        name, description = tool["function"]["name"], tool["function"]["description"]
        catalogue = model_description(name)
        assert catalogue, f"{name} has no catalogue description"
        assert description == tool_description(registry[name])
        assert description.removeprefix("(proposal) ") == catalogue
        assert description.startswith("(proposal) ") == (registry[name].kind == "write")
    assert "search_policy" in {t["function"]["name"] for t in sent}


# --- the understanding scorer in model mode -----------------------------------------------------------------------


def test_eval_understanding_measures_a_model_on_the_frozen_set(
    stub: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`creditdesk eval-understanding --model NAME` against an OpenAI-compatible URL from the environment: the first
    two frozen items through the LLM agent on the stub (no network), scored and reported."""
    first, second = load_items()[:2]
    assert (first.capability, second.capability) == ("build_worklist", "build_worklist")

    def model(body: dict[str, Any]) -> Any:
        last = body["messages"][-1]
        if last["role"] == "user" and last["content"] == first.text:  # understood: the labelled tool
            return completion(
                {"content": None, "tool_calls": [function_call("build_worklist", {"collector": "casey"})]},
                "tool_calls",
            )
        if last["role"] == "user":  # not understood: it asks back, no tool
            return completion({"content": "Which collector's list do you mean?"})
        return completion({"content": "Here is your worklist, most urgent first."})

    stub.fallback = model
    monkeypatch.setenv("CREDITDESK_LLM_BASE_URL", stub.url)
    monkeypatch.setenv("CREDITDESK_LLM_API_KEY", "customer-key")
    reset_settings()
    report = tmp_path / "understanding.md"
    result = CliRunner().invoke(
        app,
        ["eval-understanding", "--model", "their-model", "--limit", "2", "--no-knowledge", "--output", str(report)],
    )

    assert result.exit_code == 0, result.output
    assert "intent accuracy 50.0% (1/2)" in result.output
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Understanding test set: model their-model")
    assert "| intent accuracy | 50.0 % (1/2) |" in text and "| confidently wrong | 0 |" in text
    # the model named on the command line, at the URL and with the key the environment gives
    assert stub.requests and {body["model"] for body in stub.requests} == {"their-model"}
    assert {headers["authorization"] for headers in stub.headers} == {"Bearer customer-key"}
    assert [t["function"]["name"] for t in stub.requests[0]["tools"]] == [
        t["function"]["name"] for t in openai_tool_definitions(Role.COLLECTOR)
    ]


def test_eval_understanding_with_a_model_but_no_provider_says_what_to_set(tmp_path: Path) -> None:
    reset_settings()
    result = CliRunner().invoke(
        app, ["eval-understanding", "--model", "their-model", "--limit", "1", "--output", str(tmp_path / "r.md")]
    )
    assert result.exit_code == 1
    assert "CREDITDESK_LLM_BASE_URL" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.md").exists()


def test_eval_understanding_names_the_sets_it_knows(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval-understanding", "--set", "no-such-set", "--output", str(tmp_path / "r.md")])
    said = " ".join(result.output.replace("│", " ").split())  # the error box wraps at the terminal's width
    known = ", ".join(["test", "dev", *(f"dev{n}" for n in range(2, 34))])
    assert result.exit_code != 0 and known in said
    assert not (tmp_path / "r.md").exists()


def test_eval_with_a_model_but_no_provider_says_what_to_set(tmp_path: Path) -> None:
    reset_settings()
    result = CliRunner().invoke(app, ["eval", "--model", "their-model", "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "CREDITDESK_LLM_BASE_URL" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
