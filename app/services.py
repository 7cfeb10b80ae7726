"""Wiring: build the store and services from one `Settings` object."""

from __future__ import annotations

from app.settings import Settings
from vectorstore import FazhiEmbeddings, PassageStore


def make_embeddings(settings: Settings) -> FazhiEmbeddings:
    return FazhiEmbeddings(
        settings.embedding_model, cache_dir=settings.model_cache, device=settings.device
    )


def open_store(settings: Settings, embeddings: FazhiEmbeddings | None = None) -> PassageStore:
    return PassageStore(
        embeddings or make_embeddings(settings),
        path=None if settings.chroma_url else settings.store,
        url=settings.chroma_url,
        chunking=settings.chunking.as_metadata(),
    )
