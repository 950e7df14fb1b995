"""Matching examples for exported guidelines: real customer turns that were answered by the move.

Why: the runtime matcher decides whether a guideline's condition holds by comparing the
customer's message with the guideline's condition and `examples`. A handful of cluster medoids
cover the middle of a situation only; customers phrase the same need in many ways, and a
message that is plainly a case of the situation but far from its five medoids is missed, which
the agent answers with a fallback. The evidence of a mined guideline is every turn of its
condition cluster(s) that the agent answered with its action cluster(s) (any scope it was
merged from); a spread of those turns is what "customers who got this answer said".

Selection: the customer turns whose *next agent turn* falls in one of the guideline's action
clusters (the answer the agent actually gave, as `eval agent` defines "answered"), distinct
texts only, ordered by clustering confidence and taken at evenly spaced ranks so the sample
spans the cluster from its core to its edge rather than repeating the medoid. The texts are the
workspace's stored turns, which ingest has already redacted; anything that reads like an
instruction to the agent is left out, as for the medoids.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl

from guideminer.ingest.workspace import scan_turns
from guideminer.mining.habits import ACTION_SIMILARITY
from guideminer.mining.phrasing import looks_like_injection
from guideminer.mining.proposals_schema import GuidelineProposal
from guideminer.mining.schema import MINING_FILES

MATCH_EXAMPLES = 50  # 20 -> 50: SGD held-out next action 0.438 -> 0.454 (docs/results.md)


def answered_pairs(turns: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """One row per customer turn whose next turn is an agent turn: the customer turn's text,
    cluster and confidence, and the answering agent turn's cluster."""
    ordered = turns.select("conversation_id", "turn_index", "role", "text").sort("conversation_id", "turn_index")
    ordered = ordered.with_columns(
        pl.col("role").shift(-1).over("conversation_id").alias("next_role"),
        pl.col("turn_index").shift(-1).over("conversation_id").alias("next_turn"))
    customer = ordered.filter((pl.col("role") == "customer") & (pl.col("next_role") == "agent"))
    clusters = assignments.select("conversation_id", "turn_index", "cluster_id", "confidence")
    answered = customer.join(clusters, on=["conversation_id", "turn_index"])
    agent = clusters.select("conversation_id", pl.col("turn_index").alias("next_turn"),
                            pl.col("cluster_id").alias("answer_cluster"))
    return answered.join(agent, on=["conversation_id", "next_turn"]).select(
        "text", "cluster_id", "confidence", "answer_cluster")


def habit_cluster_pairs(proposal: GuidelineProposal) -> set[tuple[int, int]]:
    """(condition cluster, action cluster) of the proposal and of every variant merged into it."""
    pairs = {(proposal.condition.cluster_id, proposal.action.cluster_id)}
    return pairs | {(s.condition_cluster_id, s.action_cluster_id) for s in proposal.scopes}


def spread_sample(texts: list[str], limit: int) -> list[str]:
    """`limit` of `texts` (already in confidence order, distinct) at evenly spaced ranks."""
    if len(texts) <= limit:
        return texts
    step = (len(texts) - 1) / (limit - 1) if limit > 1 else 0
    return [texts[round(i * step)] for i in range(limit)]


def matching_examples(workspace: Path, proposals: Iterable[tuple[str, GuidelineProposal]],
                      limit: int = MATCH_EXAMPLES) -> dict[str, tuple[str, ...]]:
    """key -> up to `limit` customer turns answered by the proposal's move (module docstring),
    for (key, proposal) pairs (the key is the exported guideline's id)."""
    proposals = list(proposals)
    if not proposals or limit <= 0:
        return {}
    workspace = Path(workspace)
    turns = scan_turns(workspace).select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "text").collect()
    pairs = answered_pairs(turns, pl.read_parquet(workspace / MINING_FILES["turn_assignments"]))
    pairs = pairs.with_columns(pl.col("text").str.strip_chars()).filter(pl.col("text") != "")
    pairs = pairs.sort(["confidence", "text"], descending=[True, False])
    examples: dict[str, tuple[str, ...]] = {}
    for key, proposal in proposals:
        wanted = pl.DataFrame(sorted(habit_cluster_pairs(proposal)), schema=["cluster_id", "answer_cluster"],
                              orient="row").cast(pairs.select("cluster_id", "answer_cluster").schema)
        texts = pairs.join(wanted, on=["cluster_id", "answer_cluster"], maintain_order="left")["text"].to_list()
        distinct = [t for t in dict.fromkeys(texts) if not looks_like_injection(t)]
        answered_medoids = answered_first(proposal.condition.representative_texts, distinct)
        spread = dict.fromkeys((*answered_medoids, *spread_sample(distinct, limit)))
        examples[key] = tuple(spread)[:max(limit, len(answered_medoids))]
    return examples


