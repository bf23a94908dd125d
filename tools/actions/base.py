"""What every guarded action declares: its input, how a proposal is prepared (diff, rows read, approver role),
which rows an approval locks, how staleness, the approver role and the policy caps are re-derived from current data
at approval time, and how it is executed. The proposal service drives these; no action writes on its own."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode
from db.models import Customer, Role
from db.models.governance import Proposal
from db.queries.proposals import lock_customer
from tools.context import ToolContext
from tools.policy import load_policy


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

    def lock(self, session: Session, proposal: Proposal) -> None:
        """Row-lock what the approval reads and changes, before anything is checked (the customer row by default;
        actions add the rows they write). Runs inside the approval transaction; see db/queries/proposals.py."""
        if proposal.customer_id is not None:
            lock_customer(session, proposal.customer_id)

    @abstractmethod
    def current_versions(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        """Re-read the rows recorded in `read_versions` (same keys), for the staleness check."""

    @abstractmethod
    def current_role(self, session: Session, proposal: Proposal) -> Role:
        """The approver role the authority matrix requires for this change given the data as it is now."""

    def required_role_now(self, session: Session, proposal: Proposal) -> Role:
        """The approver role at decision time: the higher of the one stored with the proposal and the one the
        matrix requires now (a customer may have become riskier, an amount larger; never lower: fail closed)."""
        return higher_role(Role(proposal.required_role), self.current_role(session, proposal))

    def authority_amount_now(self, session: Session, proposal: Proposal) -> Decimal | None:  # noqa: ARG002
        """The size of the change (reporting currency) the ceilings and personal limits are checked against now."""
        return proposal.authority_amount

    @abstractmethod
    def revalidate(self, session: Session, proposal: Proposal) -> None:
        """Re-check the policy caps the proposal passed when it was made (open-promise count, amounts, dates,
        people still active…) against the current, locked data; raise `no_longer_valid(...)` if one fails."""

    @abstractmethod
    def execute(self, session: Session, proposal: Proposal, decider: Decider) -> dict[str, Any]:
        """Apply the change (the caller's transaction) and return a JSON-able result. A write that finds its row
        changed after all (compare-and-set) raises a STALE error."""


def higher_role(first: Role, second: Role) -> Role:
    authority = load_policy().authority
    return second if authority.rank(second) > authority.rank(first) else first


def higher_amount(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    if first is None or second is None:
        return first if second is None else second
    return max(first, second)


def no_longer_valid(message: str, **details: Any) -> CreditDeskError:
    """A proposal the current data no longer allows: refused and closed as stale (propose again if still wanted)."""
    return CreditDeskError(ErrorCode.STALE, message, details=details)
