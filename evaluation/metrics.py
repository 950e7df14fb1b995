"""Extrinsic clustering metrics against gold labels, as defined by DSTC11 Track 2.

Definitions follow the track's evaluation code (amazon-science/dstc11-track2-intent-induction,
`sitod/metric.py`): ACC uses an optimal 1:1 (Hungarian) mapping of clusters to gold labels;
precision maps every cluster to its majority gold label (many-to-one), recall maps every gold
label to its majority cluster (one-to-many from the clusters' side); F1 is their harmonic mean;
NMI (arithmetic normalisation) and ARI are scikit-learn's. All values are fractions in 0..1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def contingency(predicted: Sequence, gold: Sequence) -> np.ndarray:
    """Counts matrix (clusters x gold labels)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions but {len(gold)} gold labels")
    _, p_idx = np.unique(np.asarray(predicted, dtype=str), return_inverse=True)
    _, g_idx = np.unique(np.asarray(gold, dtype=str), return_inverse=True)
    table = np.zeros((p_idx.max() + 1, g_idx.max() + 1), dtype=np.int64)
    np.add.at(table, (p_idx, g_idx), 1)
    return table


def hungarian_accuracy(predicted: Sequence, gold: Sequence) -> float:
    """Share of items whose cluster maps to their gold label under the best 1:1 mapping."""
    if len(gold) == 0:
        return 0.0
    table = contingency(predicted, gold)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(gold))


def many_to_one_precision(predicted: Sequence, gold: Sequence) -> float:
    """Each cluster mapped to its majority gold label; share of items then correct."""
    if len(gold) == 0:
        return 0.0
    return float(contingency(predicted, gold).max(axis=1).sum() / len(gold))


def many_to_one_recall(predicted: Sequence, gold: Sequence) -> float:
    """Each gold label mapped to its majority cluster; share of items then correct."""
    return many_to_one_precision(gold, predicted)


def clustering_scores(predicted: Sequence, gold: Sequence) -> dict[str, float]:
    """acc, nmi, ari, precision, recall, f1 (0..1) of one clustering against gold labels."""
    predicted_str = np.asarray(predicted, dtype=str)
    gold_str = np.asarray(gold, dtype=str)
    precision = many_to_one_precision(predicted_str, gold_str)
    recall = many_to_one_recall(predicted_str, gold_str)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "acc": hungarian_accuracy(predicted_str, gold_str),
        "nmi": float(normalized_mutual_info_score(gold_str, predicted_str)),
        "ari": float(adjusted_rand_score(gold_str, predicted_str)),
        "precision": precision,
        "recall": recall,
        "f1": float(f1),
    }
