"""Run an approved agent spec: receptionist routing, guideline matching, tools, composition, traces.

Public API (import from here):
- spec: `AgentSpec`, `Department`, `Guideline`, `Relationship`, `CannedResponse`, `ToolSpec`,
  `load_agent_spec`, `dump_agent_spec`, `SpecLoadError`
- engine: `Engine`, `EngineSettings`, `RoutingPolicy`, `MatchingPolicy`, `Reply`, `Session`
- protocols: `DepartmentRouter`, `ConditionScorer`, `ConditionVerifier`, `ReplyComposer`,
  `ToolArgumentExtractor`; embedding implementations `EmbeddingRouter`,
  `EmbeddingConditionScorer`, `PreviousMoveGate`; tools `ToolRegistry`
"""

from guideminer.engine.context_gate import PreviousMoveGate
from guideminer.engine.embedding import (
    EmbeddingConditionScorer,
    EmbeddingRouter,
    LinearCalibration,
    MemoizingEmbedder,
)
from guideminer.engine.matching import MatchingPolicy
from guideminer.engine.protocols import (
    CompositionRequest,
    ConditionScore,
    ConditionScorer,
    ConditionVerifier,
    DepartmentRouter,
    ReplyComposer,
    RouteDecision,
    ToolArgumentExtractor,
    ToolOutcome,
)
from guideminer.engine.router import RoutingPolicy
from guideminer.engine.session import Message, Session
from guideminer.engine.spec import (
    AgentSpec,
    CannedResponse,
    CompositionMode,
    Criticality,
    Department,
    GlossaryTerm,
    Guideline,
    Receptionist,
    RelationKind,
    Relationship,
    ToolParam,
    ToolSpec,
)
from guideminer.engine.spec_io import SpecLoadError, dump_agent_spec, load_agent_spec
from guideminer.engine.tools import SessionVariableArguments, ToolRegistry
from guideminer.engine.trace import GuidelineStatus, TurnTrace
from guideminer.engine.turn import Engine, EngineSettings, Reply

__all__ = [
    "AgentSpec", "CannedResponse", "CompositionMode", "CompositionRequest", "ConditionScore",
    "ConditionScorer", "ConditionVerifier", "Criticality", "Department", "DepartmentRouter",
    "EmbeddingConditionScorer", "EmbeddingRouter", "Engine", "EngineSettings", "GlossaryTerm", "PreviousMoveGate",
    "Guideline", "GuidelineStatus", "LinearCalibration", "MatchingPolicy", "MemoizingEmbedder", "Message",
    "Receptionist", "RelationKind", "Relationship", "Reply", "ReplyComposer", "RouteDecision",
    "RoutingPolicy", "Session", "SessionVariableArguments", "SpecLoadError", "ToolArgumentExtractor",
    "ToolOutcome", "ToolParam", "ToolRegistry", "ToolSpec", "TurnTrace", "dump_agent_spec",
    "load_agent_spec",
]
