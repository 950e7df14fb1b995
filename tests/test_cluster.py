"""Clustering on synthetic unit-vector blobs: structure found, noise explained, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from guideminer.mining.cluster import (
    ClusterParams, cluster_embeddings, min_cluster_size_rule, resolve_params,
)
from guideminer.mining.cluster_assign import typicality
from guideminer.mining.labels import ctfidf_keywords, label_clusters, representative_texts
from guideminer.evaluation.metrics import clustering_scores


def blobs(k: int = 4, per: int = 40, dim: int = 24, spread: float = 0.15, outliers: int = 6, seed: int = 0):
    """k tight clusters of unit vectors + a few random outliers; returns (vectors, gold)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    points, gold = [], []
    for c in range(k):
        points.append(centres[c] + spread * rng.normal(size=(per, dim)) * np.linalg.norm(centres[c]) / np.sqrt(dim))
        gold += [c] * per
    points.append(rng.normal(size=(outliers, dim)) * 2)
    gold += [-1] * outliers
    matrix = np.vstack(points)
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32), np.array(gold)


PCA = ClusterParams(reduction="pca", n_components=5)


def test_min_cluster_size_grows_with_n_but_stays_sane() -> None:
    assert min_cluster_size_rule(10) == 5
    assert min_cluster_size_rule(913) == 10
    assert min_cluster_size_rule(100_000) == 105
    resolved = resolve_params(ClusterParams(), 913)
    assert resolved.min_samples == 10 and resolved.umap_neighbors == 15
    assert resolve_params(ClusterParams(), 4500).min_samples == 12


def test_blobs_are_recovered_and_every_point_gets_a_cluster() -> None:
    vectors, gold = blobs()
    result = cluster_embeddings(vectors, PCA)
    inliers = gold >= 0
    assert result.k == 4
    assert clustering_scores(result.labels[inliers], gold[inliers])["acc"] == 1.0
    assert (result.labels >= 0).all() and result.labels.max() < result.k
    assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
    assert np.allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
    assert result.noise_share <= 0.15


def test_far_outliers_stay_flagged_as_noise_with_low_confidence() -> None:
    vectors, gold = blobs(outliers=6)
    result = cluster_embeddings(vectors, ClusterParams(reduction="none"))
    outliers = gold < 0
    assert result.hdbscan_noise[outliers].all()
    assert result.is_noise[outliers].all()
    assert (result.confidence[outliers] < 0.05).all()
    assert not result.is_noise[~outliers].any()


def test_same_input_and_seed_give_identical_clusters_with_umap() -> None:
    vectors, _ = blobs(k=3, per=30, outliers=3, seed=1)
    params = ClusterParams(seed=7)
    first, second = cluster_embeddings(vectors, params), cluster_embeddings(vectors, params)
    assert np.array_equal(first.labels, second.labels)
    assert np.array_equal(first.is_noise, second.is_noise)
    assert np.array_equal(first.confidence, second.confidence)
    assert np.array_equal(first.centroids, second.centroids)
    assert first.k == 3


def test_duplicate_rows_keep_umap_reproducible_and_share_a_cluster() -> None:
    """Support logs repeat turns verbatim; seeded UMAP alone is not reproducible with duplicate
    rows (lmcinnes/umap#1277), so the reduction is fitted on distinct rows."""
    vectors, _ = blobs(k=3, per=30, outliers=0, seed=2)
    repeated = np.concatenate([vectors, np.repeat(vectors[:10], 8, axis=0), vectors[40:45]])
    runs = [cluster_embeddings(repeated, ClusterParams(seed=3)) for _ in range(3)]
    assert all(np.array_equal(runs[0].labels, run.labels) for run in runs[1:])
    assert len(set(runs[0].labels[np.r_[0, 90:98]])) == 1  # a row and its copies: one cluster


def test_cluster_ids_are_ordered_by_size() -> None:
    vectors_a, _ = blobs(k=1, per=60, outliers=0, seed=2)
    vectors_b, _ = blobs(k=1, per=25, outliers=0, seed=3)
    result = cluster_embeddings(np.vstack([vectors_b, vectors_a]), PCA)
    sizes = np.bincount(result.labels)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_tiny_input_is_one_flagged_cluster() -> None:
    vectors, _ = blobs(k=1, per=3, outliers=0)
    result = cluster_embeddings(vectors, PCA)
    assert result.k == 1 and result.is_noise.all() and (result.labels == 0).all()


