"""One question embedded in numpy, without importing torch or sentence-transformers.

A fresh `fazhi ask` process embeds a single short question. Importing torch, transformers and
sentence-transformers for that costs seconds; the arithmetic itself (12 BERT layers over ~30
tokens) takes milliseconds in numpy. This encoder reads the built offline model's files (its
`tokenizer.json` through `question_tokenizer`, which reads only the pieces a text can use; its
`model.safetensors` memory-mapped, so of the 250,000-row word table only the question's rows are
read) and computes what the sentence-transformers model computes in float32: BERT, mean
pooling, L2 normalisation.

`FazhiEmbeddings` embeds every question (and up to 16 query texts at once) of the offline model
with it, loaded or not, so a question gets the same vector in every process; so are the few
sentences an answer quotes by meaning, in a process that has not loaded the model
(`embed_sentences`, all in one pass: `encode_many`). Passages and long word lists go through the
loaded model in batches. Its vectors match the fp32 model's to ~1e-7.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from pathlib import Path

import numpy as np

from vectorstore.question_tokenizer import QuestionTokenizer, UnsupportedTokenizer

MAX_TOKENS = 512
_log = logging.getLogger(__name__)


class UnsupportedModel(ValueError):
    """The model directory is not one this encoder reads (then the loaded model is used)."""


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a float32 .safetensors file as a read-only memory-mapped array."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise UnsupportedModel(f"{path}: tensor {name} is {info['dtype']}, not F32")
        start, end = info["data_offsets"]
        out[name] = data[start:end].view(np.float32).reshape(info["shape"])
    return out


# erfc(z) ~ t * exp(-z^2 + P(t)), t = 1 / (1 + z/2): Numerical Recipes' erfcc, error < 1.2e-7
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398,
         1.48851587, -0.82215223, 0.17087277)  # fmt: skip


def _erf(x: np.ndarray) -> np.ndarray:
    """erf for BERT's exact GELU, without scipy."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(t)
    for c in reversed(_ERFC):  # Horner
        poly = poly * t + c
    erfc = t * np.exp(-z * z + poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class _FullTokenizer:
    """`tokenizer.json` read whole by `tokenizers`."""

    def __init__(self, source: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(source))
        self._tokenizer.enable_truncation(max_length)

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text).ids)


def _tokenizer(
    source: Path, cache_dir: Path | None, max_length: int
) -> QuestionTokenizer | _FullTokenizer:
    if cache_dir is not None:
        try:
            return QuestionTokenizer(source, cache_dir, max_length)
        except (UnsupportedTokenizer, OSError, sqlite3.Error) as exc:
            _log.warning("reading the whole tokenizer.json (%s)", exc)
    return _FullTokenizer(source, max_length)


class QuestionEncoder:
    """The built offline model (a BERT sentence-transformers directory) for a question, or a few
    short texts at once."""

    def __init__(self, model_dir: Path, cache_dir: Path | None = None) -> None:
        """`cache_dir`: where the tokenizer's pieces are kept for a fast start
        (`question_tokenizer`); without it, `tokenizer.json` is read whole."""
        try:
            config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
            pooling = json.loads((model_dir / "1_Pooling/config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UnsupportedModel(f"{model_dir}: {exc}") from exc
        # sentence-transformers 6 writes pooling_mode, 5 one flag per mode
        mean = pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens")
        if config.get("model_type") != "bert" or not mean:
            raise UnsupportedModel(f"{model_dir}: not a mean-pooled BERT model")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = _tokenizer(
            model_dir / "tokenizer.json",
            cache_dir,
            min(MAX_TOKENS, int(config["max_position_embeddings"])),
        )
        self.w = _read_safetensors(model_dir / "model.safetensors")

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def encode(self, text: str) -> np.ndarray:
        """The L2-normalised float32 embedding of `text` (give it its "query: " prefix)."""
        return self.encode_many([text])[0]

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """`encode` of each text, one row each: the texts' tokens go through each layer's
        linear maps together (one matrix product for all), attention within each text."""
        if not texts:
            return np.zeros((0, self.w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        ids = [np.asarray(self.tokenizer.encode(t), dtype=np.int64) for t in texts]
        bounds = np.cumsum([0, *(len(i) for i in ids)])
        w = self.w
        positions = np.concatenate([np.arange(len(i)) for i in ids])
        x = (
            w["embeddings.word_embeddings.weight"][np.concatenate(ids)]
            + w["embeddings.position_embeddings.weight"][positions]
            + w["embeddings.token_type_embeddings.weight"][0]
        ).astype(np.float32)
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        hidden = x.shape[1]
        size = hidden // self.heads
        texts_at = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))

        def split(t: np.ndarray) -> np.ndarray:  # one text's tokens, by attention head
            return t.reshape(len(t), self.heads, size).transpose(1, 0, 2)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = self._linear(x, f"{p}.attention.self.query")
            k = self._linear(x, f"{p}.attention.self.key")
            v = self._linear(x, f"{p}.attention.self.value")
            context = np.empty_like(q)
            for a, b in texts_at:
                scores = split(q[a:b]) @ split(k[a:b]).transpose(0, 2, 1) / math.sqrt(size)
                scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
                scores /= scores.sum(axis=-1, keepdims=True)
                context[a:b] = (scores @ split(v[a:b])).transpose(1, 0, 2).reshape(b - a, hidden)
            x = _layer_norm(
                x + self._linear(context, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                self.eps,
            )
            h = self._linear(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            x = _layer_norm(
                x + self._linear(h, f"{p}.output.dense"),
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
                self.eps,
            )
        pooled = [x[a:b].mean(axis=0) for a, b in texts_at]
        return np.stack(
            [(p / max(float(np.linalg.norm(p)), 1e-12)).astype(np.float32) for p in pooled]
        )
