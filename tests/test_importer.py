"""ERP import: the IBM sample against an independent reading of the file, the dirty copy, idempotence, dry
runs, corrections, the generic mappings (CSV and Excel) and bad mappings. Every database test runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from core.dates import day_number
from core.errors import CreditDeskError, ErrorCode
from db.base import Base
from db.engine import read_session
from db.models import (
    AuditEvent,
    CreditLimit,
    Customer,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    SalesOrder,
)
from integrations.importers import ImportReport, import_file, list_mappings, load_mapping
from integrations.importers.mapping import parse_mapping
from tests.support.paths import EXTERNAL_DATA

DATA = EXTERNAL_DATA
IBM = DATA / "ibm_ar_late_payments.csv"
IBM_DIRTY = DATA / "ibm_ar_late_payments_dirty.csv"

# --- an independent reading of the IBM sample (csv module, Decimal; no importer code) -----------------------


def _us_date(text: str) -> date:
    month, day, year = (int(part) for part in text.split("/"))
    return date(year, month, day)


@dataclass(frozen=True)
class IbmExpectations:
    invoices: dict[str, dict[str, str]]  # by zero-padded invoice number
    customers: dict[str, str]  # customerID -> countryCode
    total: Decimal
    per_customer: dict[str, Decimal]
    disputed: int
    electronic: int


def read_ibm(path: Path) -> IbmExpectations:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    invoices = {row["invoiceNumber"].zfill(10): row for row in rows}
    assert len(invoices) == len(rows), "the sample has unique invoice numbers"
    per_customer: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        per_customer[row["customerID"]] += Decimal(row["InvoiceAmount"])
    return IbmExpectations(
        invoices=invoices,
        customers={row["customerID"]: row["countryCode"] for row in rows},
        total=sum((Decimal(row["InvoiceAmount"]) for row in rows), Decimal(0)),
        per_customer=dict(per_customer),
        disputed=sum(row["Disputed"] == "Yes" for row in rows),
        electronic=sum(row["PaperlessBill"] == "Electronic" for row in rows),
    )


@pytest.fixture(scope="module")
def ibm() -> IbmExpectations:
    if not IBM.is_file():
        pytest.skip(f"{IBM} is not available")
    return read_ibm(IBM)


def test_independent_reading_agrees_with_the_documented_sample(ibm: IbmExpectations) -> None:
    # SOURCES.md: 2,466 invoices of 100 customers, 561 disputed, total 147,703.18.
    assert (len(ibm.invoices), len(ibm.customers), ibm.disputed, ibm.total) == (2466, 100, 561, Decimal("147703.18"))


# --- database helpers -------------------------------------------------------------------------------------


AUDIT_TABLES = frozenset({"audit_event", "audit_head"})


def db_digest(url: str) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row of every business table: equal digests mean no data changed. The audit
    trail is left out on purpose: every import, even one that changes nothing, is itself recorded there."""
    digest = {}
    with read_session(url) as session:
        for table in Base.metadata.sorted_tables:
            if table.name in AUDIT_TABLES:
                continue
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return digest


def import_audit_count(url: str) -> int:
    with read_session(url) as session:
        return int(session.scalar(select(func.count()).where(AuditEvent.event == "data.imported")) or 0)


def count(url: str, model: Any) -> int:
    with read_session(url) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def counts_of(report: ImportReport) -> dict[str, tuple[int, int, int]]:
    return {
        entity: (c.created, c.updated, c.unchanged)
        for entity, c in report.counts.items()
        if c.created or c.updated or c.unchanged
    }


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def rejection(call: Any) -> CreditDeskError:
    with pytest.raises(CreditDeskError) as caught:
        call()
    assert caught.value.code == ErrorCode.IMPORT_REJECTED, caught.value.message
    return caught.value


def errors_by_line(error: CreditDeskError) -> dict[int, list[dict[str, Any]]]:
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in error.details["errors"]:
        result[item["line"]].append(item)
    return result


# --- the IBM sample ---------------------------------------------------------------------------------------


