"""A need whose chosen moves could not be said gets the hand-off, not the greeting alone."""

from __future__ import annotations

from guideminer.engine.compose import with_hand_off
from guideminer.engine.spec import CannedResponse
from guideminer.engine.trace import CompositionTrace

HAND_OFF = "Let me connect you with a colleague."
CANNED = [CannedResponse(id="c-hi", template="Hi, thanks for contacting us! How can I help you today?", guideline_ids=["greet"]),
          CannedResponse(id="c-hi-lead", template="Hi, thanks for contacting us!", guideline_ids=["greet"], lead_in=True)]


def _said(*ids: str, source: str = "canned") -> CompositionTrace:
    return CompositionTrace(mode="strict", source=source, said_guideline_ids=list(ids))


def test_only_the_greeting_said_for_a_need_ends_on_the_hand_off_after_its_lead_in():
    composition = _said("greet")
    text = with_hand_off(CANNED[0].template, composition, ["cancel_order"], HAND_OFF, CANNED)
    assert text == f"Hi, thanks for contacting us!\n{HAND_OFF}"
    assert "hand-off after the etiquette reply" in composition.notes[-1]


def test_a_said_need_move_no_need_move_or_the_fallback_itself_stay_as_they_are():
    assert with_hand_off("Hi! Which order?", _said("greet", "ask_order"), ["ask_order"], HAND_OFF, CANNED) == "Hi! Which order?"
    assert with_hand_off(CANNED[0].template, _said("greet"), [], HAND_OFF, CANNED) == CANNED[0].template
    assert with_hand_off(HAND_OFF, _said(source="fallback"), ["cancel_order"], HAND_OFF, CANNED) == HAND_OFF
    # a said guideline without a field-free lead-in keeps its own words before the hand-off
    assert with_hand_off("Thanks!", _said("thanks"), ["cancel_order"], HAND_OFF, CANNED) == f"Thanks!\n{HAND_OFF}"
