"""Reviewed proposals -> an approved `AgentSpec` (agent.yaml), and what changed since last time.

Why here (engine, not mining): the spec's pydantic models are the engine's contract; export is
the one place where mining's vocabulary (clusters, proposals, decisions) is translated into it,
so the engine never needs to know how a guideline was found. Each exported guideline keeps its
mined proposal id as `provenance` ("mined:<guideline_id>"), which is how traces, replay and the
next review link back to the evidence.

Each guideline carries `examples`: the condition cluster's representative customer turns, so
the runtime matcher compares real customer wording with real customer wording.

Canned responses: for every exported guideline, the action cluster's most representative agent
turn (a medoid, so a text agents actually sent, not a single customer's words) becomes an
approved template; the ingest placeholders (`<EMAIL>`, `<ORDER_ID>`-style tokens) turn into
template fields (`{email}`) filled from tool results or session variables at run time.

Auto-accept (`auto_accept=True`, for unattended pipelines and the demo): pending proposals are
accepted when they clear `AUTO_ACCEPT` (stricter than mining's own thresholds) — rejected ones
stay rejected; explicit decisions always win.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from guideminer.engine.spec import (
    AgentSpec,
    CannedResponse,
    CompositionMode,
    Department,
    Guideline,
    InterchangeableWords,
    template_fields,
)
from guideminer.engine.spec_io import dump_agent_spec, load_agent_spec
from guideminer.mining.claims import claim_free_part, field_free_part, lead_in_part, states_outcome
from guideminer.mining.closings import closing_examples, with_closing
from guideminer.mining.fillers import filler_phrases
from guideminer.mining.guidelines import cluster_refs
from guideminer.mining.asks_for import guideline_asks_for
from guideminer.mining.match_examples import (
    MATCH_EXAMPLES, matching_examples, near_agent_clusters, previous_move_examples,
)
from guideminer.mining.phrasing import looks_like_injection
from guideminer.mining.proposals_schema import DepartmentSet, GuidelineProposal
from guideminer.mining.review import ReviewedGuideline, ReviewedProposals, read_decisions, review_workspace
from guideminer.mining.routing_examples import ROUTING_EXAMPLES, opening_examples
from guideminer.mining.schema import MINING_FILES
from guideminer.mining.slots import SlotClass, class_targets
from guideminer.mining.word_aliases import with_head_aliases

MAX_EXAMPLES = 5
AUTO_ACCEPT = {"min_support": 5, "min_confidence": 0.2, "min_lift": 2.0}
MINED_PREFIX = "mined:"
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)>")


class ExportError(ValueError):
    """Export refused; the message says why and what to do."""


@dataclass
class SpecDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # same id, different condition/action/department

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        return ([f"+ {i}" for i in self.added] + [f"- {i}" for i in self.removed]
                + [f"~ {i}" for i in self.changed]) or ["no changes"]


@dataclass
class ExportResult:
    spec: AgentSpec
    path: Path | None
    diff: SpecDiff
    skipped: dict[str, str]  # guideline_id -> why it was not exported
    auto_accepted: int = 0


ETIQUETTE_ID = "etiquette"


def mined_proposal_id(guideline: Guideline) -> str | None:
    """The mined proposal a guideline was exported from, or None (hand-written)."""
    return guideline.provenance.removeprefix(MINED_PREFIX) if guideline.provenance.startswith(MINED_PREFIX) else None


def passes_auto_accept(reviewed: ReviewedGuideline) -> bool:
    scores = reviewed.proposal.scores
    return (scores.support >= AUTO_ACCEPT["min_support"] and scores.confidence >= AUTO_ACCEPT["min_confidence"]
            and scores.lift >= AUTO_ACCEPT["min_lift"])


def template_from_text(text: str) -> str:
    """An agent turn as a safe canned template: braces escaped, placeholders -> fields."""
    escaped = text.replace("{", "{{").replace("}", "}}")
    return _PLACEHOLDER.sub(lambda m: "{" + m.group(1).lower() + "}", escaped)


def condition_examples(reviewed: ReviewedGuideline, answered: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Representative customer turns of the condition cluster (medoids, PII already redacted)
    and then `answered` (mining/match_examples.py: turns the agent answered with this move),
    minus anything that reads like an instruction to the agent. `answered` already starts with
    the medoids customers said before this move (`answered_first`): a cluster answered by
    several moves must not lend every move its whole middle."""
    medoids = () if answered else safe_texts(reviewed.proposal.condition.representative_texts)
    return tuple(dict.fromkeys((*medoids, *(t.strip() for t in answered if not looks_like_injection(t)))))


