"""Structured logs: an event name plus typed fields. Never message text, never customer names or e-mails.

Libraries log what they like (slack_bolt logs a rejected request's whole body, slack_sdk the messages it posts,
openai the prompts it sends, uvicorn's access log paths and query strings), so every record from a logger outside
our own packages is redacted where it is made — a log-record factory, so that every handler (ours, pytest's, an
exporter's) sees the redacted record: the message keeps only its %-template (never the arguments), a message built
beforehand (an f-string, a dict) is withheld, and a traceback keeps only the exception's type. Their levels are
raised to WARNING as well, whatever the root level.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")})
        if record.exc_info and record.exc_info[0] is not None:
            payload["exc_type"] = record.exc_info[0].__name__
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={v}" for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")
        )
        return f"{record.levelname.lower():7} {record.name}: {record.getMessage()} {fields}".rstrip()


# Top-level packages whose loggers follow the event-name-plus-fields rule above.
OWN_PACKAGES = frozenset(
    {"core", "db", "tools", "knowledge", "assistant", "integrations", "evals", "benchmarks", "creditdesk"}
)
# Libraries that may log request bodies, message text, prompts, user ids or URLs: kept at WARNING or above.
QUIET_LIBRARIES = (
    "httpx",
    "httpx2",
    "httpcore",
    "urllib3",
    "chromadb",
    "sentence_transformers",
    "transformers",
    "huggingface_hub",
    "alembic",
    "slack_bolt",
    "slack_sdk",
    "openai",
    "langchain",
    "langchain_core",
    "langchain_openai",
    "langgraph",
    "sqlalchemy",
    "psycopg",
    "aiohttp",
    "multipart",
    "python_multipart",
    "uvicorn.access",
)
# Loggers whose messages carry no request data (server lifecycle, migration steps): kept whole, tracebacks aside.
WHOLE_MESSAGE_LOGGERS = frozenset({"uvicorn.error", "alembic.runtime.migration"})
ACCESS_LOGGER = "uvicorn.access"
WITHHELD = "(message withheld: library log)"

_redaction_lock = threading.Lock()
_redaction_installed = False


def is_own_logger(name: str) -> bool:
    return name.split(".", 1)[0] in OWN_PACKAGES


def _route_prefix(path: object) -> str:
    """`/v1/customers/Acme%20Corp/exposure?x=1` → `/v1/customers/…`: a path's ids and query are request data."""
    parts = str(path).split("?", 1)[0].split("/")
    return "/".join(parts[:3]) + ("/…" if len(parts) > 3 else "")


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Make a library's record safe to write anywhere (see the module docstring)."""
    if record.exc_info:
        exc_type = record.exc_info[0]
        record.exc_type = exc_type.__name__ if exc_type is not None else None
        record.exc_info = None
        record.exc_text = None
    record.stack_info = None
    if record.name in WHOLE_MESSAGE_LOGGERS:
        return record
    if record.name == ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) == 5:
        # uvicorn's own access formatter unpacks exactly these five arguments: keep the shape, drop the path.
        client, method, path, version, status = record.args
        record.args = (client, method, _route_prefix(path), version, status)
        return record
    if record.args and isinstance(record.msg, str):
        record.args = ()
        record.redacted = "arguments"
    else:
        record.msg = WITHHELD
        record.args = ()
        record.redacted = "message"
    return record


def install_log_redaction() -> None:
    """Redact every library log record as it is made, and keep chatty libraries at WARNING (idempotent)."""
    global _redaction_installed
    with _redaction_lock:
        if not _redaction_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                return record if is_own_logger(record.name) else redact_record(record)

            logging.setLogRecordFactory(factory)
            _redaction_installed = True
    for name in QUIET_LIBRARIES:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # a level someone chose explicitly stands (its records stay redacted)
            logger.setLevel(logging.WARNING)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes (a test runner may have swapped and closed the one
    that was current when logging was configured)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    install_log_redaction()


class EventLogger:
    """`log.info("proposal.created", proposal_id=7)`: the event name is the message, fields are structured."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra=fields, stacklevel=3)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)


def get_logger(name: str) -> EventLogger:
    return EventLogger(name)
