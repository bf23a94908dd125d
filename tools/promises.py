"""A customer's promises to pay: each one with its state at the as-of date, the last one, and the kept rate.

A promise's state at t is read by dates, as exposure reads it: open while taken by the end of t and not resolved by
then (a promise resolved after t was still open at t); once resolved, the outcome the nightly evaluation recorded
(kept: paid in full within the policy's grace days after the promised date; partially kept: at least the policy's
share by then; broken: less). Cancelled promises count nowhere.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.dates import day_number, end_of_day_utc
from core.errors import CreditDeskError, ErrorCode
from db.models import PromiseStatus
from db.queries.promises import PromiseRow, customer_promises
from tools.context import ToolContext
from tools.customers import resolve_customer_reference
from tools.policy import load_policy
from tools.registry import CREDIT_ROLES, tool
from tools.schemas import AsOfDate, CustomerReference, CustomerSummary

PromiseState = Literal["open", "kept", "partially_kept", "broken", "cancelled"]
KEPT_RATE_DAYS = 365
BROKEN_RECENT_DAYS = 90
PCT = Decimal("0.1")


def promise_state(status: PromiseStatus, resolved_at: datetime | None, moment: datetime) -> PromiseState:
    """A promise's state at `moment` (see the module docstring)."""
    if status is PromiseStatus.CANCELLED:
        return "cancelled"
    if resolved_at is None or resolved_at > moment or status is PromiseStatus.OPEN:
        return "open"
    return status.value  # type: ignore[return-value]


class PromiseHistoryInput(BaseModel):
    customer: CustomerReference
    as_of: AsOfDate = None
    limit: int = Field(default=50, ge=1, le=500, description="At most this many promises, newest first.")
    period_start: date | None = None  # only promises whose promised date is on or after it ("since July")


class PromiseLine(BaseModel):
    id: int
    taken_on: date
    taken_by: str | None
    promised_date: date
    amount: Decimal
    currency: str
    invoice_number: str | None = Field(description="The invoice promised; None: the customer's whole balance")
    level: int = Field(description="1 for the first promise on a debt, 2 for the second, …")
    status: PromiseState = Field(description="State at the as-of date")
    resolved_on: date | None = Field(description="When it was judged kept, partially kept or broken (by as_of)")
    amount_paid: Decimal | None = Field(description="Paid against it when it was judged (None while open)")
    past_promised_date: bool = Field(description="Still open at the as-of date although its date has passed")


class PromiseCounts(BaseModel):
    open: int
    kept: int
    partially_kept: int
    broken: int
    cancelled: int


class PromiseHistory(BaseModel):
    customer: CustomerSummary
    as_of: date
    period_start: date | None = Field(
        default=None, description="When given: the promises, counts and last promise are those due from then on"
    )
    total: int = Field(description="Promises taken by the as-of date")
    shown: int
    promises: list[PromiseLine] = Field(description="Newest taken first")
    last_promise: PromiseLine | None = Field(description="The promise taken most recently by the as-of date")
    counts: PromiseCounts = Field(description="Every promise taken by the as-of date, by its state then")
    kept_12m: int
    judged_12m: int
    kept_rate_12m_pct: Decimal | None = Field(
        description="Promises kept / promises judged (kept, partially kept or broken) by the as-of date whose "
        "promised date lies in the 365 days up to it × 100; None when none were judged"
    )
    broken_last_90_days: int = Field(
        description="Promises judged broken whose promised date lies in the 90 days up to the as-of date"
    )
    definitions: list[str]


def _line(row: PromiseRow, moment: datetime, as_of: date) -> PromiseLine:
    state = promise_state(row.status, row.resolved_at, moment)
    judged = state in ("kept", "partially_kept", "broken")
    return PromiseLine(
        id=row.promise_id,
        taken_on=row.taken_at.date(),
        taken_by=row.taken_by,
        promised_date=row.promised_date,
        amount=row.amount,
        currency=row.currency,
        invoice_number=row.invoice_number,
        level=row.level,
        status=state,
        resolved_on=row.resolved_at.date() if judged and row.resolved_at is not None else None,
        amount_paid=row.amount_paid if judged else None,
        past_promised_date=state == "open" and row.promised_date < as_of,
    )


