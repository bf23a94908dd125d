"""Receivables for one chunk of customers: invoices and credit notes, payments and their allocations, disputes with
their message threads, promises to pay, collection activities and open sales orders.

The story of every invoice is decided first (issue date, amount, when it is settled, whether it is disputed or paid in
two parts); every table is then derived from those arrays, so the ledger always balances:
`amount - sum(allocations) == open_amount`, and `settled_dn IS NULL` exactly when something is still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from db.demo import texts
from db.demo.credit import typical_lateness, window_progress
from db.demo.portfolio import (
    ACME,
    DETERIORATING,
    GLOBEX,
    INITECH,
    SHOWCASE,
    SOYLENT,
    STARK,
    STREAM_LEDGER,
    UNIT,
    VANDELAY,
    Portfolio,
    StaffIds,
    Timeline,
    active_days,
    dates,
    make_rng,
    office_seconds,
    round_to,
    timestamps,
)
from db.models import ActivityKind, ActivityOutcome, CreditStatus, DisputeReason, PromiseStatus

NEVER_DAYS = 36_500  # settlement offset for debts that will never be paid

LATENESS_SD = np.array([3.0, 6.0, 8.0, 20.0, 5.0])
TAIL_PROBABILITY = np.array([0.003, 0.015, 0.02, 0.06, 0.02])  # a few invoices go badly wrong: +40-220 days
DISPUTE_PROBABILITY = np.array([0.015, 0.015, 0.015, 0.015, 0.20])
PROMISE_PROBABILITY = np.array([0.2, 0.3, 0.35, 0.35, 0.2])
# Share of promises whose date is the day the customer really means to pay (the rest are stalling).
HONEST_PROMISE_PROBABILITY = np.array([0.8, 0.75, 0.55, 0.4, 0.6])
HONEST_PROMISE_HORIZON = 30
PROMISE_AGAIN_PROBABILITY = 0.55
PROMISE_GRACE_DAYS = 3
PROMISE_MIN_DAYS_LATE = 10
TWO_PART_PROBABILITY = 0.06
CREDIT_NOTE_PROBABILITY = 0.02
STUCK_PROBABILITY = 0.4  # share of a stopped customer's 4-14 month old invoices that were never paid
UNAPPLIED_PROBABILITY = 0.005
# Days after due of dunning levels 1-4, as in knowledge/policies/policy.yaml (db/ cannot read the policy).
DUNNING_OFFSETS = (1, 15, 30, 60)
CALL_PROBABILITY = 0.15
EMAIL_PROBABILITY = 0.08
ORDER_PROBABILITY = 0.3
HOLD_WHEN_OVER_PROBABILITY = 0.7
# Every showcase customer has an open order, so its exposure (and the utilisation its story needs) is never zero.
FORCED_ORDERS = dict.fromkeys(SHOWCASE, 1) | {VANDELAY: 3, GLOBEX: 2, STARK: 2, ACME: 2}
LIMIT_NEED_FACTOR = (1.4, 2.8)  # needs-based: monthly purchases x terms/30 x this
LIMIT_LARGEST_FACTOR = (1.3, 2.0)  # and room for the largest recent invoice

PAYMENT_METHODS = {
    "USD": ("ACH", "ACH", "wire", "check"),
    "CAD": ("EFT", "EFT", "cheque", "wire"),
    "EUR": ("SEPA", "SEPA", "SEPA", "wire"),
    "GBP": ("BACS", "BACS", "Faster Payments", "wire"),
    "AUD": ("EFT", "BPAY", "EFT"),
    "SGD": ("GIRO", "FAST", "wire"),
    "MXN": ("SPEI", "SPEI", "wire"),
}

CALL_OUTCOMES = (
    ActivityOutcome.REACHED,
    ActivityOutcome.NO_ANSWER,
    ActivityOutcome.LEFT_MESSAGE,
    ActivityOutcome.REFUSED,
)
CALL_OUTCOME_WEIGHTS = (0.4, 0.28, 0.25, 0.07)

Columns = dict[str, Any]


@dataclass
class LedgerContext:
    seed: int
    portfolio: Portfolio
    timeline: Timeline
    staff: StaffIds
    next_id: dict[str, int] = field(default_factory=dict)

    def ids(self, table: str, count: int) -> np.ndarray:
        first = self.next_id.get(table, 1)
        self.next_id[table] = first + count
        return np.arange(first, first + count, dtype=np.int64)


@dataclass
class Chunk:
    tables: dict[str, Columns]  # in insertion (foreign-key) order
    limits: np.ndarray  # current credit limit per customer of the chunk, local cents


@dataclass
class Docs:
    """One entry per invoice or credit note; `customer` is the 0-based customer index."""

    customer: np.ndarray
    credit_note: np.ndarray
    issue: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    settle: np.ndarray  # day the item is fully settled; after as_of means still open
    two_part: np.ndarray
    part_day: np.ndarray
    part_amount: np.ndarray
    disputed: np.ndarray
    dispute_open: np.ndarray
    dispute_resolve: np.ndarray
    injected: np.ndarray  # the showcase dispute whose thread carries a prompt-injection attempt
    scripted_promises: np.ndarray  # 0 none, 1 broken twice then open, 2 broken twice (showcase)

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, index: np.ndarray) -> Docs:
        return Docs(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def concat(self, other: Docs) -> Docs:
        return Docs(**{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self)})


def build_chunk(ctx: LedgerContext, lo: int, hi: int, chunk_index: int) -> Chunk:
    rng = make_rng(ctx.seed, STREAM_LEDGER, chunk_index)
    docs = _issue_invoices(rng, ctx, lo, hi)
    _settle(rng, ctx, docs)
    _plan_disputes(rng, ctx, docs)
    _apply_showcase_scripts(ctx, docs)
    _split_payments(rng, ctx, docs)
    docs = _add_credit_notes(rng, ctx, docs)
    docs = docs.take(np.lexsort((docs.credit_note, docs.issue, docs.customer)))

    invoice_ids = ctx.ids("invoice", len(docs))
    invoices = _invoice_columns(rng, ctx, docs, invoice_ids)
    payments, allocations = _payment_columns(rng, ctx, docs, invoice_ids)
    disputes, messages = _dispute_columns(rng, ctx, docs, invoice_ids, invoices["number"])
    promises, promise_spans = _promise_columns(rng, ctx, docs, invoice_ids)
    activities = _activity_columns(rng, ctx, docs, invoice_ids, promises, promise_spans, disputes)
    open_ar = np.bincount(docs.customer - lo, weights=invoices["open_amount"], minlength=hi - lo)
    orders, limits = _order_columns(rng, ctx, docs, lo, hi, open_ar)
    tables = {
        "invoice": invoices,
        "payment": payments,
        "payment_allocation": allocations,
        "dispute": disputes,
        "dispute_message": messages,
        "promise_to_pay": promises,
        "collection_activity": activities,
        "sales_order": orders,
    }
    return Chunk(tables, limits)


# --- the story of each invoice -----------------------------------------------------------------------------------


def _issue_invoices(rng: np.random.Generator, ctx: LedgerContext, lo: int, hi: int) -> Docs:
    """Poisson counts per customer-month (seasonal, growing), spread over the active weekdays of each month."""
    p, tl = ctx.portfolio, ctx.timeline
    first, days = active_days(tl, p.since_dn[lo:hi])
    rate = p.invoice_rate_scale * p.volume[lo:hi, None] * tl.capacity[None, :] * days / tl.month_days[None, :]
    counts = rng.poisson(rate)
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    row, month = np.divmod(cell, tl.months)
    start = first[row, month]
    issue = start + np.floor(rng.random(len(cell)) * days[row, month]).astype(np.int64)
    weekday = (issue + 3) % 7  # day 0 (1970-01-01) was a Thursday; 0 = Monday
    issue = np.clip(issue - (weekday == 5) + (weekday == 6), start, tl.month_last[month])
    customer = (row + lo).astype(np.int64)
    amount = np.maximum(np.round(rng.lognormal(np.log(p.median_cents[customer]), 0.8)), 1000).astype(np.int64)
    size = len(customer)
    zeros = np.zeros(size, dtype=np.int64)
    return Docs(
        customer=customer,
        credit_note=np.zeros(size, dtype=bool),
        issue=issue,
        due=issue + p.terms[customer],
        amount=amount,
        settle=zeros.copy(),
        two_part=np.zeros(size, dtype=bool),
        part_day=zeros.copy(),
        part_amount=zeros.copy(),
        disputed=np.zeros(size, dtype=bool),
        dispute_open=zeros.copy(),
        dispute_resolve=zeros.copy(),
        injected=np.zeros(size, dtype=bool),
        scripted_promises=np.zeros(size, dtype=np.int8),
    )


def _settle(rng: np.random.Generator, ctx: LedgerContext, docs: Docs) -> None:
    """Days beyond terms by payment behaviour, a tail of badly late items, and never-paid debt for Stop customers."""
    p, tl = ctx.portfolio, ctx.timeline
    size = len(docs)
    behaviour = p.behaviour[docs.customer]
    progress = window_progress(tl, docs.issue)
    lateness = typical_lateness(behaviour, p.late_shift[docs.customer], progress)
    lateness = lateness + LATENESS_SD[behaviour] * rng.standard_normal(size)
    tail_probability = TAIL_PROBABILITY[behaviour] + np.where(behaviour == DETERIORATING, 0.06 * progress, 0.0)
    lateness = np.where(rng.random(size) < tail_probability, lateness + rng.uniform(40, 220, size), lateness)
    docs.settle = np.maximum(docs.due + np.round(lateness).astype(np.int64), docs.issue + 1)
    age = tl.as_dn - docs.issue
    stopped = p.credit_status[docs.customer] == CreditStatus.STOP.value
    stuck = stopped & (age >= 130) & (age <= 420) & (rng.random(size) < STUCK_PROBABILITY)
    docs.settle = np.where(stuck, tl.as_dn + NEVER_DAYS, docs.settle)


def _plan_disputes(rng: np.random.Generator, ctx: LedgerContext, docs: Docs) -> None:
    """Disputes open within terms (+2 weeks) and hold the payment until some days after they are resolved."""
    p, tl = ctx.portfolio, ctx.timeline
    size = len(docs)
    behaviour = p.behaviour[docs.customer]
    docs.dispute_open = docs.issue + rng.integers(3, p.terms[docs.customer] + 16)
    docs.disputed = (rng.random(size) < DISPUTE_PROBABILITY[behaviour]) & (docs.dispute_open <= tl.as_dn)
    duration = np.clip(np.round(rng.lognormal(np.log(28.0), 0.7, size)), 4, 180).astype(np.int64)
    docs.dispute_resolve = docs.dispute_open + duration
    paid_after = docs.dispute_resolve + rng.integers(1, 12, size)
    docs.settle = np.where(docs.disputed, np.maximum(docs.settle, paid_after), docs.settle)


def _apply_showcase_scripts(ctx: LedgerContext, docs: Docs) -> None:
    """Initech's open dispute with the injection attempt; Soylent's overdue items with broken and open promises;
    Acme Corporation's one undisputed item a few weeks overdue, so its collector has work on any anchor date."""
    as_dn = ctx.timeline.as_dn
    never = as_dn + NEVER_DAYS
    acme = np.flatnonzero((docs.customer == ACME - 1) & (docs.due <= as_dn - 12) & (docs.due >= as_dn - 40))
    if len(acme):
        target = acme[-1]
        docs.disputed[target] = False
        docs.settle[target] = never
    initech = np.flatnonzero((docs.customer == INITECH - 1) & (docs.issue <= as_dn - 25))
    if len(initech):
        target = initech[-1]
        docs.disputed[target] = True
        docs.injected[target] = True
        docs.dispute_open[target] = docs.issue[target] + 10
        docs.dispute_resolve[target] = never
        docs.settle[target] = never
    soylent = np.flatnonzero((docs.customer == SOYLENT - 1) & (docs.due <= as_dn - 32))
    for script, target in zip((1, 2), soylent[::-1][:2].tolist(), strict=False):
        docs.scripted_promises[target] = script
        docs.disputed[target] = False
        docs.settle[target] = never


