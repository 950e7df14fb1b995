"""Tools (validation errors reported, never raised), composition modes, session serialisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_fakes import FixedArguments, FreeTextComposer, engine_fixture, retail_spec

from guideminer.engine import AgentSpec, Session, ToolRegistry
from guideminer.engine.tools import arguments_model
from guideminer.engine.compose import unbacked_moves

ORDER_QUESTION = "Where is my order? When does the delivery arrive?"


def _spec_with_mode(department_id: str, mode: str) -> AgentSpec:
    data = retail_spec().model_dump()
    for department in data["departments"]:
        if department["id"] == department_id:
            department["composition_mode"] = mode
    return AgentSpec.model_validate(data)


def test_tool_runs_only_for_an_applied_guideline_and_its_result_reaches_the_composer():
    engine = engine_fixture()
    session = Session(variables={"order_id": 1002})
    first = engine.respond(session, "I want to return an item")
    assert first.trace.tool_calls == []
    reply = engine.respond(session, ORDER_QUESTION)
    (call,) = reply.trace.tool_calls
    assert (call.tool, call.requested_by, call.arguments) == ("lookup_order", ["order_status"], {"order_id": 1002})
    assert call.result == {"order_id": 1002, "status": "delayed"} and call.error is None
    outcome = engine.composer.requests[-1].tool_outcomes[0]
    assert (outcome.tool, outcome.result, outcome.error) == ("lookup_order", call.result, None)


@pytest.mark.parametrize(
    ("arguments", "kind", "fragment"),
    [
        ({"order_id": "abc"}, "validation", "order_id: Input should be a valid integer"),
        ({"order_id": 0}, "validation", "order_id: Input should be greater than or equal to 1"),
        ({}, "arguments", "missing argument(s) order_id"),
        ({"order_id": 1001, "force": True}, "validation", "force: Extra inputs are not permitted"),
        ({"order_id": 4242}, "execution", "LookupError: no order 4242"),
    ],
    ids=["type", "minimum", "missing", "extra", "tool-raises"],
)
def test_tool_problems_surface_in_trace_and_composer_context(arguments, kind, fragment):
    engine = engine_fixture(argument_extractor=FixedArguments({"lookup_order": arguments}))
    reply = engine.respond(Session(), ORDER_QUESTION)  # does not raise
    (call,) = reply.trace.tool_calls
    assert call.error.kind == kind and fragment in call.error.message
    assert call.result is None
    outcome = engine.composer.requests[-1].tool_outcomes[0]
    assert outcome.error.startswith(f"{kind}: ") and fragment in outcome.error
    assert reply.text.startswith(FreeTextComposer.PREFIX)


def test_unregistered_tool_and_non_json_result_are_reported():
    engine = engine_fixture(tools=ToolRegistry())
    call = engine.respond(Session(variables={"order_id": 1}), ORDER_QUESTION).trace.tool_calls[0]
    assert call.error.kind == "not_registered"
    engine = engine_fixture(tools=ToolRegistry({"lookup_order": lambda order_id: object()}))
    call = engine.respond(Session(variables={"order_id": 1}), ORDER_QUESTION).trace.tool_calls[0]
    assert call.error.kind == "execution" and "not JSON serializable" in call.error.message


def test_argument_model_is_built_from_the_declared_params():
    tool = retail_spec().department("orders").tool("lookup_order")
    model = arguments_model(tool)
    assert model.model_validate({"order_id": "17"}).order_id == 17  # ordinary pydantic coercion
    assert model.model_json_schema()["properties"]["order_id"]["minimum"] == 1


STRICT_MESSAGES = [
    "The app crashes every time I start it",
    "I cannot log in, I forgot the password",  # no canned response for login_problem
    "the app crashes and I forgot my password",
    "ok thanks",
    "tell me a joke",
]


def test_strict_mode_never_sends_free_text():
    engine = engine_fixture()  # app_support is canned_strict in the fixture
    session = Session()
    texts = [engine.respond(session, message).text for message in STRICT_MESSAGES]
    assert session.department_id == "app_support"
    approved = {c.template for c in engine.spec.department("app_support").canned_responses}
    assert all(text in approved | {engine.spec.fallback_message} for text in texts)
    assert not any(FreeTextComposer.PREFIX in text for text in texts)
    assert engine.composer.requests == []  # the free-text composer was never even asked
    assert texts[0] == "Please update the app to the latest version and restart your phone."
    assert texts[1] == engine.spec.fallback_message
    assert session.traces[1].composition.source == "fallback"
    assert "login_problem: no canned response serves it" in session.traces[1].composition.notes


def test_strict_mode_renders_fields_from_tool_results_and_variables():
    engine = engine_fixture(_spec_with_mode("orders", "canned_strict"))
    reply = engine.respond(Session(variables={"order_id": 1001}), ORDER_QUESTION)
    assert reply.text == "Order 1001 is shipped."
    assert reply.trace.composition.canned_response_ids == ["order_status_reply"]


def test_strict_mode_missing_field_sends_the_fallback_never_a_half_rendered_template():
    engine = engine_fixture(_spec_with_mode("orders", "canned_strict"))
    reply = engine.respond(Session(variables={"order_id": 4242}), ORDER_QUESTION)  # tool fails
    assert reply.trace.tool_calls[0].error.kind == "execution"
    assert reply.text == engine.spec.fallback_message
    assert "order_status_reply: missing field(s) status" in reply.trace.composition.notes
    assert "{" not in reply.text


def test_strict_mode_mixed_topic_sends_one_canned_text_per_instruction():
    engine = engine_fixture(_spec_with_mode("orders", "canned_strict"))
    reply = engine.respond(Session(variables={"order_id": 7}),
                           "I want to return an item. Does the warranty cover a broken product?")
    assert reply.trace.composition.canned_response_ids == ["return_policy", "warranty_two_years"]
    assert reply.text == (
        "You can return any item within 30 days. Here is a prepaid label for order 7.\n\n"
        "Every product has a two-year warranty against defects."
    )


def test_canned_fluid_prefers_canned_and_falls_back_to_the_composer_with_hints():
    engine = engine_fixture(_spec_with_mode("orders", "canned_fluid"))
    covered = engine.respond(Session(), "Does the warranty cover a broken product?")
    assert covered.trace.composition.source == "canned"
    assert engine.composer.requests == []
    uncovered = engine.respond(Session(), "I want to return an item")  # {order_id} unknown
    assert uncovered.trace.composition.source == "composer"
    assert [c.id for c in engine.composer.requests[-1].canned_hints] == ["return_policy"]


def test_session_round_trips_through_json_with_traces_and_timings():
    engine = engine_fixture()
    session = Session(session_id="s-1", variables={"order_id": 1001})
    for message in ["I want to return an item", ORDER_QUESTION, "There is a strange charge on my credit card"]:
        engine.respond(session, message)
    again = Session.from_json(session.to_json())
    assert again == session
    assert len(again.traces) == 3 and len(again.messages) == 6
    assert again.department_id == "billing" and again.transfers[0].trigger == "guideline"
    timings = again.traces[1].timings_ms
    assert {"etiquette", "routing", "matching", "tools", "composition", "total"} <= set(timings)
    assert again.traces[1].tool_calls[0].result == {"order_id": 1001, "status": "shipped"}


def _spec_with_claims(mode: str, claims: set[str]) -> AgentSpec:
    data = _spec_with_mode("orders", mode).model_dump()
    for department in data["departments"]:
        for canned in department["canned_responses"]:
            canned["needs_tool"] = canned["id"] in claims
    return AgentSpec.model_validate(data)


def test_a_reply_stating_an_outcome_is_sent_only_when_a_tool_of_its_guideline_ran():
    # order_status_reply is served by a guideline with the lookup_order tool; warranty_two_years is not
    engine = engine_fixture(_spec_with_claims("canned_strict", {"order_status_reply", "warranty_two_years"}))
    backed = engine.respond(Session(variables={"order_id": 1001}), ORDER_QUESTION)
    assert backed.text == "Order 1001 is shipped."
    unbacked = engine.respond(Session(), "Does the warranty cover a broken product?")
    assert unbacked.text == engine.spec.fallback_message
    assert any("states an outcome no tool produced" in note for note in unbacked.trace.composition.notes)
    assert unbacked.trace.applied_guideline_ids and unbacked.trace.composition.said_guideline_ids == []  # withheld
    failed = engine.respond(Session(variables={"order_id": 4242}), ORDER_QUESTION)  # the tool raises
    assert failed.text == engine.spec.fallback_message


def test_a_fluid_composer_is_not_asked_to_state_an_unbacked_outcome():
    engine = engine_fixture(_spec_with_claims("canned_fluid", {"warranty_two_years"}))
    engine.respond(Session(), "I want to return an item. Does the warranty cover a broken product?")
    request = engine.composer.requests[-1]
    assert "warranty" not in " ".join(g.id for g in request.instructions)
    assert all(not c.needs_tool for c in request.canned_hints)


def test_a_claiming_reply_without_its_tool_sends_its_claim_free_part_and_the_full_text_with_it():
    data = _spec_with_claims("canned_strict", {"order_status_reply"}).model_dump()
    orders = next(d for d in data["departments"] if d["id"] == "orders")
    guideline_id = next(c for c in orders["canned_responses"] if c["id"] == "order_status_reply")["guideline_ids"][0]
    orders["canned_responses"] = [*orders["canned_responses"], {"id": "order_status_part", "template": "Orders usually ship within two days.",
                                  "guideline_ids": [guideline_id], "needs_tool": False, "part_of": "order_status_reply"}]
    engine = engine_fixture(AgentSpec.model_validate(data))
    backed = engine.respond(Session(variables={"order_id": 1001}), ORDER_QUESTION)
    assert backed.text == "Order 1001 is shipped."  # the tool ran: the full text wins
    unbacked = engine.respond(Session(variables={"order_id": 4242}), ORDER_QUESTION)  # the tool raises
    assert unbacked.text == "Orders usually ship within two days."
    assert backed.trace.composition.said_guideline_ids == unbacked.trace.composition.said_guideline_ids == [guideline_id]
    assert "order_status_reply: states an outcome no tool produced this turn; not sent" in unbacked.trace.composition.notes
    assert "order_status" not in unbacked_moves(engine.spec)  # its tool can back the full reply


def test_the_claim_free_part_of_a_reply_keeps_only_informative_statements():
    from guideminer.mining.claims import claim_free_part

    policy = "Our return window is 30 days and returns are free; a prepaid label is on its way to your inbox."
    assert claim_free_part(policy) == "Our return window is 30 days and returns are free."
    assert claim_free_part("Returns are free within 30 days.") is None  # claims nothing: sent whole
    # a bare closing question after a dropped claim would tell the customer it was done
    assert claim_free_part("I've cancelled your subscription. Is there anything else I can help with?") is None
    assert (claim_free_part("Returns are free for every item we sell. When works for pickup? I've sent the label.")
            == "Returns are free for every item we sell. When works for pickup?")
    # what follows a claim is its consequence: it would imply the claim came true
    assert claim_free_part("That's cancelled now. You'll get a confirmation email and the refund in 3-5 days.") is None
    assert claim_free_part("You're right, it was charged twice. The second charge has been refunded.") is None
    # what follows a looked-up fact reports the finding; a part with fields or instance details is no policy
    assert claim_free_part("I found 3 events. One is the Falcons game at Mercedes-Benz Stadium tonight.") is None
    assert claim_free_part("Your reservation has been made. The event starts at {time} on the main stage.") is None
    assert claim_free_part("I've booked it for you. Your table at Nopa is ready from 7 pm tonight.") is None


def test_an_etiquette_reply_without_its_agents_name_keeps_the_rest():
    from guideminer.mining.claims import field_free_part

    greeting = "Hi, thanks for contacting Larkfield! My name is {person_1}. How can I help you today?"
    assert field_free_part(greeting) == "Hi, thanks for contacting Larkfield! How can I help you today?"
    assert field_free_part("Thanks for reaching out to Larkfield. This is {person_1}, how may I assist you?") \
        == "Thanks for reaching out to Larkfield."
    assert field_free_part("Hi there, {person_1} here from Larkfield.") is None  # nothing left
    assert field_free_part("Have a great day!") is None  # no field: sent whole
