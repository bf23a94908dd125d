"""Faults give clear messages: a database that is missing, empty, at an old revision, unreachable, absent from its
server or not supported makes every CLI command print one line saying what is wrong and what to run (exit code 1,
no traceback, a missing SQLite file never created) and the API answer 503 problem+json (Retry-After when it is
transient); a damaged Chroma store makes policy answers say so and `creditdesk ingest --rebuild` repairs it; library
loggers (slack_bolt, slack_sdk, httpx, uvicorn's access log) leave no message text or user id in any log record."""

from __future__ import annotations

import json
import logging
import random
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from typer.testing import CliRunner

from core.errors import CreditDeskError, ErrorCode
from core.logging import install_log_redaction
from core.settings import get_settings, reset_settings
from db.engine import database_fault, dispose_engine, write_session
from db.migrate import downgrade
from db.models import Role
from db.queries.access import create_api_key
from db.queries.staff import add_staff_user
from integrations.api.app import create_app
from integrations.cli import app as cli_app
from tests.support.databases import create_pg_database, drop_pg_database, pg_url, require_postgres
from tests.support.paths import IBM_SAMPLE
from tests.support.slack_mock import BOT_USER_ID, TEAM_ID, MockSlack
from tests.support.surfaces import FakeService

# --- broken databases -------------------------------------------------------------------------------------------


