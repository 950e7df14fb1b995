"""`guideminer mine --engine ray`: the embedding stage on Ray Data, same cache, same vectors.

Why only embedding (and nothing else) goes to Ray: it is the stage that grows linearly with the
data and parallelises perfectly (each text is independent); it is also the dominant cost past
~100k turns. The cache layout is unchanged (`mining/embed_cache.py` part files), so a run can
switch engines and later runs on either engine reuse every vector.

Each Ray worker is a `map_batches` callable class that loads its own embedder once (one model
per worker; models are not shipped through the object store). Workers get the embedder from a
picklable zero-argument factory (e.g. `functools.partial(load_embedder, None, "auto")`).

Pointing at an existing cluster: set `RAY_ADDRESS=ray://head:10001` (or `auto` on a cluster node)
before `guideminer mine --engine ray`; the workspace path must be readable by the driver only
(texts travel through Ray, vectors come back to the driver, which writes the cache).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from guideminer.models.embedder import TextEmbedder

EmbedderFactory = Callable[[], TextEmbedder]


class _EmbedBatch:
    """Ray Data callable: holds one embedder per worker."""

    def __init__(self, factory: EmbedderFactory) -> None:
        self.embedder = factory()

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
        return {"key": batch["key"], "vector": list(vectors)}


def ensure_ray(num_cpus: int | None = None) -> None:
    """Connect to RAY_ADDRESS when set, else start a local instance (no dashboard)."""
    import ray

    if ray.is_initialized():
        return
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)


def ray_embed(missing: dict[str, str], factory: EmbedderFactory, *, batch_size: int = 256,
              concurrency: int | None = None) -> dict[str, np.ndarray]:
    """key -> vector for every (key, text) in `missing`, embedded by Ray workers."""
    if not missing:
        return {}
    import ray

    ensure_ray()
    workers = concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)))
    items = [{"key": k, "text": t} for k, t in missing.items()]
    dataset = ray.data.from_items(items).map_batches(
        _EmbedBatch, fn_constructor_args=(factory,), batch_size=batch_size, concurrency=workers,
        batch_format="numpy")
    out: dict[str, np.ndarray] = {}
    for row in dataset.iter_rows():
        out[str(row["key"])] = np.asarray(row["vector"], dtype=np.float32)
    if len(out) != len(missing):
        raise RuntimeError(f"Ray embedding returned {len(out)} vectors for {len(missing)} texts")
    return out
