"""The model-facing contracts of the engine, one task per protocol.

Each per-turn task (routing, cheap condition scoring, expensive yes/no verification, reply
writing, tool-argument extraction) is its own protocol with one method and a `model_id`, so each
can be bound to a different model (embedding model, grammar-constrained SLM, larger LLM, fake)
and the trace can say which model decided what. Nothing here imports a model library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from guideminer.engine.session import Message
from guideminer.engine.spec import CannedResponse, Department, Guideline, GlossaryTerm, ToolSpec


@dataclass(frozen=True)
class RouteDecision:
    """The router's best department, its confidence in [0, 1], and a score per department."""

    department_id: str
    confidence: float
    scores: Mapping[str, float]


@dataclass(frozen=True)
class ConditionScore:
    """Cheap estimate that a guideline's condition holds, in [0, 1].

    `score` judges the conversation (latest customer message plus a short window); `fresh` judges
    the latest customer message alone, or is None when the scorer cannot separate the two. The
    engine uses `fresh` to decide whether an already-applied action's condition arose anew.
    """

    score: float
    fresh: float | None = None
    # `fresh` before a calibration's cap at 1 (it may exceed 1); None = `fresh`. It only ranks
    # moves of different situations that both hold for one topic: "the 30 days are up but I
    # want to return the toaster" is closer to the late-return credit's examples (cosine 0.85)
    # than to the return policy's (0.72), and both are capped at 1.00.
    fresh_strength: float | None = None


@runtime_checkable
class DepartmentRouter(Protocol):
    model_id: str

    def route(
        self, conversation: Sequence[Message], departments: Sequence[Department]
    ) -> RouteDecision: ...


@runtime_checkable
class ConditionScorer(Protocol):
    model_id: str

    def score(
        self, conversation: Sequence[Message], guidelines: Sequence[Guideline]
    ) -> Mapping[str, ConditionScore]: ...


@runtime_checkable
class ConditionVerifier(Protocol):
    """Expensive yes/no judgement for the guidelines the scorer is unsure about."""

    model_id: str

    def verify(self, conversation: Sequence[Message], guideline: Guideline) -> bool: ...


@dataclass(frozen=True)
class ToolOutcome:
    """A tool call's result or error, as the composer sees it."""

    tool: str
    result: Any = None
    error: str | None = None


@dataclass(frozen=True)
class CompositionRequest:
    """Everything a fluid composer may use: instructions, facts, tool outcomes, context."""

    department: Department
    conversation: Sequence[Message]
    instructions: Sequence[Guideline]  # actionable guidelines to apply, most important first
    observations: Sequence[Guideline]  # conditions known to hold, for context
    tool_outcomes: Sequence[ToolOutcome]
    variables: Mapping[str, Any]
    glossary: Sequence[GlossaryTerm] = ()
    canned_hints: Sequence[CannedResponse] = field(default_factory=tuple)


@runtime_checkable
class ReplyComposer(Protocol):
    model_id: str

    def compose(self, request: CompositionRequest) -> str: ...


@runtime_checkable
class EchoFinder(Protocol):
    """Finds what a customer message says of each kind (PERSON, EMAIL, PHONE, ...), in order,
    for templates that read it back (`CannedResponse.echoes`)."""

    model_id: str

    def spans(self, text: str) -> list[tuple[str, str]]: ...  # (kind, surface text), in order


@runtime_checkable
class ToolArgumentExtractor(Protocol):
    """Proposes arguments for a tool call; the engine validates them against the tool's spec."""

    model_id: str

    def extract(
        self, tool: ToolSpec, conversation: Sequence[Message], variables: Mapping[str, Any]
    ) -> dict[str, Any]: ...
