"""The index snapshot saved beside the store: used only for the store version it was made for."""

from __future__ import annotations

import copy
import json
import logging
import math
import mmap
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app import index_snapshot
from app.answering import AnswerService
from app.cli import cli
from app.retrieval import SNAPSHOTS, HybridRetriever
from app.sentences import HEADING, SECTION_TITLE, quotable_spans, section_title
from app.services import open_store
from app.settings import SAMPLE_CORPUS, Settings
from ingest.passages import sentence_spans
from vectorstore import FazhiEmbeddings, PassageStore, StoredPassage
from vectorstore.store import CATALOGUE, FACETS, index_folder

LOOKUP = "石桥镇有多少名法律明白人？"
CORPUS_WIDE = "哪些乡镇把执法能力不足列为存在的问题？"


@pytest.fixture
def store_dir(tmp_path: Path, sample_store_dir: Path, sample_store: PassageStore) -> Path:
    """A copy of the sample store, with its snapshot saved, for a test that changes it."""
    HybridRetriever(sample_store).snapshot()  # the copy starts with a current snapshot
    copy = tmp_path / "store"
    shutil.copytree(sample_store_dir, copy)
    return copy


def reopen(path: Path, embeddings: FazhiEmbeddings) -> AnswerService:
    """A service as a new process has it: nothing in memory from earlier questions."""
    return AnswerService(open_store(Settings(_env_file=None, store=path), embeddings))


def forbid_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def build(*_args, **_kwargs):
        raise AssertionError("the index was built again instead of read from its snapshot")

    monkeypatch.setattr(HybridRetriever, "_build", build)


