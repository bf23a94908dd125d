"""What a message can ask for: the intents the planner answers, and which of them are about one customer."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    HELP = "help"
    APPROVE = "approve"
    EXPOSURE = "exposure"
    STATUS = "credit_status"
    RELEASE_CHECK = "release_check"
    SCORE = "score"
    LIMIT_RECOMMEND = "limit_recommend"
    LIMIT_PROPOSE = "limit_propose"
    WORKLIST = "worklist"
    DUNNING_DRAFT = "dunning_draft"
    DUNNING_SEND = "dunning_send"
    DISPUTE = "dispute_summary"
    DISPUTE_UPDATE = "dispute_update"
    PORTFOLIO = "portfolio"
    PROMISE = "promise_to_pay"
    ORDER_HOLD = "order_hold"
    ORDER_RELEASE = "order_release"
    ASSIGN = "assign_collector"
    NOTE = "add_note"
    POLICY = "policy"
    INVOICE = "invoice"
    PAYMENT_BEHAVIOUR = "payment_behaviour"
    PROMISE_HISTORY = "promise_history"
    PENDING_APPROVALS = "pending_approvals"
    FIND_CUSTOMER = "find_customer"
    OUT_OF_SCOPE = "out_of_scope"
    UNKNOWN = "unknown"


CUSTOMER_INTENTS = frozenset(
    {
        Intent.EXPOSURE,
        Intent.STATUS,
        Intent.RELEASE_CHECK,
        Intent.SCORE,
        Intent.LIMIT_RECOMMEND,
        Intent.LIMIT_PROPOSE,
        Intent.DUNNING_DRAFT,
        Intent.DUNNING_SEND,
        Intent.DISPUTE,
        Intent.PROMISE,
        Intent.ASSIGN,
        Intent.NOTE,
        Intent.PAYMENT_BEHAVIOUR,
        Intent.PROMISE_HISTORY,
        Intent.FIND_CUSTOMER,
    }
)
