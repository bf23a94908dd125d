"""One row of a file: its fields converted, its records built and validated, every problem kept as a RowError."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from core.amounts import NumberFormat, amount_in
from core.dates import start_of_day_utc
from core.errors import CreditDeskError
from core.money import ISO_4217
from db.models import DisputeReason, InvoiceKind
from db.queries.imports import (
    AllocationRecord,
    CreditLimitRecord,
    CustomerRecord,
    DisputeRecord,
    InvoiceRecord,
    OrderRecord,
    PaymentRecord,
)
from integrations.importers.convert import ConversionError, convert, is_blank
from integrations.importers.mapping import IMPLIED_CUSTOMER_ID, TARGETS, FieldSpec, ImportMapping
from integrations.importers.reader import RawValue, SourceRow
from integrations.importers.report import RowError

SETTLEMENT_REFERENCE = "SETTLE-{invoice.number}"

# Which mapping field a record field comes from, per entity, to point errors at the right column.
# "*" stands for "the field of the same name in that section".
_ALIASES: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    "invoices": {
        "customer": {"external_id": ("invoice", "customer_external_id"), "*": ("customer", "*")},
        "invoice": {"*": ("invoice", "*")},
        "payment": {
            "reference": ("settlement", "reference"),
            "received_date": ("settlement", "date"),
            "method": ("settlement", "method"),
            "amount": ("invoice", "amount"),
            "currency": ("invoice", "currency"),
            "customer_external_id": ("invoice", "customer_external_id"),
            "allocations": ("settlement", "date"),
            "settles_balance": ("settlement", "date"),
        },
        "allocation": {
            "invoice_number": ("invoice", "number"),
            "amount": ("invoice", "amount"),
            "currency": ("invoice", "currency"),
        },
        "dispute": {
            "invoice_number": ("invoice", "number"),
            "amount": ("invoice", "amount"),
            "currency": ("invoice", "currency"),
            "opened_at": ("invoice", "issue_date"),
            "resolved_at": ("settlement", "date"),
            "*": ("dispute", "*"),
        },
    },
    "customers": {"customer": {"*": ("customer", "*")}},
    "payments": {
        "payment": {"allocations": ("payment", "applied_amount"), "*": ("payment", "*")},
        "allocation": {"amount": ("payment", "applied_amount"), "*": ("payment", "*")},
    },
    "orders": {
        "customer": {"external_id": ("order", "customer_external_id"), "*": ("customer", "*")},
        "order": {"*": ("order", "*")},
    },
    "credit_limits": {"credit_limit": {"set_by_name": ("credit_limit", "set_by"), "*": ("credit_limit", "*")}},
}


def source_field(mapping: ImportMapping, record: str, field_name: str | None) -> tuple[str, str] | None:
    """The (section, target) a record's field was read from, if the mapping has one."""
    if field_name is None:
        return None
    aliases = _ALIASES[mapping.entity].get(record, {})
    section, target = aliases.get(field_name) or aliases.get("*", (record, "*"))
    target = field_name if target == "*" else target
    if target not in TARGETS.get(section, {}):
        return None
    return section, target


def source_column(mapping: ImportMapping, record: str, field_name: str | None) -> str | None:
    found = source_field(mapping, record, field_name)
    return None if found is None else mapping.column_for(*found)


@dataclass
class ParsedRow:
    line: int
    raw: dict[str, RawValue]
    values: dict[str, dict[str, Any]]
    failed: set[tuple[str, str]] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)
    customer: CustomerRecord | None = None
    invoice: InvoiceRecord | None = None
    settlement: PaymentRecord | None = None
    dispute: DisputeRecord | None = None
    payment: PaymentRecord | None = None
    applied_amount_given: bool = False
    order: OrderRecord | None = None
    credit_limit: CreditLimitRecord | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def raw_text(self, column: str | None) -> str | None:
        if column is None:
            return None
        value = self.raw.get(column)
        if value is None:
            return None
        return value.isoformat() if isinstance(value, date) else value

    def add_error(self, column: str | None, reason: str, value: str | None = None) -> None:
        error = RowError(
            line=self.line, column=column, value=value if value is not None else self.raw_text(column), reason=reason
        )
        if error not in self.errors:
            self.errors.append(error)


