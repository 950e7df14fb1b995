"""Per-turn traces: why the agent said what it said.

Every reply carries one `TurnTrace`, and the session keeps them all, so a reviewer can answer
"which guidelines applied, who decided, what did the tools return, how long did it take" for any
turn without re-running models. Reasons are short human-readable strings such as
`score 0.82 >= accept 0.70`, `suppressed by priority of g3`, `already applied at turn 2`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field


class GuidelineStatus(str, Enum):
    applied = "applied"  # actionable, active, its action is an instruction for this reply
    observed = "observed"  # observation (no action) whose condition holds
    already_applied = "already_applied"  # active, but its action was applied before
    suppressed = "suppressed"  # active, but a higher-priority active guideline overrides it
    dependency_unmet = "dependency_unmet"  # matched, but a guideline it depends on is not active
    # active and never applied, but another instruction answers the same part of the message
    # this turn (one agent move per topic, as agents reply); it may apply at a later turn
    deferred = "deferred"
    inactive = "inactive"  # condition judged not to hold


DecidedBy = Literal["scorer", "verifier", "default", "best_match", "entailment"]


class GuidelineDecision(BaseModel):
    """One guideline considered this turn (every guideline of each evaluated set appears).

    `department_id` names the set it belongs to (the routed department, the etiquette set, or
    another department answering one part of a several-topic message); `segment` is the part of
    the latest customer message it was attributed to when that message has several parts.
    """

    guideline_id: str
    department_id: str | None = None
    segment: str | None = None
    actionable: bool
    score: float | None
    fresh_score: float | None = None
    fresh_strength: float | None = None  # fresh_score before the calibration's cap at 1 (ranking only)
    whole_score: float | None = None  # the whole message's score, when sentences were scored too
    decided_by: DecidedBy
    model_id: str
    condition_holds: bool
    status: GuidelineStatus = GuidelineStatus.inactive
    reasons: list[str] = Field(default_factory=list)


class RoutingTrace(BaseModel):
    """Which department handled the turn and how that was chosen."""

    department_id: str | None
    method: Literal["router", "sticky", "router_transfer", "guideline_transfer", "unrouted", "etiquette_wait"]
    router_model_id: str | None = None
    confidence: float | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    reason: str


class ToolError(BaseModel):
    """A tool problem reported in the trace and to the composer; never raised through a turn."""

    kind: Literal["arguments", "validation", "execution", "not_registered"]
    message: str


class ToolCallTrace(BaseModel):
    tool: str
    requested_by: list[str]
    arguments: dict[str, Any]
    result: Any = None
    error: ToolError | None = None
    duration_ms: float = 0.0


class CompositionTrace(BaseModel):
    mode: str
    source: Literal["composer", "canned", "fallback", "clarify", "given"]  # given: a restored turn
    composer_model_id: str | None = None
    canned_response_ids: list[str] = Field(default_factory=list)
    # the applied guidelines the reply says (a canned text of theirs was sent, or the composer
    # was instructed with them); an applied guideline missing here was withheld (notes say why)
    said_guideline_ids: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class TransferRecord(BaseModel):
    turn: int
    from_department: str
    to_department: str
    trigger: Literal["router", "guideline"]
    reason: str


class TurnTrace(BaseModel):
    turn: int
    routing: RoutingTrace
    segments: list[str] = Field(default_factory=list)  # parts of the customer message, when several
    # the given agent reply: this turn was rebuilt from a client's history (no tools, no composer)
    restored: bool = False
    guidelines: list[GuidelineDecision] = Field(default_factory=list)
    tool_calls: list[ToolCallTrace] = Field(default_factory=list)
    composition: CompositionTrace | None = None
    transfer: TransferRecord | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def decision(self, guideline_id: str) -> GuidelineDecision:
        for decision in self.guidelines:
            if decision.guideline_id == guideline_id:
                return decision
        raise KeyError(f"turn {self.turn} considered no guideline {guideline_id!r}")

    def ids_with_status(self, status: GuidelineStatus) -> list[str]:
        return [d.guideline_id for d in self.guidelines if d.status is status]

    @property
    def applied_guideline_ids(self) -> list[str]:
        """Every guideline whose action this reply carries, from every evaluated set."""
        return self.ids_with_status(GuidelineStatus.applied)


class StageTimer:
    """Collects wall-clock milliseconds per named stage into a dict the trace keeps."""

    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - start) * 1000.0
            self.timings_ms[name] = round(self.timings_ms.get(name, 0.0) + elapsed, 3)