def ask_json(runner: CliRunner, question: str) -> dict:
    result = runner.invoke(cli, ["ask", question, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output)


def folders(path: Path) -> list[str]:
    return sorted(p.name for p in (path / SNAPSHOTS).iterdir())


def as_format_1(store_dir: Path, embeddings: FazhiEmbeddings) -> Path:
    """The store's snapshot folder as an older fazhi saved it: no sentence arrays."""
    folder = store_dir / SNAPSHOTS / reopen(store_dir, embeddings).store.version()
    stamp = json.loads((folder / index_snapshot.STAMP).read_text(encoding="utf-8"))
    for name in index_snapshot.SENTENCE_FILES:
        (folder / name).unlink()
        del stamp["files"][name]
    (folder / index_snapshot.STAMP).write_text(json.dumps({**stamp, "format": 1}), "utf-8")
    return folder


def quotable(table: index_snapshot.PassageTable, i: int) -> list[tuple[int, int, bool]]:
    """Passage i's quotable sentences as the snapshot's arrays give them."""
    spans, _ = table.quotable_rows(np.array([i]))
    return [(a, b, bool(joined)) for a, b, joined in spans.tolist()]


def test_a_saved_snapshot_answers_a_new_service_without_building_and_identically(
    store_dir, embeddings, service, monkeypatch
):
    fresh = reopen(store_dir, embeddings)
    assert folders(store_dir) == [fresh.store.version()]
    forbid_build(monkeypatch)
    snap = fresh.retriever.snapshot()
    assert isinstance(snap.passages, index_snapshot.PassageTable)
    assert isinstance(fresh.retriever.snapshot().vectors.base, np.memmap)
    for question in (LOOKUP, CORPUS_WIDE):
        got, want = fresh.ask(question), service.ask(question)
        assert got.answer == want.answer
        assert [c.quote for c in got.citations] == [c.quote for c in want.citations]


def test_a_format_1_snapshot_gets_its_sentence_arrays_added_not_rebuilt(
    store_dir, embeddings, service, monkeypatch, caplog
):
    """A snapshot an older fazhi saved (no sentence arrays) is upgraded in place, once."""
    folder = as_format_1(store_dir, embeddings)
    forbid_build(monkeypatch)
    fresh = reopen(store_dir, embeddings)
    with caplog.at_level(logging.INFO, logger="app.index_snapshot"):
        assert fresh.ask(CORPUS_WIDE).answer == service.ask(CORPUS_WIDE).answer
    assert f"upgraded to format {index_snapshot.FORMAT}" in caplog.text
    upgraded = json.loads((folder / index_snapshot.STAMP).read_text(encoding="utf-8"))
    assert upgraded["format"] == index_snapshot.FORMAT and "sentences.npy" in upgraded["files"]
    # upgraded again meanwhile (two processes at once): each file is moved into place, so the
    # copy another process has mapped stays whole
    mapped = fresh.retriever.snapshot().passages
    before = (folder / "sentences.npy").stat().st_ino
    (folder / index_snapshot.STAMP).write_text(json.dumps({**upgraded, "format": 1}), "utf-8")
    assert reopen(store_dir, embeddings).retriever.snapshot().passages.sentences.shape
    assert (folder / "sentences.npy").stat().st_ino != before
    assert quotable(mapped, 0) == quotable_spans(mapped.text(0), section_title(mapped[0].meta))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.index_snapshot"):
        assert (
            reopen(store_dir, embeddings).ask(CORPUS_WIDE).answer == service.ask(CORPUS_WIDE).answer
        )
    assert "upgraded" not in caplog.text


def test_a_snapshot_without_section_titles_gets_them_marked_not_rebuilt(
    store_dir, embeddings, service, monkeypatch
):
    """A folder saved before SENTENCE_KINDS did not tell a section's own heading from other
    headings: its sentence kinds are made again (the folder stays format 2, which an older
    fazhi reads too)."""
    folder = store_dir / SNAPSHOTS / reopen(store_dir, embeddings).store.version()
    stamp = json.loads((folder / index_snapshot.STAMP).read_text(encoding="utf-8"))
    sentences = np.load(folder / "sentences.npy")
    assert (sentences[:, 2] == SECTION_TITLE).any()
    sentences[sentences[:, 2] == SECTION_TITLE, 2] = HEADING  # as format 2 wrote them
    np.save(folder / "sentences.npy", sentences)
    stamp["files"]["sentences.npy"] = (folder / "sentences.npy").stat().st_size
    del stamp["sentence_kinds"]  # as a fazhi before it wrote the stamp
    (folder / index_snapshot.STAMP).write_text(json.dumps(stamp), "utf-8")
    forbid_build(monkeypatch)
    fresh = reopen(store_dir, embeddings)
    got, want = fresh.ask(CORPUS_WIDE), service.ask(CORPUS_WIDE)
    assert [c.quote for c in got.citations] == [c.quote for c in want.citations]
    assert (np.load(folder / "sentences.npy")[:, 2] == SECTION_TITLE).any()
    upgraded = json.loads((folder / index_snapshot.STAMP).read_text(encoding="utf-8"))
    assert upgraded["format"] == 2 == index_snapshot.FORMAT
    assert upgraded["sentence_kinds"] == index_snapshot.SENTENCE_KINDS


def test_a_format_1_snapshot_that_cannot_be_written_is_upgraded_in_memory(
    store_dir, embeddings, service, monkeypatch, caplog
):
    folder = as_format_1(store_dir, embeddings)

    def read_only(*_args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(index_snapshot, "_write_sentences", read_only)
    forbid_build(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="app.index_snapshot"):
        answer = reopen(store_dir, embeddings).ask(CORPUS_WIDE)
    assert answer.answer == service.ask(CORPUS_WIDE).answer
    assert "cannot add the sentence arrays" in caplog.text
    left = json.loads((folder / index_snapshot.STAMP).read_text(encoding="utf-8"))
    assert left["format"] == 1 and not any(p.name.startswith(".") for p in folder.iterdir())


def test_a_missing_snapshot_is_built_and_saved(store_dir, embeddings):
    shutil.rmtree(store_dir / SNAPSHOTS)
    fresh = reopen(store_dir, embeddings)
    assert fresh.ask(LOOKUP).found
    assert folders(store_dir) == [fresh.store.version()]


def test_a_stale_snapshot_is_never_used_and_is_replaced(store_dir, embeddings, monkeypatch):
    before = reopen(store_dir, embeddings)
    old_version = before.store.version()
    shitiao = next(r for r in before.store.list_reports() if r.meta.township == "石桥镇")
    before.store.remove_report(shitiao.id)
    assert before.store.version() != old_version
    identity = {"tokenizer": before.retriever.passage_tokens.identity()}
    assert index_snapshot.read(store_dir / SNAPSHOTS, before.store.version(), identity) is None

    after = reopen(store_dir, embeddings)
    answer = after.ask(CORPUS_WIDE)
    assert "石桥镇" not in answer.townships and "石桥镇" not in answer.not_mentioned
    assert folders(store_dir) == [after.store.version()]  # the stale one is gone

    # a folder stamped for another version than its name says is not used either
    stamp_path = store_dir / SNAPSHOTS / after.store.version() / index_snapshot.STAMP
    stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    stamp_path.write_text(json.dumps({**stamp, "version": old_version}), encoding="utf-8")
    assert index_snapshot.read(store_dir / SNAPSHOTS, after.store.version(), identity) is None


def test_ingest_and_removal_show_in_a_new_process_and_ingest_saves_the_snapshot(
    tmp_path, store_dir, embeddings, monkeypatch
):
    runner = CliRunner()
    monkeypatch.setenv("FAZHI_STORE", str(store_dir))
    shitiao = next(
        r for r in reopen(store_dir, embeddings).store.list_reports() if r.meta.township == "石桥镇"
    )
    removed = runner.invoke(cli, ["remove", shitiao.id])
    assert removed.exit_code == 0, removed.output
    answer = ask_json(runner, CORPUS_WIDE)
    assert "石桥镇" not in answer["townships"] and "石桥镇" not in answer["not_mentioned"]

    source = SAMPLE_CORPUS / Path(shitiao.source).name
    copy = tmp_path / "in" / source.name
    copy.parent.mkdir()
    shutil.copy(source, copy)
    ingested = runner.invoke(cli, ["ingest", str(copy.parent)])
    assert ingested.exit_code == 0, ingested.output
    assert "index snapshot updated" in ingested.output
    version = reopen(store_dir, embeddings).store.version()
    assert folders(store_dir) == [version]  # saved by ingest, for the store as it is now
    forbid_build(monkeypatch)
    answer = ask_json(runner, CORPUS_WIDE)
    assert "石桥镇" in answer["townships"]


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("vectors.npy", lambda p: p.write_bytes(p.read_bytes()[:-100])),
        ("texts.bin", lambda p: p.unlink()),
        (index_snapshot.STAMP, lambda p: p.write_text("{", encoding="utf-8")),
        ("bm25/vocab.index.json", lambda p: p.write_text("[1, 2", encoding="utf-8")),
    ],
)
def test_a_damaged_snapshot_is_rebuilt_with_a_log_line(
    store_dir, embeddings, service, caplog, name, damage
):
    fresh = reopen(store_dir, embeddings)
    folder = store_dir / SNAPSHOTS / fresh.store.version()
    damage(folder / name)
    with caplog.at_level(logging.WARNING, logger="app.index_snapshot"):
        answer = fresh.ask(CORPUS_WIDE)
    assert answer.answer == service.ask(CORPUS_WIDE).answer
    assert f"the index snapshot in {folder} is unusable" in caplog.text
    assert "rebuilding it" in caplog.text
    assert index_snapshot.read(
        store_dir / SNAPSHOTS,
        fresh.store.version(),
        {"tokenizer": fresh.retriever.passage_tokens.identity()},
    )