def parse_row(mapping: ImportMapping, row: SourceRow, number_format: NumberFormat | None = None) -> ParsedRow:
    """`number_format`: how the file writes money (declared by the mapping or detected); English by default."""
    sections = mapping.sections()
    parsed = ParsedRow(line=row.line, raw=row.values, values={section: {} for section in sections})
    for section, fields in sections.items():
        for target, spec in fields.items():
            if spec.template is None:
                _fill(parsed, mapping, section, target, spec, _raw(row, spec), number_format)
    if "customer" in sections and mapping.is_nested_customer:
        external_id = parsed.values[mapping.main_section].get("customer_external_id")
        if external_id is not None:
            parsed.values["customer"][IMPLIED_CUSTOMER_ID] = external_id
    for section, fields in sections.items():
        for target, spec in fields.items():
            if spec.template is None:
                continue
            rendered = _render(spec.template, section, parsed.values)
            if rendered is None and _template_refs(spec.template, section) & parsed.failed:
                parsed.failed.add((section, target))  # the field it is built from has its own error
                continue
            _fill(parsed, mapping, section, target, spec, rendered, number_format)
    _check_extra_columns(parsed, mapping)
    _check_currencies(parsed, mapping)
    _run_checks(parsed, mapping)
    _BUILDERS[mapping.entity](parsed, mapping)
    return parsed


def _raw(row: SourceRow, spec: FieldSpec) -> RawValue | None:
    if spec.column is not None:
        value = row.values.get(spec.column, "")
        return spec.default if is_blank(value) and spec.default is not None else value
    return spec.constant


def _template_refs(template: str, section: str) -> set[tuple[str, str]]:
    refs = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            ref_section, _, ref_target = name.rpartition(".")
            refs.add((ref_section or section, ref_target))
    return refs


def _render(template: str, section: str, values: dict[str, dict[str, Any]]) -> str | None:
    parts: list[str] = []
    for literal, name, format_spec, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name is None:
            continue
        ref_section, _, ref_target = name.rpartition(".")
        value = values.get(ref_section or section, {}).get(ref_target)
        if value is None:
            return None
        text = value.value if isinstance(value, StrEnum) else value.isoformat() if isinstance(value, date) else value
        parts.append(format(text, format_spec or ""))
    return "".join(parts)


def _fill(
    parsed: ParsedRow,
    mapping: ImportMapping,
    section: str,
    target: str,
    spec: FieldSpec,
    raw: RawValue | None,
    number_format: NumberFormat | None = None,
) -> None:
    known = mapping.target(section, target)
    label = spec.source_label(section, target)
    if raw is None or is_blank(raw):
        if mapping.is_required(section, target):
            parsed.failed.add((section, target))
            parsed.add_error(spec.column, f"{label} is required but blank" if spec.column else f"{label} is required")
        return
    try:
        parsed.values[section][target] = convert(raw, spec, known.field_type, known.enum, label, number_format)
    except ConversionError as error:
        parsed.failed.add((section, target))
        parsed.add_error(spec.column, str(error), None if spec.column else str(raw))


def _check_extra_columns(parsed: ParsedRow, mapping: ImportMapping) -> None:
    for column, spec in mapping.extra_columns.items():
        raw = parsed.raw.get(column, "")
        if is_blank(raw):
            if spec.required:
                parsed.add_error(column, f"{column} is required but blank")
            continue
        try:
            convert(raw, spec, spec.type or "str", None, column)
        except ConversionError as error:
            parsed.add_error(column, str(error))


