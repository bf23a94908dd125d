"""The real OpenAI HTTP path (langchain-openai → openai SDK → httpx) against a local OpenAI-compatible stub on
127.0.0.1 (tests/support/openai_stub.py): a tool-call round trip, timeouts, server errors, and which key a custom base
URL receives. The provider response shapes (parallel calls, quirks, refusals) are in test_model_contract.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from assistant.llm import PLACEHOLDER_API_KEY, build_chat_model, resolve_provider
from assistant.service import AssistantService
from assistant.types import AskRequest
from core.settings import Settings
from db.engine import read_session
from db.models import Customer
from db.queries.staff import get_staff_user
from tests.support.openai_stub import Stub, completion, serve_stub, server_error, sleeping, tool_call_response
from tools.context import Actor

OPENAI_SECRET = "sk-openai-SECRET-never-leaves"


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serve_stub() as running:
        yield running


def stub_settings(stub: Stub, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "CREDITDESK_LLM_BASE_URL": stub.url,
        "OPENAI_API_KEY": OPENAI_SECRET,
        "llm_model": "stub-model",
        "llm_timeout_seconds": 5,
    }
    values.update(extra)
    return Settings.model_validate(values)


def actor(url: str, handle: str) -> Actor:
    with read_session(url) as session:
        return Actor.from_user(get_staff_user(session, handle))


# --- provider resolution (no network) --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "provider", "key"),
    [
        ({}, "none", None),
        ({"OPENAI_API_KEY": OPENAI_SECRET}, "openai", OPENAI_SECRET),
        (
            {"OPENAI_BASE_URL": "http://localhost:8000/v1", "OPENAI_API_KEY": OPENAI_SECRET},
            "openai_compatible",
            PLACEHOLDER_API_KEY,
        ),
        (
            {
                "CREDITDESK_LLM_BASE_URL": "http://gpu:8000/v1",
                "OPENAI_API_KEY": OPENAI_SECRET,
                "llm_api_key": "vllm-key",
            },
            "openai_compatible",
            "vllm-key",
        ),
        ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com", "AZURE_OPENAI_API_KEY": "az"}, "azure", "az"),
        ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"}, "none", None),
        ({"OPENAI_API_KEY": OPENAI_SECRET, "llm_provider": "none"}, "none", None),
        (
            {"OPENAI_API_KEY": OPENAI_SECRET, "OPENAI_BASE_URL": "http://proxy/v1", "llm_provider": "openai"},
            "openai",
            OPENAI_SECRET,
        ),
    ],
)
def test_provider_resolution_and_the_key_rule(values: dict[str, Any], provider: str, key: str | None) -> None:
    config = resolve_provider(Settings.model_validate(values))
    assert config.provider == provider
    assert (config.api_key.get_secret_value() if config.api_key else None) == key
    if provider == "openai":
        assert config.base_url == "https://api.openai.com/v1"  # the OpenAI key only ever goes to OpenAI
    if provider == "openai_compatible":
        assert (
            OPENAI_SECRET not in repr(config) and config.api_key and config.api_key.get_secret_value() != OPENAI_SECRET
        )


def test_no_client_is_built_without_a_model_and_nothing_at_import() -> None:
    assert build_chat_model(Settings.model_validate({})) is None
    azure = build_chat_model(
        Settings.model_validate({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com", "AZURE_OPENAI_API_KEY": "az"})
    )
    assert type(azure).__name__ == "AzureChatOpenAI"


# --- the HTTP path -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"])
def test_tool_call_round_trip_through_chat_openai(seeded_db_url: str, stub: Stub) -> None:
    url = seeded_db_url
    with read_session(url) as session:
        customer_id = session.scalars(select(Customer.id).order_by(Customer.id).limit(1)).one()

    def final(body: dict[str, Any]) -> Any:
        tool_message = next(m for m in body["messages"] if m["role"] == "tool")
        result = json.loads(tool_message["content"])
        currency = result["reporting"]["currency"] if "currency" in result.get("reporting", {}) else ""
        exposure = result["figures"]["total_exposure"]
        return completion({"content": f"Total exposure is {exposure} {currency}".strip() + ", per the exposure tool."})

    stub.add(tool_call_response("get_customer_exposure", {"customer": str(customer_id)}), final)
    with AssistantService(database_url=url, settings=stub_settings(stub)) as service:
        assert service.engine() == "agent"
        reply = service.ask(
            AskRequest(text="exposure?", actor=actor(url, "avery"), thread_id="stub-1", database_url=url)
        )

    assert reply.error is None, reply.error
    assert [call.name for call in reply.tool_calls] == ["get_customer_exposure"]
    assert reply.text.startswith("Total exposure is") and not reply.grounding
    assert reply.usage.model_calls == 2 and reply.usage.input_tokens == 642 and reply.usage.output_tokens == 24
    first, second = stub.requests
    assert first["model"] == "stub-model"
    assert {tool["function"]["name"] for tool in first["tools"]} >= {"get_customer_exposure", "resolve_customer"}
    assert first["messages"][0]["role"] == "system" and "avery" in first["messages"][0]["content"]
    assert any(m["role"] == "tool" and m["tool_call_id"] == "call_stub_1" for m in second["messages"])
    # The key rule: the custom base URL got the placeholder, never the OpenAI key.
    for headers in stub.headers:
        assert headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
        assert OPENAI_SECRET not in json.dumps(headers)


def test_a_configured_key_for_the_base_url_is_the_one_sent(stub: Stub) -> None:
    stub.add(lambda _body: completion({"content": "hello"}))
    model = build_chat_model(stub_settings(stub, llm_api_key="local-server-key"), max_retries=0)
    assert model is not None
    assert model.invoke("hi").content == "hello"
    assert stub.headers[0]["authorization"] == "Bearer local-server-key"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_timeout_is_a_clear_message(db_url: str, stub: Stub) -> None:
    stub.add(sleeping(3))
    settings = stub_settings(stub, llm_timeout_seconds=0.5)
    model = build_chat_model(settings, max_retries=0)
    service = AssistantService(database_url=db_url, engine="agent", model=model, settings=settings)
    started = time.monotonic()
    reply = service.ask_text("hello", actor=Actor(id=1, name="avery", role="credit_analyst"), thread_id="stub-timeout")
    assert time.monotonic() - started < 2.5
    assert reply.error == "The language model did not answer within 0.5 seconds."
    assert "Nothing was changed" in reply.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_server_error_is_a_clear_message(db_url: str, stub: Stub) -> None:
    stub.add(server_error)
    settings = stub_settings(stub)
    service = AssistantService(
        database_url=db_url, engine="agent", model=build_chat_model(settings, max_retries=0), settings=settings
    )
    reply = service.ask_text("hello", actor=Actor(id=1, name="avery", role="credit_analyst"), thread_id="stub-500")
    assert reply.error == "The language model service failed (HTTP 500)."
    assert len(stub.requests) == 1
