"""Conversation turns (the assistant's replies per thread) and the proposals a thread created."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db.models import ConversationTurn, Proposal


def add_conversation_turn(
    session: Session,
    *,
    thread_id: str,
    actor_id: int | None,
    engine: str,
    reply: dict[str, Any],
    created_at: datetime,
) -> ConversationTurn:
    turn = ConversationTurn(thread_id=thread_id, actor_id=actor_id, engine=engine, reply=reply, created_at=created_at)
    session.add(turn)
    session.flush()
    return turn


def recent_conversation_turns(session: Session, *, thread_id: str, limit: int = 20) -> list[ConversationTurn]:
    """The thread's last `limit` turns, oldest first."""
    rows = session.scalars(
        select(ConversationTurn)
        .where(ConversationTurn.thread_id == thread_id)
        .order_by(ConversationTurn.id.desc())
        .limit(max(1, limit))
    ).all()
    return list(reversed(rows))


def delete_conversation(session: Session, *, thread_id: str) -> int:
    result = session.execute(delete(ConversationTurn).where(ConversationTurn.thread_id == thread_id))
    return int(getattr(result, "rowcount", 0) or 0)


def proposal_ids_for_conversation(session: Session, *, conversation_id: str, limit: int = 20) -> list[int]:
    """Ids of the proposals created in one conversation, newest first."""
    return list(
        session.scalars(
            select(Proposal.id)
            .where(Proposal.conversation_id == conversation_id)
            .order_by(Proposal.id.desc())
            .limit(max(1, limit))
        )
    )