def answered_first(medoids: Iterable[str], answered: list[str]) -> list[str]:
    """The condition cluster's medoids that customers said before this move, in medoid order.
    Why: one customer cluster is often answered by several moves ("I'd like to return the
    speaker I bought" got the return policy; "the 30 days are up" store credit, both one
    cluster): a move's matching examples are what was said before *it*, so the medoids of the
    whole cluster must not make the store-credit rule hold for a plain return request."""
    said = set(answered)
    return [t.strip() for t in medoids if t.strip() in said]


def near_agent_clusters(clusters: pl.DataFrame) -> dict[int, set[int]]:
    """Agent cluster -> itself and the agent clusters whose centroids are within ACTION_SIMILARITY."""
    agents = clusters.filter(pl.col("role").cast(pl.String) == "agent")
    if agents.is_empty():
        return {}
    ids = agents["cluster_id"].to_list()
    centroids = np.asarray(agents["centroid"].to_list(), dtype=np.float64)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    similar = centroids @ centroids.T >= ACTION_SIMILARITY
    return {cid: {ids[j] for j in np.flatnonzero(similar[i])} | {cid} for i, cid in enumerate(ids)}


def previous_move_examples(workspace: Path, proposals: Iterable[tuple[str, GuidelineProposal]],
                           limit: int = MATCH_EXAMPLES) -> dict[str, tuple[str, ...]]:
    """key -> up to `limit` agent turns of the move an "after" guideline answers that a customer
    turn followed, spread from core to edge as for conditions: turns of its `after_action`
    cluster, of those of the variants merged into it, and of agent clusters near them (centroid
    cosine >= the habits' `ACTION_SIMILARITY`: one move, phrased apart). Why: the previous-move
    gate compares the agent's last message with these; a move phrased many ways ("Could you send
    me the order number and a photo?" / "To sort this out I'll need ...") is often two clusters,
    and medoids of one leave the gate shut on the other, so a later step of a need never applies."""
    workspace = Path(workspace)
    after = {key: {p.after_action.cluster_id} | {s.after_action_cluster_id for s in p.scopes
                                                 if s.after_action_cluster_id is not None}
             for key, p in proposals if p.after_action is not None}
    if not after or limit <= 0:
        return {}
    near = near_agent_clusters(pl.read_parquet(workspace / MINING_FILES["clusters"]))
    wanted_moves = {key: {n for cid in moves for n in near.get(cid, {cid})} for key, moves in after.items()}
    turns = scan_turns(workspace).select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "text").collect()
    followed = (turns.sort("conversation_id", "turn_index")
                .with_columns(pl.col("role").shift(-1).over("conversation_id").alias("next_role"))
                .filter((pl.col("role") == "agent") & (pl.col("next_role") == "customer")))
    moves = (followed.join(pl.read_parquet(workspace / MINING_FILES["turn_assignments"])
                           .select("conversation_id", "turn_index", "cluster_id", "confidence"),
                           on=["conversation_id", "turn_index"])
             .with_columns(pl.col("text").str.strip_chars()).filter(pl.col("text") != "")
             .sort(["confidence", "text"], descending=[True, False]))
    by_cluster = {cid: rows["text"].to_list() for (cid,), rows in moves.group_by("cluster_id", maintain_order=True)}
    out = {}
    for key, clusters in wanted_moves.items():
        texts = [t for cid in sorted(clusters) for t in by_cluster.get(cid, [])]
        out[key] = tuple(spread_sample([t for t in dict.fromkeys(texts) if not looks_like_injection(t)], limit))
    return out
