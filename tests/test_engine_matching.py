"""Guideline matching: several guidelines per turn, the scorer/verifier cascade, re-application."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_fakes import (
    FAKE_CALIBRATION,
    FakeVerifier,
    FixedRouter,
    FixedScorer,
    FreeTextComposer,
    HashedBagOfWordsEmbedder,
    engine_fixture,
    one_department_spec,
    retail_spec,
)

from guideminer.engine import (
    EmbeddingConditionScorer,
    EmbeddingRouter,
    Engine,
    EngineSettings,
    Guideline,
    GuidelineStatus,
    MatchingPolicy,
    MemoizingEmbedder,
    Message,
    Session,
)

APPLIED = GuidelineStatus.applied


def test_embedding_scorer_ranks_related_conditions_higher():
    spec = retail_spec()
    scorer = EmbeddingConditionScorer(HashedBagOfWordsEmbedder(), spec, calibration=FAKE_CALIBRATION)
    conversation = [Message(role="customer", text="my parcel delivery has not arrived, where is the order?", turn=1)]
    scores = scorer.score(conversation, spec.department("orders").guidelines)
    assert scores["order_status"].score > 0.7
    assert scores["order_status"].score > max(s.score for g, s in scores.items() if g != "order_status")
    assert all(0.0 <= s.score <= 1.0 for s in scores.values())


def test_embedding_scorer_embeds_conditions_once_and_only_the_new_message_per_turn():
    spec = retail_spec()
    embedder = HashedBagOfWordsEmbedder()
    scorer = EmbeddingConditionScorer(embedder, spec, calibration=FAKE_CALIBRATION)
    assert len(embedder.calls) == 1  # every condition of the spec, once
    conversation = [Message(role="customer", text="I want to return an item", turn=1)]
    first = scorer.score(conversation, spec.department("orders").guidelines)
    conversation += [
        Message(role="agent", text="Sure, the return policy is 30 days", turn=1),
        Message(role="customer", text="ok thanks", turn=2),
    ]
    for _ in range(3):
        scores = scorer.score(conversation, spec.department("orders").guidelines)
    assert embedder.calls[1:] == [["I want to return an item"], ["ok thanks"]]  # agent text left out
    assert first["return_request"].score == first["return_request"].fresh == 1.0
    assert scores["return_request"].fresh == 0.0
    # the window (mean of both customer messages) still matches, discounted by window_weight
    assert 0.7 < scores["return_request"].score <= scorer.window_weight + 1e-6


def test_mixed_topic_message_applies_return_and_warranty_in_one_reply():
    engine = engine_fixture()
    session = Session()
    reply = engine.respond(session, "I want to return an item. Does the warranty cover a broken product?")
    assert reply.trace.ids_with_status(APPLIED) == ["return_request", "warranty_question"]
    assert reply.trace.decision("order_status").status is GuidelineStatus.inactive
    assert {d.guideline_id for d in reply.trace.guidelines} == {
        g.id for g in engine.spec.department("orders").guidelines
    }  # every guideline of the department is considered
    request = engine.composer.requests[-1]
    assert [g.id for g in request.instructions] == ["return_request", "warranty_question"]
    assert reply.text == "FREE TEXT [return_request,warranty_question]"


def test_unsure_guideline_goes_to_the_verifier_and_trace_names_the_model():
    verifier = FakeVerifier({"return_request": True})
    engine = engine_fixture(verifier=verifier)
    reply = engine.respond(Session(), "I want to return my jacket, and does the warranty cover the broken zipper?")
    returned = reply.trace.decision("return_request")
    assert 0.3 < returned.score < 0.7
    assert (returned.decided_by, returned.model_id, returned.status) == ("verifier", "fake-slm-verifier", APPLIED)
    assert "verifier said yes" in returned.reasons[0]
    warranty = reply.trace.decision("warranty_question")
    assert (warranty.decided_by, warranty.model_id) == ("scorer", engine.scorer.model_id)
    assert verifier.asked == ["return_request"]  # confident decisions never reach the verifier


@pytest.mark.parametrize("default", [False, True])
def test_unsure_without_verifier_takes_the_documented_default(default):
    spec = one_department_spec([Guideline(id="g", condition="c", action="a")])
    settings = EngineSettings(matching=MatchingPolicy(unsure_default=default))
    engine = Engine(spec, router=FixedRouter("main"), scorer=FixedScorer({"g": 0.5}),
                    composer=FreeTextComposer(), settings=settings)
    decision = engine.respond(Session(), "hi").trace.decision("g")
    assert (decision.decided_by, decision.model_id, decision.condition_holds) == (
        "default", "policy:unsure_default", default)


def _scripted_engine(**policy):
    spec = one_department_spec([
        Guideline(id="refund", condition="customer asks for a refund", action="explain refunds"),
        Guideline(id="vip", condition="customer is a VIP"),  # observation
    ])
    scorer = FixedScorer()
    settings = EngineSettings(matching=MatchingPolicy(**policy))
    engine = Engine(spec, router=FixedRouter("main"), scorer=scorer, composer=FreeTextComposer(), settings=settings)
    return engine, scorer


def test_applied_action_is_not_reapplied_while_its_condition_persists():
    engine, scorer = _scripted_engine()
    session = Session()
    scorer.scores, scorer.fresh = {"refund": 0.9, "vip": 0.9}, {"refund": 0.9}
    first = engine.respond(session, "I want a refund")
    assert first.trace.decision("refund").status is APPLIED
    assert first.trace.decision("vip").status is GuidelineStatus.observed
    scorer.scores, scorer.fresh = {"refund": 0.75, "vip": 0.9}, {"refund": 0.2}
    second = engine.respond(session, "and how long does it take?")
    decision = second.trace.decision("refund")
    assert decision.status is GuidelineStatus.already_applied
    assert "already applied at turn 1" in decision.reasons[-1]
    assert engine.composer.requests[-1].instructions == ()
    assert [a.guideline_id for a in session.applied] == ["refund"]


def test_action_is_reapplied_when_its_condition_arises_anew():
    engine, scorer = _scripted_engine()
    session = Session()
    for turn_scores in ({"refund": 0.9}, {"refund": 0.1}, {"refund": 0.8}):
        scorer.scores = scorer.fresh = turn_scores
        reply = engine.respond(session, "...")
    decision = reply.trace.decision("refund")
    assert decision.status is APPLIED
    assert "condition arose anew" in decision.reasons[-1]
    assert [(a.guideline_id, a.turn) for a in session.applied] == [("refund", 1), ("refund", 3)]


def test_action_is_reapplied_when_the_new_message_alone_matches_strongly():
    engine, scorer = _scripted_engine(reapply_fresh=0.85)
    session = Session()
    scorer.scores = scorer.fresh = {"refund": 0.9}
    engine.respond(session, "refund please")
    scorer.scores, scorer.fresh = {"refund": 0.95}, {"refund": 0.95}
    decision = engine.respond(session, "I want a refund for the second order too").trace.decision("refund")
    assert decision.status is APPLIED
    assert "latest message alone scores 0.95 >= reapply 0.85" in decision.reasons[-1]


def test_invalid_thresholds_are_rejected():
    with pytest.raises(ValueError, match="reject < accept"):
        MatchingPolicy(accept=0.3, reject=0.5)


def test_router_and_scorer_sharing_a_memoizing_embedder_embed_each_message_once():
    embedder = HashedBagOfWordsEmbedder()
    shared = MemoizingEmbedder(embedder, max_entries=8)
    spec = retail_spec()
    engine = engine_fixture(
        spec,
        router=EmbeddingRouter(shared, spec, calibration=FAKE_CALIBRATION),
        scorer=EmbeddingConditionScorer(shared, spec, calibration=FAKE_CALIBRATION),
    )
    session = Session()
    engine.respond(session, "I want to return an item")
    engine.respond(session, "Does the warranty cover a broken product?")
    per_turn = [call for call in embedder.calls if len(call) == 1]
    assert per_turn == [["I want to return an item"], ["Does the warranty cover a broken product?"]]
