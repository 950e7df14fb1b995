"""Etiquette detection: spread over every kind of conversation (and, for customer turns,
answered by etiquette) -> etiquette; concentrated, or spread but answered by the need -> need."""

from __future__ import annotations

import numpy as np
import pytest

from proposals_world import assignments_from, clusters_table

from guideminer.mining.etiquette import (
    EtiquetteParams,
    answering_moves,
    detect_etiquette,
    with_etiquette,
)
from guideminer.mining.schema import CLUSTERS_SCHEMA

TOPICS = 6
# Few topics for this small world: its conversations hold only 3-5 clusters each, so KMeans with
# the default 24 topics would split the 6 true topics by whether "hello" was said.
PARAMS = EtiquetteParams(topics=8)
HELLO, PRODUCT, GREET, CLOSE = 100, 101, 200, 201  # customer hello, spread product turns; agent greet, close


def world(per_topic: int = 60, seed: int = 0) -> dict[str, list[tuple[str, int, bool]]]:
    """Per topic t: need opening t (customer) answered by need move 50+t; a hello answered by the
    greeting in half the conversations; a product mention (any topic) answered by the need move."""
    rng = np.random.default_rng(seed)
    conversations = {}
    for topic in range(TOPICS):
        for i in range(per_topic):
            seq = [("customer", HELLO, False)] if rng.random() < 0.5 else []
            seq += [("agent", GREET, False), ("customer", topic, False), ("agent", 50 + topic, False)]
            if rng.random() < 0.5:
                seq += [("customer", PRODUCT, False), ("agent", 50 + topic, False)]
            seq += [("agent", CLOSE, False)]
            conversations[f"t{topic}-{i:03d}"] = seq
    return conversations


def test_spread_and_answered_by_etiquette_is_etiquette_concentrated_is_need():
    result = detect_etiquette(assignments_from(world()), PARAMS)
    assert result.flags[HELLO] and result.flags[GREET] and result.flags[CLOSE]
    assert not any(result.flags[t] for t in range(TOPICS))
    assert not any(result.flags[50 + t] for t in range(TOPICS))
    assert result.concentration[HELLO] <= 0.25 < min(result.concentration[t] for t in range(TOPICS))


def test_spread_customer_cluster_answered_by_need_moves_stays_a_need():
    result = detect_etiquette(assignments_from(world()), PARAMS)
    assert result.concentration[PRODUCT] <= 0.25  # spread evenly over the topics...
    assert not result.flags[PRODUCT]  # ...but agents answer it with the need's own moves


def test_answer_is_next_agent_turn_else_previous():
    answers = answering_moves(assignments_from({"a": [("agent", 7, False), ("customer", 1, False),
                                                      ("customer", 2, False), ("agent", 8, False),
                                                      ("customer", 3, False)]}))
    assert sorted(answers.iter_rows()) == [(1, 8), (2, 8), (3, 8)]


def test_too_few_conversations_flag_nothing():
    small = assignments_from(dict(list(world(per_topic=3).items())))
    result = detect_etiquette(small, EtiquetteParams())
    assert not any(result.flags.values()) and result.rounds == 0


def test_flags_fill_the_clusters_column():
    conversations = world()
    assignments = assignments_from(conversations)
    ids = sorted({c for seq in conversations.values() for role, c, _ in seq if role == "customer"})
    moves = sorted({c for seq in conversations.values() for role, c, _ in seq if role == "agent"})
    clusters = clusters_table({c: ([f"k{c}"], [f"text {c}"]) for c in ids}, {c: ([f"m{c}"], [f"move {c}"]) for c in moves})
    table = with_etiquette(clusters, detect_etiquette(assignments, PARAMS))
    assert table.schema.equals(CLUSTERS_SCHEMA)
    flags = dict(zip(table.column("cluster_id").to_pylist(), table.column("is_etiquette").to_pylist(), strict=True))
    assert flags[HELLO] is True and flags[0] is False and None not in flags.values()


@pytest.mark.parametrize("seed", [1, 2])
def test_detection_is_deterministic(seed):
    assignments = assignments_from(world(seed=seed))
    assert detect_etiquette(assignments, PARAMS) == detect_etiquette(assignments, PARAMS)


def test_etiquette_set_scores_read_rules_by_their_evidence_turns(tmp_path):
    """A rule whose evidence is greeting-like turns (etiquette in the truth) on both sides reads
    as etiquette; one whose condition turns are the need does not, in either set."""
    from proposals_world import guideline_world

    from guideminer.evaluation.etiquette import etiquette_set_scores
    from guideminer.ingest.demo_corpus import write_demo_corpus
    from guideminer.ingest.demo_truth import load_truth
    from guideminer.mining.proposals import build_proposals
    from guideminer.mining.proposals_schema import EvidenceExample

    corpus = write_demo_corpus(tmp_path, 40, 3)
    pairs = {True: [], False: []}  # customer turn etiquette in truth -> (conversation, customer turn, next agent turn)
    for conversation in load_truth(corpus.truth).conversations:
        turns = conversation.turns
        for turn, reply in zip(turns, turns[1:]):
            if turn.role == "customer" and reply.role == "agent" and turn.etiquette == reply.etiquette:
                pairs[turn.etiquette].append(EvidenceExample(conversation_id=conversation.conversation_id,
                                                             condition_turn_index=turn.turn_index,
                                                             action_turn_index=reply.turn_index))
    world = guideline_world()
    guidelines, _, _ = build_proposals(world["assignments"], world["clusters"])
    first, second, third = guidelines.proposals[:3]
    proposals = [first.model_copy(update={"is_etiquette": True, "evidence": pairs[True][:5]}),
                 second.model_copy(update={"is_etiquette": True, "evidence": pairs[False][:5]}),
                 third.model_copy(update={"is_etiquette": False, "evidence": pairs[True][5:10]})]
    folder = tmp_path / "mining" / "proposals"
    folder.mkdir(parents=True)
    (folder / "guidelines.json").write_text(guidelines.model_copy(update={"proposals": proposals}).model_dump_json())
    scores = etiquette_set_scores(tmp_path, corpus.truth)
    assert scores == {"etiquette_rules": 2, "read_as_etiquette": 1, "need_condition": 1, "department_rules": 1,
                      "department_rules_etiquette_condition": 1, "true_etiquette_rules_outside_set": 1}


def test_moves_the_agents_say_alone_are_told_from_those_that_lead_into_the_next():
    from proposals_world import _seq

    from guideminer.mining.etiquette import standalone_moves

    # 18 a hold (the customer answers it), 20 "thank you for holding" (the agent goes on)
    sequences = {f"c{i}": _seq("c3", "a18", "c5", "a20", "a11") for i in range(6)}
    assert standalone_moves(assignments_from(sequences), {18, 20}) == {18}
    assert standalone_moves(assignments_from(sequences), {20}) == set()