def test_ibm_sample_matches_an_independent_reading_of_the_file(db_url: str, ibm: IbmExpectations) -> None:
    report = import_file(IBM, "ibm-ar", url=db_url)

    n = len(ibm.invoices)
    assert (report.rows_read, report.rows_imported, report.rows_rejected, report.errors) == (n, n, 0, [])
    assert counts_of(report) == {
        "customers": (len(ibm.customers), 0, 0),
        "invoices": (n, 0, 0),
        "payments": (n, 0, 0),
        "allocations": (n, 0, 0),
        "disputes": (ibm.disputed, 0, 0),
    }
    with read_session(db_url) as session:
        customers = {c.external_id: c for c in session.scalars(select(Customer))}
        assert {key: c.region for key, c in customers.items()} == ibm.customers
        for key, customer in customers.items():
            assert customer.name == f"IBM sample customer {key}"
            assert customer.name_key == f"ibm sample customer {key.casefold().replace('-', ' ')}"
            assert (customer.currency, customer.payment_terms_days, customer.collector_id) == ("USD", 30, None)

        invoices = {i.number: i for i in session.scalars(select(Invoice))}
        assert set(invoices) == set(ibm.invoices)
        assert session.scalar(select(func.sum(Invoice.amount))) == ibm.total
        assert session.scalar(select(func.sum(Invoice.open_amount))) == 0
        assert session.scalar(select(func.sum(Payment.amount))) == ibm.total
        assert session.scalar(select(func.sum(PaymentAllocation.amount))) == ibm.total
        totals = session.execute(
            select(Customer.external_id, func.sum(Invoice.amount))
            .join(Invoice, Invoice.customer_id == Customer.id)
            .group_by(Customer.external_id)
        )
        per_customer = dict(totals.all())
        assert per_customer == ibm.per_customer
        assert sum(1 for i in invoices.values() if i.paperless) == ibm.electronic

        for number, row in ibm.invoices.items():
            invoice, settled = invoices[number], _us_date(row["SettledDate"])
            assert customers[row["customerID"]].id == invoice.customer_id
            assert (invoice.issue_date, invoice.due_date) == (_us_date(row["InvoiceDate"]), _us_date(row["DueDate"]))
            assert (invoice.issue_dn, invoice.due_dn) == (day_number(invoice.issue_date), day_number(invoice.due_date))
            assert invoice.amount == Decimal(row["InvoiceAmount"])
            assert (invoice.open_amount, invoice.status, invoice.currency) == (0, InvoiceStatus.PAID, "USD")
            assert (invoice.settled_date, invoice.settled_dn, invoice.first_paid_dn) == (
                settled,
                day_number(settled),
                day_number(settled),
            )
            assert invoice.paperless is (row["PaperlessBill"] == "Electronic")
            assert invoice.kind == InvoiceKind.INVOICE and invoice.version == 1

        payments = {p.reference: p for p in session.scalars(select(Payment))}
        assert set(payments) == {f"SETTLE-{number}" for number in ibm.invoices}
        allocations = session.execute(select(PaymentAllocation.payment_id, PaymentAllocation.invoice_id)).all()
        assert len(allocations) == n and len({a.invoice_id for a in allocations}) == n

        disputes = list(session.scalars(select(Dispute)))
        assert len(disputes) == ibm.disputed
        by_invoice = {i.id: i for i in invoices.values()}
        for dispute in disputes:
            invoice = by_invoice[dispute.invoice_id]
            assert ibm.invoices[invoice.number]["Disputed"] == "Yes"
            assert (dispute.reason_code, dispute.status) == (DisputeReason.UNSPECIFIED, DisputeStatus.RESOLVED)
            assert (dispute.amount, dispute.currency, dispute.customer_id) == (
                invoice.amount,
                "USD",
                invoice.customer_id,
            )
            assert dispute.opened_at == datetime.combine(invoice.issue_date, datetime.min.time(), tzinfo=UTC)
            assert dispute.resolved_at == datetime.combine(invoice.settled_date, datetime.min.time(), tzinfo=UTC)
            assert dispute.resolution and "Disputed flag" in dispute.resolution


def test_reimport_changes_nothing_and_the_dirty_copy_adds_nothing(db_url: str, ibm: IbmExpectations) -> None:
    import_file(IBM, "ibm-ar", url=db_url)
    before = db_digest(db_url)
    imports_before = import_audit_count(db_url)

    again = import_file(IBM, "ibm-ar", url=db_url)
    assert import_audit_count(db_url) == imports_before + 1
    n = len(ibm.invoices)
    assert counts_of(again) == {
        "customers": (0, 0, len(ibm.customers)),
        "invoices": (0, 0, n),
        "payments": (0, 0, n),
        "allocations": (0, 0, n),
        "disputes": (0, 0, ibm.disputed),
    }
    assert db_digest(db_url) == before

    # The dirty copy strips leading zeros and writes 78 as "78.0": padding makes its good rows the same rows.
    dirty = import_file(IBM_DIRTY, "ibm-ar", url=db_url, skip_bad_rows=True)
    assert (dirty.rows_imported, dirty.rows_rejected) == (n, 120)
    assert counts_of(dirty) == counts_of(again)
    assert db_digest(db_url) == before


def _dirty_bad_lines() -> set[int]:
    with IBM_DIRTY.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {line for line, row in enumerate(rows, start=2) if not row["PaperlessBill"] or not row["PaperlessDate"]}


def test_dirty_copy_is_refused_with_every_bad_line_and_changes_nothing(db_url: str, tmp_path: Path) -> None:
    customers = write_csv(tmp_path / "c.csv", [["customer_id", "name", "currency"], ["KEEP-1", "Keep Ltd", "EUR"]])
    import_file(customers, "customers", url=db_url)
    before = db_digest(db_url)

    error = rejection(lambda: import_file(IBM_DIRTY, "ibm-ar", url=db_url))

    bad_lines = _dirty_bad_lines()
    assert len(bad_lines) == 120
    assert error.message == "120 of 2586 rows are invalid; nothing was imported"
    by_line = errors_by_line(error)
    assert set(by_line) == bad_lines
    for items in by_line.values():
        assert {(i["column"], i["reason"]) for i in items} <= {
            ("PaperlessBill", "PaperlessBill is required but blank"),
            ("PaperlessDate", "PaperlessDate is required but blank"),
        }
    assert db_digest(db_url) == before