def _split_payments(rng: np.random.Generator, ctx: LedgerContext, docs: Docs) -> None:
    """~6% of invoices are paid in two parts: 30-70% first, the rest when the invoice settles (maybe after as_of)."""
    size = len(docs)
    span = np.minimum(docs.settle, ctx.timeline.as_dn + 90) - docs.issue
    docs.two_part = (rng.random(size) < TWO_PART_PROBABILITY) & (span >= 4) & (docs.scripted_promises == 0)
    part = np.round(docs.amount * rng.uniform(0.3, 0.7, size)).astype(np.int64)
    docs.part_amount = np.where(docs.two_part, np.clip(part, 1, docs.amount - 1), 0)
    offset = 1 + np.floor(rng.uniform(0.2, 0.8, size) * (span - 1)).astype(np.int64)
    docs.part_day = np.where(docs.two_part, docs.issue + offset, 0)


def _add_credit_notes(rng: np.random.Generator, ctx: LedgerContext, docs: Docs) -> Docs:
    """Credit notes (5-30% of an invoice), issued while it is unpaid and netted in the payment that settles it."""
    size = len(docs)
    limit = np.minimum(docs.settle, ctx.timeline.as_dn + 1)
    eligible = ~docs.two_part & ~docs.disputed & (docs.scripted_promises == 0) & (limit - docs.issue >= 3)
    source = np.flatnonzero(eligible & (rng.random(size) < CREDIT_NOTE_PROBABILITY))
    count = len(source)
    issue = docs.issue[source] + 1 + np.floor(rng.random(count) * (limit[source] - docs.issue[source] - 1))
    credit = np.round(docs.amount[source] * rng.uniform(0.05, 0.3, count)).astype(np.int64)
    credit = np.clip(credit, 100, docs.amount[source] - 1)
    zeros = np.zeros(count, dtype=np.int64)
    issue = issue.astype(np.int64)
    notes = Docs(
        customer=docs.customer[source],
        credit_note=np.ones(count, dtype=bool),
        issue=issue,
        due=issue,
        amount=-credit,
        settle=docs.settle[source],
        two_part=np.zeros(count, dtype=bool),
        part_day=zeros,
        part_amount=zeros,
        disputed=np.zeros(count, dtype=bool),
        dispute_open=zeros,
        dispute_resolve=zeros,
        injected=np.zeros(count, dtype=bool),
        scripted_promises=np.zeros(count, dtype=np.int8),
    )
    return docs.concat(notes)


