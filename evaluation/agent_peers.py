"""The answered turns of a corpus, and the two peers an agent's next action is compared with.

An *answered turn* is a customer turn followed by an agent turn before the customer speaks
again; its gold next action is the label of that first agent turn (the `eval proposals` pairing
rule). Customer turns whose first answer carries no label are not scored and are counted.

Peers, both fitted on FIT only:
- retrieval (kNN): embed the TEST customer turn, find the nearest FIT answered customer turn
  (cosine, the agent's own embedder), predict the label of the agent turn that answered it.
  Ties go to the first FIT turn in (conversation_id, turn_index) order. This is "plain retrieval
  of past answers": an agent that does not beat it adds nothing.
- majority: the most frequent FIT next-action label (ties: the smallest label), for every turn.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from guideminer.models.embedder import TextEmbedder

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


def knn_labels(embedder: TextEmbedder, fit_texts: list[str], fit_actions: list[str], test_texts: list[str]) -> list[str]:
    """Label of the nearest FIT customer turn's answer, for each TEST customer turn."""
    if not fit_texts:
        raise ValueError("the FIT workspace has no answered, labelled customer turn: no retrieval peer")
    if not test_texts:
        return []
    distinct = list(dict.fromkeys(fit_texts))
    index = {t: i for i, t in enumerate(distinct)}
    first_fit_of_text: dict[int, int] = {}
    for row, text in enumerate(fit_texts):
        first_fit_of_text.setdefault(index[text], row)
    fit = _unit(embedder.embed(distinct))
    test = _unit(embedder.embed(test_texts))
    nearest = np.concatenate([np.argmax(test[i:i + CHUNK] @ fit.T, axis=1) for i in range(0, len(test_texts), CHUNK)])
    return [fit_actions[first_fit_of_text[int(k)]] for k in nearest]


def majority_label(fit_actions: list[str]) -> str:
    if not fit_actions:
        raise ValueError("the FIT workspace has no answered, labelled customer turn: no majority peer")
    return sorted(Counter(fit_actions).items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