def test_dirty_copy_with_skip_bad_rows_imports_the_good_rows(db_url: str, ibm: IbmExpectations) -> None:
    report = import_file(IBM_DIRTY, "ibm-ar", url=db_url, skip_bad_rows=True)

    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (2586, 2466, 120)
    assert {error.line for error in report.errors} == _dirty_bad_lines()
    assert counts_of(report)["invoices"] == (len(ibm.invoices), 0, 0)
    with read_session(db_url) as session:
        assert set(session.scalars(select(Invoice.number))) == set(ibm.invoices)
        assert session.scalar(select(func.sum(Invoice.amount))) == ibm.total
        assert session.scalar(select(func.count()).select_from(Customer)) == len(ibm.customers)


def test_dry_run_reports_but_writes_nothing(db_url: str, ibm: IbmExpectations) -> None:
    before = db_digest(db_url)

    report = import_file(IBM, "ibm-ar", url=db_url, dry_run=True)

    assert report.dry_run and report.rows_imported == len(ibm.invoices)
    assert counts_of(report)["invoices"] == (len(ibm.invoices), 0, 0)
    assert db_digest(db_url) == before


def _ibm_slice(path: Path, rows: int, change: dict[int, dict[str, str]] | None = None) -> Path:
    with IBM.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))[: rows + 1]
    header = records[0]
    for index, values in (change or {}).items():
        for column, value in values.items():
            records[index][header.index(column)] = value
    return write_csv(path, records)


def test_corrected_amount_updates_the_invoice_its_settlement_and_dispute(db_url: str, tmp_path: Path) -> None:
    # The sample's second data row is invoice 0007900770 (61.74, disputed); rows 1-5 have 5 customers, 2 disputes.
    import_file(_ibm_slice(tmp_path / "a.csv", 5), "ibm-ar", url=db_url)

    report = import_file(_ibm_slice(tmp_path / "b.csv", 5, {2: {"InvoiceAmount": "71.74"}}), "ibm-ar", url=db_url)

    assert counts_of(report) == {
        "customers": (0, 0, 5),
        "invoices": (0, 1, 4),
        "payments": (0, 1, 4),
        "allocations": (0, 1, 4),
        "disputes": (0, 1, 1),
    }
    with read_session(db_url) as session:
        invoice = session.scalars(select(Invoice).where(Invoice.number == "0007900770")).one()
        assert (invoice.amount, invoice.open_amount, invoice.status, invoice.version) == (
            Decimal("71.74"),
            0,
            InvoiceStatus.PAID,
            2,
        )
        payment = session.scalars(select(Payment).where(Payment.reference == "SETTLE-0007900770")).one()
        assert (payment.amount, payment.unapplied_amount) == (Decimal("71.74"), 0)
        assert session.scalar(select(PaymentAllocation.amount).where(PaymentAllocation.invoice_id == invoice.id)) == (
            Decimal("71.74")
        )
        dispute = session.scalars(select(Dispute).where(Dispute.invoice_id == invoice.id)).one()
        assert (dispute.amount, dispute.version) == (Decimal("71.74"), 2)
        assert set(session.scalars(select(Invoice.version).where(Invoice.number != "0007900770"))) == {1}


def test_consistency_checks_and_conflicting_customer_data(db_url: str, tmp_path: Path) -> None:
    path = _ibm_slice(
        tmp_path / "bad.csv",
        4,
        {2: {"DaysLate": "9"}, 3: {"DaysToSettle": "99"}, 4: {"customerID": "0379-NEVHP", "countryCode": "897"}},
    )
    error = rejection(lambda: import_file(path, "ibm-ar", url=db_url))

    by_line = errors_by_line(error)
    assert by_line[3] == [
        {
            "line": 3,
            "column": "DaysLate",
            "value": "9",
            "reason": "DaysLate is 9 but max(0, SettledDate - DueDate) is 6",
        }
    ]
    assert by_line[4][0]["column"] == "DaysToSettle"
    assert "DaysToSettle is 99 but SettledDate - InvoiceDate is 5" in by_line[4][0]["reason"]
    # Line 5 moves invoice 4's customer onto 0379-NEVHP (of line 2) with another country: both lines are told.
    for line in (2, 5):
        assert [item["column"] for item in by_line[line]] == ["countryCode"]
        assert "customer 0379-NEVHP has conflicting countryCode values" in by_line[line][0]["reason"]
    assert count(db_url, Invoice) == 0


# --- generic mappings -------------------------------------------------------------------------------------

CUSTOMERS = [
    ["customer_id", "name", "currency", "country", "payment_terms_days"],
    ["C-1", "Acme Corporation", "EUR", "de", "45"],
    ["C-2", "Globex Ltd", "usd", "", ""],
]
INVOICE_HEADER = ["invoice_number", "customer_id", "document_type", "invoice_date", "due_date", "amount", "currency"]


@pytest.fixture
def with_customers(db_url: str, tmp_path: Path) -> str:
    report = import_file(write_csv(tmp_path / "customers.csv", CUSTOMERS), "customers", url=db_url)
    assert counts_of(report) == {"customers": (2, 0, 0)}
    return db_url


