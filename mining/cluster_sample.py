"""Cluster a role too big for one fit: fit on a seeded sample of rows, assign the rest.

Why: UMAP + HDBSCAN cost grows faster than linearly in rows and memory (100k demo conversations:
3 GB peak for ~360k rows per role); beyond `fit_rows` rows the clusters are fitted on a uniform
seeded sample (situations that matter are frequent, so a 500k-row sample holds them) and every
other row is assigned:
- a row whose text is also a sampled row's text gets exactly that row's outcome (cluster,
  HDBSCAN membership, confidence, noise flag): a full fit puts identical texts on one point, so
  this is what it would have done;
- any other row goes to its nearest centroid with the typicality confidence HDBSCAN noise gets
  (`cluster_assign`), flagged `is_noise` under `min_confidence`, and marked
  `hdbscan_noise = False` (HDBSCAN never saw it).
Vectors are addressed through `index` (row -> distinct-text vector), so the unsampled rows cost
one pass over their distinct texts, in batches, never a row-sized matrix.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from guideminer.mining.cluster import ClusterParams, ClusterResult, cluster_embeddings
from guideminer.mining.cluster_assign import typicality, unit_rows

FIT_ROWS = 500_000
ASSIGN_BATCH = 100_000


def cluster_rows(vectors: np.ndarray, params: ClusterParams | None = None, *, fit_rows: int = FIT_ROWS,
                 batch: int = ASSIGN_BATCH, index: np.ndarray | None = None) -> ClusterResult:
    """`cluster_embeddings` of rows `vectors[index]` (index None: every row of `vectors`) when
    they fit, else sample-fit + assignment (module docstring)."""
    params = params or ClusterParams()
    index = np.arange(len(vectors)) if index is None else np.asarray(index)
    n = len(index)
    if n <= fit_rows:
        return cluster_embeddings(np.asarray(vectors[index]), params)
    sample = np.sort(np.random.default_rng(params.seed).choice(n, size=fit_rows, replace=False))
    sampled = np.asarray(vectors[index[sample]])
    fitted = cluster_embeddings(sampled, params)
    cosines = np.einsum("ij,ij->i", unit_rows(sampled), fitted.centroids[fitted.labels])
    del sampled
    member_cos = {c: cosines[fitted.labels == c] for c in range(len(fitted.centroids))}
    labels = np.empty(n, dtype=np.int32)
    confidence = np.empty(n, dtype=np.float32)
    is_noise = np.zeros(n, dtype=bool)
    hdbscan_noise = np.zeros(n, dtype=bool)
    labels[sample], confidence[sample] = fitted.labels, fitted.confidence
    is_noise[sample], hdbscan_noise[sample] = fitted.is_noise, fitted.hdbscan_noise
    rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
    twin = _sampled_twin(index, sample, rest)
    copied = twin >= 0
    for target, source in ((labels, labels), (confidence, confidence), (is_noise, is_noise),
                           (hdbscan_noise, hdbscan_noise)):
        target[rest[copied]] = source[twin[copied]]
    _assign_nearest(vectors, index, rest[~copied], fitted.centroids, member_cos, params.min_confidence,
                    (labels, confidence, is_noise), batch)
    seconds = {**fitted.seconds, "fit_rows": float(fit_rows), "copied_rows": float(copied.sum())}
    return dataclasses.replace(fitted, labels=labels, confidence=confidence, is_noise=is_noise,
                               hdbscan_noise=hdbscan_noise, seconds=seconds)


def _sampled_twin(index: np.ndarray, sample: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """For each rest row, a sampled row with the same text (its first), or -1."""
    first_sampled = np.full(int(index.max()) + 1, -1, dtype=np.int64)
    sampled_texts = index[sample]
    order = np.argsort(sampled_texts, kind="stable")
    unique_texts, first = np.unique(sampled_texts[order], return_index=True)
    first_sampled[unique_texts] = sample[order[first]]
    return first_sampled[index[rest]]


def _assign_nearest(vectors: np.ndarray, index: np.ndarray, rows: np.ndarray, centroids: np.ndarray,
                    member_cos: dict[int, np.ndarray], min_confidence: float,
                    out: tuple[np.ndarray, np.ndarray, np.ndarray], batch: int) -> None:
    """Nearest centroid + typicality among the sampled rows of that cluster (`member_cos`) for
    `rows`, one batch of distinct texts at a time."""
    if len(rows) == 0:
        return
    labels, confidence, is_noise = out
    texts, inverse = np.unique(index[rows], return_inverse=True)
    nearest_all = np.empty(len(texts), dtype=np.int32)
    conf_all = np.empty(len(texts), dtype=np.float32)
    for start in range(0, len(texts), batch):
        chunk = texts[start:start + batch]
        sims = unit_rows(np.asarray(vectors[chunk])) @ centroids.T
        nearest = sims.argmax(axis=1).astype(np.int32)
        cosines = sims[np.arange(len(chunk)), nearest]
        for cluster in np.unique(nearest):
            mask = nearest == cluster
            conf_all[start:start + batch][mask] = typicality(member_cos[cluster], cosines[mask])
        nearest_all[start:start + batch] = nearest
    labels[rows] = nearest_all[inverse]
    confidence[rows] = conf_all[inverse]
    is_noise[rows] = conf_all[inverse] < min_confidence