def with_previous_moves(spec: AgentSpec, moves: Mapping[str, tuple[str, ...]]) -> AgentSpec:
    """`spec` with each "after" guideline's `after_examples` extended by `moves` (its previous
    move's agent turns, mining/match_examples.py `previous_move_examples`)."""
    return _each_guideline(spec, lambda g: g.model_copy(update={
        "after_examples": tuple(dict.fromkeys((*g.after_examples, *moves[g.id])))}) if g.after_examples and g.id in moves else g)


def agent_moves(workspace: Path, proposals: Mapping[str, GuidelineProposal]) -> dict[str, str]:
    """Guideline id -> its move: the signature of the first of the agent clusters near its
    action cluster (mining/match_examples.py `near_agent_clusters`: one move phrased apart)."""
    path = Path(workspace) / MINING_FILES["clusters"]
    if not proposals or not path.is_file():
        return {}
    clusters = pl.read_parquet(path)
    near, refs = near_agent_clusters(clusters), cluster_refs(clusters)
    return {gid: "m-" + refs[min(near.get(p.action.cluster_id, {p.action.cluster_id}))].signature[:12]
            for gid, p in proposals.items()}


def with_moves(spec: AgentSpec, moves: Mapping[str, str]) -> AgentSpec:
    """`spec` with each guideline's `move` from `moves` (absent: unchanged)."""
    return _each_guideline(spec, lambda g: g.model_copy(update={"move": moves[g.id]}) if g.id in moves else g)


def with_routing_examples(spec: AgentSpec, openings: Mapping[str, tuple[str, ...]],
                          reviewed: ReviewedProposals) -> AgentSpec:
    """`spec` with each department's routing examples extended by the openings of the
    conversations mined into it or into a department merged into it (mining/routing_examples.py)."""
    def extended(department: Department) -> Department:
        sources = [d for d in openings if reviewed.department_of(d) == department.id]
        extra = [t for d in sorted(sources, key=lambda d: d != department.id) for t in openings[d]]
        return department.model_copy(update={"routing_examples": tuple(dict.fromkeys((*department.routing_examples, *extra)))})
    return spec.model_copy(update={"departments": tuple(extended(d) for d in spec.departments)})


def _each_guideline(spec: AgentSpec, change) -> AgentSpec:
    """`spec` with `change` applied to every guideline of every department and the etiquette set."""
    def changed(department: Department) -> Department:
        return department.model_copy(update={"guidelines": tuple(map(change, department.guidelines))})
    etiquette = changed(spec.etiquette) if spec.etiquette is not None else None
    return spec.model_copy(update={"departments": tuple(map(changed, spec.departments)), "etiquette": etiquette})


def interchangeable_words(workspace: Path) -> tuple[InterchangeableWords, ...]:
    """The workspace's slot classes (mining/slot_classes.json, absent: none) as the engine reads
    them: each member as what mining rewrote it to (mining/slots.py `class_targets`)."""
    path = Path(workspace) / MINING_FILES["slots"]
    if not path.is_file():
        return ()
    stored = json.loads(path.read_text(encoding="utf-8"))
    placeholder = stored.get("params", {}).get("placeholder")
    words = []
    for raw in stored.get("classes", []):
        slot = SlotClass(raw["canonical"], tuple(raw["members"]), tuple(raw["turns"]), tuple(raw["effects"]),
                         raw.get("names_things", True))  # absent: written before rule 5 told things apart
        targets = class_targets(slot, placeholder)
        for replacement in dict.fromkeys(targets.values()):
            members = tuple(m for m, r in targets.items() if r == replacement and m != replacement)
            if members:
                words.append(InterchangeableWords(replacement=replacement, members=members))
    return with_head_aliases(tuple(words), _customer_texts(workspace)) if words else ()


