"""sentence-transformers / PyTorch embedder: the model exactly as shipped (fp32), the reference
against which faster backends are measured."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from guideminer.models.registry import ModelEntry


class SentenceTransformerEmbedder:
    """TextEmbedder running a local sentence-transformers directory on CPU with torch."""

    def __init__(self, entry: ModelEntry, *, num_threads: int, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(num_threads)  # fixed, so timings and results are reproducible
        self._model = SentenceTransformer(str(entry.path), device="cpu", local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension())
        self.model_id = f"{entry.name}@{entry.short_hash}-torch-fp32"
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = [str(t) for t in texts]
        order = np.argsort([-len(t) for t in texts], kind="stable")  # same length-sorting as ONNX
        vectors = self._model.encode(
            [texts[i] for i in order], batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        out[order] = vectors
        return out
