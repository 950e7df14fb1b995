"""The opening move: the agents' greeting at a conversation's start, mined by position
(mining/openers.py) and held at run time exactly when the agent has not spoken yet
(engine `Guideline.position`); and the identification question after the first need."""

from __future__ import annotations

import polars as pl

import pytest
from engine_fakes import FAKE_CALIBRATION, HashedBagOfWordsEmbedder
from proposals_world import _seq, assignments_from, clusters_table
from test_engine_etiquette import GREETING_TEXT, RETURN_TEXT, shop_engine, shop_spec

from guideminer.engine import AgentSpec, EmbeddingConditionScorer, EmbeddingRouter, Engine, Guideline, GuidelineStatus, Session
from guideminer.engine.matching import MatchingPolicy
from guideminer.engine.turn import EngineSettings
from guideminer.offline_runtime.template_composer import TemplateComposer
from guideminer.evaluation.gold import ANY_CONDITION, Gold
from guideminer.evaluation.proposals import gold_target, map_proposals
from guideminer.mining.guidelines import GuidelineParams, propose_guidelines
from guideminer.mining.habits import merge_habits
from guideminer.mining.openers import (
    CONDITIONS, CONVERSATION_START, START_CONDITION, OpeningParams, belonging_clusters, point_turns,
    positional_proposal, with_positional_move, with_positional_moves,
)
from guideminer.mining.proposals_schema import GuidelineSet

CUSTOMER = {
    1: (["damaged"], ["my kettle arrived damaged", "the box was crushed"]),
    2: (["charged twice"], ["I was charged twice", "you took the payment twice"]),
    8: (["hello"], ["hello", "hi there"]),
    9: (["thanks"], ["thanks", "thank you"]),
}
AGENT = {
    10: (["order number"], ["Could you share the order number?", "What's the order number?"]),
    12: (["last four digits"], ["Which card was it? The last four digits, please.", "The last 4 digits?"]),
    17: (["welcome"], ["Hello, thank you for contacting Larkfield. I'll be helping you today.",
                       "Hello, thank you for contacting Larkfield, I'll be helping you today."]),
    18: (["goodbye"], ["Take care, goodbye!", "Bye!"]),
}
ETIQUETTE = [8, 9, 17, 18]


