"""Signed checkpoints of the audit chain, kept outside the database.

The keyed chain stops anyone without the key from editing or recomputing events, but someone who can write to the
database can still delete the newest events and roll the head back: what is left is a valid, shorter chain. A
checkpoint records the head (sequence, event id, MAC, count, time) signed with the audit key, appended as one JSON
line to `<checkpoint dir>/YYYY-MM-DD.jsonl` (and printable for a log system or WORM storage). `verify_audit` checks
the chain and then every checkpoint of this database against it: a checkpointed event that is gone, replaced or
re-hashed is reported. `write_checkpoint` is a plain function so a scheduler can call it.

Checkpoints name their database by the random id stored in it (`audit_database`, migration 0011), never by its
address: the same database reached as `localhost` or `127.0.0.1`, or restored elsewhere, keeps its checkpoints. One
directory can serve several databases, but verifying fails closed when the source holds checkpoints and none is this
database's (the id was changed, or they belong to a database that was reset: archive them). Format 1 checkpoints,
written before the id existed, named a fingerprint of the address; they still match when the address is the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from core.audit_keys import AuditKeyRing, load_audit_keys
from core.dates import utcnow
from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings
from db.models.governance import AuditDatabase, AuditEvent
from db.queries.audit import ChainProblem, ChainReport, event_span, verify_chain

CHECKPOINT_FORMAT = "creditdesk-audit-checkpoint/2"
LEGACY_FORMAT = "creditdesk-audit-checkpoint/1"  # `database` is the address fingerprint
_CHECKPOINT_DOMAIN = b"creditdesk-audit-checkpoint"


def database_fingerprint(url: str | URL) -> str:
    """What format 1 checkpoints named their database by: its address (never credentials)."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        in_memory = not parsed.database or parsed.database == ":memory:"
        where = ":memory:" if in_memory else str(Path(parsed.database or "").resolve())
    else:
        where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    return hashlib.sha256(f"{backend}|{where}".encode()).hexdigest()[:24]


def database_id(session: Session) -> str | None:
    """This database's random id (None when its row was deleted)."""
    return session.scalar(select(AuditDatabase.database_id).where(AuditDatabase.id == 1))


def _ensure_database_id(database_url: str | None) -> str:
    """The id, created if its row is missing (only once the trail verified: no checkpoint matched a missing id)."""
    import secrets

    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from db.engine import write_session

    with write_session(database_url) as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        values = {"id": 1, "database_id": "d" + secrets.token_hex(12), "created_at": utcnow()}
        session.execute(insert(AuditDatabase).values(**values).on_conflict_do_nothing(index_elements=["id"]))
        found = database_id(session)
    assert found is not None
    return found


@dataclass(frozen=True)
class Checkpoint:
    database: str
    sequence: int
    event_id: int | None
    mac: str
    count: int
    created_at: str
    key_id: str
    signature: str = ""
    format: str = CHECKPOINT_FORMAT
    origin: str = field(default="", compare=False)  # file:line it was read from (not part of the record)

    def signed_payload(self) -> bytes:
        record = {k: v for k, v in self.record().items() if k != "signature"}
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def record(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "origin"}

    def line(self) -> str:
        return json.dumps(self.record(), sort_keys=True, separators=(",", ":"))


def _sign(keys: AuditKeyRing, checkpoint: Checkpoint) -> Checkpoint:
    unsigned = Checkpoint(**{**checkpoint.record(), "key_id": keys.current.key_id, "signature": ""})
    signature = keys.current.mac(_CHECKPOINT_DOMAIN, unsigned.signed_payload())
    return Checkpoint(**{**unsigned.record(), "signature": signature})


