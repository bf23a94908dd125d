"""Import mappings: which records a file's rows produce and how each target field is read from the columns.

A mapping is a YAML file validated by `ImportMapping`:

    entity: invoices            # customers | invoices | payments | orders | credit_limits
    source: erp                 # stored as invoice.source / credit_limit.source
    reader: {delimiter: ";", encoding: utf-8-sig, sheet: 0, locale: de_DE}   # delimiter and number format:
                                # detected (and reported) when left out; or decimal_separator/thousands_separator
    invoice:                    # the entity's main section; see TARGETS for every section's fields
      number: {column: DocNo, required: true, zero_pad: 10}
      issue_date: {column: DocDate, type: date, formats: ["%d.%m.%Y", "%Y-%m-%d"]}
      kind: {column: DocType, type: enum, default: INV, values: {INV: invoice, CRN: credit_note}}
      currency: {constant: EUR}
    customer:                   # invoices and orders may also upsert their customer from the same row
      name: {template: "Customer {external_id}"}
    settlement: {date: {column: PaidOn, ...}}       # invoices only: paid in full on that date
    dispute: {flag: {column: Disputed, type: bool, true_values: ["Yes"], false_values: ["No"]}}
    extra_columns: {Checked: {type: date, formats: [...], required: true}}   # validated, not stored
    checks: [{kind: days_between, column: DaysToSettle, start: invoice.issue_date, end: settlement.date}]

A field takes exactly one of `column`, `constant` or `template` (`{field}` of its section or `{section.field}`).
Types: str (strip, upper/lower, zero_pad of digit-only ids), int, money (`core.amounts.parse_amount` in the file's
number format; `12,50` is refused, never read as 1,250, unless the format has a decimal comma), date (explicit
strptime `formats`), bool (`true_values`/`false_values`, case-insensitive) and enum (`values` maps file values to
the enum's). A field's type is fixed by its target; `type` may restate it. Mandatory targets are always required;
`required: true` makes an optional one required, and its column must then be in the header.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.amounts import NumberFormat
from core.errors import CreditDeskError, ErrorCode
from db.models import DisputeReason, InvoiceKind, OrderStatus

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"

FieldType = Literal["str", "int", "money", "date", "bool", "enum"]
Entity = Literal["customers", "invoices", "payments", "orders", "credit_limits"]

DEFAULT_TRUE = ("true", "yes", "y", "1")
DEFAULT_FALSE = ("false", "no", "n", "0")


@dataclass(frozen=True)
class Target:
    """A field a section can fill: its type, whether every row needs it, and the enum it belongs to."""

    field_type: FieldType
    mandatory: bool = False
    enum: type[StrEnum] | None = None
    must_map: bool = False  # the section means nothing without it, though a row may leave it blank

    @property
    def needed(self) -> bool:
        return self.mandatory or self.must_map


_CUSTOMER_TARGETS = {
    "external_id": Target("str", mandatory=True),
    "name": Target("str"),
    "country": Target("str"),
    "region": Target("str"),
    "industry": Target("str"),
    "segment": Target("str"),
    "currency": Target("str"),
    "payment_terms_days": Target("int"),
    "contact_name": Target("str"),
    "contact_email": Target("str"),
    "customer_since": Target("date"),
}

TARGETS: dict[str, dict[str, Target]] = {
    "customer": _CUSTOMER_TARGETS,
    "invoice": {
        "number": Target("str", mandatory=True),
        "customer_external_id": Target("str", mandatory=True),
        "kind": Target("enum", enum=InvoiceKind),
        "issue_date": Target("date", mandatory=True),
        "due_date": Target("date", mandatory=True),
        "amount": Target("money", mandatory=True),
        "currency": Target("str", mandatory=True),
        "po_number": Target("str"),
        "paperless": Target("bool"),
    },
    "settlement": {
        "date": Target("date", must_map=True),
        "reference": Target("str"),
        "method": Target("str"),
    },
    "dispute": {
        "flag": Target("bool", must_map=True),
        "reason": Target("enum", enum=DisputeReason),
        "resolution": Target("str"),
    },
    "payment": {
        "reference": Target("str", mandatory=True),
        "customer_external_id": Target("str"),
        "received_date": Target("date", mandatory=True),
        "amount": Target("money", mandatory=True),
        "currency": Target("str", mandatory=True),
        "method": Target("str"),
        "invoice_number": Target("str"),
        "applied_amount": Target("money"),
    },
    "order": {
        "number": Target("str", mandatory=True),
        "customer_external_id": Target("str", mandatory=True),
        "order_date": Target("date", mandatory=True),
        "requested_ship_date": Target("date"),
        "amount": Target("money", mandatory=True),
        "open_amount": Target("money"),
        "currency": Target("str", mandatory=True),
        "status": Target("enum", enum=OrderStatus),
    },
    "credit_limit": {
        "customer_external_id": Target("str", mandatory=True),
        "amount": Target("money", mandatory=True),
        "currency": Target("str", mandatory=True),
        "valid_from": Target("date"),
        "review_date": Target("date"),
        "reason": Target("str"),
        "set_by": Target("str"),
    },
}

# The main section of each entity, and the sections its rows may also fill.
ENTITY_SECTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "customers": ("customer", frozenset()),
    "invoices": ("invoice", frozenset({"customer", "settlement", "dispute"})),
    "payments": ("payment", frozenset()),
    "orders": ("order", frozenset({"customer"})),
    "credit_limits": ("credit_limit", frozenset()),
}
SECTION_ORDER = ("invoice", "payment", "order", "credit_limit", "customer", "settlement", "dispute")
# A customer section next to an invoice or order takes its external id from the row's customer_external_id.
IMPLIED_CUSTOMER_ID = "external_id"


class FieldSpec(BaseModel):
    """How one target field gets its value: from a `column`, a `constant`, or a `template` of other fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    constant: str | None = None
    template: str | None = None
    default: str | None = Field(default=None, description="Used when the column is blank or absent.")
    type: FieldType | None = None
    required: bool | None = None
    formats: tuple[str, ...] = ()
    true_values: tuple[str, ...] = ()
    false_values: tuple[str, ...] = ()
    values: dict[str, str] = {}
    strip: bool = True
    upper: bool = False
    lower: bool = False
    zero_pad: int | None = Field(default=None, ge=1, le=40)

    @field_validator("constant", "default", mode="before")
    @classmethod
    def _scalar_as_text(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return value

    @field_validator("formats", "true_values", "false_values", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [("true" if item else "false") if isinstance(item, bool) else str(item) for item in value]
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key): str(item) for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        sources = [name for name in ("column", "constant", "template") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of column, constant or template")
        if self.default is not None and self.column is None:
            raise ValueError("default only applies to a column")
        if self.upper and self.lower:
            raise ValueError("upper and lower exclude each other")
        return self

    def source_label(self, section: str, target: str) -> str:
        return self.column or f"{section}.{target}"


class ReaderOptions(BaseModel):
    """How the file is written. Leave `delimiter` out to detect it; declare how numbers are written with `locale`
    (babel's, e.g. de_DE for 1.250,00) and/or `decimal_separator` / `thousands_separator`; without them the format is
    detected from the money columns and stated in the import report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str | None = Field(default=None, min_length=1, max_length=1, description="Default: detected.")
    encoding: str = "utf-8-sig"
    sheet: str | int = Field(default=0, description="Excel sheet name or 0-based index.")
    locale: str | None = Field(default=None, max_length=20, description="How numbers are written, e.g. de_DE.")
    decimal_separator: str | None = Field(default=None, description="'.' or ','")
    thousands_separator: str | None = Field(default=None, description="'.', ',', an apostrophe or a space")

    @model_validator(mode="after")
    def _valid_number_format(self) -> ReaderOptions:
        try:
            self.number_format()
        except CreditDeskError as error:
            raise ValueError(error.message) from None
        return self

    def number_format(self) -> NumberFormat | None:
        """The declared number format, or None when the file's is to be detected."""
        if self.locale is None and self.decimal_separator is None and self.thousands_separator is None:
            return None
        return _number_format(self.locale, self.decimal_separator, self.thousands_separator)


@lru_cache(maxsize=64)
def _number_format(locale: str | None, decimal: str | None, group: str | None) -> NumberFormat:
    return NumberFormat.of(locale, decimal_separator=decimal, thousands_separator=group)


class ConsistencyCheck(BaseModel):
    """`days_between`: column == end - start in days; `days_late`: column == max(0, end - start).

    `start` and `end` name date fields as `section.field`; a row where any of the three is blank is not checked.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["days_between", "days_late"]
    column: str
    start: str
    end: str


class ImportMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=60)
    description: str = ""
    entity: Entity
    source: str = Field(default="erp", min_length=1, max_length=40, description="Stored as invoice.source.")
    reader: ReaderOptions = ReaderOptions()
    customer: dict[str, FieldSpec] | None = None
    invoice: dict[str, FieldSpec] | None = None
    settlement: dict[str, FieldSpec] | None = None
    dispute: dict[str, FieldSpec] | None = None
    payment: dict[str, FieldSpec] | None = None
    order: dict[str, FieldSpec] | None = None
    credit_limit: dict[str, FieldSpec] | None = None
    extra_columns: dict[str, FieldSpec] = Field(
        default={}, description="Columns that are checked (type, required) but not stored."
    )
    checks: tuple[ConsistencyCheck, ...] = ()

    @field_validator("extra_columns", mode="before")
    @classmethod
    def _key_is_column(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: {"column": key, **spec} if isinstance(spec, dict) and "column" not in spec else spec
                for key, spec in value.items()
            }
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ImportMapping:
        problems = [*self._section_problems()]
        for section, fields in self.sections().items():
            for target, spec in fields.items():
                problems.extend(self._field_problems(section, target, spec))
            problems.extend(
                f"{section}.{target}: is missing; the {section} section needs it"
                for target, known in TARGETS[section].items()
                if known.needed and target not in fields and not self._implied(section, target)
            )
        for column, spec in self.extra_columns.items():
            if spec.column != column:
                problems.append(f"extra_columns.{column}: the key is the column; give no column, constant or template")
            problems.extend(_type_option_problems(f"extra_columns.{column}", spec.type or "str", spec, None))
        problems.extend(self._check_problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _section_problems(self) -> list[str]:
        main, optional = ENTITY_SECTIONS[self.entity]
        problems = [f"entity {self.entity} needs a '{main}' section"] if getattr(self, main) is None else []
        problems.extend(
            f"section '{section}' is not used by entity {self.entity}"
            for section in TARGETS
            if getattr(self, section) is not None and section != main and section not in optional
        )
        return problems

    def _field_problems(self, section: str, target: str, spec: FieldSpec) -> list[str]:
        where = f"{section}.{target}"
        known = TARGETS[section].get(target)
        if known is None:
            return [f"{where}: unknown field; {section} takes {', '.join(TARGETS[section])}"]
        if section == "customer" and target == IMPLIED_CUSTOMER_ID and self.is_nested_customer:
            return [f"{where}: comes from the {self.main_section} row's customer_external_id; leave it out"]
        problems = []
        if spec.type is not None and spec.type != known.field_type:
            problems.append(f"{where}: type must be {known.field_type}, not {spec.type}")
        if known.mandatory and spec.required is False:
            problems.append(f"{where}: is always required")
        problems.extend(_type_option_problems(where, known.field_type, spec, known.enum))
        if spec.template is not None:
            problems.extend(self._template_problems(section, where, spec.template))
        return problems

    def _template_problems(self, section: str, where: str, template: str) -> list[str]:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        except ValueError as error:
            return [f"{where}: template {template!r} is malformed ({error})"]
        problems = []
        for name in names:
            ref_section, _, ref_target = name.rpartition(".")
            spec = self.field(ref_section or section, ref_target)
            implied = (ref_section or section) == "customer" and ref_target == IMPLIED_CUSTOMER_ID
            if spec is None and not implied:
                problems.append(f"{where}: template refers to {name!r}, which this mapping does not fill")
            elif spec is not None and spec.template is not None:
                problems.append(f"{where}: template refers to {name!r}, which is itself a template")
        return problems

    def _check_problems(self) -> list[str]:
        problems = []
        for index, check in enumerate(self.checks):
            for ref in (check.start, check.end):
                section, _, target = ref.partition(".")
                known = TARGETS.get(section, {}).get(target)
                if known is None or known.field_type != "date" or self.field(section, target) is None:
                    problems.append(f"checks[{index}]: {ref!r} is not a date field filled by this mapping")
        return problems

    def _implied(self, section: str, target: str) -> bool:
        return section == "customer" and target == IMPLIED_CUSTOMER_ID and self.is_nested_customer

    @property
    def main_section(self) -> str:
        return ENTITY_SECTIONS[self.entity][0]

    @property
    def is_nested_customer(self) -> bool:
        return self.entity != "customers"

    def sections(self) -> dict[str, dict[str, FieldSpec]]:
        """The sections present, in the order their fields are evaluated."""
        return {name: fields for name in SECTION_ORDER if (fields := getattr(self, name)) is not None}

    def field(self, section: str, target: str) -> FieldSpec | None:
        fields: dict[str, FieldSpec] | None = getattr(self, section, None) if section in TARGETS else None
        return None if fields is None else fields.get(target)

    def target(self, section: str, target: str) -> Target:
        return TARGETS[section][target]

    def is_required(self, section: str, target: str) -> bool:
        spec = self.field(section, target)
        return bool(spec and spec.required) or TARGETS[section][target].mandatory

    def column_for(self, section: str, target: str) -> str | None:
        spec = self.field(section, target)
        return None if spec is None else spec.column

    def required_columns(self) -> list[str]:
        """Columns the file must have: those of required fields, of required extra columns and of checks."""
        columns: list[str] = []
        for section, fields in self.sections().items():
            columns.extend(
                spec.column for target, spec in fields.items() if spec.column and self.is_required(section, target)
            )
        columns.extend(column for column, spec in self.extra_columns.items() if spec.required)
        for check in self.checks:
            columns.append(check.column)
            columns.extend(column for ref in (check.start, check.end) if (column := self._ref_column(ref)))
        return list(dict.fromkeys(columns))

    def _ref_column(self, ref: str) -> str | None:
        section, _, target = ref.partition(".")
        return self.column_for(section, target)

    def columns(self) -> list[str]:
        """Every column the mapping reads."""
        columns = [spec.column for fields in self.sections().values() for spec in fields.values() if spec.column]
        columns.extend(self.extra_columns)
        columns.extend(check.column for check in self.checks)
        return list(dict.fromkeys(columns))


def _type_option_problems(where: str, field_type: FieldType, spec: FieldSpec, enum: type[StrEnum] | None) -> list[str]:
    problems = []
    if field_type == "date" and not spec.formats:
        problems.append(f"{where}: a date needs formats (strptime patterns such as '%Y-%m-%d')")
    if field_type != "date" and spec.formats:
        problems.append(f"{where}: formats only apply to dates")
    if any("%" not in pattern for pattern in spec.formats):
        problems.append(f"{where}: formats must be strptime patterns such as '%m/%d/%Y'")
    if field_type != "bool" and (spec.true_values or spec.false_values):
        problems.append(f"{where}: true_values/false_values only apply to bool fields")
    if field_type == "bool" and _folded(spec.true_values) & _folded(spec.false_values):
        problems.append(f"{where}: a value cannot be both true and false")
    if field_type != "enum" and spec.values:
        problems.append(f"{where}: values (an enum's value map) only apply to enum fields")
    if enum is not None:
        allowed = {member.value for member in enum}
        unknown = sorted(set(spec.values.values()) - allowed)
        if unknown:
            problems.append(f"{where}: maps to {', '.join(unknown)}; allowed are {', '.join(sorted(allowed))}")
    if field_type != "str" and (spec.upper or spec.lower or spec.zero_pad):
        problems.append(f"{where}: upper, lower and zero_pad only apply to text fields")
    return problems


def _folded(values: tuple[str, ...]) -> set[str]:
    return {value.strip().casefold() for value in values}


class _MappingLoader(yaml.SafeLoader):
    """YAML without YAML 1.1's surprises: `Yes`/`No`/`on`/`off` and dates stay text; only true/false are booleans."""


_MappingLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MappingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def list_mappings() -> list[str]:
    """Names of the shipped mappings."""
    return sorted(path.stem for path in MAPPINGS_DIR.glob("*.yaml"))


def _mapping_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix.lower() in (".yaml", ".yml") or candidate.parent != Path("."):
        if not candidate.is_file():
            raise CreditDeskError(ErrorCode.NOT_FOUND, f"mapping file {name_or_path} does not exist")
        return candidate
    shipped = MAPPINGS_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        raise CreditDeskError(
            ErrorCode.NOT_FOUND,
            f"no shipped mapping named {name_or_path!r}; choose one of {', '.join(list_mappings())} "
            "or give the path of a YAML file",
        )
    return shipped


def _format_validation_error(error: ValidationError) -> list[str]:
    messages: list[str] = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        messages.extend(f"{where}: {part}" if where else part for part in message.split("; "))
    return messages


def parse_mapping(text: str, *, default_name: str, origin: str = "mapping") -> ImportMapping:
    """Validate a mapping given as YAML text; every problem is listed in the error's details."""
    try:
        data = yaml.load(text, Loader=_MappingLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise CreditDeskError(ErrorCode.INVALID_INPUT, f"{origin} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise CreditDeskError(ErrorCode.INVALID_INPUT, f"{origin} must be a YAML mapping of keys to values")
    data.setdefault("name", default_name)
    try:
        return ImportMapping.model_validate(data)
    except ValidationError as error:
        problems = _format_validation_error(error)
        raise CreditDeskError(
            ErrorCode.INVALID_INPUT,
            f"{origin} is invalid: {'; '.join(problems)}",
            details={"problems": problems},
        ) from None


def load_mapping(name_or_path: str) -> ImportMapping:
    """A shipped mapping by name (`ibm-ar`, the file stem) or any mapping YAML file by path."""
    path = _mapping_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CreditDeskError(ErrorCode.INVALID_INPUT, f"cannot read mapping {path}: {error}") from None
    return parse_mapping(text, default_name=path.stem, origin=f"mapping {path.name}")
