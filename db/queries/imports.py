"""All SQL of the ERP import: validated records in, upserts by external key out.

The importer (`integrations.importers`) turns a file into an `ImportBatch` of validated records.
`plan_import` compares the batch with the database without writing anything and returns an `ImportPlan`: what
would be created, updated or left unchanged, plus the records that conflict with what is stored (`Problem`).
`apply_plan` then writes the plan. Nothing here commits; the caller owns the one transaction of the import.

Upsert keys: customer.external_id, invoice.number, payment.reference, (payment, invoice) for allocations,
sales_order.number, the customer's current credit limit, and for disputes the invoice plus the shape the import
gives them (reason and opened_at). Only changed columns are written, so a re-import bumps no versions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import Select, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.dates import day_number, utcnow
from core.errors import CreditDeskError, ErrorCode
from core.money import validate_currency
from db.models import (
    CreditLimit,
    Customer,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    OrderStatus,
    Payment,
    PaymentAllocation,
    SalesOrder,
)
from db.models.party import customer_name_key

# Keeps every IN (...) list well below SQLite's bound-parameter limit.
_CHUNK = 500
_ZERO = Decimal(0)
_DERIVED_INVOICE_STATUSES = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PAID})
_ACTIVE_DISPUTE = frozenset({DisputeStatus.OPEN, DisputeStatus.IN_REVIEW})

ENTITIES = ("customers", "invoices", "payments", "allocations", "disputes", "orders", "credit_limits")

Outcome = Literal["created", "updated", "unchanged"]
ProgressCallback = Callable[[str, int, int], None]


def _currency(value: str) -> str:
    try:
        return validate_currency(value)
    except CreditDeskError as error:
        raise ValueError(error.message) from None


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value


Currency = Annotated[str, AfterValidator(_currency)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
DocumentNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ImportRecord(BaseModel):
    """A validated record. `source_lines` says which lines of the file produced it (for error reports)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_lines: tuple[int, ...] = ()


class CustomerRecord(ImportRecord):
    """Only the fields that are set (not None) are written; a blank optional column never clears a value."""

    external_id: ExternalId
    name: Name | None = None
    country: str | None = None
    region: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = None
    industry: ShortText | None = None
    segment: Label | None = None
    currency: Currency | None = None
    payment_terms_days: int | None = None
    contact_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)] | None = None
    contact_email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)] | None = None
    customer_since: date | None = None

    @field_validator("country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise ValueError(f"country {value!r} is not a two-letter ISO 3166 code")
        return code

    @field_validator("payment_terms_days")
    @classmethod
    def _terms_range(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 365:
            raise ValueError(f"payment terms of {value} days are outside 0-365")
        return value

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"{value!r} is not an e-mail address")
        return value.lower() if value else value

    def provided(self) -> dict[str, Any]:
        return self.model_dump(exclude={"source_lines", "external_id"}, exclude_none=True)


class InvoiceRecord(ImportRecord):
    number: DocumentNumber
    customer_external_id: ExternalId
    kind: InvoiceKind = InvoiceKind.INVOICE
    issue_date: date
    due_date: date
    amount: Decimal
    currency: Currency
    po_number: Reference | None = None
    paperless: bool | None = None
    source: Label = "erp"

    @field_validator("due_date")
    @classmethod
    def _due_after_issue(cls, value: date, info: ValidationInfo) -> date:
        issued = info.data.get("issue_date")
        if issued is not None and value < issued:
            raise ValueError(f"due date {value} is before the issue date {issued}")
        return value

    @field_validator("amount")
    @classmethod
    def _amount_sign(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        kind = info.data.get("kind", InvoiceKind.INVOICE)
        if value == 0:
            raise ValueError("an invoice amount must not be zero")
        if kind == InvoiceKind.CREDIT_NOTE and value > 0:
            raise ValueError(f"a credit note's amount must be negative (got {value})")
        if kind == InvoiceKind.INVOICE and value < 0:
            raise ValueError(f"amount must not be negative (got {value}); only credit notes are negative")
        return value


class AllocationRecord(ImportRecord):
    invoice_number: DocumentNumber
    amount: Decimal

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError(f"an applied amount must be positive (got {value})")
        return value


class PaymentRecord(ImportRecord):
    """A payment and the part of it applied to each invoice; allocations are dated on the received date.

    `settles_balance` marks the payment an invoice file derives from a "paid on" date: it pays whatever its one
    invoice still owes after the other payments applied to it, so `amount` is an upper bound (the invoice amount).
    """

    reference: Reference
    customer_external_id: ExternalId | None = None
    received_date: date
    amount: Decimal
    currency: Currency
    method: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)] | None = None
    allocations: tuple[AllocationRecord, ...] = ()
    settles_balance: bool = False

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError(f"a payment amount must be positive (got {value})")
        return value

    @field_validator("allocations")
    @classmethod
    def _within_amount(cls, value: tuple[AllocationRecord, ...], info: ValidationInfo) -> tuple[AllocationRecord, ...]:
        numbers = [allocation.invoice_number for allocation in value]
        if len(set(numbers)) != len(numbers):
            raise ValueError("the payment is applied to the same invoice twice")
        amount = info.data.get("amount")
        applied = sum((allocation.amount for allocation in value), _ZERO)
        if amount is not None and applied > amount:
            raise ValueError(f"the applied amounts ({applied}) exceed the payment amount ({amount})")
        if not value and not info.data.get("customer_external_id"):
            raise ValueError("a payment applied to no invoice needs its customer")
        return value

    @model_validator(mode="after")
    def _one_invoice_settled(self) -> PaymentRecord:
        if self.settles_balance and len(self.allocations) != 1:
            raise ValueError("a settlement pays exactly one invoice")
        return self


