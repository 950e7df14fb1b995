"""The engine's single entry point: one customer message in, one reply with its trace out.

`Engine` only orchestrates; every decision lives in a small module with its own tests:
routing (`router`), condition cascade, sentence attribution and re-application (`matching`),
relationships (`relations`), tools (`tools`), composition (`compose`). Each model-backed task is
injected through its protocol, so each can be bound to a different model or a fake.

A turn evaluates up to three guideline sets: the conversation-etiquette set (every turn, also
before routing: a greeting is answered, routing waits for a need), the routed department, and
any other department that claims one sentence of a several-topic message. No dead ends:
while unrouted, a turn no etiquette guideline answers gets the receptionist's question (an
unknown need), and only after `max_clarifications` of those the hand-off fallback; a first
routing whose department has no holding guideline is an unknown need too, not a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from guideminer.engine.asked import answered_questions, sayable_moves
from guideminer.engine.compose import TurnMaterial, compose_reply, unbacked_moves, with_hand_off
from guideminer.engine.echoes import PlaceholderEchoes, echo_fields
from guideminer.engine.matching import MatchingPolicy, assign_statuses, evaluate_conditions, message_segments
from guideminer.engine.moves import (
    data_answers_open_nothing, department_waits, endings_yield, match_strength, need_waits_for_identification,
    one_move_per_situation, positional_moves, resume_waiting, runner_ups, still_waiting,
)
from guideminer.engine.protocols import (
    ConditionScorer, ConditionVerifier, DepartmentRouter, EchoFinder, ReplyComposer, ToolArgumentExtractor,
)
from guideminer.engine.relations import order_applied, resolve_relationships
from guideminer.engine.router import RoutingPolicy, opening_vocabulary, other_topic_departments, route_turn
from guideminer.engine.session import AppliedAction, Message, Session, SessionCheckpoint
from guideminer.engine.spec import AgentSpec, CannedResponse, Department, Guideline
from guideminer.engine.tools import SessionVariableArguments, ToolRegistry, run_tools
from guideminer.engine.trace import (
    CompositionTrace,
    GuidelineDecision,
    GuidelineStatus,
    RoutingTrace,
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


@dataclass(frozen=True)
class _Evaluated:
    """One guideline set's outcome this turn."""

    department: Department
    decisions: list[GuidelineDecision]
    conditions_held: set[str]