def _customer_texts(workspace: Path) -> list[str]:
    """The customer turns aliases are judged on; none without a turns table (no alias added)."""
    from guideminer.ingest.workspace import scan_turns, table_dir

    if not table_dir(workspace, "turns").is_dir():
        return []
    turns = scan_turns(workspace).filter(pl.col("role").cast(pl.String) == "customer").select("text").collect()
    return turns["text"].to_list()


def safe_texts(texts: list[str]) -> tuple[str, ...]:
    """Distinct stripped texts, minus anything that reads like an instruction to the agent."""
    stripped = [t.strip() for t in texts]
    return tuple(dict.fromkeys(t for t in stripped if t and not looks_like_injection(t)))[:MAX_EXAMPLES]


def _guideline(reviewed: ReviewedGuideline, answered: tuple[str, ...] = ()) -> Guideline:
    proposal = reviewed.proposal
    return Guideline(
        id=reviewed.guideline_id, condition=reviewed.condition_text, action=reviewed.action_text,
        examples=condition_examples(reviewed, answered),
        after_examples=safe_texts(proposal.after_action.representative_texts) if proposal.after_action else (),
        continues_need=proposal.continues_need, ends_flow=proposal.ends_need,
        position=proposal.position, stands_alone=proposal.stands_alone,
        priority=max(0, 1000 - proposal.rank), provenance=MINED_PREFIX + proposal.guideline_id,
        tags=(f"state:{proposal.condition_state}", *(f"merged:{m}" for m in reviewed.merged_from),
              *(f"habit:{m}" for m in proposal.merged_from)),
    )


def _canned(reviewed: ReviewedGuideline) -> CannedResponse | None:
    """The reviewer's edited template if any, else the mined canned template (mining/templates.py:
    instance details are fields, never one agent's facts); proposals written before templates
    existed get one from the representatives."""
    if reviewed.canned_template is not None:
        return CannedResponse(id=f"c-{reviewed.guideline_id}", template=reviewed.canned_template,
                              guideline_ids=(reviewed.guideline_id,), needs_tool=states_outcome(reviewed.canned_template),
                              echoes=_echoes(reviewed, reviewed.canned_template))
    canned = reviewed.proposal.canned
    if canned is None:
        from guideminer.mining.templates import Member, build_template

        built = build_template([Member(t) for t in reviewed.proposal.action.representative_texts])
        if built is None:
            return None
        text = built.text
    else:
        text = canned.text
    # a text that says something was done or looked up is sent only when a tool did it (mining/claims.py)
    return CannedResponse(id=f"c-{reviewed.guideline_id}", template=text, guideline_ids=(reviewed.guideline_id,),
                          needs_tool=states_outcome(text), echoes=_echoes(reviewed, text))


def _echoes(reviewed: ReviewedGuideline, text: str) -> dict[str, str]:
    """Field -> kind for the mined template's fields whose value the customer had said before
    (`session_variable`, mining/templates.py) that `text` still has: read back from the
    customer's messages at run time (engine/echoes.py)."""
    canned = reviewed.proposal.canned
    present = set(template_fields(text))
    return {f.name: f.kind for f in (canned.fields if canned else []) if f.source == "session_variable" and f.name in present}


def _canned_responses(reviewed: ReviewedGuideline) -> list[CannedResponse]:
    """The guideline's canned reply and, when it claims an outcome, its claim-free part: sent
    when no tool ran, so the customer still gets the approved policy rather than nothing
    (mining/claims.py `claim_free_part`); for an etiquette reply with fields (an agent's own
    name), its field-free sentences (`field_free_part`). The full text comes first: with a tool
    (or the fields filled) it wins."""
    canned = _canned(reviewed)
    if canned is None:
        return []
    part = claim_free_part(canned.template) if canned.needs_tool else None
    if part is not None:
        return [canned, CannedResponse(id=f"c-{reviewed.guideline_id}-claim-free", template=part,
                                       guideline_ids=(reviewed.guideline_id,), part_of=canned.id,
                                       echoes={f: k for f, k in canned.echoes.items() if f in template_fields(part)})]
    lead = lead_in_part(canned.template) if reviewed.proposal.position == "conversation_start" else None
    leading = [CannedResponse(id=f"c-{reviewed.guideline_id}-lead-in", template=lead, guideline_ids=(reviewed.guideline_id,),
                              lead_in=True)] if lead is not None and not states_outcome(lead) else []
    part = field_free_part(canned.template) if reviewed.proposal.is_etiquette else None
    if part is not None:  # the full text first: sent when its fields are filled (an agent-name variable)
        return [*leading, canned, CannedResponse(id=f"c-{reviewed.guideline_id}-field-free", template=part,
                                                 guideline_ids=(reviewed.guideline_id,), needs_tool=states_outcome(part))]
    return [*leading, canned]


