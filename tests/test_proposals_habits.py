"""One proposal per habit: department / state variants of one (condition, action) merge; others do not."""

from __future__ import annotations

from proposals_world import guideline_world

from guideminer.mining.guidelines import propose_guidelines
from guideminer.mining.habits import HabitParams, merge_habits


def test_variants_of_one_habit_merge_and_keep_scopes_and_evidence():
    world = guideline_world()
    proposals = propose_guidelines(world["assignments"], world["clusters"])
    first = proposals[0]
    variant = first.model_copy(update={"guideline_id": "g-variant", "department_id": "d-other",
                                       "scores": first.scores.model_copy(update={"support": 3})})
    merged = merge_habits([*proposals, variant], world["clusters"], HabitParams())
    (habit,) = [p for p in merged if p.guideline_id == first.guideline_id]
    assert habit.merged_from == ["g-variant"] and {s.department_id for s in habit.scopes} == {None, "d-other"}
    assert len(merged) <= len(proposals) and "g-variant" not in {p.guideline_id for p in merged}
    # similarity 1.0: only the same clusters merge, so distinct pairs stay distinct proposals
    pairs = {(p.condition.cluster_id, p.action.cluster_id) for p in proposals}
    exact = merge_habits([*proposals, variant], world["clusters"], HabitParams(condition_similarity=1.0,
                                                                               action_similarity=1.0))
    assert len(exact) == len(pairs)
    unmerged = merge_habits(proposals, world["clusters"], HabitParams(merge=False))
    assert [p.guideline_id for p in unmerged] == [p.guideline_id for p in proposals]


def test_etiquette_rules_worded_alike_merge_whatever_the_example_or_previous_move():
    world = guideline_world()
    proposals = propose_guidelines(world["assignments"], world["clusters"])
    first = proposals[0]
    other = next(p for p in proposals if p.condition.cluster_id != first.condition.cluster_id)
    closing = first.model_copy(update={"is_etiquette": True, "condition_text": "the customer agrees (e.g. \u201cok\u201d)"})
    variant = other.model_copy(update={
        "guideline_id": "g-worded-alike", "is_etiquette": True, "action": first.action,
        "condition_text": "the customer agrees (e.g. \u201calright that works\u201d) in reply to the agent's \u201cOne moment.\u201d",
        "scores": other.scores.model_copy(update={"support": 1})})
    strict = HabitParams(condition_similarity=1.0)  # the condition clusters differ: only the wording can merge them
    merged = merge_habits([closing, variant], world["clusters"], strict)
    assert len(merged) == 1 and merged[0].merged_from == ["g-worded-alike"]
    apart = merge_habits([closing, variant], world["clusters"], strict.model_copy(update={"merge_by_wording": False}))
    assert len(apart) == 2
    need = variant.model_copy(update={"is_etiquette": False})  # a need's "yes" after different moves stays apart
    assert len(merge_habits([closing.model_copy(update={"is_etiquette": False}), need], world["clusters"], strict)) == 2


def test_etiquette_rules_answered_alike_merge_and_need_rules_do_not():
    """Three sayings of one complaint answered by two phrasings of one escalation are one habit
    when both exchange profiles agree; unlike profiles, need rules or the test off keep them apart."""
    from collections import Counter

    import numpy as np
    import polars as pl

    from guideminer.mining.habits import exchange_profiles, habit_groups, total_variation

    world = guideline_world()
    base = propose_guidelines(world["assignments"], world["clusters"])[0]
    sayings = [base.model_copy(update={
        "guideline_id": f"g-{i}", "is_etiquette": True, "condition_text": f"the customer complains ({i})",
        "condition": base.condition.model_copy(update={"cluster_id": 10 + i}),
        "action": base.action.model_copy(update={"cluster_id": 20 + i % 2})}) for i in range(3)]
    centroids = {c: np.eye(8)[k] for k, c in enumerate([10, 11, 12, 20, 21])}  # all orthogonal
    strict = HabitParams(condition_similarity=1.0, action_similarity=1.0)
    answers = {10: Counter({20: 6, 21: 4}), 11: Counter({20: 5, 21: 5}), 12: Counter({20: 4, 21: 6})}
    answered = {20: Counter({10: 6, 11: 5, 12: 4}), 21: Counter({10: 4, 11: 5, 12: 6})}
    assert habit_groups(sayings, centroids, strict, (answers, answered)) == [[0, 1, 2]]
    assert len(habit_groups(sayings, centroids, strict.model_copy(update={"answered_alike": None}),
                            (answers, answered))) == 3
    unlike = {**answers, 12: Counter({99: 10})}  # the third saying gets another move: its own habit
    assert sorted(map(sorted, habit_groups(sayings, centroids, strict, (unlike, answered)))) == [[0, 1], [2]]
    needs = [s.model_copy(update={"is_etiquette": False}) for s in sayings]
    assert len(habit_groups(needs, centroids, strict, (answers, answered))) == 3
    assert total_variation(Counter({1: 2}), Counter()) == 1.0 and total_variation(Counter({1: 1}), Counter({1: 3})) == 0.0
    turns = pl.DataFrame({"conversation_id": ["a"] * 4 + ["b"] * 2, "turn_index": [0, 1, 2, 3, 0, 1],
                          "role": ["customer", "agent", "customer", "agent", "agent", "customer"],
                          "cluster_id": [10, 20, 11, 21, 20, 12], "is_noise": [False, False, False, True, False, False]})
    profiled_answers, profiled_answered = exchange_profiles(turns)
    assert profiled_answers == {10: Counter({20: 1}), 11: Counter({-1: 1})}  # b's customer turn is not answered
    assert profiled_answered == {20: Counter({10: 1}), -1: Counter({11: 1})}


