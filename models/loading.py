"""One entry point that turns a model name or path plus a backend choice into a TextEmbedder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from guideminer.models.embedder import TextEmbedder
from guideminer.models.registry import ModelNotAvailableError, resolve_embedder

Backend = Literal["auto", "torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx", "onnx-int8")
# "auto" = fp32 ONNX: its vectors do not depend on batch companions or on the CPU's int8 kernels,
# so the same corpus gives the same clusters and figures on any x86-64 machine. Measured here
# (2026-12-01, /tmp/batchdep.py in docs/results.md "Embedder precision"): a DSTC11 turn embedded
# alone vs inside a 200-turn batch differs by max |d| 0.0 (fp32) vs 0.029, min cosine 0.984
# (int8, dynamic per-batch activation scales). "onnx-int8" stays available for speed at scale
# (earlier measured 4.2x plain sentence-transformers vs roughly 2x for fp32 ONNX), at the price
# of batch-dependent vectors.
AUTO_BACKEND = "onnx"
THREADS_ENV = "GUIDEMINER_THREADS"


def default_num_threads() -> int:
    """$GUIDEMINER_THREADS, else the CPUs this process may run on."""
    configured = os.environ.get(THREADS_ENV)
    if configured:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_embedder(
    name_or_path: str | os.PathLike[str] | None = None,
    backend: Backend = "auto",
    *,
    num_threads: int | None = None,
    batch_size: int = 64,
    cache_root: Path | None = None,
) -> TextEmbedder:
    """Resolve a local embedder (default all-MiniLM-L6-v2) and load it on the chosen backend.

    The returned embedder's `model_id` is "<name>@<content sha256 prefix>-<backend>", e.g.
    "all-MiniLM-L6-v2@061c60a0782c-onnx-int8", so caches never mix vectors of different weights
    or numerics. The ONNX backends export the model into the model cache on first use (~10 s).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    entry = resolve_embedder(name_or_path)
    threads = num_threads or default_num_threads()
    chosen = AUTO_BACKEND if backend == "auto" else backend
    if chosen == "torch":
        from guideminer.models.torch_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(entry, num_threads=threads, batch_size=batch_size)
    if chosen in ("onnx", "onnx-int8"):
        from guideminer.models.onnx_backend import OnnxEmbedder

        precision = "int8" if chosen == "onnx-int8" else "fp32"
        return OnnxEmbedder(
            entry, precision, num_threads=threads, batch_size=batch_size, cache_root=cache_root
        )
    raise ModelNotAvailableError(f"backend {chosen!r} has no loader")  # unreachable by BACKENDS
