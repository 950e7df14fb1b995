"""Exchange clustering: which exchanges, their side-by-side vectors, habits above the floors."""

from __future__ import annotations

import numpy as np
import polars as pl

from proposals_world import assignments_from

from guideminer.mining.exchanges import exchange_habits, exchange_table, exchange_vectors

ETIQUETTE = {2, 20, 21}  # spelled name; "your name?", "hello"


def conversations() -> dict[str, list[tuple[str, int, bool]]]:
    """Need 1 -> "your name?" -> spelled name -> need answer 10; a hello answered by hello."""
    return {f"c{i}": [("agent", 21, False), ("customer", 2, False), ("agent", 21, False), ("customer", 1, False),
                      ("agent", 20, False), ("customer", 2, False), ("agent", 10, False)] for i in range(4)}


def test_need_exchanges_skip_the_detour_and_etiquette_exchanges_are_whole_view():
    table = exchange_table(assignments_from(conversations()), ETIQUETTE)
    rows = set(table.filter(pl.col("conversation_id") == "c0")
               .select("condition_turn", "action_turn", "condition_cluster", "agent_cluster", "is_etiquette").iter_rows())
    # need view: customer 1 (turn 3) answered by move 10 (turn 6); whole view: the spelled name
    # (turn 1) answered by "hello" 21 (turn 2); the spelled name at turn 5 is answered by a need move
    assert rows == {(3, 6, 1, 10, False), (1, 2, 2, 21, True)}


def test_exchange_vector_is_both_unit_vectors_side_by_side():
    table = pl.DataFrame({"conversation_id": ["a"], "condition_turn": [0], "action_turn": [1]})
    keys = pl.DataFrame({"conversation_id": ["a", "a"], "turn_index": [0, 1], "text_row": [1, 0]})
    vectors = np.array([[0.0, 2.0], [3.0, 0.0]], dtype=np.float32)
    out = exchange_vectors(table, keys, vectors)
    assert np.allclose(out, [[1 / np.sqrt(2), 0.0, 0.0, 1 / np.sqrt(2)]])
    assert np.isclose(np.linalg.norm(out[0]), 1.0)


def test_habits_are_exchange_clusters_above_the_support_floor():
    clustered = pl.DataFrame({
        "conversation_id": ["a", "b", "c", "a", "d", "e"], "condition_turn": [0, 0, 0, 2, 0, 0],
        "action_turn": [1, 1, 1, 3, 1, 1], "condition_cluster": [1, 1, 4, 1, 5, 5], "agent_cluster": [10, 10, 10, 11, 12, 12],
        "is_etiquette": [False, False, False, False, True, True], "exchange_cluster": [0, 0, 0, 0, 1, 1]})
    habits = exchange_habits(clustered, min_support=3, min_support_share=0.0)
    assert [(h.exchange_cluster, h.support, h.exchanges, h.condition_cluster, h.agent_cluster, h.is_etiquette)
            for h in habits] == [(0, 3, 4, 1, 10, False)]  # cluster 1: 2 conversations, below the floor
    assert len(exchange_habits(clustered, min_support=2, min_support_share=0.0)) == 2
