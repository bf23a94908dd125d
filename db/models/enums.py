"""Closed vocabularies stored as constrained strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Enum


class Role(StrEnum):
    COLLECTOR = "collector"
    SALES = "sales"
    CREDIT_ANALYST = "credit_analyst"
    CREDIT_MANAGER = "credit_manager"
    ADMIN = "admin"


class CreditStatus(StrEnum):
    OK = "OK"
    WATCH = "Watch"
    HOLD = "Hold"
    STOP = "Stop"


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    CANCELLED = "cancelled"


class OrderStatus(StrEnum):
    OPEN = "open"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


class DisputeStatus(StrEnum):
    OPEN = "open"
    IN_REVIEW = "in_review"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class DisputeReason(StrEnum):
    PRICING = "pricing"
    QUANTITY = "quantity"
    QUALITY = "quality"
    DAMAGED = "damaged"
    NOT_RECEIVED = "not_received"
    DUPLICATE_BILLING = "duplicate_billing"
    TAX = "tax"
    OTHER = "other"
    UNSPECIFIED = "unspecified"


class MessageDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    PARTIALLY_KEPT = "partially_kept"
    CANCELLED = "cancelled"


class ActivityKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    LETTER = "letter"
    SMS = "sms"
    DUNNING = "dunning"
    NOTE = "note"
    VISIT = "visit"


class ActivityOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"
    PROMISED = "promised"
    DISPUTED = "disputed"
    REFUSED = "refused"
    SENT = "sent"
    PAID = "paid"
    NONE = "none"


def enum_column(enum_cls: type[StrEnum], length: int = 20) -> Enum:
    def values(cls: Any) -> list[str]:
        return [member.value for member in cls]

    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=values,
        validate_strings=True,
        name=enum_cls.__name__.lower(),
    )
