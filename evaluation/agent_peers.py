"""The answered turns of a corpus, and the two peers an agent's next action is compared with.

An *answered turn* is a customer turn followed by an agent turn before the customer speaks
again; its gold next action is the label of that first agent turn (the `eval proposals` pairing
rule). Customer turns whose first answer carries no label are not scored and are counted.

Peers, both fitted on FIT only:
- retrieval (kNN): embed the TEST customer turn, find the nearest FIT answered customer turn
  (cosine, the agent's own embedder), predict the label of the agent turn that answered it.
  Ties go to the first FIT turn in (conversation_id, turn_index) order (np.argmax). This is "plain retrieval
  of past answers": an agent that does not beat it adds nothing.
- majority: the most frequent FIT next-action label (ties: the smallest label), for every turn.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl


CHUNK = 2048


def answered_turns(turns: pl.DataFrame, labels: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(answered customer turns with `text`, `label_set` and gold `action`, number of customer turns
    answered by an agent turn without a label). `turns`: conversation_id, turn_index, role, text;
    `labels`: an `AgentGold.turns` frame."""
    ordered = (turns.select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "text")
               .filter(pl.col("role").is_in(["customer", "agent"]))
               .join(labels, on=["conversation_id", "turn_index"], how="left")
               .sort("conversation_id", "turn_index")
               .with_columns((pl.col("role") == "customer").cast(pl.Int32).cum_sum().over("conversation_id")
                             .alias("block")))
    first_answer = (ordered.filter((pl.col("role") == "agent") & (pl.col("block") > 0))
                    .group_by("conversation_id", "block").agg(pl.col("label").sort_by("turn_index").first()
                                                              .alias("action")))
    customers = ordered.filter(pl.col("role") == "customer").select(
        "conversation_id", "block", "turn_index", "text",
        pl.col("label_set").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    joined = customers.join(first_answer, on=["conversation_id", "block"]).sort("conversation_id", "turn_index")
    unlabelled = joined.filter(pl.col("action").is_null()).height
    return joined.drop_nulls("action").drop("block"), unlabelled


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def knn_labels(fit_vectors: np.ndarray, fit_actions: list[str], test_vectors: np.ndarray) -> list[str]:
    """Label of the nearest FIT customer turn's answer (cosine), for each TEST customer turn;
    row i of `fit_vectors` is the FIT turn answered by `fit_actions[i]`."""
    if len(fit_actions) == 0:
        raise ValueError("the FIT workspace has no answered, labelled customer turn: no retrieval peer")
    if len(fit_vectors) != len(fit_actions):
        raise ValueError(f"{len(fit_vectors)} FIT vectors for {len(fit_actions)} FIT answers")
    if len(test_vectors) == 0:
        return []
    fit, test = _unit(fit_vectors), _unit(test_vectors)
    nearest = np.concatenate([np.argmax(test[i:i + CHUNK] @ fit.T, axis=1) for i in range(0, len(test), CHUNK)])
    return [fit_actions[int(k)] for k in nearest]


def majority_label(fit_actions: list[str]) -> str:
    if not fit_actions:
        raise ValueError("the FIT workspace has no answered, labelled customer turn: no majority peer")
    return sorted(Counter(fit_actions).items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