# --- invoices, payments, allocations -----------------------------------------------------------------------------


def _invoice_columns(rng: np.random.Generator, ctx: LedgerContext, docs: Docs, ids: np.ndarray) -> Columns:
    p, as_dn = ctx.portfolio, ctx.timeline.as_dn
    size = len(docs)
    is_open = docs.settle > as_dn
    part_paid = docs.two_part & (docs.part_day <= as_dn)
    open_amount = np.where(is_open, docs.amount - np.where(part_paid, docs.part_amount, 0), 0)
    settled_date = dates(docs.settle)
    settled_date[is_open] = np.datetime64("NaT")
    years = (dates(docs.issue).astype("datetime64[Y]").astype(np.int64) + 1970).tolist()
    numbers = [
        f"{'CN' if note else 'INV'}-{year}-{number:07d}"
        for note, year, number in zip(docs.credit_note.tolist(), years, ids.tolist(), strict=True)
    ]
    has_po = (p.segment[docs.customer] != "SMB") & (rng.random(size) < 0.8)
    po_numbers = rng.integers(100_000, 9_999_999, size=size)
    created = timestamps(docs.issue, office_seconds(rng, size))
    last_event = np.maximum(np.where(part_paid, docs.part_day, docs.issue), np.where(is_open, docs.issue, docs.settle))
    updated = np.maximum(created, timestamps(last_event, office_seconds(rng, size)))
    return {
        "id": ids,
        "customer_id": p.ids[docs.customer],
        "number": numbers,
        "kind": np.where(docs.credit_note, "credit_note", "invoice").tolist(),
        "issue_date": dates(docs.issue),
        "due_date": dates(docs.due),
        "issue_dn": docs.issue,
        "due_dn": docs.due,
        "amount": docs.amount,
        "open_amount": open_amount,
        "currency": p.currency[docs.customer].tolist(),
        "status": np.where(is_open, "open", "paid").tolist(),
        "settled_date": settled_date,
        "settled_dn": np.ma.masked_array(docs.settle, mask=is_open),
        "first_paid_dn": np.ma.masked_array(np.where(part_paid, docs.part_day, docs.settle), mask=is_open & ~part_paid),
        "po_number": [f"PO-{n}" if has else None for has, n in zip(has_po.tolist(), po_numbers.tolist(), strict=True)],
        "paperless": rng.random(size) < 0.7,
        "source": ["demo"] * size,
        "version": np.ones(size, dtype=np.int64),
        "created_at": created,
        "updated_at": updated,
    }


