"""The baseline for LLM mode: the plain "SQL agent" a team hacks together first — a tool-calling agent with one
`run_sql(query)` tool over the same database and the schema in its prompt. No roles, no books, no proposals, no
grounding: what our tool design is compared against (accuracy, model calls, safety).

`langchain_community`'s SQL toolkit is not installed, so this is the minimal equivalent: `create_agent` with a single
read-only SQL tool (SQLite `query_only`, PostgreSQL read-only transactions), results capped in rows and characters.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

from assistant.types import AssistantReply, ToolCallRecord, Usage
from tools.context import Actor

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

MAX_ROWS = 50
MAX_CHARS = 6000
MAX_MODEL_CALLS = 8
SKIP_TABLES = ("checkpoint", "conversation", "api_key", "slack_event", "alembic")

PROMPT = """You are a helpful assistant for the credit and collections team. Answer questions by querying the
company database with the run_sql tool (SQLite/PostgreSQL syntax), then answer concisely with the figures you found.
Today is {today}. You are talking to {name} ({role}).

Database schema:
{schema}
"""


def read_only_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _query_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only = ON")
            cursor.close()

        return engine
    return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})


def schema_text() -> str:
    from db.base import Base

    lines = []
    for table in Base.metadata.sorted_tables:
        if table.name.startswith(SKIP_TABLES):
            continue
        columns = ", ".join(f"{c.name} {c.type}" for c in table.columns)
        lines.append(f"- {table.name}({columns})")
    return "\n".join(lines)


def run_query(engine: Engine, query: str) -> dict[str, Any]:
    with engine.connect() as connection:
        result = connection.execute(text(query))
        if not result.returns_rows:
            return {"rows": [], "note": "statement returned no rows"}
        columns = list(result.keys())
        rows = [[_plain(v) for v in row] for row in result.fetchmany(MAX_ROWS + 1)]
    truncated = len(rows) > MAX_ROWS
    return {"columns": columns, "rows": rows[:MAX_ROWS], "truncated": truncated}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return str(value)


class SqlAgentBaseline:
    """One agent per database; `ask` runs a turn of a conversation kept in memory per thread."""

    def __init__(self, model: BaseChatModel, database_url: str, *, timeout_seconds: float = 60.0) -> None:
        self.model = model
        self.database_url = database_url
        self.engine = read_only_engine(database_url)
        self.timeout_seconds = timeout_seconds
        self.threads: dict[str, list[Any]] = {}
        self.schema = schema_text()

    def close(self) -> None:
        self.engine.dispose()

    def ask(self, text_in: str, *, actor: Actor, thread_id: str, today: str) -> AssistantReply:
        from langchain.agents import create_agent
        from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
        from langchain_core.tools import tool

        records: list[ToolCallRecord] = []
        engine = self.engine

        @tool
        def run_sql(query: str) -> str:
            """Run one SQL query against the credit database and return the rows as JSON."""
            try:
                result = run_query(engine, query)
                records.append(ToolCallRecord(name="run_sql", kind="read", arguments={"query": query}, result=result))
            except Exception as error:  # the model sees the error and may try again, as a hacked-up agent would
                message = f"{type(error).__name__}: {str(error)[:300]}"
                records.append(ToolCallRecord(name="run_sql", kind="read", arguments={"query": query}, error=message))
                return f"ERROR: {message}"
            return json.dumps(result, default=str)[:MAX_CHARS]

        system = PROMPT.format(today=today, name=actor.name, role=actor.role.value, schema=self.schema)
        agent = create_agent(self.model, [run_sql], system_prompt=system)
        history = self.threads.setdefault(thread_id, [])
        history.append(HumanMessage(text_in))
        usage = Usage()
        error: str | None = None
        try:
            state = agent.invoke({"messages": list(history)}, config={"recursion_limit": MAX_MODEL_CALLS * 2 + 1})
            new = state["messages"][len(history) :]
        except Exception as failure:
            new = []
            error = f"the SQL agent failed: {type(failure).__name__}"
        answer = ""
        for message in new:
            if isinstance(message, AIMessage):
                usage.model_calls += 1
                if message.usage_metadata:
                    usage.input_tokens += int(message.usage_metadata.get("input_tokens", 0))
                    usage.output_tokens += int(message.usage_metadata.get("output_tokens", 0))
                if message.content and not message.tool_calls:
                    answer = str(message.content)
            elif isinstance(message, ToolMessage):
                usage.tool_calls += 1
        history.extend(new)
        return AssistantReply(
            text=answer or (error or ""),
            thread_id=thread_id,
            engine="agent",
            tool_calls=records,
            usage=usage,
            error=error,
        )
