"""Customer lookups used by resolution and every customer-level tool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Integer, String, bindparam, func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql import Select

from db.models import CreditLimit, Customer
from db.types import UTCDateTime


def _with_people() -> Select[Customer]:
    return select(Customer).options(joinedload(Customer.collector), joinedload(Customer.parent))


# Hot lookups (every tool call resolves a customer): statements built once, parameters bound per call.
@cache
def _by_id_statement() -> Select[Customer]:
    return _with_people().where(Customer.id == bindparam("customer_id", type_=Integer))


@cache
def _by_external_id_statement() -> Select[Customer]:
    return _with_people().where(func.upper(Customer.external_id) == bindparam("external_id", type_=String))


@cache
def _limit_as_of_statement() -> Select[CreditLimit]:
    moment = bindparam("moment", type_=UTCDateTime())
    return (
        select(CreditLimit)
        .where(
            CreditLimit.customer_id == bindparam("customer_id", type_=Integer),
            CreditLimit.valid_from <= moment,
            (CreditLimit.valid_to.is_(None)) | (CreditLimit.valid_to > moment),
        )
        .order_by(CreditLimit.valid_from.desc())
        .limit(1)
    )


def customer_by_id(session: Session, customer_id: int) -> Customer | None:
    return session.scalars(_by_id_statement(), {"customer_id": customer_id}).first()


def customer_by_external_id(session: Session, external_id: str) -> Customer | None:
    return session.scalars(_by_external_id_statement(), {"external_id": external_id.strip().upper()}).first()


def customers_by_ids(session: Session, ids: Sequence[int]) -> list[Customer]:
    if not ids:
        return []
    return list(session.scalars(_with_people().where(Customer.id.in_(ids))))


def customer_name_rows(session: Session) -> list[tuple[int, str, str, int | None, str]]:
    """(id, name_key, external_id, parent_id, name) of every customer, for the in-process fuzzy name index."""
    rows = session.execute(
        select(Customer.id, Customer.name_key, Customer.external_id, Customer.parent_id, Customer.name).order_by(
            Customer.id
        )
    ).all()
    return [(row[0], row[1], row[2], row[3], row[4]) for row in rows]


def customer_table_fingerprint(session: Session) -> tuple[int, int, str]:
    """Changes whenever a customer is added, removed or renamed (renames bump `updated_at`)."""
    count, max_id, last_update = session.execute(
        select(func.count(), func.max(Customer.id), func.max(Customer.updated_at))
    ).one()
    return int(count or 0), int(max_id or 0), str(last_update)


def child_ids(session: Session, parent_id: int) -> list[int]:
    return list(session.scalars(select(Customer.id).where(Customer.parent_id == parent_id).order_by(Customer.id)))


def credit_limit_as_of(session: Session, customer_id: int, moment: datetime) -> CreditLimit | None:
    """The limit in force at a moment (`valid_from <= t < valid_to`)."""
    return session.scalars(_limit_as_of_statement(), {"customer_id": customer_id, "moment": moment}).first()
