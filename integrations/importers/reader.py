"""Reading CSV and Excel files into rows of raw text, each with the line (or sheet row) it came from."""

from __future__ import annotations

import csv
import math
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import CreditDeskError, ErrorCode
from integrations.importers.mapping import ReaderOptions


class SheetNumber(str):
    """An Excel numeric cell as text ("1234.5"): a number, not text in the file's number format."""

    __slots__ = ()


# A cell is text, except that Excel date cells stay dates (their display format is not in the file).
RawValue = str | date
DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})


@dataclass(frozen=True)
class SourceRow:
    line: int
    values: dict[str, RawValue]


@dataclass(frozen=True)
class SourceTable:
    columns: list[str]
    rows: list[SourceRow]
    header_line: int = 1
    delimiter: str | None = None  # of a CSV file, as declared or detected
    delimiter_detected: bool = False


def rejected(message: str, *, line: int = 1, column: str | None = None) -> CreditDeskError:
    return CreditDeskError(
        ErrorCode.IMPORT_REJECTED,
        f"{message}; nothing was imported",
        details={"errors": [{"line": line, "column": column, "value": None, "reason": message}]},
    )


def read_table(path: Path, options: ReaderOptions) -> SourceTable:
    if not path.is_file():
        raise CreditDeskError(ErrorCode.NOT_FOUND, f"file {path} does not exist")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        records, lines = _read_excel(path, options)
        return _to_table(records, lines)
    if path.suffix.lower() == ".xls":
        raise CreditDeskError(ErrorCode.INVALID_INPUT, "old .xls workbooks are not supported; save as .xlsx or CSV")
    delimiter = options.delimiter or detect_delimiter(path, options.encoding)
    records, lines = _read_csv(path, options, delimiter)
    table = _to_table(records, lines)
    return SourceTable(table.columns, table.rows, table.header_line, delimiter, options.delimiter is None)


def detect_delimiter(path: Path, encoding: str) -> str:
    """The CSV delimiter, from the start of the file (csv.Sniffer over , ; tab |). A file whose header has none of
    them is one column: ","."""
    try:
        with path.open(encoding=encoding, newline="") as handle:
            sample = handle.read(_SNIFF_BYTES)
    except (UnicodeDecodeError, LookupError):
        raise rejected(f"the file is not {encoding} text; set reader.encoding in the mapping") from None
    header = next((line for line in sample.splitlines() if line.strip()), "")
    present = [char for char in DELIMITERS if char in header]
    if len(present) <= 1:
        return present[0] if present else ","
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        raise rejected(
            f"cannot tell the delimiter: the header contains {' and '.join(repr(c) for c in present)}; "
            "set reader.delimiter in the mapping"
        ) from None


def _read_csv(path: Path, options: ReaderOptions, delimiter: str) -> tuple[list[list[RawValue]], list[int]]:
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            header=None,
            sep=delimiter,
            encoding=options.encoding,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise rejected("the file is empty") from None
    except pd.errors.ParserError as error:
        raise rejected(f"the file is not a well-formed CSV: {str(error).strip()}") from None
    except (UnicodeDecodeError, LookupError):
        raise rejected(f"the file is not {options.encoding} text; set reader.encoding in the mapping") from None
    records: list[list[RawValue]] = [
        [_csv_cell(value) for value in row] for row in frame.itertuples(index=False, name=None)
    ]
    # Physical line numbers: a quoted value spanning lines moves every later record down.
    lines, line = [], 1
    for record in records:
        lines.append(line)
        line += 1 + sum(value.count("\n") for value in record if isinstance(value, str))
    return records, lines


def _csv_cell(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _read_excel(path: Path, options: ReaderOptions) -> tuple[list[list[RawValue]], list[int]]:
    try:
        frame = pd.read_excel(path, sheet_name=options.sheet, header=None, dtype=object, engine="openpyxl")
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as error:
        raise rejected(f"cannot read the workbook: {error}") from None
    records = [[_excel_cell(value) for value in row] for row in frame.itertuples(index=False, name=None)]
    # pandas keeps the sheet's leading empty rows, so position + 1 is the sheet row number.
    return records, list(range(1, len(records) + 1))


def _excel_cell(value: Any) -> RawValue:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)  # the shortest text that reads back as the same number
        return SheetNumber(text[:-2] if text.endswith(".0") else text)
    if isinstance(value, int):
        return SheetNumber(value)
    return str(value)


def _is_blank(record: list[RawValue]) -> bool:
    return all(isinstance(value, str) and not value.strip() for value in record)


def _to_table(records: list[list[RawValue]], lines: list[int]) -> SourceTable:
    numbered = [(line, record) for line, record in zip(lines, records, strict=True) if not _is_blank(record)]
    if not numbered:
        raise rejected("the file is empty")
    header_line, header = numbered[0]
    columns = [str(value).strip() for value in header]
    duplicates = sorted({name for name in columns if name and columns.count(name) > 1})
    if duplicates:
        raise rejected(f"the header repeats the column(s) {', '.join(duplicates)}", line=header_line)
    rows = [
        SourceRow(
            line, {name: record[index] if index < len(record) else "" for index, name in enumerate(columns) if name}
        )
        for line, record in numbered[1:]
    ]
    if not rows:
        raise rejected("the file has a header but no data rows", line=header_line)
    return SourceTable(columns=[name for name in columns if name], rows=rows, header_line=header_line)