class Engine:
    """Thin orchestrator: etiquette -> route -> match -> resolve -> tools -> compose -> record."""

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
        echo_finder: EchoFinder | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        self.spec = spec
        self._unbacked, self._sayable = unbacked_moves(spec), sayable_moves(spec)
        self._moves = {g.id: g.move for d in spec.guideline_sets for g in d.guidelines if g.move is not None}
        self._positional = frozenset(g.id for d in spec.guideline_sets for g in d.guidelines if g.position is not None)
        self._identifies_first = any(g.position == "first_need" for d in spec.guideline_sets for g in d.guidelines)
        self._opening_words = opening_vocabulary(spec)
        self.router = router
        self.scorer = scorer
        self.composer = composer
        self.verifier = verifier
        self.tools = tools or ToolRegistry()
        self.argument_extractor = argument_extractor or SessionVariableArguments()
        self.echo_finder = echo_finder or PlaceholderEchoes()
        self.settings = settings or EngineSettings()

    @property
    def model_ids(self) -> dict[str, str | None]:
        """Which model does which task (for health checks and traces)."""
        return {"router": self.router.model_id, "scorer": self.scorer.model_id,
                "verifier": self.verifier.model_id if self.verifier else None,
                "composer": self.composer.model_id, "argument_extractor": self.argument_extractor.model_id}

    def respond(self, session: Session, customer_message: str) -> Reply:
        """Answer one customer message; the session gains both messages and the trace.

        A turn is all or nothing: if a model or the router raises, the session is restored to
        its state before the message, so a retry does not see half a turn.
        """
        return self._atomic(session, customer_message, None)

    def restore(self, session: Session, customer_message: str, agent_reply: str) -> Reply:
        """Rebuild a past turn from a client's history: route, match and record as `respond`
        would, but the agent's reply is the one given, so no tool is called (a lookup or an
        action must not run again) and no composer runs."""
        return self._atomic(session, customer_message, agent_reply)

    def _atomic(self, session: Session, customer_message: str, given: str | None) -> Reply:
        checkpoint = SessionCheckpoint.of(session)
        try:
            return self._respond(session, customer_message, given)
        except BaseException:
            checkpoint.restore(session)
            raise

    def _respond(self, session: Session, customer_message: str, given: str | None) -> Reply:
        timer = StageTimer()
        with timer.stage("total"):
            turn = session.turn + 1
            session.messages.append(Message(role="customer", text=customer_message, turn=turn))
            segments = message_segments(customer_message, self.settings.matching.max_segments)
            etiquette = self.spec.etiquette
            with timer.stage("etiquette"):
                manners = self._evaluate(etiquette, session, segments, best_match=False) if etiquette is not None else None
            with timer.stage("routing"):
                routing = route_turn(self.spec, session.department_id, session.messages, self.router, self.settings.routing,
                                     turn, _best_holding(manners, self._positional), self._opening_words)
            trace = TurnTrace(turn=turn, routing=routing.trace, transfer=routing.transfer,
                              segments=segments if len(segments) > 1 else [], restored=given is not None)
            if routing.transfer is not None:
                session.transfers.append(routing.transfer)
            with timer.stage("matching"):
                evaluated = self._department_sets(session, routing.department_id, segments, trace)
            if manners is not None:
                evaluated.append(_with_positions(manners, session, segments, self._positional,
                                                 need_opens=session.department_id is None
                                                 and trace.routing.department_id is not None))
            text = self._reply(session, evaluated, trace, timer, given)
        trace.timings_ms = timer.timings_ms
        session.messages.append(Message(role="agent", text=text, turn=turn))
        session.traces.append(trace)
        return Reply(text=text, trace=trace)

    def _evaluate(self, department: Department, session: Session, segments: list[str], *,
                  whole: bool = True, best_match: bool = True) -> _Evaluated:
        """One guideline set's decisions. `best_match=False` for the etiquette set: it is
        evaluated on every message beside the need, and its short generic conditions are always
        somebody's best match ("is this customer service?" would get a closing line). The
        etiquette set is also judged on the latest message alone: a greeting, a thank-you or a
        goodbye is what the customer just said, and the scorer's window of earlier messages
        would make a "hi" two messages back hold a greeting again for "I need to return this
        laptop" (and hold routing back with it)."""
        policy = self.settings.matching
        if not best_match:
            policy = replace(policy, best_match_floor=None, latest_message_only=True)
        decisions = evaluate_conditions(session.messages, department.guidelines, self.scorer, self.verifier,
                                        policy, segments, whole=whole)
        relations = resolve_relationships((d.guideline_id for d in decisions if d.condition_holds), department)
        by_id = {g.id: g for g in department.guidelines}
        decided = assign_statuses(decisions, relations, by_id, session, policy)
        return _Evaluated(department, [d.model_copy(update={"department_id": department.id}) for d in decided],
                          relations.conditions_held)

    def _department_sets(self, session: Session, department_id: str | None, segments: list[str],
                         trace: TurnTrace) -> list[_Evaluated]:
        """The routed department's outcome and those of departments claiming one sentence;
        a first routing where none of the department's guidelines holds is undone, unless the
        agents identify the caller before serving any need (a mined `first_need` move) and the
        router is confident (>= `first_route_bar`): then the department opens with that move, as
        the agents' own calls do, and its moves follow on later turns (undone, "I can't use the
        app, it crashes on the login screen" got "Could you tell me a little more?" and the
        conversation was routed later on the caller's phone number)."""
        if department_id is None:
            return []
        home = self._evaluate(self.spec.department(department_id), session, segments)
        if session.department_id is None:
            bar = self.settings.matching.first_route_bar
            home = _first_routing_matches(home, trace.routing.confidence, bar)
            identifies = self._identifies_first and (trace.routing.confidence or 0.0) >= bar
            if not identifies and not any(d.condition_holds for d in home.decisions):
                trace.routing = _unknown_need(trace.routing)
                return [home]  # in the trace for the record; nothing of it holds, so nothing applies
        evaluated = [home]
        claims = other_topic_departments(self.spec, department_id, session.messages, segments, self.router,
                                         self.settings.routing)
        for other_id, parts in claims.items():
            evaluated.append(self._evaluate(self.spec.department(other_id), session, parts, whole=False))
        return evaluated

    def _reply(self, session: Session, evaluated: list[_Evaluated], trace: TurnTrace, timer: StageTimer,
               given: str | None) -> str:
        etiquette_id = self.spec.etiquette.id if self.spec.etiquette is not None else None
        by_id = {g.id: g for e in evaluated for g in e.department.guidelines}
        lanes = {g.id: "etiquette" if e.department.id == etiquette_id else "department"
                 for e in evaluated for g in e.department.guidelines}
        just_made = self._just_made(session, trace.turn)
        asked = next((m.text for m in session.messages[-2:-1] if m.role == "agent"), "")  # the agent's question
        decisions = data_answers_open_nothing([d for e in evaluated for d in e.decisions], by_id, lanes,
                                              session.messages[-1].text, asked, just_made)
        decisions = answered_questions(decisions, by_id, lanes, session.messages, self.echo_finder, self._sayable)
        trace.guidelines = one_move_per_situation(decisions, by_id,
                                                  frozenset(a.guideline_id for a in session.applied), lanes=lanes,
                                                  moves_per_topic=self.settings.matching.moves_per_topic,
                                                  unbacked=self._unbacked, just_made=just_made)
        trace.guidelines = endings_yield(trace.guidelines, by_id, lanes)
        trace.guidelines = resume_waiting(trace.guidelines, session.waiting, lanes)
        trace.guidelines = need_waits_for_identification(trace.guidelines, by_id, lanes)
        trace.guidelines = department_waits(trace.guidelines, by_id, lanes, self.settings.matching.accept)
        instructions = _in_topic_order(trace, GuidelineStatus.applied, by_id, lanes)
        observations = _in_topic_order(trace, GuidelineStatus.observed, by_id, lanes)
        routed = trace.routing.department_id
        home = self.spec.department(routed) if routed is not None else (evaluated[-1].department if instructions else None)
        if home is None:
            text = given if given is not None else self._clarify_or_hand_off(session, trace)
            if given is not None:
                trace.composition = CompositionTrace(mode="receptionist", source="given")
            session.conditions_held_last_turn = sorted(set().union(*(e.conditions_held for e in evaluated)))
            return text
        if given is not None:
            trace.composition = CompositionTrace(mode=self.spec.mode_for(home).value, source="given")
            text = given
        else:
            text = self._compose(session, home, evaluated, instructions, observations, trace, timer)
            retried = self._next_moves(session, home, evaluated, instructions, observations, trace, timer, by_id, lanes)
            text, instructions = retried if retried is not None else (text, instructions)
            text = with_hand_off(text, trace.composition, [g.id for g in instructions if lanes.get(g.id) == "department"],
                                 self.spec.fallback_message, _canned_of(evaluated))
            if routed is None and trace.composition is not None and trace.composition.source == "fallback":
                # unrouted, and the etiquette move had nothing approved to say (an unfilled field):
                # the receptionist's question, not a hand-off, answers a greeting
                notes = [*trace.composition.notes, "nothing approved could be said before routing: receptionist asks"]
                text = self._clarify_or_hand_off(session, trace)
                trace.composition = trace.composition.model_copy(update={"notes": notes})
            elif routed is None and "?" not in text:
                text = f"{text} {self.spec.receptionist.need_question}"  # routing waits: invite the need
                trace.composition.notes.append("etiquette reply asks nothing before routing: receptionist's need question added")
        self._record(session, evaluated, trace, instructions)
        return text

    def _just_made(self, session: Session, turn: int) -> frozenset[str]:
        """Guidelines the agent's previous reply made, and those of the same `move` (a
        near-duplicate rule would make it again)."""
        made = {a.guideline_id for a in session.applied if a.turn == turn - 1}
        moves = {self._moves[g] for g in made if g in self._moves}
        return frozenset(made | {g for g, move in self._moves.items() if move in moves})

    def _next_moves(self, session: Session, home: Department, evaluated: list[_Evaluated],
                    instructions: list[Guideline], observations: list[Guideline], trace: TurnTrace,
                    timer: StageTimer, by_id: dict[str, Guideline],
                    lanes: dict[str, str]) -> tuple[str, list[Guideline]] | None:
        """Moves chosen but not said (a failed tool, a missing field) yield to the best move
        deferred for them (`moves.runner_ups`), composed once more: (reply, the instructions now
        applied, recorded as the turn's), or None: nothing to retry. A yielded move is not
        recorded as made, so it may answer once its data is there."""
        said = set(trace.composition.said_guideline_ids) if trace.composition is not None else set()
        unsaid = {g.id for g in instructions if g.id not in said}
        retried = runner_ups(trace.guidelines, unsaid) if trace.composition.source != "composer" else trace.guidelines
        if retried is trace.guidelines:
            return None
        trace.guidelines, first_notes = retried, list(trace.composition.notes)
        again = _in_topic_order(trace, GuidelineStatus.applied, by_id, lanes)
        text = self._compose(session, home, evaluated, again, observations, trace, timer)
        trace.composition.notes[:0] = [*first_notes, f"unsaid {', '.join(sorted(unsaid))}: the next moves answer"]
        return text, again

    def _compose(self, session: Session, home: Department, evaluated: list[_Evaluated], instructions: list[Guideline],
                 observations: list[Guideline], trace: TurnTrace, timer: StageTimer) -> str:
        with timer.stage("tools"):  # each tool at most once per turn, also when moves yield (`_next_moves`)
            tool_specs = {t.name: t for e in evaluated for t in e.department.tools}
            called = {c.tool for c in trace.tool_calls}
            trace.tool_calls = [*trace.tool_calls, *run_tools(
                [g for g in instructions if not set(g.tools) & called], tool_specs, self.tools,
                self.argument_extractor, session.messages, session.variables)]
        with timer.stage("composition"):
            canned = _canned_of(evaluated)
            material = TurnMaterial(home, tuple(session.messages), instructions, observations, trace.tool_calls,
                                    dict(session.variables), canned=canned,
                                    echoes=echo_fields(canned, session.messages, self.echo_finder,
                                                       {g.id for g in instructions}))
            result = compose_reply(self.spec, material, self.composer)
        trace.composition = result.trace
        return result.text

    def _clarify_or_hand_off(self, session: Session, trace: TurnTrace) -> str:
        """Unrouted and nothing to say: the receptionist asks what the customer needs; after
        `max_clarifications` questions in a row, the fallback hands off to a person."""
        asked = 0
        for previous in reversed(session.traces):
            if previous.routing.department_id is not None or previous.composition is None \
                    or previous.composition.source != "clarify":
                break
            asked += 1
        limit = self.settings.routing.max_clarifications
        if asked >= limit:
            trace.composition = CompositionTrace(mode="receptionist", source="fallback",
                                                 notes=[f"receptionist asked {asked} times in a row (max {limit}); handing off"])
            return self.spec.fallback_message
        trace.composition = CompositionTrace(mode="receptionist", source="clarify")
        return self.spec.receptionist.clarify_message

    def _record(self, session: Session, evaluated: list[_Evaluated], trace: TurnTrace,
                instructions: list[Guideline]) -> None:
        """Write the turn's outcome into the session: applied actions, held conditions, transfer.

        At most one transfer per turn: if the router already transferred this turn, a
        `transfer_to` guideline of the new department waits for the next turn.
        """
        set_of = {d.guideline_id: d.department_id for d in trace.guidelines}
        session.applied += [AppliedAction(guideline_id=g.id, turn=trace.turn, department_id=set_of[g.id] or "")
                            for g in instructions]
        session.conditions_held_last_turn = sorted(set().union(*(e.conditions_held for e in evaluated)))
        session.waiting = still_waiting(trace.guidelines)
        current = trace.routing.department_id
        session.department_id = current
        transferring = next((g for g in instructions if g.transfer_to and g.transfer_to != current), None)
        if current is not None and transferring is not None and trace.transfer is None:
            trace.transfer = TransferRecord(
                turn=trace.turn, from_department=current, to_department=transferring.transfer_to,
                trigger="guideline", reason=f"guideline {transferring.id} applied (transfer_to {transferring.transfer_to})",
            )
            session.transfers.append(trace.transfer)
            session.department_id = transferring.transfer_to
            session.conditions_held_last_turn = []