def test_generic_customers_invoices_and_payments(with_customers: str, tmp_path: Path) -> None:
    url = with_customers
    invoices = write_csv(
        tmp_path / "invoices.csv",
        [
            [*INVOICE_HEADER, "paid_date", "disputed"],
            ["INV-1", "C-1", "INV", "2024-01-10", "2024-02-24", "1,000.00", "EUR", "", "no"],
            ["INV-2", "C-1", "", "2024-01-20", "2024-03-05", "250", "EUR", "2024-02-01", "yes"],
            ["CN-1", "C-1", "CRN", "2024-01-25", "2024-01-25", "-100.00", "EUR", "", ""],
            ["INV-3", "C-2", "INV", "2024-01-05", "2024-02-04", "500.00", "USD", "", "y"],
        ],
    )
    report = import_file(invoices, "invoices", url=url)
    assert counts_of(report) == {
        "invoices": (4, 0, 0),
        "payments": (1, 0, 0),
        "allocations": (1, 0, 0),
        "disputes": (2, 0, 0),
    }

    payments = write_csv(
        tmp_path / "payments.csv",
        [
            [
                "payment_reference",
                "customer_id",
                "received_date",
                "amount",
                "currency",
                "invoice_number",
                "applied_amount",
                "method",
            ],
            ["BANK-1", "", "2024-02-10", "600.00", "EUR", "INV-1", "600.00", "Wire"],
            ["BANK-2", "C-2", "2024-02-11", "700.00", "USD", "INV-3", "500.00", "wire"],
            ["BANK-3", "C-2", "2024-02-12", "50.00", "USD", "", "", ""],
        ],
    )
    report = import_file(payments, "payments", url=url)
    assert counts_of(report) == {
        "invoices": (0, 2, 0),
        "payments": (3, 0, 0),
        "allocations": (2, 0, 0),
    }
    with read_session(url) as session:
        invoices_by_number = {i.number: i for i in session.scalars(select(Invoice))}
        payments_by_reference = {p.reference: p for p in session.scalars(select(Payment))}
        customers = {c.external_id: c for c in session.scalars(select(Customer))}
    assert (customers["C-1"].country, customers["C-1"].payment_terms_days, customers["C-2"].currency) == (
        "DE",
        45,
        "USD",
    )
    assert customers["C-2"].payment_terms_days == 30
    inv1, inv2, inv3, cn1 = (invoices_by_number[n] for n in ("INV-1", "INV-2", "INV-3", "CN-1"))
    assert (inv1.open_amount, inv1.status, inv1.first_paid_dn, inv1.settled_dn) == (
        Decimal("400.00"),
        InvoiceStatus.OPEN,
        day_number(date(2024, 2, 10)),
        None,
    )
    assert (inv2.open_amount, inv2.status, inv2.settled_date) == (0, InvoiceStatus.PAID, date(2024, 2, 1))
    assert (inv3.open_amount, inv3.status, inv3.settled_date) == (0, InvoiceStatus.PAID, date(2024, 2, 11))
    assert (cn1.kind, cn1.amount, cn1.open_amount) == (InvoiceKind.CREDIT_NOTE, Decimal("-100.00"), Decimal("-100.00"))
    assert payments_by_reference["BANK-1"].method == "wire"
    assert payments_by_reference["BANK-2"].unapplied_amount == Decimal("200.00")
    assert payments_by_reference["BANK-3"].unapplied_amount == Decimal("50.00")
    with read_session(url) as session:
        disputes = {d.invoice_id: d for d in session.scalars(select(Dispute))}
    assert disputes[inv2.id].status == DisputeStatus.RESOLVED
    assert disputes[inv3.id].status == DisputeStatus.OPEN and disputes[inv3.id].resolved_at is None

    before = db_digest(url)
    again = import_file(payments, "payments", url=url)
    assert counts_of(again) == {"invoices": (0, 0, 2), "payments": (0, 0, 3), "allocations": (0, 0, 2)}
    assert counts_of(import_file(invoices, "invoices", url=url))["invoices"] == (0, 0, 4)
    assert db_digest(url) == before

    # A corrected amount keeps the payment already applied: 1,200 - 600 leaves 600 open.
    corrected = write_csv(
        tmp_path / "corrected.csv",
        [INVOICE_HEADER, ["INV-1", "C-1", "INV", "2024-01-10", "2024-02-24", "1200.00", "EUR"]],
    )
    assert counts_of(import_file(corrected, "invoices", url=url)) == {"invoices": (0, 1, 0)}
    with read_session(url) as session:
        invoice = session.scalars(select(Invoice).where(Invoice.number == "INV-1")).one()
        # Version 1 at import, 2 when the payment was applied, 3 now.
        assert (invoice.amount, invoice.open_amount, invoice.version) == (Decimal("1200.00"), Decimal("600.00"), 3)

    # Below what is already applied, the correction is refused.
    too_low = write_csv(
        tmp_path / "too_low.csv",
        [INVOICE_HEADER, ["INV-1", "C-1", "INV", "2024-01-10", "2024-02-24", "500.00", "EUR"]],
    )
    error = rejection(lambda: import_file(too_low, "invoices", url=url))
    assert errors_by_line(error)[2] == [
        {
            "line": 2,
            "column": "amount",
            "value": "500.00",
            "reason": "payments applied to invoice INV-1 (600.00) would exceed its amount (500.00)",
        }
    ]

    # A paid date settles what is still open after the payments already applied (600 of 1,200).
    paid = write_csv(
        tmp_path / "paid.csv",
        [
            [*INVOICE_HEADER, "paid_date"],
            ["INV-1", "C-1", "INV", "2024-01-10", "2024-02-24", "1200.00", "EUR", "2024-03-01"],
        ],
    )
    expected = {"invoices": (0, 1, 0), "payments": (1, 0, 0), "allocations": (1, 0, 0)}
    assert counts_of(import_file(paid, "invoices", url=url)) == expected
    with read_session(url) as session:
        invoice = session.scalars(select(Invoice).where(Invoice.number == "INV-1")).one()
        settlement = session.scalars(select(Payment).where(Payment.reference == "SETTLE-INV-1")).one()
    assert (invoice.open_amount, invoice.status, invoice.settled_date) == (0, InvoiceStatus.PAID, date(2024, 3, 1))
    assert invoice.first_paid_dn == day_number(date(2024, 2, 10))
    assert (settlement.amount, settlement.unapplied_amount) == (Decimal("600.00"), 0)
    assert counts_of(import_file(paid, "invoices", url=url))["payments"] == (0, 0, 1)


