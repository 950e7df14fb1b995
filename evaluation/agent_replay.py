"""Teacher-forced replay: the agent answers every recorded customer turn, the real history goes on.

Why teacher forcing: a held-out conversation can only be scored turn by turn if every turn sees
the history the real customer saw. So each conversation is replayed in order: agent turns
before a customer turn go into the session as they were (real agent messages, so a
previous-move gate sees the real previous move); at each customer turn the engine responds
(routing, matching, composition, its trace and latency recorded), then its own reply is taken
out of the history again and the real agent turns that followed are put in. The engine's own
state (department, applied guidelines, conditions held last turn) stays as the engine left it:
it is the agent's memory of what it decided, which no recorded conversation can supply.
System turns are not part of the dialogue and are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import polars as pl

from guideminer.engine import Engine, GuidelineStatus, Guideline, Message, Session
from guideminer.engine.moves import match_strength
from guideminer.engine.relations import order_applied


@dataclass(frozen=True)
class AgentTurn:
    """What the agent did at one recorded customer turn."""

    conversation_id: str
    turn_index: int
    department_id: str | None  # the department that handled the turn; None = receptionist clarify
    source: str  # composition source: canned | composer | fallback | clarify
    applied: tuple[str, ...]  # guidelines applied this turn, most important first (the reply's order)
    ms: float  # wall time of Engine.respond
    # of `applied`, those the reply says (CompositionTrace.said_guideline_ids); None = all of them
    said: tuple[str, ...] | None = None

    @property
    def spoken(self) -> tuple[str, ...]:
        """Applied guidelines the customer heard, most important first: a withheld one (its reply
        claims what no tool did, or needs a missing field) is no answer."""
        return self.applied if self.said is None else tuple(g for g in self.applied if g in self.said)


@dataclass(frozen=True)
class ConversationReplay:
    conversation_id: str
    department_id: str | None  # the first department the receptionist routed it to; None = never routed
    turns: tuple[AgentTurn, ...]


def _guideline_index(engine: Engine) -> dict[str, Guideline]:
    """guideline id -> guideline over every department and the global etiquette set: a turn may
    apply guidelines of another department (a second topic) and of the etiquette set."""
    sets = [*engine.spec.departments, *([engine.spec.etiquette] if engine.spec.etiquette else [])]
    return {g.id: g for d in sets for g in d.guidelines}


def _respond(engine: Engine, session: Session, conversation_id: str, turn: dict,
             guidelines: dict[str, Guideline]) -> AgentTurn:
    started = time.perf_counter()
    reply = engine.respond(session, turn["text"])
    ms = (time.perf_counter() - started) * 1000
    own = session.messages.pop()
    if own.role != "agent" or own.text != reply.text:
        raise RuntimeError(f"conversation {conversation_id!r} turn {turn['turn_index']}: the session's last "
                           "message is not the engine's reply (teacher forcing needs it last)")
    department = reply.trace.routing.department_id
    source = reply.trace.composition.source if reply.trace.composition else "fallback"
    applied_scores = {d.guideline_id: match_strength(d) for d in reply.trace.guidelines
                      if d.status is GuidelineStatus.applied}
    unknown = [g for g in applied_scores if g not in guidelines]
    if unknown:
        raise RuntimeError(f"conversation {conversation_id!r}: engine applied {unknown}, not in the spec")
    applied = tuple(g.id for g in order_applied((guidelines[g], s) for g, s in applied_scores.items()))
    said = tuple(reply.trace.composition.said_guideline_ids) if reply.trace.composition else ()
    return AgentTurn(conversation_id, turn["turn_index"], department, source, applied, ms, said)


def replay_conversation(engine: Engine, conversation_id: str, turns: Iterable[dict],
                        guidelines: dict[str, dict[str, Guideline]] | None = None,
                        before_turn: Callable[[str, int], None] | None = None) -> ConversationReplay:
    """Replay one conversation (module docstring); `turns` in turn order with role, text, turn_index.
    `before_turn(conversation_id, turn_index)` runs before each customer turn is answered (a
    recorded back end is told where the conversation is: evaluation/recorded_lookups.py)."""
    guidelines = guidelines if guidelines is not None else _guideline_index(engine)
    session = Session(session_id=conversation_id)
    answered: list[AgentTurn] = []
    for turn in turns:
        if turn["role"] == "customer":
            if before_turn is not None:
                before_turn(conversation_id, turn["turn_index"])
            answered.append(_respond(engine, session, conversation_id, turn, guidelines))
        elif turn["role"] == "agent":
            session.messages.append(Message(role="agent", text=turn["text"], turn=session.turn))
    first = next((t.department_id for t in answered if t.department_id is not None), None)
    return ConversationReplay(conversation_id, first, tuple(answered))


def replay_teacher_forced(engine: Engine, turns: pl.DataFrame, progress: Callable[[int], None] = lambda _: None,
                          before_turn: Callable[[str, int], None] | None = None) -> list[ConversationReplay]:
    """Replay every conversation of `turns` (conversation_id, turn_index, role, text), by id."""
    guidelines = _guideline_index(engine)
    ordered = turns.with_columns(pl.col("role").cast(pl.String)).sort("conversation_id", "turn_index")
    replays = []
    for number, (key, group) in enumerate(ordered.group_by("conversation_id", maintain_order=True), start=1):
        replays.append(replay_conversation(engine, key[0], group.iter_rows(named=True), guidelines, before_turn))
        progress(number)
    return replays
