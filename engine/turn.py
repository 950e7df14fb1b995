"""The engine's single entry point: one customer message in, one reply with its trace out.

`Engine` only orchestrates; every decision lives in a small module with its own tests:
routing (`router`), condition cascade and re-application (`matching`), relationships
(`relations`), tools (`tools`), composition (`compose`). Each model-backed task is injected
through its protocol, so each can be bound to a different model or a fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guideminer.engine.compose import TurnMaterial, compose_reply
from guideminer.engine.matching import MatchingPolicy, assign_statuses, evaluate_conditions
from guideminer.engine.protocols import (
    ConditionScorer,
    ConditionVerifier,
    DepartmentRouter,
    ReplyComposer,
    ToolArgumentExtractor,
)
from guideminer.engine.relations import order_guidelines, resolve_relationships
from guideminer.engine.router import RoutingPolicy, route_turn
from guideminer.engine.session import AppliedAction, Message, Session
from guideminer.engine.spec import AgentSpec, Department, Guideline
from guideminer.engine.tools import SessionVariableArguments, ToolRegistry, run_tools
from guideminer.engine.trace import (
    CompositionTrace,
    GuidelineDecision,
    GuidelineStatus,
    StageTimer,
    TransferRecord,
    TurnTrace,
)


@dataclass(frozen=True)
class EngineSettings:
    routing: RoutingPolicy = field(default_factory=RoutingPolicy)
    matching: MatchingPolicy = field(default_factory=MatchingPolicy)


@dataclass(frozen=True)
class Reply:
    text: str
    trace: TurnTrace


class Engine:
    """Thin orchestrator: route -> match -> resolve -> tools -> compose -> record."""

    def __init__(
        self,
        spec: AgentSpec,
        *,
        router: DepartmentRouter,
        scorer: ConditionScorer,
        composer: ReplyComposer,
        verifier: ConditionVerifier | None = None,
        tools: ToolRegistry | None = None,
        argument_extractor: ToolArgumentExtractor | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        self.spec = spec
        self.router = router
        self.scorer = scorer
        self.composer = composer
        self.verifier = verifier
        self.tools = tools or ToolRegistry()
        self.argument_extractor = argument_extractor or SessionVariableArguments()
        self.settings = settings or EngineSettings()

    def respond(self, session: Session, customer_message: str) -> Reply:
        """Answer one customer message; the session gains both messages and the trace.

        A turn is all or nothing: if a model or the router raises, the session is restored to
        its state before the message, so a retry does not see half a turn.
        """
        checkpoint = _Checkpoint.of(session)
        try:
            return self._respond(session, customer_message)
        except BaseException:
            checkpoint.restore(session)
            raise

    def _respond(self, session: Session, customer_message: str) -> Reply:
        timer = StageTimer()
        with timer.stage("total"):
            turn = session.turn + 1
            session.messages.append(Message(role="customer", text=customer_message, turn=turn))
            with timer.stage("routing"):
                routing = route_turn(
                    self.spec, session.department_id, session.messages, self.router,
                    self.settings.routing, turn,
                )
            trace = TurnTrace(turn=turn, routing=routing.trace, transfer=routing.transfer)
            if routing.transfer is not None:
                session.transfers.append(routing.transfer)
            if routing.department_id is None:
                text = self._clarify(session, trace)
            else:
                text = self._answer(session, self.spec.department(routing.department_id), trace, timer)
        trace.timings_ms = timer.timings_ms
        session.messages.append(Message(role="agent", text=text, turn=turn))
        session.traces.append(trace)
        return Reply(text=text, trace=trace)

    def _clarify(self, session: Session, trace: TurnTrace) -> str:
        """No department yet: the receptionist asks; nothing is matched or applied."""
        session.conditions_held_last_turn = []
        trace.composition = CompositionTrace(mode="receptionist", source="clarify")
        return self.spec.receptionist.clarify_message

    def _answer(self, session: Session, department: Department, trace: TurnTrace, timer: StageTimer) -> str:
        policy = self.settings.matching
        with timer.stage("matching"):
            decisions = evaluate_conditions(
                session.messages, department.guidelines, self.scorer, self.verifier, policy
            )
        with timer.stage("relations"):
            relations = resolve_relationships(
                (d.guideline_id for d in decisions if d.condition_holds), department
            )
            by_id = {g.id: g for g in department.guidelines}
            trace.guidelines = assign_statuses(decisions, relations, by_id, session, policy)
        instructions = _guidelines_with(trace.guidelines, GuidelineStatus.applied, department)
        observations = _guidelines_with(trace.guidelines, GuidelineStatus.observed, department)
        with timer.stage("tools"):
            trace.tool_calls = run_tools(
                instructions, department, self.tools, self.argument_extractor,
                session.messages, session.variables,
            )
        with timer.stage("composition"):
            material = TurnMaterial(
                department, tuple(session.messages), instructions, observations,
                trace.tool_calls, dict(session.variables),
            )
            result = compose_reply(self.spec, material, self.composer)
        trace.composition = result.trace
        self._record(session, department, trace, instructions, relations.conditions_held)
        return result.text

    def _record(
        self,
        session: Session,
        department: Department,
        trace: TurnTrace,
        instructions: list[Guideline],
        conditions_held: set[str],
    ) -> None:
        """Write the turn's outcome into the session: applied actions, held conditions, transfer.

        At most one transfer per turn: if the router already transferred this turn, a
        `transfer_to` guideline of the new department waits for the next turn.
        """
        session.applied += [AppliedAction(guideline_id=g.id, turn=trace.turn, department_id=department.id) for g in instructions]
        session.conditions_held_last_turn = sorted(conditions_held)
        session.department_id = department.id
        transferring = next((g for g in instructions if g.transfer_to), None)
        if transferring is not None and trace.transfer is None:
            trace.transfer = TransferRecord(
                turn=trace.turn, from_department=department.id, to_department=transferring.transfer_to,
                trigger="guideline", reason=f"guideline {transferring.id} applied (transfer_to {transferring.transfer_to})",
            )
            session.transfers.append(trace.transfer)
            session.department_id = transferring.transfer_to
            session.conditions_held_last_turn = []


@dataclass(frozen=True)
class _Checkpoint:
    """The session fields a turn changes (all append-only lists or plain values)."""

    messages: int
    applied: int
    transfers: int
    traces: int
    department_id: str | None
    conditions_held_last_turn: tuple[str, ...]

    @classmethod
    def of(cls, session: Session) -> _Checkpoint:
        return cls(len(session.messages), len(session.applied), len(session.transfers),
                   len(session.traces), session.department_id, tuple(session.conditions_held_last_turn))

    def restore(self, session: Session) -> None:
        del session.messages[self.messages:], session.applied[self.applied:]
        del session.transfers[self.transfers:], session.traces[self.traces:]
        session.department_id = self.department_id
        session.conditions_held_last_turn = list(self.conditions_held_last_turn)


def _guidelines_with(
    decisions: list[GuidelineDecision], status: GuidelineStatus, department: Department
) -> list[Guideline]:
    return order_guidelines(department.guideline(d.guideline_id) for d in decisions if d.status is status)
