"""A coarser level over the clusters: leaf clusters (situations) merged into parents (departments).

Why: a reviewer zooms from "billing" to "refund of a double charge"; HDBSCAN gives the leaves only.
Parents come from an agglomerative merge of the leaf centroids (average linkage, cosine, the
leaves weighted as points: scipy's linkage on centroids), so the tree is nested by construction
and costs O(k^2), not O(n^2).

Where to cut (the documented criterion): the number of parents P in 2..round(sqrt(k)) that maximises the
silhouette (cosine, original embedding space) of the *turns* labelled by their parent, on a
seeded sample of at most `SILHOUETTE_SAMPLE` turns. Silhouette compares each turn's mean
distance to its own group with the nearest other group, so it needs no corpus-specific
threshold and does not grow with n. Ties go to the larger P (finer level). Why at most
sqrt(k): a department must group several situations; sqrt(k) is the balanced two-level tree
(sqrt(k) departments of sqrt(k) situations). Measured: silhouette over every P in 2..k-1 peaks
one or two merges below k (DSTC11 31 of 32, Banking77 66 of 70), i.e. it finds no coarser level
by itself; docs/results.md "Granularity". With fewer than 3
leaves there is nothing to merge: every leaf is its own parent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guideminer.mining.cluster_assign import unit_rows

SILHOUETTE_SAMPLE = 4000


@dataclass(frozen=True)
class ParentLevel:
    """`parent_of[c]`: parent id (0..P-1) of leaf cluster c; `silhouette`: the score at the cut;
    `curve`: silhouette for every P tried (P -> score), for the report."""

    parent_of: np.ndarray
    silhouette: float
    curve: dict[int, float]

    @property
    def n_parents(self) -> int:
        return int(self.parent_of.max()) + 1 if self.parent_of.size else 0


def parent_level(vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray, *, seed: int = 0,
                 sample: int = SILHOUETTE_SAMPLE, n_parents: int | None = None) -> ParentLevel:
    """Parents of the k leaf clusters (`labels` 0..k-1 per turn); `n_parents` forces a cut."""
    from scipy.cluster.hierarchy import fcluster, linkage

    k = len(centroids)
    if k < 3:
        return ParentLevel(np.arange(k, dtype=np.int32), 0.0, {})
    tree = linkage(np.asarray(centroids, dtype=np.float64), method="average", metric="cosine")
    top = k if n_parents is not None else max(3, round(float(np.sqrt(k))) + 1)
    cuts = {p: _relabel(fcluster(tree, t=p, criterion="maxclust")) for p in range(2, min(top, k))}
    if n_parents is not None:
        if not 1 <= n_parents <= k:
            raise ValueError(f"n_parents must be in 1..{k} (the leaf count), got {n_parents}")
        chosen = np.arange(k, dtype=np.int32) if n_parents == k else (
            np.zeros(k, dtype=np.int32) if n_parents == 1 else cuts[n_parents])
        return ParentLevel(chosen, float("nan"), {})
    rows = _sample_rows(len(labels), sample, seed)
    distances = _cosine_distances(unit_rows(np.asarray(vectors, dtype=np.float32)[rows]))
    curve = {p: _silhouette(distances, cut[labels[rows]]) for p, cut in cuts.items()}
    best = max(curve, key=lambda p: (round(curve[p], 4), p))
    return ParentLevel(cuts[best], curve[best], curve)


def _relabel(assignment: np.ndarray) -> np.ndarray:
    """fcluster's 1-based ids to 0..P-1 in order of first leaf (leaf 0 = biggest cluster)."""
    _, first, inverse = np.unique(assignment, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int32)
    rank[np.argsort(first)] = np.arange(len(first), dtype=np.int32)
    return rank[inverse.ravel()]


def _sample_rows(n: int, sample: int, seed: int) -> np.ndarray:
    if n <= sample:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))


def _cosine_distances(unit: np.ndarray) -> np.ndarray:
    distances = 1.0 - unit @ unit.T
    np.clip(distances, 0.0, 2.0, out=distances)
    np.fill_diagonal(distances, 0.0)
    return distances


def _silhouette(distances: np.ndarray, groups: np.ndarray) -> float:
    """Mean silhouette on a precomputed distance matrix (sklearn's definition); -1 if one group."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(groups)) < 2 or len(np.unique(groups)) >= len(groups):
        return -1.0
    return float(silhouette_score(distances, groups, metric="precomputed"))
