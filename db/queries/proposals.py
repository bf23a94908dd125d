"""SQL of the proposal service: the locked load, the one-shot claim, and the row locks and compare-and-set writes
that make "check the rows, then change them" atomic when two decisions touch the same customer.

Lock order, everywhere: the proposal row, then the customer row, then the rows of the change (order, dispute,
current credit limit), then `audit_head` (taken by the first audit append). Every decision that changes a
customer's data takes that customer's row lock first, so two decisions on one customer run one after the other and
the second sees the first's result. The customer lock is `FOR NO KEY UPDATE`: it does not block other transactions
from inserting rows that reference the customer (invoices, payments), only other decisions. SQLite has no row
locks; its write transaction (`BEGIN IMMEDIATE`) is already exclusive.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import psycopg
from sqlalchemy import CursorResult, func, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from db.models import CreditLimit, Customer, Invoice, PromiseStatus, PromiseToPay
from db.models.governance import Proposal


def load_proposal_for_decision(session: Session, proposal_id: int) -> Proposal | None:
    """The proposal, row-locked for the rest of the transaction and re-read from the database."""
    return session.scalars(
        select(Proposal).where(Proposal.id == proposal_id).with_for_update().execution_options(populate_existing=True)
    ).first()


def claim_proposal(session: Session, proposal_id: int, **values: Any) -> bool:
    """Record the decision only if the proposal is still pending: True for exactly one caller."""
    result = session.execute(
        update(Proposal)
        .where(Proposal.id == proposal_id, Proposal.decision.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount) == 1


def lock_customer(session: Session, customer_id: int) -> Customer | None:
    """Take the customer's decision lock and return the row as it is now (not as this session last saw it)."""
    return session.scalars(
        select(Customer)
        .where(Customer.id == customer_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()


def lock_rows(session: Session, model: type[Any], ids: Sequence[int]) -> list[Any]:
    """Row-lock the given rows of one table (in id order, so two lockers never wait on each other crosswise) and
    return them freshly read."""
    if not ids:
        return []
    return list(
        session.scalars(
            select(model)
            .where(model.id.in_(sorted(set(ids))))
            .order_by(model.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def lock_current_credit_limit(session: Session, customer_id: int) -> CreditLimit | None:
    """The customer's current limit (`valid_to IS NULL`), row-locked."""
    return session.scalars(
        select(CreditLimit)
        .where(CreditLimit.customer_id == customer_id, CreditLimit.valid_to.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def close_current_credit_limit(session: Session, customer_id: int, expected_id: int | None, moment: datetime) -> bool:
    """Compare-and-set: end the current limit only if it is still `expected_id` (None: only if there is none).
    False means another change got there first."""
    if expected_id is None:
        current = session.scalar(
            select(func.count()).where(CreditLimit.customer_id == customer_id, CreditLimit.valid_to.is_(None))
        )
        return not current
    result = session.execute(
        update(CreditLimit)
        .where(
            CreditLimit.id == expected_id,
            CreditLimit.customer_id == customer_id,
            CreditLimit.valid_to.is_(None),
        )
        .values(valid_to=moment)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount) == 1


def open_promise_count(session: Session, customer_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                PromiseToPay.customer_id == customer_id, PromiseToPay.status == PromiseStatus.OPEN
            )
        )
        or 0
    )


def open_balance(session: Session, customer_id: int, invoice_ids: Sequence[int] = ()) -> Decimal:
    """Open amount of the given invoices (still open ones only), or of the customer's whole open balance."""
    query = select(Invoice.open_amount).where(Invoice.customer_id == customer_id, Invoice.settled_dn.is_(None))
    if invoice_ids:
        query = query.where(Invoice.id.in_(list(invoice_ids)))
    return sum((Decimal(amount) for amount in session.scalars(query)), Decimal(0))


def set_lock_timeout(session: Session, timeout: timedelta) -> None:
    """Bound how long this transaction waits for a row lock (PostgreSQL's transaction-local `lock_timeout`); a
    longer wait raises a lock error, which `is_transient_error` recognises. SQLite waits at `BEGIN IMMEDIATE`, under
    the connection's busy timeout, before this can run."""
    if session.get_bind().dialect.name == "postgresql":
        milliseconds = max(1, int(timeout.total_seconds() * 1000))
        session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": f"{milliseconds}ms"})


_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)


def is_transient_error(error: BaseException) -> bool:
    """True for a failure of the database or the connection rather than of the work: a lock wait that timed out,
    a serialization failure or deadlock (rolled back: the transaction may simply run again), a dropped connection,
    an exhausted pool, SQLite's "database is locked". Nothing was written; trying again later can succeed.
    Constraint violations, programming errors and bad data are not transient."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    original = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    # psycopg's OperationalError is the class of lock timeouts (55P03), serialization failures and deadlocks
    # (40001, 40P01), cancelled statements, server shutdown and lost connections.
    if isinstance(original, psycopg.OperationalError):
        return True
    if isinstance(original, sqlite3.OperationalError):
        code = getattr(original, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_BUSY_CODES
        message = str(original).lower()
        return "database is locked" in message or "database table is locked" in message
    return False
