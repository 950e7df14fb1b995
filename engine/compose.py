"""Reply composition in the three modes of the spec.

- `fluid`: the `ReplyComposer` writes the reply from the guidelines to apply (instructions),
  observations, tool outcomes (including errors) and department context.
- `canned_strict`: only approved canned responses are sent. For each instruction, in the order
  the engine gives them (the customer's topics in order), the first canned response serving it
  whose fields can all be filled (session variables and this turn's tool results) is rendered;
  several instructions give several canned texts, joined. The engine applies at most one move
  per topic (`guideminer.engine.matching`, item 4), so joined texts answer different topics,
  never two competing moves for one. If nothing renders, the spec's fallback message is sent. The composer is never called,
  so free text cannot appear, and a template with a missing field is never sent half-filled.
  Read-back fields (`CannedResponse.echoes`) are filled from the customer's own messages only
  (engine/echoes.py); an opening said before another move's reply says its lead-in only.
- `canned_fluid`: canned responses when they cover every instruction, else the composer
  (with the candidate canned responses as hints).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from guideminer.engine.protocols import CompositionRequest, ReplyComposer
from guideminer.engine.session import Message
from guideminer.engine.spec import AgentSpec, CannedResponse, CompositionMode, Department, Guideline
from guideminer.engine.tools import outcomes, render_fields
from guideminer.engine.trace import CompositionTrace, ToolCallTrace


@dataclass(frozen=True)
class CompositionResult:
    text: str
    trace: CompositionTrace


@dataclass
class CannedSelection:
    texts: list[str] = field(default_factory=list)
    canned_ids: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # guideline ids a rendered text covers, in instruction order
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TurnMaterial:
    """What the composition step works from; built by the engine once per turn."""

    department: Department
    conversation: Sequence[Message]
    instructions: Sequence[Guideline]
    observations: Sequence[Guideline]
    tool_calls: Sequence[ToolCallTrace]
    variables: Mapping[str, Any]
    # canned responses of every guideline set evaluated this turn (department, etiquette, other
    # departments answering one sentence); empty: the department's own
    canned: Sequence[CannedResponse] = ()
    # canned id -> values of its read-back fields, from the customer's messages (engine/echoes.py)
    echoes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def canned_responses(self) -> Sequence[CannedResponse]:
        return self.canned or self.department.canned_responses


def compose_reply(spec: AgentSpec, material: TurnMaterial, composer: ReplyComposer) -> CompositionResult:
    mode = spec.mode_for(material.department)
    fields = render_fields(material.tool_calls, material.variables)
    material, withheld = _without_unbacked_claims(material)
    selection = select_canned(material.canned_responses, material.instructions, fields, _tool_backed(material),
                              material.echoes)
    selection.notes.extend(withheld)
    if mode is CompositionMode.canned_strict:
        return _strict(spec, mode, selection)
    all_covered = bool(material.instructions) and all(g.id in selection.said for g in material.instructions)
    if mode is CompositionMode.canned_fluid and all_covered:
        return _canned(mode, selection)
    return _fluid(spec, mode, material, composer, selection)


def _claims_only(guideline_id: str, canned_responses: Sequence[CannedResponse]) -> bool:
    """Every canned reply serving the guideline states an outcome (`needs_tool`)."""
    own = [c for c in canned_responses if guideline_id in c.guideline_ids]
    return bool(own) and all(c.needs_tool for c in own)


def unbacked_moves(spec: AgentSpec) -> frozenset[str]:
    """Guidelines that can say nothing as approved: only claim replies, and no tool. Matching
    ranks them after every other applied move for a topic, so another approved move that
    matched answers; without one, the hand-off goes out, never a claimed cancellation. A
    guideline with a claim-free part ("No problem, items can be returned within 30 days.") is
    not among them: ranking it last gave a plain return request the late-return store credit
    of a move matching as well (held-out demo next action 0.602 -> 0.615, docs/results.md)."""
    return frozenset(g.id for d in spec.guideline_sets for g in d.guidelines
                     if not g.tools and _claims_only(g.id, d.canned_responses))


def _tool_backed(material: TurnMaterial) -> set[str]:
    """Guidelines that had a tool of theirs run without error this turn."""
    return {g for call in material.tool_calls if call.error is None for g in call.requested_by}


def _without_unbacked_claims(material: TurnMaterial) -> tuple[TurnMaterial, list[str]]:
    """Leave out instructions whose every canned reply states an outcome (`needs_tool`) that no
    tool of theirs produced this turn: no composer, canned or fluid, may claim it was done."""
    backed = _tool_backed(material)
    kept, notes = [], []
    for guideline in material.instructions:
        if guideline.id not in backed and _claims_only(guideline.id, material.canned_responses):
            notes.append(f"{guideline.id}: its reply states an outcome no tool produced this turn; left out")
        else:
            kept.append(guideline)
    if len(kept) == len(material.instructions):
        return material, notes
    return replace(material, instructions=tuple(kept)), notes


def select_canned(
    canned_responses: Sequence[CannedResponse], instructions: Sequence[Guideline], fields: Mapping[str, Any],
    tool_backed: set[str] = frozenset(), echoes: Mapping[str, Mapping[str, str]] | None = None,
) -> CannedSelection:
    """`echoes`: canned id -> its read-back field values (engine/echoes.py); a template's own
    echoes never fill another template's fields."""
    selection = CannedSelection()
    echoes = echoes or {}
    for position, guideline in enumerate(instructions):
        followed = position + 1 < len(instructions)  # a lead-in is said only before another move's reply
        own = [c for c in canned_responses if guideline.id in c.guideline_ids and (followed or not c.lead_in)]
        if followed and guideline.position == "conversation_start":  # before an answer: nothing it asks
            own = [c for c in own if c.lead_in or "?" not in c.template]
            if not own:
                selection.notes.append(f"{guideline.id}: an opening that asks how to help is not said before an answer")
                continue
        candidates = [c for c in own if not c.needs_tool or guideline.id in tool_backed]
        selection.notes.extend(f"{c.id}: states an outcome no tool produced this turn; not sent"
                               for c in own if c not in candidates)
        if not candidates:
            selection.notes.append(f"{guideline.id}: no canned response serves it")
            continue
        for canned in candidates:
            filled = {**fields, **echoes.get(canned.id, {})}
            missing = [f for f in canned.fields if filled.get(f) is None]
            if missing:
                selection.notes.append(f"{canned.id}: missing field(s) {', '.join(missing)}")
                continue
            selection.said.append(guideline.id)
            if canned.id not in selection.canned_ids:
                selection.canned_ids.append(canned.id)
                selection.texts.append(render_template(canned, filled))
            break
    return selection


