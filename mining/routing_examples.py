"""Routing examples for exported departments: the openings of the conversations mined into each.

Why: the runtime router (engine/embedding.py `EmbeddingRouter`) scores a department by its
best-matching profile text. A department's situation medoids cover the core of each situation
only, and its guidelines' examples are answered turns of every step, follow-ups included; the
customers' own first needs are what routing compares with, and customers open the same need in
many ways. The openings the miner routed into a department are exactly what "conversations
that belong here start with".

Selection: per conversation, its opening (mining/departments.py rule 1: the first customer turn
whose cluster is neither etiquette nor spread over every kind of conversation); distinct texts per department, ordered by the conversation's
routing confidence and taken at evenly spaced ranks (`spread_sample`), so the sample spans the
department from its core to its edge. The texts are the workspace's stored (redacted) turns;
anything that reads like an instruction to the agent is left out, as for the medoids.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from guideminer.ingest.workspace import scan_turns
from guideminer.mining.departments import conversation_openings
from guideminer.mining.etiquette import etiquette_clusters, spread_clusters
from guideminer.mining.match_examples import spread_sample
from guideminer.mining.phrasing import looks_like_injection
from guideminer.mining.schema import MINING_FILES

ROUTING_EXAMPLES = 40  # openings per department


def conversation_opening_turns(assignments: pl.DataFrame, etiquette: set[int],
                               spread: set[int] = frozenset()) -> pl.DataFrame:
    """conversation_id, turn_index of each conversation's opening need (mining/departments.py rule
    1); a conversation that opens with no need (etiquette or answers only) gives no example: a
    phone number in a department's profile routed every caller who gave their number there."""
    customers = (assignments.with_columns(pl.col("role").cast(pl.String))
                 .filter(pl.col("role") == "customer").sort("conversation_id", "turn_index"))
    openings = conversation_openings(customers, etiquette, spread)
    return openings.filter(pl.col("is_need")).select("conversation_id", "turn_index")


def opening_examples(workspace: Path, limit: int = ROUTING_EXAMPLES) -> dict[str, tuple[str, ...]]:
    """Mined department id -> up to `limit` distinct opening texts of its conversations."""
    workspace = Path(workspace)
    if limit <= 0:
        return {}
    clusters = pl.read_parquet(workspace / MINING_FILES["clusters"])
    etiquette, spread = etiquette_clusters(clusters), spread_clusters(clusters)
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"],
                                  columns=["conversation_id", "turn_index", "role", "cluster_id", "is_noise", "confidence"])
    openings = conversation_opening_turns(assignments, etiquette, spread)
    routed = pl.read_parquet(workspace / MINING_FILES["conversation_departments"])
    turns = (scan_turns(workspace).select("conversation_id", pl.col("turn_index").cast(pl.Int64), "text").collect())
    openings = openings.with_columns(pl.col("turn_index").cast(pl.Int64))
    texts = (openings.join(routed, on="conversation_id").join(turns, on=["conversation_id", "turn_index"])
             .with_columns(pl.col("text").str.strip_chars())
             .filter((pl.col("text") != "") & pl.col("department_id").is_not_null())
             .sort(["department_id", "confidence", "text"], descending=[False, True, False]))
    examples: dict[str, tuple[str, ...]] = {}
    for (department_id,), group in texts.group_by("department_id", maintain_order=True):
        distinct = [t for t in dict.fromkeys(group["text"].to_list()) if not looks_like_injection(t)]
        examples[str(department_id)] = tuple(spread_sample(distinct, limit))
    return examples