def test_every_bad_invoice_row_is_reported_and_nothing_is_written(with_customers: str, tmp_path: Path) -> None:
    url = with_customers
    path = write_csv(
        tmp_path / "invoices.csv",
        [
            [*INVOICE_HEADER, "paid_date"],
            ["GOOD-1", "C-1", "INV", "2024-01-10", "2024-02-09", "100.00", "EUR", ""],
            ["BAD-DATE", "C-1", "INV", "2024-02-30", "2024-03-30", "100.00", "EUR"],
            ["BAD-NEG", "C-1", "INV", "2024-01-10", "2024-02-09", "-5.00", "EUR"],
            ["BAD-CUR", "C-1", "INV", "2024-01-10", "2024-02-09", "10.00", "XYZ"],
            ["DUP", "C-1", "INV", "2024-01-10", "2024-02-09", "10.00", "EUR"],
            ["DUP", "C-1", "INV", "2024-01-11", "2024-02-10", "11.00", "EUR"],
            ["BAD-DUE", "C-1", "INV", "2024-01-10", "2024-01-09", "10.00", "EUR"],
            ["BAD-CUST", "C-404", "INV", "2024-01-10", "2024-02-09", "10.00", "EUR"],
            ["BAD-HUGE", "C-1", "INV", "2024-01-10", "2024-02-09", "5000000000000", "EUR"],
            ["", "C-1", "XX", "2024-01-10", "2024-02-09", "abc", "EUR"],
            ["BAD-PAID", "C-1", "INV", "2024-01-10", "2024-02-09", "10.00", "EUR", "2024-01-09"],
        ],
    )
    before = db_digest(url)

    error = rejection(lambda: import_file(path, "invoices", url=url))

    assert error.message == "10 of 11 rows are invalid; nothing was imported"
    by_line = {line: [(i["column"], i["reason"]) for i in items] for line, items in errors_by_line(error).items()}
    assert by_line[3] == [("invoice_date", "'2024-02-30' is not a valid date in the format %Y-%m-%d (like 2024-01-31)")]
    assert by_line[4] == [("amount", "amount must not be negative (got -5.00); only credit notes are negative")]
    assert by_line[5] == [("currency", "currency 'XYZ' is not an ISO 4217 currency code")]
    assert (
        by_line[6] == by_line[7] == [("invoice_number", "invoice number DUP appears 2 times in the file (lines 6, 7)")]
    )
    assert by_line[8] == [("due_date", "due date 2024-01-09 is before the issue date 2024-01-10")]
    assert by_line[9] == [("customer_id", "customer C-404 does not exist and is not created by this file")]
    assert by_line[10] == [
        ("amount", "amount '5000000000000' is implausibly large (the limit is below 1,000,000,000,000)")
    ]
    assert by_line[11] == [
        ("amount", "amount 'abc' is not a valid amount: write it in figures, e.g. 40000 or 40,000.00"),
        ("document_type", "'XX' is not one of INV, CRN"),
        ("invoice_number", "invoice_number is required but blank"),
    ]
    assert by_line[12] == [("paid_date", "settled on 2024-01-09, before the invoice date 2024-01-10")]
    assert 2 not in by_line
    assert db_digest(url) == before

    report = import_file(path, "invoices", url=url, skip_bad_rows=True)
    assert (report.rows_imported, report.rows_rejected, counts_of(report)) == (1, 10, {"invoices": (1, 0, 0)})
    with read_session(url) as session:
        assert list(session.scalars(select(Invoice.number))) == ["GOOD-1"]


