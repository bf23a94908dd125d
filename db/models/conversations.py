"""Conversation turns: what the assistant answered in each thread, so the offline planner can follow up ("and
their disputes?") and surfaces can show a thread's history. The agent's own memory is the LangGraph checkpointer
(`assistant.memory`); this table holds only the replies, never the user's message text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import JSONType, UTCDateTime


class ConversationTurn(Base):
    __tablename__ = "conversation_turn"
    __table_args__ = (Index("ix_conversation_turn_thread", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    engine: Mapped[str] = mapped_column(String(10))  # planner | agent
    reply: Mapped[dict[str, Any]] = mapped_column(JSONType)
