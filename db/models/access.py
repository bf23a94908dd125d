"""Access to the surfaces: API keys for the REST API and web chat, and the Slack events already handled.

An API key is shown once when created; only its SHA-256 digest and a short lookup prefix are stored. Slack retries
and double deliveries are recognised by a row in `slack_event_seen` (insert-or-ignore), so a restart or a second
worker does not answer the same message twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import UTCDateTime


class ApiKey(Base):
    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_prefix", "prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the whole key
    label: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SlackEventSeen(Base):
    __tablename__ = "slack_event_seen"
    __table_args__ = (Index("ix_slack_event_seen_at", "seen_at"),)

    # "event:<event_id>" or "message:<team>:<channel>:<ts>"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