class DisputeRecord(ImportRecord):
    invoice_number: DocumentNumber
    reason: DisputeReason = DisputeReason.UNSPECIFIED
    amount: Decimal
    currency: Currency
    opened_at: AwareDatetime
    resolved_at: AwareDatetime | None = None
    resolution: LongText | None = None

    @field_validator("amount")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError(f"a disputed amount must not be negative (got {value})")
        return value

    @field_validator("resolved_at")
    @classmethod
    def _after_opened(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        opened = info.data.get("opened_at")
        if value is not None and opened is not None and value < opened:
            raise ValueError(f"resolved {value.date()} before it was opened ({opened.date()})")
        return value


class OrderRecord(ImportRecord):
    number: DocumentNumber
    customer_external_id: ExternalId
    order_date: date
    requested_ship_date: date | None = None
    amount: Decimal
    open_amount: Decimal | None = None
    currency: Currency
    status: OrderStatus | None = None

    @field_validator("requested_ship_date")
    @classmethod
    def _ship_after_order(cls, value: date | None, info: ValidationInfo) -> date | None:
        ordered = info.data.get("order_date")
        if value is not None and ordered is not None and value < ordered:
            raise ValueError(f"requested ship date {value} is before the order date {ordered}")
        return value

    @field_validator("amount")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError(f"an order amount must not be negative (got {value})")
        return value

    @field_validator("open_amount")
    @classmethod
    def _within_amount(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        amount = info.data.get("amount")
        if value is not None and (value < 0 or (amount is not None and value > amount)):
            raise ValueError(f"the open amount {value} must lie between 0 and the order amount {amount}")
        return value


class CreditLimitRecord(ImportRecord):
    customer_external_id: ExternalId
    amount: Decimal
    currency: Currency
    valid_from: AwareDatetime | None = None
    review_date: date | None = None
    reason: LongText | None = None
    set_by_name: ShortText = "import"
    source: Label = "import"

    @field_validator("amount")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError(f"a credit limit must not be negative (got {value})")
        return value


class ImportBatch(BaseModel):
    customers: list[CustomerRecord] = []
    invoices: list[InvoiceRecord] = []
    payments: list[PaymentRecord] = []
    disputes: list[DisputeRecord] = []
    orders: list[OrderRecord] = []
    credit_limits: list[CreditLimitRecord] = []


class Problem(BaseModel):
    """A record that is valid on its own but conflicts with the database or with the rest of the batch."""

    record: Literal["customer", "invoice", "payment", "allocation", "dispute", "order", "credit_limit"]
    key: str
    field: str | None = None
    value: str | None = None
    reason: str
    source_lines: tuple[int, ...] = ()


class EntityCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Change:
    """One row to insert (`obj` None) or update (only `values` that differ); `refs` are resolved on apply."""

    key: str
    obj: Any | None
    values: dict[str, Any]
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    counted: bool = True

    @property
    def outcome(self) -> Outcome:
        if self.obj is None:
            return "created"
        return "updated" if self.values else "unchanged"


@dataclass
class ImportPlan:
    problems: list[Problem]
    changes: dict[str, list[_Change]]
    ids: dict[str, dict[str, int]]

    def counts(self) -> dict[str, EntityCounts]:
        result = {entity: EntityCounts() for entity in ENTITIES}
        for entity, changes in self.changes.items():
            counts = result[entity]
            for change in changes:
                if change.counted:
                    setattr(counts, change.outcome, getattr(counts, change.outcome) + 1)
        return result


# --- lookups ---------------------------------------------------------------------------------------------

_K = TypeVar("_K", str, int)


def _chunks(keys: Iterable[_K]) -> Iterator[list[_K]]:
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _fetch(session: Session, statement: Callable[[list[_K]], Select[Any]], keys: Iterable[_K], lock: bool) -> list[Any]:
    rows: list[Any] = []
    for chunk in _chunks(keys):
        query = statement(chunk)
        rows.extend(session.scalars(query.with_for_update() if lock else query))
    return rows


def customers_by_external_id(
    session: Session, external_ids: Iterable[str], *, lock: bool = False
) -> dict[str, Customer]:
    found = _fetch(session, lambda chunk: select(Customer).where(Customer.external_id.in_(chunk)), external_ids, lock)
    return {customer.external_id: customer for customer in found}


def customer_external_ids(session: Session, ids: Iterable[int]) -> dict[int, str]:
    result: dict[int, str] = {}
    for chunk in _chunks(ids):
        rows = session.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(chunk)))
        result.update((customer_id, external_id) for customer_id, external_id in rows)
    return result