def _check_currencies(parsed: ParsedRow, mapping: ImportMapping) -> None:
    """Every amount of a section must be in that section's currency: a cell naming another currency (`EUR 100` in
    a USD row) or with more decimals than the currency has (`1000.5` JPY) is a bad row, never silently converted."""
    for section, fields in mapping.sections().items():
        currency = parsed.values.get(section, {}).get("currency")
        if not isinstance(currency, str) or currency.strip().upper() not in ISO_4217:
            continue  # a missing or invalid currency has its own error
        for target, spec in fields.items():
            value = parsed.values[section].get(target)
            if mapping.target(section, target).field_type != "money" or not isinstance(value, Decimal):
                continue
            try:
                parsed.values[section][target] = amount_in(
                    value, currency.strip().upper(), field=spec.source_label(section, target)
                )
            except CreditDeskError as error:
                del parsed.values[section][target]  # as when the cell cannot be read at all
                parsed.failed.add((section, target))
                parsed.add_error(spec.column, error.message)


def _field_label(mapping: ImportMapping, ref: str) -> str:
    section, _, target = ref.partition(".")
    return mapping.column_for(section, target) or ref


def _run_checks(parsed: ParsedRow, mapping: ImportMapping) -> None:
    for check in mapping.checks:
        raw = parsed.raw.get(check.column, "")
        start = _lookup(parsed.values, check.start)
        end = _lookup(parsed.values, check.end)
        if is_blank(raw) or start is None or end is None:
            continue
        text = raw.isoformat() if isinstance(raw, date) else raw.strip()
        try:
            stated = int(text)
        except ValueError:
            parsed.add_error(check.column, f"{text!r} is not a whole number of days")
            continue
        days = (end - start).days
        expected = days if check.kind == "days_between" else max(0, days)
        if stated != expected:
            formula = f"{_field_label(mapping, check.end)} - {_field_label(mapping, check.start)}"
            if check.kind == "days_late":
                formula = f"max(0, {formula})"
            parsed.add_error(check.column, f"{check.column} is {stated} but {formula} is {expected}")


def _lookup(values: dict[str, dict[str, Any]], ref: str) -> Any:
    section, _, target = ref.partition(".")
    return values.get(section, {}).get(target)


def _build(
    parsed: ParsedRow,
    mapping: ImportMapping,
    model: type[BaseModel],
    record: str,
    data: dict[str, Any],
    *,
    quiet: frozenset[str] = frozenset(),
) -> Any:
    """Validate one record; errors go to the row, except on fields whose source already failed or is `quiet`."""
    try:
        return model.model_validate({key: value for key, value in data.items() if value is not None})
    except ValidationError as error:
        for item in error.errors():
            field_name = str(item["loc"][0]) if item["loc"] else None
            source = source_field(mapping, record, field_name)
            if item["type"] == "missing" or field_name in quiet or (source is not None and source in parsed.failed):
                continue
            column = None if source is None else mapping.column_for(*source)
            parsed.add_error(column, str(item["msg"]).removeprefix("Value error, "))
        return None


def _customer(parsed: ParsedRow, mapping: ImportMapping) -> None:
    if "customer" in parsed.values:
        data = {**parsed.values["customer"], "source_lines": (parsed.line,)}
        parsed.customer = _build(parsed, mapping, CustomerRecord, "customer", data)


def _build_invoice_row(parsed: ParsedRow, mapping: ImportMapping) -> None:
    _customer(parsed, mapping)
    data = {**parsed.values["invoice"], "source": mapping.source, "source_lines": (parsed.line,)}
    parsed.invoice = invoice = _build(parsed, mapping, InvoiceRecord, "invoice", data)
    settled = _settlement_date(parsed, mapping)
    if invoice is None:
        return
    if settled is not None:
        parsed.settlement = _settlement(parsed, mapping, invoice, settled)
    flagged = parsed.values.get("dispute", {}).get("flag")
    if flagged and ("settlement", "date") not in parsed.failed:
        dispute = parsed.values["dispute"]
        data = {
            "invoice_number": invoice.number,
            "reason": dispute.get("reason", DisputeReason.UNSPECIFIED),
            "amount": abs(invoice.amount),
            "currency": invoice.currency,
            "opened_at": start_of_day_utc(invoice.issue_date),
            "resolved_at": start_of_day_utc(settled) if settled else None,
            "resolution": dispute.get("resolution") if settled else None,
            "source_lines": (parsed.line,),
        }
        parsed.dispute = _build(parsed, mapping, DisputeRecord, "dispute", data)


