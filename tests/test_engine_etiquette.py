"""No dead ends: etiquette before and after routing, unknown needs, several topics in one turn.

Specs are built in code and scored by the hashed bag-of-words fake embedder, so every decision
below comes from the engine's rules on real (fake-embedded) similarities, not scripted scores.
"""

from __future__ import annotations

import pytest

from engine_fakes import FAKE_CALIBRATION, FixedRouter, FixedScorer, FreeTextComposer, HashedBagOfWordsEmbedder

from guideminer.engine import (
    AgentSpec,
    EmbeddingConditionScorer,
    EmbeddingRouter,
    Engine,
    Guideline,
    GuidelineStatus,
    Session,
)
from guideminer.engine.matching import message_segments
from guideminer.engine.moves import situation_groups
from guideminer.engine.spec import DEFAULT_CLARIFY, DEFAULT_FALLBACK
from guideminer.offline_runtime.template_composer import TemplateComposer

APPLIED = GuidelineStatus.applied
RETURN_TEXT = "Sorry it didn't work out! I've emailed you a prepaid return label."
WARRANTY_TEXT = "Replacements carry the same two-year warranty as the original."
GREETING_TEXT = "Hello and welcome to Larkfield!"


def _department(id_, name, guidelines, canned, routing):
    return {"id": id_, "name": name, "description": name, "routing_examples": routing,
            "guidelines": guidelines, "canned_responses": canned}


def shop_spec(with_etiquette: bool = True, mode: str = "canned_strict") -> AgentSpec:
    returns = _department(
        "returns", "Returns", [
            {"id": "g_return", "condition": "the customer wants to return an item",
             "examples": ["I want to return my laptop", "how do I send back the kettle"], "action": "send a return label",
             "priority": 10},
            {"id": "g_return_refund", "condition": "the customer wants to return an item",
             "examples": ["I want to return my laptop"], "action": "explain when the refund arrives"},
        ], [{"id": "c_return", "template": RETURN_TEXT, "guideline_ids": ["g_return"]},
            {"id": "c_refund", "template": "The refund reaches your card within five days.", "guideline_ids": ["g_return_refund"]}],
        ["I want to return my laptop", "send back the kettle"])
    tech = _department(
        "tech", "Tech support", [
            {"id": "g_warranty", "condition": "the customer asks about the warranty",
             "examples": ["what warranty do replacements have", "is the warranty still valid"], "action": "explain the warranty"},
        ], [{"id": "c_warranty", "template": WARRANTY_TEXT, "guideline_ids": ["g_warranty"]}],
        ["what warranty do replacements have", "my blender is broken, warranty?"])
    data = {"name": "shop", "composition_mode": mode, "departments": [returns, tech]}
    if with_etiquette:
        data["etiquette"] = _department(
            "etiquette", "Etiquette", [
                {"id": "e_greet", "condition": "the customer greets", "examples": ["hi", "hello there", "good morning"],
                 "action": "greet back"},
            ], [{"id": "c_greet", "template": GREETING_TEXT, "guideline_ids": ["e_greet"]}], [])
    return AgentSpec.model_validate(data)


def shop_engine(spec: AgentSpec | None = None) -> Engine:
    spec = spec or shop_spec()
    embedder = HashedBagOfWordsEmbedder()
    return Engine(spec, router=EmbeddingRouter(embedder, spec, calibration=FAKE_CALIBRATION),
                  scorer=EmbeddingConditionScorer(embedder, spec, calibration=FAKE_CALIBRATION),
                  composer=TemplateComposer())


def test_greeting_before_any_need_gets_the_etiquette_reply_and_routing_waits():
    engine, session = shop_engine(), Session()
    hello = engine.respond(session, "Hello there, good morning")
    # the greeting asks nothing, and routing waits for a need: the receptionist's question invites it
    assert hello.text == f"{GREETING_TEXT} How can I help you today?" and hello.trace.routing.department_id is None
    assert hello.trace.applied_guideline_ids == ["e_greet"] and session.department_id is None
    need = engine.respond(session, "I want to return my laptop")
    assert need.trace.routing.method == "router" and session.department_id == "returns"
    assert need.text == RETURN_TEXT


def test_without_etiquette_a_greeting_gets_the_receptionist_question_then_a_hand_off():
    engine, session = shop_engine(shop_spec(with_etiquette=False)), Session()
    replies = [engine.respond(session, "Hello there") for _ in range(3)]
    assert [r.text for r in replies] == [DEFAULT_CLARIFY, DEFAULT_CLARIFY, DEFAULT_FALLBACK]
    assert "handing off" in replies[-1].trace.composition.notes[0]
    assert all(r.trace.routing.department_id is None for r in replies)


