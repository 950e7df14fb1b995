"""Managed endings: how need flows end is one etiquette habit (mining/guidelines.py
`etiquette_occurrences`, mining/habits.py), placed by the need's last step."""

from __future__ import annotations

import polars as pl

from proposals_world import _seq, assignments_from, clusters_table, turns_table

from guideminer.mining.guidelines import GuidelineParams, propose_guidelines
from guideminer.mining.habits import merge_habits

CUSTOMER = {
    1: (["damaged"], ["my kettle arrived damaged", "the box was crushed"]),
    2: (["charged twice"], ["I was charged twice", "you took the payment twice"]),
    3: (["order"], ["it's order 123", "order 456"]),
    5: (["replacement"], ["a replacement please", "replacement would be great"]),
    6: (["card"], ["it ends in 4242", "the card ending 1234"]),
    9: (["thanks"], ["thanks", "thank you"]),
}
AGENT = {
    10: (["order number"], ["Could you share the order number?", "What's the order number?"]),
    11: (["replacement", "refund"], ["Would you like a replacement or a refund?", "Replacement or refund?"]),
    12: (["last four digits"], ["Which card was it? The last four digits, please.", "The last 4 digits?"]),
    19: (["anything else"], ["Great, that's everything on my side. Anything else?", "Anything else I can do?"]),
    18: (["goodbye"], ["Take care, goodbye!", "Bye!"]),
}


SEQUENCES = {**{f"d{i}": _seq("c1", "a10", "c3", "a11", "c5", "a19", "c9", "a18") for i in range(8)},
             **{f"b{i}": _seq("c2", "a12", "c6", "a19", "c9", "a18") for i in range(8)}}


def _proposals(managed_endings: bool = True):
    sequences = SEQUENCES
    clusters = clusters_table(CUSTOMER, AGENT).with_columns(pl.col("cluster_id").is_in([9, 18, 19]).alias("is_etiquette"))
    assignments = assignments_from(sequences)
    proposals = propose_guidelines(assignments, clusters, GuidelineParams(managed_endings=managed_endings))
    return merge_habits(proposals, clusters, assignments=assignments)


def test_answers_to_each_last_step_end_the_flow_as_one_habit_placed_by_the_steps():
    endings = [p for p in _proposals() if p.ends_need]
    assert len(endings) == 1
    (ending,) = endings
    assert ending.is_etiquette and ending.action.cluster_id == 19 and ending.condition_state == "after"
    assert {s.after_action_cluster_id for s in ending.scopes} == {11, 12}  # both last steps
    assert {s.condition_cluster_id for s in ending.scopes} == {5, 6}
    assert ending.condition_text.startswith("the customer answers the last step of their need")


def test_without_managed_endings_no_rule_ends_a_need():
    assert not [p for p in _proposals(False) if p.ends_need or (p.is_etiquette and p.action.cluster_id == 19)]


def test_an_ending_quotes_a_last_step_and_its_answer_from_one_conversation():
    from guideminer.mining.proposals import phrase_from_evidence

    texts = {cid: t for spec in (CUSTOMER, AGENT) for cid, (_, t) in spec.items()}
    turns = turns_table(SEQUENCES, texts)
    (ending,) = phrase_from_evidence([p for p in _proposals() if p.ends_need], turns)
    pairs = {(s, a) for c, i in ((e.conversation_id, e.condition_turn_index) for e in ending.evidence)
             for s, a in [(turns.filter((turns["conversation_id"] == c) & (turns["turn_index"] == i - 1))["text"][0],
                           turns.filter((turns["conversation_id"] == c) & (turns["turn_index"] == i))["text"][0])]}
    assert any(f"\u201c{a}\u201d after the agent's \u201c{s}\u201d" in ending.condition_text for s, a in pairs)


def test_a_step_after_which_the_flow_mostly_goes_on_is_no_last_step():
    """After "The last 4 digits?" most answers get the refund (a department move): closing there
    would end a need half done, so only the replacement question stays a last step."""
    going_on = {f"r{i}": _seq("c2", "a12", "c6", "a10", "c9", "a18") for i in range(12)}
    clusters = clusters_table(CUSTOMER, AGENT).with_columns(pl.col("cluster_id").is_in([9, 18, 19]).alias("is_etiquette"))
    assignments = assignments_from({**SEQUENCES, **going_on})
    endings = [p for p in merge_habits(propose_guidelines(assignments, clusters), clusters, assignments=assignments)
               if p.ends_need]
    assert [{s.after_action_cluster_id for s in p.scopes} for p in endings] == [{11}]
