"""Local model registry and embedders (a leaf package: imports no other guideminer stage).

Heavy libraries (torch, onnxruntime) are imported only when an embedder is loaded.
"""

from guideminer.models.embedder import TextEmbedder
from guideminer.models.loading import AUTO_BACKEND, BACKENDS, default_num_threads, load_embedder
from guideminer.models.registry import (
    DEFAULT_EMBEDDER,
    DEFAULT_GGUF,
    ModelEntry,
    ModelNotAvailableError,
    model_cache_dir,
    resolve_embedder,
    resolve_gguf,
)

__all__ = [
    "AUTO_BACKEND",
    "BACKENDS",
    "DEFAULT_EMBEDDER",
    "DEFAULT_GGUF",
    "ModelEntry",
    "ModelNotAvailableError",
    "TextEmbedder",
    "default_num_threads",
    "load_embedder",
    "model_cache_dir",
    "resolve_embedder",
    "resolve_gguf",
]