def invoices_by_number(session: Session, numbers: Iterable[str], *, lock: bool = False) -> dict[str, Invoice]:
    def statement(chunk: list[str]) -> Select[Any]:
        return (
            select(Invoice)
            .where(Invoice.number.in_(chunk))
            .options(selectinload(Invoice.allocations).selectinload(PaymentAllocation.payment))
        )

    return {invoice.number: invoice for invoice in _fetch(session, statement, numbers, lock)}


def payments_by_reference(session: Session, references: Iterable[str], *, lock: bool = False) -> dict[str, Payment]:
    def statement(chunk: list[str]) -> Select[Any]:
        return (
            select(Payment)
            .where(Payment.reference.in_(chunk))
            .options(selectinload(Payment.allocations).selectinload(PaymentAllocation.invoice))
        )

    return {payment.reference: payment for payment in _fetch(session, statement, references, lock)}


def disputes_by_invoice(
    session: Session, invoice_ids: Iterable[int], *, lock: bool = False
) -> dict[int, list[Dispute]]:
    def statement(chunk: list[int]) -> Select[Any]:
        return select(Dispute).where(Dispute.invoice_id.in_(chunk)).order_by(Dispute.id)

    result: dict[int, list[Dispute]] = defaultdict(list)
    for dispute in _fetch(session, statement, invoice_ids, lock):
        if dispute.invoice_id is not None:
            result[dispute.invoice_id].append(dispute)
    return result


def invoice_numbers_in_other_case(session: Session, numbers: Iterable[str]) -> dict[str, str]:
    """{number: stored number} for numbers stored only in another case ("inv-1" when "INV-1" exists): invoice
    numbers are unique regardless of case (ux_invoice_number_upper)."""
    wanted = set(numbers)
    stored: dict[str, str] = {}
    for chunk in _chunks({number.upper() for number in wanted}):
        for number in session.scalars(select(Invoice.number).where(func.upper(Invoice.number).in_(chunk))):
            stored[number.upper()] = number
    return {n: stored[n.upper()] for n in wanted if n.upper() in stored and stored[n.upper()] != n}


def orders_by_number(session: Session, numbers: Iterable[str], *, lock: bool = False) -> dict[str, SalesOrder]:
    found = _fetch(session, lambda chunk: select(SalesOrder).where(SalesOrder.number.in_(chunk)), numbers, lock)
    return {order.number: order for order in found}


def current_credit_limits(
    session: Session, customer_ids: Iterable[int], *, lock: bool = False
) -> dict[int, CreditLimit]:
    def statement(chunk: list[int]) -> Select[Any]:
        return select(CreditLimit).where(CreditLimit.customer_id.in_(chunk), CreditLimit.valid_to.is_(None))

    return {limit.customer_id: limit for limit in _fetch(session, statement, customer_ids, lock)}


# --- planning --------------------------------------------------------------------------------------------


def _diff(obj: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in wanted.items() if getattr(obj, name) != value}


Applied = dict[str, tuple[Decimal, date]]  # counterpart key -> (amount applied, latest applied date)


def _add_applied(applied: Applied, key: str, amount: Decimal, applied_on: date) -> None:
    previous = applied.get(key)
    if previous is None:
        applied[key] = (amount, applied_on)
    else:
        applied[key] = (previous[0] + amount, max(previous[1], applied_on))


def _total(applied: Applied) -> Decimal:
    return sum((amount for amount, _ in applied.values()), _ZERO)


@dataclass
class _InvoiceState:
    """What an invoice will look like after the import, for the allocation arithmetic."""

    number: str
    customer: str
    kind: InvoiceKind
    amount: Decimal
    currency: str
    status: InvoiceStatus
    lines: tuple[int, ...] = ()
    allocations: Applied = field(default_factory=dict)  # by payment reference
    allocation_lines: list[int] = field(default_factory=list)


