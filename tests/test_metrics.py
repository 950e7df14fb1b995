"""Clustering metrics on hand-made cases with known answers (DSTC11 Track 2 definitions)."""

from __future__ import annotations

import pytest

from guideminer.evaluation.metrics import (
    clustering_scores, hungarian_accuracy, many_to_one_precision, many_to_one_recall,
)

GOLD = ["a", "a", "a", "b", "b", "b", "c", "c"]


def test_perfect_clustering_scores_one() -> None:
    scores = clustering_scores([0, 0, 0, 1, 1, 1, 2, 2], GOLD)
    assert scores == pytest.approx({"acc": 1, "nmi": 1, "ari": 1, "precision": 1, "recall": 1, "f1": 1})


def test_permuted_cluster_names_do_not_matter() -> None:
    scores = clustering_scores([7, 7, 7, 3, 3, 3, 5, 5], GOLD)
    assert scores["acc"] == 1.0 and scores["nmi"] == pytest.approx(1.0) and scores["f1"] == 1.0


def test_merged_cluster_loses_the_smaller_class_in_acc_only_for_precision() -> None:
    predicted = [0, 0, 0, 1, 1, 1, 1, 1]  # b and c merged
    assert hungarian_accuracy(predicted, GOLD) == pytest.approx(6 / 8)
    assert many_to_one_precision(predicted, GOLD) == pytest.approx(6 / 8)
    assert many_to_one_recall(predicted, GOLD) == 1.0  # every gold label sits in one cluster


def test_split_cluster_keeps_precision_and_loses_recall() -> None:
    predicted = [0, 0, 9, 1, 1, 1, 2, 2]  # class a split 2 + 1
    assert many_to_one_precision(predicted, GOLD) == 1.0
    assert many_to_one_recall(predicted, GOLD) == pytest.approx(7 / 8)
    assert hungarian_accuracy(predicted, GOLD) == pytest.approx(7 / 8)
    p, r = 1.0, 7 / 8
    assert clustering_scores(predicted, GOLD)["f1"] == pytest.approx(2 * p * r / (p + r))


def test_everything_in_one_cluster() -> None:
    scores = clustering_scores([0] * 8, GOLD)
    assert scores["acc"] == pytest.approx(3 / 8)
    assert scores["nmi"] == pytest.approx(0.0) and scores["ari"] == pytest.approx(0.0)
    assert scores["recall"] == 1.0 and scores["precision"] == pytest.approx(3 / 8)


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="predictions"):
        hungarian_accuracy([0, 1], ["a"])