def test_payment_to_an_unknown_invoice_rejects_the_whole_payment(with_customers: str, tmp_path: Path) -> None:
    url = with_customers
    import_file(
        write_csv(tmp_path / "i.csv", [INVOICE_HEADER, ["INV-1", "C-1", "", "2024-01-10", "2024-02-09", "100", "EUR"]]),
        "invoices",
        url=url,
    )
    path = write_csv(
        tmp_path / "payments.csv",
        [
            ["payment_reference", "received_date", "amount", "currency", "invoice_number", "applied_amount"],
            ["P-1", "2024-02-01", "150.00", "EUR", "INV-1", "100.00"],
            ["P-1", "2024-02-01", "150.00", "EUR", "INV-404", "50.00"],
            ["P-2", "2024-02-01", "30.00", "EUR", "INV-1", ""],
        ],
    )
    error = rejection(lambda: import_file(path, "payments", url=url))
    by_line = errors_by_line(error)
    assert [(i["column"], i["reason"]) for i in by_line[3]] == [
        ("invoice_number", "invoice INV-404 does not exist and is not created by this file")
    ]
    assert [i["reason"] for i in by_line[2]] == ["payment P-1 is rejected because of line 3"]
    assert 4 not in by_line

    report = import_file(path, "payments", url=url, skip_bad_rows=True)
    assert (report.rows_imported, report.rows_rejected) == (1, 2)
    with read_session(url) as session:
        assert list(session.scalars(select(Payment.reference))) == ["P-2"]
        assert session.scalar(select(Invoice.open_amount)) == Decimal("70.00")


