"""A bounded number of verifier calls per turn, spent on the guidelines the scorer is least sure of."""

from __future__ import annotations

import pytest
from engine_fakes import FakeVerifier, FixedScorer

from guideminer.engine import Guideline, MatchingPolicy, Message
from guideminer.engine.matching import evaluate_conditions

CONVERSATION = [Message(role="customer", text="hello", turn=1)]
SCORES = {"sure_yes": 0.9, "edge_low": 0.32, "middle": 0.51, "near_middle": 0.45, "edge_high": 0.68, "sure_no": 0.1}
GUIDELINES = [Guideline(id=gid, condition=gid, action="act") for gid in SCORES]


def decide(max_calls: int | None) -> tuple[dict, FakeVerifier]:
    verifier = FakeVerifier({gid: True for gid in SCORES})
    decisions = evaluate_conditions(CONVERSATION, GUIDELINES, FixedScorer(SCORES), verifier,
                                    MatchingPolicy(max_verifier_calls=max_calls))
    return {d.guideline_id: d for d in decisions}, verifier


def test_budget_goes_to_the_least_certain_and_the_rest_say_why() -> None:
    decisions, verifier = decide(2)
    assert verifier.asked == ["middle", "near_middle"]  # |score - 0.5| smallest first, spec order kept
    assert decisions["middle"].decided_by == "verifier" and decisions["middle"].condition_holds
    for gid in ("edge_low", "edge_high"):
        assert decisions[gid].decided_by == "default" and not decisions[gid].condition_holds
        assert "verifier budget of 2 calls" in decisions[gid].reasons[0]
    assert decisions["sure_yes"].decided_by == decisions["sure_no"].decided_by == "scorer"


def test_no_budget_verifies_every_unsure_guideline_and_zero_none() -> None:
    assert decide(None)[1].asked == ["edge_low", "middle", "near_middle", "edge_high"]
    decisions, verifier = decide(0)
    assert verifier.asked == [] and all(d.decided_by in ("scorer", "default") for d in decisions.values())


def test_negative_budget_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_verifier_calls"):
        MatchingPolicy(max_verifier_calls=-1)
