"""Passage embedding in two streams: the same vectors, in the same order, and questions from
other threads still answered meanwhile."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from app.settings import SAMPLE_CORPUS
from vectorstore import FazhiEmbeddings


def _sample_passages() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE_CORPUS.glob("*.txt"))]
    # lengths from 40 to 400 characters, so batches are padded differently
    return [t[i : i + 40 + (i % 9) * 45] for t in texts for i in range(0, 3000, 250)]


def test_two_streams_give_sentence_transformers_vectors_in_order(
    embeddings: FazhiEmbeddings,
) -> None:
    passages = _sample_passages()
    if embeddings._streams() < 2:
        pytest.skip("one CPU thread or a GPU: passages are embedded in one stream")
    ours = embeddings.embed_passages(passages)
    theirs = embeddings.client.encode(
        [embeddings.passage_prefix + p for p in passages],
        batch_size=embeddings.batch_size,
        normalize_embeddings=True,
    )
    cosines = np.sum(ours * theirs, axis=1)
    assert ours.shape == theirs.shape
    assert cosines.min() > 0.9999, cosines.min()


def test_questions_from_other_threads_are_embedded_while_passages_are(
    embeddings: FazhiEmbeddings,
) -> None:
    passages = _sample_passages()
    question = "石桥镇有多少名法律明白人？"
    alone = np.asarray(embeddings.embed_query(question))
    threads_before = torch.get_num_threads()
    answers: list[np.ndarray] = []
    errors: list[BaseException] = []

    def ask() -> None:
        for _ in range(10):
            try:
                answers.append(np.asarray(embeddings.embed_query(question)))
            except BaseException as exc:
                errors.append(exc)

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for asker in askers:
        asker.start()
    vectors = embeddings.embed_passages(passages)
    for asker in askers:
        asker.join()
    assert not errors, errors
    assert len(answers) == 20 and all(float(a @ alone) > 0.9999 for a in answers)
    assert vectors.shape[0] == len(passages)
    assert torch.get_num_threads() == threads_before  # the streams give the threads back
