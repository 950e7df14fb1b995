"""Receptionist: route once, stay, transfer only on a guideline or a clear router decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_fakes import FixedRouter, engine_fixture

from guideminer.engine import (
    EngineSettings,
    GuidelineStatus,
    Message,
    RoutingPolicy,
    Session,
)


def _routed_to_orders():
    """A fixed router, its engine, and a session the first message routed to orders."""
    router = FixedRouter("orders", 0.9, {"orders": 0.9, "billing": 0.1})
    engine = engine_fixture(router=router)
    session = Session()
    engine.respond(session, "I want to return an item")
    return router, engine, session


def test_first_message_is_routed_by_the_embedding_router():
    engine = engine_fixture()
    session = Session()
    reply = engine.respond(session, "The app crashes every time I start it")
    assert session.department_id == "app_support"
    routing = reply.trace.routing
    assert (routing.method, routing.department_id) == ("router", "app_support")
    assert routing.router_model_id == engine.router.model_id
    assert routing.scores["app_support"] > routing.scores["orders"]
    assert "first routing: app_support" in routing.reason


def test_low_confidence_first_message_gets_the_clarify_message_and_routes_next_turn():
    engine = engine_fixture()
    session = Session()
    first = engine.respond(session, "hello there")
    assert first.text == engine.spec.receptionist.clarify_message
    assert (first.trace.routing.method, session.department_id) == ("unrouted", None)
    assert first.trace.composition.source == "clarify" and first.trace.guidelines == []
    second = engine.respond(session, "Where is my order? When does the delivery arrive?")
    assert (second.trace.routing.method, session.department_id) == ("router", "orders")


def test_route_once_then_sticky_unless_threshold_and_margin_are_met():
    router, engine, session = _routed_to_orders()
    router.set("billing", 0.8, {"orders": 0.7, "billing": 0.8})  # confident, but margin 0.1 < 0.2
    assert engine.respond(session, "ok, what next?").trace.routing.method == "sticky"
    router.set("billing", 0.7, {"orders": 0.1, "billing": 0.7})  # margin ok, confidence 0.7 < 0.75
    assert engine.respond(session, "ok, what next?").trace.routing.method == "sticky"
    assert session.department_id == "orders" and session.transfers == []


def test_explicit_router_transfer_is_recorded_and_takes_effect_this_turn():
    router, engine, session = _routed_to_orders()
    router.set("billing", 0.9, {"orders": 0.2, "billing": 0.9})
    reply = engine.respond(session, "I want a copy of an invoice")
    assert reply.trace.routing.method == "router_transfer"
    assert reply.trace.transfer.model_dump() == session.transfers[0].model_dump()
    assert (reply.trace.transfer.from_department, reply.trace.transfer.to_department) == ("orders", "billing")
    assert reply.trace.transfer.trigger == "router"
    assert session.department_id == "billing"
    assert {d.guideline_id for d in reply.trace.guidelines} == {"refund_status", "invoice_request"}
    assert reply.trace.decision("invoice_request").status is GuidelineStatus.applied


def test_an_answer_without_words_of_its_own_never_transfers():
    """Call style, before: "It's <PHONE>." answering the identification question scored 0.89 for
    the password department (its examples hold phone numbers too) and moved a damaged-item
    conversation there. A message of placeholders and function words answers; it does not
    state a need."""
    from guideminer.engine.router import carries_words

    assert not carries_words("It's <PHONE>.") and not carries_words("<EMAIL>") and not carries_words("4 5 1 2")
    assert carries_words("I want a copy of an invoice") and carries_words("LF-335118, photo attached")
    router, engine, session = _routed_to_orders()
    router.set("billing", 0.95, {"orders": 0.1, "billing": 0.95})
    reply = engine.respond(session, "It's <PHONE>.")
    assert reply.trace.routing.method == "sticky" and session.department_id == "orders"
    assert "an answer, no transfer" in reply.trace.routing.reason
    assert engine.respond(session, "I want a copy of an invoice").trace.routing.method == "router_transfer"


def test_router_transfers_can_be_disabled():
    router = FixedRouter("orders", 0.9)
    settings = EngineSettings(routing=RoutingPolicy(router_transfers=False))
    engine = engine_fixture(router=router, settings=settings)
    session = Session()
    engine.respond(session, "I want to return an item")
    router.set("billing", 1.0, {"orders": 0.0, "billing": 1.0})
    engine.respond(session, "invoice")
    assert session.department_id == "orders"


def test_guideline_transfer_announces_then_moves_the_session():
    engine = engine_fixture()
    session = Session()
    reply = engine.respond(session, "There is a strange charge on my credit card")
    assert reply.trace.routing.department_id == "orders"  # the receptionist chose orders
    assert reply.trace.decision("billing_question").status is GuidelineStatus.applied
    transfer = reply.trace.transfer
    assert (transfer.trigger, transfer.from_department, transfer.to_department) == ("guideline", "orders", "billing")
    assert "billing_question" in transfer.reason
    assert session.department_id == "billing" and session.transfers == [transfer]
    after = engine.respond(session, "what is the status of my refund payment?")
    assert after.trace.routing.method == "sticky"
    assert after.trace.decision("refund_status").status is GuidelineStatus.applied


def test_router_naming_an_unknown_department_is_an_error():
    engine = engine_fixture(router=FixedRouter("marketing"))
    with pytest.raises(ValueError, match="unknown department 'marketing'"):
        engine.respond(Session(), "hi")


def test_embedding_router_scores_every_department():
    engine = engine_fixture()
    conversation = [Message(role="customer", text="I forgot the password and cannot log in", turn=1)]
    decision = engine.router.route(conversation, engine.spec.departments)
    assert set(decision.scores) == {"orders", "billing", "app_support"}
    assert decision.department_id == "app_support"
    assert decision.confidence == decision.scores["app_support"]


def test_a_failing_turn_leaves_the_session_as_it_was():
    router, engine, session = _routed_to_orders()
    before = session.model_dump()
    router.set("marketing", 0.99, {"marketing": 0.99})
    with pytest.raises(ValueError):
        engine.respond(session, "anything")
    assert session.model_dump() == before


def _products_and_needs():
    """Two departments whose texts share product words; only 'never arrived' / 'return' tell them apart."""
    from guideminer.engine.spec import Department

    products = ("kettle", "toaster", "lamp", "blender", "speaker", "router")
    orders = Department(id="orders", name="Orders", description="Deliveries.",
                        routing_examples=tuple(f"my {p} never arrived" for p in products))
    returns = Department(id="returns", name="Returns", description="Sending items back.",
                         routing_examples=(*(f"I want to return the {p}" for p in products),
                                           "return the blender mixer jug lid"))
    return [orders, returns]


@pytest.mark.parametrize("classifier, expected", [(True, "orders"), (False, "returns")])
def test_a_classifier_over_profiles_chooses_by_the_words_that_tell_departments_apart(classifier, expected):
    """The single most similar text shares the product ('blender mixer jug lid'); every orders
    text shares 'never arrived'. The best cosine alone (classifier=False) picks returns."""
    from engine_fakes import HashedBagOfWordsEmbedder

    from guideminer.engine.embedding import EmbeddingRouter, LinearCalibration

    departments = _products_and_needs()
    router = EmbeddingRouter(HashedBagOfWordsEmbedder(), calibration=LinearCalibration(low=0.0, high=1.0),
                             classifier=classifier)
    decision = router.route([Message(role="customer", text="the blender mixer jug lid never arrived", turn=0)], departments)
    assert decision.department_id == expected
    assert decision.confidence == decision.scores[expected]  # the chosen department's best cosine
    assert decision.scores["returns"] > decision.scores["orders"]


def test_one_department_is_chosen_without_a_classifier():
    from engine_fakes import FAKE_CALIBRATION, HashedBagOfWordsEmbedder

    from guideminer.engine.embedding import EmbeddingRouter

    orders = _products_and_needs()[:1]
    router = EmbeddingRouter(HashedBagOfWordsEmbedder(), calibration=FAKE_CALIBRATION)
    assert router.route([Message(role="customer", text="my kettle never arrived", turn=0)], orders).department_id == "orders"