class _Planner:
    def __init__(self, session: Session, batch: ImportBatch, *, lock: bool) -> None:
        self.session = session
        self.batch = batch
        self.lock = lock
        self.problems: list[Problem] = []
        self.changes: dict[str, list[_Change]] = {entity: [] for entity in ENTITIES}
        self.known_customers: set[str] = set()
        self.rejected_invoices: dict[str, tuple[int, ...]] = {}

    def run(self) -> ImportPlan:
        self._load()
        self._plan_customers()
        states = self._plan_invoices()
        self._plan_payments(states)
        self._plan_invoice_rows(states)
        self._plan_disputes(states)
        self._plan_orders()
        self._plan_credit_limits()
        ids = {
            "customer": {key: customer_id for customer_id, key in self.customer_keys.items()},
            "invoice": {key: obj.id for key, obj in self.invoices.items()},
            "payment": {key: obj.id for key, obj in self.payments.items()},
        }
        return ImportPlan(problems=self.problems, changes=self.changes, ids=ids)

    def _problem(
        self,
        record: Any,
        key: str,
        reason: str,
        lines: Iterable[int],
        field_name: str | None = None,
        value: Any = None,
    ) -> None:
        self.problems.append(
            Problem(
                record=record,
                key=key,
                field=field_name,
                value=None if value is None else str(value),
                reason=reason,
                source_lines=tuple(sorted(set(lines))),
            )
        )

    def _load(self) -> None:
        batch, session, lock = self.batch, self.session, self.lock
        numbers = {record.number for record in batch.invoices}
        numbers |= {allocation.invoice_number for payment in batch.payments for allocation in payment.allocations}
        numbers |= {record.invoice_number for record in batch.disputes}
        self.invoices = invoices_by_number(session, numbers, lock=lock)
        self.invoice_case_clashes = invoice_numbers_in_other_case(session, (r.number for r in batch.invoices))
        self.payments = payments_by_reference(session, (record.reference for record in batch.payments), lock=lock)
        self.orders = orders_by_number(session, (record.number for record in batch.orders), lock=lock)
        external_ids = {record.external_id for record in batch.customers}
        for records in (batch.invoices, batch.orders, batch.credit_limits, batch.payments):
            external_ids |= {r.customer_external_id for r in records if r.customer_external_id is not None}
        self.customers = customers_by_external_id(session, external_ids, lock=lock)
        self.customer_keys = {customer.id: key for key, customer in self.customers.items()}
        owners = {obj.customer_id for objs in (self.invoices, self.payments, self.orders) for obj in objs.values()}
        self.customer_keys.update(customer_external_ids(session, owners - set(self.customer_keys)))
        disputed = {self.invoices[r.invoice_number].id for r in batch.disputes if r.invoice_number in self.invoices}
        self.disputes = disputes_by_invoice(session, disputed, lock=lock)
        limited = {
            self.customers[r.customer_external_id].id
            for r in batch.credit_limits
            if r.customer_external_id in self.customers
        }
        self.limits = current_credit_limits(session, limited, lock=lock)

    def _require_customer(self, record_name: str, key: str, external_id: str, lines: Iterable[int]) -> bool:
        if external_id in self.known_customers:
            return True
        self._problem(
            record_name,
            key,
            f"customer {external_id} does not exist and is not created by this file",
            lines,
            "customer_external_id",
            external_id,
        )
        return False

    def _require_invoice(
        self, record_name: str, key: str, number: str, lines: tuple[int, ...], states: dict[str, _InvoiceState]
    ) -> _InvoiceState | None:
        state = states.get(number)
        if state is not None:
            return state
        rejected = self.rejected_invoices.get(number)
        if rejected is None:
            self._problem(
                record_name,
                key,
                f"invoice {number} does not exist and is not created by this file",
                lines,
                "invoice_number",
                number,
            )
        elif not set(lines) <= set(rejected):
            self._problem(record_name, key, f"invoice {number} is rejected", lines, "invoice_number", number)
        return None

    # customers ---------------------------------------------------------------------------------------------

    def _plan_customers(self) -> None:
        self.known_customers = set(self.customer_keys.values())
        for record in self.batch.customers:
            key = record.external_id
            wanted = record.provided()
            if "name" in wanted:
                wanted["name_key"] = customer_name_key(wanted["name"])
            existing = self.customers.get(key)
            if existing is not None:
                self.changes["customers"].append(_Change(key, existing, _diff(existing, wanted)))
                continue
            missing = [name for name in ("name", "currency") if name not in wanted]
            if missing:
                self._problem(
                    "customer",
                    key,
                    f"customer {key} is not in the database and the file does not give its {' or '.join(missing)}",
                    record.source_lines,
                    missing[0],
                )
                continue
            self.changes["customers"].append(_Change(key, None, {"external_id": key, **wanted}))
            self.known_customers.add(key)

    # invoices ----------------------------------------------------------------------------------------------

    def _plan_invoices(self) -> dict[str, _InvoiceState]:
        states: dict[str, _InvoiceState] = {}
        for number, invoice in self.invoices.items():
            states[number] = stored = _InvoiceState(
                number=number,
                customer=self.customer_keys[invoice.customer_id],
                kind=invoice.kind,
                amount=invoice.amount,
                currency=invoice.currency,
                status=invoice.status,
            )
            for allocation in invoice.allocations:
                _add_applied(
                    stored.allocations, allocation.payment.reference, allocation.amount, allocation.applied_date
                )
        for record in self.batch.invoices:
            state = states.get(record.number)
            allowed = self._require_customer("invoice", record.number, record.customer_external_id, record.source_lines)
            clash = self.invoice_case_clashes.get(record.number)
            if allowed and clash is not None:
                reason = (
                    f"invoice {record.number} differs only in case from invoice {clash} in the database; "
                    "invoice numbers are unique regardless of case"
                )
                self._problem("invoice", record.number, reason, record.source_lines, "number", record.number)
                allowed = False
            if allowed and state is not None:
                allowed = self._invoice_update_allowed(record, state)
            if not allowed:
                states.pop(record.number, None)
                self.rejected_invoices[record.number] = record.source_lines
                continue
            if state is None:
                state = states[record.number] = _InvoiceState(
                    number=record.number,
                    customer=record.customer_external_id,
                    kind=record.kind,
                    amount=record.amount,
                    currency=record.currency,
                    status=InvoiceStatus.OPEN,
                )
            state.kind, state.amount, state.currency = record.kind, record.amount, record.currency
            state.lines = record.source_lines
        return states

    def _invoice_update_allowed(self, record: InvoiceRecord, state: _InvoiceState) -> bool:
        number, lines = record.number, record.source_lines
        if state.customer != record.customer_external_id:
            reason = (
                f"invoice {number} belongs to customer {state.customer} in the database, "
                f"not to {record.customer_external_id}"
            )
            self._problem("invoice", number, reason, lines, "customer_external_id", record.customer_external_id)
            return False
        if state.status not in _DERIVED_INVOICE_STATUSES and state.amount != record.amount:
            reason = f"invoice {number} is {state.status.value}; an import cannot change its amount"
            self._problem("invoice", number, reason, lines, "amount", record.amount)
            return False
        if state.allocations and (state.currency != record.currency or state.kind != record.kind):
            reason = f"invoice {number} already has payments applied; its currency and kind cannot change"
            self._problem("invoice", number, reason, lines, "currency", record.currency)
            return False
        return True

    # payments and allocations ------------------------------------------------------------------------------

    def _plan_payments(self, states: dict[str, _InvoiceState]) -> None:
        for planned in self.batch.payments:
            targets = self._allocation_targets(planned, states)
            customer = self._payment_customer(planned, targets)
            if targets is None or customer is None or not self._allocations_valid(planned, customer, targets):
                continue
            record = self._settled_balance(planned, targets) if planned.settles_balance else planned
            if record is None:
                continue
            existing = self.payments.get(record.reference)
            applied: Applied = {}
            for allocation in existing.allocations if existing else []:
                _add_applied(applied, allocation.invoice.number, allocation.amount, allocation.applied_date)
            applied.update({a.invoice_number: (a.amount, record.received_date) for a in record.allocations})
            unapplied = record.amount - _total(applied)
            if unapplied < 0:
                reason = f"payment {record.reference} would be applied beyond its amount {record.amount}"
                self._problem("payment", record.reference, reason, record.source_lines, "amount", record.amount)
                continue
            wanted: dict[str, Any] = {
                "received_date": record.received_date,
                "received_dn": day_number(record.received_date),
                "amount": record.amount,
                "unapplied_amount": unapplied,
                "currency": record.currency,
            }
            if record.method is not None:
                wanted["method"] = record.method
            if existing is None:
                refs = {"customer_id": ("customer", customer)}
                change = _Change(record.reference, None, {"reference": record.reference, **wanted}, refs=refs)
            else:
                change = _Change(record.reference, existing, _diff(existing, wanted))
            self.changes["payments"].append(change)
            self._plan_allocations(record, existing, targets)

    def _settled_balance(self, record: PaymentRecord, targets: dict[str, _InvoiceState]) -> PaymentRecord | None:
        """The settlement of what its invoice still owes after every other payment applied to it."""
        (allocation,) = record.allocations
        state = targets[allocation.invoice_number]
        others = _total({key: value for key, value in state.allocations.items() if key != record.reference})
        balance = min(record.amount, state.amount - others)
        if balance <= 0:
            reason = (
                f"invoice {allocation.invoice_number} is already paid in full by other payments; "
                "its settlement date cannot be recorded as another payment"
            )
            self._problem(
                "payment", record.reference, reason, record.source_lines, "received_date", record.received_date
            )
            return None
        if balance == record.amount:
            return record
        settled = allocation.model_copy(update={"amount": balance})
        return record.model_copy(update={"amount": balance, "allocations": (settled,)})

    def _allocation_targets(
        self, record: PaymentRecord, states: dict[str, _InvoiceState]
    ) -> dict[str, _InvoiceState] | None:
        targets: dict[str, _InvoiceState] = {}
        for allocation in record.allocations:
            lines = allocation.source_lines or record.source_lines
            state = self._require_invoice("allocation", record.reference, allocation.invoice_number, lines, states)
            if state is not None:
                targets[allocation.invoice_number] = state
        return targets if len(targets) == len(record.allocations) else None

    def _payment_customer(self, record: PaymentRecord, targets: dict[str, _InvoiceState] | None) -> str | None:
        existing = self.payments.get(record.reference)
        stored = self.customer_keys[existing.customer_id] if existing is not None else None
        customer = record.customer_external_id or stored
        if customer is None and targets:
            customer = next(iter(targets.values())).customer
        if customer is None:
            return None
        if stored is not None and stored != customer:
            reason = f"payment {record.reference} belongs to customer {stored} in the database, not to {customer}"
            self._problem("payment", record.reference, reason, record.source_lines, "customer_external_id", customer)
            return None
        if not self._require_customer("payment", record.reference, customer, record.source_lines):
            return None
        return customer

    def _allocations_valid(self, record: PaymentRecord, customer: str, targets: dict[str, _InvoiceState]) -> bool:
        valid = True
        for allocation in record.allocations:
            number, state = allocation.invoice_number, targets[allocation.invoice_number]
            if state.customer != customer:
                reason = f"invoice {number} belongs to customer {state.customer}, not to the paying customer {customer}"
                field_name, value = "invoice_number", number
            elif state.currency != record.currency:
                reason = f"invoice {number} is in {state.currency}; the payment is in {record.currency}"
                field_name, value = "currency", record.currency
            elif state.kind != InvoiceKind.INVOICE:
                reason = f"{number} is a credit note; payments can only be applied to invoices"
                field_name, value = "invoice_number", number
            else:
                continue
            self._problem(
                "allocation",
                record.reference,
                reason,
                allocation.source_lines or record.source_lines,
                field_name,
                value,
            )
            valid = False
        return valid

    def _plan_allocations(
        self, record: PaymentRecord, existing: Payment | None, targets: dict[str, _InvoiceState]
    ) -> None:
        stored: dict[str, list[PaymentAllocation]] = defaultdict(list)
        for row in existing.allocations if existing else []:
            stored[row.invoice.number].append(row)
        for allocation in record.allocations:
            number, lines = allocation.invoice_number, allocation.source_lines or record.source_lines
            key = f"{record.reference}->{number}"
            wanted = {
                "amount": allocation.amount,
                "applied_date": record.received_date,
                "applied_dn": day_number(record.received_date),
            }
            state = targets[number]
            state.allocations[record.reference] = (allocation.amount, record.received_date)
            state.allocation_lines.extend(lines)
            rows = stored.get(number, [])
            if not rows:
                refs = {"payment_id": ("payment", record.reference), "invoice_id": ("invoice", number)}
                self.changes["allocations"].append(_Change(key, None, wanted, refs=refs))
            elif len(rows) == 1:
                self.changes["allocations"].append(_Change(key, rows[0], _diff(rows[0], wanted)))
            elif sum((row.amount for row in rows), _ZERO) == allocation.amount:
                # Applied in several parts earlier, to the same total: the file agrees with the database.
                state.allocations[record.reference] = (allocation.amount, max(row.applied_date for row in rows))
                self.changes["allocations"].append(_Change(key, rows[0], {}))
            else:
                reason = (
                    f"payment {record.reference} is applied to invoice {number} in several parts in the database; "
                    "the import cannot reconcile them"
                )
                self._problem("allocation", record.reference, reason, lines, "amount", allocation.amount)

    # invoice rows, with balances derived from the final allocations ----------------------------------------

    def _plan_invoice_rows(self, states: dict[str, _InvoiceState]) -> None:
        records = {record.number: record for record in self.batch.invoices}
        for number, state in states.items():
            record = records.get(number)
            if record is None and not state.allocation_lines:
                continue
            wanted: dict[str, Any] = {} if record is None else self._invoice_values(record)
            if state.status in _DERIVED_INVOICE_STATUSES:
                balance = self._balance(state)
                if balance is None:
                    continue
                wanted.update(balance)
            existing = self.invoices.get(number)
            if existing is not None:
                self.changes["invoices"].append(_Change(number, existing, _diff(existing, wanted)))
            elif record is not None:
                refs = {"customer_id": ("customer", record.customer_external_id)}
                values = {"number": number, "source": record.source, **wanted}
                self.changes["invoices"].append(_Change(number, None, values, refs=refs))

    @staticmethod
    def _invoice_values(record: InvoiceRecord) -> dict[str, Any]:
        values: dict[str, Any] = {
            "kind": record.kind,
            "issue_date": record.issue_date,
            "due_date": record.due_date,
            "issue_dn": day_number(record.issue_date),
            "due_dn": day_number(record.due_date),
            "amount": record.amount,
            "currency": record.currency,
        }
        for name in ("po_number", "paperless"):
            if getattr(record, name) is not None:
                values[name] = getattr(record, name)
        return values

    def _balance(self, state: _InvoiceState) -> dict[str, Any] | None:
        applied = _total(state.allocations)
        open_amount = state.amount - applied
        if state.kind == InvoiceKind.INVOICE and open_amount < 0:
            reason = f"payments applied to invoice {state.number} ({applied}) would exceed its amount ({state.amount})"
            self._problem(
                "invoice", state.number, reason, [*state.lines, *state.allocation_lines], "amount", state.amount
            )
            return None
        dates = [applied_on for _, applied_on in state.allocations.values()]
        settled = max(dates) if dates and open_amount == 0 else None
        return {
            "open_amount": open_amount,
            "status": InvoiceStatus.PAID if settled is not None else InvoiceStatus.OPEN,
            "settled_date": settled,
            "settled_dn": None if settled is None else day_number(settled),
            "first_paid_dn": day_number(min(dates)) if dates else None,
        }

    # disputes ----------------------------------------------------------------------------------------------

    def _plan_disputes(self, states: dict[str, _InvoiceState]) -> None:
        for record in self.batch.disputes:
            number = record.invoice_number
            state = self._require_invoice("dispute", number, number, record.source_lines, states)
            if state is None:
                continue
            invoice = self.invoices.get(number)
            stored = self.disputes.get(invoice.id, []) if invoice is not None else []
            match = next(
                (d for d in stored if d.reason_code == record.reason and d.opened_at == record.opened_at), None
            )
            if match is not None:
                self.changes["disputes"].append(_Change(number, match, _diff(match, _dispute_values(record, match))))
            elif stored:
                # A dispute on this invoice is already on file (perhaps worked by a collector): the flag adds nothing.
                self.changes["disputes"].append(_Change(number, stored[0], {}))
            else:
                values = {"reason_code": record.reason, "opened_at": record.opened_at, **_dispute_values(record, None)}
                refs = {"customer_id": ("customer", state.customer), "invoice_id": ("invoice", number)}
                self.changes["disputes"].append(_Change(number, None, values, refs=refs))

    # sales orders and credit limits ------------------------------------------------------------------------

    def _plan_orders(self) -> None:
        for record in self.batch.orders:
            number, lines = record.number, record.source_lines
            if not self._require_customer("order", number, record.customer_external_id, lines):
                continue
            wanted: dict[str, Any] = {
                "order_date": record.order_date,
                "amount": record.amount,
                "currency": record.currency,
            }
            for name in ("requested_ship_date", "open_amount", "status"):
                if getattr(record, name) is not None:
                    wanted[name] = getattr(record, name)
            existing = self.orders.get(number)
            if existing is None:
                values = {"number": number, "open_amount": record.amount, **wanted}
                refs = {"customer_id": ("customer", record.customer_external_id)}
                self.changes["orders"].append(_Change(number, None, values, refs=refs))
                continue
            owner = self.customer_keys[existing.customer_id]
            if owner != record.customer_external_id:
                reason = (
                    f"order {number} belongs to customer {owner} in the database, not to {record.customer_external_id}"
                )
                self._problem("order", number, reason, lines, "customer_external_id", record.customer_external_id)
            elif wanted.get("open_amount", existing.open_amount) > record.amount:
                reason = f"order {number} has {existing.open_amount} not yet invoiced, more than the new amount"
                self._problem("order", number, reason, lines, "amount", record.amount)
            else:
                self.changes["orders"].append(_Change(number, existing, _diff(existing, wanted)))

    def _plan_credit_limits(self) -> None:
        now = utcnow()
        for record in self.batch.credit_limits:
            key = record.customer_external_id
            if not self._require_customer("credit_limit", key, key, record.source_lines):
                continue
            customer = self.customers.get(key)
            if customer is not None and customer.currency != record.currency:
                reason = f"customer {key} is kept in {customer.currency}; a limit in {record.currency} is refused"
                self._problem("credit_limit", key, reason, record.source_lines, "currency", record.currency)
                continue
            current = self.limits.get(customer.id) if customer is not None else None
            if current is not None and current.amount == record.amount and current.currency == record.currency:
                self.changes["credit_limits"].append(_Change(key, current, {}))
                continue
            valid_from = record.valid_from or now
            if current is not None and valid_from < current.valid_from:
                reason = (
                    f"the new limit would start on {valid_from.date()}, "
                    f"before the current one ({current.valid_from.date()})"
                )
                self._problem("credit_limit", key, reason, record.source_lines, "valid_from", valid_from.date())
                continue
            values = {
                "amount": record.amount,
                "currency": record.currency,
                "valid_from": valid_from,
                "set_by_name": record.set_by_name,
                "reason": record.reason,
                "review_date": record.review_date,
                "source": record.source,
            }
            refs = {"customer_id": ("customer", key)}
            if current is None:
                self.changes["credit_limits"].append(_Change(key, None, values, refs=refs))
            else:
                # Limit rows are never edited: close the current period and open a new one.
                self.changes["credit_limits"].append(_Change(key, current, {"valid_to": valid_from}))
                self.changes["credit_limits"].append(_Change(key, None, values, refs=refs, counted=False))


