"""draft_dunning_message: every demo customer against an independent reading of the raw rows (levels, interest,
fees, credits, disputes, promises) at two as-of dates, and handcrafted edge cases: pre-due level 0, credit-note
deduction, nothing open, a fully disputed balance, promises (soften and suppress), letter spacing, overrides,
rendering and visibility. Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings, reset_settings
from db.engine import read_session, write_session
from db.models import (
    ActivityKind,
    ActivityOutcome,
    CollectionActivity,
    Customer,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PaymentAllocation,
    PromiseStatus,
    PromiseToPay,
    Role,
    StaffUser,
)
from tests.conftest import DEMO_AS_OF
from tools.context import Actor, ToolContext
from tools.dunning import DunningDraft
from tools.registry import call_tool

AS_OF = date(2026, 9, 30)
CENT = Decimal("0.01")
POLICY_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "policies" / "policy.yaml"


def _eod(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=UTC)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _dn(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _operator(url: str) -> ToolContext:
    return ToolContext(actor=Actor.operator(), database_url=url, today=AS_OF)


def _draft(url: str, **arguments: Any) -> DunningDraft:
    result = call_tool("draft_dunning_message", arguments, _operator(url))
    assert isinstance(result, DunningDraft)
    return result


# --- an independent reading of the raw rows (plain python over the tables; no tool or query helpers) ---------


@dataclass
class Expected:
    currency: str
    items: dict[str, tuple[int, Decimal, Decimal]] = field(default_factory=dict)  # number -> level, open, interest
    credits: Decimal = Decimal("0.00")
    disputed: dict[str, int] = field(default_factory=dict)  # number -> dispute id
    softened: bool = False
    level: int | None = None
    fee: Decimal = Decimal("0.00")

    @property
    def principal(self) -> Decimal:
        return sum((open_ for _, open_, _ in self.items.values()), Decimal("0.00"))

    @property
    def interest(self) -> Decimal:
        return sum((interest for _, _, interest in self.items.values()), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee - self.credits

    @property
    def should_send(self) -> bool:
        return bool(self.items) and self.total > 0


def _policy_numbers() -> dict[str, Any]:
    return yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))


def _open_at(session: Session, as_of: date) -> list[tuple[Any, Decimal]]:
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for invoice_id, amount, applied in session.execute(
        select(PaymentAllocation.invoice_id, PaymentAllocation.amount, PaymentAllocation.applied_date)
    ):
        if applied <= as_of:
            paid[invoice_id] += amount
    rows = []
    for invoice in session.execute(
        select(
            Invoice.id,
            Invoice.customer_id,
            Invoice.number,
            Invoice.kind,
            Invoice.currency,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.amount,
            Invoice.settled_date,
        )
    ):
        if invoice.issue_date > as_of or (invoice.settled_date is not None and invoice.settled_date <= as_of):
            continue
        open_amount = invoice.amount - paid[invoice.id]
        if open_amount != 0:
            rows.append((invoice, open_amount))
    return rows


def reference(session: Session, as_of: date) -> dict[int, Expected]:
    policy = _policy_numbers()
    dunning = policy["dunning"]
    levels = sorted(dunning["levels"], key=lambda level: level["days_from_due"])
    rate = Decimal(str(dunning["late_interest"]["annual_rate_pct"]))
    interest_from = dunning["late_interest"]["from_level"]
    grace = policy["promises"]["grace_days"]
    moment = _eod(as_of)
    currency = {row.id: row.currency for row in session.execute(select(Customer.id, Customer.currency))}
    disputes = {
        row.invoice_id: row.id
        for row in session.execute(select(Dispute.id, Dispute.invoice_id, Dispute.opened_at, Dispute.resolved_at))
        if row.invoice_id is not None
        and row.opened_at <= moment
        and (row.resolved_at is None or row.resolved_at > moment)
    }
    promises: dict[int, list[Any]] = defaultdict(list)
    for promise in session.execute(select(PromiseToPay)).scalars():
        open_then = promise.taken_at <= moment and (promise.resolved_at is None or promise.resolved_at > moment)
        live = promise.promised_date + timedelta(days=grace) >= as_of
        if open_then and promise.status != PromiseStatus.CANCELLED and live:
            promises[promise.customer_id].append(promise)

    expected = {customer_id: Expected(currency=code) for customer_id, code in currency.items()}
    for invoice, open_amount in _open_at(session, as_of):
        exp = expected[invoice.customer_id]
        if invoice.currency != exp.currency:
            continue
        if invoice.kind == InvoiceKind.CREDIT_NOTE or open_amount < 0:
            exp.credits += -open_amount
            continue
        if invoice.id in disputes:
            exp.disputed[invoice.number] = disputes[invoice.id]
            continue
        days = (as_of - invoice.due_date).days
        reached = [level["level"] for level in levels if days >= level["days_from_due"]]
        if not reached:
            continue
        covered = any(p.invoice_id in (None, invoice.id) for p in promises[invoice.customer_id])
        exp.softened |= covered
        exp.items[invoice.number] = (reached[-1], open_amount, Decimal(days))
    for exp in expected.values():
        if not exp.items:
            continue
        exp.level = max(level for level, _, _ in exp.items.values())
        exp.fee = Decimal(str(levels[exp.level]["fee"])).quantize(CENT)
        for number, (level, open_amount, days) in exp.items.items():
            charged = level >= interest_from and exp.level >= interest_from
            interest = _cents(open_amount * rate / 100 / 365 * days) if charged else Decimal("0.00")
            exp.items[number] = (level, open_amount, interest)
    return expected


@pytest.mark.parametrize("as_of", [DEMO_AS_OF, date(2026, 6, 30)])
def test_every_demo_customer_matches_an_independent_reading(demo_db_url: str, as_of: date) -> None:
    with read_session(demo_db_url) as session:
        expected = reference(session, as_of)
    tones = {level["level"]: level["tone"] for level in _policy_numbers()["dunning"]["levels"]}
    sent = 0
    for customer_id, exp in sorted(expected.items()):
        draft = _draft(demo_db_url, customer=customer_id, as_of=as_of.isoformat())
        assert draft.should_send == exp.should_send, (customer_id, draft.reason)
        assert {i.number: (i.level, i.open_amount, i.interest) for i in draft.items} == exp.items, customer_id
        assert draft.totals.credits == exp.credits
        disputed = {e.number: e.dispute_id for e in draft.excluded if e.reason_code == "disputed"}
        assert disputed == exp.disputed, customer_id
        assert not set(exp.disputed) & {item.number for item in draft.items}
        if not exp.should_send:
            assert draft.subject is None and draft.body is None and draft.level is None
            continue
        sent += 1
        assert draft.level == exp.level
        assert draft.tone == ("friendly" if exp.softened else tones[exp.level])
        assert draft.totals.principal == exp.principal
        assert draft.totals.interest == exp.interest
        assert draft.totals.fees == exp.fee
        assert draft.totals.total_due == exp.total
        assert draft.body is not None
        for number in exp.items:
            assert number in draft.body
        for number in exp.disputed:
            assert number not in draft.body
    assert sent >= 10, "the demo portfolio should have letters to draft"


def test_disputed_invoices_never_appear_in_any_demo_draft(demo_db_url: str) -> None:
    with read_session(demo_db_url) as session:
        ever_disputed = {
            row.number: row.customer_id
            for row in session.execute(select(Invoice.number, Invoice.customer_id).join(Dispute))
        }
        active = set(
            session.scalars(
                select(Invoice.number)
                .join(Dispute)
                .where(Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.IN_REVIEW]))
            )
        )
    assert active, "the demo portfolio has active disputes"
    for customer_id in sorted(set(ever_disputed.values())):
        draft = _draft(demo_db_url, customer=customer_id)
        assert not active & {item.number for item in draft.items}
        assert not any(number in (draft.body or "") for number in active)


def test_initech_fully_disputed_balance_gives_no_letter(demo_db_url: str) -> None:
    draft = _draft(demo_db_url, customer="Initech Ltd")
    assert not draft.should_send
    assert "dispute" in draft.reason
    assert draft.items == []
    assert draft.excluded and all(e.reason_code == "disputed" and e.dispute_id for e in draft.excluded)


def _staff_user(url: str, name: str) -> StaffUser:
    with read_session(url) as session:
        user = session.scalars(select(StaffUser).where(StaffUser.name == name)).one()
        session.expunge(user)
        return user


def test_collector_sees_only_their_own_book(demo_db_url: str) -> None:
    casey = _staff_user(demo_db_url, "casey")
    with read_session(demo_db_url) as session:
        own = session.scalar(select(func.min(Customer.id)).where(Customer.collector_id == casey.id))
        other = session.scalar(select(func.min(Customer.id)).where(Customer.collector_id != casey.id))
    ctx = ToolContext(actor=Actor.from_user(casey), database_url=demo_db_url, today=AS_OF)
    assert isinstance(call_tool("draft_dunning_message", {"customer": own}, ctx), DunningDraft)
    with pytest.raises(CreditDeskError) as error:
        call_tool("draft_dunning_message", {"customer": other}, ctx)
    assert error.value.code == ErrorCode.NOT_FOUND  # outside the book reads as not found


def test_sales_may_not_draft_letters(demo_db_url: str) -> None:
    ctx = ToolContext(actor=Actor.from_user(_staff_user(demo_db_url, "sam")), database_url=demo_db_url, today=AS_OF)
    with pytest.raises(CreditDeskError) as error:
        call_tool("draft_dunning_message", {"customer": 1}, ctx)
    assert error.value.code == ErrorCode.FORBIDDEN


# --- handcrafted books --------------------------------------------------------------------------------------------


class Book:
    """Builds one customer's ledger in a fresh database through the ORM."""

    def __init__(self, url: str) -> None:
        self.url = url
        with write_session(url) as session:
            collector = StaffUser(name="casey", full_name="Casey Brooks", role=Role.COLLECTOR)
            session.add(collector)
            session.flush()
            customer = Customer(
                external_id="C900001",
                name="Edge Case Ltd",
                name_key="edge case",
                currency="USD",
                payment_terms_days=30,
                collector_id=collector.id,
                contact_name="Pat Payer",
                contact_email="pat@edge.example",
            )
            session.add(customer)
            session.flush()
            self.customer_id = customer.id
            self.collector_id = collector.id
        self._serial = 0

    def invoice(self, days_past_due: int, amount: str, *, open_amount: str | None = None) -> tuple[int, str]:
        due = AS_OF - timedelta(days=days_past_due)
        issue = due - timedelta(days=30)
        return self._item(InvoiceKind.INVOICE, issue, due, Decimal(amount), Decimal(open_amount or amount))

    def credit_note(self, amount: str) -> tuple[int, str]:
        issue = AS_OF - timedelta(days=10)
        return self._item(InvoiceKind.CREDIT_NOTE, issue, issue, -Decimal(amount), -Decimal(amount))

    def _item(self, kind: InvoiceKind, issue: date, due: date, amount: Decimal, open_: Decimal) -> tuple[int, str]:
        self._serial += 1
        number = f"{'CN' if kind == InvoiceKind.CREDIT_NOTE else 'INV'}-T-{self._serial:04d}"
        with write_session(self.url) as session:
            invoice = Invoice(
                customer_id=self.customer_id,
                number=number,
                kind=kind,
                issue_date=issue,
                due_date=due,
                issue_dn=_dn(issue),
                due_dn=_dn(due),
                amount=amount,
                open_amount=open_,
                currency="USD",
                status=InvoiceStatus.OPEN,
            )
            session.add(invoice)
            session.flush()
            return invoice.id, number

    def dispute(self, invoice_id: int, *, opened_days_ago: int = 5, resolved_days_ago: int | None = None) -> int:
        with write_session(self.url) as session:
            dispute = Dispute(
                customer_id=self.customer_id,
                invoice_id=invoice_id,
                reason_code=DisputeReason.PRICING,
                amount=Decimal("100.00"),
                currency="USD",
                status=DisputeStatus.OPEN if resolved_days_ago is None else DisputeStatus.RESOLVED,
                opened_at=_noon(AS_OF - timedelta(days=opened_days_ago)),
                resolved_at=None if resolved_days_ago is None else _noon(AS_OF - timedelta(days=resolved_days_ago)),
            )
            session.add(dispute)
            session.flush()
            return dispute.id

    def promise(self, invoice_id: int | None, amount: str, promised: date, *, taken_days_ago: int = 2) -> int:
        with write_session(self.url) as session:
            promise = PromiseToPay(
                customer_id=self.customer_id,
                invoice_id=invoice_id,
                amount=Decimal(amount),
                currency="USD",
                promised_date=promised,
                promised_dn=_dn(promised),
                taken_at=_noon(AS_OF - timedelta(days=taken_days_ago)),
                status=PromiseStatus.OPEN,
            )
            session.add(promise)
            session.flush()
            return promise.id

    def letter_sent(self, days_ago: int, level: int) -> None:
        with write_session(self.url) as session:
            session.add(
                CollectionActivity(
                    customer_id=self.customer_id,
                    kind=ActivityKind.DUNNING,
                    dunning_level=level,
                    outcome=ActivityOutcome.SENT,
                    performed_at=_noon(AS_OF - timedelta(days=days_ago)),
                )
            )

    def draft(self, **arguments: Any) -> DunningDraft:
        return _draft(self.url, customer=self.customer_id, **arguments)