def _world(sequences: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    clusters = clusters_table(CUSTOMER, AGENT).with_columns(pl.col("cluster_id").is_in(ETIQUETTE).alias("is_etiquette"))
    return assignments_from(sequences), clusters


CHATS = {**{f"d{i}": _seq("c1", "a17", "a10", "c9", "a18") for i in range(8)},
         **{f"b{i}": _seq("c2", "a17", "a12", "c9", "a18") for i in range(8)},
         **{f"h{i}": _seq("c8", "a17", "c2", "a12", "c9", "a18") for i in range(6)}}


def test_the_greeting_every_conversation_starts_with_is_one_opening_rule():
    assignments, clusters = _world(CHATS)
    opening, _ = positional_proposal(assignments, clusters, set(ETIQUETTE), "conversation_start")
    assert opening is not None and opening.position == "conversation_start" and opening.is_etiquette
    assert opening.condition.cluster_id == CONVERSATION_START and opening.condition_text == START_CONDITION
    assert opening.action.cluster_id == 17 and opening.scores.support == len(CHATS)
    assert opening.rule_text.startswith(f"When {START_CONDITION}, ") and "thank you for contacting" in opening.rule_text
    # evidence: the customer's first message and the greeting that answered it
    assert all(e.condition_turn_index == 0 and e.action_turn_index == 1 for e in opening.evidence)


def test_on_calls_the_agent_greets_before_the_customer_speaks_and_the_rule_still_holds():
    calls = {f"k{i}": _seq("a17", "c1", "a10", "c9", "a18") for i in range(10)}
    opening, _ = positional_proposal(*_world(calls), set(ETIQUETTE), "conversation_start")
    assert opening is not None and opening.action.cluster_id == 17
    assert all(e.condition_turn_index == -1 for e in opening.evidence)  # no customer turn before it


def test_a_move_also_made_later_or_by_few_agents_is_no_opening():
    assignments, clusters = _world(CHATS)
    # closings are etiquette too, but never the first thing an agent says
    points = point_turns(assignments, set(ETIQUETTE), "conversation_start")
    assert set(belonging_clusters(assignments, points, set(ETIQUETTE), OpeningParams())) == {17}
    few = {**{f"d{i}": _seq("c1", "a10", "c9", "a18") for i in range(8)},
           **{f"g{i}": _seq("c1", "a17", "a10", "c9", "a18") for i in range(3)}}
    assert positional_proposal(*_world(few), set(ETIQUETTE), "conversation_start")[0] is None  # 3 of 11: a few agents' style
    assert positional_proposal(assignments, clusters, set(ETIQUETTE), "conversation_start",
                               OpeningParams(enabled=False))[0] is None
    assert positional_proposal(assignments, clusters, set(ETIQUETTE), "first_need")[0] is None  # chats: the need is answered


def test_the_greeting_rule_for_hello_is_merged_into_the_opening_move():
    assignments, clusters = _world(CHATS)
    proposals = merge_habits(propose_guidelines(assignments, clusters, GuidelineParams()), clusters,
                             assignments=assignments)
    greeting = [p for p in proposals if p.is_etiquette and p.action.cluster_id == 17]
    assert greeting, "the planted 'hello -> greet' etiquette rule is mined"
    opening, _ = positional_proposal(assignments, clusters, set(ETIQUETTE), "conversation_start")
    merged = with_positional_move(proposals, opening, {17})
    assert merged[0].position == "conversation_start" and not [p for p in merged[1:] if p.action.cluster_id == 17]
    assert {p.guideline_id for p in greeting} <= set(merged[0].merged_from)
    assert len(merged[0].evidence) == len(opening.evidence) + sum(len(p.evidence) for p in greeting)


def test_the_opening_move_claims_the_generic_start_guideline_in_eval_proposals():
    opening, _ = positional_proposal(*_world(CHATS), set(ETIQUETTE), "conversation_start")
    gold = Gold(pl.DataFrame(), pl.DataFrame(), {("damaged", "ask_order")}, {"greet"}, {"damaged"})
    (mapped,) = map_proposals(GuidelineSet(thresholds={}, ranked_by="support", n_conversations=1, proposals=[opening]),
                              {17: "greet"}, {})
    assert mapped.pair == (ANY_CONDITION, "greet") and gold_target(mapped.pair, gold) == (ANY_CONDITION, "greet")


OPENING_TEXT = "Hello, thank you for contacting Larkfield."


def _spec_with_opening() -> AgentSpec:
    spec = shop_spec()
    opening = Guideline(id="e_open", condition=START_CONDITION, action="greet the customer", position="conversation_start",
                        priority=100)
    etiquette = spec.etiquette.model_copy(update={
        "guidelines": (opening, *spec.etiquette.guidelines),
        "canned_responses": (*spec.etiquette.canned_responses,
                             spec.etiquette.canned_responses[0].model_copy(update={
                                 "id": "c_open", "template": OPENING_TEXT, "guideline_ids": ("e_open",)}))})
    return spec.model_copy(update={"etiquette": etiquette})


def test_the_first_message_gets_the_opening_before_the_answer_and_later_ones_never():
    engine, session = shop_engine(_spec_with_opening()), Session()
    first = engine.respond(session, "I want to return my laptop")
    assert first.trace.routing.department_id == "returns"  # the opening holds, routing does not wait for it
    assert set(first.trace.applied_guideline_ids) == {"e_open", "g_return"}
    assert first.text == f"{OPENING_TEXT}\n\n{RETURN_TEXT}"  # the opening leads
    assert "the conversation starts" in first.trace.decision("e_open").reasons[-1]
    later = engine.respond(session, "hello? I want to return my laptop")
    assert later.trace.decision("e_open").status is GuidelineStatus.inactive
    assert OPENING_TEXT not in later.text


def test_a_first_hello_gets_one_greeting_and_the_need_question():
    """With the runtime's one move per topic, the opening and the spec's "greets -> greet back"
    rule answer the same part of the message: one greeting, not two (the opening ranks first, as
    a mined one does: mining merges greeting rules into it and ranks it first)."""
    message = "Hello there, good morning"
    spec = _spec_with_opening()
    embedder = HashedBagOfWordsEmbedder()
    engine = Engine(spec, router=EmbeddingRouter(embedder, spec, calibration=FAKE_CALIBRATION),
                    scorer=EmbeddingConditionScorer(embedder, spec, calibration=FAKE_CALIBRATION),
                    composer=TemplateComposer(), settings=EngineSettings(matching=MatchingPolicy(moves_per_topic=1)))
    session = Session()
    hello = engine.respond(session, message)
    assert hello.trace.routing.department_id is None and "e_open" in hello.trace.applied_guideline_ids
    assert hello.text.startswith(OPENING_TEXT) and hello.text.endswith("?")
    # one greeting, not two: the "greets -> greet back" rule is the same etiquette move for this message
    assert GREETING_TEXT not in hello.text and hello.trace.decision("e_greet").status is GuidelineStatus.deferred


NAME_QUESTION = (["name"], ["Sure, I can look into that. Can I start with your name?", "Okay, may I have your name, please?"])
SPELLED = (["spelled"], ["it's S-M-I-T-H", "J-O-N-E-S"])
READ_BACK = (["correct"], ["So that's S-M-I-T-H, correct?", "Let me read that back: J-O-N-E-S, is that right?"])


def _call_world(share_identified: int = 10, answered_directly: int = 0):
    """Calls: the agent greets first; after the need (whatever it is) most agents ask the name."""
    customer = {**CUSTOMER, 5: SPELLED}
    agent = {**AGENT, 14: NAME_QUESTION, 15: READ_BACK}
    clusters = clusters_table(customer, agent).with_columns(
        pl.col("cluster_id").is_in([*ETIQUETTE, 5, 14, 15]).alias("is_etiquette"))
    calls = {**{f"k{i}": _seq("a17", "c8", "a17!", "c1", "a14", "c5", "a15", "c9", "a10", "c9", "a18")
                for i in range(share_identified)},
             **{f"m{i}": _seq("a17", "c2", "a14", "c5", "a15", "c9", "a12", "c9", "a18") for i in range(share_identified)},
             **{f"n{i}": _seq("a17", "c2", "a12", "c9", "a18") for i in range(answered_directly)}}
    return assignments_from(calls), clusters


def test_the_question_every_need_gets_first_on_calls_is_one_rule_after_the_need():
    assignments, clusters = _call_world()
    etiquette = {*ETIQUETTE, 5, 14, 15}
    points = point_turns(assignments, etiquette, "first_need")
    assert set(points["condition_turn"].to_list()) == {1, 3}  # the first need turn of each call
    identify, belonging = positional_proposal(assignments, clusters, etiquette, "first_need", exclude=frozenset({17}))
    assert identify is not None and identify.position == "first_need" and belonging == {14}
    assert identify.action.cluster_id == 14 and identify.condition_text == CONDITIONS["first_need"]
    assert identify.condition.cluster_id != CONVERSATION_START
    # both positional moves, the opening first; the read-back is not at a point (it follows the spelling)
    moves = with_positional_moves([], assignments, clusters, etiquette)
    assert [p.position for p in moves] == ["conversation_start", "first_need"]


def test_no_identification_rule_where_most_agents_answer_the_need_directly():
    assignments, clusters = _call_world(share_identified=3, answered_directly=20)
    etiquette = {*ETIQUETTE, 5, 14, 15}
    assert positional_proposal(assignments, clusters, etiquette, "first_need")[0] is None


NAME_TEXT = "Sure, I can look into that. Can I start with your name?"


def _spec_with_identification() -> AgentSpec:
    spec = _spec_with_opening()
    identify = Guideline(id="e_name", condition=CONDITIONS["first_need"], action="ask for the name", position="first_need")
    etiquette = spec.etiquette.model_copy(update={
        "guidelines": (*spec.etiquette.guidelines, identify),
        "canned_responses": (*spec.etiquette.canned_responses, spec.etiquette.canned_responses[0].model_copy(
            update={"id": "c_name", "template": NAME_TEXT, "guideline_ids": ("e_name",)}))})
    return spec.model_copy(update={"etiquette": etiquette})


def test_the_identification_question_answers_the_need_turn_and_the_need_waits():
    engine, session = shop_engine(_spec_with_identification()), Session()
    hello = engine.respond(session, "Hello there, good morning")
    assert "e_name" not in hello.trace.applied_guideline_ids and session.department_id is None
    need = engine.respond(session, "I want to return my laptop")
    assert need.trace.routing.department_id == "returns" and need.trace.applied_guideline_ids == ["e_name"]
    assert need.text == NAME_TEXT and need.trace.decision("g_return").status is GuidelineStatus.deferred
    later = engine.respond(session, "it's Smith. I want to return my laptop")
    assert later.trace.decision("e_name").status is GuidelineStatus.inactive  # once, at the need only
    assert "g_return" in later.trace.applied_guideline_ids and RETURN_TEXT in later.text


@pytest.mark.parametrize(("confidence", "opens"), [(0.9, True), (0.4, False)])
def test_where_agents_identify_first_a_confident_routing_opens_though_no_move_holds_yet(confidence, opens):
    """Call style: the need is clear ("my app crashes on the login screen") but the department's
    mined moves are later steps. The agents ask for the name first whatever the need, so a
    confident routing opens the department with that question, and the department then keeps the
    conversation; a doubtful one stays an unknown need (the receptionist asks)."""
    from engine_fakes import FixedRouter, FixedScorer

    engine = Engine(_spec_with_identification(), router=FixedRouter("returns", confidence), scorer=FixedScorer(),
                    composer=TemplateComposer())
    session = Session()
    need = engine.respond(session, "my app crashes on the login screen")
    assert (session.department_id == "returns") is opens
    if opens:
        assert "e_name" in need.trace.applied_guideline_ids and NAME_TEXT in need.text
    else:
        assert "unknown need" in need.trace.routing.reason and NAME_TEXT not in need.text


def test_an_opening_before_an_answer_says_its_lead_in_not_its_question():
    from guideminer.engine.compose import select_canned
    from guideminer.engine.spec import CannedResponse

    opening = Guideline(id="e_open", condition=START_CONDITION, action="greet", position="conversation_start")
    answer = Guideline(id="g_return", condition="the customer wants to return an item", action="send a label")
    canned = [CannedResponse(id="c_lead", template="Hi, thanks for contacting Larkfield!", guideline_ids=("e_open",), lead_in=True),
              CannedResponse(id="c_open", template="Hi, thanks for contacting Larkfield! How can I help?", guideline_ids=("e_open",)),
              CannedResponse(id="c_return", template=RETURN_TEXT, guideline_ids=("g_return",))]
    assert select_canned(canned, [opening, answer], {}).texts == ["Hi, thanks for contacting Larkfield!", RETURN_TEXT]
    assert select_canned(canned, [opening], {}).texts == ["Hi, thanks for contacting Larkfield! How can I help?"]
    # no lead-in: the question is not asked before the answer
    assert select_canned(canned[1:], [opening, answer], {}).texts == [RETURN_TEXT]


def test_export_gives_the_opening_a_lead_in():
    from guideminer.mining.claims import lead_in_part

    assert lead_in_part("Hi, thanks for contacting Larkfield! How can I help you today?") == "Hi, thanks for contacting Larkfield!"
    assert lead_in_part("Thank you for calling {person_1}, my name is {person_2}. How can I help you today?") is None
    assert lead_in_part("Hi, thanks for contacting Larkfield!") is None  # nothing to cut: the text itself


def test_a_move_said_alone_makes_the_departments_context_moves_wait_not_the_asked_ones():
    from guideminer.engine.moves import department_waits
    from guideminer.engine.trace import GuidelineDecision

    guidelines = {"e_hold": Guideline(id="e_hold", condition="the customer gives their number", action="hold",
                                      stands_alone=True),
                  "g_order": Guideline(id="g_order", condition="the parcel never arrived", action="ask for the order number"),
                  "g_warranty": Guideline(id="g_warranty", condition="asks about the warranty", action="explain it")}
    lanes = {"e_hold": "etiquette", "g_order": "department", "g_warranty": "department"}
    decisions = [GuidelineDecision(guideline_id=g, actionable=True, score=0.8, fresh_score=fresh, condition_holds=True,
                                   status=GuidelineStatus.applied, decided_by="scorer", model_id="fake")
                 for g, fresh in (("e_hold", 0.9), ("g_order", 0.2), ("g_warranty", 0.9))]
    waited = {d.guideline_id: d.status for d in department_waits(decisions, guidelines, lanes, accept=0.7)}
    assert waited == {"e_hold": GuidelineStatus.applied, "g_order": GuidelineStatus.deferred,
                      "g_warranty": GuidelineStatus.applied}
    alone = {**guidelines, "e_hold": guidelines["e_hold"].model_copy(update={"stands_alone": False})}
    assert all(d.status is GuidelineStatus.applied for d in department_waits(decisions, alone, lanes, accept=0.7))



def test_moves_deferred_by_a_closing_said_alone_do_not_wait_for_a_later_turn():
    """Whole demo, before: "ok thanks" got "that's everything on my side. Anything else?" and the
    delivery-date move it deferred came back on "no, that's all"."""
    from guideminer.engine.moves import department_waits, still_waiting
    from guideminer.engine.trace import GuidelineDecision

    guidelines = {"e_agree": Guideline(id="e_agree", condition="the customer agrees", action="close the flow",
                                       stands_alone=True, move="m-done"),
                  "e_end": Guideline(id="e_end", condition="answers the last step", action="close the flow",
                                     stands_alone=True, ends_flow=True, move="m-done"),
                  "g_date": Guideline(id="g_date", condition="asks when the order ships", action="give the date")}
    lanes = {"e_agree": "etiquette", "e_end": "etiquette", "g_date": "department"}
    decisions = [GuidelineDecision(guideline_id=g, actionable=True, score=0.8, fresh_score=fresh, condition_holds=True,
                                   status=GuidelineStatus.applied, decided_by="scorer", model_id="fake")
                 for g, fresh in (("e_agree", 0.9), ("g_date", 0.2))]
    out = department_waits(decisions, guidelines, lanes, accept=0.7)
    assert {d.guideline_id: d.status for d in out}["g_date"] is GuidelineStatus.deferred
    assert still_waiting(out) == []  # the agreement rule is the ending's move: the flow is closed
    other_move = {**guidelines, "e_agree": guidelines["e_agree"].model_copy(update={"move": "m-hold"})}
    assert still_waiting(department_waits(decisions, other_move, lanes, accept=0.7)) == ["g_date"]


def test_a_need_move_deferred_for_the_identification_is_said_once_the_caller_answered():
    """The need's move waits while the agent asks the name (`Session.waiting`) and comes back on
    the next turn, though "it's Smith" alone matches nothing of the department."""
    from engine_fakes import FixedRouter, FixedScorer

    scorer = FixedScorer({"g_return": 0.9})
    engine = Engine(_spec_with_identification(), router=FixedRouter("returns", 0.9), scorer=scorer,
                    composer=TemplateComposer())
    session = Session()
    need = engine.respond(session, "I want to return my laptop")
    assert NAME_TEXT in need.text and session.waiting == ["g_return"]
    scorer.scores = {}  # the name matches no department guideline
    answered = engine.respond(session, "it's Smith")
    assert "g_return" in answered.trace.applied_guideline_ids and RETURN_TEXT in answered.text
    assert "resumed" in answered.trace.decision("g_return").reasons[-1] and session.waiting == []


def test_a_need_in_the_first_message_gets_the_greeting_and_the_identification_question():
    """In chat the customer often speaks first: the greeting (conversation start) and the
    identification question (first need) are both due; positional moves hold at points, so the
    greeting does not defer the identification, and the need's move waits for it (with the
    runtime's one move per topic)."""
    from dataclasses import replace

    engine, session = shop_engine(_spec_with_identification()), Session()
    engine.settings = replace(engine.settings, matching=replace(engine.settings.matching, moves_per_topic=1))
    need = engine.respond(session, "I want to return my laptop")
    applied = need.trace.applied_guideline_ids
    assert "e_name" in applied and "e_open" in applied and NAME_TEXT in need.text
    assert need.trace.decision("g_return").status is GuidelineStatus.deferred
