"""Customer turns clustered on [embedding, discriminant of the agents' next need move]."""

from __future__ import annotations

import numpy as np
import polars as pl

from guideminer.mining.customer_space import CustomerSpaceParams, discriminant, first_next_moves, joined_space


def test_the_next_move_is_the_first_later_agent_move_that_is_neither_etiquette_nor_noise() -> None:
    keys = pl.DataFrame({"conversation_id": ["a"] * 6 + ["b"] * 2, "turn_index": [0, 1, 2, 3, 4, 5, 0, 1],
                         "role": ["customer", "agent", "agent", "customer", "agent", "customer", "customer", "agent"]})
    moves = pl.DataFrame({"row": [1, 2, 4, 7], "move": [5, 3, 8, 3], "noise": [False, False, True, False]})
    # a0 -> 3 (5 is etiquette); a3 -> none (the only later move is noise); a5 -> none; b0 -> 3
    assert first_next_moves(keys, moves, skip={5}).tolist() == [3, -1, -1, 3]
    assert first_next_moves(keys, moves, skip=set()).tolist() == [5, -1, -1, 3]


def _alike_needs(rng: np.random.Generator, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Two needs worded alike: one shared direction dominates; a faint one tells them apart."""
    shared, faint = np.zeros(16), np.zeros(16)
    shared[0], faint[1] = 1.0, 1.0
    need = np.arange(n) % 2
    vectors = shared + 0.15 * np.where(need[:, None] == 0, faint, -faint) + 0.1 * rng.normal(size=(n, 16))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), need


def test_the_discriminant_pulls_apart_needs_that_the_agents_answer_apart() -> None:
    vectors, need = _alike_needs(np.random.default_rng(0))
    moves = np.where(need == 0, 10, 11)  # the agents' next move follows the need
    projected = discriminant(vectors, np.arange(len(vectors)), moves, CustomerSpaceParams(min_labelled_turns=10))
    joined = joined_space(vectors, projected, 0.3)
    assert np.allclose(np.linalg.norm(joined, axis=1), 1.0, atol=1e-5)

    def across_minus_within(space: np.ndarray) -> float:
        cos = space @ space.T
        same = need[:, None] == need[None, :]
        return float(cos[same].mean() - cos[~same].mean())

    assert across_minus_within(joined) > across_minus_within(vectors) + 0.2


def test_too_few_answered_turns_leave_the_embedding_alone() -> None:
    vectors, need = _alike_needs(np.random.default_rng(1), n=20)
    assert discriminant(vectors, np.arange(20), np.where(need == 0, 10, 11), CustomerSpaceParams()) is None
    assert discriminant(vectors, np.arange(20), np.full(20, -1), CustomerSpaceParams(min_labelled_turns=1)) is None


def test_embedding_centroids_in_chunks_equal_the_mean_of_the_rows() -> None:
    from guideminer.mining.cluster_assign import cluster_centroids
    from guideminer.mining.customer_space import embedding_centroids

    rng = np.random.default_rng(2)
    distinct = rng.normal(size=(7, 5))
    index = rng.integers(0, 7, size=40)
    labels = rng.integers(-1, 3, size=40)
    expected = cluster_centroids(distinct[index], labels)
    assert np.allclose(embedding_centroids(distinct, index, labels, chunk=6), expected, atol=1e-6)
