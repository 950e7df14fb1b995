"""Clusters split by their context: agent moves by the need they answer, customer needs by the
move answering them (mining/context_split.py)."""

from __future__ import annotations

import numpy as np
import polars as pl

from guideminer.mining.context_split import (
    ContextSplitParams, agent_open_needs, customer_next_moves, not_needs, relabel_role, split_by_context,
    split_clusters, with_parts,
)

REFUND, RETURN = 1, 2  # customer need clusters
ORDER_NUMBER = 3  # customer answer cluster: never opens a conversation
MIXED = 10  # one agent cluster holding two phrasings (text rows 0-3 and 4-7)
ASK = 11  # the agent asks for the order number


def _vectors(rng: np.random.Generator) -> np.ndarray:
    """Text rows 0-3 near one direction, 4-7 near another, 8 for the ASK move."""
    basis = np.eye(8, dtype=np.float32)
    rows = [basis[0] + 0.05 * rng.standard_normal(8) for _ in range(4)]
    rows += [basis[1] + 0.05 * rng.standard_normal(8) for _ in range(4)]
    rows.append(basis[2])
    return np.asarray(rows, dtype=np.float32)


def _world(n: int, paraphrases: bool) -> pl.DataFrame:
    """n refund and n return conversations: need, "order number?", the number, the MIXED move.
    Two moves: refunds get texts 0-3 and returns 4-7; paraphrases: both get either half."""
    rows = []
    for i in range(2 * n):
        conversation, need = f"c{i:03d}", (REFUND if i < n else RETURN)
        text = (i % 8) if paraphrases else (i % 4 if need == REFUND else 4 + i % 4)
        for turn, (role, cluster, text_row) in enumerate([("customer", need, None), ("agent", ASK, 8),
                                                          ("customer", ORDER_NUMBER, None), ("agent", MIXED, text)]):
            rows.append((conversation, turn, role, cluster, False, text_row))
    return pl.DataFrame(rows, orient="row", schema={"conversation_id": pl.String, "turn_index": pl.Int32,
                                                    "role": pl.String, "cluster_id": pl.Int32,
                                                    "is_noise": pl.Boolean, "text_row": pl.Int64})


def _split(world: pl.DataFrame, params: ContextSplitParams = ContextSplitParams()):
    agents = agent_open_needs(world.drop("text_row"), etiquette=set(), spread=set()).join(
        world.select("conversation_id", "turn_index", pl.col("text_row").alias("vector_row")),
        on=["conversation_id", "turn_index"])
    return agents, split_clusters(agents, _vectors(np.random.default_rng(0)), params, first_new_id=100)


def test_answer_turns_do_not_open_needs_the_latest_need_does():
    agents, _ = _split(_world(4, paraphrases=False))
    mixed = agents.filter(pl.col("cluster_id") == MIXED).sort("conversation_id")
    assert mixed["context"].to_list() == [REFUND] * 4 + [RETURN] * 4  # the order number is an answer


def test_a_cluster_of_two_moves_after_two_needs_is_split():
    agents, (moved, parents) = _split(_world(12, paraphrases=False))
    assert parents == {100: MIXED}
    parts = moved.join(agents.select("conversation_id", "turn_index", "context"), on=["conversation_id", "turn_index"])
    by_part = parts.group_by("cluster_id").agg(pl.col("context").unique())
    assert sorted(sorted(needs) for needs in by_part["context"].to_list()) == [[REFUND], [RETURN]]


def test_paraphrases_of_one_move_after_both_needs_stay_together():
    _, (moved, parents) = _split(_world(12, paraphrases=True))
    assert parents == {} and moved.height == 0


def test_too_few_turns_to_show_the_needs_differ_do_not_split():
    _, (_, parents) = _split(_world(3, paraphrases=False))  # 3 turns per half, min_turns 5
    assert parents == {}
    _, (_, parents) = _split(_world(3, paraphrases=False), ContextSplitParams(min_turns=3, max_p=0.2))
    assert parents == {100: MIXED}  # what blocked it was the evidence rule, not the need difference


def test_the_split_is_deterministic():
    first, second = _split(_world(12, paraphrases=False))[1], _split(_world(12, paraphrases=False))[1]
    assert first[1] == second[1] and first[0].equals(second[0])


