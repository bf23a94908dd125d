"""Staff users: the people who ask, propose and approve."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode, invalid_input, not_found
from db.models import Role, StaffUser


def add_staff_user(
    session: Session,
    *,
    name: str,
    role: Role,
    full_name: str | None = None,
    email: str | None = None,
    slack_user_id: str | None = None,
    approval_limit: Decimal | None = None,
) -> StaffUser:
    name = name.strip()
    if not name or len(name) > 80:
        raise invalid_input("user name must be 1-80 characters")
    if email is not None and "@" not in email:
        raise invalid_input(f"{email!r} is not an e-mail address")
    if approval_limit is not None and approval_limit < 0:
        raise invalid_input("approval limit must not be negative")
    user = StaffUser(
        name=name,
        role=role,
        full_name=full_name,
        email=email.lower() if email else None,
        slack_user_id=slack_user_id,
        approval_limit=approval_limit,
        active=True,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise CreditDeskError(
            ErrorCode.CONFLICT, f"a user with that name, e-mail or Slack id already exists ({name})"
        ) from None
    return user


def list_staff_users(session: Session, *, role: Role | None = None) -> list[StaffUser]:
    query = select(StaffUser).order_by(StaffUser.role, StaffUser.name)
    if role is not None:
        query = query.where(StaffUser.role == role)
    return list(session.scalars(query))


def find_staff_user(session: Session, handle: str) -> StaffUser | None:
    """By name, e-mail or Slack user id, case-insensitively; inactive users are not returned."""
    handle = handle.strip()
    if not handle:
        return None
    query = select(StaffUser).where(
        StaffUser.active.is_(True),
        or_(
            func.lower(StaffUser.name) == handle.lower(),
            func.lower(StaffUser.email) == handle.lower(),
            StaffUser.slack_user_id == handle,
        ),
    )
    return session.scalars(query).first()


def get_staff_user(session: Session, handle: str) -> StaffUser:
    user = find_staff_user(session, handle)
    if user is None:
        raise not_found(f"no active staff user {handle!r}")
    return user