@pytest.fixture
def book(db_url: str) -> Book:
    return Book(db_url)


def test_no_open_items_is_a_clear_result(book: Book) -> None:
    draft = book.draft()
    assert not draft.should_send
    assert "No open items" in draft.reason
    assert draft.subject is None and draft.items == [] and draft.excluded == []
    assert draft.totals.total_due == 0
    assert draft.definitions and draft.policy_version


def test_pre_due_level_zero_and_not_yet_due(book: Book) -> None:
    book.invoice(-3, "1200.00")  # due in three days: pre-due reminder
    book.invoice(0, "300.00")  # due today: still pre-due
    _, later = book.invoice(-10, "999.00")  # due in ten days: not yet
    draft = book.draft()
    assert draft.should_send
    assert draft.level == 0 and draft.tone == "friendly" and draft.channel == "email"
    assert [item.days_past_due for item in draft.items] == [0, -3]  # oldest due first
    assert all(item.interest == 0 for item in draft.items)
    assert draft.totals.total_due == Decimal("1500.00") and draft.totals.fees == 0
    assert [(e.number, e.reason_code) for e in draft.excluded] == [(later, "not_yet_due")]
    assert draft.subject is not None and draft.subject.startswith("Upcoming payment")
    assert draft.body is not None and "due in 3d" in draft.body and "due today" in draft.body
    assert later not in draft.body


