"""Calling registry tools as a named staff user in tests of the read tools."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from core.errors import CreditDeskError
from db.engine import read_session
from db.models import StaffUser
from tools.context import Actor, ToolContext
from tools.registry import call_tool

# The day hand-built ledgers are read on, whatever the session's business date.
LEDGER_TODAY = date(2026, 11, 16)


def actor(url: str, name: str) -> Actor:
    with read_session(url) as s:
        user = s.scalars(select(StaffUser).where(StaffUser.name == name)).one()
        return Actor.from_user(user)


def ctx_for(url: str, who: str | None = None, today: date = LEDGER_TODAY) -> ToolContext:
    person = actor(url, who) if who else Actor.operator()
    return ToolContext(actor=person, database_url=url, today=today, reporting_currency="USD")


def call(url: str, name: str, who: str | None = None, *, today: date = LEDGER_TODAY, **arguments: Any) -> Any:
    return call_tool(name, arguments, ctx_for(url, who, today))


def refused(
    url: str, name: str, who: str | None = None, *, today: date = LEDGER_TODAY, **arguments: Any
) -> CreditDeskError:
    with pytest.raises(CreditDeskError) as caught:
        call(url, name, who, today=today, **arguments)
    return caught.value
