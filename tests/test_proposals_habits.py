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
