"""Importing an ERP export (CSV or Excel) through a mapping.

Every row is converted and validated first, then checked against the rest of the file and against the database.
Unless `skip_bad_rows`, one bad row rejects the whole file and nothing changes; otherwise the good rows are
imported and the bad ones reported. All writes of one file happen in one transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from core.amounts import DEFAULT_FORMAT, NumberFormat
from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from db.engine import read_session, write_session
from db.queries.audit import append_event
from db.queries.imports import (
    CustomerRecord,
    ImportBatch,
    ImportPlan,
    PaymentRecord,
    Problem,
    apply_plan,
    plan_import,
)
from integrations.importers.convert import detect_number_format
from integrations.importers.filechecks import all_lines_ok, check_file, spread_payment_failures
from integrations.importers.mapping import ImportMapping, list_mappings, load_mapping
from integrations.importers.reader import SheetNumber, SourceRow, SourceTable, read_table, rejected
from integrations.importers.report import ImportReport, RowError
from integrations.importers.rows import ParsedRow, parse_row, source_column

__all__ = ["ImportMapping", "ImportReport", "RowError", "import_file", "list_mappings", "load_mapping"]

log = get_logger(__name__)

Progress = Callable[[str, int, int], None]
_PROGRESS_EVERY = 500


def import_file(
    path: Path,
    mapping: str | ImportMapping,
    *,
    url: str | None = None,
    skip_bad_rows: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    actor: str = "operator",
) -> ImportReport:
    """Import one file. Raises `CreditDeskError(IMPORT_REJECTED)` if a row is bad and `skip_bad_rows` is off."""
    started = time.perf_counter()
    spec = mapping if isinstance(mapping, ImportMapping) else load_mapping(mapping)
    path = Path(path)
    table = _with_mapped_columns(read_table(path, spec.reader), spec)
    _notify(progress, "reading", len(table.rows), len(table.rows))
    number_format, notes = _number_format(spec, table)
    if table.delimiter_detected:
        notes.insert(0, f"CSV delimiter {table.delimiter!r} detected (reader.delimiter declares it)")
    rows = _parse_rows(spec, table.rows, progress, number_format)
    payments = check_file(spec, rows)
    with read_session(url) if dry_run else write_session(url) as session:
        plan = _plan(session, spec, rows, payments, skip_bad_rows=skip_bad_rows, lock=not dry_run)
        errors = sorted((error for row in rows for error in row.errors), key=lambda e: (e.line, e.column or ""))
        bad = sum(1 for row in rows if not row.ok)
        if bad and not skip_bad_rows:
            log.info("import.rejected", mapping=spec.name, rows_read=len(rows), rows_rejected=bad)
            raise CreditDeskError(
                ErrorCode.IMPORT_REJECTED,
                f"{bad} of {len(rows)} rows are invalid; nothing was imported",
                details={
                    "errors": [error.model_dump() for error in errors],
                    "rows_read": len(rows),
                    "rows_rejected": bad,
                },
            )
        if not dry_run:
            apply_plan(session, plan, progress=progress)
            append_event(
                session,
                "data.imported",
                actor_id=None,
                actor_name=actor,
                actor_role=None,
                subject_type="file",
                subject_id=path.name,
                details={
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "mapping": spec.name,
                    "rows_read": len(rows),
                    "rows_rejected": bad,
                    "counts": {entity: counts.model_dump() for entity, counts in plan.counts().items()},
                },
            )
    report = ImportReport(
        file=path.name,
        mapping=spec.name,
        entity=spec.entity,
        dry_run=dry_run,
        rows_read=len(rows),
        rows_imported=len(rows) - bad,
        rows_rejected=bad,
        counts={entity: counts for entity, counts in plan.counts().items() if entity in _reported(spec)},
        errors=errors,
        delimiter=table.delimiter,
        number_format=number_format.describe(),
        notes=notes,
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "import.finished",
        mapping=spec.name,
        entity=spec.entity,
        dry_run=dry_run,
        rows_read=report.rows_read,
        rows_imported=report.rows_imported,
        rows_rejected=report.rows_rejected,
        seconds=report.seconds,
    )
    return report


def _reported(mapping: ImportMapping) -> set[str]:
    """The entities a mapping can create or change, the ones its report counts."""
    sections = mapping.sections()
    entities = {"customers"} if "customer" in sections else set()
    if mapping.entity == "invoices":
        entities.add("invoices")
        entities |= {"payments", "allocations"} if "settlement" in sections else set()
        entities |= {"disputes"} if "dispute" in sections else set()
    elif mapping.entity == "payments":
        entities |= {"invoices", "payments", "allocations"}
    elif mapping.entity != "customers":
        entities.add(mapping.entity)
    return entities


def _notify(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def _with_mapped_columns(table: SourceTable, mapping: ImportMapping) -> SourceTable:
    """Match the mapping's columns to the header, ignoring case and surrounding blanks; refuse missing ones."""
    by_folded = {column.strip().casefold(): column for column in table.columns}
    renames = {}
    for wanted in mapping.columns():
        found = wanted if wanted in table.columns else by_folded.get(wanted.strip().casefold())
        if found is not None and found != wanted:
            renames[found] = wanted
    present = set(table.columns) | set(renames.values())
    missing = [column for column in mapping.required_columns() if column not in present]
    if missing:
        names = ", ".join(missing)
        raise rejected(f"the file is missing the required column(s) {names}", line=table.header_line, column=names)
    if not renames:
        return table
    rows = [
        SourceRow(row.line, {renames.get(name, name): value for name, value in row.values.items()})
        for row in table.rows
    ]
    return SourceTable(
        columns=[renames.get(name, name) for name in table.columns], rows=rows, header_line=table.header_line
    )