def test_a_chroma_server_store_keeps_its_snapshot_in_the_index_cache(tmp_path):
    settings = Settings(_env_file=None, chroma_url="http://db.example:8000", index_cache=tmp_path)
    folder = index_folder(settings.chroma_url or "", settings.index_cache)
    assert folder.parent == tmp_path
    assert folder != index_folder("http://other.example:8000", tmp_path)
    assert folder == index_folder("http://db.example:8000/", tmp_path)


def test_passage_table_counts_and_returns_passages_like_the_list(
    sample_store, monkeypatch, tmp_path
):
    passages = sample_store.passages()
    table = index_snapshot.PassageTable.of(passages)

    def reading(texts: bytes | mmap.mmap) -> index_snapshot.PassageTable:
        """The table's passages read from `texts` (no passage made yet)."""
        return index_snapshot.PassageTable(
            texts,
            table.text_starts,
            table.records,
            table.record_starts,
            report_offsets=table.report_offsets,
            sentences=table.sentences,
            sentence_starts=table.sentence_starts,
        )

    mapped = reading(table.texts)
    assert len(mapped) == len(passages)
    for i in (0, len(passages) // 2, len(passages) - 1, -1):
        assert (mapped[i].id, mapped[i].text, mapped[i].meta) == (
            passages[i].id,
            passages[i].text,
            passages[i].meta,
        )
    # pickled or copied (a web session's state), a mapped passage is a plain one
    assert pickle.loads(pickle.dumps(mapped[0])) == passages[0] == copy.deepcopy(mapped[0])
    for i, passage in enumerate(passages):
        assert quotable(mapped, i) == quotable_spans(passage.text, section_title(passage.meta))
        assert mapped.sentences_of(i) == sentence_spans(passage.text, 0, len(passage.text))
        assert mapped.report_offsets[i] == passage.meta["start"]
    (tmp_path / "texts.bin").write_bytes(table.texts)
    on_disk = reading(index_snapshot._map(tmp_path / "texts.bin"))  # as a saved snapshot's
    for variants in (("法律明白人",), ("依法行政", "贵和"), ("不存在的词语",), ("。",)):
        want = sum(1 for p in passages if any(v in p.text for v in variants))
        assert mapped.count_containing(variants) == want
        with monkeypatch.context() as m:  # where the C library has no memmem (Windows)
            m.setattr(index_snapshot, "_MEMMEM", None)
            assert mapped.count_containing(variants) == want
        with monkeypatch.context() as m:  # a large store's texts, scanned in parts side by side
            m.setattr(index_snapshot, "SCAN_PART", 1000)
            m.setattr(index_snapshot, "_cpus", lambda: 7)
            parts = on_disk._scan_parts()
            assert len(parts) == 7  # each begins where a passage does
            assert {a for a, _ in parts} <= set(on_disk.text_starts.tolist())
            assert on_disk.count_containing(variants) == want
            # a string running from one passage into the next, where a part begins, is sought
            # whole (in one part), as it was before parts
            i = int(np.searchsorted(on_disk.text_starts, parts[1][0]))
            over = passages[i - 1].text[-2:] + index_snapshot.SEPARATOR + passages[i].text[:2]
            sep = index_snapshot.SEPARATOR
            joined = sep.join(p.text for p in passages) + sep
            ends = np.cumsum([len(p.text) + 1 for p in passages])
            begins = [k for k in range(len(joined)) if joined.startswith(over, k)]
            holding = {int(np.searchsorted(ends, k, side="right")) for k in begins}
            assert on_disk.count_containing((over,)) == len(holding) >= 1
    # the last passage's text ends the buffer: its last characters are found, and a string
    # running past them is not
    last = passages[-1].text
    want = sum(1 for p in passages if last[-3:] in p.text)
    assert want >= 1 and mapped.count_containing((last[-3:],)) == want
    assert (
        mapped.count_containing(
            (last[-3:] + "终",),
        )
        == 0
    )


def test_passages_made_are_let_go_past_a_bound_and_made_again_alike(sample_store, monkeypatch):
    """A long-running server keeps at most MADE_KEPT passages made (with their decoded texts);
    past it they are let go, a passage still in use stays whole, and one asked for again is
    made again with the same id, text and metadata."""
    passages = sample_store.passages()
    table = index_snapshot.PassageTable.of(passages)
    table._made = [None] * len(passages)  # as a loaded snapshot's: nothing made yet
    monkeypatch.setattr(index_snapshot, "MADE_KEPT", 5)
    held = [table[i] for i in range(12)]
    assert sum(p is not None for p in table._made) <= 5
    assert table[0] is not held[0]  # let go, made again
    for i, passage in enumerate(held):
        again = table[i]
        assert (passage.id, passage.text, passage.meta) == (again.id, again.text, again.meta)
        assert (again.id, again.text, again.meta) == (
            passages[i].id,
            passages[i].text,
            passages[i].meta,
        )


def test_a_passage_heading_read_from_its_record_is_its_metadata_s(sample_store):
    """`heading_of` reads the heading from the record's bytes: the same as the decoded
    metadata for every sample passage, and for headings with quotes, backslashes or none."""
    passages = sample_store.passages()
    meta = dict(passages[0].meta)
    odd = [
        StoredPassage("q", "正文", {**meta, "heading": '一、“法治”建设 > （二）\\"引号"'}),
        StoredPassage("b", "正文", {**meta, "heading": "一、目录\\二"}),
        StoredPassage("e", "正文", {**meta, "heading": ""}),
        StoredPassage("n", "正文", {k: v for k, v in meta.items() if k != "heading"}),
        StoredPassage("t", "正文", {**meta, "title": '关于"heading": "假的"的报告'}),
    ]
    every = [*passages, *odd]
    table = index_snapshot.PassageTable.of(every)
    table._made = [None] * len(every)  # read from the records, as a loaded snapshot's
    for i, passage in enumerate(every):
        assert table.heading_of(i) == str(passage.meta.get("heading", "")), passage.id
    # a plain heading is read from the bytes, no passage made: the speed-up holds as long as
    # records are written as `heading_of` expects
    plain = [i for i, p in enumerate(every) if "\\" not in p.meta.get("heading", "\\")]
    table._made = [None] * len(every)
    for i in plain:
        table.heading_of(i)
    assert len(plain) > len(passages) // 2 and all(p is None for p in table._made)


def test_joined_texts_begin_where_said_even_when_a_text_holds_the_separator(sample_store):
    """What marking and practice names read: the chosen passages' texts, joined, and where each
    begins; a text holding the separator itself (pasted control characters) does not shift the
    texts after it."""
    passages = sample_store.passages()[:6]
    sep = index_snapshot.SEPARATOR
    odd = StoredPassage("odd", f"控制字符{sep}在正文里", dict(passages[0].meta))
    table = index_snapshot.PassageTable.of([*passages, odd])
    rows = np.array([6, 2, 0, 5], dtype=np.int64)  # in any order, as a question ranks them
    joined, starts = table.joined(rows)
    chosen = [[*passages, odd][i] for i in rows.tolist()]
    assert joined == sep.join(p.text for p in chosen)
    for k, passage in enumerate(chosen):
        assert joined[starts[k] : starts[k + 1] - 1] == passage.text
    assert table.joined(np.array([], dtype=np.int64))[0] == ""


def test_the_report_list_is_read_from_its_saved_copy_only_for_its_store_version(
    store_dir, embeddings
):
    store = reopen(store_dir, embeddings).store
    townships = {r.meta.township for r in store.list_reports()}
    saved_path = store_dir / CATALOGUE
    saved = json.loads(saved_path.read_text(encoding="utf-8"))
    assert saved["version"] == store.version()
    saved["metadatas"][0]["township"] = "测试镇"  # marks the copy: seen only if it is used
    saved_path.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    assert "测试镇" in {r.meta.township for r in reopen(store_dir, embeddings).store.list_reports()}

    changed = reopen(store_dir, embeddings).store
    changed.remove_report(changed.list_reports()[0].id)
    after = {r.meta.township for r in reopen(store_dir, embeddings).store.list_reports()}
    assert "测试镇" not in after and len(after) == len(townships) - 1

    saved_path.write_text("[", encoding="utf-8")  # unreadable: the store is read instead
    assert {r.meta.township for r in reopen(store_dir, embeddings).store.list_reports()} == after


def test_the_facets_are_read_from_their_saved_copy_only_for_its_store_version(
    store_dir, embeddings
):
    """A new process takes the places and years for filters from a small file, not by reading
    every report; a copy from another store version is never used."""
    store = reopen(store_dir, embeddings).store
    townships = store.facet_values()["township"]
    saved_path = store_dir / FACETS
    saved = json.loads(saved_path.read_text(encoding="utf-8"))
    assert saved["version"] == store.version() and saved["facets"]["township"] == townships
    saved["facets"]["township"].append("测试镇")  # marks the copy: seen only if it is used
    saved_path.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    assert "测试镇" in reopen(store_dir, embeddings).store.facet_values()["township"]

    changed = reopen(store_dir, embeddings).store
    removed = changed.list_reports()[0]
    changed.remove_report(removed.id)
    after = reopen(store_dir, embeddings).store.facet_values()["township"]
    assert "测试镇" not in after and removed.meta.township not in after
    assert len(after) == len(townships) - 1

    saved_path.write_text("[", encoding="utf-8")  # unreadable: the store is read instead
    assert reopen(store_dir, embeddings).store.facet_values()["township"] == after


def in_new_process(script: str) -> list[str]:
    """The lines a Python `script` prints, run in a new interpreter (nothing imported yet)."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_commands_that_need_no_model_do_not_import_torch(sample_store_dir, sample_store):
    report_id = sample_store.list_reports()[0].id
    script = f"""
import sys
from typer.testing import CliRunner
from app.cli import cli
for args in (["reports"], ["show", "{report_id}"], ["coverage", "河南省"], ["meta", "{report_id}"]):
    result = CliRunner().invoke(cli, [*args, "--store", "{sample_store_dir}"])
    assert result.exit_code == 0, (args, result.output)
print(sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules))
"""
    assert in_new_process(script)[-1] == "[]"


def test_a_question_in_a_new_process_is_answered_without_torch(sample_store_dir, service):
    """`fazhi ask` embeds the question with the numpy encoder: seconds of imports saved."""
    questions = ["王场镇聘请了法律顾问吗？", "哪些乡镇把执法能力不足列为存在的问题？"]
    script = f"""
