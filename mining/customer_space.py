"""The space customer turns are clustered in: their embedding joined with what the agents did next.

Why: an embedding groups customer turns by their words, and support customers word different
needs alike ("my order arrived broken" / "my order never arrived": one product, one order, two
needs that two teams handle) and one need apart. The agents' answers tell the needs apart: the
first substantive move an agent makes after a customer turn (a return label vs a tracking
lookup) is the habit the need calls for. So customer turns are clustered on
[embedding, discriminant of the next need move] (each part unit-length, weighted by
`move_weight`): the
discriminant is a shrinkage linear discriminant analysis (scikit-learn LDA, `solver="eigen"`,
`shrinkage="auto"`) fitted to predict, from a customer turn's embedding, the first later agent
move that is not conversation etiquette. It is a linear map of the embedding, so a turn at run
time or a turn no agent answered gets the same coordinates from its words alone; the embedding
half keeps turns that no move separates (answers, details) where their words put them.

Steps: (1) cluster the customer embeddings as before (first pass); (2) flag etiquette clusters
of both roles on that pass (mining/etiquette.py) so greetings, holds and "anything else?" never
act as a turn's next move; (3) label each customer turn with its first later non-etiquette,
non-noise agent move; (4) fit the LDA on the labelled turns of moves seen at least
`min_move_turns` times; (5) cluster the joined space. The clusters' centroids are recomputed in
the embedding space, which is what labels, departments and the runtime compare turns with.
Measured in docs/results.md ("Customer turns clustered by the agents' next need move").
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.cluster import ClusterParams, ClusterResult
from guideminer.mining.cluster_assign import cluster_centroids
from guideminer.mining.cluster_sample import cluster_rows
from guideminer.mining.etiquette import EtiquetteParams, detect_etiquette


class CustomerSpaceParams(BaseModel):
    """`space="embedding"` clusters customer turns on their embedding alone (the method before)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    space: Literal["embedding", "next_move"] = "next_move"
    components: int = Field(20, ge=1)  # LDA dimensions kept (at most moves - 1)
    min_move_turns: int = Field(5, ge=1)  # a move answering fewer labelled turns is not a class
    min_labelled_turns: int = Field(50, ge=1)  # fewer: the embedding alone (nothing to learn from)
    move_weight: float = Field(0.3, gt=0.0, lt=1.0)  # squared share of the discriminant (0.2 / 0.3 / 0.5 measured)


def first_next_moves(keys: pl.DataFrame, agent_moves: pl.DataFrame, skip: set[int]) -> np.ndarray:
    """Per customer row of `keys` (KEYS order): the first later agent move in its conversation
    that is neither noise nor in `skip`, or -1. `agent_moves`: row, move, noise (agent rows)."""
    frame = (keys.select("conversation_id", "turn_index", "role").with_row_index("row")
             .with_columns(pl.col("row").cast(pl.Int64))
             .join(agent_moves, on="row", how="left")
             .with_columns(pl.when((pl.col("role") == "agent") & ~pl.col("noise").fill_null(True)
                                   & ~pl.col("move").is_in(list(skip)))
                           .then(pl.col("move")).alias("next"))
             .sort("conversation_id", "turn_index")
             .with_columns(pl.col("next").shift(-1).backward_fill().over("conversation_id").alias("next")))
    customers = frame.filter(pl.col("role") == "customer").sort("row")
    return customers["next"].fill_null(-1).to_numpy().astype(np.int64)


def etiquette_moves(keys: pl.DataFrame, customer_labels: np.ndarray, customer_noise: np.ndarray,
                    agent_moves: pl.DataFrame, params: EtiquetteParams) -> set[int]:
    """Agent move ids flagged as etiquette on the first-pass clusters (customer ids shifted past
    the agent ids so both roles share one id space, as detect_etiquette expects)."""
    offset = int(agent_moves["move"].max()) + 1 if agent_moves.height else 0
    turns = keys.select("conversation_id", "turn_index", pl.col("role").cast(pl.String)).with_row_index("row")
    agent = turns.join(agent_moves.select(pl.col("row").cast(pl.UInt32), "move", "noise"), on="row")
    customer = turns.filter(pl.col("role") == "customer").with_columns(
        pl.Series("move", customer_labels.astype(np.int64) + offset), pl.Series("noise", customer_noise))
    assignments = pl.concat([agent.select(customer.columns), customer]).rename(
        {"move": "cluster_id", "noise": "is_noise"}).drop("row")
    flags = detect_etiquette(assignments, params).flags
    return {c for c, f in flags.items() if f and c < offset}


