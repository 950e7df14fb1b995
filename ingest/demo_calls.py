"""The call style of the demo corpus: greeting-only openings, small talk, identification, holds.

`guideminer demo --call-style` wraps every conversation's need in what a phone call does around
it (pools and moves in `demo_catalog_calls`): the caller or the agent opens with greetings in
their own turns, the need comes after ("I'm calling because ..."; sometimes two needs in one
turn), the agent takes a spelled-out name and a callback number and reads them back, puts the
caller on hold once, and closes with "anything else?" and a goodbye. The need's own steps are
the same as in the chat/email corpus, so departments and situation guidelines keep their truth.
"""

from __future__ import annotations

from guideminer.ingest import demo_catalog as cat
from guideminer.ingest import demo_catalog_calls as calls
from guideminer.ingest.demo_builder import Builder, Scenario, Step
from guideminer.ingest.demo_catalog_index import CatalogIndex


def need_text(core: str, scenario: Scenario, b: Builder) -> str:
    """The caller's need statement: spoken frames, or the angry chat frames for angry callers."""
    frames = cat.STYLE_FRAMES["angry"] if scenario.style == "angry" else calls.CALL_NEED_FRAMES
    frame = b.rng.choice(frames)
    if "{Core}" in frame:
        return frame.replace("{Core}", core[0].upper() + core[1:])
    return frame.replace("{core}", core)


def open_call(b: Builder, index: CatalogIndex) -> None:
    """Greetings in their own turns before the need: the caller's "hello?", the agent's answer,
    a "how are you?" exchange."""
    if b.rng.random() < calls.CALLER_OPENS_RATE:
        b.customer(b.rng.choice(calls.CALL_HELLO), "smalltalk")
    b.agent(index.moves["greet"], ("g_greet",), calls.CALL_GREETINGS)
    if b.rng.random() < calls.PLEASANTRY_RATE:
        right_place = b.rng.random() < 0.3
        b.customer(b.rng.choice(calls.CALL_RIGHT_PLACE_QUESTIONS if right_place else calls.CALL_PLEASANTRY), "smalltalk")
        b.agent(index.moves["pleasantry"], ("g_pleasantry",), calls.CALL_RIGHT_PLACE if right_place else ())


def identify(b: Builder, index: CatalogIndex) -> None:
    """Name (spelled out), read back and confirmed, then a callback number."""
    if b.rng.random() >= calls.IDENTIFY_RATE:
        return
    for move_id in ("ask_name", "confirm_spelling", "ask_callback"):
        move = index.moves[move_id]
        b.agent(move, (f"g_{move_id}",))
        b.reply(move.expects or "")


def plan_hold(b: Builder, segments: list[list[Step]]) -> tuple[int, int] | None:
    """(segment, step) before which the agent puts the caller on hold, or None."""
    if b.rng.random() >= calls.HOLD_RATE:
        return None
    segment = b.rng.randrange(len(segments))
    return segment, b.rng.randrange(len(segments[segment]))


def finish_call(b: Builder, index: CatalogIndex) -> None:
    """"Anything else?", "no, that's all", goodbye, goodbye."""
    b.agent(index.moves["anything_else"], ("g_anything_else",))
    b.reply("nothing_else")
    b.agent(index.moves["goodbye"], ("g_goodbye",))
    b.reply("bye")
