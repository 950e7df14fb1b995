"""A question the customer already answered is not asked; what a question asks for is mined from its answers."""

from __future__ import annotations

import polars as pl
from engine_fakes import FAKE_CALIBRATION, HashedBagOfWordsEmbedder

from guideminer.engine import AgentSpec, EmbeddingConditionScorer, EmbeddingRouter, Engine, Session
from guideminer.engine.asked import said_kinds
from guideminer.engine.session import Message
from guideminer.mining.asks_for import asked_kinds, skips_when_said
from guideminer.offline_runtime.template_composer import TemplateComposer

ASK, OFFER = "Which city would you like to look in?", "There is a concert on Friday."


def concert_engine(asks_for: list[str]) -> Engine:
    spec = AgentSpec.model_validate({"name": "events", "composition_mode": "canned_strict", "departments": [{
        "id": "events", "name": "Events", "description": "concerts", "routing_examples": ["find a concert"],
        "guidelines": [
            {"id": "g_ask", "condition": "the customer wants a concert", "examples": ["i want to find a concert", "looking for a concert"],
             "action": "ask the city", "asks_for": asks_for, "move": "m_ask"},
            {"id": "g_offer", "condition": "the customer wants a concert in a city",
             "examples": ["i want to find a concert in Seattle", "looking for a concert"], "action": "offer one", "move": "m_offer"}],
        "canned_responses": [{"id": "c_ask", "template": ASK, "guideline_ids": ["g_ask"]},
                             {"id": "c_offer", "template": OFFER, "guideline_ids": ["g_offer"]}]}]})
    return fake_engine(spec)


def fake_engine(spec: AgentSpec, tools=None) -> Engine:
    embedder = HashedBagOfWordsEmbedder()
    return Engine(spec, router=EmbeddingRouter(embedder, spec, calibration=FAKE_CALIBRATION),
                  scorer=EmbeddingConditionScorer(embedder, spec, calibration=FAKE_CALIBRATION),
                  composer=TemplateComposer(), tools=tools)


def test_a_question_whose_answer_was_said_is_deferred() -> None:
    engine = concert_engine(["NAME"])
    told = engine.respond(Session(), "i want to find a concert in Berkeley")
    assert told.text == OFFER
    (ask,) = [d for d in told.trace.guidelines if d.guideline_id == "g_ask"]
    assert ask.status.value == "deferred" and "NAME ('Berkeley')" in ask.reasons[-1]
    assert engine.respond(Session(), "i want to find a concert").text == ASK
    unmined = concert_engine([]).respond(Session(), "i want to find a concert in Berkeley")
    assert unmined.text == ASK  # the closer example wins when nothing says what the question asks for


def test_said_kinds_reads_customer_messages_only() -> None:
    conversation = [Message(role="agent", text="Hi, I am at the Seattle office.", turn=0),
                    Message(role="customer", text="my email is <EMAIL> and I need 2 tickets", turn=1)]
    assert said_kinds(conversation) == {"EMAIL": "<EMAIL>", "NUMBER": "2"}


def test_asked_kinds_need_a_question_and_a_lift_over_all_customer_turns() -> None:
    answers = ["in Berkeley please", "it is in San Jose", "hmm, in Seattle", "I'd say in Oakland", "around Fresno", "no idea"]
    moves = pl.DataFrame({"cluster_id": [1] * 6, "asks": [True] * 6, "answer": answers})
    assert asked_kinds(moves, {"NAME": 0.1}) == ("NAME",)
    assert asked_kinds(moves, {"NAME": 0.5}) == ()  # names are said everywhere: asks for nothing in particular
    assert asked_kinds(moves.with_columns(pl.lit(False).alias("asks")), {}) == ()  # not a question
    assert asked_kinds(moves.head(4), {}) == ()  # too few answers to say


def test_skipping_is_a_habit_only_when_the_said_answer_changes_what_agents_do() -> None:
    said = [["NAME"]] * 6 + [[]] * 6
    skipping = pl.DataFrame({"said_through": said, "next_cluster": [2] * 6 + [1] * 6})
    assert skips_when_said(skipping, {1}, ("NAME",))  # with the city said, the agents offered (2), never asked (1)
    reasking = pl.DataFrame({"said_through": said, "next_cluster": [1, 1, 1, 1, 2, 2] + [1, 1, 1, 1, 1, 2]})
    assert not skips_when_said(reasking, {1}, ("NAME",))  # they asked as often either way


def _no_city(**_):
    raise LookupError("FindEvents needs city")


def failing_search_engine() -> Engine:
    """An offer whose search tool fails for want of a city, and the city question deferred for it."""
    from guideminer.engine import ToolRegistry

    spec = AgentSpec.model_validate({"name": "events", "composition_mode": "canned_strict", "departments": [{
        "id": "events", "name": "Events", "description": "concerts", "routing_examples": ["find a concert"],
        "tools": [{"name": "search", "description": "event search"}],
        "guidelines": [
            {"id": "g_offer", "condition": "the customer wants a concert", "priority": 1,
             "examples": ["i want to find a concert", "looking for a concert"], "action": "offer one", "tools": ["search"]},
            {"id": "g_ask", "condition": "the customer wants a concert somewhere",
             "examples": ["looking for a concert", "a concert please"], "action": "ask the city"}],
        "canned_responses": [{"id": "c_offer", "template": "I found {number} events.", "guideline_ids": ["g_offer"]},
                             {"id": "c_ask", "template": ASK, "guideline_ids": ["g_ask"]}]}]})
    return fake_engine(spec, ToolRegistry({"search": _no_city}))


def test_a_move_that_cannot_be_said_yields_to_the_next_move_of_its_situation() -> None:
    engine = failing_search_engine()
    reply = engine.respond(Session(), "i want to find a concert")
    assert reply.text == ASK  # not the hand-off: the search could not run, so the agent asks
    status = {d.guideline_id: (d.status.value, d.reasons[-1]) for d in reply.trace.guidelines}
    assert status["g_offer"][0] == "deferred" and "could be said" in status["g_offer"][1]
    assert status["g_ask"][0] == "applied" and "g_offer could not be said" in status["g_ask"][1]
    assert [c.tool for c in reply.trace.tool_calls] == ["search"] and reply.trace.tool_calls[0].error is not None


def test_a_yielded_move_is_not_recorded_as_made_and_the_asked_one_is() -> None:
    engine = failing_search_engine()
    session = Session()
    engine.respond(session, "i want to find a concert")
    assert [a.guideline_id for a in session.applied] == ["g_ask"]