def discriminant(vectors: np.ndarray, index: np.ndarray, targets: np.ndarray,
                 params: CustomerSpaceParams) -> np.ndarray | None:
    """Unit-length LDA coordinates of every row of `vectors` (distinct texts), fitted on the
    customer rows (`index` into vectors) whose `targets` move is common enough; None when there
    is too little to learn from."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    moves, counts = np.unique(targets[targets >= 0], return_counts=True)
    keep = np.isin(targets, moves[counts >= params.min_move_turns])
    classes = np.unique(targets[keep])
    if keep.sum() < params.min_labelled_turns or len(classes) < 2:
        return None
    components = min(params.components, len(classes) - 1)
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto", n_components=components)
    lda.fit(np.asarray(vectors[index[keep]], dtype=np.float64), targets[keep])
    projected = lda.transform(np.asarray(vectors, dtype=np.float64))
    return projected / np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)


def joined_space(vectors: np.ndarray, projected: np.ndarray, move_weight: float) -> np.ndarray:
    """Unit rows [sqrt(1 - w) x embedding, sqrt(w) x discriminant]: cosine in this space is
    (1 - w) x embedding cosine + w x discriminant cosine."""
    units = np.asarray(vectors, dtype=np.float64)
    units = units / np.maximum(np.linalg.norm(units, axis=1, keepdims=True), 1e-12)
    return np.hstack([np.sqrt(1.0 - move_weight) * units, np.sqrt(move_weight) * projected]).astype(np.float32)


def cluster_customers(vectors: np.ndarray, index: np.ndarray, keys: pl.DataFrame, agent_moves: pl.DataFrame,
                      cluster_params: ClusterParams, params: CustomerSpaceParams,
                      etiquette_params: EtiquetteParams, fit_rows: int) -> tuple[ClusterResult, dict]:
    """Customer clusters in the space of the module docstring, centroids in embedding space;
    (result, stats for the step's manifest entry)."""
    first = cluster_rows(vectors, cluster_params, fit_rows=fit_rows, index=index)
    if params.space == "embedding":
        return first, {"space": "embedding"}
    skip = etiquette_moves(keys, first.labels, first.is_noise, agent_moves, etiquette_params)
    targets = first_next_moves(keys, agent_moves, skip)
    projected = discriminant(vectors, index, targets, params)
    if projected is None:
        return first, {"space": "embedding", "reason": "too few customer turns answered by a need move"}
    result = cluster_rows(joined_space(vectors, projected, params.move_weight), cluster_params, fit_rows=fit_rows, index=index)
    centroids = embedding_centroids(vectors, index, result.labels)
    stats = {"space": "next_move", "first_pass_k": first.k, "etiquette_moves": len(skip),
             "labelled_turns": int((targets >= 0).sum()), "components": int(projected.shape[1])}
    return _with_centroids(result, centroids), stats


def embedding_centroids(vectors: np.ndarray, index: np.ndarray, labels: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Unit mean embedding of each cluster's rows (`vectors[index]`), read in chunks so a
    memory-mapped matrix of millions of turns is never copied whole."""
    k = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    for start in range(0, len(index), chunk):
        part, part_labels = index[start:start + chunk], labels[start:start + chunk]
        keep = part_labels >= 0
        np.add.at(sums, part_labels[keep], np.asarray(vectors[part[keep]], dtype=np.float64))
    return cluster_centroids(sums, np.arange(k)) if k else np.zeros((0, vectors.shape[1]), np.float32)


def _with_centroids(result: ClusterResult, centroids: np.ndarray) -> ClusterResult:
    import dataclasses

    return dataclasses.replace(result, centroids=centroids.astype(np.float32))
