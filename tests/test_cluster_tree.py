"""`cluster_tree.parent_level`: leaf clusters merged into departments by centroid linkage,
the cut chosen by turn silhouette among 2..round(sqrt(k)) parents."""

from __future__ import annotations

import numpy as np
import pytest

from guideminer.mining.cluster_assign import cluster_centroids, unit_rows
from guideminer.mining.cluster_tree import parent_level


def three_departments(per_leaf: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """9 leaves (3 per department): department directions far apart, leaves near their department."""
    rng = np.random.default_rng(seed)
    departments = rng.normal(size=(3, 32))
    leaves = np.repeat(departments, 3, axis=0) + 0.35 * rng.normal(size=(9, 32))
    labels = np.repeat(np.arange(9), per_leaf)
    vectors = unit_rows(leaves[labels] + 0.05 * rng.normal(size=(len(labels), 32)))
    return vectors, labels.astype(np.int32), np.arange(9) // 3


def test_finds_the_three_departments() -> None:
    vectors, labels, department_of_leaf = three_departments()
    level = parent_level(vectors, labels, cluster_centroids(vectors, labels))
    assert level.n_parents == 3
    assert set(level.curve) == {2, 3}  # candidates 2..round(sqrt(9))
    pairs = {(int(p), int(d)) for p, d in zip(level.parent_of, department_of_leaf)}
    assert len(pairs) == 3  # a one-to-one map between found parents and true departments


def test_forced_cut_and_too_few_leaves() -> None:
    vectors, labels, _ = three_departments()
    centroids = cluster_centroids(vectors, labels)
    assert parent_level(vectors, labels, centroids, n_parents=2).n_parents == 2
    assert parent_level(vectors, labels, centroids, n_parents=9).n_parents == 9
    with pytest.raises(ValueError, match="n_parents must be in 1..9"):
        parent_level(vectors, labels, centroids, n_parents=10)
    two = labels[labels < 2]
    level = parent_level(vectors[: len(two)], two, centroids[:2])
    assert level.parent_of.tolist() == [0, 1] and level.curve == {}
