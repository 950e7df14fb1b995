"""Resolve guideline relationships after matching, deterministically.

Input: the ids whose condition was judged to hold this turn. Output: which are active, and for
the rest why not. The order of the steps is part of the contract:

1. Entailment closure (A active -> B active), to a fixpoint. Entailment speaks about conditions
   ("if A's condition holds, so does B's"), so an entailed guideline stays even if A is later
   suppressed.
2. Dependencies (A only if B is active), to a fixpoint: a guideline whose dependency does not
   hold is dropped before priorities, so it cannot suppress anything.
3. Priorities (A overrides B: both active -> B suppressed), in topological order of the priority
   graph (spec validation rejects cycles), so a guideline that is itself suppressed does not
   suppress others.
4. Dependencies again: a guideline depending on a suppressed one is dropped too.

Active guidelines are ordered by criticality (high first), then `priority` (higher first), then
id, which is the order the composer and canned selection see them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from guideminer.engine.spec import Department, Guideline, RelationKind


@dataclass
class RelationOutcome:
    active: list[str] = field(default_factory=list)
    entailed_by: dict[str, str] = field(default_factory=dict)
    suppressed_by: dict[str, str] = field(default_factory=dict)
    missing_dependency: dict[str, str] = field(default_factory=dict)
    conditions_held: set[str] = field(default_factory=set)  # matched plus entailed


def resolve_relationships(matched: Iterable[str], department: Department) -> RelationOutcome:
    outcome = RelationOutcome()
    holding = set(matched)
    _close_entailments(holding, department, outcome)
    outcome.conditions_held = set(holding)
    _prune_dependencies(holding, department, outcome)
    _apply_priorities(holding, department, outcome)
    _prune_dependencies(holding, department, outcome)
    remaining = holding - set(outcome.suppressed_by) - set(outcome.missing_dependency)
    outcome.active = [g.id for g in order_guidelines(department.guideline(i) for i in remaining)]
    return outcome


def order_guidelines(guidelines: Iterable[Guideline]) -> list[Guideline]:
    """Most important first: criticality, then priority, then id (for determinism)."""
    return sorted(guidelines, key=lambda g: (-g.criticality.rank, -g.priority, g.id))


def order_applied(scored: Iterable[tuple[Guideline, float]]) -> list[Guideline]:
    """Applied guidelines, most important first: criticality, then how well the condition matched
    this message (to 2 decimals), then priority and id. Why the match comes before the mined
    priority: priority ranks how common a habit is overall, not whether it answers this customer."""
    return [g for g, _ in sorted(scored, key=lambda gs: (-gs[0].criticality.rank, -round(gs[1], 2),
                                                         -gs[0].priority, gs[0].id))]


def _relations(department: Department, kind: RelationKind):
    return [r for r in department.relationships if r.kind is kind]


def _close_entailments(holding: set[str], department: Department, outcome: RelationOutcome) -> None:
    entailments = _relations(department, RelationKind.entailment)
    changed = True
    while changed:
        changed = False
        for relation in entailments:
            if relation.source in holding and relation.target not in holding:
                holding.add(relation.target)
                outcome.entailed_by[relation.target] = relation.source
                changed = True


def _prune_dependencies(holding: set[str], department: Department, outcome: RelationOutcome) -> None:
    dependencies = _relations(department, RelationKind.dependency)
    changed = True
    while changed:
        changed = False
        active = holding - set(outcome.suppressed_by) - set(outcome.missing_dependency)
        for relation in dependencies:
            if relation.source in active and relation.target not in active:
                outcome.missing_dependency[relation.source] = relation.target
                active.discard(relation.source)
                changed = True


def _apply_priorities(holding: set[str], department: Department, outcome: RelationOutcome) -> None:
    overrides: dict[str, list[str]] = {}
    for relation in _relations(department, RelationKind.priority):
        overrides.setdefault(relation.source, []).append(relation.target)
    for guideline_id in _topological_order(overrides):
        active = holding - set(outcome.suppressed_by) - set(outcome.missing_dependency)
        if guideline_id not in active:
            continue
        for target in sorted(overrides.get(guideline_id, [])):
            if target in active and target not in outcome.suppressed_by:
                outcome.suppressed_by[target] = guideline_id


def _topological_order(edges: dict[str, list[str]]) -> list[str]:
    """Kahn's algorithm with sorted tie-breaking; the spec guarantees there is no cycle."""
    nodes = sorted(set(edges) | {t for targets in edges.values() for t in targets})
    indegree = {n: 0 for n in nodes}
    for targets in edges.values():
        for target in targets:
            indegree[target] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for target in sorted(edges.get(node, [])):
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
                ready.sort()
    return order
