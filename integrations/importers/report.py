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
    seconds: float = 0.0


__all__ = ["EntityCounts", "ImportReport", "RowError"]