def _append_line(directory: Path, line: str) -> Path:
    """One `write` on an O_APPEND descriptor, then fsync: concurrent writers never interleave within a line."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{utcnow():%Y-%m-%d}.jsonl"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (line + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return path


@dataclass(frozen=True)
class AuditReport:
    chain: ChainReport
    problems: list[ChainProblem]
    checkpoints_checked: int
    last_checkpoint: Checkpoint | None
    notes: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


def _bind_url(session: Session) -> URL:
    return session.get_bind().engine.url


def _checkpoint_files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(source.glob("*.jsonl"))
    return [source] if source.exists() else []


def read_checkpoints(source: Path) -> tuple[list[Checkpoint], list[ChainProblem]]:
    """Every checkpoint in a file or in a directory's *.jsonl files; unreadable files and lines are problems
    (tampering)."""
    found: list[Checkpoint] = []
    problems: list[ChainProblem] = []
    names = set(Checkpoint.__dataclass_fields__) - {"origin"}
    for path in _checkpoint_files(source):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeError) as error:
            problem = f"checkpoint file {path} cannot be read ({type(error).__name__}): it was altered or replaced"
            problems.append(ChainProblem(0, problem))
            continue
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            origin = f"{path}:{number}"
            try:
                record = json.loads(text)
                if (
                    not isinstance(record, dict)
                    or set(record) != names
                    or record["format"] not in (CHECKPOINT_FORMAT, LEGACY_FORMAT)
                ):
                    raise ValueError("not a checkpoint record")
                found.append(Checkpoint(**record, origin=origin))
            except (ValueError, TypeError):
                problems.append(ChainProblem(0, f"checkpoint {origin} cannot be read: the file was altered"))
    return found, problems


def _check_against_chain(session: Session, checkpoints: list[Checkpoint], chain: ChainReport) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    sequences = sorted({c.sequence for c in checkpoints if c.sequence > 0})
    rows: dict[int, tuple[int, str]] = {}
    for start in range(0, len(sequences), 500):
        chunk = sequences[start : start + 500]
        query = select(AuditEvent.sequence, AuditEvent.id, AuditEvent.hash).where(AuditEvent.sequence.in_(chunk))
        rows.update({sequence: (event_id, mac) for sequence, event_id, mac in session.execute(query)})
    reported: set[int] = set()
    for checkpoint in sorted(checkpoints, key=lambda c: c.sequence, reverse=True):
        if checkpoint.sequence in reported:
            continue
        when = f"the checkpoint of {checkpoint.created_at} ({checkpoint.origin})"
        found = rows.get(checkpoint.sequence)
        if checkpoint.sequence > chain.last_sequence:
            problem = (
                f"{when} recorded {checkpoint.count:,} events up to event {checkpoint.sequence}, the table now ends at "
                f"event {chain.last_sequence}: {event_span(chain.last_sequence + 1, checkpoint.sequence)} deleted "
                "and the head rolled back" + (" (the table was emptied)" if chain.events == 0 else "")
            )
        elif checkpoint.sequence == 0:
            continue
        elif found is None:
            problem = f"{when} recorded event {checkpoint.sequence}, which is missing now"
        elif found[1] != checkpoint.mac:
            problem = (
                f"event {checkpoint.sequence} differs from {when}: the chain up to it was rewritten "
                "(edited and recomputed, or replaced)"
            )
        elif found[0] != checkpoint.event_id:
            problem = f"event {checkpoint.sequence} was deleted and re-inserted since {when}"
        else:
            continue
        reported.add(checkpoint.sequence)
        problems.append(ChainProblem(checkpoint.sequence, problem))
    newest = max(checkpoints, key=lambda c: (c.sequence, c.created_at))
    if newest.sequence and not problems and newest.count != _count_up_to(session, newest.sequence):
        problems.append(
            ChainProblem(
                newest.sequence,
                f"the checkpoint {newest.origin} counted {newest.count:,} events up to event {newest.sequence}, the "
                "table holds a different number: events were deleted or inserted",
            )
        )
    return problems


def _count_up_to(session: Session, sequence: int) -> int:
    return int(session.scalar(select(func.count()).where(AuditEvent.sequence <= sequence)) or 0)


def verify_audit(
    session: Session, *, keys: AuditKeyRing | None = None, checkpoint_source: Path | None = None
) -> AuditReport:
    """The keyed chain, then every checkpoint of this database (from the configured directory, or a file or
    directory fetched back from wherever they were shipped). Fails closed: a missing key, an unreadable or forged
    checkpoint, a checkpoint the chain no longer matches, an explicit source without checkpoint files, or
    checkpoints none of which is this database's is a problem."""
    return _verify(session, keys, checkpoint_source, explicit=checkpoint_source is not None)


