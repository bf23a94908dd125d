"""Where the external test data lives (copied into the repo from shared/data; provenance in its SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

EXTERNAL_DATA = Path(__file__).resolve().parent.parent / "data" / "external"
IBM_SAMPLE = EXTERNAL_DATA / "ibm_ar_late_payments.csv"
IBM_SAMPLE_DIRTY = EXTERNAL_DATA / "ibm_ar_late_payments_dirty.csv"
POLICY_DOCUMENTS = EXTERNAL_DATA / "policies"