def test_parts_are_relabelled_and_keep_their_parents_flags():
    world = _world(12, paraphrases=False)
    agents, (moved, parents) = _split(world)
    final = with_parts(agents, moved).select("cluster_id", pl.col("vector_row").alias("text_row"))
    texts = [f"refund phrasing {i}" for i in range(4)] + [f"return phrasing {i}" for i in range(4)] + ["order number?"]
    coarse = pl.DataFrame({"cluster_id": [REFUND, RETURN, ORDER_NUMBER, MIXED, ASK],
                           "role": ["customer"] * 3 + ["agent"] * 2, "size": [12, 12, 24, 24, 24],
                           "keywords": [["x"]] * 5, "representative_texts": [["x"]] * 5,
                           "centroid": [[1.0] + [0.0] * 7] * 5, "name": [None] * 5,
                           "is_etiquette": [False] * 5, "is_spread": [False, False, True, False, False],
                           "split_from": pl.Series([None] * 5, dtype=pl.Int32)})
    table = relabel_role(coarse, "agent", final, texts, _vectors(np.random.default_rng(0)), parents,
                           top_keywords=3, representatives=2)
    agent = table.filter(pl.col("role") == "agent").sort("cluster_id")
    assert agent["cluster_id"].to_list() == [MIXED, ASK, 100]
    assert agent["size"].to_list() == [12, 24, 12] and agent["is_etiquette"].to_list() == [False] * 3
    assert agent["split_from"].to_list() == [None, None, MIXED]
    words = {c: " ".join(t) for c, t in zip(agent["cluster_id"], agent["representative_texts"])}
    assert {"refund" in words[MIXED], "refund" in words[100]} == {True, False}  # one move per part
    norms = np.linalg.norm(np.asarray(agent["centroid"].to_list()), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    assert table.filter(pl.col("role") == "customer").equals(coarse.filter(pl.col("role") == "customer"))


def _customer_world(n: int, followed_apart: bool) -> pl.DataFrame:
    """One customer cluster (REFUND) with two phrasings (vector rows 0-3 and 4-7), each answered
    by the agent; followed_apart: the first phrasing by move 20, the second by move 21."""
    rows = []
    for i in range(2 * n):
        text = i % 4 if i < n else 4 + i % 4
        move = (20 if i < n else 21) if followed_apart else 20 + i % 2
        for turn, (role, cluster, vector_row) in enumerate([("customer", REFUND, text), ("agent", move, None),
                                                            ("customer", ORDER_NUMBER, 8), ("agent", ASK, None)]):
            rows.append((f"c{i:03d}", turn, role, cluster, False, vector_row))
    return pl.DataFrame(rows, orient="row", schema={"conversation_id": pl.String, "turn_index": pl.Int32,
                                                    "role": pl.String, "cluster_id": pl.Int32,
                                                    "is_noise": pl.Boolean, "vector_row": pl.Int64})


def _split_customers(world: pl.DataFrame):
    assignments = world.drop("vector_row")
    rows = customer_next_moves(assignments, etiquette=set(), skipped=not_needs(assignments, set(), set())).join(
        world.select("conversation_id", "turn_index", "vector_row"), on=["conversation_id", "turn_index"])
    return rows, split_clusters(rows, _vectors(np.random.default_rng(1)), ContextSplitParams(), first_new_id=200)


def test_a_need_cluster_whose_phrasings_get_different_moves_is_split_but_answers_are_not():
    rows, (moved, parents) = _split_customers(_customer_world(12, followed_apart=True))
    assert set(rows["cluster_id"].to_list()) == {REFUND}  # the order number (never opens) is an answer
    assert parents == {200: REFUND}
    contexts = with_parts(rows, moved).group_by("cluster_id").agg(pl.col("context").unique().sort())
    assert sorted(contexts["context"].to_list()) == [[20], [21]]


def test_a_need_cluster_whose_phrasings_get_the_same_moves_stays_whole():
    _, (moved, parents) = _split_customers(_customer_world(12, followed_apart=False))
    assert parents == {} and moved.height == 0


def _two_step_world(n: int) -> tuple[pl.DataFrame, dict]:
    """One need cluster (REFUND) in two phrasings (vector rows 0-3 and 4-7): the first answered
    by move 20, the second by move 21; then the order number, then MIXED, whose two phrasings
    follow the two needs. MIXED can only split once the need has (a second round)."""
    rows = []
    for i in range(2 * n):
        first = i < n
        turns = [("customer", REFUND, i % 4 if first else 4 + i % 4), ("agent", 20 if first else 21, 8),
                 ("customer", ORDER_NUMBER, 8), ("agent", MIXED, i % 4 if first else 4 + i % 4)]
        rows += [(f"c{i:03d}", t, role, cluster, False, v) for t, (role, cluster, v) in enumerate(turns)]
    world = pl.DataFrame(rows, orient="row", schema={"conversation_id": pl.String, "turn_index": pl.Int32,
                                                     "role": pl.String, "cluster_id": pl.Int32,
                                                     "is_noise": pl.Boolean, "vector_row": pl.Int64})
    keys = world.select("conversation_id", "turn_index", "vector_row")
    vectors = _vectors(np.random.default_rng(2))
    return world.drop("vector_row"), {"agent": (vectors, keys), "customer": (vectors, keys)}


def test_a_second_round_splits_a_move_whose_need_split_in_the_first():
    world, spaces = _two_step_world(12)
    _, one = split_by_context(world, set(), set(), spaces, ContextSplitParams(rounds=1), first_new_id=300)
    assert one == {"customer": {300: REFUND}}  # the move still follows one need cluster
    final, two = split_by_context(world, set(), set(), spaces, ContextSplitParams(rounds=2), first_new_id=300)
    assert two["customer"] == {300: REFUND} and list(two["agent"].values()) == [MIXED]
    parts = final.filter(pl.col("role") == "agent").group_by("cluster_id").agg(pl.col("conversation_id").min())
    assert parts.height == 4  # moves 20, 21 and MIXED's two parts