def _department(department_id: str, name: str, departments: DepartmentSet,
                members: list[ReviewedGuideline], merged_ids: list[str], answered: Mapping[str, tuple[str, ...]]) -> Department:
    sources = [d for d in departments.departments if d.department_id in (department_id, *merged_ids)]
    keywords = list(dict.fromkeys(k for d in sources for k in d.keywords))[:8]
    openings = [o for d in sources for o in d.example_openings][:3]
    description = f"Handles: {', '.join(keywords)}." + (f" Typical openings: {' | '.join(openings)}" if openings else "")
    canned = [c for m in members for c in _canned_responses(m)]
    routing = tuple(dict.fromkeys(t for d in sources for s in d.situations for t in s.representative_texts
                                  if not looks_like_injection(t)))
    return Department(id=department_id, name=name, description=description, routing_examples=routing,
                      guidelines=tuple(_guideline(m, answered.get(m.guideline_id, ())) for m in members),
                      canned_responses=tuple(canned))


def _etiquette(members: list[ReviewedGuideline], answered: Mapping[str, tuple[str, ...]]) -> Department | None:
    """The global etiquette set: conversation management that applies in every department."""
    if not members:
        return None
    canned = [c for m in members for c in _canned_responses(m)]
    return Department(id=ETIQUETTE_ID, name="Conversation etiquette",
                      description="Greetings, thanks, holds, confirmations and closings: applies in every department.",
                      guidelines=tuple(_guideline(m, answered.get(m.guideline_id, ())) for m in members),
                      canned_responses=tuple(canned))


def build_agent_spec(reviewed: ReviewedProposals, departments: DepartmentSet, *, name: str,
                     mode: CompositionMode = CompositionMode.canned_fluid,
                     auto_accept: bool = False, answered: Mapping[str, tuple[str, ...]] | None = None,
                     ) -> tuple[AgentSpec, dict[str, str], int]:
    """(spec, skipped guideline ids with reasons, number auto-accepted). `answered`: extra matching
    examples per guideline id (mining/match_examples.py), read from the workspace by the caller."""
    answered = answered or {}
    skipped: dict[str, str] = {}
    chosen: dict[str, list[ReviewedGuideline]] = {}
    auto = 0
    for reviewed_guideline in sorted(reviewed.guidelines.values(), key=lambda g: (g.proposal.rank, g.guideline_id)):
        status = reviewed_guideline.status
        if status == "pending" and auto_accept and passes_auto_accept(reviewed_guideline):
            status, auto = "accepted", auto + 1
        if status != "accepted":
            skipped[reviewed_guideline.guideline_id] = status if status != "pending" else "pending (not accepted)"
            continue
        if reviewed_guideline.proposal.is_etiquette:
            chosen.setdefault(ETIQUETTE_ID, []).append(reviewed_guideline)
            continue
        department_id = reviewed.department_of(reviewed_guideline.department_id)
        if department_id is None or department_id not in reviewed.department_names:
            skipped[reviewed_guideline.guideline_id] = "no department (its condition opens no routed conversation)"
            continue
        chosen.setdefault(department_id, []).append(reviewed_guideline)
    built = []
    for department in departments.departments:
        department_id = department.department_id
        if department_id in reviewed.department_merges:
            continue
        merged = [d for d, into in reviewed.department_merges.items() if reviewed.department_of(d) == department_id]
        built.append(_department(department_id, reviewed.department_names[department_id], departments,
                                 chosen.get(department_id, []), merged, answered))
    if not built:
        raise ExportError("the mined workspace has no departments to export")
    # A department without guidelines is a dead end (routed there, nothing can answer): it is
    # left out of routing, so its conversations get the receptionist's question instead.
    for department in built:
        if not department.guidelines:
            skipped[f"department:{department.id}"] = "no exported guideline: left out of routing"
    built = [d for d in built if d.guidelines]
    if not built:
        raise ExportError("no department has an exported guideline: accept guidelines in review "
                          "(notebooks/02_review_guidelines.ipynb) or lower the auto-accept bar")
    spec = AgentSpec(name=name, description="Exported by guideminer from reviewed mining proposals.",
                     composition_mode=mode, departments=tuple(built), etiquette=_etiquette(chosen.get(ETIQUETTE_ID, []), answered))
    return spec, skipped, auto


