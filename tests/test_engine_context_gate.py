"""Previous-move gate: "yes" triggers "play it" only right after the agent offered to play."""

from __future__ import annotations

from engine_fakes import FAKE_CALIBRATION, FixedScorer, HashedBagOfWordsEmbedder

from guideminer.engine import Guideline, Message, PreviousMoveGate

PLAY = Guideline(id="play", condition="the customer agrees", examples=("yes please",), action="start playback",
                 after_examples=("shall I play the movie now?", "do you want me to play it?"))
PLAIN = Guideline(id="plain", condition="the customer agrees", action="continue")


def conversation(agent_text: str | None) -> list[Message]:
    said = [Message(role="customer", text="find me a movie", turn=1)]
    if agent_text is not None:
        said.append(Message(role="agent", text=agent_text, turn=1))
    return said + [Message(role="customer", text="yes please", turn=2)]


def gate() -> PreviousMoveGate:
    return PreviousMoveGate(FixedScorer({"play": 0.9, "plain": 0.9}, fresh={"play": 0.8, "plain": 0.8}),
                            HashedBagOfWordsEmbedder(), calibration=FAKE_CALIBRATION)


def test_gated_guideline_holds_only_after_its_agent_move():
    scorer = gate()
    after_offer = scorer.score(conversation("Shall I play the movie now?"), [PLAY, PLAIN])
    after_other = scorer.score(conversation("Which city are you in?"), [PLAY, PLAIN])
    assert after_offer["play"].score == 0.9 and after_offer["play"].fresh == 0.8  # capped by a gate of 1.0
    assert after_other["play"].score < 0.2 and after_other["play"].fresh < 0.2
    assert after_other["plain"].score == 0.9  # no after_examples: passes through


def test_no_agent_message_yet_means_the_gate_is_closed():
    scores = gate().score(conversation(None), [PLAY])
    assert scores["play"].score == 0.0


def test_gate_reads_the_agent_message_before_the_latest_customer_message():
    said = conversation("Shall I play the movie now?") + [Message(role="agent", text="Which city?", turn=2)]
    assert gate().score(said, [PLAY])["play"].score == 0.9  # an agent reply after "yes" is not its context
