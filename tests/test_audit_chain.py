"""The keyed audit chain and its signed checkpoints, attacked the way someone with database write access would."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, column, insert, select, table, text, update
from typer.testing import CliRunner

from core.audit_keys import AuditKey, AuditKeyRing, key_id_for, load_audit_keys
from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings, reset_settings
from db.engine import build_engine, dispose_engine, read_session, write_session
from db.migrate import downgrade, upgrade
from db.models.governance import AuditEvent, AuditHead
from db.queries.audit import (
    GENESIS,
    UPGRADE_EVENT,
    EventContent,
    append_event,
    keyed_mac,
    legacy_hash,
    verify_chain,
)
from db.queries.audit_checkpoints import (
    CHECKPOINT_FORMAT,
    LEGACY_FORMAT,
    AuditReport,
    Checkpoint,
    _sign,
    database_fingerprint,
    database_id,
    verify_audit,
    write_checkpoint,
)
from db.types import JSONType, UTCDateTime
from integrations.cli.app import app
from tests.support.databases import create_pg_database, drop_pg_database, pg_url, require_postgres

# audit_event as it was before migration 0010
AUDIT_V1 = table(
    "audit_event",
    *(column(name) for name in ("sequence", "event", "actor_id", "actor_name", "actor_role", "subject_type")),
    *(column(name) for name in ("subject_id", "previous_hash", "hash")),
    column("occurred_at", UTCDateTime()),
    column("details", JSONType),
)

SECRET = "s3cret-" + "a1" * 20
OTHER_SECRET = "other-" + "b2" * 20


@pytest.fixture
def audit_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A configured audit secret and a private checkpoint directory (returned)."""
    directory = tmp_path / "checkpoints"
    monkeypatch.setenv("CREDITDESK_AUDIT_SECRET", SECRET)
    monkeypatch.setenv("CREDITDESK_AUDIT_CHECKPOINT_DIR", str(directory))
    reset_settings()
    return directory


def _fill(url: str, count: int, *, start: int = 0) -> None:
    with write_session(url) as session:
        for number in range(start, start + count):
            append_event(
                session,
                "test.event",
                actor_id=1,
                actor_name="tester",
                actor_role="admin",
                subject_type="customer",
                subject_id=number,
                details={"amount": f"{number}00.00", "n": number},
            )


def _audit(url: str, source: Path | None = None) -> AuditReport:
    with read_session(url) as session:
        return verify_audit(session, checkpoint_source=source)


def _text(report: AuditReport) -> str:
    return "\n".join(f"{p.sequence}: {p.problem}" for p in report.problems)


def _sql(url: str, *statements: str) -> None:
    with write_session(url) as session:
        for statement in statements:
            session.execute(text(statement))


def _roll_head_back(url: str) -> None:
    """What an attacker does after deleting the newest events: point the head at the new last event."""
    with write_session(url) as session:
        last = session.execute(
            select(AuditEvent.sequence, AuditEvent.hash).order_by(AuditEvent.sequence.desc())
        ).first()
        sequence, mac = last if last else (0, GENESIS)
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(sequence=sequence, hash=mac))


def _rehash(url: str, compute: Any, *, version: int, key_id: str | None) -> None:
    """Recompute the whole chain the way an attacker without the real key would, head included."""
    with write_session(url) as session:
        previous = GENESIS
        for row in session.scalars(select(AuditEvent).order_by(AuditEvent.sequence)).all():
            row.previous_hash, row.chain_version, row.key_id = previous, version, key_id
            row.hash = previous = compute(previous, EventContent.of(row))
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=previous))


# --- the keyed chain ---------------------------------------------------------------------------------------------


def test_intact_chain_is_keyed_and_says_checkpoints_are_missing(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 6)
    with read_session(db_url) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence)).all()
        assert {(r.chain_version, r.key_id) for r in rows} == {(2, key_id_for(SECRET.encode()))}
        assert [r.sequence for r in rows] == list(range(1, 7))
    report = _audit(db_url)
    assert report.intact and report.chain.events == 6 and report.checkpoints_checked == 0
    assert any("only the keyed chain was checked" in note for note in report.notes)


def test_an_edited_detail_is_reported_at_its_event(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 5)
    with write_session(db_url) as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.sequence == 3)).one()
        row.details = {**row.details, "amount": "999999.00"}
    report = _audit(db_url)
    assert not report.intact
    assert [p.sequence for p in report.problems] == [3] and "MAC" in report.problems[0].problem


