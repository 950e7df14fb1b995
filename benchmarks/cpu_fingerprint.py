"""Fingerprint of the numerics on this CPU: do embeddings and clusters come out bit-identical?

Why: the machines here change CPU between sessions (AMD EPYC, Intel Xeon with AMX), and the
mined figures moved with the CPU for the same commit and corpus (docs/results.md, fifth
session). Clustering amplifies a last-bit difference (an ulp-level perturbation of the demo's
agent vectors gave ARI 0.95 against the unperturbed run), so the embedder and the numba code
(UMAP) must compute the same bits everywhere. Run this on each machine and compare the hashes:
equal vector hashes = the embedder is CPU-independent; equal cluster hashes with equal vectors
= the reduction and HDBSCAN are too.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/cpu_fingerprint.py [--conversations 300] [--save v.npy]
    .venv/bin/python benchmarks/cpu_fingerprint.py --compare v.npy   # vectors saved on another machine
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
from pathlib import Path

import numpy as np


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def demo_texts(n_conversations: int) -> list[str]:
    """Distinct agent turns of the first `n_conversations` demo conversations, in order."""
    from guideminer.ingest.demo_corpus import generate_demo_conversations

    texts = [t["text"] for c, _ in generate_demo_conversations(n_conversations) for t in c["turns"] if t["role"] == "agent"]
    return list(dict.fromkeys(texts))


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def intermediate_digests(vectors: np.ndarray) -> dict[str, str]:
    """Hashes of the stages between vectors and labels (the cosine kNN graph UMAP starts from,
    and UMAP's coordinates), so a CPU that changes the labels shows which stage first differs."""
    from guideminer.mining.cluster import ClusterParams, exact_knn, reduce_dimensions, resolve_params

    params = resolve_params(ClusterParams(), len(vectors))
    distinct = np.unique(vectors, axis=0)
    indices, _ = exact_knn(distinct, params.umap_neighbors)
    return {"knn": digest(indices.astype(np.int64)), "umap": digest(reduce_dimensions(vectors, params).astype(np.float32))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--save", type=Path, help="write the vectors here (.npy) to compare on another machine")
    parser.add_argument("--compare", type=Path, help="vectors saved with --save elsewhere")
    args = parser.parse_args()

    import guideminer  # noqa: F401  (pins numba's target before numba loads)
    from guideminer.mining.cluster import ClusterParams, cluster_embeddings
    from guideminer.models import load_embedder

    texts = demo_texts(args.conversations)
    embedder = load_embedder()
    vectors = embedder.embed(texts).astype(np.float32)
    labels = cluster_embeddings(vectors, ClusterParams()).labels
    reduced = intermediate_digests(vectors)
    print(f"cpu: {cpu_name()} ({os.cpu_count()} cpus); numba target {os.environ.get('NUMBA_CPU_NAME', 'host')}")
    print(f"embedder: {embedder.model_id}; {len(texts)} distinct agent texts of {args.conversations} demo conversations")
    print(f"vectors sha256 {digest(vectors)}; rounded to 1e-4: {digest(np.round(vectors, 4))}")
    print(f"exact kNN graph sha256 {reduced['knn']}; UMAP coordinates sha256 {reduced['umap']}")
    print(f"clusters: {labels.max() + 1}, labels sha256 {digest(labels.astype(np.int32))}")
    if args.save:
        np.save(args.save, vectors)
    if args.compare:
        other = np.load(args.compare)
        if other.shape != vectors.shape:
            raise SystemExit(f"--compare {args.compare}: shape {other.shape}, here {vectors.shape}")
        diff = np.abs(other - vectors)
        print(f"vs {args.compare}: {int((diff > 0).sum())} of {diff.size} elements differ, max abs diff {diff.max():.3g}")
        other_labels = cluster_embeddings(other, ClusterParams()).labels
        print(f"clusters from those vectors here: labels sha256 {digest(other_labels.astype(np.int32))}")


if __name__ == "__main__":
    main()
