"""The customer's last words get a goodbye, not the fallback hand-off (mining/closings.py)."""

from __future__ import annotations

import polars as pl

from guideminer.engine import Session
from guideminer.mining.closings import CLOSING_ID, CLOSING_MESSAGE, final_turns, with_closing


def _tables(conversations: dict[str, list[tuple[str, int]]], etiquette: set[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [{"conversation_id": c, "turn_index": i, "role": role, "cluster_id": cluster, "is_noise": False}
            for c, turns in conversations.items() for i, (role, cluster) in enumerate(turns)]
    assignments = pl.DataFrame(rows, schema_overrides={"turn_index": pl.Int32, "cluster_id": pl.Int32})
    ids = sorted({r["cluster_id"] for r in rows})
    roles = {r["cluster_id"]: r["role"] for r in rows}
    clusters = pl.DataFrame({"cluster_id": ids, "role": [roles[i] for i in ids],
                             "is_etiquette": [i in etiquette for i in ids],
                             "representative_texts": [[f"text {i}"] for i in ids]},
                            schema_overrides={"cluster_id": pl.Int32})
    return assignments, clusters


def test_the_turns_customers_end_on_are_the_closing_examples():
    # need (1) -> answer (10) -> thanks (2) -> "anything else?" (11) -> "no, that's all" (3)
    chats = {f"c{i}": [("customer", 1), ("agent", 10), ("customer", 2), ("agent", 11), ("customer", 3)] for i in range(8)}
    chats |= {f"s{i}": [("customer", 1), ("agent", 10), ("customer", 3), ("agent", 12)] for i in range(2)}  # agent last
    final = final_turns(*_tables(chats, etiquette={2, 3}))
    assert set(final["cluster_id"]) == {3} and final.height == 8  # the thanks (2) is never last
    assert final_turns(*_tables(chats, etiquette={2})).is_empty()  # a need's cluster is no closing


def test_a_conversation_the_agent_always_ends_gets_no_closing():
    chats = {f"c{i}": [("customer", 1), ("agent", 10), ("customer", 3), ("agent", 12)] for i in range(8)}
    assert final_turns(*_tables(chats, etiquette={3})).is_empty()


def test_no_thats_all_gets_the_closing_not_the_hand_off():
    from test_engine_etiquette import shop_engine, shop_spec

    spec = with_closing(shop_spec(), ("no, that's all", "nope all good", "thanks, bye"))
    assert spec.etiquette.guideline(CLOSING_ID).provenance.startswith("default")
    engine, session = shop_engine(spec), Session()
    engine.respond(session, "I want to return my laptop")
    bye = engine.respond(session, "nope, that's all")
    assert bye.text == CLOSING_MESSAGE and bye.trace.applied_guideline_ids == [CLOSING_ID]
    assert with_closing(shop_spec(), ()) == shop_spec()