def _canned_of(evaluated: list[_Evaluated]) -> tuple[CannedResponse, ...]:
    return tuple(c for e in evaluated for c in e.department.canned_responses)


def _first_routing_matches(home: _Evaluated, route_confidence: float | None, bar: float) -> _Evaluated:
    """On the turn that would open a department, a best match (engine/matching.py, item 2b)
    counts only when the router is confident (>= `bar`, the policy's `first_route_bar`) that the
    need belongs there: a greeting or small talk the router barely places ("is this customer
    service?") must not open billing with a card-digits question; the receptionist asks instead."""
    if route_confidence is not None and route_confidence >= bar:
        return home
    undone = []
    for decision in home.decisions:
        if decision.decided_by == "best_match" and decision.condition_holds:
            reason = f"not held: a first routing needs a confident match (router confidence {route_confidence or 0:.2f} < {bar:.2f})"
            decision = decision.model_copy(update={"condition_holds": False, "status": GuidelineStatus.inactive,
                                                   "reasons": [*decision.reasons, reason]})
        undone.append(decision)
    held = {d.guideline_id for d in undone if d.condition_holds}
    return _Evaluated(home.department, undone, home.conditions_held & held)


def _with_positions(manners: _Evaluated, session: Session, segments: list[str], positional: frozenset[str], *,
                    need_opens: bool) -> _Evaluated:
    """The etiquette outcome with its positional moves held at their points only
    (moves.positional_moves). Applied after routing: an opening move holds on every first
    message, and must not hold routing back as a greeting does."""
    by_id = {g.id: g for g in manners.department.guidelines}
    agent_spoke = any(m.role == "agent" for m in session.messages)
    decisions = positional_moves(manners.decisions, by_id, agent_spoke=agent_spoke, need_opens=need_opens,
                                 first_segment=segments[0] if len(segments) > 1 else None)
    held = {d.guideline_id for d in decisions if d.condition_holds}
    return _Evaluated(manners.department, decisions, (manners.conditions_held - positional) | (held & positional))


