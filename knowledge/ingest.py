"""Ingestion: files and folders → chunks in the store, idempotently.

For every file the chunks are computed and compared with the chunks stored for that file (by source path):
unchanged ids are left alone, new ids are embedded and upserted, ids no longer produced are deleted. So re-ingesting
an unchanged file writes nothing, a changed file has its chunks replaced, and a file that disappeared from an
ingested folder (or is named but no longer exists) has its chunks deleted. A document id + version may come from
one file only; when the file it came from no longer exists, it is treated as moved.

`rebuild` repairs a damaged store: it deletes the store (`PolicyStore.destroy`) and ingests the default sources
(plus any given paths) into a new one.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.errors import invalid_input
from core.logging import get_logger
from core.settings import PACKAGE_ROOT, Settings, get_settings
from knowledge.chunking import Chunk, chunk_document
from knowledge.lexical import forget_index
from knowledge.loaders import SUPPORTED_SUFFIXES, ParsedDocument, iter_supported_files, load_document
from knowledge.store import PolicyStore, get_store

log = get_logger(__name__)

Progress = Callable[[str, int, int], None]
Status = Literal["added", "updated", "unchanged", "removed"]
EMBED_BATCH = 64
HANDBOOK_DIR = PACKAGE_ROOT / "knowledge" / "policies"


@dataclass
class DocumentOutcome:
    source: str
    doc_id: str
    title: str
    version: str
    status: Status
    chunks: int
    added: int = 0
    removed: int = 0


@dataclass
class IngestReport:
    documents: list[DocumentOutcome] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    revision: str | None = None

    def count(self, status: Status) -> int:
        return sum(1 for d in self.documents if d.status == status)

    @property
    def chunks_added(self) -> int:
        return sum(d.added for d in self.documents)

    @property
    def chunks_removed(self) -> int:
        return sum(d.removed for d in self.documents)

    @property
    def changed(self) -> bool:
        return bool(self.chunks_added or self.chunks_removed)

    @property
    def chunks_per_second(self) -> float | None:
        return self.chunks_added / self.seconds if self.chunks_added and self.seconds else None


def default_sources(settings: Settings | None = None) -> list[Path]:
    """What `creditdesk init` ingests: our handbook folder plus `CREDITDESK_POLICY_DOCS`."""
    settings = settings or get_settings()
    return [HANDBOOK_DIR, *settings.policy_docs]


def rebuild(
    paths: Sequence[Path] = (),
    *,
    version: str | None = None,
    store: PolicyStore | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Delete the knowledge base and ingest our handbook, `CREDITDESK_POLICY_DOCS` and `paths` (with `version`, if
    given) into a new one. The sources are checked before anything is deleted, so a typo in a path leaves the store
    as it was."""
    store = store or get_store(settings)
    defaults = default_sources(settings)
    extra = [Path(p).expanduser().resolve() for p in paths]
    missing = [str(p) for p in [*defaults, *extra] if not p.exists()]
    if missing:
        raise invalid_input(f"{', '.join(missing)} does not exist; the knowledge base was left as it was")
    store.destroy()
    forget_index()
    report = ingest_paths(defaults, store=store, progress=progress)
    if extra:
        more = ingest_paths(extra, version=version, store=store, progress=progress)
        report.documents += more.documents
        report.seconds += more.seconds
        report.embed_seconds += more.embed_seconds
        report.revision = more.revision or report.revision
    log.info("policy.rebuilt", files=len(report.documents), chunks=report.chunks_added)
    return report


def chunk_metadata(document: ParsedDocument, chunk: Chunk) -> dict[str, Any]:
    return {
        "doc_id": document.doc_id,
        "title": document.title,
        "label": document.label,
        "version": document.version,
        "effective_date": document.effective_date,
        "source": document.path.name,
        "source_path": str(document.path.resolve()),
        "format": document.fmt,
        "internal": document.internal,
        "file_sha256": document.sha256,
        "section_path": chunk.section,
        "page": chunk.page or 0,
        "page_end": chunk.page_end or 0,
        "position": chunk.position,
    }


@dataclass
class _Stored:
    ids: list[str] = field(default_factory=list)
    doc_id: str = ""
    title: str = ""
    version: str = ""


