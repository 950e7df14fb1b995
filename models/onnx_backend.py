"""ONNX Runtime embedder: a once-only local export of a sentence-transformers model, optionally
dynamically quantised to int8, run with the model's own `tokenizer.json`.

Why: on a small CPU the transformer forward dominates mining time; ONNX Runtime's fused BERT
kernels and int8 MatMuls cut it several-fold. The export needs torch once; later runs need only
onnxruntime + tokenizers. Tokens are sorted by length and batched to cut padding.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from guideminer.models.registry import ModelEntry, ModelNotAvailableError, model_cache_dir

OnnxPrecision = Literal["fp32", "int8"]
EXPORT_FORMAT = 2  # bump when the export recipe changes so old exports are not reused
ORT_REQUIREMENT = "onnxruntime==1.31.1"
_META = "export.json"
_TOKENIZER = "tokenizer.json"


def export_dir(entry: ModelEntry, cache_root: Path | None = None) -> Path:
    return (cache_root or model_cache_dir()) / "onnx" / f"{entry.name}@{entry.short_hash}-v{EXPORT_FORMAT}"


def _onnx_name(precision: OnnxPrecision) -> str:
    return "model.onnx" if precision == "fp32" else "model.int8.onnx"


def _import_ort():
    try:
        import onnxruntime
    except ImportError as error:
        raise ModelNotAvailableError(
            f"the ONNX backend needs onnxruntime; install it with: pip install {ORT_REQUIREMENT} "
            "(or use backend='torch')"
        ) from error
    return onnxruntime


def _pipeline_meta(model) -> dict:
    """What the ONNX graph + numpy pooling must reproduce, read from the ST modules."""
    from sentence_transformers.models import Normalize, Pooling, Transformer

    modules = list(model)
    if not modules or not isinstance(modules[0], Transformer):
        raise ModelNotAvailableError(
            "ONNX export supports Transformer-first sentence-transformers models only; "
            "use backend='torch'"
        )
    pooling = next((m for m in modules if isinstance(m, Pooling)), None)
    mode = pooling.get_config_dict().get("pooling_mode") if pooling is not None else None
    others = [m for m in modules[1:] if not isinstance(m, (Pooling, Normalize))]
    if mode not in ("mean", "cls") or others:
        raise ModelNotAvailableError(
            f"ONNX backend supports Transformer + Pooling(mean|cls) [+ Normalize]; this model has "
            f"{[type(m).__name__ for m in modules]} with pooling {mode!r}; use backend='torch'"
        )
    tokenizer = modules[0].tokenizer
    return {
        "format": EXPORT_FORMAT,
        "pooling": mode,
        "max_seq_length": int(model.max_seq_length),
        "dimension": int(model.get_embedding_dimension()),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "input_names": [
            n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names
        ],
        "do_lower_case": bool(getattr(modules[0], "do_lower_case", False)),
    }


def _hidden_states_module(auto_model, input_names: list[str]):
    """Wraps the HF model so the graph has positional named inputs and one output."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *tensors):
            return self.inner(**dict(zip(input_names, tensors))).last_hidden_state

    return HiddenStates().eval()


def _export_fp32(model, meta: dict, target: Path) -> None:
    import torch

    names = meta["input_names"]
    # A padded batch from the model's own tokenizer: tracing an all-ones attention mask could
    # let transformers drop the mask from the graph, silently breaking padded batches.
    batch = model[0].tokenizer(["a b c d e f", "a"], padding=True, return_tensors="pt")
    sample = {n: batch[n] if n in batch else torch.zeros_like(batch["input_ids"]) for n in names}
    dynamic = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about python-bool conversions
        torch.onnx.export(
            _hidden_states_module(model[0].auto_model, names),
            tuple(sample[n] for n in names),
            str(target),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )


def _quantize(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantisation of the weights, per output channel.

    Measured on banking77 with all-MiniLM-L6-v2: per-tensor int8 gave mean cosine 0.968 to the
    fp32 vectors, per-channel 0.994 at the same speed, so per-channel it is. Graph fusions are
    left to ONNX Runtime's online optimiser (ORT_ENABLE_ALL), which was as fast as offline fusion.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)


def ensure_onnx_export(entry: ModelEntry, cache_root: Path | None = None) -> Path:
    """Export (fp32 + int8) into the model cache once; later calls return the existing dir."""
    target = export_dir(entry, cache_root)
    if (target / _META).is_file():
        return target
    _import_ort()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(entry.path), device="cpu", local_files_only=True)
    meta = _pipeline_meta(model)
    tokenizer = model[0].tokenizer
    if not hasattr(tokenizer, "backend_tokenizer"):
        raise ModelNotAvailableError(
            f"{entry.path}: the ONNX backend needs a fast tokenizer (tokenizer.json); use backend='torch'"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        _export_fp32(model, meta, work / _onnx_name("fp32"))
        _quantize(work / _onnx_name("fp32"), work / _onnx_name("int8"))
        tokenizer.backend_tokenizer.save(str(work / _TOKENIZER))
        meta["source_sha256"] = entry.sha256
        (work / _META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            os.replace(work, target)  # atomic publish; loses gracefully to a concurrent exporter
        except OSError:
            if not (target / _META).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class OnnxEmbedder:
    """TextEmbedder over an exported ONNX graph (fp32 or dynamic-int8)."""

    def __init__(self, entry: ModelEntry, precision: OnnxPrecision = "int8", *, num_threads: int,
                 batch_size: int = 64, cache_root: Path | None = None) -> None:
        from tokenizers import Tokenizer

        ort = _import_ort()
        directory = ensure_onnx_export(entry, cache_root)
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
        self._meta = meta
        self.dimension = int(meta["dimension"])
        self.model_id = f"{entry.name}@{entry.short_hash}-onnx-{precision}"
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(directory / _TOKENIZER))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        graph = directory / _onnx_name(precision)
        if not graph.is_file():
            raise ModelNotAvailableError(f"{graph} is missing; delete {directory} to export again")
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def _run_batch(self, encodings) -> np.ndarray:
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self._meta["pad_id"], dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        types = np.zeros((len(encodings), length), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = enc.ids, 1, enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._session.run(None, {n: feeds[n] for n in self._meta["input_names"]})[0]
        if self._meta["pooling"] == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        cleaned = [str(t) for t in texts]
        if self._meta["do_lower_case"]:
            cleaned = [t.lower() for t in cleaned]
        encodings = self._tokenizer.encode_batch(cleaned, add_special_tokens=True)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run_batch([encodings[i] for i in rows])
        return out