@dataclass
class Fault:
    url: str
    code: str
    hint: str  # what the message must tell the user to do
    never_created: Path | None = None  # a SQLite file that no command may create
    cleanup: list[Any] = field(default_factory=list)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sqlite_copy(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "copy.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


def _make_fault(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Fault:
    if kind == "missing-sqlite":
        path = tmp_path / "nowhere" / "creditdesk.db"
        return Fault(f"sqlite:///{path}", "not_migrated", "run `creditdesk init`", never_created=path)
    if kind == "empty-sqlite":
        path = tmp_path / "empty.db"
        sqlite3.connect(path).close()
        return Fault(f"sqlite:///{path}", "not_migrated", "run `creditdesk init`")
    if kind == "old-sqlite":
        url = _sqlite_copy(request, tmp_path)
        downgrade(url, "-1")
        dispose_engine(url)
        return Fault(url, "not_migrated", "run `creditdesk db upgrade`")
    if kind == "unsupported":
        return Fault("mysql://root@127.0.0.1/creditdesk", "not_configured", "use a sqlite:/// or postgresql:// URL")
    if kind == "garbage":
        return Fault("this is not a database url", "not_configured", "expected sqlite:///PATH or postgresql://")
    if kind == "unreachable-postgresql":
        url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/creditdesk"
        return Fault(url, "unavailable", "start the database server")
    require_postgres()
    if kind == "no-such-postgresql-database":
        return Fault(pg_url(f"cd_absent_{uuid.uuid4().hex[:8]}"), "not_configured", "createdb")
    if kind == "empty-postgresql":
        name = create_pg_database(prefix="cd_empty")
        return Fault(pg_url(name), "not_migrated", "run `creditdesk init`", cleanup=[name])
    assert kind == "old-postgresql"
    name = create_pg_database(template=request.getfixturevalue("pg_template"), prefix="cd_old")
    downgrade(pg_url(name), "-1")
    dispose_engine(pg_url(name))
    return Fault(pg_url(name), "not_migrated", "run `creditdesk db upgrade`", cleanup=[name])


_PG_FAULTS = ("unreachable-postgresql", "no-such-postgresql-database", "empty-postgresql", "old-postgresql")
FAULTS = [
    "missing-sqlite",
    "empty-sqlite",
    "old-sqlite",
    "unsupported",
    "garbage",
    *(pytest.param(kind, marks=pytest.mark.postgres) for kind in _PG_FAULTS),
]


@pytest.fixture(params=FAULTS)
def fault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fault]:
    broken = _make_fault(str(request.param), request, tmp_path)
    yield broken
    if broken.code != "not_configured":
        dispose_engine(broken.url)
    for name in broken.cleanup:
        drop_pg_database(name)


def _commands(tmp_path: Path) -> list[tuple[str, ...]]:
    """Every command that reads or writes the database (`seed` last: it may leave an empty file behind)."""
    return [
        ("overview",),
        ("db", "current"),
        ("tool", "get_customer_exposure", "--json", '{"customer": "acme"}'),
        ("tool", "search_policy", "--json", '{"query": "who approves a limit increase"}', "--as", "admin"),
        ("ask", "what is the exposure of Acme?", "--as", "avery"),
        ("chat", "--as", "morgan"),
        ("users", "list"),
        ("users", "add", "dana", "--role", "collector"),
        ("proposals", "list", "--as", "morgan"),
        ("proposals", "show", "1", "--as", "morgan"),
        ("proposals", "approve", "1", "--as", "morgan"),
        ("proposals", "expire"),
        ("audit", "verify"),
        ("audit", "export", str(tmp_path / "audit.csv")),
        ("scores", "refresh"),
        ("snapshots", "refresh"),
        ("model", "train"),
        ("apikeys", "list"),
        ("apikeys", "create", "--user", "morgan"),
        ("apikeys", "revoke", "cdk_AbCdEfGh"),
        ("import", str(IBM_SAMPLE), "--mapping", "ibm-ar", "--dry-run"),
        ("seed", "--customers", "5"),
    ]


def test_every_cli_command_names_the_fault_and_the_fix(
    fault: Fault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", "sqlite:///unused-by-this-test.db")
    monkeypatch.setenv("COLUMNS", "80")  # narrow on purpose: the message must still be one line
    runner = CliRunner()
    for command in _commands(tmp_path):
        result = runner.invoke(cli_app, ["--db", fault.url, *command])
        shown = f"{command}: exit {result.exit_code}\n{result.output}"
        assert result.exit_code == 1, shown
        assert isinstance(result.exception, SystemExit), shown  # not an exception escaping the command
        assert "Traceback" not in result.output, shown
        lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
        assert len(lines) == 1, shown
        assert f"error ({fault.code})" in lines[0] and fault.hint in lines[0], shown
        if fault.never_created is not None and command[0] != "seed":
            assert not fault.never_created.exists(), f"{command} created {fault.never_created}"
            assert not fault.never_created.parent.exists(), f"{command} created {fault.never_created.parent}"


def test_db_downgrade_accepts_a_relative_revision(db_url: str) -> None:
    """`creditdesk db downgrade -1` (as the README writes it) is a revision, not an unknown option."""
    result = CliRunner().invoke(cli_app, ["--db", db_url, "db", "downgrade", "-1"])
    assert result.exit_code == 0, result.output
    current = CliRunner().invoke(cli_app, ["--db", db_url, "db", "current"])
    assert current.exit_code == 1 and "run `creditdesk db upgrade`" in current.stderr
    assert CliRunner().invoke(cli_app, ["--db", db_url, "db", "upgrade"]).exit_code == 0
    assert CliRunner().invoke(cli_app, ["--db", db_url, "db", "current"]).exit_code == 0


def test_the_api_answers_503_problems_for_a_broken_database(fault: Fault) -> None:
    app = create_app(database_url=fault.url, service=FakeService())
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["content-type"] == "application/problem+json"
        calls = [
            client.get("/v1/worklist", headers={"Authorization": "Bearer cdk_0123456789abcdef"}),
            client.post(
                "/v1/chat", json={"message": "hello"}, headers={"Authorization": "Bearer cdk_0123456789abcdef"}
            ),
        ]
    for response in calls:
        problem = response.json()
        assert response.status_code == 503, problem
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == 503 and problem["code"] == fault.code
        assert ("retry-after" in response.headers) is (fault.code == "unavailable")
        # where the database lives is for the operator's terminal, not for API clients
        for secret in ("127.0.0.1", "nowhere", ".db", "postgres@"):
            assert secret not in problem.get("detail", ""), problem
    if fault.code == "not_migrated":
        assert "creditdesk db upgrade" in ready.json()["detail"]


def _raising_app(db_url: str, error: Exception) -> TestClient:
    app = create_app(database_url=db_url, service=FakeService())

    @app.get("/boom")
    def boom() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), 503, "unavailable"),
        (ProgrammingError("SELECT", {}, Exception('relation "customer" does not exist')), 503, "not_migrated"),
        (OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly")), 503, "unavailable"),
        (IntegrityError("INSERT", {"name": "Acme"}, Exception("UNIQUE constraint failed")), 500, "internal"),
    ],
)
def test_a_database_error_inside_a_request_is_a_problem_not_a_crash(
    db_url: str, error: Exception, status: int, code: str
) -> None:
    with _raising_app(db_url, error) as client:
        response = client.get("/boom")
    assert response.status_code == status and response.json()["code"] == code
    assert ("retry-after" in response.headers) is (code == "unavailable")


