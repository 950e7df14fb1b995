"""Guideline proposals on a planted world (tests/proposals_world.py): every count by hand."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from proposals_world import _seq, assignments_from, clusters_table, guideline_world

from guideminer.mining.guidelines import (
    GuidelineParams, candidate_table, occurrences_and_windows, propose_guidelines,
)

# Hand counts of the world: answered non-noise customer turns ("any" state) =
# A 20x3 + P 5x3 + B 20x3 + C 10x2 + D 10x3 + E 3x1 (its noise turn is no occurrence) = 188.
ALL_OCCURRENCES = 188
ORDER_NUMBER_AFTER_ANYTHING = 30  # a11 after c0 in A (20) and after the first c5 in D (10)


@pytest.fixture(scope="module")
def world() -> dict:
    return guideline_world()


@pytest.fixture(scope="module")
def proposals(world):
    return propose_guidelines(world["assignments"], world["clusters"])


def by_pair(proposals, condition: int, action: int):
    return [p for p in proposals if p.condition.cluster_id == condition and p.action.cluster_id == action]


def test_planted_guideline_recovered_with_hand_computed_scores(proposals):
    (damaged,) = by_pair(proposals, 0, 11)
    assert damaged.condition_state == "any"
    c = damaged.counts
    assert (c.condition_occurrences, c.followed_occurrences) == (25, 20)
    assert (c.condition_conversations, c.followed_conversations) == (25, 20)
    assert (c.all_occurrences, c.action_occurrences) == (ALL_OCCURRENCES, ORDER_NUMBER_AFTER_ANYTHING)
    assert c.next_move_counts == {11: 20, 12: 5}
    s = damaged.scores
    assert s.support == 20
    assert s.confidence == pytest.approx(0.8)
    assert s.base_rate == pytest.approx(30 / 188, abs=1e-6)
    assert s.lift == pytest.approx(0.8 / (30 / 188), abs=1e-5)
    entropy = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2))
    assert s.consistency == pytest.approx(1 - entropy / math.log(5), abs=1e-6)  # 5 agent clusters
    assert s.top_move_share == pytest.approx(0.8)
    assert damaged.action_text.startswith("ask the customer to share their order number and a photo (e.g. \u201c")
    assert damaged.condition_text.startswith("the customer says their package arrived damaged")
    assert "order number" in damaged.tags and "'" not in damaged.rule_text.split("(e.g.")[0]  # keywords are tags


def test_other_planted_guidelines_present(proposals):
    assert by_pair(proposals, 1, 12)  # refund -> refund info
    assert by_pair(proposals, 2, 10)  # hello -> greeting
    assert by_pair(proposals, 4, 13)  # thanks -> closing


def test_generic_move_suppressed_by_lift(world, proposals):
    assert not [p for p in proposals if p.action.cluster_id == 14]
    occurrences, windows = occurrences_and_windows(world["assignments"], 2)
    table = candidate_table(occurrences, windows, 5)
    row = table.filter((pl.col("condition_cluster") == 0) & (pl.col("state") == "any") & (pl.col("agent_cluster") == 14))
    assert row["confidence"].item() == 1.0  # it follows every damaged-item turn ...
    assert row["lift"].item() < GuidelineParams().min_lift  # ... and nearly everything else


def test_low_confidence_pair_filtered_until_threshold_lowered(world, proposals):
    assert not by_pair(proposals, 0, 12)  # lift 0.2 / (45 / 188) < 1
    lowered = propose_guidelines(world["assignments"], world["clusters"], GuidelineParams(min_confidence=0.15, min_lift=0.5))
    (pair,) = by_pair(lowered, 0, 12)
    assert pair.scores.confidence == pytest.approx(0.2)


@pytest.mark.parametrize("params", [GuidelineParams(), GuidelineParams(min_support=15, min_lift=3.0),
                                    GuidelineParams(min_confidence=0.9, min_consistency=0.9),
                                    GuidelineParams(action_window=1)])
def test_thresholds_respected(world, params):
    for p in propose_guidelines(world["assignments"], world["clusters"], params):
        assert p.scores.support >= params.min_support
        assert p.scores.confidence >= params.min_confidence
        assert p.scores.lift >= params.min_lift
        assert p.scores.consistency >= params.min_consistency
        assert p.action_window == params.action_window


def test_state_qualified_only_when_it_gains_confidence(proposals):
    (first,) = by_pair(proposals, 5, 11)
    (later,) = by_pair(proposals, 5, 12)
    assert (first.condition_state, later.condition_state) == ("first", "later")
    assert first.scores.confidence == 1.0 and first.counts.condition_occurrences == 10
    assert "opening the conversation" in first.condition_text
    assert all(p.condition_state == "any" for p in proposals if p.condition.cluster_id in (0, 1, 2))


def test_evidence_points_at_condition_and_action_turns(world, proposals):
    sequences = world["sequences"]
    for p in proposals:
        assert 1 <= len(p.evidence) <= 5
        assert len({e.conversation_id for e in p.evidence}) == len(p.evidence)
        for e in p.evidence:
            seq = sequences[e.conversation_id]
            assert seq[e.condition_turn_index][:2] == ("customer", p.condition.cluster_id)
            assert seq[e.action_turn_index][:2] == ("agent", p.action.cluster_id)
            assert 0 < e.action_turn_index - e.condition_turn_index <= 2
        assert p.condition.representative_texts and p.action.representative_texts


def test_ids_survive_renumbered_clusters(world, proposals):
    shift = {c: c + 100 for c in world["clusters"]["cluster_id"].to_list()}
    renumber = pl.col("cluster_id").replace_strict(shift, return_dtype=pl.Int32)
    again = propose_guidelines(world["assignments"].with_columns(renumber), world["clusters"].with_columns(renumber))
    assert sorted(p.guideline_id for p in again) == sorted(p.guideline_id for p in proposals)
    assert len({p.guideline_id for p in proposals}) == len(proposals)


def test_role_mismatch_is_an_error(world):
    bad = world["assignments"].with_columns(
        pl.when((pl.col("conversation_id") == "A000") & (pl.col("turn_index") == 4)).then(3)
        .otherwise(pl.col("cluster_id")).cast(pl.Int32).alias("cluster_id"))
    with pytest.raises(ValueError, match=r"A000#4 has role 'agent' but its cluster 3 is a 'customer'"):
        propose_guidelines(bad, world["clusters"])


def _yes_world():
    """"yes" (c6) means "play it" after a15 and "book it" after a17; a city (c7) gets a movie
    offer (a20) in the movies department and a table offer (a21) in the restaurants one."""
    customer = {6: (["yes", "please", "sure"], ["yes please", "sure"]),
                7: (["city", "san jose", "in"], ["in San Jose", "somewhere in Oakland"])}
    agent = {15: (["play", "shall", "movie"], ["Shall I play the movie?"]),
             16: (["playing", "started", "now"], ["Playing it now."]),
             17: (["book", "table", "shall"], ["Shall I book the table?"]),
             18: (["booked", "confirmed", "table"], ["Your table is booked."]),
             20: (["movie", "showing", "how about"], ["How about Dune, showing at 7?"]),
             21: (["restaurant", "table", "how about"], ["How about Nopa, a table at 7?"])}
    conversations, routed = {}, []
    for i in range(12):
        movies = i % 2 == 0
        offer, ask, done = (20, 15, 16) if movies else (21, 17, 18)
        conversations[f"y{i:02d}"] = _seq("c7", f"a{offer}", "c6", f"a{ask}", "c6", f"a{done}")
        routed.append({"conversation_id": f"y{i:02d}", "department_id": "d-movies" if movies else "d-food",
                       "confidence": 1.0})
    return assignments_from(conversations), clusters_table(customer, agent), pl.DataFrame(routed)


def test_after_state_and_departments_separate_what_words_alone_cannot():
    assignments, clusters, routed = _yes_world()
    params = GuidelineParams(min_lift=1.0)
    scoped = propose_guidelines(assignments, clusters, params, routed=routed)
    found = {(p.department_id, p.condition.cluster_id, p.condition_state,
              p.after_action.cluster_id if p.after_action else None, p.action.cluster_id) for p in scoped}
    assert ("d-movies", 7, "first", None, 20) in found or ("d-movies", 7, "any", None, 20) in found
    assert ("d-movies", 6, "after", 15, 16) in found and ("d-food", 6, "after", 17, 18) in found
    assert not [f for f in found if f[0] == "d-movies" and f[4] in (17, 18, 21)]  # nothing crosses over
    (play,) = [p for p in scoped if p.action.cluster_id == 16]
    assert play.condition_scope == "department" and play.scores.confidence == 1.0
    assert "in reply to the agent's \u201c" in play.condition_text
    unscoped = propose_guidelines(assignments, clusters, params)
    (city_movie,) = [p for p in unscoped if (p.condition.cluster_id, p.action.cluster_id) == (7, 20)]
    assert city_movie.scores.confidence == pytest.approx(0.5) and city_movie.condition_scope == "all"
    assert len({p.guideline_id for p in scoped}) == len(scoped)


def test_support_share_scales_the_floor_with_the_corpus(world, proposals):
    occurrences, _ = occurrences_and_windows(world["assignments"], 2)
    in_scope = occurrences["conversation_id"].n_unique()
    strict = propose_guidelines(world["assignments"], world["clusters"], GuidelineParams(min_support_share=0.25))
    assert strict and len(strict) < len(proposals)
    assert all(p.scores.support >= 0.25 * in_scope for p in strict)
    assert {p.guideline_id for p in strict} <= {p.guideline_id for p in proposals}


def test_etiquette_set_is_decided_by_the_condition():
    """A need answered by a closing move is no etiquette rule; a greeting answered by the
    greeting, and thanks answered by goodbye, are the global etiquette set. The old rule
    (etiquette when either side is an etiquette cluster) put "order question -> have a great
    day" in it. Department rules see past an etiquette detour to the need's own answer."""
    templates = {"G": (20, _seq("c2", "a10", "c0", "a11", "c4", "a13"), None),
                 "X": (15, _seq("c2", "a10", "c5", "a13"), None),
                 "R": (12, _seq("c1", "a14", "c4", "a12"), None)}
    world = guideline_world(templates)
    etiquette = {2, 4, 10, 13, 14}  # hi, thanks; greeting, goodbye, "anything else?"
    clusters = world["clusters"].with_columns(pl.col("cluster_id").is_in(sorted(etiquette)).alias("is_etiquette"))
    proposals = propose_guidelines(world["assignments"], clusters, GuidelineParams(min_lift=1.0))  # two needs only
    assert by_pair(proposals, 5, 13) == []  # "question about my order" -> "have a great day": no rule at all
    (greeting,) = by_pair(proposals, 2, 10)
    (thanks,) = by_pair(proposals, 4, 13)
    assert greeting.is_etiquette and thanks.is_etiquette
    (need,) = by_pair(proposals, 0, 11)
    (refund,) = by_pair(proposals, 1, 12)  # past "anything else?" and "thanks" to the refund answer
    assert not need.is_etiquette and not refund.is_etiquette
    assert all(p.is_etiquette == (p.condition.cluster_id in etiquette) for p in proposals)