def diff_specs(old: AgentSpec | None, new: AgentSpec) -> SpecDiff:
    def index(spec: AgentSpec | None) -> dict[str, tuple]:
        if spec is None:
            return {}
        return {g.id: (d.id, g.condition, g.action) for d in spec.departments for g in d.guidelines}

    before, after = index(old), index(new)
    return SpecDiff(added=sorted(after.keys() - before.keys()), removed=sorted(before.keys() - after.keys()),
                    changed=sorted(i for i in after.keys() & before.keys() if after[i] != before[i]))


def export_workspace(workspace: Path, out: Path | None, *, auto_accept: bool = False,
                     mode: CompositionMode = CompositionMode.canned_fluid, name: str | None = None,
                     match_examples: int = MATCH_EXAMPLES, routing_examples: int = ROUTING_EXAMPLES) -> ExportResult:
    """Build the spec from the workspace's proposals and decisions; write it to `out` if given.
    Each guideline gets up to `match_examples` answered customer turns as extra matching
    examples (mining/match_examples.py; 0 = the condition medoids only), each department up to
    `routing_examples` openings of its conversations (mining/routing_examples.py; 0 = none)."""
    workspace = Path(workspace)
    if not read_decisions(workspace) and not auto_accept:
        raise ExportError(
            f"{workspace} has no review decisions ({workspace / 'review' / 'decisions.jsonl'} is empty or missing): "
            "review the proposals (notebooks/02_review_guidelines.ipynb) or pass --auto-accept to accept every "
            f"proposal with support >= {AUTO_ACCEPT['min_support']}, confidence >= {AUTO_ACCEPT['min_confidence']} "
            f"and lift >= {AUTO_ACCEPT['min_lift']}")
    from guideminer.mining.proposals import read_proposals

    _, departments = read_proposals(workspace)
    reviewed = review_workspace(workspace)
    answered = matching_examples(workspace, ((g.guideline_id, g.proposal) for g in reviewed.guidelines.values()
                                             if g.status == "accepted" or (auto_accept and g.status == "pending")),
                                 match_examples)
    spec, skipped, auto = build_agent_spec(reviewed, departments, name=name or f"{workspace.resolve().name} agent",
                                           mode=mode, auto_accept=auto_accept, answered=answered)
    spec = with_previous_moves(spec, previous_move_examples(
        workspace, ((g.guideline_id, g.proposal) for g in reviewed.guidelines.values()), match_examples))
    spec = with_routing_examples(spec, opening_examples(workspace, routing_examples), reviewed)
    proposals = {g.guideline_id: g.proposal for g in reviewed.guidelines.values()}
    spec = with_moves(spec, agent_moves(workspace, proposals))
    asks = guideline_asks_for(workspace, proposals)  # a question is not asked once its answer was said
    spec = _each_guideline(spec, lambda g: g.model_copy(update={"asks_for": asks[g.id]}) if g.id in asks else g)
    spec = spec.model_copy(update={"interchangeable_words": interchangeable_words(workspace),
                                   "filler_phrases": filler_phrases(workspace)})
    spec = with_closing(spec, closing_examples(workspace))  # the customer's last words: a goodbye, no hand-off
    previous = load_agent_spec(out) if out is not None and Path(out).is_file() else None
    diff = diff_specs(previous, spec)
    path = dump_agent_spec(spec, out) if out is not None else None
    return ExportResult(spec, path, diff, skipped, auto)