def test_levels_interest_and_one_fee_per_letter(book: Book) -> None:
    _, second = book.invoice(20, "1000.00")  # level 2: no interest
    _, final = book.invoice(40, "2500.00", open_amount="2000.00")  # level 3, partly paid
    _, pre_collection = book.invoice(75, "730.00")  # level 4
    draft = book.draft()
    by_number = {item.number: item for item in draft.items}
    assert (by_number[second].level, by_number[final].level, by_number[pre_collection].level) == (2, 3, 4)
    assert draft.level == 4 and draft.level_name == "pre-collection notice"
    assert draft.tone == "final" and draft.channel == "letter"
    assert draft.send_requires_role == "credit_analyst"
    # 8 % a year, simple, per invoice, rounded to the cent: 2000 x 0.08 / 365 x 40 and 730 x 0.08 / 365 x 75
    assert by_number[second].interest == Decimal("0.00")
    assert by_number[final].interest == Decimal("17.53")
    assert by_number[pre_collection].interest == Decimal("12.00")
    assert by_number[final].open_amount == Decimal("2000.00")
    assert draft.totals.principal == Decimal("3730.00")
    assert draft.totals.interest == Decimal("29.53")
    assert draft.totals.fees == Decimal("70.00")
    assert draft.totals.total_due == Decimal("3829.53")
    assert draft.body is not None and "3,829.53" in draft.body


