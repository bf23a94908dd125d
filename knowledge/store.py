"""The Chroma store: a local persistent store under `<data dir>/chroma` by default, a Chroma server (HttpClient) when
`CREDITDESK_CHROMA_URL` is set. Telemetry is always off.

One collection per embedding model (cosine space); every chunk carries its document's id, title, version, effective
date, source file, section path and page as metadata. The collection's metadata holds a content fingerprint (a hash
of the sorted chunk ids) that ingestion updates; readers use it to know when their BM25 index is stale.

A store whose files are damaged (a corrupt `chroma.sqlite3`, a deleted or truncated index segment) fails every call
with `CreditDeskError(DAMAGED)` naming the repair, `creditdesk ingest --rebuild` (`destroy()` then ingest again).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from core.settings import Settings, get_settings
from knowledge.embeddings import Embedder, get_embedder, register_chroma_functions
from knowledge.loaders import slugify

log = get_logger(__name__)

REVISION_KEY = "creditdesk_revision"
SCHEMA_KEY = "creditdesk_schema"
SCHEMA_VERSION = 1
PAGE_SIZE = 2000
UPSERT_BATCH = 500
REBUILD_COMMAND = "creditdesk ingest --rebuild"
LOCAL_STORE_FILE = "chroma.sqlite3"

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
_stores: dict[tuple[str, str, str], PolicyStore] = {}
_stores_lock = threading.Lock()


_NEVER_CAUGHT = (KeyboardInterrupt, SystemExit, GeneratorExit)


def _chroma_failure(error: BaseException) -> bool:
    """Whether `error` is a failure of Chroma itself. Its Rust bindings raise `pyo3_runtime.PanicException` on a
    malformed `chroma.sqlite3`, which derives from BaseException, not Exception; only interrupts and exits pass."""
    return not isinstance(error, _NEVER_CAUGHT)


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """Ignore any failure of Chroma (closing or dropping parts of a store that may be damaged)."""
    try:
        yield
    except BaseException as error:
        if not _chroma_failure(error):
            raise


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def _client_for(location: str) -> Any:
    """One Chroma client per location (a directory or a server URL), created on first use."""
    with _clients_lock:
        client = _clients.get(location)
        if client is not None:
            return client
        import chromadb

        if location.startswith(("http://", "https://")):
            parsed = urlparse(location)
            ssl = parsed.scheme == "https"
            try:
                client = chromadb.HttpClient(
                    host=parsed.hostname or "localhost",
                    port=parsed.port or (443 if ssl else 8000),
                    ssl=ssl,
                    settings=_chroma_settings(),
                )
                client.heartbeat()
            except BaseException as error:  # connection errors come from httpx and chromadb alike
                if not _chroma_failure(error):
                    raise
                raise CreditDeskError(
                    ErrorCode.UPSTREAM, f"the Chroma server at {location} is not reachable ({type(error).__name__})"
                ) from None
        else:
            path = Path(location)
            path.mkdir(parents=True, exist_ok=True)
            try:
                client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
            except BaseException as error:  # a corrupt chroma.sqlite3 fails here, inside chromadb's Rust bindings
                if not _chroma_failure(error):
                    raise
                raise _damaged(location, error) from None
        _clients[location] = client
        return client


def close_client(location: str) -> None:
    """Release the cached client of `location` (and chromadb's process-wide system for it, which holds its files)."""
    with _clients_lock:
        client = _clients.pop(location, None)
    if client is not None:
        with _quietly():  # closing a client of a damaged store may fail too; we drop it anyway
            client.close()
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(location, None)
    SharedSystemClient._identifier_to_refcount.pop(location, None)
    if system is not None:
        with _quietly():
            system.stop()


def _damaged(location: str, error: BaseException) -> CreditDeskError:
    log.error("policy.store_damaged", error=type(error).__name__)
    if location.startswith(("http://", "https://")):
        return CreditDeskError(
            ErrorCode.UPSTREAM,
            f"the Chroma server at {location} failed ({type(error).__name__}); if it keeps failing, rebuild the "
            f"policy knowledge base with `{REBUILD_COMMAND}`",
        )
    return CreditDeskError(
        ErrorCode.DAMAGED,
        f"the policy knowledge base is damaged: rebuild it with `{REBUILD_COMMAND}`",
        details={"store": location},
    )


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]


