"""LangChain's standard suites, as partner packages run them, for what fazhi exposes."""

from __future__ import annotations

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)

from app.retrieval import FazhiRetriever, HybridRetriever
from vectorstore import DEFAULT_MODEL, FazhiEmbeddings, default_embeddings


class TestFazhiEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[FazhiEmbeddings]:
        return FazhiEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"model": DEFAULT_MODEL}


class TestFazhiRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _store(self, sample_store) -> None:
        type(self)._hybrid = HybridRetriever(sample_store)

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return FazhiRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": type(self)._hybrid}

    @property
    def retriever_query_example(self) -> str:
        return "村法律顾问覆盖率"


def test_default_embeddings_exposes_the_model_as_client():
    embeddings = default_embeddings()
    assert embeddings.model == DEFAULT_MODEL
    vector = embeddings.embed_query("法律明白人")
    assert len(vector) == embeddings.dimension > 100
    assert embeddings.client is not None