def test_deleting_a_middle_event_is_reported(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 5)
    _sql(db_url, "DELETE FROM audit_event WHERE sequence = 3")
    problems = _audit(db_url).problems
    assert any(p.sequence == 3 and "event 3 missing" in p.problem for p in problems)
    assert any(p.sequence == 4 and "link" in p.problem for p in problems)


def test_reordering_events_is_reported(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 5)
    _sql(
        db_url,
        "UPDATE audit_event SET sequence = -2 WHERE sequence = 2",
        "UPDATE audit_event SET sequence = 2 WHERE sequence = 4",
        "UPDATE audit_event SET sequence = 4 WHERE sequence = -2",
    )
    report = _audit(db_url)
    assert {2, 3, 4, 5} <= {p.sequence for p in report.problems}


@pytest.mark.parametrize("attack", ["plain-sha256", "sha256-labelled-keyed", "wrong-key-same-id", "own-key"])
def test_recomputing_the_chain_without_the_key_is_reported(db_url: str, audit_env: Path, attack: str) -> None:
    _fill(db_url, 4)
    real_id = key_id_for(SECRET.encode())
    guess = AuditKey(real_id, OTHER_SECRET.encode())
    own = AuditKeyRing.of(OTHER_SECRET.encode()).current
    if attack == "plain-sha256":
        _rehash(db_url, legacy_hash, version=1, key_id=None)
    elif attack == "sha256-labelled-keyed":
        _rehash(db_url, legacy_hash, version=2, key_id=real_id)
    elif attack == "wrong-key-same-id":
        _rehash(db_url, lambda p, c: keyed_mac(guess, p, c), version=2, key_id=real_id)
    else:
        _rehash(db_url, lambda p, c: keyed_mac(own, p, c), version=2, key_id=own.key_id)
    report = _audit(db_url)
    assert not report.intact
    expected = {
        "plain-sha256": "none is keyed",
        "sha256-labelled-keyed": "MAC",
        "wrong-key-same-id": "MAC",
        "own-key": "not configured",
    }[attack]
    assert expected in _text(report)


def test_deleting_the_newest_events_is_caught_only_by_a_checkpoint(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 5)
    checkpoint = write_checkpoint(db_url)
    assert (checkpoint.sequence, checkpoint.count) == (5, 5)
    _fill(db_url, 2, start=5)  # after the checkpoint: protected by the keyed chain only
    assert any("events 6..7 came after the last checkpoint" in note for note in _audit(db_url).notes)
    _sql(db_url, "DELETE FROM audit_event WHERE sequence >= 4")
    _roll_head_back(db_url)
    with read_session(db_url) as session:
        assert verify_chain(session).intact  # a shorter chain is still a valid chain: the limit of any chain
    report = _audit(db_url)
    assert not report.intact
    assert [p.sequence for p in report.problems] == [5]
    assert "events 4..5 deleted and the head rolled back" in report.problems[0].problem


def test_truncating_the_table_is_caught_by_a_checkpoint(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 3)
    write_checkpoint(db_url)
    _sql(db_url, "DELETE FROM audit_event", "DELETE FROM audit_head")
    with read_session(db_url) as session:
        assert verify_chain(session).intact
    report = _audit(db_url)
    assert not report.intact and "table was emptied" in _text(report)


def test_a_recreated_chain_does_not_match_its_checkpoint(db_url: str, audit_env: Path) -> None:
    """Truncate and write as many fresh (correctly keyed, e.g. by the product itself) events again."""
    _fill(db_url, 3)
    write_checkpoint(db_url)
    _sql(db_url, "DELETE FROM audit_event", "DELETE FROM audit_head")
    _fill(db_url, 4, start=100)
    report = _audit(db_url)
    assert [p.sequence for p in report.problems] == [3] and "rewritten" in report.problems[0].problem


def test_checkpoints_are_signed_and_a_forged_or_garbled_one_is_reported(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 3)
    path = Path(write_checkpoint(db_url).origin)
    assert oct(stat.S_IMODE(path.stat().st_mode)) == "0o640"
    record = json.loads(path.read_text().splitlines()[0])
    with path.open("a") as handle:
        handle.write(json.dumps({**record, "sequence": 2, "mac": "f" * 64}) + "\n")
        handle.write("{not json\n")
    problems = _text(_audit(db_url))
    assert ":2 has a bad signature" in problems and ":3 cannot be read" in problems


