"""Conversation memory in the database.

Two stores, both keyed by the thread id (Slack thread, API conversation id, CLI session):

- The agent's state: a LangGraph checkpointer. PostgreSQL: `PostgresSaver` in the same database (its own tables,
  created once per process by `setup()`; Alembic's autogenerate is told to leave them alone). SQLite: `SqliteSaver`
  in a separate file next to the database (`creditdesk.db` → `creditdesk.checkpoints.db`). Separate because
  SqliteSaver holds its own sqlite3 connection and transactions: in the same file it would compete for the single
  writer lock with business writes (proposals, imports), and its tables would sit outside the Alembic-managed
  schema. A file beside the database survives restarts and travels with it.
- The replies: `conversation_turn` rows (`db.queries.conversations`), which the offline planner reads as history and
  surfaces may show. Only the reply is stored (tool results trimmed), never the user's message text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from assistant.types import AssistantReply
from core.dates import utcnow
from core.logging import get_logger
from core.settings import get_settings
from db.engine import normalise_url, read_session, write_session
from db.queries.conversations import add_conversation_turn, recent_conversation_turns

log = get_logger(__name__)

HISTORY_TURNS = 20
MAX_STORED_RESULT_CHARS = 20_000

_pg_setup_done: set[str] = set()
_pg_setup_lock = threading.Lock()


def checkpoint_path_for(database_url: str) -> str:
    """Where the SQLite checkpointer lives for a SQLite database URL (":memory:" for an in-memory database)."""
    parsed = make_url(normalise_url(database_url))
    database = parsed.database
    if not database or database == ":memory:":
        return ":memory:"
    path = Path(database)
    return str(path.with_name(f"{path.stem}.checkpoints{path.suffix or '.db'}"))


@dataclass
class Checkpointer:
    """An open checkpointer and what must be closed with it."""

    saver: Any
    resource: Any

    def close(self) -> None:
        try:
            self.resource.close()
        except Exception as error:  # closing must never mask the real outcome
            log.warning("memory.close_failed", error=type(error).__name__)


def open_checkpointer(database_url: str | None = None) -> Checkpointer:
    """A LangGraph checkpointer in (or beside) the database; the caller closes it."""
    url = normalise_url(database_url or get_settings().resolved_database_url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = checkpoint_path_for(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The service runs turns in worker threads; SqliteSaver serialises access with its own lock.
        connection = sqlite3.connect(path, check_same_thread=False, timeout=15)
        if path != ":memory:":
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA busy_timeout=15000")
        sqlite_saver = SqliteSaver(connection)
        sqlite_saver.setup()
        return Checkpointer(saver=sqlite_saver, resource=connection)
    if parsed.get_backend_name() == "postgresql":
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=True,
        )
        saver = PostgresSaver(pool)
        key = parsed.render_as_string(hide_password=True)
        with _pg_setup_lock:
            if key not in _pg_setup_done:
                saver.setup()
                _pg_setup_done.add(key)
        return Checkpointer(saver=saver, resource=pool)
    raise ValueError(f"no checkpointer for the {parsed.get_backend_name()} backend")


# --- replies per thread --------------------------------------------------------------------------------------------


def _trim_result(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep a tool result whole when small; else only its top-level scalars and small objects (ids, names,
    statuses), which is what a follow-up needs."""
    if result is None or len(json.dumps(result, default=str)) <= MAX_STORED_RESULT_CHARS:
        return result

    def small(value: Any) -> bool:
        if isinstance(value, dict):
            return len(json.dumps(value, default=str)) <= 2_000
        return value is None or isinstance(value, str | int | float | bool)

    kept: dict[str, Any] = {key: value for key, value in result.items() if small(value)}
    kept["_trimmed"] = True
    return kept


def reply_for_storage(reply: AssistantReply) -> dict[str, Any]:
    data = reply.model_dump(mode="json")
    for call in data.get("tool_calls", []):
        call["result"] = _trim_result(call.get("result"))
    return data


def save_turn(database_url: str | None, reply: AssistantReply, actor_id: int | None) -> None:
    with write_session(database_url) as session:
        add_conversation_turn(
            session,
            thread_id=reply.thread_id,
            actor_id=actor_id,
            engine=reply.engine,
            reply=reply_for_storage(reply),
            created_at=utcnow(),
        )


def load_history(database_url: str | None, thread_id: str, limit: int = HISTORY_TURNS) -> list[AssistantReply]:
    """The thread's previous replies, oldest first."""
    with read_session(database_url) as session:
        rows = recent_conversation_turns(session, thread_id=thread_id, limit=limit)
        stored = [row.reply for row in rows]
    history = []
    for data in stored:
        try:
            history.append(AssistantReply.model_validate(data))
        except ValueError:
            log.warning("memory.unreadable_turn")
    return history