def test_base_rate_over_the_corpus_keeps_a_one_need_department_habit():
    """Department A holds one need (damaged -> order number, 20 conversations): within A that
    move follows every turn (base rate 1, lift 1). Over the corpus it follows 20 of 50 answered
    turns, so its lift is 1 / 0.4 = 2.5 and the habit stays; a move that follows everything
    everywhere would still have lift ~1."""
    templates = {"A": (20, _seq("c0", "a11"), None), "B": (20, _seq("c1", "a12"), None),
                 "C": (10, _seq("c5", "a10"), None)}
    world = guideline_world(templates)
    routed = pl.DataFrame({"conversation_id": sorted(world["sequences"]), "confidence": 1.0}).with_columns(
        pl.when(pl.col("conversation_id").str.starts_with("A")).then(pl.lit("d-a")).otherwise(pl.lit("d-b"))
        .alias("department_id"))
    corpus = propose_guidelines(world["assignments"], world["clusters"], routed=routed)
    (damaged,) = by_pair(corpus, 0, 11)
    assert damaged.department_id == "d-a" and damaged.scores.lift == pytest.approx(2.5)
    assert (damaged.counts.all_occurrences, damaged.counts.action_occurrences) == (50, 20)
    within = propose_guidelines(world["assignments"], world["clusters"], GuidelineParams(corpus_base_rate=False),
                                routed=routed)
    assert by_pair(within, 0, 11) == []