def _verify(session: Session, keys: AuditKeyRing | None, source: Path | None, *, explicit: bool) -> AuditReport:
    keys_error: str | None = None
    if keys is None:
        try:
            keys = load_audit_keys(create=False)
        except CreditDeskError as error:
            keys_error = error.message
    chain = verify_chain(session, keys, keys_error=keys_error)
    problems = list(chain.problems)
    notes = list(chain.notes)
    source = source or get_settings().resolved_audit_checkpoint_dir
    if explicit and not _checkpoint_files(source):
        what = "does not exist" if not source.exists() else "holds no checkpoint file (*.jsonl)"
        problems.append(ChainProblem(0, f"the checkpoint source {source} {what}: nothing to compare the chain with"))
    everything, unreadable = read_checkpoints(source)
    problems.extend(unreadable)
    identity = database_id(session)
    address = database_fingerprint(_bind_url(session))
    mine = [
        c
        for c in everything
        if (c.format == CHECKPOINT_FORMAT and identity is not None and c.database == identity)
        or (c.format == LEGACY_FORMAT and c.database == address)
    ]
    valid: list[Checkpoint] = []
    for checkpoint in mine:
        key = keys.get(checkpoint.key_id) if keys is not None else None
        if key is None:
            reason = keys_error or f"key {checkpoint.key_id!r} is not configured"
            problems.append(ChainProblem(checkpoint.sequence, f"cannot check checkpoint {checkpoint.origin}: {reason}"))
        elif not hmac.compare_digest(key.mac(_CHECKPOINT_DOMAIN, checkpoint.signed_payload()), checkpoint.signature):
            problem = f"checkpoint {checkpoint.origin} has a bad signature: altered or forged"
            problems.append(ChainProblem(checkpoint.sequence, problem))
        else:
            valid.append(checkpoint)
    last: Checkpoint | None = None
    if valid:
        problems.extend(_check_against_chain(session, valid, chain))
        last = max(valid, key=lambda c: (c.created_at, c.sequence))
        if chain.last_sequence > last.sequence:
            notes.append(
                f"{event_span(last.sequence + 1, chain.last_sequence)} came after the last checkpoint "
                f"({last.created_at}): only the keyed chain protects them"
            )
    elif everything and not mine:
        named = f"database id {identity}" if identity else "no database id (its audit_database row is missing)"
        problems.append(
            ChainProblem(
                0,
                f"{len(everything):,} checkpoint(s) in {source} and none is this database's ({named}): the id may "
                "have been changed to escape them, or they belong to a database that was reset or replaced — if "
                "so, archive them elsewhere and write a new checkpoint",
            )
        )
    elif not everything:
        notes.append(
            f"no checkpoints of this database in {source}: only the keyed chain was checked, which cannot reveal "
            "deleted newest events; run `creditdesk audit checkpoint` regularly"
        )
    if mine and len(everything) > len(mine):
        notes.append(f"{len(everything) - len(mine)} checkpoint(s) there belong to other databases")
    return AuditReport(chain, problems, len(valid), last, notes)


def write_checkpoint(
    database_url: str | None = None, *, directory: Path | None = None, keys: AuditKeyRing | None = None
) -> Checkpoint:
    """Verify the chain and the earlier checkpoints, then append a signed checkpoint of the current head. Refuses
    (conflict) if anything is wrong: a checkpoint must never bless a tampered chain."""
    from db.engine import read_session

    keys = keys or load_audit_keys(create=True)
    target = directory or get_settings().resolved_audit_checkpoint_dir
    with read_session(database_url) as session:
        report = _verify(session, keys, target, explicit=False)
        if not report.intact:
            first = report.problems[0]
            raise CreditDeskError(
                ErrorCode.CONFLICT,
                f"the audit trail does not verify (event {first.sequence}: {first.problem}); no checkpoint written: "
                "run `creditdesk audit verify`",
                details={"problems": len(report.problems)},
            )
        identity = database_id(session)
    checkpoint = _sign(
        keys,
        Checkpoint(
            database=identity or _ensure_database_id(database_url),
            sequence=report.chain.last_sequence,
            event_id=report.chain.last_event_id,
            mac=report.chain.last_mac,
            count=report.chain.events,
            created_at=utcnow().isoformat(timespec="microseconds"),
            key_id=keys.current.key_id,
        ),
    )
    path = _append_line(target, checkpoint.line())
    return Checkpoint(**checkpoint.record(), origin=str(path))