@pytest.mark.parametrize(
    ("message", "code", "says"),
    [
        (
            "connection failed: connection to server at 127.0.0.1, port 5999 failed: Connection refused",
            "unavailable",
            "connection refused",
        ),
        ('could not translate host name "db.internal" to address', "unavailable", "unknown host"),
        ("connection timeout expired", "unavailable", "timed out"),
        ("FATAL:  sorry, too many clients already", "unavailable", "too many connections"),
        ("database is locked", "unavailable", "busy"),
        ("deadlock detected", "unavailable", "busy"),
        ('FATAL:  password authentication failed for user "app"', "not_configured", "refused the login"),
        ('FATAL:  database "ledger" does not exist', "not_configured", "createdb"),
        ("file is not a database", "damaged", "restore it from a backup"),
        ("no such table: customer", "not_migrated", "creditdesk"),
    ],
)
def test_database_faults_are_classified(message: str, code: str, says: str) -> None:
    error = OperationalError("SELECT 1", {}, Exception(message))
    fault = database_fault(error, "postgresql://app:secret@127.0.0.1:5999/ledger")
    assert fault is not None and fault.code == ErrorCode(code)
    assert says in fault.message and "secret" not in fault.message


def test_other_database_errors_are_not_disguised_as_faults() -> None:
    assert database_fault(IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), "sqlite://") is None
    assert database_fault(ValueError("not a database error"), "sqlite://") is None


# --- a damaged knowledge base -------------------------------------------------------------------------------------

QUESTION = "who approves a limit increase?"


