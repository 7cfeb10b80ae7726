"""Shared fixtures: the embedded sample store is built once per test session and shared.

Embedding is the slow part, so every test that only reads uses `sample_store` (read-only by
convention); tests that write get their own store in `tmp_path`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.answering import AnswerService
from app.indexing import IngestSummary, ingest_paths
from app.services import make_embeddings, open_store
from app.settings import SAMPLE_CORPUS, Settings
from vectorstore import FazhiEmbeddings, PassageStore

SAMPLE_TOWNSHIPS = ("王场镇", "塘坊镇", "石桥镇", "西联镇", "万灵镇")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FAZHI_* setting or .env from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("FAZHI_") and key != "FAZHI_MODEL_CACHE":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # relative defaults (./data/store, .env) land in the temp dir


@pytest.fixture(scope="session")
def embeddings() -> FazhiEmbeddings:
    """The offline default embedding model, loaded once."""
    return make_embeddings(Settings(_env_file=None))


@pytest.fixture(scope="session")
def sample_store_dir(tmp_path_factory: pytest.TempPathFactory, embeddings: FazhiEmbeddings) -> Path:
    path = tmp_path_factory.mktemp("sample-store") / "store"
    settings = Settings(_env_file=None, store=path)
    summary = ingest_paths(
        [SAMPLE_CORPUS],
        open_store(settings, embeddings),
        max_bytes=settings.max_bytes,
        chunking=settings.chunking,
    )
    assert summary.count("added") == 5, summary.results
    return path


@pytest.fixture(scope="session")
def sample_settings(sample_store_dir: Path) -> Settings:
    return Settings(_env_file=None, store=sample_store_dir)


@pytest.fixture(scope="session")
def sample_store(sample_settings: Settings, embeddings: FazhiEmbeddings) -> PassageStore:
    return open_store(sample_settings, embeddings)


@pytest.fixture(scope="session")
def service(sample_store: PassageStore) -> AnswerService:
    return AnswerService(sample_store)


@pytest.fixture
def fresh_store(tmp_path: Path, embeddings: FazhiEmbeddings) -> Iterator[PassageStore]:
    """An empty store of the test's own, for tests that write."""
    yield open_store(Settings(_env_file=None, store=tmp_path / "store"), embeddings)


def ingest_into(store: PassageStore, *paths: Path) -> IngestSummary:
    settings = Settings(_env_file=None)
    return ingest_paths(
        list(paths), store, max_bytes=settings.max_bytes, chunking=settings.chunking
    )