def test_credit_notes_are_deducted(book: Book) -> None:
    book.invoice(20, "1000.00")
    _, credit = book.credit_note("150.25")
    draft = book.draft()
    assert draft.should_send and draft.level == 2
    assert [(c.number, c.amount) for c in draft.credits] == [(credit, Decimal("150.25"))]
    assert draft.totals.credits == Decimal("150.25")
    assert draft.totals.total_due == Decimal("849.75")
    assert draft.body is not None and "Less open credit notes" in draft.body and credit in draft.body
    book.credit_note("900.00")  # now the credits cover everything due
    covered = book.draft()
    assert not covered.should_send and covered.body is None
    assert "credit notes" in covered.reason
    assert covered.totals.credits == Decimal("1050.25")


def test_fully_disputed_balance(book: Book) -> None:
    first_id, first = book.invoice(20, "1000.00")
    second_id, second = book.invoice(45, "500.00")
    disputes = {first: book.dispute(first_id), second: book.dispute(second_id)}
    draft = book.draft()
    assert not draft.should_send
    assert "dispute" in draft.reason
    assert {e.number: (e.reason_code, e.dispute_id) for e in draft.excluded} == {
        number: ("disputed", dispute_id) for number, dispute_id in disputes.items()
    }


def test_disputes_count_only_while_active_at_the_as_of_date(book: Book) -> None:
    resolved_id, resolved = book.invoice(20, "1000.00")
    later_id, later = book.invoice(25, "400.00")
    book.dispute(resolved_id, opened_days_ago=30, resolved_days_ago=10)  # closed before the as-of date
    book.dispute(later_id, opened_days_ago=3)
    draft = book.draft()
    assert [item.number for item in draft.items] == [resolved]
    assert [e.number for e in draft.excluded] == [later]
    # A week earlier, the first dispute was still open and the second not yet opened.
    earlier = book.draft(as_of=(AS_OF - timedelta(days=12)).isoformat())
    assert [item.number for item in earlier.items] == [later]
    assert [e.number for e in earlier.excluded] == [resolved]


