"""Answer turns take their conversation's open need as condition (mining/open_need.py)."""

from __future__ import annotations

import polars as pl
import pytest

from engine_fakes import FixedScorer
from proposals_world import _seq, assignments_from, clusters_table

from guideminer.engine import Guideline, Message
from guideminer.engine.context_gate import OpenNeedScorer
from guideminer.mining.guidelines import GuidelineParams, propose_guidelines
from guideminer.mining.open_need import answer_clusters, with_open_needs, words_decide

CUSTOMER = {
    1: (["parcel", "never arrived"], ["my parcel never arrived", "the package did not come"]),
    2: (["cancel", "order"], ["please cancel my order", "I want to cancel the order"]),
    3: (["order", "number"], ["it's order 123", "order number 456"]),
    9: (["hi", "hello"], ["hi", "hello"]),
}
AGENT = {
    10: (["order number"], ["Could you share the order number?", "What's the order number?"]),
    11: (["tracking", "courier"], ["The courier shows it at the depot; it will arrive tomorrow.",
                                   "Tracking says it is on its way and arrives tomorrow."]),
    12: (["cancelled", "refund"], ["Your order is cancelled and the refund is on its way.",
                                   "The cancellation is done; the refund follows in 3 days."]),
    19: (["welcome"], ["Hi, welcome!", "Hello, welcome!"]),
}
# a greeting (etiquette), the need, "order number?", the answer, the need's own next step
PARCEL = _seq("c9", "a19", "c1", "a10", "c3", "a11")
CANCEL = _seq("c9", "a19", "c2", "a10", "c3", "a12")


def _world(n: int = 8) -> tuple[pl.DataFrame, pl.DataFrame]:
    sequences = {**{f"p{i}": PARCEL for i in range(n)}, **{f"c{i}": CANCEL for i in range(n)}}
    clusters = clusters_table(CUSTOMER, AGENT).with_columns(pl.col("cluster_id").is_in([9, 19]).alias("is_etiquette"))
    return assignments_from(sequences), clusters


def _customers(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"conversation_id": pl.String, "turn_index": pl.Int32, "cluster_id": pl.Int32},
                        orient="row")


def test_clusters_that_rarely_open_a_conversation_are_answers():
    customers = _customers([("a", 0, 1), ("a", 2, 3), ("b", 0, 1), ("b", 2, 3), ("c", 0, 3), ("c", 2, 1)])
    assert answer_clusters(customers) == {3}  # opens 1 of its 3 turns (<= 1/3); cluster 1 opens 2 of 3
    customers = _customers([*customers.iter_rows(), ("d", 0, 3), ("d", 2, 1), ("e", 0, 3), ("e", 2, 1)])
    assert answer_clusters(customers) == set()  # cluster 3 now opens 3 of 5, cluster 1 2 of 5


def test_an_answer_takes_the_latest_need_and_an_answer_before_any_need_keeps_its_words():
    customers = _customers([("a", 0, 3), ("a", 2, 1), ("a", 4, 3), ("a", 6, 2), ("a", 8, 3)])
    out = with_open_needs(customers, answers={3}).sort("turn_index")
    assert out["cluster_id"].to_list() == [3, 1, 1, 2, 2]
    assert out["said_turn"].to_list() == [0, 2, 2, 6, 6]
    assert out["said_cluster"].to_list() == [3, 1, 3, 2, 3]


def test_the_order_number_continues_each_need_with_its_own_next_step():
    assignments, clusters = _world()
    proposals = propose_guidelines(assignments, clusters)
    steps = {(p.condition.cluster_id, p.action.cluster_id): p for p in proposals if p.continues_need}
    assert set(steps) == {(1, 11), (2, 12)}
    for proposal in steps.values():
        assert proposal.condition_state == "after" and proposal.after_action.cluster_id == 10
        assert proposal.scores.confidence == pytest.approx(1.0)
        assert all(e.need_turn_index == 2 and e.condition_turn_index == 4 for e in proposal.evidence)
        assert "and then answers the agent's" in proposal.condition_text
    assert not [p for p in proposals if p.condition.cluster_id == 3]  # no rule on the answer's words


def test_without_open_needs_the_answer_is_the_condition_and_mixes_both_needs():
    assignments, clusters = _world()
    proposals = propose_guidelines(assignments, clusters, GuidelineParams(open_need=False))
    on_answer = [p for p in proposals if p.condition.cluster_id == 3]
    assert on_answer and all(p.scores.confidence == pytest.approx(0.5) for p in on_answer)
    assert not [p for p in proposals if p.continues_need]


PARCEL_STEP = Guideline(id="track", condition="the customer's parcel never arrived", examples=("my parcel never arrived",),
                        action="check the tracking", continues_need=True)
CANCEL_STEP = Guideline(id="cancel", condition="the customer wants to cancel", examples=("cancel my order",),
                        action="confirm the cancellation", continues_need=True)
ANSWER = Guideline(id="answer", condition="the customer gives a number", examples=("it's order 123",), action="thank")


class ByLatestMessage(FixedScorer):
    """Scores each guideline by whether the latest customer message is one of its examples."""

    def __init__(self) -> None:
        super().__init__({})

    def score(self, conversation, guidelines):
        from guideminer.engine.protocols import ConditionScore

        latest = [m.text for m in conversation if m.role == "customer"][-1]
        return {g.id: ConditionScore(score=float(latest in g.examples), fresh=float(latest in g.examples))
                for g in guidelines}


