"""API keys and the durable record of Slack events already handled."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.dates import utcnow
from core.errors import invalid_input, not_found
from db.models import ApiKey, StaffUser
from db.models.access import SlackEventSeen

KEY_PREFIX = "cdk_"
# "cdk_" + 8 characters of the random part: enough to find the row, far too little to guess the key.
LOOKUP_PREFIX_LENGTH = len(KEY_PREFIX) + 8


def hash_api_key(key: str) -> str:
    """SHA-256 is enough for a 256-bit random key (no password stretching needed: nothing to brute-force)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    id: int
    prefix: str
    key: str  # shown once, never stored


def create_api_key(session: Session, *, staff_user: StaffUser, label: str | None = None) -> NewApiKey:
    if not staff_user.active:
        raise invalid_input(f"{staff_user.name} is inactive; activate the user before issuing a key")
    if label is not None and len(label) > 80:
        raise invalid_input("label must be at most 80 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        staff_user_id=staff_user.id,
        prefix=key[:LOOKUP_PREFIX_LENGTH],
        key_hash=hash_api_key(key),
        label=label,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return NewApiKey(id=row.id, prefix=row.prefix, key=key)


def authenticate_api_key(session: Session, key: str) -> StaffUser | None:
    """The active staff user holding this unrevoked key, or None. Digests are compared in constant time."""
    if not key.startswith(KEY_PREFIX) or len(key) < LOOKUP_PREFIX_LENGTH or len(key) > 200:
        return None
    digest = hash_api_key(key)
    rows = session.execute(
        select(ApiKey, StaffUser)
        .join(StaffUser, StaffUser.id == ApiKey.staff_user_id)
        .where(ApiKey.prefix == key[:LOOKUP_PREFIX_LENGTH])
    ).all()
    found: StaffUser | None = None
    for api_key, user in rows:
        if hmac.compare_digest(api_key.key_hash, digest) and api_key.revoked_at is None and user.active:
            found = user
    return found


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    prefix: str
    user: str
    role: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


def list_api_keys(session: Session, *, staff_user_id: int | None = None) -> list[ApiKeyInfo]:
    query = select(ApiKey, StaffUser).join(StaffUser, StaffUser.id == ApiKey.staff_user_id).order_by(ApiKey.id)
    if staff_user_id is not None:
        query = query.where(ApiKey.staff_user_id == staff_user_id)
    return [
        ApiKeyInfo(
            id=key.id,
            prefix=key.prefix,
            user=user.name,
            role=user.role.value,
            label=key.label,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )
        for key, user in session.execute(query)
    ]


def revoke_api_key(session: Session, handle: str) -> ApiKeyInfo:
    """Revoke by id or by the printed prefix (`cdk_XXXXXXXX`). Revoking twice is harmless."""
    handle = handle.strip()
    query = select(ApiKey)
    query = query.where(ApiKey.id == int(handle)) if handle.isdigit() else query.where(ApiKey.prefix == handle)
    keys = list(session.scalars(query))
    if not keys:
        raise not_found(f"no API key {handle!r}")
    if len(keys) > 1:
        raise invalid_input(f"{handle!r} matches {len(keys)} keys; revoke by id")
    key = keys[0]
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return next(info for info in list_api_keys(session, staff_user_id=key.staff_user_id) if info.id == key.id)


def mark_slack_events_seen(session: Session, keys: list[str]) -> bool:
    """Record every key; True only if none had been seen before (the caller then handles the event).

    Insert-or-ignore, so two workers racing on the same delivery cannot both win: the database's primary key
    decides. All keys are inserted even when one was seen, so a later delivery under another key is caught too.
    """
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    fresh = True
    for key in keys:
        statement = (
            insert(SlackEventSeen)
            .values(key=key[:200], seen_at=now)
            .on_conflict_do_nothing()
            .returning(SlackEventSeen.key)
        )
        # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING here
        if session.execute(statement).scalar_one_or_none() is None:
            fresh = False
    return fresh


def purge_slack_events_seen(session: Session, *, older_than: timedelta = timedelta(days=2)) -> int:
    """Slack retries for at most about an hour; keys older than that are kept a while, then dropped."""
    result = session.execute(delete(SlackEventSeen).where(SlackEventSeen.seen_at < utcnow() - older_than))
    return int(getattr(result, "rowcount", 0) or 0)


def find_staff_user_by_slack_id(session: Session, slack_user_id: str) -> StaffUser | None:
    """Exactly this Slack user id (not a name or e-mail that happens to look like one); active users only."""
    query = select(StaffUser).where(StaffUser.slack_user_id == slack_user_id, StaffUser.active.is_(True))
    return session.scalars(query).first()


def database_reachable(session: Session) -> bool:
    session.execute(text("SELECT 1"))
    return True
