"""Wiring: build the store and services from one `Settings` object."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.settings import Settings
from vectorstore import FazhiEmbeddings, PassageStore
from vectorstore.store import index_folder

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def make_embeddings(settings: Settings) -> FazhiEmbeddings:
    return FazhiEmbeddings(
        settings.embedding_model,
        cache_dir=settings.model_cache,
        device=settings.device,
        weights=settings.model_weights,
    )


def open_store(
    settings: Settings,
    embeddings: FazhiEmbeddings | None = None,
    *,
    client: ClientAPI | None = None,
) -> PassageStore:
    return PassageStore(
        embeddings or make_embeddings(settings),
        path=None if settings.chroma_url else settings.store,
        url=settings.chroma_url,
        chunking=settings.chunking.as_metadata(),
        client=client,
        index_dir=index_folder(settings.chroma_url, settings.index_cache)
        if settings.chroma_url
        else None,
    )


def answer_service(settings: Settings, *, llm: bool = True):  # type: ignore[no-untyped-def]
    """The answering service over the configured store, with the LLM when one is configured."""
    from app.answers.rule import DecisionRule
    from app.answers.service import AnswerService

    writer = None
    if llm and settings.llm_configured:
        from app.llm import LLMWriter

        writer = LLMWriter.from_settings(settings)
    rule = DecisionRule(judge_max=settings.judge_max)
    return AnswerService(open_store(settings), llm=writer, rule=rule)