def test_a_continuing_guideline_is_judged_on_the_need_said_before_the_answer():
    conversation = [Message(role="customer", text="my parcel never arrived", turn=1),
                    Message(role="agent", text="Could you share the order number?", turn=1),
                    Message(role="customer", text="it's order 123", turn=2)]
    scores = OpenNeedScorer(ByLatestMessage()).score(conversation, [PARCEL_STEP, CANCEL_STEP, ANSWER])
    assert scores["track"].score == 1.0 and scores["cancel"].score == 0.0
    assert scores["answer"].score == 1.0  # judged on the latest message, as before
    assert scores["track"].fresh is None  # the latest message alone says nothing about the need


def test_after_an_offer_the_words_decide_and_keep_their_own_condition():
    """SGD-like: after the agent's offer, "buy two tickets" and "where is it?" get different
    answers in either need, so the words, not the need, are the condition there."""
    offer_buy = _seq("c9", "a19", "c1", "a10", "c3", "a11")
    offer_ask = _seq("c9", "a19", "c1", "a10", "c4", "a12")
    sequences = {**{f"b{i}": offer_buy for i in range(6)}, **{f"q{i}": offer_ask for i in range(6)},
                 **{f"x{i}": _seq("c9", "a19", "c2", "a10", "c3", "a11") for i in range(6)}}
    customer = {**CUSTOMER, 4: (["where"], ["where is it?", "where is the venue?"])}
    clusters = clusters_table(customer, AGENT).with_columns(pl.col("cluster_id").is_in([9, 19]).alias("is_etiquette"))
    proposals = propose_guidelines(assignments_from(sequences), clusters)
    assert not [p for p in proposals if p.continues_need]
    assert {(p.condition.cluster_id, p.action.cluster_id) for p in proposals} >= {(3, 11), (4, 12)}


def test_words_that_tell_the_next_move_no_better_than_chance_never_decide():
    """Both AMIs below 0 (chance) differ by noise: the need keeps the condition; words that do
    tell the next move (AMI well above 0 and above the need's) decide."""
    nxt = [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    noise = pl.DataFrame({"previous_move": [5] * 12, "next_move": nxt,
                          "said_cluster": [8, 8, 7, 8, 7, 8, 7, 8, 8, 7, 7, 8],
                          "need_cluster": [3, 5, 4, 5, 5, 3, 4, 5, 4, 3, 5, 4]})
    assert words_decide(noise) == set()  # own AMI -0.077 > the need's -0.129, both chance
    telling = noise.with_columns(pl.Series("said_cluster", [7 if n == 1 else 8 for n in nxt]), pl.lit(6, pl.Int64).alias("previous_move"))
    assert words_decide(pl.concat([noise, telling])) == {6}


def test_no_department_rule_is_conditioned_on_the_words_of_an_answer_every_need_gets():
    """Conversations whose need could not be read (it sat in an etiquette cluster) show the
    order number first: its own words would become "When the customer gives the order number,
    check the tracking". Marked spread over every need (`is_spread`), it conditions no rule."""
    unread = _seq("c9", "a19", "c3", "a11")
    sequences = {**{f"p{i}": PARCEL for i in range(8)}, **{f"c{i}": CANCEL for i in range(8)},
                 **{f"u{i}": unread for i in range(8)}}
    clusters = clusters_table(CUSTOMER, AGENT).with_columns(pl.col("cluster_id").is_in([9, 19]).alias("is_etiquette"))
    params = GuidelineParams(min_support=3)
    own_words = lambda ps: [p for p in ps if p.condition.cluster_id == 3 and not p.continues_need]
    assert own_words(propose_guidelines(assignments_from(sequences), clusters, params))
    spread = clusters.with_columns((pl.col("cluster_id") == 3).alias("is_spread"))
    proposals = propose_guidelines(assignments_from(sequences), spread, params)
    assert not own_words(proposals)
    assert {(p.condition.cluster_id, p.action.cluster_id) for p in proposals if p.continues_need} >= {(1, 11), (2, 12)}


def test_an_answer_every_need_gets_is_a_situation_of_the_etiquette_set():
    """Call style: after the caller's number the agents put them on a short hold, whatever the
    need. The number is no etiquette (no greeting, no spelling) but spread over every need
    (`is_spread`); answered by conversation management it is an etiquette rule, while in the
    need view the need's own step still follows it."""
    agent = {**AGENT, 18: (["hold"], ["Bear with me, I'll place you on a short hold.", "One moment, please hold."])}
    hold = lambda need, step: _seq("c9", "a19", need, "a10", "c3", "a18", step)
    sequences = {**{f"p{i}": hold("c1", "a11") for i in range(8)}, **{f"c{i}": hold("c2", "a12") for i in range(8)}}
    clusters = clusters_table(CUSTOMER, agent).with_columns(pl.col("cluster_id").is_in([9, 19, 18]).alias("is_etiquette"))
    pairs = lambda ps: {(p.condition.cluster_id, p.action.cluster_id) for p in ps if p.is_etiquette}
    assert (3, 18) not in pairs(propose_guidelines(assignments_from(sequences), clusters))
    spread = clusters.with_columns((pl.col("cluster_id") == 3).alias("is_spread"))
    proposals = propose_guidelines(assignments_from(sequences), spread)
    assert (3, 18) in pairs(proposals)
    hold_rule = next(p for p in proposals if p.is_etiquette and p.condition.cluster_id == 3)
    assert not hold_rule.ends_need
    assert {(p.condition.cluster_id, p.action.cluster_id) for p in proposals if p.continues_need} >= {(1, 11), (2, 12)}
