"""Demo login (pick a staff user without a key) only on a loopback bind: refused by the app factory and by
`creditdesk serve` for wildcard, LAN and public addresses and for names that resolve elsewhere, whether it was asked
for with --demo or by CREDITDESK_WEB_DEMO_USERS alone; when allowed, a banner says so at start-up."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.errors import CreditDeskError
from core.settings import Settings, get_settings, reset_settings
from integrations.api import app as app_module
from integrations.api.app import check_demo_login, create_app, is_loopback_host
from integrations.cli import app as cli
from tests.support.surfaces import FakeService

LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]
NOT_LOOPBACK = [
    "0.0.0.0",
    "::",
    "[::]",
    "192.168.1.20",
    "10.0.0.5",
    "172.16.4.4",
    "8.8.8.8",
    "fe80::1",
    "2001:db8::1",
    "::ffff:10.0.0.1",
    "",
    " ",
    "no-such-host.invalid",
]


def demo_settings() -> Settings:
    return get_settings().model_copy(update={"web_demo_users": True})


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


def test_a_name_counts_only_when_every_address_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(addresses: list[str]) -> Any:
        return lambda *_args, **_kwargs: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", resolve(["127.0.0.1"]))
    assert is_loopback_host("devbox")
    monkeypatch.setattr(socket, "getaddrinfo", resolve(["127.0.0.1", "192.168.1.20"]))
    assert not is_loopback_host("devbox")
    monkeypatch.setattr(socket, "getaddrinfo", resolve(["203.0.113.7"]))
    assert not is_loopback_host("devbox")
    monkeypatch.setattr(socket, "getaddrinfo", resolve([]))
    assert not is_loopback_host("devbox")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", None])
def test_the_app_factory_refuses_demo_login_off_loopback(host: str | None) -> None:
    with pytest.raises(CreditDeskError) as refused:
        create_app(settings=demo_settings(), database_url="sqlite:///unused.db", service=FakeService(), bind_host=host)
    assert "loopback" in refused.value.message
    check_demo_login(get_settings(), host)  # demo off: any host is fine


def test_the_app_factory_allows_demo_login_on_loopback_with_a_banner(
    seeded_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(settings=demo_settings(), database_url=seeded_db_url, service=FakeService(), bind_host="::1")
    assert "DEMO LOGIN IS ON" in capsys.readouterr().err
    with TestClient(app) as client:
        assert client.get("/v1/config").json() == {"demo_users": True}
        me = client.get("/v1/me", headers={"X-Creditdesk-Demo-User": "casey"})
        assert me.status_code == 200 and me.json()["role"] == "collector"
    off = create_app(database_url=seeded_db_url, service=FakeService(), bind_host="0.0.0.0")
    with TestClient(off) as client:
        assert client.get("/v1/me", headers={"X-Creditdesk-Demo-User": "casey"}).status_code == 401


@pytest.fixture
def serve_calls(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[list[dict[str, Any]]]:
    """`creditdesk serve` up to the point it would listen: uvicorn.run records its arguments instead."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    monkeypatch.setattr(app_module, "build_default_service", lambda _url: FakeService())
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", db_url)
    monkeypatch.delenv("CREDITDESK_WEB_DEMO_USERS", raising=False)
    reset_settings()
    yield calls
    reset_settings()


def serve(*args: str) -> Any:
    return CliRunner().invoke(cli, ["serve", *args])


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "no-such-host.invalid"])
def test_serve_refuses_demo_off_loopback(serve_calls: list[dict[str, Any]], host: str) -> None:
    result = serve("--demo", "--host", host)
    assert result.exit_code == 2
    assert "loopback" in result.output and "Traceback" not in result.output
    assert serve_calls == []


def test_the_environment_variable_alone_is_refused_off_loopback(
    serve_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITDESK_WEB_DEMO_USERS", "true")
    reset_settings()
    refused = serve("--host", "0.0.0.0")
    assert refused.exit_code == 2 and "CREDITDESK_WEB_DEMO_USERS" in refused.output
    assert serve_calls == []
    allowed = serve("--host", "127.0.0.1", "--port", "8123")
    assert allowed.exit_code == 0, allowed.output
    assert "DEMO LOGIN" in allowed.output and "CREDITDESK_WEB_DEMO_USERS" in allowed.output
    assert serve_calls[0]["host"] == "127.0.0.1" and serve_calls[0]["port"] == 8123
    assert serve_calls[0]["app"].state.creditdesk.settings.web_demo_users


def test_serve_with_demo_on_loopback_and_without_demo_anywhere(serve_calls: list[dict[str, Any]]) -> None:
    demo = serve("--demo")
    assert demo.exit_code == 0, demo.output
    assert "DEMO LOGIN" in demo.output
    assert serve_calls[-1]["host"] == "127.0.0.1" and serve_calls[-1]["app"].state.creditdesk.settings.web_demo_users
    public = serve("--host", "0.0.0.0")
    assert public.exit_code == 0, public.output
    assert "DEMO LOGIN" not in public.output
    assert not serve_calls[-1]["app"].state.creditdesk.settings.web_demo_users


def test_serve_in_production_refuses_to_start_without_an_audit_secret(
    serve_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITDESK_DEPLOYMENT", "production")
    monkeypatch.delenv("CREDITDESK_AUDIT_SECRET", raising=False)
    reset_settings()
    refused = serve("--host", "0.0.0.0")
    assert refused.exit_code != 0 and "CREDITDESK_AUDIT_SECRET" in refused.output
    assert "Traceback" not in refused.output and serve_calls == []
    monkeypatch.setenv("CREDITDESK_AUDIT_SECRET", "k" * 40)
    reset_settings()
    assert serve("--host", "0.0.0.0").exit_code == 0 and len(serve_calls) == 1
