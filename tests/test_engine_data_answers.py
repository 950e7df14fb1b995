"""A message that only gives what the agent asked for (an order number, a phone number) is
answered by the step the agent's question placed, never by another situation's move."""

from __future__ import annotations

import pytest

from guideminer.engine import Guideline, GuidelineStatus
from guideminer.engine.moves import ANSWER_ONLY, data_answers_open_nothing
from guideminer.engine.router import carries_words, gives_data_only
from guideminer.engine.trace import GuidelineDecision

ASKED = "To pull up the order I'll need the order number, please."


@pytest.mark.parametrize("text, asked, data_only", [
    ("Sure, LF-123456", ASKED, True),
    ("order number is 4090683448", ASKED, True),  # the words echo the question
    ("its #2004739", "", True),
    ("It's <PHONE>.", "", True),
    ("order number is 4090683448", "", False),  # nothing asked about an order: "order" is the customer's
    ("Yes.", ASKED, False),  # an agreement is answered by the agreement's rules
    ("Do you have anything else?", "", False),  # function words, but no data: SGD's request for more options
    ("The order number is #8309586 and I just uploaded two photos.", ASKED, False),
    ("table for 4 please", "", False),
])
def test_data_only_answers(text, asked, data_only):
    assert gives_data_only(text, asked) is data_only


def test_an_id_said_alone_carries_no_word_of_a_need():
    assert not carries_words("LF-123456") and not carries_words("#8309586")
    assert carries_words("LF-335118, photo attached")


def _decision(gid: str) -> GuidelineDecision:
    return GuidelineDecision(guideline_id=gid, actionable=True, score=0.8, fresh_score=0.75, condition_holds=True,
                             status=GuidelineStatus.applied, decided_by="scorer", model_id="fake")


GUIDELINES = {
    "g_address": Guideline(id="g_address", condition="the customer put the wrong address on the order",
                           action="ask for the new address"),
    "g_status": Guideline(id="g_status", condition="the parcel never arrived", action="give the tracking status",
                          after_examples=(ASKED,), continues_need=True),
    "e_thanks": Guideline(id="e_thanks", condition="the customer gives a detail", action="thank them"),
}
LANES = {"g_address": "department", "g_status": "department", "e_thanks": "etiquette"}


def test_an_order_number_gets_the_placed_step_not_another_situations_move():
    """Whole demo, before: after "my parcel never arrived" -> "I'll need the order number",
    "LF-123456" got the change-of-address question (fresh cosine 0.74 to its examples)."""
    out = {d.guideline_id: d for d in data_answers_open_nothing([_decision(g) for g in GUIDELINES], GUIDELINES,
                                                                LANES, "LF-123456", ASKED)}
    assert out["g_address"].status is GuidelineStatus.deferred and out["g_address"].reasons[-1] == ANSWER_ONLY
    assert out["g_status"].status is GuidelineStatus.applied  # placed by the agent's question
    assert out["e_thanks"].status is GuidelineStatus.applied  # etiquette answers any message


def test_a_message_with_words_of_a_need_is_left_to_the_matcher():
    decisions = [_decision(g) for g in GUIDELINES]
    for text in ("I also put the wrong address on it, LF-123456", "Yes."):
        assert all(d.status is GuidelineStatus.applied
                   for d in data_answers_open_nothing(decisions, GUIDELINES, LANES, text, ASKED))


def test_a_guideline_about_the_data_itself_still_answers_it():
    """Demo 11, before this exemption: "its <CARD>" lost the warning never to share a full card
    number, a rule mined from customers giving one."""
    warn = {"g_warn": Guideline(id="g_warn", condition="the customer gives a full card number",
                                action="warn them never to share it", examples=("card: <CARD>", "its <CARD>"))}
    out = data_answers_open_nothing([_decision("g_warn")], warn, {"g_warn": "department"}, "it's <CARD>", "Which card?")
    assert out[0].status is GuidelineStatus.applied


def test_in_a_conversation_an_order_number_gets_the_same_situations_next_step_only():
    """End to end on the shop agent: the step deferred from the return (same situation) may follow
    an order number; another situation's move, whose examples hold the same id, may not."""
    from test_engine_etiquette import shop_engine, shop_spec

    from guideminer.engine import Session

    spec = shop_spec()
    returns = spec.department("returns")
    address = Guideline(id="g_address", condition="the customer gave the wrong address",
                        examples=("LF-123456 wrong address",), action="ask for the new address")
    spec = spec.model_copy(update={"departments": (returns.model_copy(update={"guidelines": (*returns.guidelines, address)}),
                                                   *spec.departments[1:])})
    engine, session = shop_engine(spec), Session()
    engine.respond(session, "I want to return my laptop")
    reply = engine.respond(session, "LF-123456")
    assert reply.trace.decision("g_address").reasons[-1] == ANSWER_ONLY
    assert reply.trace.decision("g_return_refund").status is GuidelineStatus.applied
