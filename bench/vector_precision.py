"""Passage vectors in float16 or int8 instead of float32: how much retrieval changes.

The vectors are the sentences of the bundled sample reports embedded as passages (a few
thousand distinct vectors; a cloned store repeats the same 146 passages), the queries every gold
set's questions. For each precision: recall@k of its top k against float32's top k (the share of
float32's k best found), the largest score difference, and bytes per passage vector.

    python bench/vector_precision.py
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from app.services import make_embeddings
from app.settings import SAMPLE_CORPUS, Settings
from ingest.passages import sentence_spans


def int8_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-vector int8: codes and one float32 scale per row."""
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 127.0
    return np.round(vectors / scale).astype(np.int8), scale.astype(np.float32)


def top(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10, 50])
    args = parser.parse_args()
    sentences = []
    for path in sorted(SAMPLE_CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [text[a:b] for a, b in sentence_spans(text, 0, len(text)) if b - a >= 8]
    sentences = list(dict.fromkeys(sentences))
    questions = []
    for gold in sorted((SAMPLE_CORPUS.parent).glob("gold*.jsonl")):
        for line in gold.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    questions = list(dict.fromkeys(questions))
    embeddings = make_embeddings(Settings(_env_file=None))
    vectors = embeddings.embed_passages(sentences).astype(np.float32)
    queries = np.vstack([embeddings.embed_question(q) for q in questions]).astype(np.float32)
    exact = queries @ vectors.T
    half = queries @ vectors.astype(np.float16).astype(np.float32).T
    codes, scale = int8_rows(vectors)
    quarter = (queries @ codes.astype(np.float32).T) * scale.T
    print(f"{len(sentences)} sentence vectors, {len(questions)} questions\n")
    print(
        "| vectors | bytes per vector | "
        + " | ".join(f"recall@{k}" for k in args.k)
        + " | max score error |"
    )
    print("| --- | --- | " + " | ".join("---" for _ in args.k) + " | --- |")
    dim = vectors.shape[1]
    for name, scores, size in (
        ("float32", exact, 4 * dim),
        ("float16", half, 2 * dim),
        ("int8 + scale", quarter, dim + 4),
    ):
        recalls = []
        for k in args.k:
            want, got = top(exact, k), top(scores, k)
            recalls.append(
                np.mean([len(set(w) & set(g)) / k for w, g in zip(want, got, strict=True)])
            )
        error = float(np.abs(scores - exact).max())
        print(
            f"| {name} | {size} | " + " | ".join(f"{r:.4f}" for r in recalls) + f" | {error:.1e} |"
        )


if __name__ == "__main__":
    main()
