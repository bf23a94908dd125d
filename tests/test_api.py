"""REST API: auth, permissions, problem+json errors, proposals decided exactly once, import upload, operations
endpoints, and a schemathesis run over the OpenAPI document that must find no server errors. Every test runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import BaseModel
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from typer.testing import CliRunner

from assistant.service import AssistantService
from core.settings import get_settings, reset_settings
from integrations.api.app import create_app
from integrations.cli import app as cli
from tests.support.surfaces import (
    FakeService,
    bearer,
    current_limit,
    executed_events,
    issue_keys,
    manager_sized_limit,
    proposal_decision,
)

PROBLEM = "application/problem+json"


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    url: str

    def get(self, path: str, who: str | None = None, **kwargs: Any) -> Any:
        return self.client.get(path, headers=bearer(self.keys[who]) if who else {}, **kwargs)

    def post(self, path: str, who: str | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, headers=bearer(self.keys[who]) if who else {}, **kwargs)


@pytest.fixture
def api(seeded_db_url: str) -> Iterator[Api]:
    app = create_app(database_url=seeded_db_url, service=AssistantService(database_url=seeded_db_url, engine="planner"))
    with TestClient(app) as client:
        yield Api(client=client, keys=issue_keys(seeded_db_url), url=seeded_db_url)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    assert "Traceback" not in response.text
    return body


# --- auth --------------------------------------------------------------------------------------------------------


def test_missing_bad_and_revoked_keys_are_401(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    me = api.get("/v1/me", "avery").json()
    assert me["name"] == "avery" and me["role"] == "credit_analyst"
    body = assert_problem(api.client.get("/v1/me"), 401)
    assert body["code"] == "unauthenticated"
    assert api.client.get("/v1/me").headers["www-authenticate"] == "Bearer"
    for header in ("Bearer cdk_not-a-real-key-at-all-0000000000", "Bearer nope", "Basic YWxhZGRpbjpvcGVu"):
        assert_problem(api.client.get("/v1/me", headers={"Authorization": header}), 401)
    tampered = api.keys["avery"][:-2] + ("AA" if not api.keys["avery"].endswith("AA") else "BB")
    assert_problem(api.client.get("/v1/me", headers=bearer(tampered)), 401)

    # the CLI issues, lists and revokes keys; a revoked key is refused at once
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", api.url)
    monkeypatch.setenv("COLUMNS", "200")
    reset_settings()
    runner = CliRunner()
    created = runner.invoke(cli, ["apikeys", "create", "--user", "casey"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("cdk_")
    assert api.client.get("/v1/me", headers=bearer(key)).json()["name"] == "casey"
    listed = runner.invoke(cli, ["apikeys", "list", "--user", "casey"])
    assert key[:12] in listed.stdout and key not in listed.stdout
    assert runner.invoke(cli, ["apikeys", "revoke", key[:12]]).exit_code == 0
    assert_problem(api.client.get("/v1/me", headers=bearer(key)), 401)
    reset_settings()


def test_demo_login_only_in_demo_mode(seeded_db_url: str) -> None:
    header = {"X-Creditdesk-Demo-User": "morgan"}
    off = create_app(database_url=seeded_db_url, service=FakeService())
    with TestClient(off) as client:
        assert_problem(client.get("/v1/me", headers=header), 401)
        assert_problem(client.get("/v1/demo/users"), 404)
        assert client.get("/v1/config").json() == {"demo_users": False}
    demo_settings = get_settings().model_copy(update={"web_demo_users": True})
    on = create_app(settings=demo_settings, database_url=seeded_db_url, service=FakeService(), bind_host="127.0.0.1")
    with TestClient(on) as client:
        assert client.get("/v1/me", headers=header).json()["role"] == "credit_manager"
        assert {"name": "casey", "role": "collector"} in client.get("/v1/demo/users").json()
        assert_problem(client.get("/v1/me", headers={"X-Creditdesk-Demo-User": "nobody"}), 401)


# --- permissions ---------------------------------------------------------------------------------------------------


def test_permissions_follow_role_and_book(api: Api) -> None:
    assert api.get("/v1/customers/acme/exposure", "casey").status_code == 200  # in casey's book
    outside = assert_problem(api.get("/v1/customers/globex/exposure", "casey"), 404)  # not in casey's book
    missing = assert_problem(api.get("/v1/customers/zorblax-widgets/exposure", "casey"), 404)
    assert "Globex Industries" not in json.dumps(outside)  # only the user's own words come back
    assert outside["detail"].replace("globex", "X") == missing["detail"].replace("zorblax-widgets", "X")
    assert api.get("/v1/customers/globex/exposure", "avery").status_code == 200
    assert_problem(api.get("/v1/worklist", "sam"), 403)  # sales: no worklist
    assert_problem(api.get("/v1/customers/acme/score", "sam"), 403)
    own = api.get("/v1/worklist", "casey").json()
    assert own["scope"]["collectors"] == ["casey"]
    assert api.get("/v1/portfolio/summary?group_by=region", "morgan").json()["groups"]


def test_bad_input_is_problem_json_never_500(api: Api) -> None:
    errors = assert_problem(api.get("/v1/worklist?page=0", "avery"), 422)["errors"]
    assert errors[0]["loc"] == ["query", "page"]
    assert_problem(api.get("/v1/customers/acme/exposure?as_of=not-a-date", "avery"), 422)
    assert_problem(api.get("/v1/customers/acme/exposure?as_of=2999-01-01", "avery"), 422)
    assert_problem(api.get("/v1/customers/acme/exposure?as_of=0001-01-01", "avery"), 422)
    assert_problem(api.get("/v1/customers/no-such-customer-xyz/exposure", "avery"), 404)
    assert_problem(api.get("/v1/proposals/999999", "avery"), 404)
    assert_problem(api.get("/v1/proposals/99999999999", "avery"), 422)
    assert_problem(api.get("/v1/proposals/abc", "avery"), 422)
    bad_json = api.client.post(
        "/v1/chat", content=b"{not json", headers={**bearer(api.keys["avery"]), "Content-Type": "application/json"}
    )
    assert_problem(bad_json, 422)
    assert_problem(api.post("/v1/chat", "avery", json={"message": ""}), 422)
    assert_problem(api.post("/v1/chat", "avery", json={"message": "hi", "conversation_id": "../x"}), 422)
    assert_problem(api.get("/v1/charts/..%2F..%2Fsecrets.png", "avery"), 404)
    assert_problem(api.get("/v1/nowhere", "avery"), 404)


# --- chat ---------------------------------------------------------------------------------------------------------


def test_chat_passes_the_caller_and_a_per_user_conversation(seeded_db_url: str) -> None:
    fake = FakeService()
    app = create_app(database_url=seeded_db_url, service=fake)
    keys = issue_keys(seeded_db_url, ("avery", "casey"))
    with TestClient(app) as client:
        first = client.post("/v1/chat", json={"message": "exposure of acme"}, headers=bearer(keys["avery"])).json()
        again = client.post(
            "/v1/chat",
            json={"message": "and its score?", "conversation_id": first["conversation_id"]},
            headers=bearer(keys["avery"]),
        ).json()
        client.post(
            "/v1/chat",
            json={"message": "hi", "conversation_id": first["conversation_id"]},
            headers=bearer(keys["casey"]),
        )
    assert first["text"] == "**Acme** exposure is fine." and again["conversation_id"] == first["conversation_id"]
    avery, avery_again, casey = fake.requests
    assert avery.actor.name == "avery" and avery.database_url == seeded_db_url
    assert avery.thread_id == avery_again.thread_id
    assert casey.thread_id != avery.thread_id  # the same id from another user is another conversation


def test_chat_through_the_real_service_answers_exposure(api: Api) -> None:
    reply = api.post("/v1/chat", "avery", json={"message": "What is the exposure of Acme?"}).json()
    assert reply["engine"] == "planner" and reply["error"] is None
    assert "Acme Corporation" in reply["text"] and "Total exposure" in reply["text"]
    assert [tool["name"] for tool in reply["tools"]][-1] == "get_customer_exposure"
    metrics = api.client.get("/metrics").text
    assert 'creditdesk_chat_turns_total{engine="planner",outcome="ok",surface="api"} 1.0' in metrics
    assert 'creditdesk_tool_calls_total{outcome="ok",tool="get_customer_exposure"}' in metrics


def test_a_chart_in_an_answer_is_served_as_png(api: Api) -> None:
    reply = api.post("/v1/chat", "morgan", json={"message": "ageing chart of the whole book"}).json()
    assert reply["error"] is None and len(reply["charts"]) == 1, reply["text"]
    image = api.get(reply["charts"][0]["url"], "morgan")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"


# --- proposals --------------------------------------------------------------------------------------------------


def _propose(api: Api, who: str, text: str) -> int:
    reply = api.post("/v1/chat", who, json={"message": text}).json()
    assert reply["proposals"], reply["text"]
    return int(reply["proposals"][0]["id"])


def test_proposals_simulate_approve_reject_exactly_once(api: Api) -> None:
    before = current_limit(api.url, "Stark")
    new_limit = manager_sized_limit(api.url, "Stark")
    pid = _propose(api, "avery", f"propose a credit limit of {new_limit} for Stark because of seasonal orders")
    assert api.get(f"/v1/proposals/{pid}", "avery").json()["can_decide"] is False  # four-eyes, and role
    shown = api.get(f"/v1/proposals/{pid}", "morgan").json()
    assert shown["can_decide"] is True and shown["status"] == "pending"
    assert pid in [p["id"] for p in api.get("/v1/proposals?status=pending", "morgan").json()]

    simulated = api.post(f"/v1/proposals/{pid}/simulate", "morgan").json()
    assert Decimal(str(simulated["after"]["credit_limit"])) == Decimal(new_limit)
    assert current_limit(api.url, "Stark") == before  # simulation wrote nothing

    assert_problem(api.post(f"/v1/proposals/{pid}/approve", "avery"), 403)  # cannot approve own proposal
    assert_problem(api.post(f"/v1/proposals/{pid}/approve", "sam"), 403)
    decided = api.post(f"/v1/proposals/{pid}/approve", "morgan", json={"note": "ok for the season"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["executed"] is True and decided.json()["proposal"]["status"] == "approved"
    again = assert_problem(api.post(f"/v1/proposals/{pid}/approve", "morgan"), 409)
    assert "already approved" in again["detail"]
    assert_problem(api.post(f"/v1/proposals/{pid}/reject", "admin"), 409)
    assert executed_events(api.url, pid) == 1
    assert current_limit(api.url, "Stark") == Decimal(new_limit)

    second_limit = manager_sized_limit(api.url, "Stark")
    other = _propose(api, "avery", f"propose a credit limit of {second_limit} for Stark because of new orders")
    rejected = api.post(f"/v1/proposals/{other}/reject", "morgan", json={"note": "too risky"}).json()
    assert rejected["proposal"]["status"] == "rejected" and rejected["executed"] is False
    assert_problem(api.post(f"/v1/proposals/{other}/approve", "morgan"), 409)
    assert executed_events(api.url, other) == 0 and proposal_decision(api.url, other) == "rejected"


# --- import -------------------------------------------------------------------------------------------------------

CUSTOMERS_CSV = b"customer_id,name,currency,country\nAPI-1,Api Test One Ltd,EUR,DE\nAPI-2,Api Test Two Ltd,USD,US\n"


def test_import_upload(api: Api) -> None:
    def upload(who: str, content: bytes, filename: str = "customers.csv", **form: Any) -> Any:
        data = {"mapping": "customers", **form}
        return api.post("/v1/import", who, files={"file": (filename, content, "text/csv")}, data=data)

    dry = upload("admin", CUSTOMERS_CSV, dry_run="true").json()
    assert dry["dry_run"] is True and dry["rows_imported"] == 2
    assert_problem(api.get("/v1/customers/API-1/exposure", "admin"), 404)
    report = upload("admin", CUSTOMERS_CSV).json()
    assert report["rows_imported"] == 2 and report["rows_rejected"] == 0
    assert api.get("/v1/customers/API-1/exposure", "admin").json()["customer"]["name"] == "Api Test One Ltd"

    assert_problem(upload("avery", CUSTOMERS_CSV), 403)
    assert_problem(upload("admin", CUSTOMERS_CSV, filename="customers.exe"), 422)
    assert_problem(upload("admin", b""), 422)
    assert_problem(upload("admin", CUSTOMERS_CSV, mapping="../../etc/passwd"), 422)
    assert_problem(upload("admin", b"\x00\xff\x00garbage", filename="x.xlsx"), 422)
    bad = assert_problem(upload("admin", b"customer_id,name,currency\nAPI-3,Three,EURO\n"), 422)
    assert bad["code"] == "import_rejected" and bad["errors"][0]["line"] == 2


# --- knowledge ----------------------------------------------------------------------------------------------------


def test_knowledge_search_uses_the_search_policy_tool(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from db.models import Role
    from tools.registry import ALL_ROLES, ToolSpec, get_registry, unfiltered

    registry = get_registry()
    if "search_policy" not in registry:
        assert_problem(api.get("/v1/knowledge/search?q=credit+limit", "avery"), 503)

    class Query(BaseModel):
        query: str
        k: int = 5

    class Passages(BaseModel):
        passages: list[dict[str, Any]]

    def stub(_session: Any, _ctx: Any, args: Query) -> Passages:
        return Passages(passages=[{"text": f"about {args.query}", "document": "Credit policy", "k": args.k}])

    spec = ToolSpec(
        name="search_policy",
        description="stub",
        kind="read",
        input_model=Query,
        output_model=Passages,
        fn=stub,
        roles=ALL_ROLES,
        views={Role.SALES: unfiltered},
    )
    monkeypatch.setitem(registry, "search_policy", spec)
    found = api.get("/v1/knowledge/search?q=credit+limit&k=3", "sam").json()
    assert found["passages"][0] == {"text": "about credit limit", "document": "Credit policy", "k": 3}
    assert_problem(api.get("/v1/knowledge/search?q=", "sam"), 422)


# --- operations ---------------------------------------------------------------------------------------------------


def test_health_ready_metrics_docs(api: Api, tmp_path: Any) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["migrations"]
    api.get("/v1/proposals/1", "avery")
    metrics = api.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'creditdesk_http_requests_total{method="GET",route="/v1/proposals/{proposal_id}"' in metrics.text
    assert "creditdesk_http_request_duration_seconds_bucket" in metrics.text
    assert api.client.get("/openapi.json").json()["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert api.client.get("/docs").status_code == 200

    unmigrated = create_app(database_url=f"sqlite:///{tmp_path / 'empty.db'}", service=FakeService())
    with TestClient(unmigrated) as client:
        assert_problem(client.get("/readyz"), 503)
        assert client.get("/healthz").status_code == 200


# --- schemathesis -------------------------------------------------------------------------------------------------
# Driven directly (one Hypothesis run per operation) rather than through `schemathesis.pytest.from_fixture`, whose
# lazy loader does not work with pytest 9 (it reads the removed `Function._nodeid`).

FUZZ_EXAMPLES = 8
FUZZ_SKIPPED = {"/v1/knowledge/search"}  # tested above; the real tool would load the embedding model


@pytest.mark.slow
def test_openapi_fuzz_finds_no_server_errors(seeded_db_url: str) -> None:
    app = create_app(database_url=seeded_db_url, service=AssistantService(database_url=seeded_db_url, engine="planner"))
    headers = bearer(issue_keys(seeded_db_url, ("morgan",))["morgan"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzzed = []
    for operation in operations:
        if operation.path in FUZZ_SKIPPED:
            continue

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()
        fuzzed.append(f"{operation.method.upper()} {operation.path}")
    assert len(fuzzed) >= 12, fuzzed
    assert "POST /v1/chat" in fuzzed and "POST /v1/proposals/{proposal_id}/approve" in fuzzed