def test_a_first_message_of_only_greeting_words_waits_whatever_the_router_scores():
    """The router here is sure of "returns" for any text (as "Hi" scored 0.53 against department
    examples starting "hi ..." on the whole demo); words of the greeting-only openings hold it."""
    data = shop_spec().model_dump()
    data["etiquette"]["guidelines"][0].update(position="conversation_start", examples=["Hi there", "hello?", "Good morning"])
    spec = AgentSpec.model_validate(data)
    scorer = FixedScorer()
    engine = Engine(spec, router=FixedRouter("returns", 0.9), scorer=scorer, composer=FreeTextComposer())
    session = Session()
    hello = engine.respond(session, "Hi!")
    assert hello.trace.routing.method == "etiquette_wait" and session.department_id is None
    assert "greeting-only openings" in hello.trace.routing.reason
    scorer.scores = scorer.fresh = {"g_return": 0.9}
    need = engine.respond(session, "hi, I want to return my laptop")
    assert need.trace.routing.method == "router" and session.department_id == "returns"


def test_a_routed_department_where_nothing_holds_is_an_unknown_need_not_a_fallback():
    spec = shop_spec(with_etiquette=False)
    engine = Engine(spec, router=FixedRouter("returns", 0.9), scorer=FixedScorer(), composer=FreeTextComposer())
    session = Session()
    reply = engine.respond(session, "something odd")
    assert reply.text == DEFAULT_CLARIFY and session.department_id is None
    assert "unknown need" in reply.trace.routing.reason
    assert {d.guideline_id for d in reply.trace.guidelines} == {"g_return", "g_return_refund"}  # on record


def test_etiquette_is_evaluated_in_every_department_turn():
    engine, session = shop_engine(), Session()
    reply = engine.respond(session, "Good morning. I want to return my laptop")
    assert reply.trace.routing.department_id == "returns"
    assert set(reply.trace.applied_guideline_ids) == {"e_greet", "g_return"}
    assert reply.text == f"{GREETING_TEXT}\n\n{RETURN_TEXT}"  # the customer's order: greeting first
    assert {d.department_id for d in reply.trace.guidelines} == {"returns", "etiquette"}


def test_two_topics_from_two_departments_are_both_applied_and_answered():
    engine, session = shop_engine(), Session()
    reply = engine.respond(session, "I need to return this laptop. Also, what's your warranty on replacements?")
    trace = reply.trace
    assert trace.segments == ["I need to return this laptop.", "Also, what's your warranty on replacements?"]
    assert trace.routing.department_id == "returns" and session.department_id == "returns"  # no transfer
    assert set(trace.applied_guideline_ids) == {"g_return", "g_warranty"}
    assert trace.decision("g_warranty").department_id == "tech"
    assert trace.decision("g_warranty").segment == trace.segments[1]
    assert reply.text == f"{RETURN_TEXT}\n\n{WARRANTY_TEXT}"
    assert {a.guideline_id: a.department_id for a in session.applied} == {"g_return": "returns", "g_warranty": "tech"}


def test_two_moves_for_one_situation_are_not_joined_the_second_waits_a_turn():
    engine, session = shop_engine(), Session()
    first = engine.respond(session, "I want to return my laptop")
    assert first.trace.applied_guideline_ids == ["g_return"] and first.text == RETURN_TEXT
    deferred = first.trace.decision("g_return_refund")
    assert deferred.status is GuidelineStatus.deferred and "g_return answers the same situation" in deferred.reasons[-1]
    second = engine.respond(session, "ok, and I want to return my laptop quickly")
    assert second.trace.applied_guideline_ids == ["g_return_refund"]
    assert second.trace.decision("g_return").status is GuidelineStatus.deferred  # re-raised, but the next move wins