def test_an_etiquette_habit_replies_with_a_phrasing_that_claims_no_outcome():
    from guideminer.mining.proposals import _replies_first

    world = guideline_world()
    proposal = propose_guidelines(world["assignments"], world["clusters"])[0]
    replies = ["I've escalated your case to a senior team member.", "I've escalated your case to a senior agent.",
               "Let me bring in a supervisor on this one."]
    etiquette = proposal.model_copy(update={"is_etiquette": True})
    assert _replies_first(etiquette, replies)[0] == "Let me bring in a supervisor on this one."
    assert _replies_first(proposal.model_copy(update={"is_etiquette": False}), replies)[0].startswith("I've escalated")


def test_one_condition_answered_by_two_parts_of_one_split_move_is_one_habit():
    """Parts of a move split by context (clusters.split_from) answering the same condition are
    one reply in two phrasings; without the split record, or after different conditions, they
    stay apart."""
    import polars as pl

    world = guideline_world()
    proposals = propose_guidelines(world["assignments"], world["clusters"])
    first = proposals[0]
    far = next(c for c in world["clusters"].filter(pl.col("role") == "agent")["cluster_id"].to_list()
               if c != first.action.cluster_id)
    part = first.model_copy(update={"guideline_id": "g-part", "action": first.action.model_copy(update={"cluster_id": far}),
                                    "scores": first.scores.model_copy(update={"support": 1})})
    strict = HabitParams(action_similarity=1.0)  # the two action clusters are different clusters
    assert len(merge_habits([first, part], world["clusters"], strict)) == 2
    split = world["clusters"].with_columns(
        pl.when(pl.col("cluster_id") == far).then(first.action.cluster_id).otherwise(None)
        .cast(pl.Int32).alias("split_from"))
    (habit,) = merge_habits([first, part], split, strict)
    assert habit.merged_from == ["g-part"]
    other_condition = next(p for p in proposals if p.condition.cluster_id != first.condition.cluster_id)
    moved = part.model_copy(update={"condition": other_condition.condition})
    assert len(merge_habits([first, moved], split, strict.model_copy(update={"condition_similarity": 1.0}))) == 2


def test_habits_by_complete_linkage_or_around_their_head_rule():
    """Two phrasings each near the best-supported rule's condition (cosine 0.6) but far from each
    other (-0.28), all answered by one move: complete linkage (the default) keeps the second
    phrasing as a rule of its own, grouping around the head makes one rule. A proposal near only
    a non-head member never joins: no chain."""
    import numpy as np

    from guideminer.mining.habits import habit_groups

    world = guideline_world()
    first = propose_guidelines(world["assignments"], world["clusters"])[0]
    vectors = {9001: [1.0, 0.0, 0.0], 9002: [0.6, 0.8, 0.0], 9003: [0.6, -0.8, 0.0], 9004: [0.0, 0.9, 0.44]}
    centroids = {cid: np.asarray(v) for cid, v in vectors.items()} | {first.action.cluster_id: np.ones(3)}

    def phrasing(cluster_id: int, support: int):
        return first.model_copy(update={"guideline_id": f"g-{cluster_id}",
                                        "condition": first.condition.model_copy(update={"cluster_id": cluster_id}),
                                        "scores": first.scores.model_copy(update={"support": support})})

    rules = [phrasing(9001, 30), phrasing(9002, 20), phrasing(9003, 10), phrasing(9004, 5)]
    assert habit_groups(rules, centroids, HabitParams()) == [[0, 1], [2], [3]]
    # 9004 is near 9002 (0.72), not the head
    assert habit_groups(rules, centroids, HabitParams(complete_linkage=False)) == [[0, 1, 2], [3]]
