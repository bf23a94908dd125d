"""ERP import: CSV and Excel files through a YAML column mapping into the credit database."""

from integrations.importers.importer import import_file
from integrations.importers.mapping import ImportMapping, list_mappings, load_mapping
from integrations.importers.report import EntityCounts, ImportReport, RowError

__all__ = ["EntityCounts", "ImportMapping", "ImportReport", "RowError", "import_file", "list_mappings", "load_mapping"]