import json, sys
from typer.testing import CliRunner
from app.cli import cli
for question in {questions!r}:
    result = CliRunner().invoke(cli, ["ask", question, "--json", "--store", "{sample_store_dir}"])
    assert result.exit_code == 0, result.output
    print(json.dumps(json.loads(result.stdout)["townships"], ensure_ascii=False))
print(sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules))
"""
    *answers, imported = in_new_process(script)
    assert imported == "[]"
    # the same townships as this process's service gives
    assert [json.loads(a) for a in answers] == [service.ask(q).townships for q in questions]


def test_an_id_with_quotes_in_it_is_read_whole(sample_store):
    """A snapshot passage's id is read from its record without decoding its metadata."""
    first = sample_store.passages()[0]
    odd = [StoredPassage('a "quoted" \\ id', first.text, first.meta)]
    table = index_snapshot.PassageTable.of(odd)
    table._made = [None]
    assert table[0].id == odd[0].id and table[0].meta == first.meta


def test_records_orjson_refuses_are_read_as_json_reads_them():
    from vectorstore import fastjson

    assert fastjson.loads(b'["p1", {"township": "\\u77f3\\u6865\\u9547", "start": 0}]') == [
        "p1",
        {"township": "石桥镇", "start": 0},
    ]
    assert math.isnan(fastjson.loads('{"score": NaN}')["score"])


def test_a_snapshot_made_under_other_content_words_is_not_used(store_dir, embeddings, monkeypatch):
    """The index's vocabulary (where paraphrases are found) keeps only content words: when
    what counts as one changes (a new stopword), a saved snapshot is built again."""
    from app import text

    before = reopen(store_dir, embeddings)
    version = before.store.version()
    before.retriever.snapshot()
    word = next(w for w in before.retriever.snapshot().vocabulary if len(w) >= 2)
    monkeypatch.setattr(text, "STOPWORDS", text.STOPWORDS | {word})
    identity = {"content_words": text.content_words_identity()}
    assert index_snapshot.read(store_dir / SNAPSHOTS, version, identity) is None
    after = reopen(store_dir, embeddings)
    assert word not in after.retriever.snapshot().vocabulary
