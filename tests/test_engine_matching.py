"""Guideline matching: several guidelines per turn, the scorer/verifier cascade, re-application."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
    reply = engine.respond(Session(), "I want to return my jacket and does the warranty cover the broken zipper?")  # one clause: scored whole, unsure
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


def _best_match_engine(scores, floor, verifier=None):
    spec = one_department_spec([Guideline(id="a", condition="ca", action="do a"),
                                Guideline(id="b", condition="cb", action="do b")])
    settings = EngineSettings(matching=MatchingPolicy(best_match_floor=floor))
    return Engine(spec, router=FixedRouter("main"), scorer=FixedScorer(scores), composer=FreeTextComposer(),
                  verifier=verifier, settings=settings)


def test_best_match_holds_only_the_top_unsure_guideline_above_the_floor():
    reply = _best_match_engine({"a": 0.5, "b": 0.45}, floor=0.4).respond(Session(), "something")
    best, runner_up = reply.trace.decision("a"), reply.trace.decision("b")
    assert (best.decided_by, best.condition_holds, best.status) == ("best_match", True, APPLIED)
    assert any("best match" in r for r in best.reasons)
    assert (runner_up.decided_by, runner_up.condition_holds) == ("default", False)


def test_best_match_below_the_floor_or_switched_off_holds_nothing():
    for scores, floor in (({"a": 0.35, "b": 0.32}, 0.4), ({"a": 0.6, "b": 0.1}, None)):
        reply = _best_match_engine(scores, floor).respond(Session(), "something")
        assert not any(d.condition_holds for d in reply.trace.guidelines), (scores, floor)


def test_best_match_never_overrides_a_verifier_no():
    reply = _best_match_engine({"a": 0.5, "b": 0.1}, 0.4, verifier=FakeVerifier({"a": False})).respond(Session(), "x")
    decision = reply.trace.decision("a")
    assert (decision.decided_by, decision.condition_holds) == ("verifier", False)


def test_best_match_floor_must_not_exceed_accept():
    with pytest.raises(ValueError, match="best_match_floor"):
        MatchingPolicy(accept=0.7, best_match_floor=0.8)


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


def _applied(gid, fresh, segment=None, score=None):
    from guideminer.engine.trace import GuidelineDecision

    return GuidelineDecision(guideline_id=gid, actionable=True, score=score if score is not None else fresh,
                             fresh_score=fresh, decided_by="scorer", model_id="m", condition_holds=True,
                             status=APPLIED, segment=segment)


def test_one_move_per_topic_keeps_the_best_match_of_the_latest_message_per_lane_and_sentence():
    from guideminer.engine import Criticality
    from guideminer.engine.moves import one_move_per_situation

    guidelines = {g.id: g for g in (
        Guideline(id="stale", condition="wants events", action="ask the city", priority=9),
        Guideline(id="venue", condition="asks where the venue is", action="give the address"),
        Guideline(id="hello", condition="greets", action="greet back"),
        Guideline(id="legal", condition="mentions a lawsuit", action="hand over to legal", criticality=Criticality.high),
        Guideline(id="refund", condition="asks for a refund", action="explain refunds"))}
    decisions = [_applied("stale", 0.6, score=1.0), _applied("venue", 0.9), _applied("hello", 0.8),
                 _applied("legal", 0.75), _applied("refund", 0.7, segment="And I want a refund.")]
    lanes = {"hello": "etiquette"}
    out = {d.guideline_id: d for d in one_move_per_situation(decisions, guidelines, lanes=lanes, moves_per_topic=1)}
    assert out["venue"].status is APPLIED  # best match of the latest message, not the windowed score
    assert out["stale"].status is GuidelineStatus.deferred and "venue is the move" in out["stale"].reasons[-1]
    assert out["hello"].status is APPLIED  # etiquette is its own lane
    assert out["legal"].status is APPLIED  # high criticality is never crowded out
    assert out["refund"].status is APPLIED  # another sentence is another topic
    uncapped = one_move_per_situation(decisions, guidelines, lanes=lanes)
    assert all(d.status is APPLIED for d in uncapped)


def test_a_move_that_can_only_claim_an_outcome_ranks_after_every_other_move_for_the_topic():
    from guideminer.engine import AgentSpec
    from guideminer.engine.compose import unbacked_moves
    from guideminer.engine.moves import one_move_per_situation

    data = retail_spec().model_dump()
    orders = next(d for d in data["departments"] if d["id"] == "orders")
    for canned in orders["canned_responses"]:
        canned["needs_tool"] = canned["id"] in {"warranty_two_years", "order_status_reply"}
    spec = AgentSpec.model_validate(data)
    assert "warranty_question" in unbacked_moves(spec)  # claims only, no tool
    assert "order_status" not in unbacked_moves(spec)  # claims, but its tool can back them
    guidelines = {g.id: g for g in spec.department("orders").guidelines}
    decisions = [_applied("warranty_question", 0.95), _applied("return_request", 0.9)]
    out = {d.guideline_id: d for d in one_move_per_situation(decisions, guidelines, moves_per_topic=1,
                                                               unbacked=unbacked_moves(spec))}
    assert out["return_request"].status is APPLIED and out["warranty_question"].status is GuidelineStatus.deferred
    # another situation's sayable move matching clearly worse is no answer: the unbacked move
    # holds (withheld at composition: the honest hand-off, or said once its tool is bound)
    weak = [_applied("warranty_question", 0.95), _applied("return_request", 0.6)]
    held = {d.guideline_id: d for d in one_move_per_situation(weak, guidelines, moves_per_topic=1,
                                                                unbacked=unbacked_moves(spec))}
    assert held["warranty_question"].status is APPLIED and held["return_request"].status is GuidelineStatus.deferred
    decisions = weak
    # the move the agent just made, raised again by the customer's answer, ranks after the unbacked one:
    # asking for the order number once more is a loop; the unbacked move's hand-off is honest
    again = {d.guideline_id: d for d in one_move_per_situation(decisions, guidelines, moves_per_topic=1,
                                                                 unbacked=unbacked_moves(spec),
                                                                 just_made=frozenset({"return_request"}))}
    assert again["warranty_question"].status is APPLIED and again["return_request"].status is GuidelineStatus.deferred


def test_a_step_placed_by_the_previous_move_is_not_ranked_last_for_being_unbacked():
    """Whole demo, before: "its jane@example.com" after "could you confirm the email?" in a
    password reset: the reset-link step (a claim, no tool) ranked after a weaker word match
    asking for the email again, and the closing answered. Placed steps keep their rank."""
    from guideminer.engine.moves import one_move_per_situation, placed_step

    guidelines = {g.id: g for g in (
        Guideline(id="send_link", condition="forgot their password, and then answers the agent's email question",
                  action="say the reset link is on its way", continues_need=True,
                  after_examples=("Could you confirm the email address on the account?",)),
        Guideline(id="ask_email", condition="forgot their password", action="ask for the email"),
        Guideline(id="claim_only", condition="forgot their password", action="say the password was reset"))}
    assert placed_step(guidelines["send_link"]) and not placed_step(guidelines["ask_email"])
    unbacked = frozenset({"send_link", "claim_only"})
    decisions = [_applied("send_link", None, score=1.0), _applied("ask_email", 0.79)]
    out = {d.guideline_id: d for d in one_move_per_situation(decisions, guidelines, moves_per_topic=1, unbacked=unbacked)}
    assert out["send_link"].status is APPLIED and out["ask_email"].status is GuidelineStatus.deferred
    # an unbacked move no previous move placed still ranks after the backed one, however well it matched
    decisions = [_applied("claim_only", 0.95), _applied("ask_email", 0.79)]
    out = {d.guideline_id: d for d in one_move_per_situation(decisions, guidelines, moves_per_topic=1, unbacked=unbacked)}
    assert out["ask_email"].status is APPLIED and out["claim_only"].status is GuidelineStatus.deferred


def test_moves_of_two_situations_that_both_clearly_hold_rank_by_how_close_the_message_is():
    """Whole demo, before: "the 30 days are up but I want to return the toaster" got the return
    policy, not the late-return store credit: both scores were capped at 1.00 and the policy's
    priority won. Across situations the uncapped strength ranks (closeness); within a situation,
    and where a move has no strength (a need's next step scored on context), priority does."""
    from guideminer.engine.moves import one_move_per_situation

    guidelines = {g.id: g for g in (
        Guideline(id="policy", condition="wants to return an item", action="explain the return policy", priority=2),
        Guideline(id="late", condition="wants to return an item after 30 days", action="offer store credit", priority=1),
        Guideline(id="next_step", condition="answers the photo question", action="offer a replacement",
                  continues_need=True, priority=3))}

    def strong(gid, strength):
        return _applied(gid, 1.0).model_copy(update={"fresh_strength": strength})

    out = {d.guideline_id: d for d in one_move_per_situation(
        [strong("policy", 1.03), strong("late", 1.29)], guidelines, moves_per_topic=1)}
    assert out["late"].status is APPLIED and out["policy"].status is GuidelineStatus.deferred
    out = {d.guideline_id: d for d in one_move_per_situation(
        [strong("policy", 1.57), strong("late", 1.30)], guidelines, moves_per_topic=1)}
    assert out["policy"].status is APPLIED
    # a move without a strength in the topic: the capped scores tie, priority decides
    context_only = _applied("next_step", None, score=1.0)
    out = {d.guideline_id: d for d in one_move_per_situation(
        [strong("late", 1.4), context_only], guidelines, moves_per_topic=1)}
    assert out["next_step"].status is APPLIED and out["late"].status is GuidelineStatus.deferred


def test_the_uncapped_strength_is_the_calibration_line_without_its_cap():
    from guideminer.engine.embedding import LinearCalibration

    calibration = LinearCalibration(low=0.2, high=0.7)
    cosines = np.array([0.1, 0.45, 0.7, 0.95])
    assert calibration(cosines).tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0])
    assert calibration.uncapped(cosines).tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5])