@pytest.fixture
def knowledge(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Settings whose data dir (and so policy store) is this test's own; yields a migrated SQLite URL."""
    from knowledge.store import forget_clients

    monkeypatch.setenv("CREDITDESK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "200")
    url = _sqlite_copy(request, tmp_path)
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", url)
    reset_settings()
    forget_clients()
    yield url
    _as_if_a_new_process()
    dispose_engine(url)
    reset_settings()


def _as_if_a_new_process() -> None:
    """Drop every cached client, store and index, as a new process would start (files are read anew)."""
    from knowledge.lexical import forget_index
    from knowledge.store import close_client, forget_clients

    close_client(str(get_settings().chroma_path.resolve()))
    forget_clients()
    forget_index()


def _search(url: str) -> Any:
    return CliRunner().invoke(cli_app, ["--db", url, "tool", "search_policy", "--json", f'{{"query": "{QUESTION}"}}'])


def _policy_answer(url: str) -> str:
    from assistant.service import AssistantService
    from tools.context import Actor

    service = AssistantService(database_url=url, engine="planner")
    return service.ask_text(QUESTION, actor=Actor.operator(), thread_id=f"t-{uuid.uuid4().hex[:8]}").text


@pytest.mark.embeddings
def test_a_corrupt_store_says_how_to_rebuild_and_rebuild_repairs_it(knowledge: str) -> None:
    store_dir = get_settings().chroma_path
    built = CliRunner().invoke(cli_app, ["ingest"])  # the handbook
    assert built.exit_code == 0, built.output
    _as_if_a_new_process()
    healthy = _search(knowledge)
    assert healthy.exit_code == 0 and '"passages"' in healthy.stdout, healthy.output

    # garbage over the store's database, as a bad disk or a half-copied backup leaves it
    (store_dir / "chroma.sqlite3").write_bytes(b"not a database at all " * 10_000)
    _as_if_a_new_process()
    broken = _search(knowledge)
    assert broken.exit_code == 1 and isinstance(broken.exception, SystemExit), broken.output
    assert "Traceback" not in broken.output
    assert "error (damaged): the policy knowledge base" in broken.stderr
    assert "`creditdesk ingest --rebuild`" in broken.stderr
    answer = _policy_answer(knowledge)
    assert "damaged" in answer and "creditdesk ingest --rebuild" in answer, answer

    rebuilt = CliRunner().invoke(cli_app, ["ingest", "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    _as_if_a_new_process()
    again = _search(knowledge)
    assert again.exit_code == 0 and "Credit & Collections Policy" in again.stdout, again.output
    assert "damaged" not in _policy_answer(knowledge)


@pytest.mark.embeddings
@pytest.mark.parametrize("loss", ["data_level0.bin", "header.bin", "the whole segment"])
def test_a_lost_index_segment_is_reported_as_damage(loss: str, tmp_path: Path) -> None:
    """A store whose vector index was persisted (after every chunk here) and then lost a segment file."""
    from knowledge.embeddings import LocalEmbedder, register_chroma_functions
    from knowledge.ingest import ingest_paths, rebuild
    from knowledge.search import search_policy
    from knowledge.store import PolicyStore, _client_for, close_client

    location, name = str(tmp_path / "chroma"), "segment-test"
    embedder = LocalEmbedder()
    register_chroma_functions()
    _client_for(location).create_collection(
        name,
        embedding_function=embedder.chroma_function(),
        configuration={"hnsw": {"space": "cosine", "sync_threshold": 2, "batch_size": 2}},
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    sections = "\n\n".join(f"## Rule {n}\n\nLimit rule {n}: increases above {n}0,000 need a manager." for n in range(6))
    (docs / "rules.md").write_text(f"# Limit rules\n\n{sections}\n")
    ingest_paths([docs], store=PolicyStore(location, name, embedder))
    close_client(location)
    segment = next(p for p in Path(location).iterdir() if p.is_dir())
    if loss == "the whole segment":
        shutil.rmtree(segment)
    else:
        (segment / loss).unlink()

    store = PolicyStore(location, name, embedder)
    with pytest.raises(CreditDeskError) as raised:
        search_policy("who approves an increase above 30,000?", store=store, mode="vector")
    assert raised.value.code is ErrorCode.DAMAGED and "`creditdesk ingest --rebuild`" in raised.value.message

    rebuild([docs], store=store)
    found = search_policy("who approves an increase above 30,000?", store=store, mode="vector")
    assert found.passages and any(p.document == "Limit rules" for p in found.passages)
    close_client(location)


# --- library loggers ----------------------------------------------------------------------------------------------

SECRET = "faults-test-signing-secret-0123"
MARKER = "ZEBRA-7731-confidential"
SLACK_USER = "U0MARKER42"
LIBRARIES = ("slack_bolt", "slack_sdk", "httpx", "httpx2", "httpcore", "uvicorn.access", "openai", "langchain_core")


def _all_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.__dict__!r}" for r in records)


@pytest.fixture
def library_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture at DEBUG, with the chatty libraries at DEBUG too: only the redaction stands between their records
    and the log."""
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    for name in LIBRARIES:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def mock_slack() -> Iterator[MockSlack]:
    mock = MockSlack().start()
    yield mock
    mock.stop()


def _signed(body: bytes, secret: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": str(SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)),
    }


def _mention_body(text: str) -> bytes:
    ts = f"{time.time():.6f}"
    event = {
        "type": "app_mention",
        "user": SLACK_USER,
        "text": f"<@{BOT_USER_ID}> {text}",
        "channel": "C0LOGS0",
        "ts": ts,
        "event_ts": ts,
    }
    body = {
        "token": "unused",
        "team_id": TEAM_ID,
        "api_app_id": "A0CREDIT0",
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return json.dumps(body).encode()


def test_slack_bodies_text_and_user_ids_stay_out_of_the_logs(
    request: pytest.FixtureRequest, tmp_path: Path, mock_slack: MockSlack, library_debug: pytest.LogCaptureFixture
) -> None:
    url = _sqlite_copy(request, tmp_path)
    with write_session(url) as session:
        add_staff_user(session, name="logan", role=Role.CREDIT_ANALYST, slack_user_id=SLACK_USER)
    settings = get_settings().model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-test-token"),
            "slack_signing_secret": SecretStr(SECRET),
            "slack_api_url": mock_slack.api_url,
        }
    )
    service = FakeService(text=f"Here is the answer {MARKER}-reply")
    app = create_app(settings=settings, database_url=url, service=service)
    with TestClient(app) as client:
        forged = _mention_body(f"forged {MARKER}")
        refused = client.post("/slack/events", content=forged, headers=_signed(forged, "not-the-secret"))
        assert refused.status_code == 401
        genuine = _mention_body(f"what is the exposure of {MARKER}?")
        assert client.post("/slack/events", content=genuine, headers=_signed(genuine, SECRET)).status_code == 200
        deadline = time.monotonic() + 20
        while not any(c.method == "chat.postMessage" for c in mock_slack.calls) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert any(c.method == "chat.postMessage" and MARKER in str(c.args) for c in mock_slack.calls)
    assert service.requests and MARKER in service.requests[0].text  # the text did pass through the app
    records = library_debug.records
    assert any(r.name.startswith("slack_bolt") for r in records), "bolt logged nothing: the test proves nothing"
    assert any(r.name.startswith("slack_sdk") for r in records), "slack_sdk logged nothing: the test proves nothing"
    logged = _all_text(records)
    assert MARKER not in logged
    assert SLACK_USER not in logged
    dispose_engine(url)


def test_api_chat_text_stays_out_of_the_logs(
    request: pytest.FixtureRequest, tmp_path: Path, library_debug: pytest.LogCaptureFixture
) -> None:
    url = _sqlite_copy(request, tmp_path)
    with write_session(url) as session:
        user = add_staff_user(session, name="logan", role=Role.CREDIT_ANALYST, email="logan@example.com")
        key = create_api_key(session, staff_user=user).key
    app = create_app(database_url=url, service=FakeService(text="fine"))
    with TestClient(app) as client:
        response = client.post(
            f"/v1/chat?note={MARKER}",
            json={"message": f"what is the exposure of {MARKER}?"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 200, response.text
    records = library_debug.records
    assert any(r.name.startswith("httpx") for r in records), "httpx logged nothing: the test proves nothing"
    logged = _all_text(records)
    assert MARKER not in logged and key not in logged and "logan@example.com" not in logged
    dispose_engine(url)


def test_uvicorn_access_lines_keep_the_route_not_the_path(library_debug: pytest.LogCaptureFixture) -> None:
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/v1/customers/{MARKER}/exposure?x=1", "1.1", 200)
    line = next(r for r in library_debug.records if r.name == "uvicorn.access").getMessage()
    assert line == '127.0.0.1:5000 - "GET /v1/customers/… HTTP/1.1" 200'


def test_own_loggers_keep_their_events(library_debug: pytest.LogCaptureFixture) -> None:
    from core.logging import get_logger

    get_logger("integrations.api.test").info("api.example", count=3)
    record = next(r for r in library_debug.records if r.name == "integrations.api.test")
    assert record.getMessage() == "api.example" and record.__dict__["count"] == 3


def test_chat_users_get_the_fault_without_where_the_database_lives(fault: Fault) -> None:
    from assistant.service import AssistantService
    from tools.context import Actor

    actor = Actor(id=1, name="morgan", role=Role.CREDIT_MANAGER)
    with AssistantService(database_url=fault.url, engine="planner") as service:
        reply = service.ask_text("what is Acme's exposure?", actor=actor, thread_id="fault-t", database_url=fault.url)
    assert reply.error and "nothing was" in reply.text.lower()
    assert not any(part in reply.text for part in (fault.url, "127.0.0.1", "sqlite", ".db", "postgres"))


def _corrupt_interior_pages(database: Path, *, seed: int = 11) -> None:
    """300 random bytes at offset 200 of every third 4 KiB page (the header page stays): a bad disk, not a bad
    header. Chroma's Rust bindings then panic (`pyo3_runtime.PanicException`, a BaseException) on the next read."""
    noise = random.Random(seed)
    size = database.stat().st_size
    with database.open("r+b") as handle:
        for page in range(3, size // 4096, 3):
            handle.seek(page * 4096 + 200)
            handle.write(noise.randbytes(300))


@pytest.mark.embeddings
def test_a_store_with_malformed_interior_pages_is_reported_as_damage(knowledge: str) -> None:
    built = CliRunner().invoke(cli_app, ["ingest"])
    assert built.exit_code == 0, built.output
    _as_if_a_new_process()
    _corrupt_interior_pages(get_settings().chroma_path / "chroma.sqlite3")
    _as_if_a_new_process()

    broken = _search(knowledge)
    assert broken.exit_code == 1 and isinstance(broken.exception, SystemExit), broken.output
    assert "Traceback" not in broken.output
    assert "error (damaged): the policy knowledge base" in broken.stderr
    answer = _policy_answer(knowledge)
    assert "damaged" in answer and "creditdesk ingest --rebuild" in answer, answer

    rebuilt = CliRunner().invoke(cli_app, ["ingest", "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    _as_if_a_new_process()
    assert _search(knowledge).exit_code == 0


class PanicException(BaseException):
    """Stands in for `pyo3_runtime.PanicException`, which derives from BaseException."""


@pytest.mark.parametrize("failure", [PanicException("database disk image is malformed"), RuntimeError("boom")])
def test_any_chroma_failure_becomes_damaged(failure: BaseException, tmp_path: Path) -> None:
    from knowledge.store import PolicyStore

    class Broken:
        name = "broken"

        def count(self) -> int:
            raise failure

    store = PolicyStore(str(tmp_path / "chroma"), "broken", SimpleNamespace(id="none"))  # type: ignore[arg-type]
    store._collection = Broken()
    with pytest.raises(CreditDeskError) as raised:
        store.count()
    assert raised.value.code is ErrorCode.DAMAGED and "`creditdesk ingest --rebuild`" in raised.value.message


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_interrupts_are_not_taken_for_damage(interrupt: type[BaseException], tmp_path: Path) -> None:
    from knowledge.store import PolicyStore

    class Interrupted:
        def count(self) -> int:
            raise interrupt()

    store = PolicyStore(str(tmp_path / "chroma"), "interrupted", SimpleNamespace(id="none"))  # type: ignore[arg-type]
    store._collection = Interrupted()
    with pytest.raises(interrupt):
        store.count()
