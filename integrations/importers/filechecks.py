"""Checks across the rows of one file: duplicate keys, conflicting customer data, payments split over lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from db.queries.imports import PaymentRecord
from integrations.importers.mapping import ImportMapping
from integrations.importers.rows import ParsedRow, source_column

_SHOWN_LINES = 6
_PAYMENT_FIELDS = ("customer_external_id", "received_date", "amount", "currency", "method")


@dataclass(frozen=True)
class _Key:
    """What makes a row unique in a file of one entity."""

    label: str
    section: str
    fields: tuple[str, ...]


_KEYS: dict[str, _Key] = {
    "invoices": _Key("invoice number", "invoice", ("number",)),
    "customers": _Key("customer", "customer", ("external_id",)),
    "payments": _Key("payment and invoice", "payment", ("reference", "invoice_number")),
    "orders": _Key("order number", "order", ("number",)),
    "credit_limits": _Key("customer", "credit_limit", ("customer_external_id",)),
}


def _folded(key: _Key, value: Any) -> Any:
    """Invoice numbers are unique regardless of case (the database's ux_invoice_number_upper)."""
    return value.upper() if key.section == "invoice" and isinstance(value, str) else value


def _show(value: Any) -> str:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return "(blank)" if value is None else str(value)


def _lines(lines: Iterable[int]) -> str:
    ordered = sorted(set(lines))
    shown = ", ".join(str(line) for line in ordered[:_SHOWN_LINES])
    more = len(ordered) - _SHOWN_LINES
    return f"line{'s' if len(ordered) > 1 else ''} {shown}" + (f" and {more} more" if more > 0 else "")


def check_file(mapping: ImportMapping, rows: list[ParsedRow]) -> dict[str, PaymentRecord]:
    """Add cross-row errors to `rows`; for payment files, return each payment assembled from all its lines."""
    _duplicate_keys(mapping, rows)
    if mapping.customer is not None and mapping.is_nested_customer:
        _conflicting_customers(mapping, rows)
    if mapping.entity != "payments":
        return {}
    payments = _assemble_payments(mapping, rows)
    spread_payment_failures(mapping, rows)
    return {reference: record for reference, record in payments.items() if all_lines_ok(rows, record.source_lines)}


def all_lines_ok(rows: list[ParsedRow], lines: Iterable[int]) -> bool:
    by_line = {row.line: row for row in rows}
    return all(by_line[line].ok for line in lines)


def _duplicate_keys(mapping: ImportMapping, rows: list[ParsedRow]) -> None:
    key = _KEYS[mapping.entity]
    groups: dict[tuple[Any, ...], list[ParsedRow]] = defaultdict(list)
    for row in rows:
        values = row.values[key.section]
        if any((key.section, name) in row.failed for name in key.fields) or values.get(key.fields[0]) is None:
            continue
        groups[tuple(_folded(key, values.get(name)) for name in key.fields)].append(row)
    column = mapping.column_for(key.section, key.fields[0])
    for value, group in groups.items():
        if len(group) < 2:
            continue
        shown = " / ".join(_show(part) for part in value if part is not None)
        spellings = sorted({str(r.values[key.section].get(key.fields[0])) for r in group})
        if key.section == "invoice":
            shown = " / ".join(spellings) + (" (differing only in case)" if len(spellings) > 1 else "")
        reason = f"{key.label} {shown} appears {len(group)} times in the file ({_lines(r.line for r in group)})"
        for row in group:
            row.add_error(column, reason)


def _conflicts(
    rows: list[ParsedRow], group_of: Callable[[ParsedRow], Any], section: str, targets: Iterable[str]
) -> Iterable[tuple[Any, str, dict[Any, list[ParsedRow]]]]:
    """(group, target, rows by value) for every target that takes more than one value within a group."""
    groups: dict[Any, list[ParsedRow]] = defaultdict(list)
    for row in rows:
        group = group_of(row)
        if group is not None:
            groups[group].append(row)
    for group, members in groups.items():
        if len(members) < 2:
            continue
        for target in targets:
            by_value: dict[Any, list[ParsedRow]] = defaultdict(list)
            for row in members:
                value = row.values[section].get(target)
                if value is not None:  # a blank optional value says nothing
                    by_value[value].append(row)
            if len(by_value) > 1:
                yield group, target, by_value


def _conflicting_customers(mapping: ImportMapping, rows: list[ParsedRow]) -> None:
    assert mapping.customer is not None
    targets = [target for target, spec in mapping.customer.items() if spec.template is None]
    # A row rejected for its own reasons contributes nothing to its customer, so it cannot conflict.
    known = [row for row in rows if row.ok and row.values["customer"].get("external_id") is not None]
    conflicts = _conflicts(known, lambda row: row.values["customer"].get("external_id"), "customer", targets)
    for customer, target, by_value in conflicts:
        label = mapping.column_for("customer", target) or target
        variants = "; ".join(f"{_show(value)} ({_lines(r.line for r in group)})" for value, group in by_value.items())
        reason = f"customer {customer} has conflicting {label} values in this file: {variants}"
        for group in by_value.values():
            for row in group:
                row.add_error(mapping.column_for("customer", target), reason)


def _payment_reference(row: ParsedRow) -> str | None:
    reference: str | None = row.values["payment"].get("reference")
    return reference


def _assemble_payments(mapping: ImportMapping, rows: list[ParsedRow]) -> dict[str, PaymentRecord]:
    for reference, target, by_value in _conflicts(rows, _payment_reference, "payment", _PAYMENT_FIELDS):
        label = mapping.column_for("payment", target) or target
        variants = "; ".join(f"{_show(value)} ({_lines(r.line for r in group)})" for value, group in by_value.items())
        reason = f"payment {reference} has conflicting {label} values in this file: {variants}"
        for group in by_value.values():
            for row in group:
                row.add_error(mapping.column_for("payment", target), reason)
    groups: dict[str, list[ParsedRow]] = defaultdict(list)
    for row in rows:
        reference = _payment_reference(row)
        if reference is not None:
            groups[reference].append(row)
    payments = {}
    for reference, group in groups.items():
        record = _assemble_payment(mapping, reference, group)
        if record is not None:
            payments[reference] = record
    return payments


def _assemble_payment(mapping: ImportMapping, reference: str, group: list[ParsedRow]) -> PaymentRecord | None:
    if any(not row.ok or row.payment is None for row in group):
        return None
    first = group[0].payment
    assert first is not None
    if len(group) == 1:
        return first
    applied_column = mapping.column_for("payment", "applied_amount")
    unsplit = [row for row in group if row.payment and row.payment.allocations and not row.applied_amount_given]
    for row in unsplit:
        row.add_error(applied_column, f"payment {reference} is split over several lines; each needs its applied amount")
    if unsplit:
        return None
    allocations = tuple(allocation for row in group if row.payment for allocation in row.payment.allocations)
    lines = tuple(row.line for row in group)
    try:
        return PaymentRecord.model_validate(
            {
                **first.model_dump(exclude={"allocations", "source_lines"}),
                "allocations": allocations,
                "source_lines": lines,
            }
        )
    except ValidationError as error:
        for item in error.errors():
            column = source_column(mapping, "payment", str(item["loc"][0]) if item["loc"] else None)
            for row in group:
                row.add_error(column, f"payment {reference}: {str(item['msg']).removeprefix('Value error, ')}")
        return None


def spread_payment_failures(mapping: ImportMapping, rows: list[ParsedRow]) -> None:
    """A payment is imported whole or not at all: one bad line rejects the payment's other lines too."""
    if mapping.entity != "payments":
        return
    groups: dict[str, list[ParsedRow]] = defaultdict(list)
    for row in rows:
        reference = _payment_reference(row)
        if reference is not None:
            groups[reference].append(row)
    column = mapping.column_for("payment", "reference")
    for reference, group in groups.items():
        bad = [row.line for row in group if not row.ok]
        if not bad:
            continue
        for row in group:
            if row.ok:
                row.add_error(column, f"payment {reference} is rejected because of {_lines(bad)}")
