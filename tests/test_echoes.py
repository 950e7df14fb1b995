"""Read-back fields: a template repeats what the customer just said, never anything else
(engine/echoes.py; mined in export from template fields whose value the customer had said)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from test_engine_etiquette import shop_engine, shop_spec
from test_openers import _world, CHATS, ETIQUETTE

from guideminer.engine import Session
from guideminer.engine.echoes import PlaceholderEchoes, echo_values
from guideminer.engine.session import Message
from guideminer.engine.spec import CannedResponse
from guideminer.mining.export_spec import _canned_responses
from guideminer.mining.openers import positional_proposal
from guideminer.mining.proposals_schema import CannedTemplate, TemplateField
from guideminer.mining.review import ReviewedGuideline
from guideminer.offline_runtime.pii_reading import LazyRedactor, PiiEchoes

READ_BACK = CannedResponse(id="c_back", template="So that's {person_4} spelled {person_4_2}, correct?",
                           guideline_ids=("g_back",), echoes={"person_4": "PERSON_4", "person_4_2": "PERSON_4"})


def _said(*texts: str) -> list[Message]:
    return [Message(role="customer" if i % 2 == 0 else "agent", text=t, turn=i) for i, t in enumerate(texts)]


def test_the_last_names_of_the_latest_message_that_has_any_are_read_back():
    finder = PlaceholderEchoes()
    conversation = _said("it's <PERSON_1>", "and the last name?", "<PERSON_3> <PERSON_3>, last name <PERSON_4> <PERSON_4>")
    assert echo_values(READ_BACK, conversation, finder) == {"person_4": "<PERSON_4>", "person_4_2": "<PERSON_4>"}
    # the latest message has none: the one before it is what the customer said
    assert echo_values(READ_BACK, [*conversation, Message(role="agent", text="ok", turn=3),
                                   Message(role="customer", text="yes", turn=4)], finder)["person_4"] == "<PERSON_4>"
    one = echo_values(READ_BACK, _said("<PERSON_2>"), finder)
    assert one == {"person_4": "<PERSON_2>", "person_4_2": "<PERSON_2>"}  # said once: it repeats
    # a name and its spelling (one entity said twice) is read back, not the name said once after it
    spelled = echo_values(READ_BACK, _said("<PERSON_1> <PERSON_1> and the first name is <PERSON_2>"), finder)
    assert spelled == {"person_4": "<PERSON_1>", "person_4_2": "<PERSON_1>"}
    assert echo_values(READ_BACK, _said("no name here"), finder) == {}


def test_echoes_must_name_fields_of_the_template():
    with pytest.raises(ValidationError, match="echoes name no field"):
        CannedResponse(id="c", template="Thanks!", guideline_ids=("g",), echoes={"person": "PERSON"})


def _shop_with_read_back():
    spec = shop_spec()
    returns = spec.departments[0]
    canned = READ_BACK.model_copy(update={"guideline_ids": ("g_return",)})
    returns = returns.model_copy(update={"canned_responses": (canned,)})
    return spec.model_copy(update={"departments": (returns, *spec.departments[1:])})


def test_a_read_back_is_sent_only_when_the_customer_said_it():
    engine = shop_engine(_shop_with_read_back())
    redacted = engine.respond(Session(), "I want to return my laptop, it's under <PERSON_2>")
    assert redacted.text == "So that's <PERSON_2> spelled <PERSON_2>, correct?"
    nothing = engine.respond(Session(), "I want to return my laptop")
    assert "So that's" not in nothing.text and "missing field(s) person_4, person_4_2" in " ".join(nothing.trace.composition.notes)


def test_the_runtime_finder_reads_names_in_raw_text_with_the_pii_recogniser():
    class FakeRedactor:
        def detect(self, texts):
            return [[(8, 13, "PERSON"), (14, 23, "SPELLED"), (46, 50, "PERSON")] for _ in texts]

        def __call__(self, text):
            return "yes its <PERSON_1> <PERSON_1> and the first name is <PERSON_2>", None

    finder = PiiEchoes(LazyRedactor(FakeRedactor))
    said = "yes its Smith S M I T H and the first name is Jane"
    assert finder.spans(said) == [("PERSON_1", "Smith"), ("PERSON_1", "S M I T H"), ("PERSON_2", "Jane")]
    assert echo_values(READ_BACK, _said(said), finder) == {"person_4": "Smith", "person_4_2": "S M I T H"}
    assert finder.spans("it's <EMAIL>") == [("EMAIL", "<EMAIL>")]  # redacted: placeholders, no recogniser


def test_export_marks_fields_the_customer_had_said_as_echoes():
    opening, _ = positional_proposal(*_world(CHATS), set(ETIQUETTE), "conversation_start")
    proposal = opening.model_copy(update={"canned": CannedTemplate(
        text="So that's {person_3}, and your order {reference}?", fields=[
            TemplateField(name="person_3", kind="PERSON_3", source="session_variable", distinct_values=5),
            TemplateField(name="reference", kind="REFERENCE", source="tool_result", distinct_values=5)])})
    reviewed = ReviewedGuideline(guideline_id="g-x", proposal=proposal, status="accepted",
                                 condition_text=proposal.condition_text, action_text=proposal.action_text, department_id=None)
    (canned, *_) = _canned_responses(reviewed)
    assert canned.echoes == {"person_3": "PERSON_3"}  # the looked-up reference is no echo


def test_live_text_is_embedded_with_personal_data_as_placeholders_as_mining_read_it():
    import numpy as np

    from guideminer.offline_runtime.pii_reading import RedactingEmbedder

    class Recording:
        model_id, dimension = "rec", 2

        def __init__(self):
            self.seen = []

        def embed(self, texts):
            self.seen += list(texts)
            return np.zeros((len(texts), 2), dtype=np.float32)

    class FakeRedactor:
        def __call__(self, text):
            return text.replace("Smith", "<PERSON_1>"), None

    inner = Recording()
    reader = RedactingEmbedder(inner, LazyRedactor(FakeRedactor))
    reader.embed(["yes its Smith", "no name"])
    assert inner.seen == ["yes its <PERSON_1>", "no name"] and reader.model_id == "rec"  # same model's space