def _dispute_values(record: DisputeRecord, existing: Dispute | None) -> dict[str, Any]:
    wanted: dict[str, Any] = {"amount": record.amount, "currency": record.currency}
    if record.resolved_at is not None:
        wanted.update(status=DisputeStatus.RESOLVED, resolved_at=record.resolved_at, resolution=record.resolution)
    elif existing is None or existing.status not in _ACTIVE_DISPUTE:
        # The invoice is unsettled, so its dispute is open; one that is already being worked keeps its status.
        wanted.update(status=DisputeStatus.OPEN, resolved_at=None, resolution=None)
    return wanted


def plan_import(session: Session, batch: ImportBatch, *, lock: bool = True) -> ImportPlan:
    """Compare `batch` with the database, writing nothing. `lock` row-locks what a following `apply_plan` changes."""
    return _Planner(session, batch, lock=lock).run()


_MODELS: dict[str, type[Any]] = {
    "customers": Customer,
    "invoices": Invoice,
    "payments": Payment,
    "allocations": PaymentAllocation,
    "disputes": Dispute,
    "orders": SalesOrder,
    "credit_limits": CreditLimit,
}
# Entities whose new rows are referenced by later ones, with the key they are looked up by.
_REFERENCED: dict[str, tuple[str, Any]] = {
    "customers": ("customer", Customer.external_id),
    "invoices": ("invoice", Invoice.number),
    "payments": ("payment", Payment.reference),
}


