"""A local OpenAI-compatible chat-completions server for tests: a FastAPI app on 127.0.0.1 (an ephemeral port) that
replays a script of handlers, so the real HTTP path (langchain-openai → openai SDK → httpx) runs without network.

Each handler gets the request body and returns what the endpoint answers: a completion dict (see `completion`), a
`JSONResponse` (errors), or a `StreamingResponse` of server-sent events (see `sse`). When the script is exhausted
the `fallback` handler answers, if one is set; otherwise the stub answers HTTP 400 "script exhausted".
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

Handler = Callable[[dict[str, Any]], Any]


@dataclass
class Stub:
    url: str
    script: list[Handler] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    fallback: Handler | None = None

    def add(self, *handlers: Handler) -> None:
        self.script.extend(handlers)


def completion(
    message: dict[str, Any],
    finish: str | None = "stop",
    *,
    usage: tuple[int, int] = (321, 12),
    **extra: Any,
) -> dict[str, Any]:
    """A chat.completion body with one choice; `extra` adds top-level fields (Azure's `prompt_filter_results`)."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "stub-model",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
        **extra,
    }


def function_call(name: str, arguments: Any, call_id: str | None = "call_stub_1") -> dict[str, Any]:
    """One entry of `message.tool_calls`. A dict or list `arguments` is sent as a JSON string (the documented shape);
    pass a string to send it verbatim. `call_id=None` leaves the id out, as some servers have done."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": text}}
    if call_id is not None:
        call["id"] = call_id
    return call


def tool_calls_message(*calls: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    return completion({"content": content, "tool_calls": list(calls)}, finish="tool_calls")


def tool_call_response(name: str, arguments: dict[str, Any]) -> Handler:
    def handle(_body: dict[str, Any]) -> Any:
        return tool_calls_message(function_call(name, arguments))

    return handle


def answer(text: str) -> Handler:
    def handle(_body: dict[str, Any]) -> Any:
        return completion({"content": text})

    return handle


def sleeping(seconds: float) -> Handler:
    def handle(_body: dict[str, Any]) -> Any:
        time.sleep(seconds)
        return completion({"content": "too late"})

    return handle


def server_error(_body: dict[str, Any]) -> Any:
    return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, status_code=500)


def chunk(delta: dict[str, Any], finish: str | None = None, *, usage: tuple[int, int] | None = None) -> dict[str, Any]:
    """One `chat.completion.chunk` of a streamed answer."""
    body: dict[str, Any] = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "stub-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["choices"] = []
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
    return body


def sse(chunks: Iterable[dict[str, Any]]) -> StreamingResponse:
    """Server-sent events as OpenAI streams them: `data: {chunk}` lines, then `data: [DONE]`."""
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    return StreamingResponse(iter(lines), media_type="text/event-stream")


def last_tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool messages sent with this request (those after the last assistant message)."""
    found: list[dict[str, Any]] = []
    for message in reversed(body["messages"]):
        if message["role"] == "tool":
            found.append(message)
        elif message["role"] == "assistant":
            break
    return list(reversed(found))


@contextmanager
def serve_stub() -> Iterator[Stub]:
    """Run the stub for the duration of the block."""
    app = FastAPI()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    state = Stub(url=f"http://127.0.0.1:{port}/v1")

    @app.post("/v1/chat/completions")
    def chat(body: dict[str, Any], request: Request) -> Any:
        state.requests.append(body)
        state.headers.append({k.lower(): v for k, v in request.headers.items()})
        if state.script:
            return state.script.pop(0)(body)
        if state.fallback is not None:
            return state.fallback(body)
        return JSONResponse({"error": {"message": "script exhausted"}}, status_code=400)

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "stub server did not start"
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
