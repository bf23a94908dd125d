"""One error type for the whole product. Surfaces map codes to HTTP statuses or friendly text."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"
    INVALID_INPUT = "invalid_input"
    FORBIDDEN = "forbidden"
    UNAUTHENTICATED = "unauthenticated"
    CONFLICT = "conflict"
    STALE = "stale"
    EXPIRED = "expired"
    NOT_CONFIGURED = "not_configured"
    UPSTREAM = "upstream"
    IMPORT_REJECTED = "import_rejected"
    # The database (or another store) cannot serve right now: not reachable, busy. Worth retrying later.
    UNAVAILABLE = "unavailable"
    # The database exists but its schema is missing or at another revision than this code needs.
    NOT_MIGRATED = "not_migrated"
    # A store's files are corrupt (the SQLite file, the Chroma knowledge base): rebuild or restore it.
    DAMAGED = "damaged"


class CreditDeskError(Exception):
    """A failure the user can act on. `message` is safe to show; `details` is structured context."""

    def __init__(self, code: ErrorCode, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.code.value,
            "message": self.message,
            **({"details": self.details} if self.details else {}),
        }

    def __repr__(self) -> str:
        return f"CreditDeskError({self.code.value!r}, {self.message!r})"


def not_found(message: str, **details: Any) -> CreditDeskError:
    return CreditDeskError(ErrorCode.NOT_FOUND, message, details=details)


def invalid_input(message: str, **details: Any) -> CreditDeskError:
    return CreditDeskError(ErrorCode.INVALID_INPUT, message, details=details)


def forbidden(message: str, **details: Any) -> CreditDeskError:
    return CreditDeskError(ErrorCode.FORBIDDEN, message, details=details)