def _expand(paths: Sequence[Path]) -> tuple[list[Path], list[Path], list[Path]]:
    """(files to read, folders scanned, paths that no longer exist)."""
    files: list[Path] = []
    folders: list[Path] = []
    missing: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if path.is_dir():
            folders.append(path)
            files.extend(iter_supported_files(path))
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise invalid_input(
                    f"{path.name}: unsupported file type {path.suffix or '(none)'}",
                    supported=sorted(SUPPORTED_SUFFIXES),
                )
            files.append(path)
        else:
            missing.append(path)
    unique = list(dict.fromkeys(files))
    return unique, folders, missing


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def ingest_paths(
    paths: Sequence[Path],
    *,
    version: str | None = None,
    store: PolicyStore | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest files and folders (recursively: .md, .txt, .html, .pdf, .docx). `version` overrides the documents'
    own version (front matter, HTML meta, DOCX properties)."""
    started = time.perf_counter()
    store = store or get_store()
    report = IngestReport()
    files, folders, missing = _expand(paths)

    stored: dict[str, _Stored] = defaultdict(_Stored)
    stored_sha: dict[str, str] = {}
    for chunk_id, meta in store.metadatas_where():
        entry = stored[str(meta.get("source_path", ""))]
        entry.ids.append(chunk_id)
        entry.doc_id = str(meta.get("doc_id", ""))
        entry.title = str(meta.get("title", ""))
        entry.version = str(meta.get("version", ""))
        stored_sha[chunk_id] = f"{meta.get('source_path', '')}#{meta.get('file_sha256', '')}"
    for path in missing:
        if not any(_under(Path(source), path) for source in stored):
            raise invalid_input(f"{path} does not exist (and nothing was ingested from it)")

    parsed: list[tuple[ParsedDocument, list[Chunk]]] = []
    for number, path in enumerate(files, start=1):
        document = load_document(path, version=version)
        parsed.append((document, chunk_document(document)))
        if progress:
            progress("reading", number, len(files))

    owners: dict[tuple[str, str], str] = {}
    for document, _ in parsed:
        key = (document.doc_id, document.version)
        if key in owners:
            raise invalid_input(
                f"{document.path.name} and {Path(owners[key]).name} are both document {key[0]!r} version "
                f"{key[1] or '(none)'}: give one of them its own document_id or version"
            )
        owners[key] = str(document.path)

    # Sources whose file is gone: removed, or moved when the same document id and version is read elsewhere now.
    previous_ids: dict[str, set[str]] = {
        str(d.path): set(stored[str(d.path)].ids) for d, _ in parsed if str(d.path) in stored
    }
    to_delete: list[str] = []
    seen_sources = set(previous_ids) | {str(document.path) for document, _ in parsed}
    for source, entry in stored.items():
        if source in seen_sources:
            continue
        owner = owners.get((entry.doc_id, entry.version))
        if owner is not None and Path(source).exists():
            raise invalid_input(
                f"{Path(owner).name}: document {entry.doc_id!r} version {entry.version or '(none)'} is already "
                f"ingested from {source}; give it its own document_id or version"
            )
        if owner is not None:
            previous_ids.setdefault(owner, set()).update(entry.ids)
        elif any(_under(Path(source), folder) for folder in [*folders, *missing]):
            to_delete.extend(entry.ids)
            report.documents.append(
                DocumentOutcome(source, entry.doc_id, entry.title, entry.version, "removed", 0, removed=len(entry.ids))
            )

    to_add: list[tuple[ParsedDocument, Chunk]] = []
    to_relabel: list[tuple[ParsedDocument, Chunk]] = []
    for document, chunks in parsed:
        previous = previous_ids.get(str(document.path), set())
        wanted = {chunk.id for chunk in chunks}
        adds = [chunk for chunk in chunks if chunk.id not in previous]
        deletes = sorted(previous - wanted)
        stamp = f"{document.path}#{document.sha256}"
        relabel = [chunk for chunk in chunks if chunk.id in previous and stored_sha.get(chunk.id) != stamp]
        to_add.extend((document, chunk) for chunk in adds)
        to_relabel.extend((document, chunk) for chunk in relabel)
        to_delete.extend(deletes)
        status: Status = "added" if not previous else ("updated" if adds or deletes or relabel else "unchanged")
        report.documents.append(
            DocumentOutcome(
                str(document.path),
                document.doc_id,
                document.title,
                document.version,
                status,
                len(chunks),
                added=len(adds),
                removed=len(deletes),
            )
        )

    embed_started = time.perf_counter()
    for start in range(0, len(to_add), EMBED_BATCH):
        batch = to_add[start : start + EMBED_BATCH]
        vectors = store.embedder.embed_documents([chunk.indexed_text for _, chunk in batch])
        store.upsert(
            [chunk.id for _, chunk in batch],
            [chunk.text for _, chunk in batch],
            [chunk_metadata(document, chunk) for document, chunk in batch],
            vectors,
        )
        if progress:
            progress("embedding", min(start + EMBED_BATCH, len(to_add)), len(to_add))
    report.embed_seconds = time.perf_counter() - embed_started
    if to_relabel:
        # Same text, same id: only the file around it changed (moved, or metadata such as the effective date).
        store.update_metadata([chunk.id for _, chunk in to_relabel], [chunk_metadata(d, c) for d, c in to_relabel])
    if to_delete:
        store.delete(to_delete)
    if to_add or to_delete or to_relabel:
        report.revision = store.refresh_revision()
        forget_index(store)
    report.seconds = time.perf_counter() - started
    log.info(
        "policy.ingested",
        files=len(files),
        added=report.count("added"),
        updated=report.count("updated"),
        unchanged=report.count("unchanged"),
        removed=report.count("removed"),
        chunks_added=report.chunks_added,
        chunks_removed=report.chunks_removed,
        seconds=round(report.seconds, 2),
    )
    return report
