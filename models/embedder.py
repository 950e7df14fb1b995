"""The one contract every text embedder implements (sentence-transformers, ONNX, fakes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class TextEmbedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed dimension.

    `model_id` names the model *content* (e.g. "all-MiniLM-L6-v2@<sha256 prefix>") so caches
    keyed by it are invalidated when the weights change.
    """

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # shape (len(texts), dimension)
        ...
