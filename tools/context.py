"""Who is asking, and what they may see. Every tool call carries a `ToolContext`; visibility is enforced here and in
the queries, never in a prompt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from core.dates import business_today
from core.errors import forbidden, invalid_input
from core.settings import get_settings
from db.models import Customer, Role, StaffUser

# Roles that see the whole book; collectors see the customers assigned to them, sales see credit status only.
WHOLE_BOOK_ROLES = frozenset({Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN, Role.SALES})


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

    def require_visible(self, customer: Customer) -> None:
        if not self.can_see(customer):
            raise forbidden(
                f"{customer.name} is not in your book; ask a credit analyst or the assigned collector",
                customer_id=customer.id,
            )

    def resolve_as_of(self, as_of: date | None) -> date:
        if as_of is None:
            return self.today
        if as_of > self.today:
            raise invalid_input(f"as_of {as_of} is in the future; figures exist up to {self.today}")
        return as_of