def _settlement_date(parsed: ParsedRow, mapping: ImportMapping) -> date | None:
    settled: date | None = parsed.values.get("settlement", {}).get("date")
    issued: date | None = parsed.values["invoice"].get("issue_date")
    if settled is not None and issued is not None and settled < issued:
        column = mapping.column_for("settlement", "date")
        parsed.add_error(column, f"settled on {settled}, before the invoice date {issued}")
        parsed.failed.add(("settlement", "date"))
        return None
    return settled


def _settlement(
    parsed: ParsedRow, mapping: ImportMapping, invoice: InvoiceRecord, settled: date
) -> PaymentRecord | None:
    if invoice.kind != InvoiceKind.INVOICE:
        parsed.add_error(mapping.column_for("settlement", "date"), "a credit note cannot be settled by a payment")
        return None
    values = parsed.values["settlement"]
    reference = values.get("reference") or _render(SETTLEMENT_REFERENCE, "settlement", parsed.values)
    lines = (parsed.line,)
    allocation = AllocationRecord(invoice_number=invoice.number, amount=invoice.amount, source_lines=lines)
    data = {
        "reference": reference,
        "customer_external_id": invoice.customer_external_id,
        "received_date": settled,
        "amount": invoice.amount,
        "currency": invoice.currency,
        "method": values.get("method"),
        "allocations": (allocation,),
        "settles_balance": True,
        "source_lines": lines,
    }
    record: PaymentRecord | None = _build(parsed, mapping, PaymentRecord, "payment", data)
    return record


def _build_customer_row(parsed: ParsedRow, mapping: ImportMapping) -> None:
    _customer(parsed, mapping)


def _build_payment_row(parsed: ParsedRow, mapping: ImportMapping) -> None:
    values = parsed.values["payment"]
    lines = (parsed.line,)
    applied: Decimal | None = values.get("applied_amount")
    parsed.applied_amount_given = applied is not None
    number = values.get("invoice_number")
    allocation: AllocationRecord | None = None
    if number is not None:
        amount = applied if applied is not None else values.get("amount")
        data = {"invoice_number": number, "amount": amount, "source_lines": lines}
        allocation = _build(parsed, mapping, AllocationRecord, "allocation", data)
    elif applied is not None:
        parsed.add_error(mapping.column_for("payment", "applied_amount"), "an applied amount needs an invoice number")
    elif values.get("customer_external_id") is None and ("payment", "invoice_number") not in parsed.failed:
        column = mapping.column_for("payment", "customer_external_id")
        parsed.add_error(column, "a payment that is not applied to an invoice needs its customer")
    fields = ("reference", "customer_external_id", "received_date", "amount", "currency", "method")
    data = {key: values.get(key) for key in fields}
    data.update(allocations=(allocation,) if allocation else (), source_lines=lines)
    quiet = frozenset() if allocation else frozenset({"allocations"})
    parsed.payment = _build(parsed, mapping, PaymentRecord, "payment", data, quiet=quiet)


def _build_order_row(parsed: ParsedRow, mapping: ImportMapping) -> None:
    _customer(parsed, mapping)
    data = {**parsed.values["order"], "source_lines": (parsed.line,)}
    parsed.order = _build(parsed, mapping, OrderRecord, "order", data)


def _build_credit_limit_row(parsed: ParsedRow, mapping: ImportMapping) -> None:
    data = dict(parsed.values["credit_limit"])
    data["set_by_name"] = data.pop("set_by", None)
    valid_from: date | None = data.pop("valid_from", None)
    data.update(
        valid_from=start_of_day_utc(valid_from) if valid_from else None,
        source=mapping.source,
        source_lines=(parsed.line,),
    )
    parsed.credit_limit = _build(parsed, mapping, CreditLimitRecord, "credit_limit", data)


_BUILDERS = {
    "invoices": _build_invoice_row,
    "customers": _build_customer_row,
    "payments": _build_payment_row,
    "orders": _build_order_row,
    "credit_limits": _build_credit_limit_row,
}
