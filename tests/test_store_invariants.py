"""The store's invariants hold after any mix of good and bad files and `kill -9` mid-ingest.

A seeded random loop (embedding is slow, so a few rounds, not hundreds of examples): each round
edits one and deletes another of the files the killed run before it was writing, adds good
reports (txt, docx, web pages), a copy of one, and bad files (empty, binary, corrupt, scanned,
zip bomb, symlink loop, undecodable, unsupported) to a folder, and runs the real `fazhi ingest`
in a subprocess killed with SIGKILL at a random moment (while embedding, or just as it writes).
A last run finishes. Then, in the real Chroma store: each report is stored once, every
passage's text is its report's text at its offsets, no passage lacks its report and no report
lacks its passages.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from app.services import open_store
from app.settings import Settings
from ingest import build_report
from tests.fixture_files import (
    make_binary_junk,
    make_corrupt_docx,
    make_docx,
    make_docx_bomb,
    make_empty,
    make_gov_html,
    make_scanned_pdf,
    make_undecodable_text,
    sample_paths,
    sample_text,
)

FAZHI = Path(sys.executable).with_name("fazhi")
ROUNDS = 3


def _good_report(rng: random.Random, folder: Path, number: int) -> Path:
    """A sample report made distinct by a numbered sentence, as txt, docx or a web page."""
    index = rng.randrange(len(sample_paths()))
    text = sample_text(index).rstrip() + f"\n本报告为第{number}份测试稿，共计{number}页。\n"
    kind = rng.choice(["txt", "txt", "docx", "html"])
    path = folder / f"r{number:02d}.{kind}"
    if kind == "txt":
        path.write_text(text, encoding=rng.choice(["utf-8", "gb18030"]))
    elif kind == "docx":
        make_docx(text, path)
    else:
        title = text.strip().splitlines()[0]
        make_gov_html(text, path, title, "2024-01-15")
    return path


def _bad_file(rng: random.Random, folder: Path, number: int) -> Path:
    """A file that must fail or be skipped, with the reason fazhi gives for it."""
    name = f"x{number:02d}"
    makers: list[Callable[[], Path]] = [
        lambda: make_empty(folder / f"{name}.txt"),
        lambda: make_binary_junk(folder / f"{name}.txt", seed=number),
        lambda: make_corrupt_docx(folder / f"{name}.docx", seed=number),
        lambda: make_scanned_pdf(folder / f"{name}.pdf", pages=1),
        lambda: make_docx_bomb(folder / f"{name}.docx", 5_000_000),
        lambda: make_undecodable_text(folder / f"{name}.txt"),
        lambda: make_binary_junk(folder / f"{name}.xls", seed=number),  # unsupported: skipped
    ]
    choice = rng.randrange(len(makers) + 1)
    if choice < len(makers):
        return makers[choice]()
    (folder / f"{name}a.txt").symlink_to(f"{name}b.txt")  # a symlink loop
    (folder / f"{name}b.txt").symlink_to(f"{name}a.txt")
    return folder / f"{name}a.txt"


def _copy(rng: random.Random, folder: Path, number: int, good: list[Path]) -> Path:
    """A copy of a good report under another name: the same text, to be stored once."""
    original = rng.choice(good)
    copy = folder / f"c{number:02d}{original.suffix}"
    copy.write_bytes(original.read_bytes())
    return copy


def _ingest(folder: Path, store: Path) -> subprocess.Popen[str]:
    command = [str(FAZHI), "ingest", str(folder), "--store", str(store), "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _store_bytes(store: Path) -> int:
    total = 0
    for file in store.rglob("*"):
        with contextlib.suppress(OSError):  # a file Chroma replaced while we looked
            total += file.stat().st_size if file.is_file() else 0
    return total


def _kill_mid_run(process: subprocess.Popen[str], store: Path, rng: random.Random) -> str | None:
    """SIGKILL `process` at a random moment; the moment, or None if it had already finished.

    "embedding": a random time after the store is opened, while files load and embed;
    "writing": just after the store starts to change, inside a write (a replace, a new report).
    """
    deadline = time.monotonic() + 300
    while not (store / "chroma.sqlite3").exists() and process.poll() is None:
        assert time.monotonic() < deadline, "fazhi ingest never opened the store"
        time.sleep(0.02)
    moment = rng.choice(["embedding", "writing"])
    if moment == "embedding":
        time.sleep(rng.uniform(0.2, 4.0))
    else:
        time.sleep(1.0)  # opening the store writes its settings; let that settle
        opened = _store_bytes(store)
        while process.poll() is None and _store_bytes(store) == opened:
            assert time.monotonic() < deadline, "fazhi ingest never wrote to the store"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
    running = process.poll() is None
    process.kill()  # SIGKILL: no cleanup, no flush
    process.communicate(timeout=60)
    return moment if running else None


def _assert_invariants(store_dir: Path, good: list[Path], gone: set[str], embeddings) -> None:
    store = open_store(Settings(_env_file=None, store=store_dir), embeddings)
    expected = {build_report(path).id for path in good}
    reports = store.list_reports()
    ids = Counter(report.id for report in reports)
    assert all(n == 1 for n in ids.values()), f"a report stored twice: {ids}"
    assert expected <= set(ids), "every good report's current text is stored"
    left = {r.id: Path(r.source).name for r in reports if r.id not in expected | gone}
    assert not left, f"no old version of an edited report is left: {left}"

    by_report: dict[str, list] = {}
    for passage in store.passages():
        by_report.setdefault(passage.meta["report_id"], []).append(passage)
    orphans = set(by_report) - set(ids)
    assert not orphans, f"passages without their report: {orphans}"
    for report in reports:
        passages = by_report.get(report.id, [])
        assert passages, f"report {report.id} ({report.source}) has no passages"
        assert len(passages) == report.passage_count
        text = store.get_report(report.id).text
        assert text is not None
        for passage in passages:
            start, end = passage.meta["start"], passage.meta["end"]
            assert text[start:end] == passage.text, f"passage {passage.id} is not its offsets"
        ordinals = sorted(p.meta["ordinal"] for p in passages)
        assert ordinals == list(range(len(passages))), "one passage per ordinal, none twice"


@pytest.mark.parametrize("seed", [2024])
def test_store_invariants_survive_bad_files_and_kill_9(tmp_path, embeddings, seed):
    rng = random.Random(seed)
    folder = tmp_path / "reports"
    folder.mkdir()
    store = tmp_path / "store"
    good: list[Path] = []
    bad: list[Path] = []
    gone: set[str] = set()  # reports of deleted files: stored whole, or not at all
    number = 0
    kills: list[str] = []
    new: list[Path] = []
    for _ in range(ROUNDS):
        # what the killed run was writing is edited or deleted before the next run
        edited = [p for p in new if p.suffix == ".txt"]
        if edited:
            path = rng.choice(edited)
            path.write_bytes(path.read_bytes() + "二次修订。\n".encode(_encoding(path)))
        if len(new) >= 2:
            path = rng.choice([p for p in new if p not in edited[:1]])
            gone.add(build_report(path).id)
            good.remove(path)
            path.unlink()
        new = []
        for _ in range(rng.randint(2, 4)):
            number += 1
            new.append(_good_report(rng, folder, number))
        good += new
        for _ in range(rng.randint(2, 3)):
            number += 1
            bad.append(_bad_file(rng, folder, number))
        number += 1
        good.append(_copy(rng, folder, number, good))
        moment = _kill_mid_run(_ingest(folder, store), store, rng)
        kills += [moment] if moment else []
    assert kills, "no kill landed while ingest was running; the test proved nothing"

    finished = _ingest(folder, store)
    stdout, stderr = finished.communicate(timeout=600)
    assert "Traceback" not in stderr
    results = {Path(f["path"]).name: f for f in json.loads(stdout)["files"]}
    for path in good:
        assert results[path.name]["status"] in ("added", "replaced", "unchanged"), path
    for path in bad:
        assert results[path.name]["status"] in ("failed", "skipped"), results[path.name]
    _assert_invariants(store, good, gone, embeddings)


def _encoding(path: Path) -> str:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


class _Killed(Exception):
    """Stands for SIGKILL at one exact point of a write (a random kill rarely lands there)."""


def _crash(*args: object, **kwargs: object) -> None:
    raise _Killed


def _orphans_and_empties(store) -> tuple[set[str], set[str]]:
    reports = {r.id for r in store.list_reports()}
    with_passages = {p.meta["report_id"] for p in store.passages()}
    return with_passages - reports, reports - with_passages


def test_a_replace_killed_before_its_report_is_written_is_undone_by_the_next_write(
    tmp_path, fresh_store, monkeypatch
):
    from tests.conftest import ingest_into

    edited, other = tmp_path / "a.txt", tmp_path / "b.txt"
    edited.write_text(sample_text(0), encoding="utf-8")
    ingest_into(fresh_store, edited)
    old_id = build_report(edited).id
    edited.write_text(sample_text(0) + "\n二次修订。\n", encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(fresh_store._reports, "upsert", _crash)  # killed after the passages
        with pytest.raises(_Killed):
            ingest_into(fresh_store, edited)
    orphans, _ = _orphans_and_empties(fresh_store)
    assert orphans == {build_report(edited).id}, "the kill left the new passages behind"

    edited.unlink()  # the user deletes the file instead of ingesting it again
    other.write_text(sample_text(1), encoding="utf-8")
    ingest_into(fresh_store, other)
    assert _orphans_and_empties(fresh_store) == (set(), set())
    assert {r.id for r in fresh_store.list_reports()} == {old_id, build_report(other).id}


def test_a_remove_killed_between_passages_and_report_is_finished_by_the_next_write(
    tmp_path, fresh_store, monkeypatch
):
    from tests.conftest import ingest_into

    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(sample_text(2), encoding="utf-8")
    ingest_into(fresh_store, first)
    with monkeypatch.context() as patch:
        patch.setattr(fresh_store._reports, "delete", _crash)  # killed after the passages
        with pytest.raises(_Killed):
            fresh_store.remove_report(build_report(first).id)
    assert _orphans_and_empties(fresh_store)[1] == {build_report(first).id}

    second.write_text(sample_text(3), encoding="utf-8")
    ingest_into(fresh_store, second)
    assert _orphans_and_empties(fresh_store) == (set(), set())
    assert [r.id for r in fresh_store.list_reports()] == [build_report(second).id]


def test_a_replace_killed_before_the_old_version_is_removed_is_finished_by_the_next_ingest(
    tmp_path, fresh_store, monkeypatch
):
    """Even when the file is unchanged since, so that the next ingest writes nothing itself."""
    from tests.conftest import ingest_into

    edited = tmp_path / "a.txt"
    edited.write_text(sample_text(0), encoding="utf-8")
    ingest_into(fresh_store, edited)
    edited.write_text(sample_text(0) + "\n二次修订。\n", encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(fresh_store, "_delete_report", _crash)  # killed before the old goes
        with pytest.raises(_Killed):
            ingest_into(fresh_store, edited)
    assert len(fresh_store.list_reports()) == 2, "both versions are stored at the kill"

    summary = ingest_into(fresh_store, edited)
    assert summary.count("unchanged") == 1
    assert [r.id for r in fresh_store.list_reports()] == [build_report(edited).id]
    assert _orphans_and_empties(fresh_store) == (set(), set())
