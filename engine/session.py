"""Conversation state the engine carries between turns, serialisable to JSON.

The session is the only mutable object in the engine: the per-turn pieces are pure functions of
(spec, session, message) and the engine writes their outcome back here. Keeping the applied
history and the previous turn's matched conditions here is what makes "do not re-apply an
action" decidable without re-reading the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from guideminer.engine.trace import TransferRecord, TurnTrace


class Message(BaseModel):
    role: Literal["customer", "agent"]
    text: str
    turn: int


def with_latest_text(conversation: Sequence[Message], text: str) -> list[Message]:
    """The conversation with its latest customer message's text replaced (one sentence of it)."""
    latest = max(i for i, m in enumerate(conversation) if m.role == "customer")
    return [*conversation[:latest], conversation[latest].model_copy(update={"text": text}), *conversation[latest + 1:]]


class AppliedAction(BaseModel):
    """A guideline whose action was an instruction for the reply of `turn`."""

    guideline_id: str
    turn: int
    department_id: str


class Session(BaseModel):
    session_id: str = "session"
    messages: list[Message] = Field(default_factory=list)
    department_id: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    applied: list[AppliedAction] = Field(default_factory=list)
    conditions_held_last_turn: list[str] = Field(default_factory=list)
    # department moves deferred while the agent identified the caller or said a move alone
    # (engine/moves.py `department_waits`): said once the detour is over
    waiting: list[str] = Field(default_factory=list)
    transfers: list[TransferRecord] = Field(default_factory=list)
    traces: list[TurnTrace] = Field(default_factory=list)

    @property
    def turn(self) -> int:
        """Number of customer messages so far (the current turn once the message is added)."""
        return sum(1 for m in self.messages if m.role == "customer")

    def last_applied_turn(self, guideline_id: str) -> int | None:
        turns = [a.turn for a in self.applied if a.guideline_id == guideline_id]
        return max(turns) if turns else None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> Session:
        return cls.model_validate_json(text)


@dataclass(frozen=True)
class SessionCheckpoint:
    """The session fields a turn changes (all append-only lists or plain values): a turn that
    fails half-way is rolled back to it (Engine.respond)."""

    messages: int
    applied: int
    transfers: int
    traces: int
    department_id: str | None
    conditions_held_last_turn: tuple[str, ...]
    waiting: tuple[str, ...]

    @classmethod
    def of(cls, session: Session) -> SessionCheckpoint:
        return cls(len(session.messages), len(session.applied), len(session.transfers),
                   len(session.traces), session.department_id, tuple(session.conditions_held_last_turn),
                   tuple(session.waiting))

    def restore(self, session: Session) -> None:
        del session.messages[self.messages:], session.applied[self.applied:]
        del session.transfers[self.transfers:], session.traces[self.traces:]
        session.department_id = self.department_id
        session.conditions_held_last_turn = list(self.conditions_held_last_turn)
        session.waiting = list(self.waiting)
