"""Cluster a role too big for one fit: fit on a seeded sample of rows, assign the rest.

Why: UMAP + HDBSCAN cost grows faster than linearly in rows and memory (100k demo conversations:
3 GB peak for ~360k rows per role); beyond `fit_rows` rows the clusters are fitted on a uniform
seeded sample (situations that matter are frequent, so a 500k-row sample holds them) and every
other row goes to its nearest centroid in batches, with the same typicality confidence that
HDBSCAN noise gets (`cluster_assign`), so memory for the assignment is one batch at a time.
Rows assigned this way are marked `hdbscan_noise = False` (HDBSCAN never saw them) and flagged
`is_noise` when their confidence is under `min_confidence`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from guideminer.mining.cluster import ClusterParams, ClusterResult, cluster_embeddings
from guideminer.mining.cluster_assign import typicality, unit_rows

FIT_ROWS = 500_000
ASSIGN_BATCH = 100_000


def cluster_rows(vectors: np.ndarray, params: ClusterParams | None = None, *, fit_rows: int = FIT_ROWS,
                 batch: int = ASSIGN_BATCH) -> ClusterResult:
    """`cluster_embeddings` when the rows fit, else sample-fit + batched nearest-centroid assignment."""
    params = params or ClusterParams()
    n = len(vectors)
    if n <= fit_rows:
        return cluster_embeddings(vectors, params)
    sample = np.sort(np.random.default_rng(params.seed).choice(n, size=fit_rows, replace=False))
    fitted = cluster_embeddings(np.asarray(vectors[sample]), params)
    labels = np.empty(n, dtype=np.int32)
    confidence = np.empty(n, dtype=np.float32)
    is_noise = np.zeros(n, dtype=bool)
    hdbscan_noise = np.zeros(n, dtype=bool)
    labels[sample], confidence[sample] = fitted.labels, fitted.confidence
    is_noise[sample], hdbscan_noise[sample] = fitted.is_noise, fitted.hdbscan_noise
    member_cos = np.einsum("ij,ij->i", unit_rows(np.asarray(vectors[sample])), fitted.centroids[fitted.labels])
    rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
    for start in range(0, len(rest), batch):
        rows = rest[start:start + batch]
        sims = unit_rows(np.asarray(vectors[rows])) @ fitted.centroids.T
        nearest = sims.argmax(axis=1).astype(np.int32)
        cosines = sims[np.arange(len(rows)), nearest]
        conf = np.empty(len(rows), dtype=np.float32)
        for cluster in np.unique(nearest):
            mask = nearest == cluster
            conf[mask] = typicality(member_cos[fitted.labels == cluster], cosines[mask])
        labels[rows], confidence[rows], is_noise[rows] = nearest, conf, conf < params.min_confidence
    seconds = {**fitted.seconds, "fit_rows": float(fit_rows)}
    return dataclasses.replace(fitted, labels=labels, confidence=confidence, is_noise=is_noise,
                               hdbscan_noise=hdbscan_noise, seconds=seconds)