def promise_history(session: Session, ctx: ToolContext, args: PromiseHistoryInput) -> PromiseHistory:
    customer = resolve_customer_reference(session, ctx, args.customer)
    as_of = ctx.resolve_as_of(args.as_of)
    moment, as_of_dn = end_of_day_utc(as_of), day_number(as_of)
    rows = customer_promises(session, customer.id, as_of)
    all_lines = [_line(row, moment, as_of) for row in rows]
    lines = all_lines
    if args.period_start is not None:
        if args.period_start > as_of:
            raise CreditDeskError(
                ErrorCode.INVALID_INPUT, f"period_start {args.period_start} is after the as-of date {as_of}"
            )
        lines = [line for line in all_lines if line.promised_date >= args.period_start]
    counts = dict.fromkeys(("open", "kept", "partially_kept", "broken", "cancelled"), 0)
    for line in lines:
        counts[line.status] += 1
    recent_year = [
        line
        for line, row in zip(all_lines, rows, strict=True)
        if line.status in ("kept", "partially_kept", "broken") and row.promised_dn > as_of_dn - KEPT_RATE_DAYS
    ]
    kept = sum(1 for line in recent_year if line.status == "kept")
    broken_recent = sum(
        1
        for line, row in zip(all_lines, rows, strict=True)
        if line.status == "broken" and row.promised_dn > as_of_dn - BROKEN_RECENT_DAYS
    )
    grace = load_policy().promises.grace_days
    return PromiseHistory(
        customer=CustomerSummary.of(customer),
        as_of=as_of,
        period_start=args.period_start,
        total=len(lines),
        shown=min(len(lines), args.limit),
        promises=lines[: args.limit],
        last_promise=lines[0] if lines else None,
        counts=PromiseCounts(**counts),
        kept_12m=kept,
        judged_12m=len(recent_year),
        kept_rate_12m_pct=(Decimal(kept) * 100 / len(recent_year)).quantize(PCT) if recent_year else None,
        broken_last_90_days=broken_recent,
        definitions=[
            "State at the as-of date: open while taken by the end of that day and not yet judged then; otherwise "
            f"the recorded outcome: kept = paid in full within {grace} grace days after the promised date, "
            "partially kept = paid at least the policy's minimum share by then, broken = less. Cancelled promises "
            "count in no rate.",
            "Kept rate (12 months) = promises kept / promises judged kept, partially kept or broken by the as-of "
            "date, among those whose promised date falls in the 365 days up to it, × 100 (as in the exposure "
            "answer).",
            "Broken in the last 90 days = promises judged broken by the as-of date whose promised date falls in the "
            "90 days up to it.",
            "Last promise = the one taken most recently by the as-of date.",
            *(
                [
                    f"Period: only promises whose promised date is on or after {args.period_start} count in the list, "
                    "the state counts and the last promise (the 12-month and 90-day figures keep their windows)."
                ]
                if args.period_start is not None
                else []
            ),
        ],
    )


@tool(
    name="get_promise_history",
    kind="read",
    input_model=PromiseHistoryInput,
    output_model=PromiseHistory,
    roles=CREDIT_ROLES,
)
def get_promise_history(session: Session, ctx: ToolContext, args: PromiseHistoryInput) -> PromiseHistory:
    """A customer's promises to pay: each with date taken, promised date, amount and state (open, kept, partially
    kept, broken), the last promise, and the 12-month kept rate.

    Was the last promise kept? How often does this customer keep its promises?"""
    return promise_history(session, ctx, args)


TOOLS = [get_promise_history]
