"""Give every turn HDBSCAN left as noise a nearest cluster and an honest confidence.

Why: a miner must explain every turn, but HDBSCAN typically leaves 20-50% of sentence
embeddings unclustered. Nearest centroid by cosine in the *original* embedding space (not the
UMAP space, whose distances are not comparable across clusters) is cheap and stable.

Confidence of a noise point = its *typicality* for the chosen cluster: the share of that
cluster's own members that are no closer to the centroid than the point is (empirical CDF of
member cosines). 0.5 means "as close as the median member"; 0.0 means "farther than every
member". It is a rule of the data, not a tuned cosine threshold, so it transfers across
embedders and domains. A noise point whose typicality is below `min_confidence` (default 0.05:
farther out than 95% of the members) stays flagged `is_noise`. Members keep HDBSCAN's own
membership strength as confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Assignment:
    labels: np.ndarray  # int32, every point's cluster (0..k-1)
    confidence: np.ndarray  # float32 in 0..1
    is_noise: np.ndarray  # bool: HDBSCAN noise whose confidence stayed below the threshold


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def cluster_centroids(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(k, d) L2-normalised mean member vector of each cluster 0..k-1 (labels -1 ignored)."""
    k = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    clustered = labels >= 0
    np.add.at(sums, labels[clustered], vectors[clustered])
    return unit_rows(sums)


def typicality(member_cosines: np.ndarray, cosines: np.ndarray) -> np.ndarray:
    """Share of `member_cosines` that are <= each of `cosines` (empirical CDF)."""
    ordered = np.sort(member_cosines)
    if ordered.size == 0:
        return np.zeros(len(cosines), dtype=np.float32)
    return (np.searchsorted(ordered, cosines, side="right") / ordered.size).astype(np.float32)


def assign_noise(
    vectors: np.ndarray, labels: np.ndarray, strength: np.ndarray, centroids: np.ndarray,
    min_confidence: float,
) -> Assignment:
    """Nearest-centroid cluster + typicality confidence for every HDBSCAN noise point."""
    unit = unit_rows(vectors)
    final = labels.astype(np.int32).copy()
    confidence = np.clip(strength, 0.0, 1.0).astype(np.float32)
    noise = labels < 0
    if not noise.any() or len(centroids) == 0:
        return Assignment(final, confidence, np.zeros(len(labels), dtype=bool))
    noise_sims = unit[noise] @ centroids.T
    nearest = noise_sims.argmax(axis=1).astype(np.int32)
    nearest_cos = noise_sims[np.arange(len(nearest)), nearest]
    noise_conf = np.zeros(len(nearest), dtype=np.float32)
    member_cos = np.einsum("ij,ij->i", unit[~noise], centroids[labels[~noise]])
    member_labels = labels[~noise]
    for cluster in np.unique(nearest):
        rows = nearest == cluster
        noise_conf[rows] = typicality(member_cos[member_labels == cluster], nearest_cos[rows])
    final[noise] = nearest
    confidence[noise] = noise_conf
    flagged = np.zeros(len(labels), dtype=bool)
    flagged[np.flatnonzero(noise)[noise_conf < min_confidence]] = True
    return Assignment(final, confidence, flagged)