def _number_format(mapping: ImportMapping, table: SourceTable) -> tuple[NumberFormat, list[str]]:
    """The mapping's declared number format, or the one detected from the file's money cells (with a note)."""
    declared = mapping.reader.number_format()
    if declared is not None:
        return declared, [f"numbers read as {declared.describe()}, as the mapping declares"]
    columns = [
        spec.column
        for section, fields in mapping.sections().items()
        for target, spec in fields.items()
        if spec.column and mapping.target(section, target).field_type == "money"
    ]
    values = [
        value
        for row in table.rows
        for column in columns
        if isinstance(value := row.values.get(column, ""), str) and not isinstance(value, SheetNumber)
    ]
    if not values:
        return DEFAULT_FORMAT, []
    detected = detect_number_format(values)
    return detected.number_format, [detected.note]


def _parse_rows(
    mapping: ImportMapping, source: list[SourceRow], progress: Progress | None, number_format: NumberFormat
) -> list[ParsedRow]:
    rows = []
    for index, row in enumerate(source, start=1):
        rows.append(parse_row(mapping, row, number_format))
        if index % _PROGRESS_EVERY == 0:
            _notify(progress, "validating", index, len(source))
    _notify(progress, "validating", len(source), len(source))
    return rows


def _plan(
    session: Session,
    mapping: ImportMapping,
    rows: list[ParsedRow],
    payments: dict[str, PaymentRecord],
    *,
    skip_bad_rows: bool,
    lock: bool,
) -> ImportPlan:
    """Plan the good rows; rows whose records conflict with the database become bad, and the rest is re-planned."""
    while True:
        plan = plan_import(session, build_batch(mapping, rows, payments), lock=lock)
        if not plan.problems:
            return plan
        newly_bad = _record_problems(mapping, rows, plan.problems)
        spread_payment_failures(mapping, rows)
        if not skip_bad_rows:
            return plan
        if not newly_bad:
            raise CreditDeskError(ErrorCode.IMPORT_REJECTED, f"the import cannot proceed: {plan.problems[0].reason}")


def _record_problems(mapping: ImportMapping, rows: list[ParsedRow], problems: list[Problem]) -> int:
    by_line = {row.line: row for row in rows}
    newly_bad = 0
    for problem in problems:
        column = source_column(mapping, problem.record, problem.field)
        for line in problem.source_lines:
            row = by_line[line]
            newly_bad += row.ok
            row.add_error(column, problem.reason, problem.value)
    return newly_bad


def build_batch(mapping: ImportMapping, rows: list[ParsedRow], payments: dict[str, PaymentRecord]) -> ImportBatch:
    good = [row for row in rows if row.ok]
    customers = [row.customer for row in good if row.customer is not None]
    return ImportBatch(
        customers=_merge_customers(customers) if mapping.is_nested_customer else customers,
        invoices=[row.invoice for row in good if row.invoice is not None],
        payments=[
            *(row.settlement for row in good if row.settlement is not None),
            *(record for record in payments.values() if all_lines_ok(rows, record.source_lines)),
        ],
        disputes=[row.dispute for row in good if row.dispute is not None],
        orders=[row.order for row in good if row.order is not None],
        credit_limits=[row.credit_limit for row in good if row.credit_limit is not None],
    )


def _merge_customers(records: list[CustomerRecord]) -> list[CustomerRecord]:
    """One record per customer of an invoice or order file; the file checks made sure its rows agree."""
    lines: dict[str, list[int]] = defaultdict(list)
    first: dict[str, CustomerRecord] = {}
    for record in records:
        first.setdefault(record.external_id, record)
        lines[record.external_id].extend(record.source_lines)
    return [record.model_copy(update={"source_lines": tuple(lines[key])}) for key, record in first.items()]