class PolicyStore:
    """A Chroma collection of policy chunks and the embedder that fills and queries it."""

    def __init__(self, location: str, collection: str, embedder: Embedder) -> None:
        self.location = location
        self.collection_name = collection
        self.embedder = embedder
        self.key = f"{location}#{collection}#{embedder.id}"
        self._collection: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PolicyStore:
        """The configured store (cached per location, collection and embedder)."""
        settings = settings or get_settings()
        location = settings.chroma_url.rstrip("/") if settings.chroma_url else str(settings.chroma_path.resolve())
        embedder = get_embedder(settings)
        name = settings.chroma_collection
        if settings.embedding_provider != "local":
            # Vectors of different models never share a collection.
            name = f"{name}-{slugify(embedder.id)}"
        key = (location, name, embedder.id)
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = cls(location, name, embedder)
            return store

    @property
    def is_remote(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Failures of Chroma itself (corrupt or missing files, a failing server) become one clear error."""
        try:
            yield
        except CreditDeskError:
            raise
        except BaseException as error:  # InternalError, ValueError, sqlite3, OS errors and Rust panics alike
            if not _chroma_failure(error):
                raise
            raise _damaged(self.location, error) from None

    def collection(self) -> Any:
        with self._lock:
            if self._collection is None:
                register_chroma_functions()
                client = _client_for(self.location)
                try:
                    self._collection = client.get_or_create_collection(
                        self.collection_name,
                        embedding_function=self.embedder.chroma_function(),
                        configuration={"hnsw": {"space": "cosine"}},
                        metadata={SCHEMA_KEY: SCHEMA_VERSION},
                    )
                except ValueError as error:
                    if "embedding function" not in str(error).lower():
                        raise _damaged(self.location, error) from None
                    raise CreditDeskError(
                        ErrorCode.CONFLICT,
                        f"Chroma collection {self.collection_name!r} was built with another embedding model: {error}",
                    ) from None
                except BaseException as error:
                    if not _chroma_failure(error):
                        raise
                    raise _damaged(self.location, error) from None
            return self._collection

    # --- reading ----------------------------------------------------------------------------------------------------

    def count(self) -> int:
        collection = self.collection()
        with self._guard():
            return int(collection.count())

    def fingerprint(self) -> str:
        """Changes whenever the stored chunks change (revision written by ingestion, plus the count)."""
        collection = self.collection()
        with self._guard():
            current = _client_for(self.location).get_collection(
                collection.name, embedding_function=self.embedder.chroma_function()
            )
            metadata = current.metadata or {}
            return f"{metadata.get(REVISION_KEY, '-')}:{current.count()}"

    def ids_where(self, where: dict[str, Any]) -> list[str]:
        collection = self.collection()
        with self._guard():
            result = collection.get(where=where, include=[])
        return list(result["ids"])

    def metadatas_where(self, where: dict[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        collection = self.collection()
        offset = 0
        while True:
            with self._guard():
                page = collection.get(where=where, include=["metadatas"], limit=PAGE_SIZE, offset=offset)
            ids = page["ids"]
            for chunk_id, metadata in zip(ids, page["metadatas"] or [], strict=True):
                yield chunk_id, dict(metadata or {})
            if len(ids) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def all_chunks(self) -> Iterator[StoredChunk]:
        collection = self.collection()
        offset = 0
        while True:
            with self._guard():
                page = collection.get(include=["documents", "metadatas"], limit=PAGE_SIZE, offset=offset)
            ids = page["ids"]
            for chunk_id, text, metadata in zip(ids, page["documents"] or [], page["metadatas"] or [], strict=True):
                yield StoredChunk(chunk_id, text or "", dict(metadata or {}))
            if len(ids) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def query(self, vector: np.ndarray, n_results: int, where: dict[str, Any] | None = None) -> list[str]:
        """Ids of the nearest chunks, nearest first."""
        if n_results <= 0:
            return []
        collection = self.collection()
        with self._guard():
            result = collection.query(
                query_embeddings=[vector.tolist()], n_results=n_results, where=where, include=["distances"]
            )
            ids = list(result["ids"][0]) if result["ids"] else []
            if where is None and len(ids) < min(n_results, collection.count()):
                # An unfiltered nearest-neighbour search returns n results whenever the collection holds n: fewer
                # means the vector index lost entries (a segment file deleted or truncated).
                raise _damaged(self.location, LookupError("vector index incomplete"))
        return ids

    # --- writing ----------------------------------------------------------------------------------------------------

    def upsert(
        self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]], vectors: Any
    ) -> None:
        collection = self.collection()
        for start in range(0, len(ids), UPSERT_BATCH):
            end = start + UPSERT_BATCH
            with self._guard():
                collection.upsert(
                    ids=list(ids[start:end]),
                    documents=list(texts[start:end]),
                    metadatas=[dict(m) for m in metadatas[start:end]],
                    embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        collection = self.collection()
        for start in range(0, len(ids), UPSERT_BATCH):
            end = start + UPSERT_BATCH
            with self._guard():
                collection.update(ids=list(ids[start:end]), metadatas=[dict(m) for m in metadatas[start:end]])

    def delete(self, ids: Sequence[str]) -> None:
        collection = self.collection()
        for start in range(0, len(ids), UPSERT_BATCH):
            with self._guard():
                collection.delete(ids=list(ids[start : start + UPSERT_BATCH]))

    def refresh_revision(self) -> str:
        """Recompute the content fingerprint (chunk ids and the files they came from) and store it with the
        collection."""
        digest = hashlib.sha256()
        for chunk_id, metadata in sorted(self.metadatas_where()):
            digest.update(f"{chunk_id}:{metadata.get('source_path', '')}:{metadata.get('file_sha256', '')};".encode())
        revision = digest.hexdigest()[:24]
        collection = self.collection()
        with self._guard():
            collection.modify(metadata={SCHEMA_KEY: SCHEMA_VERSION, REVISION_KEY: revision})
        return revision

    def reset(self) -> None:
        """Drop the collection (tests and benchmarks)."""
        with self._lock:
            client = _client_for(self.location)
            with _quietly():  # absent already
                client.delete_collection(self.collection_name)
            self._collection = None

    def destroy(self) -> None:
        """Delete this knowledge base whatever state its files are in, so that ingestion starts it afresh: a local
        store's whole folder (every collection in it), or this collection on a Chroma server."""
        with self._lock:
            self._collection = None
            if self.is_remote:
                client = _client_for(self.location)
                with _quietly():  # absent already
                    client.delete_collection(self.collection_name)
            else:
                close_client(self.location)
                path = Path(self.location)
                if path.is_dir() and any(path.iterdir()) and not (path / LOCAL_STORE_FILE).exists():
                    raise CreditDeskError(
                        ErrorCode.CONFLICT,
                        f"{path} does not look like a Chroma store (no {LOCAL_STORE_FILE}); not deleting it",
                    )
                shutil.rmtree(path, ignore_errors=True)
        with _stores_lock:
            for store in _stores.values():
                if store.location == self.location:
                    store._collection = None
        log.info("policy.store_destroyed", remote=self.is_remote)


def get_store(settings: Settings | None = None) -> PolicyStore:
    return PolicyStore.from_settings(settings)


def forget_clients() -> None:
    """Drop cached clients and stores (tests and evals that point the settings somewhere else)."""
    with _stores_lock:
        _stores.clear()
    with _clients_lock:
        _clients.clear()