def test_empty_input() -> None:
    result = cluster_embeddings(np.zeros((0, 8), dtype=np.float32), PCA)
    assert result.k == 0 and len(result.labels) == 0


def test_typicality_is_the_empirical_cdf() -> None:
    members = np.array([0.5, 0.6, 0.7, 0.8])
    assert typicality(members, np.array([0.4, 0.65, 0.9])) == pytest.approx([0.0, 0.5, 1.0])


def test_ctfidf_prefers_words_specific_to_a_cluster() -> None:
    texts = ["refund my order please", "I want a refund please", "reset my password please",
             "password reset link please"]
    keywords = ctfidf_keywords(texts, np.array([0, 0, 1, 1]), 2, top_n=3)
    assert keywords[0][0] == "refund" and keywords[1][0] in {"password", "reset", "password reset"}
    assert all("please" not in kw[:1] for kw in keywords)


def test_representatives_are_distinct_and_nearest_first() -> None:
    vectors = np.array([[1, 0], [0.9, 0.1], [1, 0], [0.6, 0.4]], dtype=np.float32)
    texts = ["Hello", "hi there", "hello ", "hey"]
    reps = representative_texts(texts, vectors, np.zeros(4, dtype=int), np.array([1.0, 0.0]), 0, 3)
    assert reps == ["Hello", "hi there", "hey"]


def test_label_clusters_sizes_add_up() -> None:
    vectors, _ = blobs(k=2, per=20, outliers=0)
    result = cluster_embeddings(vectors, PCA)
    texts = [f"topic{label} word{i % 3}" for i, label in enumerate(result.labels)]
    labels = label_clusters(texts, vectors, result.labels, result.centroids, representatives=3)
    assert sum(lab.size for lab in labels) == len(texts)
    assert all(len(lab.representative_texts) == 3 and lab.name is None for lab in labels)


def test_sample_fit_assigns_every_row_and_matches_the_full_fit() -> None:
    from guideminer.mining.cluster_sample import cluster_rows

    vectors, truth = blobs(k=3, per=200, outliers=0, seed=4)
    params = ClusterParams(reduction="none")
    full = cluster_rows(vectors, params, fit_rows=10_000)
    sampled = cluster_rows(vectors, params, fit_rows=150, batch=64)
    again = cluster_rows(vectors, params, fit_rows=150, batch=64)
    assert np.array_equal(sampled.labels, again.labels)  # seeded sample: deterministic
    assert sampled.k == full.k == 3 and len(sampled.labels) == len(vectors)
    assert clustering_scores(sampled.labels, truth)["nmi"] == pytest.approx(1.0)
    assert (sampled.confidence[~sampled.is_noise] >= params.min_confidence).all()


def test_sample_fit_on_distinct_vectors_copies_sampled_twins() -> None:
    """Rows addressed through an index into distinct vectors: a row whose text was sampled gets
    exactly that row's outcome; the clusters equal those of the expanded matrix."""
    from guideminer.mining.cluster_sample import cluster_rows

    distinct, truth = blobs(k=3, per=60, outliers=0, seed=5)
    rng = np.random.default_rng(1)
    index = np.concatenate([np.arange(len(distinct)), rng.integers(0, len(distinct), size=600)])
    params = ClusterParams(reduction="none")
    by_index = cluster_rows(distinct, params, fit_rows=300, batch=50, index=index)
    expanded = cluster_rows(distinct[index], params, fit_rows=300, batch=50)
    assert np.array_equal(by_index.labels, expanded.labels)  # no text identity there: nearest centroid
    assert clustering_scores(by_index.labels, truth[index])["nmi"] > 0.9
    assert by_index.seconds["copied_rows"] > 0
    sample = np.sort(np.random.default_rng(params.seed).choice(len(index), size=300, replace=False))
    first_of_text = {}
    for row in sample:
        first_of_text.setdefault(index[row], row)
    for row in range(len(index)):
        twin = first_of_text.get(index[row])
        if twin is not None:
            assert by_index.labels[row] == by_index.labels[twin]
            assert by_index.confidence[row] == by_index.confidence[twin]
            assert by_index.hdbscan_noise[row] == by_index.hdbscan_noise[twin]
