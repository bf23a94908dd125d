"""What every guarded action declares: its input, how a proposal is prepared (diff, rows read, approver role),
how staleness is checked, and how it is executed. The proposal service drives these; no action writes on its own."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from db.models import Customer, Role
from db.models.governance import Proposal
from tools.context import ToolContext


@dataclass(frozen=True)
class Change:
    entity: str
    entity_id: int | None
    field: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "id": self.entity_id,
            "field": self.field,
            "before": _plain(self.before),
            "after": _plain(self.after),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


@dataclass
class Prepared:
    """A proposal, ready to be stored."""

    customer: Customer | None
    summary: str
    payload: dict[str, Any]
    changes: list[Change]
    read_versions: dict[str, Any]
    required_role: Role
    authority_amount: Decimal | None = None
    four_eyes: bool = False
    auto_approve_reason: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Decider:
    id: int
    name: str
    role: Role
    approval_limit: Decimal | None


class Action(ABC):
    """One kind of change. Subclasses are stateless; `name` is stored on the proposal."""

    name: ClassVar[str]
    tool_name: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    proposer_roles: ClassVar[frozenset[Role]]
    description: ClassVar[str]

    @abstractmethod
    def prepare(self, session: Session, ctx: ToolContext, args: Any) -> Prepared:
        """Validate against the current database state and describe the change; writes nothing."""

    @abstractmethod
    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        """Re-read the rows recorded in `read_versions` (same keys), for the staleness check."""

    @abstractmethod
    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:
        """Apply the change (the caller's transaction) and return a JSON-able result."""

    def required_role_now(self, session: Session, proposal: Proposal) -> Role:  # noqa: ARG002
        """The approver role at decision time; some actions depend on state that may have moved."""
        return Role(proposal.required_role)
