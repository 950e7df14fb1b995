"""Matching examples: customer turns the agent answered with the guideline's move."""

from __future__ import annotations

import polars as pl
from proposals_world import proposals_workspace

from guideminer.mining.export_spec import export_workspace
from guideminer.mining.match_examples import answered_pairs, spread_sample
from guideminer.mining.proposals import read_proposals


def _turns(rows):
    return pl.DataFrame(rows, schema=["conversation_id", "turn_index", "role", "text"], orient="row")


def _assignments(rows):
    return pl.DataFrame(rows, schema=["conversation_id", "turn_index", "cluster_id", "confidence"], orient="row")


def test_answered_pairs_link_each_customer_turn_to_the_next_agent_turn_only():
    turns = _turns([("c1", 0, "customer", "hi"), ("c1", 1, "customer", "my parcel is late"),
                    ("c1", 2, "agent", "let me check"), ("c1", 3, "customer", "thanks"),
                    ("c2", 0, "customer", "refund please")])  # c2: never answered
    assignments = _assignments([("c1", 0, 1, 0.9), ("c1", 1, 2, 0.8), ("c1", 2, 7, 0.9), ("c1", 3, 3, 0.9),
                                ("c2", 0, 4, 0.9)])
    pairs = answered_pairs(turns, assignments)
    assert pairs.select("text", "cluster_id", "answer_cluster").rows() == [("my parcel is late", 2, 7)]


def test_spread_sample_spans_the_ranks_and_keeps_short_lists():
    assert spread_sample(list("abcdefghij"), 4) == ["a", "d", "g", "j"]
    assert spread_sample(["x", "y"], 5) == ["x", "y"]


def test_export_adds_answered_turns_of_the_guidelines_own_clusters(tmp_path):
    workspace = proposals_workspace(tmp_path)
    proposals = {p.guideline_id: p for p in read_proposals(workspace)[0].proposals}
    with_examples = export_workspace(workspace, None, auto_accept=True).spec
    without = export_workspace(workspace, None, auto_accept=True, match_examples=0).spec
    turns = pl.read_parquet(workspace / "turns.parquet")
    assignments = pl.read_parquet(workspace / "mining" / "turn_assignments.parquet")
    pairs = answered_pairs(turns.select("conversation_id", "turn_index", "role", "text"), assignments)
    before = {g.id: g.examples for d in without.departments for g in d.guidelines}
    grew = dropped = 0
    for guideline in (g for d in with_examples.departments for g in d.guidelines):
        added = set(guideline.examples) - set(before[guideline.id])
        proposal = proposals[guideline.provenance.removeprefix("mined:")]
        allowed = set(pairs.filter((pl.col("cluster_id") == proposal.condition.cluster_id)
                                   & (pl.col("answer_cluster") == proposal.action.cluster_id))["text"])
        allowed |= {t for s in proposal.scopes for t in pairs.filter(
            (pl.col("cluster_id") == s.condition_cluster_id) & (pl.col("answer_cluster") == s.action_cluster_id))["text"]}
        assert added <= allowed, (guideline.id, added - allowed)
        said_before_it = tuple(m for m in before[guideline.id] if m in allowed)
        assert guideline.examples[:len(said_before_it)] == said_before_it  # its medoids first
        # a medoid of the condition cluster that customers only said before another move is no
        # example of this one (one cluster, several moves: each keeps what preceded it)
        dropped += len(set(before[guideline.id]) - set(guideline.examples))
        assert not (set(before[guideline.id]) - allowed) & set(guideline.examples)
        grew += bool(added)
    assert grew, "the planted world has answered turns beyond the medoids"
    assert dropped, "the planted world has a cluster medoid answered by another move"
