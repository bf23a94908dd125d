"""Who is asking, and what they may see. Every tool call carries a `ToolContext`; visibility is enforced here and in
the queries, never in a prompt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from core.dates import business_today
from core.errors import CreditDeskError, ErrorCode, invalid_input
from core.settings import get_settings
from db.models import Customer, Role, StaffUser
from tools.schemas import CustomerSummary

# Roles that see the whole book; collectors see the customers assigned to them, sales see credit status only.
WHOLE_BOOK_ROLES = frozenset({Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN, Role.SALES})

M = TypeVar("M", bound=BaseModel)


class NotVisibleError(CreditDeskError):
    """A customer (or something of theirs) outside the caller's book. The caller gets exactly the answer a thing
    that does not exist would get (`not_found`, no name, no id); the audit trail gets `audit_reason`."""

    def __init__(self, message: str, *, customer_id: int) -> None:
        super().__init__(ErrorCode.NOT_FOUND, message)
        self.audit_reason = f"customer {customer_id} is outside the caller's book"


def without_risk(result: M) -> M:
    """`result` with every customer's risk class and score removed, wherever a `CustomerSummary` sits in it: the
    view for roles that see credit status but not scores."""
    return _strip(result)


def _strip(value: Any) -> Any:
    if isinstance(value, CustomerSummary):
        return value.model_copy(update={"risk_class": None, "risk_score": None})
    if isinstance(value, BaseModel):
        changed = {name: _strip(getattr(value, name)) for name in type(value).model_fields}
        return value.model_copy(update=changed)
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_strip(item) for item in value)
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items()}
    return value


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int | None = Field(description="Staff user id; None for the operator running scripts (`creditdesk tool`).")
    name: str
    role: Role
    approval_limit: Decimal | None = None

    @classmethod
    def from_user(cls, user: StaffUser) -> Actor:
        return cls(id=user.id, name=user.name, role=user.role, approval_limit=user.approval_limit)

    @classmethod
    def operator(cls) -> Actor:
        """The person at the terminal running read-only scripts: sees everything, may propose nothing."""
        return cls(id=None, name="operator", role=Role.ADMIN)


class ToolContext(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    actor: Actor
    today: date = Field(default_factory=lambda: business_today(get_settings().timezone))
    reporting_currency: str = Field(default_factory=lambda: get_settings().reporting_currency)
    database_url: str | None = None
    conversation_id: str | None = None

    @property
    def book_collector_id(self) -> int | None:
        """The collector whose book bounds this actor's reads, or None for the whole book."""
        return self.actor.id if self.actor.role == Role.COLLECTOR else None

    def can_see(self, customer: Customer) -> bool:
        if self.actor.role in WHOLE_BOOK_ROLES:
            return True
        return customer.collector_id is not None and customer.collector_id == self.actor.id

    def customer_not_found(self, reference: str) -> CreditDeskError:
        """The one answer for a customer reference that names nobody this actor may see, whether it names
        nobody at all or someone outside their book (so a refusal never tells which, nor whom)."""
        scope = " in your book" if self.book_collector_id is not None else ""
        return CreditDeskError(ErrorCode.NOT_FOUND, f"no customer matches {reference!r}{scope}")

    def require_visible(self, customer: Customer, *, reference: str | None = None, missing: str | None = None) -> None:
        """Refuse a customer outside the actor's book with the answer a non-existent one gets: `missing` (the
        caller's own not-found wording, e.g. "no dispute #12"), else the not-found answer for `reference`."""
        if self.can_see(customer):
            return
        if missing is None:
            missing = self.customer_not_found(reference).message if reference else "no such customer in your book"
        raise NotVisibleError(missing, customer_id=customer.id)

    def resolve_as_of(self, as_of: date | None) -> date:
        if as_of is None:
            return self.today
        if as_of > self.today:
            raise invalid_input(f"as_of {as_of} is in the future; figures exist up to {self.today}")
        return as_of
