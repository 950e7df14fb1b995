"""Cluster turn embeddings with HDBSCAN without being told the number of clusters.

Pipeline (each step chosen by measurement on the shared labelled data, see docs/results.md):
1. reduce: UMAP to a few dimensions (cosine kNN graph) - HDBSCAN's density estimate is
   meaningless in 384-d (all distances look alike), and PCA keeps that problem;
2. HDBSCAN on the reduced points, with `min_cluster_size`/`min_samples` derived from n (rules in
   `resolve_params`), so the same code fits 900 and 90,000 turns;
3. every point HDBSCAN left as noise is attached to its nearest cluster centroid (cosine in the
   original embedding space) with a confidence; see `cluster_assign.py`.

Determinism: UMAP gets a fixed `random_state` (which also makes it single-threaded), HDBSCAN is
exact, and the input order is the only other source of variation, so the same vectors and seed
give identical labels.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.cluster_assign import assign_noise, cluster_centroids

Reduction = Literal["none", "pca", "umap"]
SelectionMethod = Literal["eom", "leaf"]


class ClusterParams(BaseModel):
    """Clustering knobs. `None` means "derive from n by the documented rule" (`resolve_params`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reduction: Reduction = "umap"
    n_components: int = Field(5, ge=2)
    umap_neighbors: int | None = Field(None, ge=2)  # None: UMAP_NEIGHBORS (capped below n)
    min_cluster_size: int | None = Field(None, ge=2)  # None: rule of n
    min_samples: int | None = Field(None, ge=1)  # None: rule of n (min_samples_rule)
    selection_method: SelectionMethod = "eom"
    epsilon: float = Field(0.0, ge=0.0)
    min_confidence: float = Field(0.05, ge=0.0, le=1.0)  # below: the turn stays flagged as noise
    seed: int = 0


def min_cluster_size_rule(n: int) -> int:
    """Smallest group worth calling a situation/move: ~ sqrt(n)/3, at least 5.

    Why sqrt: the number of recurring intents grows sub-linearly with corpus size, so a fixed
    fraction of n would swallow small intents in big corpora and a constant would shatter them.
    913 turns -> 10, 4,500 -> 22, 25,000 -> 53, 100,000 -> 105.
    """
    return max(5, round(math.sqrt(max(n, 1)) / 3))


def min_samples_rule(n: int, min_cluster_size: int) -> int:
    """HDBSCAN's density smoothing k ~ log2(n), clamped to [5, min_cluster_size].

    Why log n: k-NN density estimates are consistent when k grows with n but k/n -> 0; log2(n)
    is the textbook rate. Measured (docs/results.md): it matched the best fixed choice on each of
    DSTC11 (=min_cluster_size) and Banking77/CLINC150 (=min_cluster_size/2).
    """
    return int(min(min_cluster_size, max(5, round(math.log2(max(n, 2))))))


EXACT_KNN_MAX = 50_000  # distinct rows; above it UMAP's approximate NN-descent is cheaper
UMAP_NEIGHBORS = 15  # UMAP's own default; 30 and "= min_cluster_size" measured worse


@dataclass(frozen=True)
class ResolvedParams:
    """The concrete numbers a run used (recorded in the manifest and the eval JSON)."""

    reduction: str
    n_components: int
    umap_neighbors: int
    min_cluster_size: int
    min_samples: int
    selection_method: str
    epsilon: float
    min_confidence: float
    seed: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def resolve_params(params: ClusterParams, n: int) -> ResolvedParams:
    """Fill every `None` in `params` by its rule of n."""
    mcs = params.min_cluster_size or min_cluster_size_rule(n)
    mcs = max(2, min(mcs, max(2, n // 2)))
    min_samples = min(params.min_samples or min_samples_rule(n, mcs), mcs)
    neighbors = min(params.umap_neighbors or UMAP_NEIGHBORS, max(2, n - 1))
    return ResolvedParams(
        reduction=params.reduction, n_components=params.n_components, umap_neighbors=neighbors,
        min_cluster_size=mcs, min_samples=min_samples, selection_method=params.selection_method,
        epsilon=params.epsilon, min_confidence=params.min_confidence, seed=params.seed,
    )


@dataclass
class ClusterResult:
    """Per-point outcome of `cluster_embeddings` (rows align with the input vectors).

    `labels`: final cluster 0..k-1 of every point (noise points get their nearest cluster);
    `hdbscan_noise`: HDBSCAN left the point unclustered; `is_noise`: still flagged after
    assignment because its confidence is below `min_confidence`; `centroids`: (k, d) unit
    vectors in the original embedding space.
    """

    labels: np.ndarray
    hdbscan_noise: np.ndarray
    is_noise: np.ndarray
    confidence: np.ndarray
    centroids: np.ndarray
    params: ResolvedParams
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def noise_share(self) -> float:
        return float(self.is_noise.mean()) if len(self.is_noise) else 0.0

    @property
    def hdbscan_noise_share(self) -> float:
        return float(self.hdbscan_noise.mean()) if len(self.hdbscan_noise) else 0.0


def reduce_dimensions(vectors: np.ndarray, params: ResolvedParams) -> np.ndarray:
    """The space HDBSCAN runs in; see the module docstring for why UMAP is the default."""
    n, dim = vectors.shape
    if params.reduction == "none" or n <= params.n_components + 1:
        return np.asarray(vectors, dtype=np.float64)
    if params.reduction == "pca":
        from sklearn.decomposition import PCA

        components = min(params.n_components, dim, n - 1)
        return PCA(n_components=components, random_state=params.seed).fit_transform(vectors)
    if params.reduction == "umap":
        return _umap(vectors, params)
    raise ValueError(f"unknown reduction {params.reduction!r}; choose none, pca or umap")


def _umap(vectors: np.ndarray, params: ResolvedParams) -> np.ndarray:
    """UMAP fitted on the distinct rows; every copy of a row gets that row's coordinates.

    Why: support logs repeat turns verbatim ("thanks", canned macros), and a seeded UMAP is not
    reproducible from one process to the next when its input holds duplicate rows
    (lmcinnes/umap#1277; measured here: 117-120 clusters over three runs of the same demo
    workspace). HDBSCAN then runs on every row, so a text said often still weighs as often in
    the density estimate (clustering distinct rows only was measured worse on the demo corpus:
    guideline precision 0.33 vs 0.78, recall 0.20 vs 0.38).
    """
    _, first, inverse = np.unique(vectors, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # distinct rows in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    distinct = vectors[first[order]]
    if len(distinct) <= params.n_components + 1:
        return np.asarray(vectors, dtype=np.float64)
    neighbors = min(params.umap_neighbors, max(2, len(distinct) - 1))
    reduced = _umap_rows(distinct, dataclasses.replace(params, umap_neighbors=neighbors))
    return reduced[rank[inverse.ravel()]]


def exact_knn(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k nearest neighbours (self included, as UMAP expects), brute force in
    memory-bounded chunks (scikit-learn's working_memory)."""
    from sklearn.neighbors import NearestNeighbors

    distances, indices = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(vectors).kneighbors(vectors)
    return indices, distances.astype(np.float32)


def _umap_rows(vectors: np.ndarray, params: ResolvedParams) -> np.ndarray:
    """UMAP with exact neighbours below EXACT_KNN_MAX rows, UMAP's own NN-descent above.

    Why exact: for a one-shot `mine`, most of UMAP's first-call time is numba compiling
    NN-descent (SGD customer turns: 28.6 s first call vs 7.6 s second); brute-force cosine kNN
    on <= 50k rows takes seconds, is exact, and cuts the first call to ~13 s.
    """
    import warnings

    from umap import UMAP

    knn = exact_knn(vectors, params.umap_neighbors) if len(vectors) <= EXACT_KNN_MAX else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": intended
        reducer = UMAP(
            n_neighbors=params.umap_neighbors, n_components=params.n_components, min_dist=0.0,
            metric="cosine", random_state=params.seed, n_jobs=1, low_memory=True,
            precomputed_knn=(knn[0], knn[1], None) if knn is not None else (None, None, None),
        )
        return reducer.fit_transform(vectors)


def run_hdbscan(points: np.ndarray, params: ResolvedParams) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN labels (-1 = noise) and membership strengths (0..1)."""
    import hdbscan

    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=params.min_cluster_size, min_samples=params.min_samples,
        cluster_selection_method=params.selection_method,
        cluster_selection_epsilon=params.epsilon, metric="euclidean", core_dist_n_jobs=1,
    )
    labels = clusterer.fit_predict(points)
    return labels.astype(np.int32), np.asarray(clusterer.probabilities_, dtype=np.float32)


def _renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Cluster ids 0..k-1, biggest first (ties by first occurrence), -1 kept: stable ids."""
    clustered = labels[labels >= 0]
    if clustered.size == 0:
        return labels.copy()
    ids, first, counts = np.unique(clustered, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-counts[i], first[i]))
    lookup = np.full(int(ids.max()) + 2, -1, dtype=np.int32)  # last slot: -1 stays -1
    lookup[ids[order]] = np.arange(len(order), dtype=np.int32)
    return lookup[np.where(labels >= 0, labels, len(lookup) - 1)]


def cluster_embeddings(vectors: np.ndarray, params: ClusterParams | None = None) -> ClusterResult:
    """Cluster unit vectors (n, d); every point ends with a cluster and a confidence."""
    params = params or ClusterParams()
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-d matrix of embeddings, got shape {vectors.shape}")
    resolved = resolve_params(params, len(vectors))
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if len(vectors) < max(3, resolved.min_cluster_size):
        return _single_cluster(vectors, resolved)
    points = reduce_dimensions(vectors, resolved)
    seconds["reduce"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    raw, strength = run_hdbscan(points, resolved)
    raw = _renumber_by_size(raw)
    seconds["hdbscan"] = round(time.perf_counter() - started, 3)
    if (raw < 0).all():
        return _single_cluster(vectors, resolved)
    started = time.perf_counter()
    centroids = cluster_centroids(vectors, raw)
    assignment = assign_noise(vectors, raw, strength, centroids, resolved.min_confidence)
    seconds["assign"] = round(time.perf_counter() - started, 3)
    return ClusterResult(
        labels=assignment.labels, hdbscan_noise=raw < 0, is_noise=assignment.is_noise,
        confidence=assignment.confidence, centroids=centroids, params=resolved, seconds=seconds,
    )


def _single_cluster(vectors: np.ndarray, resolved: ResolvedParams) -> ClusterResult:
    """Too few points (or no density structure): one cluster holding everything, flagged noise.

    Every point is flagged because HDBSCAN found no group; the single centroid still lets a
    reviewer see what the texts are about.
    """
    n = len(vectors)
    labels = np.zeros(n, dtype=np.int32)
    centroids = cluster_centroids(vectors, labels) if n else np.zeros((0, vectors.shape[1]), np.float32)
    flags = np.ones(n, dtype=bool)
    return ClusterResult(
        labels=labels if n else labels, hdbscan_noise=flags, is_noise=flags,
        confidence=np.zeros(n, dtype=np.float32), centroids=centroids, params=resolved,
    )