def test_checkpoint_refuses_to_bless_a_tampered_chain(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 3)
    write_checkpoint(db_url)
    _sql(db_url, "DELETE FROM audit_event WHERE sequence = 3")
    _roll_head_back(db_url)
    with pytest.raises(CreditDeskError) as refused:
        write_checkpoint(db_url)
    assert refused.value.code == ErrorCode.CONFLICT and "no checkpoint written" in refused.value.message
    assert [len(path.read_text().splitlines()) for path in audit_env.glob("*.jsonl")] == [1]


def test_checkpoints_of_other_databases_are_ignored_but_not_only_theirs(
    db_url: str, audit_env: Path, tmp_path: Path
) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other)
    try:
        _fill(other, 9)
        write_checkpoint(other)
    finally:
        dispose_engine(other)
    _fill(db_url, 2)
    alone = _audit(db_url)  # none of them is this database's: fail closed
    assert not alone.intact and "none is this database's" in _text(alone) and "archive them" in _text(alone)
    with pytest.raises(CreditDeskError) as refused:
        write_checkpoint(db_url)
    assert refused.value.code is ErrorCode.CONFLICT

    write_checkpoint(db_url, directory=tmp_path / "own")
    for path in (tmp_path / "own").glob("*.jsonl"):
        with (audit_env / path.name).open("a") as shared:
            shared.write(path.read_text())
    report = _audit(db_url)
    assert report.intact and report.checkpoints_checked == 1
    assert any("belong to other databases" in note for note in report.notes)


def test_a_deleted_head_row_is_rebuilt_from_the_newest_event(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 3)
    _sql(db_url, "DELETE FROM audit_head")
    with read_session(db_url) as session:
        assert "head is missing" in "".join(p.problem for p in verify_chain(session).problems)
    _fill(db_url, 2, start=3)
    report = _audit(db_url)
    assert report.intact and report.chain.last_sequence == 5


# --- keys ------------------------------------------------------------------------------------------------------------


