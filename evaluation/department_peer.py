"""The simplest honest peer for departments: KMeans told the gold number of departments.

`guideminer eval proposals` scores the mined departments next to two peers in the same run, on
the same workspace and the same embedding vectors the miner computed (mining/work), so a
department figure is never read without what plain clustering of the conversations reaches:
- `kmeans_customer_turns`: each conversation is the mean of its customer turns' embeddings
  (unit-length), clustered by KMeans with K = the gold department count (n_init 10, seed 0);
- `kmeans_need_turns`: the same, leaving out turns in the miner's etiquette clusters
  (greetings, thanks, holds): what a peer reaches once it is given the miner's etiquette step.
The peers are told K; the miner is not. Both are scored on the conversations the gold labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from sklearn.cluster import KMeans

from guideminer.evaluation.metrics import clustering_scores
from guideminer.mining.mine_steps import KEYS, VECTORS

PEER_SEED = 0


def conversation_vectors(keys: pl.DataFrame, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(conversation ids, unit-length mean of each one's turn vectors) for the rows of `keys`
    (conversation_id, text_row)."""
    grouped = keys.group_by("conversation_id").agg(pl.col("text_row")).sort("conversation_id")
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    means = np.stack([unit[np.asarray(rows)].mean(axis=0) for rows in grouped["text_row"]])
    return grouped["conversation_id"].to_list(), means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)


def kmeans_departments(keys: pl.DataFrame, vectors: np.ndarray, gold: pl.DataFrame) -> dict:
    """Clustering scores of KMeans(K = gold departments) on the conversation vectors of `keys`."""
    ids, matrix = conversation_vectors(keys, vectors)
    frame = pl.DataFrame({"conversation_id": ids, "row": np.arange(len(ids))}).join(gold, on="conversation_id")
    k = frame["gold"].n_unique()
    if frame.height <= k or k < 2:
        return {"k": k, "n_conversations": frame.height, "skipped": "fewer conversations than K, or one department"}
    labels = KMeans(n_clusters=k, n_init=10, random_state=PEER_SEED).fit_predict(matrix[frame["row"].to_numpy()])
    return {"k": k, "n_conversations": frame.height, **clustering_scores(labels.tolist(), frame["gold"].to_list())}


def department_peers(workspace: Path, assignments: pl.DataFrame, etiquette: set[int], gold: pl.DataFrame) -> dict:
    """Both peers of the module docstring, or `{"unavailable": why}` when the workspace holds no
    stored vectors (hand-built tables), so the absence shows in the report."""
    keys_path, vectors_path = workspace / KEYS, workspace / VECTORS
    if not keys_path.exists() or not vectors_path.exists():
        return {"unavailable": f"no {KEYS} / {VECTORS} in {workspace}"}
    keys = (pl.read_parquet(keys_path).with_columns(pl.col("role").cast(pl.String))
            .filter(pl.col("role") == "customer").select("conversation_id", "turn_index", "text_row"))
    vectors = np.load(vectors_path, mmap_mode="r")
    clusters = assignments.select("conversation_id", "turn_index", "cluster_id")
    need = keys.join(clusters, on=["conversation_id", "turn_index"], how="left").filter(
        ~pl.col("cluster_id").is_in(sorted(etiquette)).fill_null(False))
    return {"kmeans_customer_turns": kmeans_departments(keys, vectors, gold),
            "kmeans_need_turns": kmeans_departments(need, vectors, gold)}