def _payment_columns(
    rng: np.random.Generator, ctx: LedgerContext, docs: Docs, invoice_ids: np.ndarray
) -> tuple[Columns, Columns]:
    """One allocation per part payment or settlement; a customer's allocations of one day form one payment."""
    p, as_dn = ctx.portfolio, ctx.timeline.as_dn
    first_parts = np.flatnonzero(docs.two_part & (docs.part_day <= as_dn))
    settlements = np.flatnonzero(docs.settle <= as_dn)
    doc = np.concatenate([first_parts, settlements])
    day = np.concatenate([docs.part_day[first_parts], docs.settle[settlements]])
    remaining = docs.amount[settlements] - np.where(docs.two_part[settlements], docs.part_amount[settlements], 0)
    amount = np.concatenate([docs.part_amount[first_parts], remaining])
    customer = docs.customer[doc]
    order = np.lexsort((doc, day, customer))
    doc, day, amount, customer = doc[order], day[order], amount[order], customer[order]

    new_payment = np.ones(len(doc), dtype=bool)
    new_payment[1:] = (customer[1:] != customer[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new_payment)
    payment_index = np.cumsum(new_payment) - 1
    count = len(starts)
    applied = np.add.reduceat(amount, starts) if count else np.zeros(0, dtype=np.int64)
    if (applied <= 0).any():
        raise RuntimeError("demo ledger produced a payment that is not positive")
    on_account = rng.random(count) < UNAPPLIED_PROBABILITY
    unapplied = np.where(on_account, np.maximum(np.round(applied * rng.uniform(0.02, 0.25, count)), 100), 0)
    unapplied = unapplied.astype(np.int64)
    payment_customer, payment_day = customer[starts], day[starts]
    payment_ids = ctx.ids("payment", count)
    currency = p.currency[payment_customer]
    created = timestamps(payment_day, office_seconds(rng, count))
    payments = {
        "id": payment_ids,
        "customer_id": p.ids[payment_customer],
        "reference": [f"PMT-{payment_id:08d}" for payment_id in payment_ids.tolist()],
        "received_date": dates(payment_day),
        "received_dn": payment_day,
        "amount": applied + unapplied,
        "unapplied_amount": unapplied,
        "currency": currency.tolist(),
        "method": _payment_methods(rng, currency),
        "created_at": created,
        "updated_at": created,
    }
    allocations = {
        "id": ctx.ids("payment_allocation", len(doc)),
        "payment_id": payment_ids[payment_index],
        "invoice_id": invoice_ids[doc],
        "amount": amount,
        "applied_date": dates(day),
        "applied_dn": day,
    }
    return payments, allocations


def _payment_methods(rng: np.random.Generator, currency: np.ndarray) -> list[str]:
    methods = np.empty(len(currency), dtype=object)
    draws = rng.random(len(currency))
    for code in sorted(PAYMENT_METHODS):
        mask = currency == code
        options = np.array(PAYMENT_METHODS[code], dtype=object)
        methods[mask] = options[np.minimum((draws[mask] * len(options)).astype(np.int64), len(options) - 1)]
    return methods.tolist()


# --- disputes and their threads ----------------------------------------------------------------------------------


def _money_text(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    return f"{currency} {sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def _dispute_columns(
    rng: np.random.Generator, ctx: LedgerContext, docs: Docs, invoice_ids: np.ndarray, numbers: list[str]
) -> tuple[Columns, Columns]:
    p, tl, staff = ctx.portfolio, ctx.timeline, ctx.staff
    index = np.flatnonzero(docs.disputed)
    count = len(index)
    customer = docs.customer[index]
    active = docs.dispute_resolve[index] > tl.as_dn
    roll = rng.random(count)
    status = np.where(active, np.where(roll < 0.55, "open", "in_review"), np.where(roll < 0.72, "resolved", "rejected"))
    status[docs.injected[index]] = "open"
    reason_pick = rng.choice(len(texts.DISPUTE_REASONS), size=count, p=texts.DISPUTE_REASON_WEIGHTS)
    partial = rng.random(count) < 0.3
    amount = docs.amount[index]
    disputed_amount = np.where(partial, np.round(amount * rng.uniform(0.1, 0.9, count)), amount).astype(np.int64)
    owner = np.where(
        rng.random(count) < 0.7, p.collector[customer], staff.analysts[rng.integers(0, len(staff.analysts), count)]
    )
    opened = timestamps(docs.dispute_open[index], office_seconds(rng, count))
    resolved = timestamps(docs.dispute_resolve[index], office_seconds(rng, count))
    resolved = np.maximum(resolved, opened)
    resolved[active] = np.datetime64("NaT")
    # Active threads were last touched some days before as_of (never before they were opened).
    last_touch = timestamps(tl.as_dn - rng.integers(0, 10, count), office_seconds(rng, count))
    thread_end = np.where(active, np.maximum(opened, last_touch), resolved)
    message_count = np.where(active, rng.integers(2, 5, count), rng.integers(3, 6, count))
    message_count[docs.injected[index]] = 4
    resolution_pick = rng.integers(0, 1000, count)
    template_pick = rng.integers(0, 1000, (count, 5))
    due_dates = np.datetime_as_string(dates(docs.due[index]), unit="D")

    ids = ctx.ids("dispute", count)
    reasons = [texts.DISPUTE_REASONS[k] for k in reason_pick.tolist()]
    resolutions: list[str | None] = []
    thread = _ThreadWriter()
    for k in range(count):
        cust = int(customer[k])
        doc = int(index[k])
        currency = str(p.currency[cust])
        fill = {
            "invoice": numbers[doc],
            "amount": _money_text(int(amount[k]), currency),
            "disputed": _money_text(int(disputed_amount[k]), currency),
            "contact": str(p.contact_name[cust]),
            "owner": staff.full_names[int(owner[k])],
            "customer": p.names[cust],
            "due_date": str(due_dates[k]),
        }
        state = str(status[k])
        resolutions.append(
            None if state in ("open", "in_review") else _pick(texts.RESOLUTION_NOTES[state], int(resolution_pick[k]))
        )
        thread.write(
            int(ids[k]),
            reasons[k],
            state,
            bool(docs.injected[doc]),
            int(message_count[k]),
            fill,
            f"{fill['contact']} <{p.contact_email[cust]}>",
            template_pick[k].tolist(),
            opened[k],
            thread_end[k],
        )
    disputes = {
        "id": ids,
        "customer_id": p.ids[customer],
        "invoice_id": invoice_ids[index],
        "reason_code": [reason.value for reason in reasons],
        "amount": disputed_amount,
        "currency": p.currency[customer].tolist(),
        "status": status.tolist(),
        "owner_id": owner,
        "opened_at": opened,
        "resolved_at": resolved,
        "resolution": resolutions,
        "version": np.ones(count, dtype=np.int64),
        "created_at": opened,
        "updated_at": thread_end,
    }
    messages = thread.columns(ctx.ids("dispute_message", len(thread.dispute_id)))
    return disputes, messages


def _pick(options: tuple[str, ...], draw: int) -> str:
    return options[draw % len(options)]


@dataclass
class _ThreadWriter:
    """Builds dispute message rows: the customer's complaint, our reply, internal notes, the outcome."""

    dispute_id: list[int] = field(default_factory=list)
    sent_at: list[np.datetime64] = field(default_factory=list)
    author: list[str] = field(default_factory=list)
    direction: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)

    def write(
        self,
        dispute_id: int,
        reason: DisputeReason,
        status: str,
        injected: bool,
        count: int,
        fill: dict[str, str],
        customer_author: str,
        picks: list[int],
        opened: np.datetime64,
        end: np.datetime64,
    ) -> None:
        owner = fill["owner"]
        plan: list[tuple[str, str, str]] = [
            ("inbound", customer_author, _pick(texts.OPENING[reason], picks[0])),
            ("outbound", owner, _pick(texts.ACKNOWLEDGE, picks[1])),
        ]
        closing = {"resolved": texts.RESOLVED, "rejected": texts.REJECTED}.get(status)
        if injected:
            plan.append(("inbound", customer_author, texts.PROMPT_INJECTION))
            plan.append(("internal", owner, _pick(texts.INTERNAL, picks[2])))
        else:
            middle = [
                ("internal", owner, _pick(texts.INTERNAL, picks[2])),
                ("inbound", customer_author, _pick(texts.FOLLOW_UP, picks[3])),
            ]
            room = count - len(plan) - (1 if closing else 0)
            plan.extend(middle[: max(room, 0)])
            if closing:
                plan.append(("outbound", owner, _pick(closing, picks[4])))
        span_seconds = max(int((end - opened) // np.timedelta64(1, "s")), 0)
        steps = max(len(plan) - 1, 1)
        for position, (direction, author, template) in enumerate(plan):
            self.dispute_id.append(dispute_id)
            last = position == len(plan) - 1
            sent = end if last and end > opened else opened + np.timedelta64(span_seconds * position // steps, "s")
            self.sent_at.append(sent)
            self.author.append(author)
            self.direction.append(direction)
            self.body.append(template.format(**fill))

    def columns(self, ids: np.ndarray) -> Columns:
        return {
            "id": ids,
            "dispute_id": np.array(self.dispute_id, dtype=np.int64),
            "sent_at": np.array(self.sent_at, dtype="datetime64[us]"),
            "author": self.author,
            "direction": self.direction,
            "body": self.body,
        }


# --- promises to pay ---------------------------------------------------------------------------------------------


@dataclass
class _PromiseRows:
    doc: list[np.ndarray] = field(default_factory=list)
    level: list[np.ndarray] = field(default_factory=list)
    taken: list[np.ndarray] = field(default_factory=list)
    promised: list[np.ndarray] = field(default_factory=list)
    status: list[np.ndarray] = field(default_factory=list)
    amount: list[np.ndarray] = field(default_factory=list)
    paid: list[np.ndarray] = field(default_factory=list)
    resolved: list[np.ndarray] = field(default_factory=list)  # day number, -1 while open

    def add(self, **values: np.ndarray) -> None:
        for name, array in values.items():
            getattr(self, name).append(np.asarray(array))

    def merged(self) -> dict[str, np.ndarray]:
        return {f.name: np.concatenate(getattr(self, f.name)) for f in fields(self)}


def _promised_days(rng: np.random.Generator, settle: np.ndarray, taken: np.ndarray, honesty: np.ndarray) -> np.ndarray:
    """An honest promise names (about) the day the customer will pay; the others buy one or two weeks."""
    count = len(settle)
    stalling = taken + rng.integers(7, 15, count)
    honest_day = np.maximum(settle - rng.integers(0, 4, count), taken + 3)
    honest = (rng.random(count) < honesty) & (settle - taken <= HONEST_PROMISE_HORIZON)
    return np.where(honest, honest_day, stalling)


@dataclass
class _Spans:
    """When collection is paused for an item: from a promise being taken until its grace period ends."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def covers(self, doc: np.ndarray, day: np.ndarray) -> np.ndarray:
        order = np.argsort(self.doc, kind="stable")
        span_doc, start, end = self.doc[order], self.start[order], self.end[order]
        first = np.searchsorted(span_doc, doc, side="left")
        last = np.searchsorted(span_doc, doc, side="right")
        covered = np.zeros(len(doc), dtype=bool)
        for k in range(int((last - first).max(initial=0))):
            at = np.minimum(first + k, max(len(span_doc) - 1, 0))
            hit = (first + k < last) & (start[at] <= day) & (day <= end[at])
            covered |= hit
        return covered


def _promise_columns(
    rng: np.random.Generator, ctx: LedgerContext, docs: Docs, invoice_ids: np.ndarray
) -> tuple[Columns, _Spans]:
    """Promises on items more than ten days late: kept, partially kept, broken (and re-promised), or still open."""
    p, as_dn = ctx.portfolio, ctx.timeline.as_dn
    rows = _PromiseRows()
    candidates = ~docs.credit_note & (docs.scripted_promises == 0)
    candidates &= np.minimum(docs.settle, as_dn) - docs.due > PROMISE_MIN_DAYS_LATE
    taken = docs.due + rng.integers(5, 21, len(docs))
    probability = PROMISE_PROBABILITY[p.behaviour[docs.customer]]
    pending = candidates & (taken < docs.settle) & (taken <= as_dn) & (rng.random(len(docs)) < probability)
    honesty = HONEST_PROMISE_PROBABILITY[p.behaviour[docs.customer]]
    for level in (1, 2, 3):
        index = np.flatnonzero(pending)
        if not len(index):
            break
        promised = _promised_days(rng, docs.settle[index], taken[index], honesty[index])
        failed = _evaluate_promises(rows, ctx, docs, index, level, taken[index], promised)
        retake = promised + PROMISE_GRACE_DAYS + rng.integers(1, 8, len(index))
        again = failed & (rng.random(len(index)) < PROMISE_AGAIN_PROBABILITY)
        again &= (retake < docs.settle[index]) & (retake <= as_dn)
        pending = np.zeros(len(docs), dtype=bool)
        pending[index[again]] = True
        taken[index[again]] = retake[again]
    _scripted_promises(rows, ctx, docs)
    if not rows.doc:
        rows.add(**{f.name: np.zeros(0, dtype=np.int64) for f in fields(rows)})
    merged = rows.merged()
    doc = merged["doc"]
    order = np.lexsort((merged["level"], merged["taken"], docs.customer[doc]))
    merged = {name: values[order] for name, values in merged.items()}
    doc = merged["doc"]
    count = len(doc)
    customer = docs.customer[doc]
    taken_at = timestamps(merged["taken"], office_seconds(rng, count))
    is_open = merged["resolved"] < 0
    # Kept promises are closed by the nightly job on the payment day; broken ones the night the grace period ends.
    resolved_at = timestamps(np.where(is_open, 0, merged["resolved"]), 22 * 3600)
    resolved_at[is_open] = np.datetime64("NaT")
    notes = np.array(texts.PROMISE_NOTES, dtype=object)[rng.integers(0, len(texts.PROMISE_NOTES), count)]
    portal = rng.random(count) < 0.12
    spans = _Spans(doc, merged["taken"], merged["promised"] + PROMISE_GRACE_DAYS)
    columns = {
        "id": ctx.ids("promise_to_pay", count),
        "customer_id": p.ids[customer],
        "invoice_id": invoice_ids[doc],
        "amount": merged["amount"],
        "currency": p.currency[customer].tolist(),
        "promised_date": dates(merged["promised"]),
        "promised_dn": merged["promised"],
        "taken_at": taken_at,
        "taken_by_id": p.collector[customer],
        "contact": p.contact_name[customer].tolist(),
        "source": np.where(portal, "portal", "collector").tolist(),
        "status": merged["status"].tolist(),
        "amount_paid": merged["paid"],
        "level": merged["level"],
        "resolved_at": resolved_at,
        "notes": notes.tolist(),
        "version": np.ones(count, dtype=np.int64),
        "created_at": taken_at,
        "updated_at": np.where(is_open, taken_at, np.maximum(resolved_at, taken_at)),
    }
    return columns, spans


def _evaluate_promises(
    rows: _PromiseRows,
    ctx: LedgerContext,
    docs: Docs,
    index: np.ndarray,
    level: int,
    taken: np.ndarray,
    promised: np.ndarray,
) -> np.ndarray:
    """Record one level of promises; returns which of them failed (broken or only partially kept)."""
    as_dn = ctx.timeline.as_dn
    deadline = promised + PROMISE_GRACE_DAYS
    settle = docs.settle[index]
    kept = (settle <= deadline) & (settle <= as_dn)
    still_open = ~kept & (deadline >= as_dn)
    failed = ~kept & ~still_open
    two, part_day, part = docs.two_part[index], docs.part_day[index], docs.part_amount[index]
    part_before = two & (part_day <= taken)
    part_within = two & (part_day > taken) & (part_day <= np.minimum(deadline, as_dn))
    amount = docs.amount[index] - np.where(part_before, part, 0)
    status = np.where(
        kept,
        PromiseStatus.KEPT.value,
        np.where(
            still_open,
            PromiseStatus.OPEN.value,
            np.where(part_within, PromiseStatus.PARTIALLY_KEPT.value, PromiseStatus.BROKEN.value),
        ),
    )
    rows.add(
        doc=index,
        level=np.full(len(index), level, dtype=np.int64),
        taken=taken,
        promised=promised,
        status=status,
        amount=amount,
        paid=np.where(kept, amount, np.where(part_within, part, 0)),
        resolved=np.where(kept, settle, np.where(failed, deadline, -1)),
    )
    return failed


def _scripted_promises(rows: _PromiseRows, ctx: LedgerContext, docs: Docs) -> None:
    """Soylent: its latest overdue item was promised three times (broken, broken, open); an older one twice, both
    broken. Weekly follow-ups: each promise is taken two days after the previous one's grace period ran out."""
    as_dn = ctx.timeline.as_dn
    broken, still_open = PromiseStatus.BROKEN.value, PromiseStatus.OPEN.value
    for doc in np.flatnonzero(docs.scripted_promises > 0).tolist():
        levels = 3 if docs.scripted_promises[doc] == 1 else 2
        taken = [int(docs.due[doc]) + 6 + 12 * k for k in range(levels)]
        promised = [day + 7 for day in taken]
        status = [broken] * levels
        resolved = [day + PROMISE_GRACE_DAYS for day in promised]
        if docs.scripted_promises[doc] == 1:
            promised[-1], status[-1], resolved[-1] = as_dn + 5, still_open, -1
        rows.add(
            doc=np.full(levels, doc),
            level=np.arange(1, levels + 1),
            taken=np.array(taken),
            promised=np.array(promised),
            status=np.array(status),
            amount=np.full(levels, docs.amount[doc]),
            paid=np.zeros(levels, dtype=np.int64),
            resolved=np.array(resolved),
        )


# --- collection activities ---------------------------------------------------------------------------------------


def _activity_columns(
    rng: np.random.Generator,
    ctx: LedgerContext,
    docs: Docs,
    invoice_ids: np.ndarray,
    promises: Columns,
    promise_spans: _Spans,
    disputes: Columns,
) -> Columns:
    """Fortnightly dunning runs (one letter per customer and run, at the highest level due), reminder e-mails and calls,
    the contacts on which promises were taken, and the customer e-mails that opened disputes."""
    p = ctx.portfolio
    promise_count = len(promises["id"])
    portal = np.array(promises["source"], dtype=object) == "portal"
    dispute_count = len(disputes["id"])
    parts = [
        _dunning_letters(rng, ctx, docs, invoice_ids, promise_spans),
        _reminders(rng, ctx, docs, invoice_ids),
        _Activities(
            customer=promises["customer_id"] - 1,
            invoice_id=promises["invoice_id"],
            kind=np.where(portal, ActivityKind.NOTE.value, ActivityKind.CALL.value).astype(object),
            level=np.zeros(promise_count, dtype=np.int64),
            outcome=np.full(promise_count, ActivityOutcome.PROMISED.value, dtype=object),
            at=promises["taken_at"],
        ),
        _Activities(
            customer=disputes["customer_id"] - 1,
            invoice_id=disputes["invoice_id"],
            kind=np.full(dispute_count, ActivityKind.EMAIL.value, dtype=object),
            level=np.zeros(dispute_count, dtype=np.int64),
            outcome=np.full(dispute_count, ActivityOutcome.DISPUTED.value, dtype=object),
            at=disputes["opened_at"],
        ),
    ]
    merged = _Activities(
        **{f.name: np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(_Activities)}
    )
    merged = merged.take(np.lexsort((merged.invoice_id, merged.at, merged.customer)))
    return {
        "id": ctx.ids("collection_activity", len(merged.customer)),
        "customer_id": p.ids[merged.customer],
        "invoice_id": merged.invoice_id,
        "kind": merged.kind.tolist(),
        "dunning_level": np.ma.masked_array(merged.level, mask=merged.level == 0),
        "outcome": merged.outcome.tolist(),
        "notes": _activity_notes(rng, merged.kind, merged.level, merged.outcome),
        "performed_at": merged.at,
        "performed_by_id": p.collector[merged.customer],
    }


@dataclass
class _Activities:
    customer: np.ndarray
    invoice_id: np.ndarray
    kind: np.ndarray
    level: np.ndarray  # dunning level, 0 for other kinds
    outcome: np.ndarray
    at: np.ndarray

    def take(self, index: np.ndarray) -> _Activities:
        return _Activities(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def _dunning_letters(
    rng: np.random.Generator, ctx: LedgerContext, docs: Docs, invoice_ids: np.ndarray, paused: _Spans
) -> _Activities:
    """Dunning runs every other Monday. An item is dunned at the highest level it has reached, unless it is in
    dispute or under an unexpired promise; a customer gets one letter per run."""
    as_dn = ctx.timeline.as_dn
    invoice = ~docs.credit_note
    doc_parts, day_parts, level_parts = [], [], []
    for dunning_level, offset in enumerate(DUNNING_OFFSETS, start=1):
        crossed = docs.due + offset
        run = _next_dunning_run(crossed)
        in_dispute = docs.disputed & (run >= docs.dispute_open) & (run < docs.dispute_resolve)
        due_letter = invoice & (run < docs.settle) & (run <= as_dn) & ~in_dispute
        index = np.flatnonzero(due_letter)
        index = index[~paused.covers(index, run[index])]
        doc_parts.append(index)
        day_parts.append(run[index])
        level_parts.append(np.full(len(index), dunning_level, dtype=np.int64))
    doc = np.concatenate(doc_parts)
    day = np.concatenate(day_parts)
    level = np.concatenate(level_parts)
    customer = docs.customer[doc]
    order = np.lexsort((doc, -level, day, customer))
    doc, day, level, customer = doc[order], day[order], level[order], customer[order]
    first = np.ones(len(doc), dtype=bool)
    first[1:] = (customer[1:] != customer[:-1]) | (day[1:] != day[:-1])
    count = int(first.sum())
    return _Activities(
        customer=customer[first],
        invoice_id=invoice_ids[doc[first]],
        kind=np.full(count, ActivityKind.DUNNING.value, dtype=object),
        level=level[first],
        outcome=np.full(count, ActivityOutcome.SENT.value, dtype=object),
        at=timestamps(day[first], 7 * 3600 + rng.integers(0, 3600, count)),
    )


def _next_dunning_run(day: np.ndarray) -> np.ndarray:
    """The first run day on or after `day`: Mondays of even weeks counted from Monday 1970-01-05 (day 4)."""
    monday = day + (7 - (day + 3) % 7) % 7
    return monday + 7 * (((monday - 4) // 7) % 2)


def _reminders(rng: np.random.Generator, ctx: LedgerContext, docs: Docs, invoice_ids: np.ndarray) -> _Activities:
    """A reminder e-mail a few days after due, and a call around three weeks overdue, for some late items."""
    as_dn = ctx.timeline.as_dn
    size = len(docs)
    invoice = ~docs.credit_note & ~docs.disputed
    email_day = docs.due + rng.integers(3, 9, size)
    email = invoice & (email_day < docs.settle) & (email_day <= as_dn) & (rng.random(size) < EMAIL_PROBABILITY)
    call_day = docs.due + rng.integers(16, 29, size)
    call = invoice & (call_day < docs.settle) & (call_day <= as_dn) & (rng.random(size) < CALL_PROBABILITY)
    emails, calls = np.flatnonzero(email), np.flatnonzero(call)
    doc = np.concatenate([emails, calls])
    call_outcomes = np.array([o.value for o in CALL_OUTCOMES], dtype=object)
    outcome_pick = rng.choice(len(CALL_OUTCOMES), size=len(calls), p=CALL_OUTCOME_WEIGHTS)
    return _Activities(
        customer=docs.customer[doc],
        invoice_id=invoice_ids[doc],
        kind=np.array([ActivityKind.EMAIL.value] * len(emails) + [ActivityKind.CALL.value] * len(calls), dtype=object),
        level=np.zeros(len(doc), dtype=np.int64),
        outcome=np.concatenate(
            [np.full(len(emails), ActivityOutcome.SENT.value, dtype=object), call_outcomes[outcome_pick]]
        ),
        at=timestamps(np.concatenate([email_day[emails], call_day[calls]]), office_seconds(rng, len(doc))),
    )


def _activity_notes(rng: np.random.Generator, kind: np.ndarray, level: np.ndarray, outcome: np.ndarray) -> list[str]:
    picks = rng.integers(0, 1000, len(kind)).tolist()
    notes = []
    for k, lvl, out, pick in zip(kind.tolist(), level.tolist(), outcome.tolist(), picks, strict=True):
        if k == ActivityKind.DUNNING.value:
            notes.append(texts.DUNNING_NOTES[lvl])
        elif k == ActivityKind.CALL.value:
            notes.append(_pick(texts.CALL_NOTES[out], pick))
        elif out == ActivityOutcome.PROMISED.value:
            notes.append("Promise to pay submitted through the customer portal.")
        elif out == ActivityOutcome.DISPUTED.value:
            notes.append("Customer e-mail raising a dispute; logged.")
        else:
            notes.append(_pick(texts.EMAIL_NOTES, pick))
    return notes


# --- open sales orders -------------------------------------------------------------------------------------------


def _current_limits(
    rng: np.random.Generator, ctx: LedgerContext, docs: Docs, lo: int, hi: int, exposure: np.ndarray
) -> np.ndarray:
    """Needs-based limits from the last year's purchases (monthly average x terms/30 x 1.4-2.8, and room for the
    largest invoice), in thousands; showcase customers get the utilisation their story needs."""
    p, tl = ctx.portfolio, ctx.timeline
    size = hi - lo
    recent = ~docs.credit_note & (docs.issue > tl.as_dn - 365)
    customer = docs.customer[recent] - lo
    purchases = np.bincount(customer, weights=docs.amount[recent], minlength=size)
    largest = np.zeros(size)
    np.maximum.at(largest, customer, docs.amount[recent].astype(np.float64))
    months = np.clip((tl.as_dn - np.maximum(p.since_dn[lo:hi], tl.as_dn - 365)) / 30.44, 1.0, 12.0)
    monthly = np.where(purchases > 0, purchases / months, p.expected_monthly_cents(tl)[lo:hi])
    need = monthly * p.terms[lo:hi] / 30.0 * rng.uniform(*LIMIT_NEED_FACTOR, size)
    limits = np.maximum(
        round_to(np.maximum(need, largest * rng.uniform(*LIMIT_LARGEST_FACTOR, size)), 1000), 1000 * UNIT
    )
    for customer_id, spec in SHOWCASE.items():
        if lo < customer_id <= hi:
            target = max(float(exposure[customer_id - 1 - lo]), 1000.0 * UNIT) / spec.utilisation
            step = 1000 if target >= 20_000 * UNIT else 100
            limits[customer_id - 1 - lo] = max(int(round_to(np.array([target]), step)[0]), 1000 * UNIT)
    return limits


def _order_columns(
    rng: np.random.Generator, ctx: LedgerContext, docs: Docs, lo: int, hi: int, open_ar: np.ndarray
) -> tuple[Columns, np.ndarray]:
    """Open orders for ~30% of customers; the newest order of a customer over its limit is usually held, and every
    order of a customer on a manual Hold or Stop. Returns the orders and the chunk's current limits."""
    p, tl, staff = ctx.portfolio, ctx.timeline, ctx.staff
    customers = np.arange(lo, hi)
    size = hi - lo
    has = rng.random(size) < ORDER_PROBABILITY
    orders_each = rng.choice((1, 2, 3), size=size, p=(0.55, 0.3, 0.15))
    for showcase_id, forced in FORCED_ORDERS.items():
        if lo < showcase_id <= hi:
            has[showcase_id - 1 - lo] = True
            orders_each[showcase_id - 1 - lo] = forced
    customer = np.repeat(customers[has], orders_each[has])
    count = len(customer)
    order_day = tl.as_dn - rng.integers(0, 45, count)
    # An open order is a slice of the customer's usual monthly volume, not yet invoiced.
    monthly = p.expected_monthly_cents(tl)[customer]
    amount = np.maximum(np.round(monthly * rng.lognormal(np.log(0.3), 0.5, count)), 1000).astype(np.int64)
    partly = rng.random(count) < 0.25
    open_amount = np.where(partly, np.round(amount * rng.uniform(0.2, 0.9, count)).astype(np.int64), amount)
    order = np.lexsort((order_day, customer))
    customer, order_day, amount, open_amount = customer[order], order_day[order], amount[order], open_amount[order]

    exposure = open_ar + np.bincount(customer - lo, weights=open_amount, minlength=size)
    limits = _current_limits(rng, ctx, docs, lo, hi, exposure)
    over = exposure > limits
    status = p.credit_status[customer]
    manual = status != CreditStatus.OK.value
    newest = np.ones(count, dtype=bool)
    newest[:-1] = customer[1:] != customer[:-1]
    showcase = np.isin(p.ids[customer], list(SHOWCASE))
    held_for_limit = over[customer - lo] & newest & ((rng.random(count) < HOLD_WHEN_OVER_PROBABILITY) | showcase)
    on_hold = manual | held_for_limit
    reason = [
        (p.status_reason[c] if m else "Credit limit exceeded; order held pending credit review") if h else None
        for c, m, h in zip(customer.tolist(), manual.tolist(), on_hold.tolist(), strict=True)
    ]
    held_day = np.maximum(order_day, tl.as_dn - rng.integers(0, 6, count))
    held_at = timestamps(held_day, office_seconds(rng, count))
    held_at[~on_hold] = np.datetime64("NaT")
    held_by = np.where(rng.random(count) < 0.3, staff.manager, p.collector[customer])
    created = timestamps(order_day, office_seconds(rng, count))
    ids = ctx.ids("sales_order", count)
    columns = {
        "id": ids,
        "customer_id": p.ids[customer],
        "number": [f"SO-{order_id:07d}" for order_id in ids.tolist()],
        "order_date": dates(order_day),
        "requested_ship_date": dates(order_day + rng.integers(3, 31, count)),
        "amount": amount,
        "open_amount": open_amount,
        "currency": p.currency[customer].tolist(),
        "status": ["open"] * count,
        "on_hold": on_hold,
        "hold_reason": reason,
        "held_at": held_at,
        "held_by_id": np.ma.masked_array(held_by, mask=~on_hold),
        "version": np.ones(count, dtype=np.int64),
        "created_at": created,
        "updated_at": np.where(on_hold, np.maximum(held_at, created), created),
    }
    return columns, limits


__all__ = ["Chunk", "LedgerContext", "build_chunk"]