def _best_holding(manners: _Evaluated | None, positional: frozenset[str] = frozenset()) -> float | None:
    """The best whole-message score of an etiquette guideline holding this turn (None: none
    holds): a greeting sentence before a need must not hold routing back; a `positional` move
    (held by its point, not its words) is no greeting."""
    if manners is None:
        return None
    held = [d.whole_score if d.whole_score is not None else d.score or 0.0
            for d in manners.decisions if d.condition_holds and d.actionable and d.guideline_id not in positional]
    return max(held) if held else None


def _unknown_need(routing: RoutingTrace) -> RoutingTrace:
    reason = f"{routing.reason}; none of {routing.department_id}'s guidelines holds: unknown need, routing waits"
    return routing.model_copy(update={"department_id": None, "method": "unrouted", "reason": reason})


def _in_topic_order(trace: TurnTrace, status: GuidelineStatus, by_id: dict[str, Guideline],
                    lanes: dict[str, str]) -> list[Guideline]:
    """Guidelines with `status` in the order the customer raised their topics; within a topic
    etiquette first (the greeting before the answer), then by importance."""
    chosen = [d for d in trace.guidelines if d.status is status]
    rank = {g.id: i for i, g in enumerate(order_applied((by_id[d.guideline_id], match_strength(d)) for d in chosen))}

    def position(decision: GuidelineDecision) -> tuple[int, int, int]:
        topic = trace.segments.index(decision.segment) if decision.segment in trace.segments else 0
        return (topic, 0 if lanes[decision.guideline_id] == "etiquette" else 1, rank[decision.guideline_id])

    return [by_id[d.guideline_id] for d in sorted(chosen, key=position)]
