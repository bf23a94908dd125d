"""What an import tells its caller: counts per entity and every rejected row with the reason."""

from __future__ import annotations

from pydantic import BaseModel, Field

from db.queries.imports import EntityCounts


class RowError(BaseModel):
    """One problem on one row. `line` is the physical CSV line (the header is line 1) or the sheet row."""

    line: int
    column: str | None = None
    value: str | None = None
    reason: str


class ImportReport(BaseModel):
    file: str
    mapping: str
    entity: str
    dry_run: bool = False
    rows_read: int
    rows_imported: int = Field(description="Rows written (in a dry run: rows that would be written).")
    rows_rejected: int
    counts: dict[str, EntityCounts]
    errors: list[RowError] = []
    delimiter: str | None = Field(default=None, description="A CSV file's delimiter, as declared or detected.")
    number_format: str | None = Field(default=None, description="How money cells were read, e.g. de_DE (decimal ',').")
    notes: list[str] = Field(default=[], description="What was detected rather than declared, and how.")
    seconds: float = 0.0


__all__ = ["EntityCounts", "ImportReport", "RowError"]
