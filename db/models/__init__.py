"""All ORM models; importing this package registers every table on `Base.metadata`."""

from db.base import Base
from db.models.access import ApiKey, SlackEventSeen
from db.models.collections import CollectionActivity, Dispute, DisputeMessage, PromiseToPay
from db.models.conversations import ConversationTurn
from db.models.enums import (
    ActivityKind,
    ActivityOutcome,
    CreditStatus,
    DisputeReason,
    DisputeStatus,
    InvoiceKind,
    InvoiceStatus,
    MessageDirection,
    OrderStatus,
    PromiseStatus,
    Role,
)
from db.models.fx import FxRate
from db.models.governance import AuditEvent, AuditHead, DunningOutbox, Proposal
from db.models.party import BureauReport, CreditLimit, CreditScore, Customer, CustomerFinancials, StaffUser
from db.models.receivables import Invoice, Payment, PaymentAllocation, SalesOrder
from db.models.snapshots import (
    ArSnapshot,
    ArSnapshotRollup,
    ArSnapshotRollupRun,
    ArSnapshotRun,
    WorklistRank,
    WorklistRankRun,
)

__all__ = [
    "ActivityKind",
    "ActivityOutcome",
    "ApiKey",
    "ArSnapshot",
    "ArSnapshotRollup",
    "ArSnapshotRollupRun",
    "ArSnapshotRun",
    "AuditEvent",
    "AuditHead",
    "Base",
    "BureauReport",
    "CollectionActivity",
    "ConversationTurn",
    "CreditLimit",
    "CreditScore",
    "CreditStatus",
    "Customer",
    "CustomerFinancials",
    "Dispute",
    "DisputeMessage",
    "DisputeReason",
    "DisputeStatus",
    "DunningOutbox",
    "FxRate",
    "Invoice",
    "InvoiceKind",
    "InvoiceStatus",
    "MessageDirection",
    "OrderStatus",
    "Payment",
    "PaymentAllocation",
    "PromiseStatus",
    "PromiseToPay",
    "Proposal",
    "Role",
    "SalesOrder",
    "SlackEventSeen",
    "StaffUser",
    "WorklistRank",
    "WorklistRankRun",
]