def test_excel_file_with_real_dates_and_numbers(with_customers: str, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([])  # a blank first row: sheet row numbers must still be reported
    sheet.append(["Invoice_Number", "Customer_ID", "Invoice_Date", "Due_Date", "Amount", "Currency"])
    sheet.append([1001, "C-1", datetime(2024, 3, 1), datetime(2024, 3, 31), 1234.5, "EUR"])
    sheet.append(["1002", "C-2", "2024-03-02", "2024-04-01", 99, "USD"])
    sheet.append(["1003", "C-2", "03/02/2024", "2024-04-01", 99, "USD"])
    path = tmp_path / "invoices.xlsx"
    workbook.save(path)

    error = rejection(lambda: import_file(path, "invoices", url=with_customers))
    assert [(line, [i["column"] for i in items]) for line, items in errors_by_line(error).items()] == [
        (5, ["invoice_date"])
    ]

    report = import_file(path, "invoices", url=with_customers, skip_bad_rows=True)
    assert (report.rows_imported, report.rows_rejected) == (2, 1)
    with read_session(with_customers) as session:
        invoices = {i.number: i for i in session.scalars(select(Invoice))}
    assert (invoices["1001"].amount, invoices["1001"].issue_date) == (Decimal("1234.50"), date(2024, 3, 1))
    assert (invoices["1002"].amount, invoices["1002"].due_date) == (Decimal("99.00"), date(2024, 4, 1))


def test_orders_and_credit_limits(with_customers: str, tmp_path: Path) -> None:
    url = with_customers
    orders = write_csv(
        tmp_path / "orders.csv",
        [
            [
                "order_number",
                "customer_id",
                "order_date",
                "requested_ship_date",
                "amount",
                "open_amount",
                "currency",
                "status",
            ],
            ["SO-1", "C-1", "2024-03-01", "2024-03-15", "800.00", "", "EUR", ""],
            ["SO-2", "C-2", "2024-03-02", "", "300.00", "100.00", "USD", "open"],
            ["SO-3", "C-2", "2024-03-02", "2024-03-01", "300.00", "400.00", "USD", "shipped"],
        ],
    )
    error = rejection(lambda: import_file(orders, "orders", url=url))
    assert sorted((i["line"], i["column"]) for i in error.details["errors"]) == [
        (4, "open_amount"),
        (4, "requested_ship_date"),
        (4, "status"),
    ]
    report = import_file(orders, "orders", url=url, skip_bad_rows=True)
    assert counts_of(report) == {"orders": (2, 0, 0)}
    with read_session(url) as session:
        so1 = session.scalars(select(SalesOrder).where(SalesOrder.number == "SO-1")).one()
    assert (so1.open_amount, so1.status.value, so1.on_hold) == (Decimal("800.00"), "open", False)

    limits = [["customer_id", "credit_limit", "currency", "valid_from"], ["C-1", "50,000", "EUR", "2024-01-01"]]
    assert counts_of(import_file(write_csv(tmp_path / "l1.csv", limits), "credit-limits", url=url)) == {
        "credit_limits": (1, 0, 0)
    }
    assert counts_of(import_file(write_csv(tmp_path / "l1.csv", limits), "credit-limits", url=url)) == {
        "credit_limits": (0, 0, 1)
    }
    raised = [limits[0], ["C-1", "75000", "EUR", "2024-06-01"]]
    assert counts_of(import_file(write_csv(tmp_path / "l2.csv", raised), "credit-limits", url=url)) == {
        "credit_limits": (0, 1, 0)
    }
    with read_session(url) as session:
        history = list(session.scalars(select(CreditLimit).order_by(CreditLimit.valid_from)))
    assert [(h.amount, h.valid_to) for h in history] == [
        (Decimal("50000.00"), datetime(2024, 6, 1, tzinfo=UTC)),
        (Decimal("75000.00"), None),
    ]
    assert history[1].set_by_name == "import" and history[1].source == "import"


# --- files that are unusable as a whole ---------------------------------------------------------------------


def test_missing_required_columns_are_named_up_front(db_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [["invoice_number", "customer_id", "amount"], ["1", "C-1", "5"]])
    error = rejection(lambda: import_file(path, "invoices", url=db_url))
    assert error.message == (
        "the file is missing the required column(s) invoice_date, due_date, currency; nothing was imported"
    )
    assert [(e["line"], e["column"]) for e in error.details["errors"]] == [(1, "invoice_date, due_date, currency")]


@pytest.mark.parametrize("content", ["", "\n\n", "customer_id,name,currency\n"])
def test_empty_files_are_refused(db_url: str, tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    error = rejection(lambda: import_file(path, "customers", url=db_url))
    assert "empty" in error.message or "no data rows" in error.message


def test_line_numbers_are_physical_lines(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text('customer_id,name,currency\nC-1,"Two-line\nname Ltd",EUR\n\nC-2,Fine Ltd,EURO\n', encoding="utf-8")
    error = rejection(lambda: import_file(path, "customers", url=db_url))
    assert [(e["line"], e["column"]) for e in error.details["errors"]] == [(5, "currency")]


# --- mappings ---------------------------------------------------------------------------------------------


def test_shipped_mappings_load() -> None:
    assert set(list_mappings()) >= {"ibm-ar", "invoices", "customers", "payments", "orders", "credit-limits"}
    for name in list_mappings():
        assert load_mapping(name).name == name


def test_mapping_by_path_and_unknown_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text((Path(__file__).parents[1] / "integrations/importers/mappings/customers.yaml").read_text())
    assert load_mapping(str(path)).name == "customers"
    with pytest.raises(CreditDeskError) as caught:
        load_mapping("nope")
    assert caught.value.code == ErrorCode.NOT_FOUND and "ibm-ar" in caught.value.message


BAD_MAPPINGS = {
    "entity: invoicez\ninvoice: {}": "entity: Input should be",
    "entity: invoices\ninvoice:\n  number: {column: n}\n": "invoice.amount: is missing; the invoice section needs it",
    (
        "entity: customers\ncustomer:\n  external_id: {column: id}\n  name: {column: n, type: money}\n"
    ): "customer.name: type must be str, not money",
    "entity: customers\ncustomer:\n  external_id: {column: id}\n  customer_since: {column: s}\n": (
        "customer.customer_since: a date needs formats"
    ),
    "entity: customers\ncustomer:\n  external_id: {column: id}\n  nmae: {column: n}\n": (
        "customer.nmae: unknown field; customer takes external_id, name"
    ),
    "entity: customers\ncustomer:\n  external_id: {column: id, constant: X}\n": (
        "customer.external_id: give exactly one of column, constant or template"
    ),
    "entity: customers\ncustomer:\n  external_id: {column: id}\n  name: {template: 'C {nope}'}\n": (
        "template refers to 'nope', which this mapping does not fill"
    ),
    "entity: customers\ncustomer:\n  external_id: {column: id}\ndispute:\n  flag: {column: d}\n": (
        "section 'dispute' is not used by entity customers"
    ),
    "entity: invoices\ninvoice:\n  kind: {column: k, values: {X: bogus}}\n": "maps to bogus; allowed are",
    "entity: customers\ncustomer: [unclosed": "is not valid YAML",
    "- just\n- a list\n": "must be a YAML mapping",
}


@pytest.mark.parametrize(("text", "expected"), list(BAD_MAPPINGS.items()))
def test_malformed_mappings_give_clear_errors(text: str, expected: str) -> None:
    with pytest.raises(CreditDeskError) as caught:
        parse_mapping(text, default_name="broken")
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert expected in caught.value.message


def test_yes_and_no_stay_text_in_mappings() -> None:
    mapping = parse_mapping(
        "entity: invoices\ninvoice:\n  number: {column: n}\n  customer_external_id: {column: c}\n"
        "  issue_date: {column: i, formats: ['%Y-%m-%d']}\n  due_date: {column: d, formats: ['%Y-%m-%d']}\n"
        "  amount: {column: a}\n  currency: {constant: EUR}\n"
        "dispute:\n  flag: {column: x, true_values: [Yes, on], false_values: [No, off]}\n",
        default_name="yn",
    )
    flag = mapping.field("dispute", "flag")
    assert flag is not None and (flag.true_values, flag.false_values) == (("Yes", "on"), ("No", "off"))


def test_progress_is_reported_per_stage(with_customers: str, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    path = write_csv(tmp_path / "c.csv", [*CUSTOMERS, ["C-3", "Initech", "EUR", "", ""]])
    import_file(path, "customers", url=with_customers, progress=lambda *args: calls.append(args))
    assert list(dict.fromkeys(stage for stage, _, _ in calls)) == ["reading", "validating", "writing"]
    assert all(0 <= done <= total for _, done, total in calls)
    assert calls[-1] == ("writing", 3, 3)


# --- number formats, delimiters and case-insensitive invoice numbers ---------------------------------------------


def _german_export(path: Path, amounts: list[str]) -> Path:
    lines = [";".join(INVOICE_HEADER)]
    lines += [f"DE-{i};C-1;INV;2024-01-10;2024-02-09;{amount};EUR" for i, amount in enumerate(amounts, start=1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _mapping_with_reader(tmp_path: Path, reader: str) -> Path:
    text = (Path(load_mapping.__code__.co_filename).parent / "mappings" / "invoices.yaml").read_text(encoding="utf-8")
    path = tmp_path / "invoices-custom.yaml"
    path.write_text(text.replace("entity: invoices\n", f"entity: invoices\nreader: {reader}\n"), encoding="utf-8")
    return path


def _amounts(url: str) -> dict[str, Decimal]:
    with read_session(url) as session:
        return {row.number: row.amount for row in session.execute(select(Invoice.number, Invoice.amount))}


def test_a_declared_german_export_reads_decimal_commas(with_customers: str, tmp_path: Path) -> None:
    path = _german_export(tmp_path / "export.csv", ["12,50", "1.250,00", "1250,5", "7"])
    report = import_file(path, str(_mapping_with_reader(tmp_path, "{locale: de_DE}")), url=with_customers)
    assert report.rows_rejected == 0 and report.delimiter == ";"
    assert report.number_format is not None and report.number_format.startswith("de_DE")
    assert _amounts(with_customers) == {
        "DE-1": Decimal("12.50"),
        "DE-2": Decimal("1250.00"),
        "DE-3": Decimal("1250.50"),
        "DE-4": Decimal("7.00"),
    }


def test_explicit_separators_are_declared_per_mapping(with_customers: str, tmp_path: Path) -> None:
    path = _german_export(tmp_path / "export.csv", ["12,50", "1 250,00"])
    mapping = _mapping_with_reader(tmp_path, '{delimiter: ";", decimal_separator: ",", thousands_separator: " "}')
    report = import_file(path, str(mapping), url=with_customers)
    assert report.rows_rejected == 0 and report.notes == [
        "numbers read as en_US (decimal ',', thousands space), as the mapping declares"
    ]
    assert _amounts(with_customers) == {"DE-1": Decimal("12.50"), "DE-2": Decimal("1250.00")}


def test_an_undeclared_german_export_is_detected_and_reported(with_customers: str, tmp_path: Path) -> None:
    path = _german_export(tmp_path / "export.csv", ["12,50", "1.250,00", "99"])
    report = import_file(path, "invoices", url=with_customers)
    assert report.delimiter == ";" and report.rows_rejected == 0
    assert any("delimiter ';' detected" in note for note in report.notes)
    assert any("de_DE" in note and "detected" in note for note in report.notes)
    assert _amounts(with_customers) == {"DE-1": Decimal("12.50"), "DE-2": Decimal("1250.00"), "DE-3": Decimal("99.00")}


def test_twelve_fifty_never_becomes_one_thousand_two_hundred_fifty(with_customers: str, tmp_path: Path) -> None:
    # An English file with one decimal-comma value: the value is refused, never read as 1,250.00.
    path = write_csv(
        tmp_path / "invoices.csv",
        [
            INVOICE_HEADER,
            ["EN-1", "C-1", "INV", "2024-01-10", "2024-02-09", "1,250.00", "EUR"],
            ["EN-2", "C-1", "INV", "2024-01-10", "2024-02-09", "2,500.75", "EUR"],
            ["EN-3", "C-1", "INV", "2024-01-10", "2024-02-09", "12,50", "EUR"],
        ],
    )
    before = db_digest(with_customers)
    error = rejection(lambda: import_file(path, "invoices", url=with_customers))
    reasons = errors_by_line(error)[4]
    assert reasons[0]["column"] == "amount" and "'12,50'" in reasons[0]["reason"]
    assert db_digest(with_customers) == before
    report = import_file(path, "invoices", url=with_customers, skip_bad_rows=True)
    assert report.rows_rejected == 1 and any("'12,50'" in note for note in report.notes)
    assert _amounts(with_customers) == {"EN-1": Decimal("1250.00"), "EN-2": Decimal("2500.75")}


def test_unknown_locale_in_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CreditDeskError, match="xx_YY"):
        load_mapping(str(_mapping_with_reader(tmp_path, "{locale: xx_YY}")))


def test_invoice_numbers_are_unique_regardless_of_case(with_customers: str, tmp_path: Path) -> None:
    url = with_customers
    first = write_csv(
        tmp_path / "a.csv", [INVOICE_HEADER, ["INV-7", "C-1", "INV", "2024-01-10", "2024-02-09", "10", "EUR"]]
    )
    import_file(first, "invoices", url=url)
    in_file = write_csv(
        tmp_path / "b.csv",
        [
            INVOICE_HEADER,
            ["Abc-1", "C-1", "INV", "2024-01-10", "2024-02-09", "10", "EUR"],
            ["ABC-1", "C-1", "INV", "2024-01-10", "2024-02-09", "11", "EUR"],
            ["inv-7", "C-1", "INV", "2024-01-10", "2024-02-09", "12", "EUR"],
            ["NEW-1", "C-1", "INV", "2024-01-10", "2024-02-09", "13", "EUR"],
        ],
    )
    before = db_digest(url)
    error = rejection(lambda: import_file(in_file, "invoices", url=url))
    by_line = errors_by_line(error)
    assert "ABC-1 / Abc-1 (differing only in case)" in by_line[2][0]["reason"]
    assert by_line[2][0]["reason"] == by_line[3][0]["reason"]
    assert "differs only in case from invoice INV-7" in by_line[4][0]["reason"]
    assert db_digest(url) == before
    report = import_file(in_file, "invoices", url=url, skip_bad_rows=True)
    assert report.rows_rejected == 3
    assert _amounts(url) == {"INV-7": Decimal("10.00"), "NEW-1": Decimal("13.00")}