def test_a_near_duplicate_of_the_move_just_made_counts_as_just_made():
    """Two rules of one agent move (`Guideline.move`): right after one was said, the other says
    the same again, so it ranks as the move just made (a loop), not as a new answer."""
    from guideminer.engine import AgentSpec, Session
    from guideminer.engine.session import AppliedAction

    from engine_fakes import engine_fixture

    data = retail_spec().model_dump()
    orders = next(d for d in data["departments"] if d["id"] == "orders")
    first, second, other = orders["guidelines"][:3]
    first["move"] = second["move"] = "m-ask-order-number"
    engine = engine_fixture(AgentSpec.model_validate(data))
    session = Session(applied=[AppliedAction(guideline_id=first["id"], turn=1, department_id="orders")])
    assert engine._just_made(session, 2) == frozenset({first["id"], second["id"]})
    assert other["id"] not in engine._just_made(session, 2)
    assert engine._just_made(session, 3) == frozenset()  # only the previous reply's moves


def test_an_ending_and_a_department_move_never_answer_one_message_together():
    from guideminer.engine import Guideline
    from guideminer.engine.moves import endings_yield

    guidelines = {
        "end": Guideline(id="end", condition="answers a last step", action="close", ends_flow=True,
                         after_examples=("Replacement or refund?",)),
        "step": Guideline(id="step", condition="damaged item", action="arrange it", after_examples=("Photo?",)),
        "words": Guideline(id="words", condition="a new need", action="ask for the order number"),
        "other": Guideline(id="other", condition="warranty", action="explain the warranty"),
    }
    lanes = {"end": "etiquette", "step": "department", "words": "department", "other": "department"}
    status = lambda out: {d.guideline_id: d.status for d in out}  # noqa: E731
    # a department step placed by the previous move: the flow goes on, the ending waits
    out = status(endings_yield([_applied("end", 0.9), _applied("step", 0.8)], guidelines, lanes))
    assert out == {"end": GuidelineStatus.deferred, "step": APPLIED}
    # only a word match in the same sentence: the answer to the last step is no new need
    out = status(endings_yield([_applied("end", 0.9), _applied("words", 0.8), _applied("other", 0.8, "warranty?")],
                               guidelines, lanes))
    assert out == {"end": APPLIED, "words": GuidelineStatus.deferred, "other": APPLIED}  # another sentence stays
    # a department move matching the message better than the ending: this was not the need's last step
    out = status(endings_yield([_applied("end", 0.76), _applied("words", 1.0)], guidelines, lanes))
    assert out == {"end": GuidelineStatus.deferred, "words": APPLIED}
    alone = [_applied("words", 0.8)]
    assert endings_yield(alone, guidelines, lanes) == alone


def test_filler_phrases_are_read_away_at_both_ends_but_never_down_to_one_word():
    from guideminer.engine.embedding import RewritingEmbedder

    class Echo:
        model_id, dimension = "echo", 1

    reading = RewritingEmbedder(Echo(), [], ["yes so basically", "im calling because", "help me with that", "can you"])
    assert reading.rewrite("Yes, so basically im calling because my parcel never arrived, can you help me with that?") \
        == "my parcel never arrived"
    assert reading.rewrite("yes so basically hi") == "yes so basically hi"  # one word would be left
    assert reading.rewrite("I can you know") == "I can you know"  # only at the ends


def test_a_mined_filler_matches_with_or_without_apostrophes():
    from guideminer.engine.embedding import FillerPhrases

    fillers = FillerPhrases(["and i wasnt sure who to ask so here i am"])
    assert fillers.strip("My parcel never came, and I wasn't sure who to ask, so here I am!") == "My parcel never came"
    assert fillers.strip("my parcel never came and i wasnt sure who to ask so here i am") == "my parcel never came"
