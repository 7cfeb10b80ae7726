"""What a process lets go of: a script or server that opens many stores and services keeps one
model and gets the memory of every dropped store and service back."""

from __future__ import annotations

import gc
import shutil
import threading
import weakref
from pathlib import Path

import pytest

from app import gc_pause
from app.answers.service import AnswerService
from app.gc_pause import collection_paused
from app.services import make_embeddings, open_store
from app.settings import Settings
from tests.conftest import ingest_into
from tests.fixture_files import sample_text


def test_embeddings_made_from_the_same_settings_share_one_loaded_model(embeddings) -> None:
    again = make_embeddings(Settings(_env_file=None))
    assert again is not embeddings
    assert again.client is embeddings.client  # ~0.4 GB loaded once per process


def test_a_dropped_service_is_freed_with_its_index(sample_settings, embeddings) -> None:
    service = AnswerService(open_store(sample_settings, embeddings))
    service.ask("哪些乡镇把执法能力不足列为存在的问题？")  # builds and freezes the index
    gone = weakref.ref(service.retriever)
    del service
    gc.collect()
    assert gone() is None, "a cache outside the service still holds its retriever"


@pytest.mark.parametrize("let_go", ["close", "drop"])
def test_a_store_folder_deleted_and_made_again_opens_as_the_new_store(
    tmp_path: Path, embeddings, let_go: str
) -> None:
    """A store closed, or dropped, lets go of Chroma's system for its folder, so a new store
    there is read from disk, not from what the old one left in memory."""
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text(sample_text(0), encoding="utf-8")
    settings = Settings(_env_file=None, store=tmp_path / "store")
    first = open_store(settings, embeddings)
    assert ingest_into(first, folder).count("added") == 1
    if let_go == "close":
        first.close()
    else:
        del first
        gc.collect()
    shutil.rmtree(tmp_path / "store")

    (folder / "a.txt").unlink()
    (folder / "b.txt").write_text(sample_text(1), encoding="utf-8")
    second = open_store(settings, embeddings)
    assert ingest_into(second, folder).count("added") == 1
    assert [r.source for r in second.list_reports()] == [str(folder / "b.txt")]


def test_the_collector_is_held_off_only_while_answers_are_composed(service, monkeypatch) -> None:
    seen: list[bool] = []
    extractive = service.extractive

    def watched(*args, **kwargs):
        seen.append(gc.isenabled())
        return extractive(*args, **kwargs)

    monkeypatch.setattr(service, "extractive", watched)
    service.ask("哪些乡镇把执法能力不足列为存在的问题？")
    assert seen == [False] and gc.isenabled()

    # two answers in two threads, the first ending while the second goes on
    both, first_done = threading.Barrier(2), threading.Event()
    states: dict[str, bool] = {}

    def first() -> None:
        with collection_paused():
            both.wait()
        first_done.set()

    def second() -> None:
        with collection_paused():
            both.wait()
            first_done.wait()
            states["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states == {"after the first ended": False}
    assert gc.isenabled()
    with pytest.raises(ValueError), collection_paused():
        raise ValueError("an answer that fails")
    assert gc.isenabled()


def test_what_answers_leave_is_frozen_yet_garbage_cycles_are_freed(monkeypatch) -> None:
    """What an answer leaves alive is not rescanned after every answer (0.05-0.2 s at 50,000
    reports), yet garbage cycles are freed with no `gc.collect()` of the program's: one made
    between answers when the next begins, one made while answering within FULL_EVERY answers;
    what was frozen on purpose (as the retriever freezes what it loads) is frozen again."""
    monkeypatch.setattr(gc_pause, "FULL_EVERY", 3)
    monkeypatch.setattr(collection_paused, "alone", 0)

    class Node:
        me: object = None

    def cycle() -> weakref.ref:
        node = Node()
        node.me = node
        return weakref.ref(node)

    def frozen(obj: object) -> bool:
        return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())

    loaded = Node()
    gc.freeze()
    with collection_paused():  # the first answer
        kept = Node()
        during = cycle()
    assert frozen(kept), "what the answer left is still in the collector's generations"
    between = cycle()
    with collection_paused():  # the second
        assert between() is None, "a cycle made between answers outlived the next's start"
    assert during() is not None  # frozen: no young collection rescans it
    with collection_paused():  # the third answer to end alone: a full collection
        pass
    assert during() is None, "a cycle made while answering outlived FULL_EVERY answers"
    assert frozen(loaded) and frozen(kept)