def render_template(canned: CannedResponse, fields: Mapping[str, Any]) -> str:
    """Render with every field present; callers check completeness first (never half-filled)."""
    missing = [f for f in canned.fields if fields.get(f) is None]
    if missing:
        raise KeyError(f"canned response {canned.id!r} misses field(s) {missing}")
    return canned.template.format_map({f: str(fields[f]) for f in canned.fields})


def _strict(spec: AgentSpec, mode: CompositionMode, selection: CannedSelection) -> CompositionResult:
    if selection.texts:
        return _canned(mode, selection)
    notes = selection.notes + ["no canned response could be rendered; sent the fallback message"]
    trace = CompositionTrace(mode=mode.value, source="fallback", notes=notes)
    return CompositionResult(spec.fallback_message, trace)


def _canned(mode: CompositionMode, selection: CannedSelection) -> CompositionResult:
    trace = CompositionTrace(
        mode=mode.value, source="canned", canned_response_ids=list(selection.canned_ids),
        said_guideline_ids=list(selection.said), notes=list(selection.notes),
    )
    return CompositionResult("\n\n".join(selection.texts), trace)


def _fluid(
    spec: AgentSpec,
    mode: CompositionMode,
    material: TurnMaterial,
    composer: ReplyComposer,
    selection: CannedSelection,
) -> CompositionResult:
    instruction_ids = {g.id for g in material.instructions}
    backed = _tool_backed(material)
    hints = tuple(c for c in material.canned_responses if instruction_ids & set(c.guideline_ids)
                  and (not c.needs_tool or backed & set(c.guideline_ids)))
    request = CompositionRequest(
        department=material.department,
        conversation=tuple(material.conversation),
        instructions=tuple(material.instructions),
        observations=tuple(material.observations),
        tool_outcomes=tuple(outcomes(material.tool_calls)),
        variables=dict(material.variables),
        glossary=material.department.glossary,
        canned_hints=hints if mode is CompositionMode.canned_fluid else (),
    )
    text = composer.compose(request).strip()
    notes = list(selection.notes) if mode is CompositionMode.canned_fluid else []
    if not text:
        notes.append(f"composer {composer.model_id} returned empty text; sent the fallback message")
        trace = CompositionTrace(mode=mode.value, source="fallback", composer_model_id=composer.model_id, notes=notes)
        return CompositionResult(spec.fallback_message, trace)
    trace = CompositionTrace(mode=mode.value, source="composer", composer_model_id=composer.model_id,
                             said_guideline_ids=[g.id for g in material.instructions], notes=notes)
    return CompositionResult(text, trace)


def with_hand_off(text: str, composition: CompositionTrace | None, need_moves: Sequence[str], fallback: str,
                  canned: Sequence[CannedResponse] = ()) -> str:
    """The hand-off after what was said when the turn chose moves for the customer's need
    (`need_moves`: the department lane's instructions) and said none of them, though it said
    something (a greeting); what was said is then each said guideline's lead-in where it has
    one without fields (`canned`), as before any other move's reply. Why: "I want to cancel my
    order 1234567" chose the cancellation, whose reply claims what no tool did; the greeting
    alone answered, ending on "How can I help you today?" to a customer who had just said how."""
    if composition is None or composition.source == "fallback" or not need_moves:
        return text
    if set(need_moves) & set(composition.said_guideline_ids):
        return text
    lead_ins = [next((c.template for c in canned if g in c.guideline_ids and c.lead_in and not c.fields), None)
                for g in composition.said_guideline_ids]
    said = "\n".join(lead_ins) if lead_ins and all(lead_ins) else text
    composition.notes.append("no move for the need could be said: hand-off after the etiquette reply")
    return f"{said}\n{fallback}"