def test_a_missing_key_fails_closed(db_url: str, audit_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(db_url, 2)
    write_checkpoint(db_url)
    monkeypatch.delenv("CREDITDESK_AUDIT_SECRET")
    monkeypatch.setenv("CREDITDESK_AUDIT_KEY_FILE", str(audit_env.parent / "absent.key"))
    reset_settings()
    report = _audit(db_url)
    assert not report.intact
    assert "cannot verify the events signed with key" in _text(report) and "absent.key does not exist" in _text(report)
    assert "cannot check checkpoint" in _text(report)
    assert not (audit_env.parent / "absent.key").exists()  # verifying never invents a key


def test_production_refuses_to_write_without_a_secret(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDITDESK_AUDIT_SECRET", raising=False)
    monkeypatch.setenv("CREDITDESK_DEPLOYMENT", "production")
    monkeypatch.setenv("CREDITDESK_DATA_DIR", str(tmp_path))
    reset_settings()
    with pytest.raises(CreditDeskError) as refused:
        _fill(db_url, 1)
    assert refused.value.code == ErrorCode.NOT_CONFIGURED and "CREDITDESK_AUDIT_SECRET" in refused.value.message
    assert not (tmp_path / "audit.key").exists()
    with read_session(db_url) as session:
        assert session.scalar(select(AuditEvent.id)) is None


def test_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_AUDIT_SECRET", "too-short")
    reset_settings()
    with pytest.raises(CreditDeskError, match="too short"):
        load_audit_keys()


def test_embedded_key_file_is_generated_once_private_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDITDESK_AUDIT_SECRET", raising=False)
    monkeypatch.setenv("CREDITDESK_DATA_DIR", str(tmp_path))
    reset_settings()
    with pytest.raises(CreditDeskError, match="does not exist"):
        load_audit_keys()
    first = load_audit_keys(create=True)
    path = tmp_path / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) == 64
    assert load_audit_keys(create=True).current == first.current == load_audit_keys().current
    os.chmod(path, 0o644)
    with pytest.raises(CreditDeskError, match="chmod 600"):
        load_audit_keys()


def test_rotated_keys_verify_with_the_previous_secret(
    db_url: str, audit_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(db_url, 2)
    write_checkpoint(db_url)
    monkeypatch.setenv("CREDITDESK_AUDIT_SECRET", OTHER_SECRET)
    monkeypatch.setenv("CREDITDESK_AUDIT_PREVIOUS_SECRETS", json.dumps([SECRET]))
    reset_settings()
    _fill(db_url, 2, start=2)
    write_checkpoint(db_url)
    with read_session(db_url) as session:
        key_ids = session.scalars(select(AuditEvent.key_id).order_by(AuditEvent.sequence)).all()
    assert key_ids[:2] != key_ids[2:] and len(set(key_ids)) == 2
    assert _audit(db_url).intact
    monkeypatch.delenv("CREDITDESK_AUDIT_PREVIOUS_SECRETS")
    reset_settings()
    assert "not configured" in _text(_audit(db_url))


# --- legacy (version 1) events ------------------------------------------------------------------------------------


@pytest.fixture
def legacy_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0009 (before the keyed chain)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
        upgrade(url, "0009")
        yield url
        dispose_engine(url)
        return
    require_postgres()
    name = create_pg_database()
    upgrade(pg_url(name), "0009")
    yield pg_url(name)
    dispose_engine(pg_url(name))
    drop_pg_database(name)


@contextmanager
def _raw_connection(url: str) -> Iterator[Connection]:
    """A transaction on a database below the head revision (the product's sessions refuse those)."""
    engine = build_engine(url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def _write_legacy_events(url: str, count: int) -> list[str]:
    """Events exactly as the product wrote them before migration 0010 (plain sha256, no version or key columns)."""
    from core.dates import utcnow

    previous, hashes = GENESIS, list[str]()
    with _raw_connection(url) as connection:
        for sequence in range(1, count + 1):
            content = EventContent(
                sequence,
                utcnow(),
                "legacy.event",
                1,
                "tester",
                "admin",
                "customer",
                str(sequence),
                {"amount": f"{sequence}.50"},
            )
            digest = legacy_hash(previous, content)
            connection.execute(
                insert(AUDIT_V1).values(
                    sequence=sequence,
                    occurred_at=content.occurred_at,
                    event=content.event,
                    actor_id=1,
                    actor_name="tester",
                    actor_role="admin",
                    subject_type="customer",
                    subject_id=content.subject_id,
                    details=content.details,
                    previous_hash=previous,
                    hash=digest,
                )
            )
            hashes.append(digest)
            previous = digest
        connection.execute(
            text("INSERT INTO audit_head (id, sequence, hash) VALUES (1, :s, :h)"), {"s": count, "h": previous}
        )
    return hashes


def test_legacy_events_stay_verifiable_and_are_sealed(legacy_db_url: str, audit_env: Path) -> None:
    original = _write_legacy_events(legacy_db_url, 4)
    upgrade(legacy_db_url)
    _fill(legacy_db_url, 2)
    with read_session(legacy_db_url) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence)).all()
    assert [r.chain_version for r in rows] == [1, 1, 1, 1, 2, 2, 2]
    assert [r.hash for r in rows[:4]] == original  # old exports still match
    assert rows[4].event == UPGRADE_EVENT and rows[4].details["legacy_events"] == 4
    assert rows[4].details["legacy_intact"] is True
    report = _audit(legacy_db_url)
    assert report.intact and report.chain.legacy_events == 4

    # A legacy event edited and the legacy part recomputed with plain sha256 no longer matches the keyed seal.
    with write_session(legacy_db_url) as session:
        previous = GENESIS
        for row in session.scalars(select(AuditEvent).where(AuditEvent.sequence <= 4).order_by(AuditEvent.sequence)):
            if row.sequence == 2:
                row.details = {"amount": "0.01"}
            row.previous_hash = previous
            row.hash = previous = legacy_hash(previous, EventContent.of(row))
    assert "link" in _text(_audit(legacy_db_url))


def test_a_legacy_chain_broken_before_the_upgrade_stays_reported(legacy_db_url: str, audit_env: Path) -> None:
    _write_legacy_events(legacy_db_url, 3)
    with _raw_connection(legacy_db_url) as connection:
        connection.execute(text("UPDATE audit_event SET actor_name = 'someone else' WHERE sequence = 2"))
    upgrade(legacy_db_url)
    problems = _text(_audit(legacy_db_url))
    assert "already broken when migration 0010 sealed it" in problems and "[2]" in problems


def test_downgrade_turns_the_chain_back_into_plain_sha256(legacy_db_url: str, audit_env: Path) -> None:
    _write_legacy_events(legacy_db_url, 2)
    upgrade(legacy_db_url)
    _fill(legacy_db_url, 2)
    downgrade(legacy_db_url, "0009")
    with _raw_connection(legacy_db_url) as connection:
        rows = connection.execute(select(AUDIT_V1).order_by(AUDIT_V1.c.sequence)).mappings().all()
        head = connection.execute(text("SELECT sequence, hash FROM audit_head")).one()
    previous = GENESIS
    for row in rows:
        assert row["previous_hash"] == previous
        assert legacy_hash(previous, EventContent.from_mapping(row)) == row["hash"]
        previous = row["hash"]
    assert len(rows) == 5 and tuple(head) == (5, previous)
    upgrade(legacy_db_url)  # and up again: sealed a second time
    assert _audit(legacy_db_url).intact


# --- concurrency -----------------------------------------------------------------------------------------------------


def test_concurrent_appenders_keep_one_chain(db_url: str, audit_env: Path) -> None:
    per_thread, errors = 40, []
    barrier = threading.Barrier(2)

    def work(offset: int) -> None:
        try:
            barrier.wait()
            for number in range(per_thread):
                _fill(db_url, 1, start=offset + number)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in (0, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = _audit(db_url)
    assert report.intact and report.chain.events == 2 * per_thread and report.chain.last_sequence == 2 * per_thread
    with read_session(db_url) as session:
        subjects = set(session.scalars(select(AuditEvent.subject_id)))
    assert subjects == {str(n) for n in (*range(per_thread), *range(1000, 1000 + per_thread))}


# --- command line ----------------------------------------------------------------------------------------------------


def _flat(output: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(output.split())


def test_cli_checkpoint_and_verify_exit_codes(db_url: str, audit_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    _fill(db_url, 3)
    result = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 3 events" in _flat(result.output) and "only the keyed chain" in _flat(result.output)

    result = runner.invoke(app, ["--db", db_url, "audit", "checkpoint", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip())
    assert (record["sequence"], record["count"]) == (3, 3) and len(record["signature"]) == 64

    result = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert result.exit_code == 0 and "matches 1 checkpoint(s), the last at event 3" in _flat(result.output)

    _sql(db_url, "DELETE FROM audit_event WHERE sequence = 3")
    _roll_head_back(db_url)
    result = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert result.exit_code == 1 and "event 3 deleted and the head rolled back" in _flat(result.output)
    assert runner.invoke(app, ["--db", db_url, "audit", "checkpoint"]).exit_code == 1

    elsewhere = audit_env.parent / "shipped"
    elsewhere.mkdir()
    result = runner.invoke(app, ["--db", db_url, "audit", "verify", "--checkpoints", str(elsewhere)])
    assert result.exit_code == 1 and "holds no checkpoint file" in _flat(result.output)
    missing = audit_env.parent / "never-shipped"
    result = runner.invoke(app, ["--db", db_url, "audit", "verify", "--checkpoints", str(missing)])
    assert result.exit_code == 1 and f"{missing} does not exist" in _flat(result.output)
    assert "Traceback" not in result.output

    monkeypatch.delenv("CREDITDESK_AUDIT_SECRET")
    monkeypatch.setenv("CREDITDESK_DEPLOYMENT", "production")
    reset_settings()
    result = runner.invoke(app, ["--db", db_url, "audit", "verify", "--checkpoints", str(elsewhere)])
    assert result.exit_code == 1 and "CREDITDESK_AUDIT_SECRET" in _flat(result.output)
    assert get_settings().deployment == "production"


# --- review fixes: the database id, explicit sources, unreadable files, a lost key --------------------------------


@contextmanager
def _same_database_elsewhere(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The same database under another address: PostgreSQL as `localhost` instead of `127.0.0.1`, a SQLite file
    restored to another path."""
    if db_url.startswith("sqlite"):
        restored = tmp_path / "restored" / "creditdesk.db"
        restored.parent.mkdir()
        dispose_engine(db_url)
        restored.write_bytes(Path(db_url.split(":///", 1)[1]).read_bytes())
        other = f"sqlite:///{restored}"
    else:
        assert "@127.0.0.1:" in db_url
        other = db_url.replace("@127.0.0.1:", "@localhost:")
    try:
        yield other
    finally:
        dispose_engine(other)


def test_checkpoints_follow_the_database_to_another_address(db_url: str, audit_env: Path, tmp_path: Path) -> None:
    _fill(db_url, 3)
    write_checkpoint(db_url)
    with _same_database_elsewhere(db_url, tmp_path) as other:
        matched = _audit(other)
        assert matched.intact and matched.checkpoints_checked == 1, _text(matched)
        _sql(other, "DELETE FROM audit_event WHERE sequence = 3")
        _roll_head_back(other)
        report = _audit(other)
        assert not report.intact and "event 3 deleted and the head rolled back" in _text(report)
        result = CliRunner().invoke(app, ["--db", other, "audit", "verify"])
        assert result.exit_code == 1, result.output


@pytest.mark.parametrize("change", ["a new id", "the id row deleted"])
def test_a_changed_database_id_fails_closed(db_url: str, audit_env: Path, change: str) -> None:
    _fill(db_url, 3)
    write_checkpoint(db_url)
    _sql(db_url, "DELETE FROM audit_event WHERE sequence = 3")
    _roll_head_back(db_url)
    if change == "a new id":
        _sql(db_url, "UPDATE audit_database SET database_id = 'dfeedfacefeedfacefeedface'")
    else:
        _sql(db_url, "DELETE FROM audit_database")
    report = _audit(db_url)
    assert not report.intact and "none is this database's" in _text(report), _text(report)
    result = CliRunner().invoke(app, ["--db", db_url, "audit", "verify"])
    assert result.exit_code == 1 and "none is this database's" in _flat(result.output)
    with pytest.raises(CreditDeskError):
        write_checkpoint(db_url)


def test_the_database_id_is_in_the_signed_body(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 2)
    written = write_checkpoint(db_url)
    with read_session(db_url) as session:
        assert written.database == database_id(session) and written.format == CHECKPOINT_FORMAT
    path = next(audit_env.glob("*.jsonl"))
    record = json.loads(path.read_text())
    path.write_text(json.dumps(record | {"database": "d" + "0" * 24}) + "\n")
    report = _audit(db_url)
    assert not report.intact  # another id: not this database's; it cannot be re-signed without the key
    path.write_text(json.dumps(record) + "\n")
    assert _audit(db_url).intact


def test_format_1_checkpoints_still_match_by_address(db_url: str, audit_env: Path) -> None:
    _fill(db_url, 3)
    keys = load_audit_keys()
    with read_session(db_url) as session:
        chain = verify_chain(session, keys)
        address = database_fingerprint(session.get_bind().engine.url)
    old = _sign(
        keys,
        Checkpoint(
            address,
            3,
            chain.last_event_id,
            chain.last_mac,
            3,
            "2026-11-01T00:00:00+00:00",
            "",
            "",
            format=LEGACY_FORMAT,
        ),
    )
    audit_env.mkdir()
    (audit_env / "2026-11-01.jsonl").write_text(old.line() + "\n")
    report = _audit(db_url)
    assert report.intact and report.checkpoints_checked == 1, _text(report)
    _sql(db_url, "DELETE FROM audit_event WHERE sequence = 3")
    _roll_head_back(db_url)
    assert "event 3 deleted and the head rolled back" in _text(_audit(db_url))


@pytest.mark.parametrize("garbage", ["not utf-8", "a directory"])
def test_an_unreadable_checkpoint_file_is_tampering_not_a_crash(db_url: str, audit_env: Path, garbage: str) -> None:
    _fill(db_url, 2)
    write_checkpoint(db_url)
    bad = audit_env / "2026-01-01.jsonl"
    if garbage == "a directory":
        bad.mkdir()
    else:
        bad.write_bytes(b"\xff\xfe\x00garbage\x80\n")
    report = _audit(db_url)
    assert not report.intact and f"checkpoint file {bad} cannot be read" in _text(report)
    assert report.checkpoints_checked == 1  # the readable ones are still compared
    result = CliRunner().invoke(app, ["--db", db_url, "audit", "verify"])
    assert result.exit_code == 1 and "cannot be read" in _flat(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    result = CliRunner().invoke(app, ["--db", db_url, "audit", "checkpoint"])
    assert result.exit_code == 1 and "cannot be read" in _flat(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_lost_key_file_is_never_replaced_once_events_are_signed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDITDESK_AUDIT_SECRET", raising=False)
    monkeypatch.setenv("CREDITDESK_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    _fill(db_url, 2)  # an empty trail: the embedded key is generated
    key_file = tmp_path / "data" / "audit.key"
    assert key_file.exists()
    moved = key_file.rename(tmp_path / "audit.key.moved")
    with pytest.raises(CreditDeskError) as refused:
        _fill(db_url, 1, start=2)
    assert refused.value.code is ErrorCode.NOT_CONFIGURED
    assert "audit key is missing" in refused.value.message and "CREDITDESK_AUDIT_SECRET" in refused.value.message
    assert not key_file.exists()
    with read_session(db_url) as session:
        assert verify_chain(session, load_audit_keys(create=False) if key_file.exists() else None).events == 2
    moved.rename(key_file)
    _fill(db_url, 1, start=2)
    assert _audit(db_url).chain.intact
