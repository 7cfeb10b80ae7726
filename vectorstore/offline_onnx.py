"""The offline model's int8 encoder for ONNX Runtime (CPUs with AVX512-VNNI).

At build time, `export_int8_encoder` writes the 12 BERT layers of the fp32 model as an ONNX graph
that ONNX Runtime's CPU kernels run in int8: every linear layer is a
`com.microsoft::DynamicQuantizeMatMul` (weights int8 per output channel, activations quantised to
uint8 per call by MLAS, int32 accumulation with AVX512-VNNI), attention is
`com.microsoft::MultiHeadAttention` in fp32, GELU, residuals and LayerNorm are fp32. Activation
outliers are tamed SmoothQuant-style: each linear layer's input channels are divided by
`s = max|x|^alpha / max|W|^(1-alpha)` (max|x| measured on calibration passages) and its weight
columns multiplied by `s`, which leaves the fp32 function unchanged; for the attention output the
division is folded into the value projection, elsewhere it is an explicit Mul.

The word/position embeddings stay in torch (they are a lookup), so the ONNX file holds only the
encoder (~22 MB). `attach_int8_encoder` makes a loaded `SentenceTransformer` run its BERT encoder
through that file; the model stays an ordinary sentence-transformers model otherwise.

Export needs only torch and onnxruntime: it uses torch's TorchScript-based exporter
(`dynamo=False`), and skips that exporter's one step that needs the `onnx` package (inserting
onnxscript functions, of which this graph has none).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

# Where the int8 encoder lives inside the model directory (sentence-transformers keeps ONNX
# files under onnx/ too).
ONNX_ENCODER = "onnx/encoder_qint8_avx512_vnni.onnx"
SMOOTH_ALPHA = 0.7


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _exporter_without_onnx_package() -> Iterator[None]:
    """torch's TorchScript exporter imports `onnx` only to add onnxscript functions to the
    serialised model; with none in the graph that step returns the bytes unchanged."""
    from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

    original = onnx_proto_utils._add_onnxscript_fn

    def passthrough(model_bytes: bytes, custom_opsets: Any) -> bytes:
        return model_bytes

    onnx_proto_utils._add_onnxscript_fn = passthrough
    try:
        yield
    finally:
        onnx_proto_utils._add_onnxscript_fn = original


def _calibrate(model: SentenceTransformer, texts: Sequence[str]) -> dict[tuple[int, str], Any]:
    """Per-input-channel max |activation| of every linear layer of the encoder."""
    import torch

    encoder = model[0].auto_model.encoder
    maxima: dict[tuple[int, str], torch.Tensor] = {}
    hooks = []
    for i, layer in enumerate(encoder.layer):
        for name, mod in (
            ("qkv", layer.attention.self.query),
            ("ao", layer.attention.output.dense),
            ("fi", layer.intermediate.dense),
            ("fo", layer.output.dense),
        ):

            def hook(_mod: Any, inputs: Any, _out: Any, key: tuple[int, str] = (i, name)) -> None:
                x = inputs[0].detach()
                a = x.abs().reshape(-1, x.shape[-1]).amax(0)
                maxima[key] = torch.maximum(maxima[key], a) if key in maxima else a

            hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.inference_mode():
            model.encode(list(texts), prompt_name="passage", batch_size=8)
    finally:
        for h in hooks:
            h.remove()
    return maxima


def _typed(out: Any, like: Any) -> Any:
    """Declare a contrib op's output as a float tensor of `like`'s rank (ONNX shape inference
    does not know com.microsoft ops; without this torch warns once per node)."""
    out.setType(like.type().with_sizes([None] * 3))
    return out


def _int8_encoder_module(bert: Any, maxima: dict[tuple[int, str], Any], alpha: float) -> Any:
    import torch
    from torch import nn

    cfg = bert.config
    hidden, heads = cfg.hidden_size, cfg.num_attention_heads
    eps = cfg.layer_norm_eps

    class DynamicQuantizeMatMul(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, qw: Any, scale: Any, zp: Any, bias: Any) -> Any:
            return x @ (qw.float() * scale) + bias

        @staticmethod
        def symbolic(g: Any, x: Any, qw: Any, scale: Any, zp: Any, bias: Any) -> Any:
            y = g.op("com.microsoft::DynamicQuantizeMatMul", x, qw, scale, zp, bias)
            return _typed(y, x)

    class MultiHeadAttention(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, q: Any, k: Any, v: Any, mask: Any) -> Any:
            b, s, _ = q.shape

            def split(t: Any) -> Any:
                return t.reshape(b, s, heads, hidden // heads).transpose(1, 2)

            scores = split(q) @ split(k).transpose(-1, -2) / (hidden // heads) ** 0.5
            scores = scores + (1 - mask[:, None, None, :].float()) * -1e4
            return (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(b, s, hidden)

        @staticmethod
        def symbolic(g: Any, q: Any, k: Any, v: Any, mask: Any) -> Any:
            no_bias = g.op("Constant", value_t=torch.zeros(3 * hidden))
            y = g.op("com.microsoft::MultiHeadAttention", q, k, v, no_bias, mask, num_heads_i=heads)
            return _typed(y, q)

    def smoothing(key: tuple[int, str], weights: list[Any]) -> Any:
        amax = maxima[key].float().clamp(min=1e-5)
        wmax = torch.stack([w.abs().amax(0) for w in weights]).amax(0).clamp(min=1e-5)
        return amax**alpha / wmax ** (1 - alpha)

    class QLinear(nn.Module):
        """y = (x / s) @ int8(W * s) + b, weights per output channel."""

        def __init__(self, w: Any, b: Any, inv: Any | None) -> None:
            super().__init__()
            scale = w.abs().amax(1).clamp(min=1e-12) / 127.0
            q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
            self.register_buffer("qw", q.t().contiguous())
            self.register_buffer("scale", scale.contiguous())
            self.register_buffer("zp", torch.zeros(w.shape[0], dtype=torch.int8))
            self.register_buffer("bias", b.contiguous())
            self.register_buffer("inv", None if inv is None else inv.contiguous())

        def forward(self, x: Any) -> Any:
            if self.inv is not None:
                x = x * self.inv
            return DynamicQuantizeMatMul.apply(x, self.qw, self.scale, self.zp, self.bias)

    def wb(lin: Any) -> tuple[Any, Any]:
        return lin.weight.detach().float(), lin.bias.detach().float()

    class Layer(nn.Module):
        def __init__(self, i: int, layer: Any) -> None:
            super().__init__()
            sa, ao = layer.attention.self, layer.attention.output
            (wq, bq), (wk, bk), (wv, bv) = wb(sa.query), wb(sa.key), wb(sa.value)
            wao, bao = wb(ao.dense)
            s_ao = smoothing((i, "ao"), [wao])  # folded into V: context / s_ao
            wv, bv, wao = wv / s_ao[:, None], bv / s_ao, wao * s_ao[None, :]
            s_qkv = smoothing((i, "qkv"), [wq, wk, wv])
            self.qkv = QLinear(
                torch.cat([wq, wk, wv]) * s_qkv[None, :], torch.cat([bq, bk, bv]), 1 / s_qkv
            )
            self.ao = QLinear(wao, bao, None)
            wfi, bfi = wb(layer.intermediate.dense)
            wfo, bfo = wb(layer.output.dense)
            s_fi, s_fo = smoothing((i, "fi"), [wfi]), smoothing((i, "fo"), [wfo])
            self.fi = QLinear(wfi * s_fi[None, :], bfi, 1 / s_fi)
            self.fo = QLinear(wfo * s_fo[None, :], bfo, 1 / s_fo)
            self.ln1 = self._copy_ln(ao.LayerNorm)
            self.ln2 = self._copy_ln(layer.output.LayerNorm)

        @staticmethod
        def _copy_ln(ln: Any) -> Any:
            out = nn.LayerNorm(hidden, eps=eps)
            out.load_state_dict(ln.state_dict())
            return out

        def forward(self, x: Any, mask: Any) -> Any:
            q, k, v = self.qkv(x).split(hidden, dim=-1)
            x = self.ln1(self.ao(MultiHeadAttention.apply(q, k, v, mask)) + x)
            return self.ln2(self.fo(nn.functional.gelu(self.fi(x))) + x)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(Layer(i, la) for i, la in enumerate(bert.encoder.layer))

        def forward(self, hidden_states: Any, attention_mask: Any) -> Any:
            x, mask = hidden_states, attention_mask.to(torch.int32)
            for layer in self.layers:
                x = layer(x, mask)
            return x

    return Encoder().eval()


def export_int8_encoder(
    model: SentenceTransformer,
    out: Path,
    calibration_texts: Sequence[str],
    *,
    alpha: float = SMOOTH_ALPHA,
) -> None:
    """Write the int8 ONNX encoder of the fp32 `model` to `out`."""
    import torch

    bert = model[0].auto_model
    if getattr(bert.config, "hidden_act", None) != "gelu" or bert.config.is_decoder:
        raise ValueError("only exact-GELU BERT encoders are supported")
    maxima = _calibrate(model, calibration_texts)
    encoder = _int8_encoder_module(bert, maxima, alpha)
    hidden = torch.zeros(2, 16, bert.config.hidden_size)
    mask = torch.ones(2, 16, dtype=torch.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), _exporter_without_onnx_package(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder,
            (hidden, mask),
            str(out),
            dynamo=False,
            input_names=["hidden_states", "attention_mask"],
            output_names=["last_hidden_state"],
            opset_version=17,
            custom_opsets={"com.microsoft": 1},
            dynamic_axes={
                "hidden_states": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "last_hidden_state": {0: "batch", 1: "sequence"},
            },
        )


def attach_int8_encoder(
    model: SentenceTransformer, onnx_file: Path, threads: int
) -> Callable[[], None]:
    """Run `model`'s BERT encoder through the ONNX file from now on; returns an undo function.

    The embeddings (a table lookup + LayerNorm) still run in torch; the encoder output goes
    through the rest of the sentence-transformers pipeline (mean pooling, normalisation) as usual.
    """
    import onnxruntime as ort
    import torch
    from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    bert = model[0].auto_model

    def forward(
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        **_kwargs: Any,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        if input_ids is None:
            raise ValueError("the int8 ONNX encoder needs input_ids")
        with torch.inference_mode():
            hidden = bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        out = session.run(
            None,
            {
                "hidden_states": hidden.float().cpu().numpy(),
                "attention_mask": attention_mask.cpu().numpy().astype(np.int64),
            },
        )[0]
        return BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=torch.from_numpy(out))

    bert.forward = forward

    def undo() -> None:
        with contextlib.suppress(AttributeError):
            del bert.forward

    return undo