def test_open_promise_softens_the_letter(book: Book) -> None:
    promised_id, promised = book.invoice(40, "2000.00")
    book.invoice(20, "500.00")
    promise_id = book.promise(promised_id, "2000.00", AS_OF + timedelta(days=5))
    draft = book.draft()
    assert draft.should_send and draft.level == 3
    assert draft.tone == "friendly" and draft.tone_source == "softened_for_promise"
    assert {item.number: item.promise_id for item in draft.items}[promised] == promise_id
    assert [p.promise_id for p in draft.promises] == [promise_id]
    assert draft.body is not None
    assert "promise to pay USD 2,000.00 by 2026-10-05" in draft.body
    assert f"{promised}*" in draft.body


@pytest.fixture
def suppress_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    text = POLICY_FILE.read_text(encoding="utf-8").replace("promise_open: soften", "promise_open: suppress")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CREDITDESK_POLICY_FILE", str(path))
    reset_settings()
    assert get_settings().resolved_policy_file == path
    yield
    monkeypatch.delenv("CREDITDESK_POLICY_FILE")
    reset_settings()


@pytest.mark.usefixtures("suppress_policy")
def test_open_promise_suppresses_its_invoice(book: Book) -> None:
    promised_id, promised = book.invoice(40, "2000.00")
    _, other = book.invoice(20, "500.00")
    promise_id = book.promise(promised_id, "2000.00", AS_OF + timedelta(days=5))
    draft = book.draft()
    assert draft.should_send
    assert [item.number for item in draft.items] == [other]
    assert draft.level == 2 and draft.tone == "firm"
    assert [(e.number, e.reason_code, e.promise_id) for e in draft.excluded] == [(promised, "promise_open", promise_id)]


