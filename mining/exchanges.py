"""Exchange clustering: one candidate habit per cluster of (customer turn, agent answer) pairs.

Why (issue 16 item 3, the design to weigh against merging after the fact): the default miner
clusters customer turns and agent turns apart and crosses the two clusterings with departments,
conversation states and previous moves; one habit then surfaces once per piece of that cross
product and `mining/habits.py` has to merge the pieces back. Here the unit is the *exchange*:
a customer turn together with the agent turn that answers it, embedded as the two unit vectors
side by side ([customer, agent] / sqrt(2), itself a unit vector, so cosine similarity of two
exchanges is the mean of their customer and agent similarities). One HDBSCAN over exchanges
(the same `cluster_rows` as turns: UMAP, HDBSCAN with the size rule of n, noise attached to the
nearest centroid) gives clusters each of which is a candidate habit: "customers saying this
get this answer".

Which exchanges: the views the default miner mines (mining/guidelines.py): every answered
non-etiquette customer turn with its first reply on the need view (etiquette turns left out),
and every etiquette customer turn answered by an etiquette move on the whole conversation.
A habit keeps an exchange cluster seen in at least `min_support` conversations and
`min_support_share` of all (the miner's support floors); it is etiquette when most of its
exchanges are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from guideminer.mining.cluster import ClusterParams
from guideminer.mining.cluster_sample import cluster_rows
from guideminer.mining.guidelines import MIN_SUPPORT, MIN_SUPPORT_SHARE, occurrences_and_windows

EXCHANGE_COLUMNS = ["conversation_id", "condition_turn", "action_turn", "condition_cluster", "agent_cluster",
                    "is_etiquette"]


@dataclass(frozen=True)
class ExchangeHabit:
    """One exchange cluster that reaches the support floors."""

    exchange_cluster: int
    support: int  # conversations
    exchanges: int
    is_etiquette: bool
    condition_cluster: int  # majority turn cluster of its customer turns
    agent_cluster: int  # majority turn cluster of its agent turns (None-free: noise replies count too)


def first_replies(assignments: pl.DataFrame, skip: frozenset[int]) -> pl.DataFrame:
    """(conversation, customer turn, its first agent reply) on the view that leaves out `skip`."""
    occurrences, windows = occurrences_and_windows(assignments, 1, None, skip)
    replies = windows.select("conversation_id", "block", "action_turn")
    clusters = assignments.select("conversation_id", pl.col("turn_index").alias("action_turn"),
                                  pl.col("cluster_id").alias("agent_cluster"))
    return (occurrences.join(replies, on=["conversation_id", "block"])
            .join(clusters, on=["conversation_id", "action_turn"])
            .select("conversation_id", "condition_turn", "action_turn", "condition_cluster", "agent_cluster"))


def exchange_table(assignments: pl.DataFrame, etiquette: set[int]) -> pl.DataFrame:
    """Every exchange of the module docstring, need-view ones first, in a stable order."""
    ids = sorted(etiquette)
    need = first_replies(assignments, frozenset(etiquette)).with_columns(pl.lit(False).alias("is_etiquette"))
    parts = [need]
    if ids:
        whole = first_replies(assignments, frozenset())
        parts.append(whole.filter(pl.col("condition_cluster").is_in(ids) & pl.col("agent_cluster").is_in(ids))
                     .with_columns(pl.lit(True).alias("is_etiquette")))
    return pl.concat(parts).select(EXCHANGE_COLUMNS).sort("is_etiquette", "conversation_id", "condition_turn")


def exchange_vectors(table: pl.DataFrame, keys: pl.DataFrame, vectors: np.ndarray) -> np.ndarray:
    """[customer, agent] / sqrt(2) per exchange, from the mined turn vectors (`turn_keys`'s
    text_row of each turn into `text_vectors`)."""
    rows = keys.select("conversation_id", "turn_index", "text_row")
    customer = table.join(rows.rename({"turn_index": "condition_turn", "text_row": "c_row"}),
                          on=["conversation_id", "condition_turn"], how="left", maintain_order="left")
    both = customer.join(rows.rename({"turn_index": "action_turn", "text_row": "a_row"}),
                         on=["conversation_id", "action_turn"], how="left", maintain_order="left")
    if both["c_row"].null_count() or both["a_row"].null_count():
        raise ValueError("an exchange turn has no vector in turn_keys; re-run the embed step")
    unit = lambda m: m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)  # noqa: E731
    c = unit(np.asarray(vectors[both["c_row"].to_numpy()], dtype=np.float32))
    a = unit(np.asarray(vectors[both["a_row"].to_numpy()], dtype=np.float32))
    return (np.hstack([c, a]) / np.sqrt(2.0)).astype(np.float32)


def cluster_exchanges(table: pl.DataFrame, vectors: np.ndarray, params: ClusterParams | None = None) -> pl.DataFrame:
    """`table` with `exchange_cluster` (noise exchanges attached to the nearest cluster, as turns)."""
    result = cluster_rows(vectors, params or ClusterParams())
    return table.with_columns(pl.Series("exchange_cluster", result.labels, dtype=pl.Int32),
                              pl.Series("exchange_noise", result.is_noise))


def _majority(column: str) -> pl.Expr:
    return pl.col(column).mode().sort().first()


def exchange_habits(clustered: pl.DataFrame, min_support: int = MIN_SUPPORT,
                    min_support_share: float = MIN_SUPPORT_SHARE) -> list[ExchangeHabit]:
    """One habit per exchange cluster above the support floors, most supported first."""
    floor = max(min_support, min_support_share * clustered["conversation_id"].n_unique())
    grouped = (clustered.group_by("exchange_cluster")
               .agg(pl.col("conversation_id").n_unique().alias("support"), pl.len().alias("exchanges"),
                    (pl.col("is_etiquette").mean() > 0.5).alias("is_etiquette"),
                    _majority("condition_cluster").alias("condition_cluster"),
                    _majority("agent_cluster").alias("agent_cluster"))
               .filter(pl.col("support") >= floor)
               .sort("support", "exchange_cluster", descending=[True, False]))
    return [ExchangeHabit(**row) for row in grouped.iter_rows(named=True)]