def _ids_by_key(session: Session, key_column: Any, keys: Iterable[str]) -> dict[str, int]:
    model = key_column.class_
    result: dict[str, int] = {}
    for chunk in _chunks(keys):
        rows = session.execute(select(key_column, model.id).where(key_column.in_(chunk)))
        result.update((key, row_id) for key, row_id in rows)
    return result


def apply_plan(session: Session, plan: ImportPlan, *, progress: ProgressCallback | None = None) -> None:
    """Write a plan without problems, entity by entity, so that later rows can reference earlier new ones.

    New rows go in as one bulk INSERT per entity (an executemany, without RETURNING, which psycopg pipelines);
    their ids are then read back by external key. Updates go through the ORM, which bumps row versions.
    """
    if plan.problems:
        raise ValueError("a plan with problems must not be applied")
    ids = {kind: dict(keys) for kind, keys in plan.ids.items()}
    total = sum(len(changes) for changes in plan.changes.values())
    done = 0
    for entity in ENTITIES:
        model = _MODELS[entity]
        rows: list[dict[str, Any]] = []
        for change in plan.changes[entity]:
            if change.obj is None:
                refs = {column: ids[kind][key] for column, (kind, key) in change.refs.items()}
                rows.append({**change.values, **refs})
            else:
                for name, value in change.values.items():
                    setattr(change.obj, name, value)
        try:
            session.flush()
            if rows:
                session.execute(insert(model), rows)
        except IntegrityError:
            raise CreditDeskError(
                ErrorCode.CONFLICT,
                "the database changed while the file was being imported; nothing was imported, please run it again",
            ) from None
        referenced = _REFERENCED.get(entity)
        if referenced is not None and rows:
            kind, key_column = referenced
            created = [change.key for change in plan.changes[entity] if change.obj is None]
            ids[kind].update(_ids_by_key(session, key_column, created))
        done += len(plan.changes[entity])
        if progress is not None:
            progress("writing", done, total)