@pytest.mark.usefixtures("suppress_policy")
def test_customer_level_promise_suppresses_the_letter(book: Book) -> None:
    book.invoice(40, "2000.00")
    book.invoice(20, "500.00")
    promise_id = book.promise(None, "2500.00", AS_OF + timedelta(days=7))
    draft = book.draft()
    assert not draft.should_send
    assert f"#{promise_id}" in draft.reason and "suppress" in draft.reason
    assert {e.reason_code for e in draft.excluded} == {"promise_open"}
    assert draft.body is None


def test_lapsed_promise_covers_nothing(book: Book) -> None:
    invoice_id, _ = book.invoice(40, "2000.00")
    promise_id = book.promise(invoice_id, "2000.00", AS_OF - timedelta(days=10), taken_days_ago=20)
    draft = book.draft()
    assert draft.tone == "final" and draft.promises == []
    assert any(f"#{promise_id}" in warning for warning in draft.warnings)


def test_recent_letter_warns_but_still_drafts(book: Book) -> None:
    book.invoice(20, "1000.00")
    book.letter_sent(days_ago=8, level=1)
    assert not any("between letters" in warning for warning in book.draft().warnings)
    book.letter_sent(days_ago=3, level=1)  # the latest letter counts
    draft = book.draft()
    assert draft.should_send
    assert draft.last_letter is not None and draft.last_letter.days_ago == 3 and draft.last_letter.level == 1
    assert any("7 days between letters" in warning for warning in draft.warnings)


def test_level_and_tone_overrides(book: Book) -> None:
    book.invoice(20, "1000.00")  # level 2 on its own
    draft = book.draft(level=3)
    assert draft.level == 3 and draft.level_source == "override" and draft.tone == "final"
    assert draft.totals.fees == Decimal("40.00")
    assert draft.totals.interest == 0, "the invoice itself is below the interest level"
    assert any("above the level" in warning for warning in draft.warnings)
    toned = book.draft(tone="friendly")
    assert toned.level == 2 and toned.tone == "friendly" and toned.tone_source == "override"
    with pytest.raises(CreditDeskError) as error:
        book.draft(level=9)
    assert error.value.code == ErrorCode.INVALID_INPUT
    with pytest.raises(CreditDeskError) as error:
        book.draft(tone="furious")
    assert error.value.code == ErrorCode.INVALID_INPUT


def test_rendered_letter_has_every_part(book: Book) -> None:
    _, first = book.invoice(20, "1000.00")
    _, second = book.invoice(3, "250.50")
    draft = book.draft()
    assert draft.to_name == "Pat Payer" and draft.to_email == "pat@edge.example"
    assert draft.subject == "Second reminder: overdue balance of USD 1,250.50 - Edge Case Ltd"
    body = draft.body
    assert body is not None
    assert body.startswith("Dear Pat Payer,")
    assert "Invoice" in body and "Days overdue" in body and "Open amount" in body and "Interest" in body
    assert first in body and second in body
    assert "Total due" in body and "1,250.50" in body
    assert "[PAYMENT DETAILS" in body
    assert "our final notice follows once invoices are 30 days past due, with a fee of USD 40.00" in body
    assert "referred to a collection agency" in body
    assert body.rstrip().endswith("Casey Brooks\nCredit Control team")