def test_segments_and_situation_groups():
    assert message_segments("Hi") == ["Hi"]
    assert message_segments("My order is late. Also: where is it?") == ["My order is late.", "Also: where is it?"]
    assert message_segments("I want a refund. ?") == ["I want a refund. ?"]  # a part without words is no topic
    assert message_segments("one. two. three. four", max_segments=3) == ["one.", "two.", "three. four"]
    # two needs joined by a comma are two topics; a short aside stays with its clause
    assert message_segments("I need an update on my delivery date, and also I want to stop my subscription") == [
        "I need an update on my delivery date", "and also I want to stop my subscription"]
    assert message_segments("Hi, my order is late, sorry") == ["Hi, my order is late, sorry"]
    # on calls two needs are joined without punctuation, by a connector
    assert message_segments("well my smartwatch wont turn on on top of that i need an invoice for order 4037920607") == [
        "well my smartwatch wont turn on", "on top of that i need an invoice for order 4037920607"]
    assert message_segments("um i want to send back order 4066855600 plus im still waiting on a refund") == [
        "um i want to send back order 4066855600", "plus im still waiting on a refund"]
    assert message_segments("so i want to exchange the vacuum for another size and also i want to pause my plan") == [
        "so i want to exchange the vacuum for another size", "and also i want to pause my plan"]
    assert message_segments("Can I move from Plus to Premium please") == ["Can I move from Plus to Premium please"]
    assert message_segments("I also want to change my address please") == ["I also want to change my address please"]
    spec = shop_spec()
    groups = situation_groups([*spec.department("returns").guidelines, *spec.department("tech").guidelines])
    assert groups["g_return"] == groups["g_return_refund"] != groups["g_warranty"]


def _best_match_shop(router_confidence: float, scores: dict[str, float], first_route: float | None = None) -> Engine:
    from guideminer.engine import EngineSettings, MatchingPolicy

    spec = shop_spec()
    policy = MatchingPolicy(best_match_floor=0.3, first_route_confidence=first_route)
    return Engine(spec, router=FixedRouter("returns", confidence=router_confidence), scorer=FixedScorer(scores),
                  composer=TemplateComposer(), settings=EngineSettings(matching=policy))


@pytest.mark.parametrize("first_route, opens", [(None, False), (0.5, True), (0.7, False)])
def test_the_first_routing_bar_is_the_policys_own(first_route, opens):
    reply = _best_match_shop(0.63, {"g_return": 0.5}, first_route).respond(Session(), "my kettle arrived broken")
    assert (reply.trace.routing.department_id == "returns") is opens
    assert (reply.text == RETURN_TEXT) is opens


def test_a_first_routing_opens_a_department_on_a_best_match_only_when_the_router_is_confident():
    unsure_route = _best_match_shop(0.4, {"g_return": 0.5}).respond(Session(), "is this customer service?")
    assert unsure_route.trace.routing.department_id is None and unsure_route.text == DEFAULT_CLARIFY
    held = unsure_route.trace.decision("g_return")
    assert not held.condition_holds and "confident match" in held.reasons[-1]
    sure_route = _best_match_shop(0.9, {"g_return": 0.5}).respond(Session(), "I'd like to send the kettle back")
    assert sure_route.trace.routing.department_id == "returns" and sure_route.text == RETURN_TEXT
    assert sure_route.trace.decision("g_return").decided_by == "best_match"


def test_the_etiquette_set_never_holds_on_a_best_match():
    reply = _best_match_shop(0.9, {"e_greet": 0.5, "g_return": 0.9}).respond(Session(), "I want to return my laptop")
    greet = reply.trace.decision("e_greet")
    assert (greet.decided_by, greet.condition_holds) == ("default", False)
    assert reply.text == RETURN_TEXT


def test_an_unrouted_etiquette_move_with_nothing_approved_to_say_gets_the_receptionist_question():
    spec = shop_spec()
    etiquette = spec.etiquette.model_copy(update={"canned_responses": tuple(
        c.model_copy(update={"template": "Hello, this is {agent_name}!"}) for c in spec.etiquette.canned_responses)})
    spec = spec.model_copy(update={"etiquette": etiquette})
    reply = shop_engine(spec).respond(Session(), "Hello there, good morning")
    assert reply.trace.applied_guideline_ids == ["e_greet"]
    assert reply.text == DEFAULT_CLARIFY and reply.trace.composition.source == "clarify"


def test_a_greeting_two_messages_back_does_not_hold_etiquette_for_the_need():
    """The etiquette set is judged on the latest message alone: the scorer's window of earlier
    messages must not make "hi" hold a (second) greeting for the need that follows and hold
    routing back with it."""
    spec = shop_spec()
    etiquette = spec.etiquette.model_copy(update={"guidelines": [
        *spec.etiquette.guidelines,
        Guideline(id="e_howdy", condition="the customer says howdy", examples=["howdy"], action="welcome")]})
    engine, session = shop_engine(spec.model_copy(update={"etiquette": etiquette})), Session()
    assert engine.respond(session, "howdy").trace.applied_guideline_ids == ["e_howdy"]
    need = engine.respond(session, "I want to return my laptop")
    held = [d.guideline_id for d in need.trace.guidelines if d.condition_holds and d.guideline_id.startswith("e_")]
    assert held == [] and session.department_id == "returns" and need.text == RETURN_TEXT
